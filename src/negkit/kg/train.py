"""Training of KG embeddings with any KG sampler (PyTorch, CPU or GPU).

Each epoch shuffles the training triples into batches; for a batch of B positives the
sampler draws k negatives each (:mod:`negkit.samplers.kg_base`), the model scores
positives ``(B,)`` and negatives ``(B, k)``, and the loss (:mod:`negkit.kg.losses`) weighs
the negatives by the sampler's weights (self-adversarial) or ``1/k``.  Adam, as RotatE,
with a per-epoch learning-rate schedule (:mod:`negkit.kg.schedule`: constant, step, cosine).
After the optimiser step the sampler may refresh its state (NSCaching's caches).

Best-epoch selection (:mod:`negkit.kg.best`, ``keep_best``, on by default when validation
runs): the parameters of the evaluated epoch with the best validation MRR are kept and put
back into the model after the last epoch, which is then always evaluated too, so that no
epoch is discarded unseen.

Data-parallel (``dist_ctx`` with several ranks, ``torch.distributed``): every rank takes
every ``world_size``-th triple of each shuffled batch, draws its own negatives (sampler
seeded ``seed + rank``) and the gradients are averaged across ranks before Adam's step.  Each
rank's loss (a mean over its rows) is weighted by ``world_size`` times its share of the
batch's rows, so that the average is the mean over the whole batch, the step of one process
on it, also when the batch size is not a multiple of ``world_size`` (the last batch of an
epoch); the logged loss is weighted alike.  A batch with fewer triples than ranks is skipped.
Per-rank sampler state stays per rank: NSCaching's caches of a query are refreshed by the
rank whose rows hold it.  Rank 0 alone evaluates (and restores the best epoch).

Per epoch the record holds the loss, the training and sampling seconds, and the
false-negative rate the sampler leaves: the share of drawn negatives that are valid or test
triples (filtering can only know train), measured on the epoch's first batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed

from negkit.kg.best import BestEpoch
from negkit.kg.evaluate import link_prediction
from negkit.kg.losses import kg_loss
from negkit.kg.models import make_model
from negkit.kg.schedule import check_schedule, lr_at
from negkit.kg.triples import KGTriples

__all__ = ["KGSettings", "train_kg", "DEFAULT_GAMMA"]

#: Default margin γ inside the score, per model (RotatE's settings for WN18RR use 6).
DEFAULT_GAMMA = {"transe": 6.0, "rotate": 6.0, "distmult": 0.0, "complex": 0.0}


#: settings a resumed run may change: they move neither the draws nor the updates (the
#: evaluation's batch only splits the same ranking)
_RESUME_FREE = ("threads", "device", "max_seconds", "eval_batch")


@dataclass
class KGSettings:
    model: str = "rotate"
    dim: int = 100
    gamma: float | None = None
    loss: str = "logistic"
    margin: float = 1.0
    alpha: float = 1.0
    n_negs: int = 64
    batch_size: int = 512
    lr: float = 1e-3
    lr_schedule: str = "constant"
    lr_step_at: float = 0.5
    lr_step_factor: float = 0.1
    lr_min: float = 0.0
    reg: float = 0.0
    epochs: int = 10
    device: str = "cpu"
    threads: int | None = None
    eval_every: int = 0
    eval_split: str = "valid"
    eval_max: int | None = None
    eval_batch: int = 32
    keep_best: bool | None = None  # None: on when validation runs (eval_every, split valid)
    max_seconds: float = 0.0  # stop after the first epoch ending past this training time

    def check(self) -> None:
        if self.model not in DEFAULT_GAMMA:
            raise ValueError(f"unknown KG model {self.model!r}; known: {', '.join(DEFAULT_GAMMA)}"
                             " (lower case)")  # fmt: skip
        for key in ("dim", "n_negs", "batch_size", "epochs", "eval_batch"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.eval_max is not None and self.eval_max < 1:
            raise ValueError(f"eval_max must be >= 1 (or None: every triple), got {self.eval_max}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        check_schedule(self.lr_schedule, self.lr, step_at=self.lr_step_at,
                       step_factor=self.lr_step_factor, lr_min=self.lr_min)  # fmt: skip
        if self.eval_split not in ("valid", "test"):
            raise ValueError(f"eval_split must be 'valid' or 'test', got {self.eval_split!r}")
        if not 0 <= self.reg < float("inf"):  # a negative weight rewards large embeddings
            raise ValueError(f"reg must be a finite number >= 0, got {self.reg}")
        if not self.max_seconds >= 0:
            raise ValueError(f"max_seconds must be non-negative, got {self.max_seconds}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.alpha != 1.0 and self.loss != "self_adversarial":
            raise ValueError(
                "alpha is the temperature of loss 'self_adversarial' (--loss); the "
                "self_adversarial sampler takes its own: self_adversarial:alpha=A"
            )
        if self.margin != 1.0 and self.loss != "margin":
            raise ValueError(f"margin is loss 'margin''s, not {self.loss!r}'s")
        if self.keep_best:
            if not self.eval_every:
                raise ValueError("keep_best needs a validation run: set eval_every >= 1")
            if self.eval_split != "valid":
                raise ValueError("keep_best selects the epoch on validation triples; "
                                 f"eval_split is {self.eval_split!r}")  # fmt: skip

    def keeps_best(self) -> bool:
        """Whether best-epoch selection is on (``keep_best`` None: when validation runs)."""
        if self.keep_best is not None:
            return bool(self.keep_best)
        return bool(self.eval_every) and self.eval_split == "valid"

    def lr_of(self, epoch: int) -> float:
        """Learning rate of ``epoch`` (0-based), :func:`negkit.kg.schedule.lr_at`."""
        return lr_at(self.lr_schedule, epoch, self.epochs, self.lr, step_at=self.lr_step_at,
                     step_factor=self.lr_step_factor, lr_min=self.lr_min)  # fmt: skip


def _fingerprint(data: KGTriples) -> str:
    """sha256 of the splits and the entity and relation counts: a checkpoint's data."""
    import hashlib

    h = hashlib.sha256(f"{data.n_entities} {data.n_relations}".encode())
    for part in (data.train, data.valid, data.test):
        a = np.ascontiguousarray(part, dtype=np.int64)
        h.update(f"|{a.shape[0]}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _eval_set(data: KGTriples, split: str, n_max: int | None, seed: int) -> np.ndarray:
    t = getattr(data, split)
    if n_max is not None and n_max < len(t):
        idx = np.random.default_rng(seed).choice(len(t), n_max, replace=False)
        t = t[np.sort(idx)]
    return t


def train_kg(
    data: KGTriples,
    settings: KGSettings,
    sampler: Any,
    *,
    seed: int = 0,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    dist_ctx: Any = None,
    checkpoint: str | Path | None = None,
) -> dict[str, Any]:
    """Train ``settings.model`` on ``data.train`` with ``sampler`` (a name or a KGSampler).

    Returns ``{"model", "history", "settings", "train_seconds", "model_epoch", "best_epoch",
    "best_metrics", ...}``; ``on_epoch(record)`` runs after every epoch (each record holds its
    ``lr``; evaluation every ``eval_every`` epochs on ``eval_max`` triples of ``eval_split``).
    With best-epoch selection the returned model holds the parameters of ``best_epoch``
    (``model_epoch``); without it, of the last epoch.  ``settings.max_seconds`` stops the
    run after the first epoch whose training time passes it (``stopped_by`` says so).
    ``dist_ctx``: a :class:`negkit.rec.distributed.Context`; with several ranks,
    data-parallel training.  A sampler without a seed is seeded ``seed + rank``; one given
    with a seed keeps it, so give each rank its own (``negkit kg train`` adds the rank).
    ``checkpoint``: a path; the run is saved there after every epoch
    (:mod:`negkit.kg.checkpoint`) and, when the file exists, resumed from it.
    """
    ctx = dist_ctx if dist_ctx is not None and dist_ctx.distributed else None
    rank, world = (ctx.rank, ctx.world_size) if ctx else (0, 1)
    from negkit.kg import checkpoint as ckpt
    from negkit.samplers.kg_base import get_kg
    from negkit.samplers.kg_filter import ExactTripleSet

    settings.check()
    device = torch.device(settings.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda asked for, but torch sees no CUDA device")
    threads_before = torch.get_num_threads()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    seeded: list[Any] = []  # a caller's sampler object this run seeded
    try:
        torch.manual_seed(seed)
        gamma = settings.gamma if settings.gamma is not None else DEFAULT_GAMMA[settings.model]
        model = make_model(
            settings.model, data.n_entities, data.n_relations, settings.dim, gamma=gamma
        ).to(device)
        sampler = get_kg(sampler) if isinstance(sampler, str) else sampler
        if getattr(sampler, "seed", None) is None:
            sampler.seed = seed + rank
            seeded.append(sampler)
        train = torch.as_tensor(data.train, device=device)
        sampler.fit(triples=train, n_entities=data.n_entities, n_relations=data.n_relations,
                    model=model, device=device)  # fmt: skip
        heldout = np.concatenate([data.valid, data.test])
        unseen_true = ExactTripleSet(heldout, data.n_entities, data.n_relations, device)
        if ctx:
            from negkit.rec.distributed import broadcast_params

            broadcast_params(ctx, model.parameters())
        opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        all_true = data.all_true()
        eval_set = _eval_set(data, settings.eval_split, settings.eval_max, seed)
        if (settings.eval_every or settings.keeps_best()) and len(eval_set) == 0:
            raise ValueError(f"the {settings.eval_split} split holds no triples: nothing to "
                             "evaluate (eval_every / keep_best)")  # fmt: skip
        history: list[dict[str, Any]] = []
        total, start, stopped_by = 0.0, 0, None
        best = BestEpoch("mrr") if settings.keeps_best() and rank == 0 else None
        state = dict(model=model, optimizer=opt, generator=gen, sampler=sampler, best=best,
                     settings={**{k: v for k, v in asdict(settings).items()
                                  if k not in _RESUME_FREE},
                               "seed": seed, "sampler": type(sampler).__name__,
                               "data": _fingerprint(data)})  # fmt: skip
        if checkpoint is not None and Path(checkpoint).exists():
            resumed = ckpt.load(checkpoint, ctx, **state)
            start, history = resumed["epoch"], resumed["history"]
            total = history[-1]["train_seconds"] if history else 0.0
            if settings.max_seconds and history and total >= settings.max_seconds:
                # the budget counts training time over every run of the checkpoint: spent, the
                # run stopped there and stays stopped (a larger one trains on)
                stopped_by = (f"max_seconds={settings.max_seconds:g} spent by epoch {start} "
                              "(an earlier run)")  # fmt: skip
                start = settings.epochs
        for epoch in range(start, settings.epochs):
            lr = settings.lr_of(epoch)
            for group in opt.param_groups:
                group["lr"] = lr
            t0 = time.perf_counter()
            sample_s, loss_sum, n_b, fnr = 0.0, 0.0, 0, None
            order = torch.randperm(len(train), generator=gen).to(device)
            for i in range(0, len(train), settings.batch_size):
                batch = train[order[i : i + settings.batch_size]]
                share = 1.0  # world_size x this rank's share of the batch's rows
                if ctx:  # the same batches on every rank: each takes its rows
                    if len(batch) < world:
                        continue
                    share = len(batch[rank::world]) * world / len(batch)
                    batch = batch[rank::world]
                ts = time.perf_counter()
                neg_h, neg_t = sampler.sample(batch, settings.n_negs)
                sample_s += time.perf_counter() - ts
                r = batch[:, 1]
                if fnr is None:
                    fnr = float(unseen_true.contains(neg_h, r[:, None], neg_t).float().mean())
                pos = model.score(batch[:, 0], r, batch[:, 2])
                head = neg_h != batch[:, :1]  # else the tail (or nothing) was replaced
                neg = model.score_corrupted(batch, torch.where(head, neg_h, neg_t), head)
                loss = kg_loss(settings.loss, pos, neg, sampler.weights(neg),
                               margin=settings.margin, alpha=settings.alpha)  # fmt: skip
                if settings.reg:
                    rows = (model.entity[batch[:, 0]], model.entity[batch[:, 2]])
                    loss = loss + settings.reg * sum((x**2).sum(1).mean() for x in rows)
                if share != 1.0:  # ranks' means averaged: the whole batch's mean
                    loss = loss * share
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if ctx:
                    _average_grads(model, ctx)
                opt.step()
                ts = time.perf_counter()
                sampler.update(batch)
                sample_s += time.perf_counter() - ts
                loss_sum += float(loss.detach())  # one sync a step (the logged loss)
                n_b += 1
            mean_loss = loss_sum / max(1, n_b)
            if ctx:
                from negkit.rec.distributed import all_mean

                mean_loss = all_mean(ctx, torch.tensor(loss_sum), n_b)
            seconds = time.perf_counter() - t0
            total += seconds
            rec: dict[str, Any] = {"epoch": epoch + 1, "loss": mean_loss,
                                   "seconds": seconds, "train_seconds": total,
                                   "sampler_seconds": sample_s, "lr": lr,
                                   "false_negative_rate": fnr}  # fmt: skip
            stop = False  # the time limit, decided before the evaluation: a run it ends
            if settings.max_seconds and epoch + 1 < settings.epochs:  # offers its last epoch
                from negkit.rec.distributed import broadcast_flag

                late = rank == 0 and total >= settings.max_seconds  # rank 0's clock decides
                stop = broadcast_flag(ctx, late) if ctx else late
            due = settings.eval_every and (epoch + 1) % settings.eval_every == 0
            last = best is not None and (epoch + 1 == settings.epochs or stop)
            if (due or last) and rank == 0:
                te = time.perf_counter()
                rec["metrics"] = link_prediction(model, eval_set, all_true,
                                                 batch_size=settings.eval_batch)  # fmt: skip
                if best is not None:
                    best.offer(epoch + 1, rec["metrics"], model)
                rec["eval_seconds"] = time.perf_counter() - te
            history.append(rec)
            if checkpoint is not None:
                ckpt.save(checkpoint, ctx, epoch=epoch + 1, history=history, **state)
            if on_epoch is not None:
                on_epoch(rec)
            if stop:
                stopped_by = f"max_seconds={settings.max_seconds:g} after epoch {epoch + 1}"
                break
        model_epoch = history[-1]["epoch"] if history else 0
        if best is not None and best.epoch is not None:
            model_epoch = best.restore(model)
        used = {**asdict(settings), "gamma": gamma, "keep_best": settings.keeps_best()}
        return {"model": model, "history": history, "settings": used,
                "sampler": repr(sampler), "seed": seed, "train_seconds": total,
                "model_epoch": model_epoch, "stopped_by": stopped_by,
                "best_epoch": None if best is None else best.epoch,
                "best_metrics": None if best is None else best.metrics}  # fmt: skip
    finally:
        torch.set_num_threads(threads_before)
        for s in seeded:  # as given: the next run seeds it with its own seed
            s.seed = None


def _average_grads(model: torch.nn.Module, ctx: Any) -> None:
    """Every parameter's gradient averaged over the ranks (one all_reduce of them all)."""
    from negkit.rec.distributed import guarded

    params = [p for p in model.parameters() if p.grad is not None]
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    guarded(ctx, "gradient all_reduce", torch.distributed.all_reduce, flat)
    flat /= ctx.world_size
    at = 0
    for p in params:
        n = p.grad.numel()
        p.grad.copy_(flat[at : at + n].view_as(p.grad))
        at += n
