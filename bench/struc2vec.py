"""struc2vec vs DeepWalk on the airport networks, and the multilayer graph's cost against size.

Accuracy (Ribeiro et al. 2017, Sec. 4.4): embed, then one-vs-rest L2 logistic regression
(liblinear) on 80% of the nodes, accuracy on the other 20%, mean and std over ``--repeats``
random splits (single-label: the true-k micro-F1 of ``negkit.eval.graph`` is the accuracy).
Both methods: d=128, 10 walks of 80 a node, window 10, 5 negatives (degree^0.75 noise),
``--epochs`` skip-gram passes; struc2vec with OPT1 + OPT2, all layers, stay q=0.3.

Cost: the multilayer graph (rings, DTW over candidate pairs, layers) of Barabasi-Albert
graphs (m=3) of growing size: seconds and bytes of the layers plus the pair distances.

    python bench/struc2vec.py                         # the three airports
    python bench/struc2vec.py --graphs airports_brazil --repeats 10
    python bench/struc2vec.py --scaling 1000,2000,4000,8000,16000
    python bench/struc2vec.py --scaling 1000,2000,4000,8000,16000 --max-layer 2   # with OPT3
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

from negkit.data import registry
from negkit.eval.graph import node_classification
from negkit.graph.embed import GraphEmbedSettings, run
from negkit.graph.struc2vec_layers import multilayer_graph


def accuracy(graph, method: str, seed: int, repeats: int, epochs: int, max_layer=None) -> dict:
    s = GraphEmbedSettings(method=method, dim=128, walk_length=80, num_walks=10, window=10,
                           epochs=epochs, max_layer=max_layer)  # fmt: skip
    t0 = time.perf_counter()
    res = run(graph, s, sampler="degree", seed=seed)
    secs = time.perf_counter() - t0
    accs = []
    for r in range(repeats):
        out = node_classification(res.vectors, graph.labels, (0.8,), repeats=1, seed=1000 + r)
        accs.append(out[0]["micro_f1_true_k"])
    return {"acc": float(np.mean(accs)), "std": float(np.std(accs)), "embed_s": secs}


def barabasi_albert(n: int, m: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    targets = list(range(m))
    ends: list[int] = []
    src, dst = [], []
    for v in range(m, n):
        chosen = set()
        while len(chosen) < m:
            chosen.add(int(ends[rng.integers(len(ends))]) if ends else int(targets[len(chosen)]))
        for u in chosen:
            src.append(v)
            dst.append(u)
            ends += [u, v]
    a = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    return a.maximum(a.T).tocsr()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--graphs", default="airports_brazil,airports_europe,airports_usa")
    ap.add_argument("--methods", default="struc2vec,deepwalk")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scaling", default="", help="BA graph sizes, e.g. 1000,2000,4000")
    ap.add_argument("--max-layer", type=int, default=None, help="OPT3's k* (struc2vec)")
    args = ap.parse_args()
    if args.scaling:
        multilayer_graph(barabasi_albert(200, 3, 0))  # compile first
        for n in (int(x) for x in args.scaling.split(",")):
            a = barabasi_albert(n, 3, args.seed)
            t0 = time.perf_counter()
            ml, f, (pu, _) = multilayer_graph(a, max_layer=args.max_layer)
            secs = time.perf_counter() - t0
            mb = round((ml.nbytes + f.nbytes) / 1e6, 2)
            row = {"n": n, "edges": a.nnz // 2, "pairs": int(pu.size), "layers": ml.n_layers,
                   "build_s": round(secs, 3), "mbytes": mb}  # fmt: skip
            print(json.dumps(row), flush=True)
        return
    for name in args.graphs.split(","):
        g = registry.load(name)
        for method in args.methods.split(","):
            k = args.max_layer if method == "struc2vec" else None
            r = accuracy(g, method, args.seed, args.repeats, args.epochs, k)
            print(json.dumps({"graph": name, "method": method, "max_layer": k, **r}), flush=True)


if __name__ == "__main__":
    main()
