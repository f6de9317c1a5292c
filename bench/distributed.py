"""Benchmark: 1 against 2 processes (torch.distributed, gloo, 1 thread each), every family.

* skip-gram on the shared corpus (sg, d=100, window 5, negative 5, sample 1e-4, min_count 5):
  raw words/s = corpus tokens x epochs / training seconds (vocabulary and compilation
  excluded), WS353 / SimLex-999 Spearman and Google analogy (restrict 30000), mean of the
  seeds;
* DeepWalk on BlogCatalog (d=128, 10 walks of 80, window 10, shared negatives): seconds
  (walks + training) and Macro-F1 (true-k, 50% labelled);
* torch MF and LightGCN on Gowalla (rns, BPR, Adam, global batch 2048): training pairs/s and
  test Recall@20 after ``--rec-epochs`` epochs; ``mf-per-rank``: MF with 2048 pairs a rank
  (DDP's convention: the global batch grows with the ranks); ``mf-dense``: MF with dense
  gradients (``row_grads=False``: DDP's all-reduce of the whole tables on two processes);
  ``mf-numba``: BPR-MF on the compiled engine (the CPU default), ``--numba-epochs`` epochs,
  the tables merged every ``--sync-pairs`` pairs a rank: pairs/s over the epochs after the
  first (which compiles) and Recall@20 at the end.

Every setting runs as its own group of processes on 127.0.0.1 (started here, as torchrun
would), so the machine should be otherwise idle; a loaded machine shows in the ratios.

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
                         sync_words=args.sync_words or 100_000)  # fmt: skip
        model.build_vocab(corpus)
        distributed.barrier(ctx)
        t = time.perf_counter()
        model.train(corpus)
        distributed.barrier(ctx)
        seconds = time.perf_counter() - t
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
    s = GraphEmbedSettings(sync_words=args.sync_words or 20_000)
    run(g, GraphEmbedSettings(num_walks=1, walk_length=5), seed=0)  # compile
    distributed.barrier(ctx)
    t = time.perf_counter()
    res = run(g, s, seed=0, dist_ctx=ctx)
    distributed.barrier(ctx)
    seconds = time.perf_counter() - t
    if not ctx.is_main:
        return {}
    r = node_classification(res.vectors, g.labels, [0.5], repeats=3, seed=0)[0]
    return {"seconds": seconds, "macro_f1": r["macro_f1_true_k"], "micro_f1": r["micro_f1_true_k"]}


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
                           dim=64, threads=1, sync_pairs=args.sync_words or 1_000_000)  # fmt: skip
    res = run(settings, "rns", seed=0, dist_ctx=ctx)
    if not ctx.is_main:
        return {}
    seconds = sum(row["seconds"] for row in res["history"][1:])
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


def worker(args) -> int:
    from negkit.rec import distributed

    ctx = distributed.init("cpu")
    try:
        out = TASKS[args.worker](ctx, args)
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
           "--seeds", *map(str, args.seeds)]  # fmt: skip
    if args.sync_words:
        cmd += ["--sync-words", str(args.sync_words)]
    if args.lines:
        cmd += ["--lines", str(args.lines)]
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
    return json.loads(result.read_text())


def _mean(runs: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in runs]))


def report(res: dict) -> None:
    print(f"\nload average at the end: {os.getloadavg()}")
    if "skipgram" in res:
        one, two = res["skipgram"][1]["runs"], res["skipgram"][2]["runs"]
        print("skip-gram  procs  words/s   sync s  WS353   SimLex  analogy%  (mean of seeds)")
        for n, runs in ((1, one), (2, two)):
            print(f"           {n}      {_mean(runs, 'words_per_s'):8.0f}  "
                  f"{_mean(runs, 'sync_seconds'):6.1f}  {_mean(runs, 'ws353'):.4f}  "
                  f"{_mean(runs, 'simlex'):.4f}  {_mean(runs, 'analogy'):.2f}")  # fmt: skip
        print(f"           ratio  {_mean(two, 'words_per_s') / _mean(one, 'words_per_s'):.2f}x")
    if "deepwalk" in res:
        one, two = res["deepwalk"][1], res["deepwalk"][2]
        print(f"DeepWalk BlogCatalog: {one['seconds']:.1f} s -> {two['seconds']:.1f} s "
              f"({one['seconds'] / two['seconds']:.2f}x), Macro-F1 {one['macro_f1']:.4f} -> "
              f"{two['macro_f1']:.4f}")  # fmt: skip
    for m in ("mf-numba", "mf", "mf-per-rank", "mf-dense", "lightgcn"):
        if m in res:
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
    ap.add_argument(
        "--sync-words", type=int, default=None,
        help="words (pairs for mf-numba) between syncs (default: 100000 skip-gram, 20000 "
        "DeepWalk, 1000000 mf-numba)",
    )  # fmt: skip
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
            res[task] = {n: launch(task, n, args, Path(tmp)) for n in (1, 2)}
            print(task, json.dumps(res[task]), flush=True)
    report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
