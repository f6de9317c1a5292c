"""``negkit rec train``: train a recommender with any sampler and save its embeddings."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from negkit._atomic import atomic_write, check_target
from negkit.cli._launch import add_dist_args, add_merge_args
from negkit.cli._log_args import add_log_args, load_data_arg, rerun_words


def register(subparsers) -> None:
    p = subparsers.add_parser("rec", help="recommenders: MF-BPR and LightGCN with any sampler")
    sub = p.add_subparsers(dest="rec_command", metavar="ACTION")
    t = sub.add_parser(
        "train",
        help="train, evaluate (full ranking) and save embeddings",
        description="Writes OUT/user_embeddings.npy, OUT/item_embeddings.npy (float32; "
        "score = user . item), OUT/metrics.json and, when the data has ids, OUT/users.tsv and "
        "OUT/items.tsv (the original id of each row, one a line).",
    )
    t.add_argument(
        "--data",
        required=True,
        help="data set name (gowalla, ml-1m_lightgcnpp, ...), a LightGCN split folder, or your "
        "own log: a CSV, TSV or Parquet file of user, item[, rating][, timestamp]",
    )
    t.add_argument("--model", choices=("mf", "lightgcn"), default="mf")
    t.add_argument(
        "--sampler",
        default="rns",
        help="sampler name (rns, pns, dns, adaptive, ...) or in-batch, mixed, mixgcf",
    )
    t.add_argument(
        "--sampler-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sampler parameter, repeatable (e.g. alpha=0.75, base=uniform)",
    )
    t.add_argument("--engine", choices=("auto", "numba", "torch"), default="auto")
    t.add_argument("--dim", type=int, default=64)
    t.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="default: 500 (numba MF), 300 (torch MF), 1000 (LightGCN)",
    )
    t.add_argument("--lr", type=float, default=None, help="default: 0.1 (numba), 1e-3 (Adam)")
    t.add_argument(
        "--lr-final",
        type=float,
        default=None,
        help="numba engine: the lr decays linearly to lr * lr_final (default 0.05)",
    )
    t.add_argument("--reg", type=float, default=None, help="default: 0.0025 (numba), 1e-4 (torch)")
    t.add_argument("--batch-size", type=int, default=2048)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--device", default="cpu", help="cpu or cuda (PyTorch engine)")
    t.add_argument("--loss", choices=("bpr", "bce", "softmax", "nce", "snis"), default="bpr")
    t.add_argument("--n-negs", type=int, default=1)
    t.add_argument(
        "--n-candidates",
        type=int,
        default=16,
        help="--sampler mixgcf: the candidate pool M a synthetic negative is mixed from "
        "(default 16; MixGCF's paper uses 64)",
    )
    t.add_argument("--n-layers", type=int, default=3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--eval-every", type=int, default=0, help="evaluate every N epochs (0: never)")
    t.add_argument("--patience", type=int, default=0, help="early-stopping patience in evaluations")
    t.add_argument("--k", type=int, action="append", default=None, help="cut-off, repeatable (20)")
    add_dist_args(t, "either engine", sync_words=None)  # --nproc, --dist-timeout
    t.add_argument(
        "--sync-pairs",
        type=int,
        default=1_000_000,
        help="numba engine on several processes: pairs a rank trains between two merges of "
        "the tables, to the nearest chunk (above a rank's share of an epoch: a merge every "
        "few epochs) (default 1000000)",
    )
    add_merge_args(t, "numba engine", wire="float32", overlap=False, step="chunk")
    t.add_argument(
        "--gather-negatives",
        action="store_true",
        help="with --sampler in-batch or mixed on several processes: every rank's batch "
        "columns (its positives, and mixed's extra items) are negatives (all_gather), not the "
        "rank's own alone",
    )
    t.add_argument(
        "--no-cuda-graph",
        action="store_true",
        help="on CUDA, run every step eagerly instead of replaying one captured CUDA graph",
    )
    t.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="stop after the first epoch that ends past this much wall time (0: no limit)",
    )
    t.add_argument(
        "--carve-valid",
        type=float,
        default=0.0,
        metavar="F",
        help="move a random fraction F of each user's training items to a validation split "
        "(for data published as train/test only), so --eval-every and --patience select on it",
    )
    t.add_argument("--carve-seed", type=int, default=0, help="seed of --carve-valid (default 0)")
    t.add_argument(
        "--checkpoint",
        default=None,
        help="torch engine (chosen by --engine auto when this is given): save a checkpoint "
        "here after every epoch; when the file exists, resume from it (same settings, as many "
        "processes)",
    )
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--no-progress", action="store_true")
    add_log_args(t)
    t.set_defaults(func=run_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _parse_params(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--sampler-param wants KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _data(args: argparse.Namespace):
    """``--data`` as given, or loaded with a validation split carved from train."""
    data = load_data_arg(args)
    if not args.carve_valid:
        return data
    from negkit.data.carve import carve_valid
    from negkit.rec.train import load_data

    return carve_valid(load_data(data), args.carve_valid, args.carve_seed)


def run_train(args: argparse.Namespace) -> int:
    from negkit.rec import distributed

    check_target(args.out, folder=True)
    if args.checkpoint is not None:
        check_target(args.checkpoint, folder=False, what="--checkpoint")
    if args.nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {args.nproc}")
    if args.nproc > 1 and distributed.env_world_size() == 1:
        from negkit.cli._launch import launch_local

        return launch_local(args.nproc, args.argv)
    ctx = distributed.init(args.device, args.dist_timeout)
    try:
        code = _train(args, ctx)
        distributed.barrier(ctx)  # the other ranks wait until rank 0 has written
        return code
    finally:
        distributed.finish()


def _check_unread(args: argparse.Namespace, settings) -> None:
    """Options given on the command line that this run would not read are refused."""
    from negkit.cli._launch import unread_options
    from negkit.rec.train import BATCH_MODES

    engine = settings.engine_name(args.sampler.lower())
    readers = {
        "--batch-size": (engine == "torch", "the torch engine (--engine torch)"),
        "--n-layers": (args.model == "lightgcn", "--model lightgcn"),
        "--n-candidates": (BATCH_MODES.get(args.sampler.lower()) == "mixgcf", "--sampler mixgcf"),
        "--carve-seed": (bool(args.carve_valid), "--carve-valid"),
        "--sync-pairs": (engine == "numba", "the numba engine"),
        "--sync-wire": (engine == "numba", "the numba engine"),
        "--sync-overlap": (engine == "numba", "the numba engine"),
        "--no-sync-overlap": (engine == "numba", "the numba engine"),
    }
    reads = {o: read for o, (read, _) in readers.items()}
    unread = [f"{o} (read by {readers[o][1]} only)" for o in unread_options(args, reads)]
    if unread:
        raise ValueError(f"this run ({engine} engine) would not read {', '.join(unread)}")


def _train(args: argparse.Namespace, ctx) -> int:
    from negkit.rec.train import RecSettings, run

    ks = tuple(args.k) if args.k else (20,)
    settings = RecSettings(
        data=_data(args),
        model=args.model,
        engine=args.engine,
        dim=args.dim,
        epochs=args.epochs,
        lr=args.lr,
        lr_final=args.lr_final,
        reg=args.reg,
        batch_size=args.batch_size,
        threads=args.threads,
        device=args.device,
        loss=args.loss,
        n_negs=args.n_negs,
        n_candidates=args.n_candidates,
        n_layers=args.n_layers,
        eval_every=args.eval_every,
        patience=args.patience,
        ks=ks,
        metric=f"recall@{ks[0]}",
        gather_negatives=args.gather_negatives,
        sync_pairs=args.sync_pairs,
        sync_wire=args.sync_wire,
        sync_overlap=args.sync_overlap,
        cuda_graph=False if args.no_cuda_graph else None,
        max_seconds=60.0 * args.max_minutes,
        sampler_params=_parse_params(args.sampler_param),
        checkpoint=args.checkpoint,
    )

    _check_unread(args, settings)

    def show(row: dict) -> None:
        metrics = {k: v for k, v in row.items() if k.startswith(("valid_", "test_"))}
        if metrics:
            text = " ".join(f"{k}={v:.4f}" for k, v in metrics.items())
            print(
                f"epoch {row['epoch']} loss={row['loss']:.4f} {text}", file=sys.stderr, flush=True
            )

    result = run(
        settings,
        args.sampler,
        seed=args.seed,
        on_epoch=show,
        progress=not args.no_progress,
        dist_ctx=ctx,
    )
    if not ctx.is_main:  # rank 0 evaluates and writes
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for side in ("user", "item"):
        table = result.pop(f"{side}_embeddings").astype(np.float32)
        atomic_write(args.out / f"{side}_embeddings.npy", lambda f, t=table: np.save(f, t))
        ids = result.pop(f"{side}_ids")
        if ids is not None:
            write_ids(args.out / f"{side}s.tsv", ids)
        else:  # a previous run's ids in OUT would name other rows
            (args.out / f"{side}s.tsv").unlink(missing_ok=True)
    if rerun_words(args):  # a log file: how it was read and split, to redo it
        result["data_options"] = ["--data", str(args.data), *rerun_words(args)]
    atomic_write(
        args.out / "metrics.json", lambda f: json.dump(result, f, indent=1, default=float), True
    )
    test = result["test"]
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in test.items()))
    chosen = _chosen_epoch(result)
    if chosen:
        print(chosen)
    print(f"trained in {result['train_seconds']:.1f} s; wrote {args.out}/")
    return 0


def _chosen_epoch(result: dict) -> str | None:
    """Which epoch's tables the test metrics are of, when evaluations chose one: the best on
    the validation split, or on the test split itself when the data has none (the LightGCN
    papers' convention, optimistic: said so, with the option that holds a split out)."""
    monitor, best = result.get("monitor"), result.get("best_epoch")
    history = result.get("history") or []
    last = len(history)
    evaluated = sum(any(k.startswith(f"{monitor}_") for k in row) for row in history)
    if evaluated < 2:  # nothing to choose from
        return None
    if monitor == "test":
        return (
            f"test metrics of epoch {best} of {last}, the best by {result['settings']['metric']} "
            "on the test split itself (the data has no validation split: --carve-valid F "
            "holds one out of the training pairs)"
        )
    if monitor == "valid" and best != last:
        return f"test metrics of epoch {best} of {last}, the best on the validation split"
    return None


def write_ids(path: Path, ids) -> None:
    """One original id a line, in row order (ids never hold a tab or line break)."""
    atomic_write(path, lambda f: f.writelines(f"{x}\n" for x in ids), text=True)
