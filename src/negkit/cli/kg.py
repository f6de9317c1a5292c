"""``negkit kg train``: train a knowledge-graph embedding with any KG sampler."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from negkit._atomic import atomic_write, check_target
from negkit.cli._launch import add_dist_args, run_distributed, unread_options
from negkit.kg.schedule import SCHEDULES


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "kg", help="knowledge graphs: TransE, DistMult, ComplEx, RotatE with any KG sampler"
    )
    sub = p.add_subparsers(dest="kg_command", metavar="ACTION")
    t = sub.add_parser(
        "train",
        help="train, evaluate (filtered link prediction) and save embeddings",
        description="Writes OUT/entity_embeddings.npy, OUT/relation_embeddings.npy (float32; "
        "complex models store [real | imaginary] rows of 2 x dim, except RotatE's relations: "
        "dim phases in radians, the rotation e^(i theta)), OUT/entities.txt, OUT/relations.txt and "
        "OUT/metrics.json (settings, per-epoch log, filtered MRR and Hits@1/3/10 on test).",
    )
    t.add_argument("--data", required=True, help="wn18rr, fb15k237, or a folder holding "
                   "train.txt, valid.txt, test.txt (head<TAB>relation<TAB>tail)")  # fmt: skip
    t.add_argument("--model", choices=("transe", "distmult", "complex", "rotate"),
                   default="rotate")  # fmt: skip
    t.add_argument("--sampler", default="self_adversarial",
                   help="KG sampler: kg_uniform, bernoulli, typed, self_adversarial, "
                   "nscaching, dns, adaptive; settings as name:key=value "
                   "(e.g. self_adversarial:alpha=0.5)")  # fmt: skip
    t.add_argument("--filter", choices=("exact", "bloom", "none"), default="exact",
                   help="drop negatives that are training triples (default: exact)")  # fmt: skip
    t.add_argument("--loss", choices=("logistic", "margin", "self_adversarial"),
                   default="logistic")  # fmt: skip
    t.add_argument("--dim", type=int, default=100)
    t.add_argument("--gamma", type=float, default=None, help="score margin γ (default: 6 for "
                   "transe and rotate, 0 otherwise); distmult and complex have no margin in "
                   "their score: there γ only sets the initial range ±(γ+2)/dim")  # fmt: skip
    t.add_argument("--margin", type=float, default=1.0, help="margin of --loss margin")
    t.add_argument("--alpha", type=float, default=1.0, help="temperature of --loss "
                   "self_adversarial")  # fmt: skip
    t.add_argument("--n-negs", type=int, default=64, help="negatives per positive")
    t.add_argument("--batch-size", type=int, default=512)
    t.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    t.add_argument("--lr-schedule", choices=SCHEDULES, default="constant",
                   help="per-epoch learning rate: constant (default); step: lr times "
                   "--lr-step-factor from epoch --lr-step-at x epochs on (RotatE's code: 0.1 "
                   "after half); cosine: from lr down towards --lr-min; an option of "
                   "another schedule is refused")  # fmt: skip
    t.add_argument("--lr-step-at", type=float, default=0.5,
                   help="step: share of the epochs before the drop (default 0.5)")  # fmt: skip
    t.add_argument("--lr-step-factor", type=float, default=0.1,
                   help="step: the rate's factor after the drop (default 0.1)")  # fmt: skip
    t.add_argument("--lr-min", type=float, default=0.0, help="cosine: the floor (default 0)")
    t.add_argument("--reg", type=float, default=0.0, help="L2 on the batch's entity rows")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument(
        "--max-minutes",
        type=float,
        default=0.0,
        help="stop after the first epoch whose training time passes this, counted over every "
        "run of a --checkpoint: a rerun once it is spent trains no more (0: none)",
    )
    t.add_argument("--device", default="cpu", help="cpu or cuda")
    t.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--eval-every", type=int, default=0, help="evaluate on valid every N epochs")
    t.add_argument("--eval-max", type=int, default=None, help="evaluate on N valid triples "
                   "(with --eval-every)")  # fmt: skip
    t.add_argument("--test-max", type=int, default=None, help="final test on N test triples")
    t.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=None,
                   help="test (and save) the parameters of the epoch with the best validation "
                   "MRR (default: on with --eval-every)")  # fmt: skip
    t.add_argument("--unseen", choices=("keep", "drop", "error"), default="keep",
                   help="valid/test triples with entities absent from train (default: keep, "
                   "the standard protocol)")  # fmt: skip
    t.add_argument("--checkpoint", type=Path, default=None,
                   help="save the run here after every epoch; when the file exists, resume "
                   "from it (same settings and number of processes)")  # fmt: skip
    t.add_argument("--out", required=True, type=Path)
    add_dist_args(t, "each batch split among the ranks", sync_words=None)
    t.set_defaults(func=run_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_data(name: str, unseen: str = "keep"):
    """A registry name or a folder of split files."""
    from negkit.data import registry
    from negkit.kg.triples import load_kg_folder

    if Path(name).is_dir():
        return load_kg_folder(name, unseen=unseen)
    ds = registry.get(name)
    if ds.kind != "kg":
        raise ValueError(f"{name} is not a knowledge graph (its kind: {ds.kind})")
    return registry.load(name, unseen=unseen)


def make_sampler(spec: str, filt: str, seed: int, rank: int = 0, *, filter_given: bool = False):
    """The sampler of ``--sampler spec``, filtering as ``--filter`` unless the spec says
    (both, ``filter_given``, is refused), seeded ``seed + rank`` (a spec's ``seed=S``:
    ``S + rank``, so that no two ranks draw the same stream)."""
    from negkit.samplers.kg_base import get_kg
    from negkit.study.spec import parse_spec

    name, params = parse_spec(spec)
    if "filter" in params and filter_given:
        raise ValueError(f"--sampler {spec} sets its filter and --filter {filt} is given too: "
                         "give one")  # fmt: skip
    params.setdefault("filter", None if filt == "none" else filt)
    params["seed"] = params.get("seed", seed) + rank
    return get_kg(name, **params)


#: the options that only one --lr-schedule reads: given to another, they would be ignored
_SCHEDULE_OPTIONS = {"--lr-step-at": "step", "--lr-step-factor": "step", "--lr-min": "cosine"}


def _check_schedule_options(args: argparse.Namespace) -> None:
    """Options given on the command line that ``--lr-schedule`` does not read are refused."""
    reads = {o: args.lr_schedule == name for o, name in _SCHEDULE_OPTIONS.items()}
    unread = [f"{o} (read by {_SCHEDULE_OPTIONS[o]} only)" for o in unread_options(args, reads)]
    if unread:
        raise ValueError(f"--lr-schedule {args.lr_schedule} does not read {', '.join(unread)}")


def _check_eval_options(args: argparse.Namespace) -> None:
    """``--eval-max`` without ``--eval-every`` would be ignored (nothing is validated): refused."""
    if unread_options(args, {"--eval-max": bool(args.eval_every)}):
        raise ValueError("--eval-max is the size of the validation sample of --eval-every; "
                         "without --eval-every nothing is validated (the final test takes "
                         "--test-max)")  # fmt: skip


def run_train(args: argparse.Namespace) -> int:
    _check_schedule_options(args)  # before any rank starts
    _check_eval_options(args)
    return run_distributed(args, _train)


def _train(args: argparse.Namespace, ctx) -> int:
    from negkit.kg.evaluate import link_prediction
    from negkit.kg.train import KGSettings, train_kg

    check_target(args.out, folder=True)
    if args.test_max is not None and args.test_max < 1:
        raise ValueError(f"--test-max must be at least 1, got {args.test_max}")
    if args.checkpoint is not None:
        check_target(args.checkpoint, folder=False, what="--checkpoint")
    data = load_data(args.data, args.unseen)
    if len(data.test) == 0:  # refused before training, not after it
        n = data.unseen.get("test", {}).get("triples", 0)
        why = f" (--unseen drop removed all {n} of its triples)" if args.unseen == "drop" else ""
        raise ValueError(f"the test split holds no triples to rank{why}")
    settings = KGSettings(model=args.model, dim=args.dim, gamma=args.gamma, loss=args.loss,
                          margin=args.margin, alpha=args.alpha, n_negs=args.n_negs,
                          batch_size=args.batch_size, lr=args.lr, reg=args.reg,
                          lr_schedule=args.lr_schedule, lr_step_at=args.lr_step_at,
                          lr_step_factor=args.lr_step_factor, lr_min=args.lr_min,
                          epochs=args.epochs, device=args.device, threads=args.threads,
                          eval_every=args.eval_every, eval_max=args.eval_max,
                          keep_best=args.keep_best,
                          max_seconds=60.0 * args.max_minutes)  # fmt: skip
    given = bool(unread_options(args, {"--filter": False}))  # on the command line
    sampler = make_sampler(args.sampler, args.filter, args.seed, ctx.rank, filter_given=given)

    def show(rec: dict) -> None:
        if not ctx.is_main:
            return
        text = " ".join(f"{k}={v:.4f}" for k, v in rec.get("metrics", {}).items())
        print(f"epoch {rec['epoch']} lr={rec['lr']:.3g} loss={rec['loss']:.4f} "
              f"{rec['seconds']:.1f}s {text}",
              file=sys.stderr, flush=True)  # fmt: skip

    result = train_kg(data, settings, sampler, seed=args.seed, on_epoch=show, dist_ctx=ctx,
                      checkpoint=args.checkpoint)  # fmt: skip
    if not ctx.is_main:  # rank 0 tests and writes
        return 0
    model = result.pop("model")
    test = data.test
    if args.test_max is not None and args.test_max < len(test):
        test = test[np.sort(np.random.default_rng(args.seed).choice(len(test), args.test_max,
                                                                    replace=False))]  # fmt: skip
    result["test"] = link_prediction(model, test, data.all_true())
    result["test"]["n_triples"] = int(len(test))
    result["data"] = {"name": data.name, **data.counts(), "unseen_policy": args.unseen}
    result["world_size"] = ctx.world_size  # ranks that trained (the sampler is rank 0's)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, table in (("entity", model.entity), ("relation", model.relation)):
        arr = table.detach().cpu().numpy()
        atomic_write(args.out / f"{name}_embeddings.npy", lambda f, a=arr: np.save(f, a))
    for name, keys in (("entities", data.entities), ("relations", data.relations)):
        atomic_write(args.out / f"{name}.txt", lambda f, k=keys: f.write("\n".join(k) + "\n"),
                     text=True)  # fmt: skip
    atomic_write(args.out / "metrics.json",
                 lambda f: json.dump(result, f, indent=1, default=float), text=True)  # fmt: skip
    print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in result["test"].items()))  # fmt: skip
    if result["best_epoch"] is not None:
        print(f"tested the parameters of epoch {result['model_epoch']} (best valid MRR "
              f"{result['best_metrics']['mrr']:.4f}) of {settings.epochs}")  # fmt: skip
    print(f"trained in {result['train_seconds']:.1f} s; wrote {args.out}/")
    return 0
