"""BPR-MF side by side on Gowalla: negkit vs implicit vs cornac.

All three train 64 factors with 2 threads for the same number of epochs, one
after the other in this process (``--rounds R`` interleaves R repeats and keeps
each library's fastest, to damp the noise of a shared machine), and every model
is scored by negkit's full-ranking evaluator (training items excluded).  Prints
seconds per epoch, the ratio to negkit (peer / negkit: above 1 means negkit is
faster) and Recall@20 / NDCG@20.

    python bench/rec.py --epochs 100            # NEGKIT_DATA must hold recsys/gowalla

Settings: negkit and cornac use lr 0.05, lambda 0.0025 (cornac's best reported
here); implicit uses its own defaults (lr 0.01, reg 0.01) unless --implicit-lr /
--implicit-reg are given.  cornac runs with seed=None because a seed forces it to
one thread.  Timings on a shared machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from negkit.data import registry
from negkit.eval.rec import evaluate_ranking


def _metrics(U, V, data) -> dict:
    r = evaluate_ranking(U, V, data.test, exclude=[data.train], ks=[20])
    return {"recall@20": r["recall@20"], "ndcg@20": r["ndcg@20"]}


def run_negkit(data, args) -> dict:
    import negkit.samplers as ns
    from negkit.rec.mf_bpr import BPRMF

    sampler = ns.get("rns", exclude_positives=True, seed=0)
    sampler.fit(n_items=data.n_items, positives=data.train)
    warm = BPRMF(dim=args.factors, epochs=1, threads=args.threads, seed=0)
    warm.fit(data.train[:100], sampler)  # compile outside the timing
    mf = BPRMF(dim=args.factors, lr=args.lr, reg=args.reg, epochs=args.epochs,
               threads=args.threads, seed=args.seed)  # fmt: skip
    t0 = time.perf_counter()
    mf.fit(data.train, sampler)
    total = time.perf_counter() - t0
    return {"seconds": total, **_metrics(mf.user_embeddings(), mf.item_embeddings(), data)}


def run_implicit(data, args) -> dict:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(
        factors=args.factors, learning_rate=args.implicit_lr, regularization=args.implicit_reg,
        iterations=args.epochs, num_threads=args.threads, random_state=args.seed,
    )  # fmt: skip
    train = data.train.tocsr().astype(np.float32)
    t0 = time.perf_counter()
    model.fit(train, show_progress=False)
    total = time.perf_counter() - t0
    U = np.asarray(model.user_factors, dtype=np.float32)
    V = np.asarray(model.item_factors, dtype=np.float32)
    return {"seconds": total, **_metrics(U, V, data)}


def run_cornac(data, args) -> dict:
    import cornac

    coo = data.train.tocoo()
    triples = list(zip(coo.row.tolist(), coo.col.tolist(), [1.0] * coo.nnz))
    train_set = cornac.data.Dataset.from_uir(triples, seed=args.seed)
    model = cornac.models.BPR(k=args.factors, max_iter=args.epochs, learning_rate=args.lr,
                              lambda_reg=args.reg, num_threads=args.threads, seed=None)  # fmt: skip
    t0 = time.perf_counter()
    model.fit(train_set)
    total = time.perf_counter() - t0
    # cornac re-indexes users and items by first appearance: map back to the data's ids
    U = np.zeros((data.n_users, args.factors + 1), dtype=np.float32)
    V = np.zeros((data.n_items, args.factors + 1), dtype=np.float32)
    uids = np.array(list(train_set.uid_map.keys()), dtype=np.int64)
    uidx = np.array(list(train_set.uid_map.values()), dtype=np.int64)
    iids = np.array(list(train_set.iid_map.keys()), dtype=np.int64)
    iidx = np.array(list(train_set.iid_map.values()), dtype=np.int64)
    U[uids, : args.factors] = model.u_factors[uidx]
    U[:, args.factors] = 1.0
    V[iids, : args.factors] = model.i_factors[iidx]
    V[iids, args.factors] = model.i_biases[iidx]
    V[np.setdiff1d(np.arange(data.n_items), iids), args.factors] = -1e9  # no factors: rank last
    return {"seconds": total, **_metrics(U, V, data)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="gowalla")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--reg", type=float, default=0.0025)
    p.add_argument("--implicit-lr", type=float, default=0.01)
    p.add_argument("--implicit-reg", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", default=["negkit", "implicit", "cornac"])
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the three runs, interleaved, and keep each one's fastest",
    )
    p.add_argument("--json", help="also write the table as JSON here")
    args = p.parse_args()
    data = registry.load(args.data)
    runners = {"negkit": run_negkit, "implicit": run_implicit, "cornac": run_cornac}
    rows: dict[str, dict] = {}
    for rnd in range(args.rounds):  # interleaved rounds; the fastest round of each counts
        for name in args.only:
            r = runners[name](data, args)
            r["s_per_epoch"] = r["seconds"] / args.epochs
            print(f"round {rnd + 1}", name, json.dumps(r), flush=True)
            if name not in rows or r["s_per_epoch"] < rows[name]["s_per_epoch"]:
                rows[name] = r
    base = rows.get("negkit", {}).get("s_per_epoch")
    print(f"\n{args.data}: {args.factors} factors, {args.threads} threads, {args.epochs} epochs")
    print(f"{'library':<10} {'s/epoch':>8} {'ratio':>7} {'Recall@20':>10} {'NDCG@20':>8}")
    for name, r in rows.items():
        ratio = r["s_per_epoch"] / base if base else float("nan")
        r["ratio_to_negkit"] = ratio
        print(f"{name:<10} {r['s_per_epoch']:8.3f} {ratio:7.2f} {r['recall@20']:10.4f} "
              f"{r['ndcg@20']:8.4f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
