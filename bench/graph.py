"""negkit vs PecanPy (+ gensim) on BlogCatalog: DeepWalk / node2vec side by side.

Settings of the issue: d=128, walk length 80, 10 walks a node, window 10,
2 workers, once p=q=1 and once p=0.25, q=4.  Each side runs in its own
subprocess so that its peak memory (``ru_maxrss``, read right after embedding,
before evaluation) is its own.  Reported per side: walk, training and total
time, peak memory, and Macro/Micro-F1 at 50% training nodes (mean of 5 random
splits, the same for both sides), true-k protocol
and plain predictions.  PecanPy uses FirstOrderUnweighted for p=q=1 and
SparseOTF otherwise, as its own CLI would, and gensim's Word2Vec defaults
(negative 5, sample 1e-3, 1 epoch, lr 0.025).  negkit runs its own defaults:
the same, except a starting lr of 0.05 and negatives shared across a window (Ji et
al. 2016; ``--extra '{"shared_negatives": false}'`` gives the exact per-pair update),
see ``negkit.graph.embed.GraphEmbedSettings``.

    python bench/graph.py                 # both settings, both sides
    python bench/graph.py --pq 1,1 --sides negkit
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

DIM, WALK_LENGTH, NUM_WALKS, WINDOW = 128, 80, 10, 10
#: F1 is the mean over this many random 50% splits (the same splits for both sides)
REPEATS = 5


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB -> GiB


def _evaluate(vectors: np.ndarray, labels, seed: int) -> dict:
    from negkit.eval.graph import node_classification

    r = node_classification(vectors, labels, [0.5], repeats=REPEATS, seed=seed)[0]
    return {
        k: r[k] for k in ("macro_f1_true_k", "micro_f1_true_k", "macro_f1_plain", "micro_f1_plain")
    }


def side_negkit(graph, p: float, q: float, workers: int, seed: int, extra: dict) -> dict:
    from negkit.graph.embed import GraphEmbedSettings, run

    settings = GraphEmbedSettings(
        method="deepwalk" if p == q == 1 else "node2vec",
        dim=DIM,
        walk_length=WALK_LENGTH,
        num_walks=NUM_WALKS,
        window=WINDOW,
        p=p,
        q=q,
        workers=workers,
        extra=extra,
    )
    res = run(graph, settings, sampler="degree", seed=seed)
    t = res.timings
    return {
        "walk_s": t["walk_s"],
        "train_s": t["train_s"],
        "total_s": t["total_s"],
        "peak_gb": _peak_gb(),
        "vectors": res.vectors,
    }


def _numpy1_aliases() -> None:
    """PecanPy imports nptyping, which reads numpy 1 aliases removed in numpy 2."""
    for old, new in (
        ("bool8", "bool_"),
        ("bytes0", "bytes_"),
        ("cfloat", "complex128"),
        ("clongfloat", "clongdouble"),
        ("complex_", "complex128"),
        ("float_", "float64"),
        ("int0", "intp"),
        ("longcomplex", "clongdouble"),
        ("longfloat", "longdouble"),
        ("object0", "object_"),
        ("singlecomplex", "complex64"),
        ("str0", "str_"),
        ("string_", "bytes_"),
        ("uint0", "uintp"),
        ("unicode_", "str_"),
        ("void0", "void"),
    ):
        if not hasattr(np, old):
            setattr(np, old, getattr(np, new))


def side_pecanpy(graph, p: float, q: float, workers: int, seed: int, extra: dict) -> dict:
    _numpy1_aliases()
    import scipy.sparse as sp
    from gensim.models import Word2Vec
    from pecanpy import pecanpy as pp

    upper = sp.triu(graph.adj, 1).tocoo()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "graph.edg")
        np.savetxt(path, np.stack([upper.row, upper.col], 1), fmt="%d", delimiter="\t")
        mode = pp.FirstOrderUnweighted if p == q == 1 else pp.SparseOTF
        g = mode(p=p, q=q, workers=workers, verbose=False, random_state=seed)
        g.read_edg(path, weighted=False, directed=False)
    t0 = time.perf_counter()
    walks = g.simulate_walks(NUM_WALKS, WALK_LENGTH)
    t1 = time.perf_counter()
    w2v = Word2Vec(
        walks,
        vector_size=DIM,
        window=WINDOW,
        sg=1,
        min_count=0,
        workers=workers,
        epochs=1,
        seed=seed,
    )
    t2 = time.perf_counter()
    vectors = w2v.wv[g.nodes]
    order = np.argsort(np.array([int(x) for x in g.nodes]))
    full = np.zeros((graph.adj.shape[0], DIM), dtype=np.float32)
    full[np.array([int(x) for x in g.nodes])[order]] = vectors[order]
    return {
        "walk_s": t1 - t0,
        "train_s": t2 - t1,
        "total_s": t2 - t0,
        "peak_gb": _peak_gb(),
        "vectors": full,
        "mode": mode.__name__,
    }


def child(args) -> None:
    from negkit.data import registry

    graph = registry.load(args.graph)
    fn = side_negkit if args.side == "negkit" else side_pecanpy
    out = fn(graph, args.p, args.q, args.workers, args.seed, json.loads(args.extra))
    vectors = out.pop("vectors")
    out.update(_evaluate(vectors, graph.labels, args.seed))
    out.update({"side": args.side, "p": args.p, "q": args.q})
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--graph", default="blogcatalog")
    ap.add_argument(
        "--pq", action="append", default=None, help="p,q (repeatable; default 1,1 and 0.25,4)"
    )
    ap.add_argument("--sides", default="pecanpy,negkit")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra", default="{}", help="JSON dict of extra negkit Word2Vec settings")
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--p", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--q", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        child(args)
        return
    rows = []
    for pq in args.pq or ["1,1", "0.25,4"]:
        p, q = (float(x) for x in pq.split(","))
        for side in args.sides.split(","):
            cmd = [
                sys.executable,
                __file__,
                "--side",
                side,
                "--p",
                str(p),
                "--q",
                str(q),
                "--graph",
                args.graph,
                "--workers",
                str(args.workers),
                "--seed",
                str(args.seed),
                "--extra",
                args.extra,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                print(f"{side} p={p} q={q} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
                continue
            rows.append(json.loads(line[-1][7:]))
            r = rows[-1]
            print(
                f"{side:8s} p={p:<4g} q={q:<4g} walks {r['walk_s']:6.1f} s  "
                f"train {r['train_s']:6.1f} s  total {r['total_s']:6.1f} s  "
                f"peak {r['peak_gb']:.2f} GB  "
                f"Macro-F1 true-k {r['macro_f1_true_k']:.4f} plain {r['macro_f1_plain']:.4f}  "
                f"Micro-F1 true-k {r['micro_f1_true_k']:.4f} plain {r['micro_f1_plain']:.4f}",
                flush=True,
            )
    for p_q in {(r["p"], r["q"]) for r in rows}:
        by = {r["side"]: r for r in rows if (r["p"], r["q"]) == p_q}
        if "negkit" in by and "pecanpy" in by:
            ratio = by["negkit"]["total_s"] / by["pecanpy"]["total_s"]
            print(f"p={p_q[0]:g} q={p_q[1]:g}: negkit total / PecanPy total = {ratio:.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
