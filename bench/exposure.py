"""Exposure-aware negatives against uniform and popularity on a simulated impression log.

No public log with impressions is in the shared data folder (MANIFEST.md), so the log is
simulated and its ground truth is known: true factors ``U*, V*`` (d=8, N(0, 1)), preference
``r(u, i) = sigmoid(u*.v* - 2)``; a popularity-biased recommender shows each user 80 items
drawn without replacement with probability ∝ (Zipf(1.0) popularity), each shown 1-5 times;
a shown item is clicked with probability r(u, i).  80% of each user's clicks train BPR-MF
(d=32, 40 epochs, 1 thread); metrics over the other 20% (recall@20, ndcg@20, training clicks
excluded) and ``true@20``: the mean true preference r(u, i) of the 20 recommended items
(the click rate if they were shown), which only a simulation can give.

    python bench/exposure.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

import negkit.samplers as ns
from negkit.eval.rec import evaluate_ranking
from negkit.rec.mf_bpr import BPRMF

N_USERS, N_ITEMS, D_TRUE, SHOWN = 2000, 1000, 8, 80


def simulate(seed: int):
    rng = np.random.default_rng(seed)
    u_true = rng.standard_normal((N_USERS, D_TRUE))
    v_true = rng.standard_normal((N_ITEMS, D_TRUE))
    pref = 1 / (1 + np.exp(-(u_true @ v_true.T - 2.0)))
    pop = 1.0 / np.arange(1, N_ITEMS + 1)
    pop = pop[rng.permutation(N_ITEMS)]
    pop /= pop.sum()
    rows, cols, times, clicks = [], [], [], []
    for u in range(N_USERS):
        items = rng.choice(N_ITEMS, SHOWN, replace=False, p=pop)
        rows += [u] * SHOWN
        cols += items.tolist()
        times += rng.integers(1, 6, SHOWN).tolist()
        clicks += (rng.random(SHOWN) < pref[u, items]).tolist()
    rows, cols, clicks = np.array(rows), np.array(cols), np.array(clicks)
    exposures = sp.csr_matrix((np.array(times, float), (rows, cols)), shape=(N_USERS, N_ITEMS))
    # split the clicks 80/20 per click at random
    test_mask = rng.random(clicks.size) < 0.2
    tr = clicks & ~test_mask
    te = clicks & test_mask
    train = sp.csr_matrix((np.ones(tr.sum()), (rows[tr], cols[tr])), shape=(N_USERS, N_ITEMS))
    test = sp.csr_matrix((np.ones(te.sum()), (rows[te], cols[te])), shape=(N_USERS, N_ITEMS))
    return exposures, train, test, pref


def samplers(exposures: sp.csr_matrix) -> dict:
    col = np.asarray(exposures.sum(axis=0)).ravel()
    thr = float(np.quantile(col[col > 0], 0.8))  # the 20% most shown items form A_high
    return {
        "uniform": ns.get("uniform"),
        "popularity (unigram 0.75)": ns.get("unigram"),
        "exposure rate=0.5": ns.get("exposure", rate=0.5),
        "exposure rate=1.0": ns.get("exposure", rate=1.0),
        "exposure_subsample t=1e-3": ns.get("exposure_subsample", t=1e-3),
        f"exposure_groups thr=q80 ({thr:.0f}) p_low=0.5": ns.get(
            "exposure_groups", threshold=thr, p_low=0.5
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        exposures, train, test, pref = simulate(seed)
        counts = np.asarray(train.sum(axis=0)).ravel()
        for name, s in samplers(exposures).items():
            s.set_params(seed=seed)
            extra = {"exposures": exposures} if "exposure" in name else {}
            s.fit(n_items=N_ITEMS, counts=counts + 1, positives=train, **extra)
            m = BPRMF(dim=32, epochs=args.epochs, threads=1, seed=seed)
            t0 = time.perf_counter()
            m.fit(train, s)
            secs = time.perf_counter() - t0
            ue, ie = m.user_embeddings(), m.item_embeddings()
            r = evaluate_ranking(ue, ie, test, exclude=[train], ks=(20,))
            scores = ue @ ie.T
            scores[train.nonzero()] = -np.inf
            top = np.argpartition(-scores, 20, axis=1)[:, :20]
            true20 = float(np.take_along_axis(pref, top, axis=1).mean())
            row = {"seed": seed, "sampler": name, "recall@20": round(r["recall@20"], 4),
                   "ndcg@20": round(r["ndcg@20"], 4), "true@20": round(true20, 4),
                   "train_s": round(secs, 1)}  # fmt: skip
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
