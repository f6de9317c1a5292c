"""Benchmark: 1 against 2 processes (torch.distributed, gloo, 1 thread each), every family.

* skip-gram on the shared corpus (sg, d=100, window 5, negative 5, sample 1e-4, min_count 5):
  raw words/s = corpus tokens x epochs / training seconds (vocabulary and compilation
  excluded), WS353 / SimLex-999 Spearman and Google analogy (restrict 30000), mean of the
  seeds;
* DeepWalk on BlogCatalog (d=128, 10 walks of 80, window 10, shared negatives): seconds
  (walks + training) and Macro-F1 (true-k, 50% labelled), mean of ``--graph-seeds``;
* torch MF and LightGCN on Gowalla (rns, BPR, Adam, global batch 2048): training pairs/s and
  test Recall@20 after ``--rec-epochs`` epochs; ``mf-per-rank``: MF with 2048 pairs a rank
  (DDP's convention: the global batch grows with the ranks); ``mf-dense``: MF with dense
  gradients (``row_grads=False``: DDP's all-reduce of the whole tables on two processes);
  ``mf-numba``: BPR-MF on the compiled engine (the CPU default), ``--numba-epochs`` epochs,
  the tables merged every ``--sync-pairs`` pairs a rank: pairs/s over the epochs after the
  first (which compiles) and Recall@20 at the end.

Every setting runs as its own group of processes on 127.0.0.1 (started here, as torchrun
would), so the machine should be otherwise idle; a loaded machine shows in the ratios.
Every rank also reports its time by part (``profile`` lines): training (and the CPU time
of its thread: below the wall time when something else had the core), the per-round counts
collective (with the wait for the slower rank; mf-numba: the per-epoch loss collective,
``loss_sum_seconds``), and the syncs' parts (change / mask / send / apply, or with
``--overlap on`` the wait for the exchange in flight and the one pass).
``--overlap`` and ``--wire`` set ``sync_overlap`` / ``sync_wire``, ``--sync-head`` and
``--sync-tail-every`` skip-gram's and DeepWalk's ``sync_head`` / ``sync_tail_every`` (default:
the library's).

    NEGKIT_DATA=../shared/data python bench/distributed.py [--epochs 2] [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
W2V = dict(sg=1, vector_size=100, window=5, negative=5, sample=1e-4, min_count=5, workers=1,
           progress=False, compute_loss=False)  # fmt: skip


def _data() -> Path:
    p = Path(os.environ.get("NEGKIT_DATA", HERE.parents[2] / "shared" / "data"))
    if not (p / "MANIFEST.md").is_file():
        raise SystemExit(f"shared data not found under {p}: set NEGKIT_DATA")
    return p


def _sentences(data: Path, lines: int | None) -> list[list[str]]:
    with lzma.open(data / "text_corpus_en" / "en_corpus_5m.txt.xz", "rt", encoding="utf-8") as f:
        return [line.split() for i, line in enumerate(f) if lines is None or i < lines]


PARTS = (
    "seconds",
    "rank_words",
    "train_seconds",
    "train_cpu_seconds",
    "counts_seconds",
    "sync_seconds",
    "loss_sum_seconds",
    "syncs",
    "sync_bytes",
)


def _profile(records: list[dict], **extra: float) -> dict:
    """This rank's time by part, summed over ``records`` (epoch records): training, the
    per-round counts collective (with the wait for the slower rank), the syncs by part."""
    out = {k: float(sum(r.get(k, 0.0) for r in records)) for k in PARTS}
    for r in records:
        for k, v in r.get("sync_parts", {}).items():
            out[f"sync_{k}"] = out.get(f"sync_{k}", 0.0) + v
    return {**out, **extra}


def _sync_opts(args) -> dict:
    """The sync options asked for on the command line (none: the defaults; the same names
    in ``Word2Vec`` and ``GraphEmbedSettings``)."""
    out: dict = {}
    if args.overlap is not None:
        out["sync_overlap"] = args.overlap == "on"
    if args.wire:
        out["sync_wire"] = args.wire
    return out


def _tier_opts(args) -> dict:
    """``sync_head`` / ``sync_tail_every`` as asked (the word and walk engines only)."""
    out: dict = {}
    if args.sync_head is not None:
        out["sync_head"] = args.sync_head
    if args.sync_tail_every is not None:
        out["sync_tail_every"] = args.sync_tail_every
    return out


def skipgram(ctx, args) -> dict:
    from negkit import Word2Vec
    from negkit.data import registry
    from negkit.eval.words import word_analogy, word_similarity
    from negkit.rec import distributed

    corpus = _sentences(_data(), args.lines)
    Word2Vec(**W2V, dist=ctx, epochs=1).fit(corpus[:200])  # compile outside the timing
    out = {"words": sum(map(len, corpus)), "epochs": args.epochs, "runs": []}
    for seed in args.seeds:
        model = Word2Vec(**W2V, epochs=args.epochs, seed=seed, dist=ctx,
                         sync_words=args.sync_words or 100_000, **_sync_opts(args),
                         **_tier_opts(args))  # fmt: skip
        model.build_vocab(corpus)
        distributed.barrier(ctx)
        t = time.perf_counter()
        model.train(corpus)
        distributed.barrier(ctx)
        seconds = time.perf_counter() - t
        PROFILE.append(_profile(model.training_log_, seed=seed, wall=seconds))
        if not ctx.is_main:
            continue
        kv = model.wv
        sync = sum(r.get("sync_seconds", 0.0) for r in model.training_log_)
        out["runs"].append({
            "seed": seed, "seconds": seconds, "sync_seconds": sync,
            "words_per_s": out["words"] * args.epochs / seconds,
            "ws353": word_similarity(kv, registry.load("wordsim353"))["spearman"],
            "simlex": word_similarity(kv, registry.load("simlex999"))["spearman"],
            "analogy": 100 * word_analogy(kv, registry.load("google_analogy"), 30000)["accuracy"],
        })  # fmt: skip
    return out


def deepwalk(ctx, args) -> dict:
    from negkit.eval.graph import node_classification
    from negkit.graph.embed import GraphEmbedSettings, load_graph, run
    from negkit.rec import distributed

    g = load_graph("blogcatalog")
    s = GraphEmbedSettings(
        sync_words=args.sync_words or 20_000, **_sync_opts(args), **_tier_opts(args)
    )
    run(g, GraphEmbedSettings(num_walks=1, walk_length=5), seed=0)  # compile
    runs = []
    for seed in args.graph_seeds:
        distributed.barrier(ctx)
        t = time.perf_counter()
        recs: list[dict] = []
        keep = recs.append
        res = run(g, s, seed=seed, dist_ctx=ctx, on_epoch=lambda e, v, rec, keep=keep: keep(rec))
        distributed.barrier(ctx)
        seconds = time.perf_counter() - t
        PROFILE.append(_profile(recs, seed=seed, wall=seconds, walk_s=res.timings["walk_s"],
                                total_s=res.timings["total_s"]))  # fmt: skip
        if ctx.is_main:
            r = node_classification(res.vectors, g.labels, [0.5], repeats=3, seed=0)[0]
            runs.append({"seed": seed, "seconds": seconds, "macro_f1": r["macro_f1_true_k"],
                         "micro_f1": r["micro_f1_true_k"]})  # fmt: skip
    if not ctx.is_main:
        return {}
    return {"runs": runs, **{k: _mean(runs, k) for k in ("seconds", "macro_f1", "micro_f1")}}


def rec(ctx, args, model: str, per_rank: bool = False, row_grads: bool | None = None) -> dict:
    from negkit.rec.train import RecSettings, load_data, run

    data = load_data("gowalla")
    batch = 2048 if per_rank else 2048 // ctx.world_size
    settings = RecSettings(data=data, model=model, engine="torch", epochs=args.rec_epochs,
                           dim=64, lr=5e-3, n_layers=2, batch_size=batch, threads=1,
                           row_grads=row_grads)  # fmt: skip
    res = run(settings, "rns", seed=0, dist_ctx=ctx)
    if not ctx.is_main:
        return {}
    seconds = sum(row["seconds"] for row in res["history"])
    return {"seconds": seconds, "pairs_per_s": data.train.nnz * args.rec_epochs / seconds,
            "recall@20": res["test"]["recall@20"]}  # fmt: skip


def mf_numba(ctx, args) -> dict:
    from negkit.rec.train import RecSettings, load_data, run

    data = load_data("gowalla")
    settings = RecSettings(data=data, model="mf", engine="numba", epochs=args.numba_epochs,
                           dim=64, threads=1, sync_pairs=args.sync_words or 1_000_000,
                           **_sync_opts(args))  # fmt: skip
    res = run(settings, "rns", seed=0, dist_ctx=ctx)
    timed = res["history"][1:]
    seconds = sum(row["seconds"] for row in timed)
    PROFILE.append(_profile(timed, wall=seconds))
    if not ctx.is_main:
        return {}
    return {"seconds": seconds, "recall@20": res["test"]["recall@20"],
            "pairs_per_s": data.train.nnz * (len(res["history"]) - 1) / seconds}  # fmt: skip


TASKS = {
    "skipgram": skipgram,
    "deepwalk": deepwalk,
    "mf": lambda c, a: rec(c, a, "mf"),
    "mf-per-rank": lambda c, a: rec(c, a, "mf", per_rank=True),
    "mf-dense": lambda c, a: rec(c, a, "mf", row_grads=False),
    "lightgcn": lambda c, a: rec(c, a, "lightgcn"),
    "mf-numba": mf_numba,
}


PROFILE: list[dict] = []  # this rank's time by part, one entry a timed run


def worker(args) -> int:
    from negkit.rec import distributed

    ctx = distributed.init("cpu")
    try:
        out = TASKS[args.worker](ctx, args)
        Path(f"{args.result}.rank{ctx.rank}").write_text(json.dumps(PROFILE))
        if ctx.is_main:
            Path(args.result).write_text(json.dumps(out))
        distributed.barrier(ctx)
    finally:
        distributed.finish()
    return 0


def launch(task: str, nproc: int, args, tmp: Path) -> dict:
    """Run ``task`` on ``nproc`` processes on 127.0.0.1; rank 0's result."""
    from negkit.rec.distributed import free_port

    result = tmp / f"{task}-{nproc}.json"
    cmd = [sys.executable, str(HERE), "--worker", task, "--result", str(result),
           "--epochs", str(args.epochs), "--rec-epochs", str(args.rec_epochs),
           "--numba-epochs", str(args.numba_epochs),
           "--seeds", *map(str, args.seeds),
           "--graph-seeds", *map(str, args.graph_seeds)]  # fmt: skip
    if args.sync_words:
        cmd += ["--sync-words", str(args.sync_words)]
    if args.lines:
        cmd += ["--lines", str(args.lines)]
    if args.overlap:
        cmd += ["--overlap", args.overlap]
    if args.wire:
        cmd += ["--wire", args.wire]
    if args.sync_head is not None:
        cmd += ["--sync-head", str(args.sync_head)]
    if args.sync_tail_every is not None:
        cmd += ["--sync-tail-every", str(args.sync_tail_every)]
    port = free_port()
    procs = []
    for rank in range(nproc):
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
        if nproc > 1:
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc),
                       MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=env))
    try:
        codes = [p.wait() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if codes != [0] * nproc:
        raise SystemExit(f"{task} on {nproc} processes failed: exit codes {codes}")
    out = json.loads(result.read_text())
    out["profile"] = [json.loads(Path(f"{result}.rank{r}").read_text()) for r in range(nproc)]
    return out


def _mean(runs: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in runs]))


def report(res: dict) -> None:
    print(f"\nload average at the end: {os.getloadavg()}")
    for task, by_n in res.items():
        for n, out in by_n.items():
            for rank, runs in enumerate(out.get("profile", [])):
                for run in runs:
                    print(f"profile {task} {n} proc rank {rank}: "
                          + ", ".join(f"{k} {v:.3g}" for k, v in run.items()))  # fmt: skip
    if "skipgram" in res:
        by_n = {n: out["runs"] for n, out in res["skipgram"].items()}
        print("skip-gram  procs  words/s   sync s  WS353   SimLex  analogy%  (mean of seeds)")
        for n, runs in by_n.items():
            print(f"           {n}      {_mean(runs, 'words_per_s'):8.0f}  "
                  f"{_mean(runs, 'sync_seconds'):6.1f}  {_mean(runs, 'ws353'):.4f}  "
                  f"{_mean(runs, 'simlex'):.4f}  {_mean(runs, 'analogy'):.2f}")  # fmt: skip
        if 1 in by_n and 2 in by_n:
            ratio = _mean(by_n[2], "words_per_s") / _mean(by_n[1], "words_per_s")
            print(f"           ratio  {ratio:.2f}x")
    if "deepwalk" in res:
        for n, out in res["deepwalk"].items():
            print(f"DeepWalk BlogCatalog, {n} proc: {out['seconds']:.1f} s, Macro-F1 "
                  f"{out['macro_f1']:.4f}, Micro-F1 {out['micro_f1']:.4f}")  # fmt: skip
        dw = res["deepwalk"]
        if 1 in dw and 2 in dw:
            print(f"DeepWalk ratio {dw[1]['seconds'] / dw[2]['seconds']:.2f}x")
    for m in ("mf-numba", "mf", "mf-per-rank", "mf-dense", "lightgcn"):
        if m in res and 1 in res[m] and 2 in res[m]:
            one, two = res[m][1], res[m][2]
            print(f"{m} Gowalla: {one['pairs_per_s']:.0f} -> {two['pairs_per_s']:.0f} pairs/s "
                  f"({two['pairs_per_s'] / one['pairs_per_s']:.2f}x), Recall@20 "
                  f"{one['recall@20']:.4f} -> {two['recall@20']:.4f}")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--tasks", default="skipgram,deepwalk,mf-numba,mf,mf-per-rank,mf-dense,lightgcn"
    )
    ap.add_argument("--epochs", type=int, default=2, help="skip-gram epochs (default 2)")
    ap.add_argument("--lines", type=int, default=None, help="first N corpus lines only")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--rec-epochs", type=int, default=1, help="torch MF / LightGCN epochs")
    ap.add_argument("--numba-epochs", type=int, default=50, help="mf-numba epochs (default 50)")
    ap.add_argument("--graph-seeds", type=int, nargs="+", default=[0],
                    help="DeepWalk seeds (default: 0); its figures are their means")  # fmt: skip
    ap.add_argument(
        "--sync-words", type=int, default=None,
        help="words (pairs for mf-numba) between syncs (default: 100000 skip-gram, 20000 "
        "DeepWalk, 1000000 mf-numba)",
    )  # fmt: skip
    ap.add_argument("--overlap", choices=("on", "off"), default=None,
                    help="sync_overlap on or off (default: the library's default)")  # fmt: skip
    ap.add_argument("--wire", choices=("float32", "bfloat16"), default=None,
                    help="sync_wire (default: the library's default)")  # fmt: skip
    ap.add_argument("--sync-head", type=float, default=None,
                    help="sync_head: the frequent rows' fraction merged every sync (skip-gram, "
                    "DeepWalk; default: the library's)")  # fmt: skip
    ap.add_argument("--sync-tail-every", type=int, default=None,
                    help="sync_tail_every: the other rows in that many blocks, one a sync "
                    "(default: the library's)")  # fmt: skip
    ap.add_argument("--nprocs", type=int, nargs="+", default=[1, 2],
                    help="process counts to run (default: 1 2)")  # fmt: skip
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    _data()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()}, settings {vars(args)}")  # fmt: skip
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.tasks.split(","):
            res[task] = {n: launch(task, n, args, Path(tmp)) for n in args.nprocs}
            print(task, json.dumps(res[task]), flush=True)
    report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
