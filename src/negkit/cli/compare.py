"""``negkit compare <family>``: a sampler study, one model per sampler and seed.

Example::

    negkit compare word2vec --corpus text.txt.xz --samplers uniform,unigram,adaptive \\
        --epochs 5 --seeds 3 --out runs/w2v

Writes ``DIR/metrics.jsonl`` as it goes and ``DIR/report.md`` / ``report.html``
at the end (also after Ctrl-C or the time budget).  Run the same command again
to finish an interrupted study: finished runs are skipped.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from negkit.cli._launch import add_dist_args, run_distributed
from negkit.cli._log_args import add_log_args, load_data_arg, number_word, rerun_words

DEFAULT_SAMPLERS = "uniform,unigram,dns,rank,adaptive"


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {v}")
    return v


def add_study_args(
    p: argparse.ArgumentParser, *, samplers: str, epochs: int, seeds: int, out: str | None
) -> None:
    """Options every study command shares (compare and demo)."""
    g = p.add_argument_group("study")
    g.add_argument(
        "--samplers",
        default=samplers,
        help="comma-separated sampler names, each optionally with settings as "
        f"name:key=value (default: {samplers})",
    )
    g.add_argument(
        "--epochs",
        type=_positive_int,
        default=epochs,
        help=f"epochs per run, evaluated after each (default: {epochs})",
    )
    g.add_argument(
        "--seeds",
        type=_positive_int,
        default=seeds,
        help=f"number of seeds per sampler, seeds 0..N-1 (default: {seeds})",
    )
    g.add_argument(
        "--time-budget",
        type=_positive_float,
        default=None,
        metavar="S",
        help="stop after S seconds (checked after every epoch); finished runs are kept",
    )
    if out is None:
        g.add_argument(
            "--out",
            required=True,
            metavar="DIR",
            help="output folder: metrics.jsonl, report.md, report.html, PNGs",
        )
    else:
        g.add_argument("--out", default=out, metavar="DIR", help=f"output folder (default: {out})")
    g.add_argument(
        "--fresh",
        action="store_true",
        help="start over instead of skipping the runs DIR records as finished",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_word2vec_args(p: argparse.ArgumentParser, *, epochs_default_note: str = "") -> None:
    g = p.add_argument_group("word2vec (skip-gram with negative sampling)")
    g.add_argument("--dim", type=_positive_int, default=100, help="vector size (default: 100)")
    g.add_argument("--window", type=_positive_int, default=5, help="context window (default: 5)")
    g.add_argument(
        "--negative", type=_positive_int, default=5, help="negatives per positive pair (default: 5)"
    )
    g.add_argument(
        "--min-count",
        type=_positive_int,
        default=5,
        help="drop words seen fewer times (default: 5)",
    )
    g.add_argument(
        "--sample",
        type=float,
        default=1e-3,
        help="frequent-word subsampling threshold t (default: 1e-3; 0 = off)",
    )
    g.add_argument(
        "--lr",
        type=_positive_float,
        default=0.025,
        help="initial learning rate, decayed linearly (default: 0.025)",
    )
    g.add_argument("--workers", type=_positive_int, default=2, help="threads (default: 2)")
    g.add_argument(
        "--analogy-restrict",
        type=_positive_int,
        default=30000,
        metavar="N",
        help="answer analogies among the N most frequent words (default: 30000)",
    )


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare negative samplers: train, evaluate every epoch, report",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
    )
    fam = p.add_subparsers(dest="family", metavar="FAMILY")
    fam.required = True
    w = fam.add_parser(
        "word2vec",
        help="skip-gram word2vec on a text corpus",
        description="Sampler study for skip-gram word2vec (SGNS).",
    )
    w.add_argument(
        "--corpus", required=True, help="text file, one sentence a line (.gz/.bz2/.xz ok)"
    )
    w.add_argument(
        "--sim",
        action="append",
        default=None,
        metavar="PATH",
        help="word-similarity set (word1 word2 score); repeatable "
        "(default: the shipped WordSim-353 and SimLex-999)",
    )
    w.add_argument(
        "--analogy",
        default=None,
        metavar="PATH",
        help="analogy questions (Google format; default: the shipped Google set)",
    )
    w.add_argument("--no-analogy", action="store_true", help="skip the analogy evaluation")
    w.add_argument(
        "--max-lines", type=_positive_int, default=None, metavar="N",
        help="train on the first N lines of the corpus only",
    )  # fmt: skip
    add_study_args(w, samplers=DEFAULT_SAMPLERS, epochs=5, seeds=3, out=None)
    add_word2vec_args(w)
    add_dist_args(w, "every run")
    w.set_defaults(func=run_word2vec)
    r = fam.add_parser(
        "rec", help="implicit-feedback recommender (BPR-MF)",
        description="Sampler study for matrix factorisation with BPR (compiled CPU engine).",
    )  # fmt: skip
    r.add_argument(
        "--data",
        required=True,
        help="data set: a registry name (see 'negkit data list'), a LightGCN split folder, or "
        "your own log: a CSV, TSV or Parquet file of user, item[, rating][, timestamp]",
    )
    add_log_args(r)
    add_study_args(r, samplers="uniform,unigram,dns,rank,adaptive", epochs=20, seeds=3, out=None)
    g = r.add_argument_group("BPR-MF")
    g.add_argument("--dim", type=_positive_int, default=64, help="factors (default: 64)")
    g.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate, decayed linearly to 5%% of it over the run "
                   "(default: 0.1, rec train's compiled engine)")  # fmt: skip
    g.add_argument("--reg", type=float, default=None, help="L2 regularisation (default: 0.0025)")
    g.add_argument("--threads", type=_positive_int, default=2, help="threads (default: 2)")
    g.add_argument("--k", type=_positive_int, default=20, help="cut-off of Recall@K, NDCG@K")
    r.set_defaults(func=run_rec)
    q = fam.add_parser(
        "graph", help="graph embedding (DeepWalk, node2vec, struc2vec, LINE)",
        description="Sampler study for graph embeddings, scored by node classification.",
    )  # fmt: skip
    q.add_argument(
        "--data",
        required=True,
        help="labelled graph: a registry name (e.g. blogcatalog) or a .mat/.npz file",
    )
    add_study_args(q, samplers="uniform,degree,dns,rank,adaptive", epochs=3, seeds=3, out=None)
    g = q.add_argument_group("graph embedding")
    g.add_argument("--method", choices=("deepwalk", "node2vec", "struc2vec", "line"),
                   default="deepwalk")  # fmt: skip
    g.add_argument("--p", type=_positive_float, default=1.0,
                   help="node2vec return parameter (default: 1)")  # fmt: skip
    g.add_argument("--q", type=_positive_float, default=1.0,
                   help="node2vec in-out parameter (default: 1)")  # fmt: skip
    g.add_argument(
        "--stay",
        type=_positive_float,
        default=0.3,
        help="struc2vec: probability of a step in the layer (default: 0.3)",
    )
    g.add_argument(
        "--max-layer",
        type=int,
        default=None,
        help="struc2vec: deepest layer (OPT3's k*; default: up to the diameter)",
    )
    g.add_argument(
        "--all-pairs",
        action="store_true",
        help="struc2vec: compare every pair of nodes (no OPT2; O(n^2))",
    )
    g.add_argument("--dim", type=_positive_int, default=128, help="vector size (default: 128)")
    g.add_argument("--walk-length", type=_positive_int, default=80, help="(default: 80)")
    g.add_argument("--num-walks", type=_positive_int, default=10, help="per node (default: 10)")
    g.add_argument("--window", type=_positive_int, default=10, help="(default: 10)")
    g.add_argument("--negative", type=_positive_int, default=5, help="(default: 5)")
    g.add_argument("--workers", type=_positive_int, default=2, help="threads (default: 2)")
    g.add_argument(
        "--train-ratio",
        type=float,
        default=0.5,
        help="share of labelled nodes the classifier trains on (default: 0.5)",
    )
    add_dist_args(q, "walk methods", sync_words=20_000)
    q.set_defaults(func=run_graph)
    k = fam.add_parser(
        "kg", help="knowledge-graph embedding (TransE, DistMult, ComplEx, RotatE)",
        description="Sampler study for KG embeddings, scored by filtered link prediction.",
    )  # fmt: skip
    k.add_argument("--data", required=True,
                   help="knowledge graph: wn18rr, fb15k237 or a folder of split files")  # fmt: skip
    add_study_args(k, samplers="kg_uniform,bernoulli,self_adversarial,nscaching,adaptive",
                   epochs=3, seeds=3, out=None)  # fmt: skip
    g = k.add_argument_group("KG embedding")
    g.add_argument("--model", choices=("transe", "distmult", "complex", "rotate"),
                   default="rotate")  # fmt: skip
    g.add_argument("--dim", type=_positive_int, default=32, help="(default: 32)")
    g.add_argument("--n-negs", type=_positive_int, default=16, help="per positive (default: 16)")
    g.add_argument("--batch-size", type=_positive_int, default=1024, help="(default: 1024)")
    g.add_argument("--lr", type=_positive_float, default=0.005, help="Adam (default: 0.005)")
    g.add_argument("--loss", choices=("logistic", "margin"), default="logistic")
    g.add_argument("--threads", type=_positive_int, default=1, help="torch threads (default: 1)")
    g.add_argument("--device", default="cpu")
    g.add_argument("--eval-max", type=_positive_int, default=500,
                   help="validation triples scored after each epoch (default: 500)")  # fmt: skip
    k.set_defaults(func=run_kg)


def word2vec_command(args: argparse.Namespace, sims, analogy) -> str:
    """The exact command that reruns this study, every setting spelled out."""
    parts = ["negkit", "compare", "word2vec", "--corpus", str(args.corpus)]
    for s in sims:
        parts += ["--sim", str(s)]
    parts += ["--analogy", str(analogy)] if analogy else ["--no-analogy"]
    parts += study_setting_args(args)
    if args.max_lines:
        parts += ["--max-lines", str(args.max_lines)]
    return shlex.join(parts + word2vec_setting_args(args))


def study_setting_args(args: argparse.Namespace) -> list[str]:
    """The settings every study takes (:func:`add_study_args`) as command-line words."""
    parts = ["--samplers", args.samplers, "--epochs", str(args.epochs), "--seeds", str(args.seeds)]
    if args.time_budget:
        parts += ["--time-budget", number_word(args.time_budget)]
    return parts + ["--out", str(args.out)]


#: The word2vec settings a rerun command spells out, in this order.
WORD2VEC_SETTINGS = (
    "dim",
    "window",
    "negative",
    "min_count",
    "sample",
    "lr",
    "workers",
    "analogy_restrict",
)


def word2vec_setting_args(args: argparse.Namespace) -> list[str]:
    """Every word2vec setting of ``args`` as command-line words (``--dim 100 ...``)."""
    parts: list[str] = []
    for opt in WORD2VEC_SETTINGS:
        parts += ["--" + opt.replace("_", "-"), number_word(getattr(args, opt))]
    return parts


def make_word2vec_family(args: argparse.Namespace, corpus, sims, analogy):
    from negkit.study.word2vec_family import Word2VecFamily

    return Word2VecFamily(
        corpus=corpus,
        similarity=sims,
        analogy=analogy,
        dim=args.dim,
        window=args.window,
        negative=args.negative,
        min_count=args.min_count,
        sample=args.sample,
        lr=args.lr,
        workers=args.workers,
        analogy_restrict=args.analogy_restrict,
        max_lines=args.max_lines,
    )


def run_word2vec(args: argparse.Namespace) -> int:
    return run_distributed(args, _word2vec_study)


def _word2vec_study(args: argparse.Namespace, ctx) -> int:
    from pathlib import Path

    from negkit.study import resources

    corpus = Path(args.corpus)
    if not corpus.is_file():
        raise FileNotFoundError(f"--corpus {corpus}: no such file")
    sims = [Path(s) for s in args.sim] if args.sim else resources.similarity_sets()
    analogy = (
        None if args.no_analogy else Path(args.analogy) if args.analogy else resources.analogy_set()
    )
    for f in [*sims, *([analogy] if analogy else [])]:
        if not f.is_file():
            raise FileNotFoundError(f"evaluation file {f}: no such file")
    if not 0 <= args.sample < 1:
        raise ValueError(f"--sample must lie in [0, 1), got {args.sample}")
    family = make_word2vec_family(args, corpus, sims, analogy)
    family.dist, family.sync_words = (ctx if ctx.distributed else None), args.sync_words
    command = word2vec_command(args, sims, analogy)
    if ctx.distributed:  # the --nproc shortcut reruns it on one machine
        command += f" --nproc {ctx.world_size} --sync-words {args.sync_words}"
    return finish(args, family, command, ctx)


def finish(args: argparse.Namespace, family, command: str, dist_ctx=None) -> int:
    """Run the study and say where the report is; 130 when stopped by Ctrl-C, 1 when a run
    failed (the others ran and are reported)."""
    import sys

    from negkit._atomic import check_target
    from negkit.study.runner import run_study
    from negkit.study.spec import parse_spec_list

    check_target(args.out, folder=True)
    result = run_study(
        family,
        parse_spec_list(args.samplers),
        list(range(args.seeds)),
        args.epochs,
        args.out,
        time_budget=args.time_budget,
        resume=not args.fresh,
        command=command,
        progress=not args.no_progress,
        dist_ctx=dist_ctx,
    )
    if dist_ctx is not None and not dist_ctx.is_main:
        return 0
    n_done = sum(r["status"] == "finished" for r in result.runs.values())
    print(
        f"{n_done} run(s) finished"
        + (f"; stopped early: {result.stopped}" if result.stopped else "")
    )
    print(f"report: {result.out / 'report.html'}")
    print(f"        {result.out / 'report.md'}")
    print(f"log:    {result.out / 'metrics.jsonl'}")
    if "Ctrl-C" in result.stopped:
        print("interrupted", file=sys.stderr)
        return 130
    failed = sorted(r for r, v in result.runs.items() if v["status"] == "failed")
    if failed:  # the report shows what ran; the exit status says not everything did
        print(f"negkit compare: {len(failed)} run(s) failed ({', '.join(failed)}): their "
              f"errors are in {result.out / 'metrics.jsonl'}", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def run_rec(args: argparse.Namespace) -> int:
    from negkit.study.rec_family import RecFamily

    if args.reg is not None and args.reg < 0:
        raise ValueError(f"--reg must be >= 0, got {args.reg}")
    from negkit.cli._log_args import is_log_file, read_options

    opts = None  # a log file's settings: the split it makes is part of the study
    if is_log_file(args.data):
        opts = {"file": str(args.data), "split": args.split, "valid": args.valid,
                "split_seed": args.split_seed, **read_options(args)}  # fmt: skip
    family = RecFamily(load_data_arg(args), dim=args.dim, lr=args.lr, reg=args.reg,
                       threads=args.threads, k=args.k, data_options=opts)  # fmt: skip
    parts = ["negkit", "compare", "rec", "--data", str(args.data), *rerun_words(args),
             *study_setting_args(args),
             "--dim", str(args.dim), "--threads", str(args.threads),
             "--k", str(args.k)]  # fmt: skip
    for opt in ("lr", "reg"):
        if getattr(args, opt) is not None:
            parts += [f"--{opt}", number_word(getattr(args, opt))]
    return finish(args, family, shlex.join(parts))


def run_graph(args: argparse.Namespace) -> int:
    from negkit.cli.graph import _check_method_options

    _check_method_options(args)  # before any rank starts
    return run_distributed(args, _graph_study)


def _graph_study(args: argparse.Namespace, ctx) -> int:
    from negkit.study.graph_family import GraphFamily

    family = GraphFamily(
        args.data, method=args.method, dim=args.dim, walk_length=args.walk_length,
        num_walks=args.num_walks, window=args.window, negative=args.negative,
        workers=args.workers, train_ratio=args.train_ratio, p=args.p, q=args.q,
        stay=args.stay, max_layer=args.max_layer, opt2=not args.all_pairs,
    )  # fmt: skip
    parts = ["negkit", "compare", "graph", "--data", str(args.data), *study_setting_args(args)]
    walk = {"node2vec": ("p", "q"), "struc2vec": ("stay",)}.get(args.method, ())
    if args.method == "struc2vec" and args.max_layer is not None:
        walk += ("max_layer",)
    if args.method == "struc2vec" and args.all_pairs:
        parts.append("--all-pairs")
    if args.method != "line":  # LINE trains on edges
        walk += ("walk_length", "num_walks", "window")
    for opt in ("method", *walk, "dim", "negative", "workers", "train_ratio"):
        parts += ["--" + opt.replace("_", "-"), f"{getattr(args, opt)}"]
    if ctx.distributed:  # the --nproc shortcut reruns it on one machine
        family.dist, family.sync_words = ctx, args.sync_words
        parts += ["--nproc", str(ctx.world_size), "--sync-words", str(args.sync_words)]
    return finish(args, family, shlex.join(parts), ctx)


def run_kg(args: argparse.Namespace) -> int:
    from negkit.study.kg_family import KGFamily

    family = KGFamily(args.data, model=args.model, dim=args.dim, n_negs=args.n_negs,
                      batch_size=args.batch_size, lr=args.lr, loss=args.loss,
                      threads=args.threads, device=args.device,
                      eval_max=args.eval_max)  # fmt: skip
    parts = ["negkit", "compare", "kg", "--data", str(args.data), *study_setting_args(args)]
    for opt in ("model", "dim", "n_negs", "batch_size", "lr", "loss", "threads", "device",
                "eval_max"):  # fmt: skip
        parts += ["--" + opt.replace("_", "-"), f"{getattr(args, opt)}"]
    return finish(args, family, shlex.join(parts))
