"""Experiment 2 of docs/contrastive.md: a two-tower retriever on Gowalla with mined negatives.

Three ways of training the same two-tower model (a user tower and an item tower: embedding
tables of ``--dim`` floats, L2-normalised, scores ``cos/τ``), for the same epochs:

1. ``inbatch``: in-batch softmax with logQ correction and accidental hits masked
   (:class:`negkit.samplers.InBatchSampler`);
2. ``mined``: the same, plus ``--k`` hard negatives per pair drawn from the user's negatives
   mined by model 1 (an earlier model) in the rank band ``[--range-min, --range-max)``
   (:func:`negkit.contrastive.mine_hard_negatives`, the user's training items excluded);
3. ``mined+margin``: the same band, mined with ``absolute_margin=--margin`` against the
   score of one of the user's training items (drawn at random, seeded).

Reports Recall@20 and NDCG@20 (full ranking, training items excluded) and, for both mined
tables, the false-negative rate: the share of mined negatives that are held-out test
positives of their user.

    python bench/retrieval_hard.py --epochs 8 --seed 0 --out docs/contrastive/retrieval.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from negkit.contrastive import mine_hard_negatives
from negkit.data import registry
from negkit.eval.rec import evaluate_ranking
from negkit.samplers import InBatchSampler


def train(data, a, hard: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    nu, ni = data.n_users, data.n_items
    U = torch.nn.Embedding(nu, a.dim)
    V = torch.nn.Embedding(ni, a.dim)
    for e in (U, V):
        torch.nn.init.normal_(e.weight, std=0.1)
    opt = torch.optim.Adam([*U.parameters(), *V.parameters()], lr=a.lr)
    coo = data.train.tocoo()
    users, items = coo.row.astype(np.int64), coo.col.astype(np.int64)
    sampler = InBatchSampler(ni, positives=data.train)
    log = []
    for epoch in range(a.epochs):
        t0, tot = time.perf_counter(), 0.0
        order = rng.permutation(users.size)
        for lo in range(0, order.size, a.batch):
            idx = order[lo : lo + a.batch]
            u, i = users[idx], items[idx]
            neg = sampler.sample_batch(u, i)
            uu = F.normalize(U(torch.from_numpy(u)), dim=1)
            vv = F.normalize(V(torch.from_numpy(i)), dim=1)
            logits = uu @ vv.T / a.tau - torch.from_numpy(neg.log_q).float()
            logits = logits.masked_fill(torch.from_numpy(neg.hits), float("-inf"))
            if hard is not None:
                pool = hard[u]  # (B, m) mined for the user, -1 padded
                j = rng.integers(0, pool.shape[1], size=(u.size, a.k))
                h = np.take_along_axis(pool, j, 1)
                ok = torch.from_numpy(h >= 0)
                hv = F.normalize(V(torch.from_numpy(np.maximum(h, 0))), dim=2)
                hl = torch.einsum("bd,bkd->bk", uu, hv) / a.tau
                logits = torch.cat([logits, hl.masked_fill(~ok, float("-inf"))], dim=1)
            loss = F.cross_entropy(logits, torch.arange(u.size))
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * u.size
        log.append({"epoch": epoch + 1, "loss": tot / users.size,
                    "seconds": time.perf_counter() - t0})  # fmt: skip
        print(f"  epoch {epoch + 1}: loss {log[-1]['loss']:.4f} ({log[-1]['seconds']:.0f} s)",
              flush=True)  # fmt: skip
    with torch.no_grad():
        return (F.normalize(U.weight, dim=1).numpy(), F.normalize(V.weight, dim=1).numpy(), log)


def metrics(data, Ue, Ve) -> dict:
    r = evaluate_ranking(Ue, Ve, data.test, exclude=[data.train], ks=[20])
    return {"recall@20": r["recall@20"], "ndcg@20": r["ndcg@20"]}


def mine(data, Ue, Ve, a, margin: float | None):
    rng = np.random.default_rng(a.seed)
    tr = data.train
    users = np.flatnonzero(np.diff(tr.indptr) > 0)
    pos = np.array([tr.indices[rng.integers(tr.indptr[u], tr.indptr[u + 1])] for u in users])
    t0 = time.perf_counter()
    m = mine_hard_negatives(
        Ue[users], Ve, pos, exclude=tr[users], range_min=a.range_min, range_max=a.range_max,
        num_negatives=a.per_user, sampling="random", absolute_margin=margin, seed=a.seed,
    )  # fmt: skip
    secs = time.perf_counter() - t0
    q_user = users[m.query]
    fn = np.asarray(data.test[q_user, m.negative]).ravel() != 0
    table = np.full((data.n_users, a.per_user), -1, dtype=np.int64)
    table[users] = m.matrix(n_queries=users.size, k=a.per_user)
    return table, {"triples": len(m), "false_negative_rate": float(fn.mean()) if fn.size else 0.0,
                   "false_negatives": int(fn.sum()), "mining_seconds": secs,
                   "stats": {k: v for k, v in m.stats.items()}}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--k", type=int, default=4, help="hard negatives per pair")
    p.add_argument("--per-user", type=int, default=20, help="negatives mined per user")
    p.add_argument("--range-min", type=int, default=20)
    p.add_argument("--range-max", type=int, default=200)
    p.add_argument("--margin", type=float, default=0.1, help="absolute margin (cosine)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--users", type=int, default=None, help="first N users only (smoke test)")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data = registry.load("gowalla")
    if a.users:
        import dataclasses

        data = dataclasses.replace(data, train=data.train[: a.users], test=data.test[: a.users])
    res: dict = {"settings": vars(a), "runs": {}}
    t0 = time.perf_counter()
    print("inbatch", flush=True)
    Ue, Ve, log = train(data, a, None, a.seed)
    res["runs"]["inbatch"] = {**metrics(data, Ue, Ve), "log": log}
    print(res["runs"]["inbatch"]["recall@20"], flush=True)
    hard, st = mine(data, Ue, Ve, a, None)
    hard_m, st_m = mine(data, Ue, Ve, a, a.margin)
    res["mining"] = {"band": st, "band+margin": st_m}
    print(json.dumps(res["mining"]), flush=True)
    for name, h in (("mined", hard), ("mined+margin", hard_m)):
        print(name, flush=True)
        Ue2, Ve2, log = train(data, a, h, a.seed)
        res["runs"][name] = {**metrics(data, Ue2, Ve2), "log": log}
        print(res["runs"][name]["recall@20"], flush=True)
    res["seconds"] = time.perf_counter() - t0
    print(json.dumps({k: {m: v for m, v in r.items() if m != "log"}
                      for k, r in res["runs"].items()}, indent=1))  # fmt: skip
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
