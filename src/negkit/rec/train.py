"""One recommender training run: data, sampler, engine, evaluation, early stopping.

>>> from negkit.rec.train import RecSettings, run
>>> result = run(RecSettings(data="gowalla", model="mf"), "rns", seed=0)   # doctest: +SKIP
>>> result["test"]["recall@20"], len(result["history"])                    # doctest: +SKIP

Engines: ``model="mf"`` with the BPR loss and pairwise negatives runs on the
compiled CPU engine (:class:`negkit.rec.mf_bpr.BPRMF`); ``model="lightgcn"``,
``engine="torch"``, another loss, or the in-batch / mixed / MixGCF modes run
on PyTorch (:mod:`negkit.rec.torch_train`), on ``device`` (``"cpu"``/``"cuda"``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from negkit.eval.rec import evaluate_ranking
from negkit.rec.early_stopping import EarlyStopping
from negkit.rec.loss_settings import check_mixgcf, check_tau

log = logging.getLogger(__name__)

__all__ = ["RecSettings", "run", "load_data", "BATCH_MODES"]

#: Sampler names that are training modes of the PyTorch engine rather than per-pair draws.
BATCH_MODES = {
    "in-batch": "in_batch",
    "inbatch": "in_batch",
    "in_batch": "in_batch",
    "batch": "in_batch",
    "mixed": "mixed",
    "mixgcf": "mixgcf",
}

#: Per-engine defaults for the settings left as None.
DEFAULTS = {
    # numba: measured on Gowalla (2 threads, seed 0): Recall@20 0.1600, NDCG@20 0.1339 at 500 epochs
    "numba": {"epochs": 500, "lr": 0.1, "reg": 0.0025, "lr_final": 0.05},
    "torch": {"epochs": 300, "lr": 1e-3, "reg": 1e-4, "lr_final": 1.0},
}
#: Recommender defaults of samplers whose own default is set for word vectors.  adaptive
#: (AOBPR): the rank scale λ = 0.01·|I| (word2vec's) puts each draw in the top 1% of a
#: dimension's ranking, where implicit feedback's unobserved positives gather; BPR-MF then fell
#: to a third of uniform negatives' Recall@20 on Gowalla's and to 0.73x on ml-1m's validation
#: splits.  λ = 0.2·|I| was within 0.004 (Gowalla) and 0.009 (ml-1m) of the best λ on each
#: validation split (docs/benchmarks.md); test was not read to choose it.
REC_SAMPLER_DEFAULTS = {"adaptive": {"lam_fraction": 0.2}}


def rec_sampler_params(sampler: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` of ``sampler`` (a name; an object is taken as built) with the recommender
    defaults of :data:`REC_SAMPLER_DEFAULTS` filled in where the user set none."""
    import negkit.samplers as ns

    params = dict(params)
    adaptive = isinstance(sampler, str) and ns.get_class(sampler).name == "adaptive"
    if adaptive and not {"lam", "lam_fraction"} & params.keys():  # the user's λ stands
        params.update(REC_SAMPLER_DEFAULTS["adaptive"])
    return params


#: Per-model overrides of ``DEFAULTS``: LightGCN trains 1,000 epochs at Adam 1e-3, batch 2048
#: and L2 1e-4, the settings of its paper (He et al., SIGIR 2020) and of its reference code.
MODEL_DEFAULTS = {("torch", "lightgcn"): {"epochs": 1000}}


@dataclass
class RecSettings:
    """Settings of one run; ``None`` takes the engine's default (see ``DEFAULTS``)."""

    data: Any = "gowalla"
    model: str = "mf"
    engine: str = "auto"
    dim: int = 64
    epochs: int | None = None
    lr: float | None = None
    reg: float | None = None
    lr_final: float | None = None
    batch_size: int = 2048
    threads: int = 2
    device: str = "cpu"
    loss: str = "bpr"
    n_negs: int = 1
    n_candidates: int = 16
    n_layers: int = 3
    tau: float = 1.0
    eval_every: int = 0
    patience: int = 0
    ks: tuple[int, ...] = (20,)
    metric: str = "recall@20"
    eval_chunk: int = 1024
    gather_negatives: bool = False
    cuda_graph: bool | None = None
    #: numba engine, data parallel: pairs a rank trains between two merges of the tables (to
    #: the nearest chunk; above a rank's share of an epoch, a merge every few epochs)
    sync_pairs: int = 1_000_000
    #: numba engine, data parallel: the merges' wire format and overlap (``BPRMF``)
    sync_wire: str = "float32"
    sync_overlap: bool = False
    #: torch MF: row-sparse gradients (:mod:`negkit.rec.row_grads`); None: on CPU, MF only
    row_grads: bool | None = None
    #: stop after the first epoch that ends past this much wall time (0: no limit)
    max_seconds: float = 0.0
    sampler_params: dict = field(default_factory=dict)
    #: torch engine: save a checkpoint there after every epoch; resume from it when it exists
    checkpoint: str | None = None

    def engine_name(self, sampler_name: str = "") -> str:
        if self.engine not in ("auto", "numba", "torch"):
            raise ValueError(f"engine must be auto, numba or torch, got {self.engine!r}")
        if self.model not in ("mf", "lightgcn"):
            raise ValueError(f"model must be mf or lightgcn, got {self.model!r}")
        torch_only = (
            self.model == "lightgcn"
            or self.loss != "bpr"
            or self.n_negs != 1
            or sampler_name in BATCH_MODES
            or self.device != "cpu"
        )
        if self.engine == "numba" and torch_only:
            raise ValueError("the numba engine trains MF with BPR, one negative a pair, on CPU")
        if self.engine == "auto":  # checkpoints are the torch engine's
            return "torch" if torch_only or self.checkpoint is not None else "numba"
        return self.engine

    def resolved(self, engine: str) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # the data not deep-copied
        out["sampler_params"] = dict(self.sampler_params)
        frame = hasattr(self.data, "iloc")  # a DataFrame's .name would be a column
        name = None if frame else getattr(self.data, "name", None)
        out["data"] = name or (f"DataFrame of {len(self.data)} rows" if frame else str(self.data))
        defaults = {**DEFAULTS[engine], **MODEL_DEFAULTS.get((engine, self.model), {})}
        for key, value in defaults.items():
            if out[key] is None:
                out[key] = value
        out["engine"] = engine
        return out


def load_data(data: Any):
    """An ``Interactions`` object from a registry name, a LightGCN split folder, a log (a
    CSV / TSV / Parquet file or a pandas DataFrame, split ``random:0.2`` with seed 0: use
    :func:`negkit.data.load_log` for other columns or splits), or as is."""
    if hasattr(data, "train") and hasattr(data, "test"):
        return data
    from negkit.data import interactions, log_split, registry

    if hasattr(data, "columns") and hasattr(data, "iloc"):
        return log_split.load_log(data)
    path = Path(str(data))
    if path.is_dir():
        return interactions.load_lightgcn_split(path)
    if path.is_file():
        return log_split.load_log(path)
    return registry.load(str(data), kind="interactions")


def check_rec_sampler(s: Any) -> None:
    """The samplers a recommender run refuses, before any training: those that draw from
    impressions (it reads none) and ``band`` without ``refresh_every``."""
    from negkit.samplers.band import check_trained_tables

    if "exposures" in getattr(s, "fit_extras", ()):  # fitted here without them
        raise ValueError(
            f"sampler {s.name!r} draws from impressions (fit(exposures=)), which a recommender "
            "run does not read: fit it yourself and train negkit.rec.mf_bpr.BPRMF with it"
        )
    check_trained_tables(s, "a recommender run")


def _make_sampler(
    sampler: Any, settings: RecSettings, data, engine_tables, seed: int = 0
) -> tuple[Any, str]:
    import negkit.samplers as ns

    name = sampler.lower() if isinstance(sampler, str) else ""
    if hasattr(sampler, "sample_batch"):
        return sampler, "batch"
    mode = BATCH_MODES.get(name, "sampled")
    if mode in ("in_batch", "mixed"):  # the batch samplers of negkit.samplers.batch
        try:
            return _batch_sampler(mode, settings, data, seed), "batch"
        except TypeError as e:  # a parameter the batch sampler does not take
            from negkit.samplers.registry import SamplerParamError

            if "keyword argument" not in str(e):
                raise
            raise SamplerParamError(f"sampler {name!r}: {e}") from None
    params = dict(settings.sampler_params)
    chosen = params.pop("base", "uniform") if mode == "mixgcf" else sampler  # MixGCF's pool
    params = rec_sampler_params(chosen, params)
    if str(params.get("exclude_positives", True)).lower() in ("false", "0", "no"):
        raise ValueError(
            "a recommender run never draws a training positive as a negative: leave out "
            "exclude_positives=false"
        )
    s = ns.get(chosen, **params)
    check_rec_sampler(s)
    s.set_params(exclude_positives=True)  # a negative is never a training positive
    if getattr(s, "seed", None) is None:
        s.set_params(seed=seed)
    user_table, item_table = engine_tables
    kwargs = {"n_items": data.n_items, "positives": data.train}
    if getattr(s, "score_aware", False):
        kwargs.update(output=item_table, input=user_table)
    s.fit(**kwargs)
    return s, mode


def _batch_sampler(mode: str, settings: RecSettings, data, seed: int) -> Any:
    """The in-batch or mixed sampler of ``settings.sampler_params``."""
    import negkit.samplers as ns

    params = dict(settings.sampler_params)
    if mode == "in_batch":
        return ns.InBatchSampler(data.n_items, positives=data.train, **params)
    if "k" in params:
        raise ValueError("mixed: the number of extra items is n_negs (--n-negs), not k")
    base = params.pop("base", "uniform")
    return ns.MixedNegativeSampler(
        data.n_items, k=settings.n_negs, sampler=base, seed=seed, positives=data.train, **params
    )


def run(
    settings: RecSettings,
    sampler: Any = "rns",
    seed: int = 0,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
    dist_ctx: Any = None,
) -> dict[str, Any]:
    """Train, evaluate and return ``{"settings", "sampler_settings", "history", "test", "valid",
    "best_epoch", "seconds", "train_seconds", "user_embeddings", "item_embeddings", "user_ids",
    "item_ids"}`` (the ids: the data's original ids of the rows, or None;
    ``sampler_settings``: every setting of the sampler drawn with, defaults included).

    sampler : a name from :func:`negkit.samplers.available` (its parameters in
        ``settings.sampler_params``), a Sampler object, or one of the batch modes
        ``in-batch``, ``mixed`` (in-batch + ``sampler_params['base']`` negatives), ``mixgcf``.
    on_epoch : called with each history row (``epoch``, ``loss``, ``seconds`` and,
        on evaluation epochs, the metrics prefixed ``valid_`` or ``test_``).
    Early stopping (``patience > 0``, ``eval_every > 0``) monitors ``settings.metric``
    on the validation set, or on the test set when the data has none (reported as
    ``monitor: "test"``); the embeddings of the best evaluation are returned.
    dist_ctx : a :class:`negkit.rec.distributed.Context` (from ``distributed.init()``): with
        ``world_size > 1`` the tensor engine trains data-parallel (``batch_size`` pairs a rank
        a step), only rank 0 evaluates, and the other ranks return ``test = None``.
    """
    unseeded = hasattr(sampler, "set_params") and getattr(sampler, "seed", 0) is None
    try:
        return _run(settings, sampler, seed, on_epoch, progress, dist_ctx)
    finally:
        if unseeded:  # the caller's object as given: the next run seeds it with its own seed
            sampler.set_params(seed=None)


def _run(settings: RecSettings, sampler: Any, seed: int, on_epoch: Any, progress: bool,
         dist_ctx: Any) -> dict[str, Any]:  # fmt: skip
    from negkit.rec.distributed import broadcast_flag, local

    ctx = dist_ctx if dist_ctx is not None else local(settings.device)
    data = load_data(settings.data)
    sampler_name = sampler.lower() if isinstance(sampler, str) else getattr(sampler, "name", "")
    if hasattr(sampler, "sample_batch"):  # a batch sampler object
        sampler_name = "mixed" if hasattr(sampler, "k") else "in-batch"
    engine = settings.engine_name(sampler_name)
    cfg = settings.resolved(engine)
    _check_batch_mode(BATCH_MODES.get(sampler_name), cfg)
    if cfg["gather_negatives"] and BATCH_MODES.get(sampler_name) not in ("in_batch", "mixed"):
        raise ValueError("gather_negatives works with the in-batch and mixed samplers only")
    if engine == "torch" and cfg["lr_final"] != 1.0:
        raise ValueError("lr_final is the numba engine's: the torch engine keeps Adam's lr fixed")
    if ctx.distributed:
        cfg["device"], cfg["world_size"] = ctx.device, ctx.world_size
    if cfg["epochs"] < 0 or cfg["eval_every"] < 0:
        raise ValueError("epochs and eval_every must be non-negative")
    if cfg["patience"] and not cfg["eval_every"]:
        raise ValueError("patience counts evaluations: set eval_every (--eval-every) too")
    if not cfg["max_seconds"] >= 0:
        raise ValueError(
            f"max_seconds (--max-minutes x 60) must be non-negative, got {cfg['max_seconds']}"
        )
    monitor_split = "valid" if data.valid is not None else "test"
    exclude_train = [data.train]
    t_start = time.perf_counter()
    history: list[dict[str, Any]] = []
    stopper = EarlyStopping(cfg["patience"])
    stopped_by: list[str] = []  # the time limit, when it ended training early
    if cfg["checkpoint"] is not None and engine != "torch":
        raise ValueError(
            "checkpoints are written by the torch engine: use engine='torch' (--engine torch)"
        )
    checkpointer: list[Callable[[int, bool], None]] = []  # the torch engine's, once built

    rankings: dict[str, Any] = {}

    def evaluate(U: Any, V: Any, split: str) -> dict[str, float]:
        target = data.valid if split == "valid" else data.test
        excl = exclude_train if split == "valid" else exclude_train + [data.valid]
        if isinstance(U, np.ndarray):
            return evaluate_ranking(
                U, V, target, exclude=excl, ks=cfg["ks"], chunk_size=cfg["eval_chunk"]
            )
        if split not in rankings:  # tensors: full ranking on their device, structure sent once
            from negkit.eval.rec_torch import DeviceRanking

            rankings[split] = DeviceRanking(
                target, excl, cfg["ks"], cfg["eval_chunk"], device=U.device,
                shape=(data.n_users, data.n_items),
            )  # fmt: skip
        return rankings[split](U, V)

    def after_epoch(epoch: int, row: dict[str, Any], tables: Callable[[], tuple],
                    settle: Callable[[], None] | None = None) -> bool:  # fmt: skip
        row = dict(row)
        row["epoch"] = epoch
        stop = out_of_time = False
        limit = cfg["max_seconds"]
        if limit and epoch < cfg["epochs"]:  # rank 0's clock decides for every rank
            late = ctx.is_main and time.perf_counter() - t_start >= limit
            out_of_time = broadcast_flag(ctx, late)
        every = cfg["eval_every"]  # the epoch the time limit ends is evaluated too
        if every and (epoch % every == 0 or epoch == cfg["epochs"] or out_of_time):
            if settle is not None:  # every rank: the tables equal before rank 0 reads them
                settle()
            if ctx.is_main:  # the other ranks wait for its decision
                U, V = tables()
                metrics = evaluate(U, V, monitor_split)
                row.update(
                    {f"{monitor_split}_{k}": v for k, v in metrics.items() if k != "n_users"}
                )
                if cfg["metric"] not in metrics:
                    raise ValueError(
                        f"metric {cfg['metric']!r} is not computed; have {sorted(metrics)}"
                    )
                stop = stopper.update(epoch, metrics[cfg["metric"]], (_copy(U), _copy(V)))
                log.info(
                    "epoch %d %s",
                    epoch,
                    " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if k != "n_users"),
                )
            stop = broadcast_flag(ctx, stop)
        early = stop  # a checkpoint of a run cut by the time limit stays resumable
        if out_of_time:
            stopped_by.append(f"max_seconds={limit:g} after epoch {epoch}")
            stop = True
        history.append(row)
        for save in checkpointer:
            save(epoch, early)
        if on_epoch is not None:
            on_epoch(row)
        return stop

    bar = None
    step_mode = "compiled (numba)"
    sampler_settings: dict[str, Any] | None = None
    if engine == "numba":
        from negkit.rec.mf_bpr import BPRMF

        mf = BPRMF(
            dim=cfg["dim"],
            lr=cfg["lr"],
            reg=cfg["reg"],
            epochs=cfg["epochs"],
            threads=cfg["threads"],
            seed=seed,
            lr_final=cfg["lr_final"],
            dist=ctx,
            sync_pairs=cfg["sync_pairs"],
            sync_wire=cfg["sync_wire"],
            sync_overlap=cfg["sync_overlap"],
        )
        mf.init(data.n_users, data.n_items)
        smp, _ = _make_sampler(sampler, settings, data, (mf.user_table_, mf.item_table_), seed)
        sampler_settings = _settings_of(smp)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg["epochs"], desc=f"mf-bpr {sampler_name}", unit="epoch")
        mf.fit(
            data.train,
            smp,
            progress=bar,
            on_epoch=lambda e, row: after_epoch(
                e, row, lambda: (mf.user_embeddings(), mf.item_embeddings()), mf.settle
            ),
        )
        U, V = mf.user_embeddings(), mf.item_embeddings()
    else:
        import torch

        from negkit.rec.torch_models import MF, LightGCN
        from negkit.rec.torch_train import PairBatches, TorchTrainer

        if cfg["device"].startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("device='cuda' was asked for but torch sees no CUDA device")
        torch.manual_seed(seed)
        threads_before = torch.get_num_threads()
        torch.set_num_threads(cfg["threads"])  # restored below; oversubscribed OpenMP crawls
        try:
            if settings.model == "lightgcn":
                model = LightGCN(
                    data.train, dim=cfg["dim"], n_layers=cfg["n_layers"], device=cfg["device"]
                )
            else:
                model = MF(data.n_users, data.n_items, dim=cfg["dim"])
            model = model.to(cfg["device"])
            # tables first: score-aware samplers hold them by reference
            shared = cfg["device"] == "cpu" and settings.model == "mf"
            if shared:
                tables = (model.user.weight.detach().numpy(), model.item.weight.detach().numpy())
            else:  # CPU copies of the model's first (propagated) tables, which the trainer
                # refreshes before every host draw: a sampler fitted on them (the adaptive
                # sampler's orders and spreads, ...) starts from the model, not from zeros
                with torch.no_grad():
                    tables = tuple(t.cpu().numpy().astype(np.float32, copy=True)
                                   for t in model.propagate())  # fmt: skip
            smp, mode = _make_sampler(sampler, settings, data, tables, seed + ctx.rank)
            sampler_settings = _settings_of(smp)
            # every rank's batch columns, all_gathered; on one process they are its own batch,
            # so the run is the in-batch one without the flag (the same logQ estimate)
            if cfg["gather_negatives"] and ctx.distributed:
                if BATCH_MODES.get(sampler_name) == "in_batch":
                    mode = "in_batch"  # logQ: the items' training frequency
            trainer = TorchTrainer(
                model,
                smp,
                data.train,
                mode=mode,
                loss=cfg["loss"],
                n_negs=cfg["n_negs"],
                n_candidates=cfg["n_candidates"],
                lr=cfg["lr"],
                reg=cfg["reg"],
                tau=cfg["tau"],
                device=cfg["device"],
                seed=seed + ctx.rank,
                dist_ctx=ctx,
                gather_negatives=cfg["gather_negatives"],
                cuda_graph=cfg["cuda_graph"],
                row_grads=cfg["row_grads"],
            )
            if not shared:
                trainer.user_table, trainer.item_table = tables
            batches = PairBatches(
                data.train, cfg["batch_size"], seed=seed, device=cfg["device"],
                rank=ctx.rank, world_size=ctx.world_size,
            )  # fmt: skip
            on_gpu = cfg["device"] != "cpu"  # evaluate on the device, tables never copied
            tables_of = trainer.device_embeddings if on_gpu else trainer.embeddings
            if progress and ctx.is_main:
                from tqdm.auto import tqdm

                bar = tqdm(
                    total=cfg["epochs"], desc=f"{settings.model} {sampler_name}", unit="epoch"
                )
            first = 1
            if cfg["checkpoint"] is not None:
                first = _checkpointing(cfg, ctx, trainer, history, stopper, checkpointer,
                                       seed, sampler_name)  # fmt: skip
            for epoch in range(first, cfg["epochs"] + 1):
                batches.set_epoch(epoch)
                t0 = time.perf_counter()
                row = trainer.train_epoch(batches)
                row["seconds"] = time.perf_counter() - t0
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{row['loss']:.4f}")
                if after_epoch(epoch, row, tables_of):
                    break
            U, V = tables_of()
            step_mode = trainer.step_mode
        finally:
            torch.set_num_threads(threads_before)
    if bar is not None:
        bar.close()
    train_seconds = time.perf_counter() - t_start
    if stopper.best_state is not None and stopper.best_value > float("-inf"):
        U, V = stopper.best_state
    test_metrics = evaluate(U, V, "test") if ctx.is_main else None
    valid_metrics = evaluate(U, V, "valid") if data.valid is not None and ctx.is_main else None
    U, V = _numpy(U), _numpy(V)
    result = {
        "settings": cfg,
        "sampler": sampler_name or repr(sampler),
        "sampler_settings": sampler_settings,
        "seed": seed,
        "monitor": monitor_split if cfg["eval_every"] else None,
        "best_epoch": stopper.best_epoch or len(history),
        "stopped_by": stopped_by[0] if stopped_by else None,
        "step_mode": step_mode,
        "history": history,
        "train_seconds": train_seconds,
        "test": test_metrics,
        "valid": valid_metrics,
        "user_embeddings": U,
        "item_embeddings": V,
        "user_ids": getattr(data, "user_ids", None),
        "item_ids": getattr(data, "item_ids", None),
    }
    result["seconds"] = time.perf_counter() - t_start
    return result


def _check_batch_mode(mode: str | None, cfg: dict[str, Any]) -> None:
    """Set ``cfg["loss"]`` to the loss a batch mode trains with; a ValueError for a loss,
    ``n_negs`` or ``tau`` that the run would ignore (they would be recorded as having run)."""
    if mode in ("in_batch", "mixed"):
        if cfg["loss"] not in ("bpr", "softmax"):  # bpr: the default, not asked for
            raise ValueError(
                f"in-batch and mixed negatives train with the sampled softmax, not {cfg['loss']!r}"
            )
        cfg["loss"] = "softmax"
        if mode == "in_batch" and cfg["n_negs"] != 1:
            raise ValueError(
                "n_negs does not apply to in-batch negatives (the batch's other positives); "
                "mixed adds n_negs extra items"
            )
    elif mode == "mixgcf":
        check_mixgcf(cfg["loss"], cfg["n_negs"])
    check_tau(cfg["loss"], cfg["tau"], " (mixgcf's loss)" if mode == "mixgcf" else "")


#: settings a checkpoint may be resumed under with other values: where it runs, how long, how
#: it evaluates in chunks, the same arithmetic by another route, the numba engine's merges (its
#: runs are never checkpointed); every other setting, the seed and the sampler must match (as
#: in ``negkit kg train``)
_RESUME_FREE = ("threads", "device", "max_seconds", "checkpoint", "eval_chunk", "cuda_graph",
                "row_grads", "sync_pairs", "sync_wire", "sync_overlap")  # fmt: skip


def _checkpointing(cfg, ctx, trainer, history, stopper, checkpointer, seed, sampler) -> int:
    """Resume from ``cfg["checkpoint"]`` when it exists and arrange a save after every epoch;
    the first epoch still to train (past the last when the saved run had finished)."""
    from negkit.rec import checkpoint

    path = Path(cfg["checkpoint"])
    keys = {k: v for k, v in cfg.items() if k not in _RESUME_FREE}
    keys.update(seed=seed, sampler=sampler)
    first = 1
    if path.exists():
        got = checkpoint.load(path, ctx, trainer=trainer, stopper=stopper, settings=keys)
        history[:] = got["history"]
        first = cfg["epochs"] + 1 if got["stopped"] else got["epoch"] + 1
        log.info("resumed from %s after epoch %d", path, got["epoch"])

    def save(epoch: int, stopped: bool) -> None:
        checkpoint.save(path, ctx, epoch=epoch, trainer=trainer, history=history,
                        stopper=stopper, stopped=stopped, settings=keys)  # fmt: skip

    checkpointer.append(save)
    return first


def _settings_of(sampler: Any) -> dict[str, Any] | None:
    """Every setting of the sampler the run drew with (rank 0's): the given ones, the run's
    defaults (the adaptive sampler's λ), ``exclude_positives`` and the seed, for the record;
    ``settings.sampler_params`` holds only what the caller gave."""
    get = getattr(sampler, "get_params", None)
    if get is None:
        return None
    out = {}
    for k, v in get().items():
        out[k] = v.item() if isinstance(v, np.generic) else v
    return out


def _copy(x: Any) -> Any:
    return x.copy() if isinstance(x, np.ndarray) else x.clone()


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    return x.detach().cpu().numpy().astype(np.float32, copy=False)
