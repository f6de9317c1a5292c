"""IRGAN vs DNS vs RNS on MovieLens-100k, on the protocol issue #18 gives for the IRGAN paper.

Not the paper's protocol as checked: the paper's text could not be read, and the authors'
code differs in split, catalogue, width, start, optimisers and budget (docs/benchmarks.md,
"The paper's table").

Data: ml-100k, ratings >= ``--threshold`` (4) as positives, a seeded per-user random 80/20
train/test split (``negkit.data.registry.load("ml-100k", split="ratio")``); metrics
Precision@3/5/10 and NDCG@3/5/10 by full ranking with the training items removed
(:func:`negkit.eval.rec.evaluate_ranking`), averaged over the users with test items.

Methods, all MF of width ``--dim`` (plus the folded item bias), the same seed:

* ``bpr-pretrain``: BPR-MF with uniform negatives for ``--pretrain-epochs`` epochs: IRGAN's
  starting point (both players);
* ``irgan-G`` / ``irgan-D``: the generator and the discriminator after ``--rounds`` rounds of
  ``--d-epochs`` discriminator epochs and ``--g-epochs`` generator epochs
  (:class:`negkit.rec.irgan.IRGAN`, torch on CPU);
* ``rns`` / ``dns``: BPR-MF (numba engine) with uniform / DNS (best of ``--dns-m``)
  negatives for ``pretrain_epochs + rounds * d_epochs`` epochs: the same number of passes
  over the training pairs as IRGAN's discriminator has seen;
* ``bpr-pretrain, then dns``: IRGAN's start, then ``rounds * d_epochs`` epochs of DNS (the
  same start and budget as IRGAN's discriminator, another hard-negative sampler).

    python bench/irgan.py                       # NEGKIT_DATA must hold recsys/ml-100k
    python bench/irgan.py --reward log1pexp --rounds 5

Prints one JSON line per method, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from negkit.data import registry
from negkit.eval.rec import evaluate_ranking

KS = (3, 5, 10)


def metrics(U, V, data) -> dict:
    r = evaluate_ranking(U, V, data.test, exclude=[data.train], ks=KS)
    out = {f"P@{k}": r[f"precision@{k}"] for k in KS}
    out.update({f"NDCG@{k}": r[f"ndcg@{k}"] for k in KS})
    return out


def run_bpr(data, args, sampler_name: str, epochs: int, pretrain: int = 0) -> dict:
    """BPR-MF with ``sampler_name`` negatives for ``epochs`` epochs, after ``pretrain`` epochs
    of uniform negatives (IRGAN's start) when asked."""
    import negkit.samplers as ns
    from negkit.rec.mf_bpr import BPRMF

    mf = BPRMF(dim=args.dim, lr=args.pretrain_lr, reg=args.pretrain_reg, epochs=pretrain,
               threads=1, seed=args.seed)  # fmt: skip
    mf.init(data.n_users, data.n_items)
    tables = {"output": mf.item_table_, "input": mf.user_table_}  # the score, with the bias
    t0 = time.perf_counter()
    if pretrain:
        rns = ns.get("uniform", exclude_positives=True, seed=args.seed)
        mf.fit(data.train, rns.fit(n_items=data.n_items, positives=data.train))
    params = {"n_candidates": args.dns_m} if sampler_name == "dns" else {}
    s = ns.get(sampler_name, exclude_positives=True, seed=args.seed, **params)
    s.fit(n_items=data.n_items, positives=data.train, **tables)
    mf.epochs = epochs
    mf.fit(data.train, s)  # continues from the tables above
    return {"seconds": time.perf_counter() - t0, "epochs": pretrain + epochs,
            **metrics(mf.user_embeddings(), mf.item_embeddings(), data)}  # fmt: skip


def run_irgan(data, args) -> list[dict]:
    from negkit.rec.irgan import IRGAN, generator_log_likelihood

    m = IRGAN(dim=args.dim, tau=args.tau, pretrain_epochs=args.pretrain_epochs,
              pretrain_lr=args.pretrain_lr, pretrain_reg=args.pretrain_reg, rounds=args.rounds,
              d_epochs=args.d_epochs, g_epochs=args.g_epochs, g_samples=args.g_samples,
              sample_lambda=args.sample_lambda, reward=args.reward, d_lr=args.d_lr,
              g_lr=args.g_lr, reg=args.reg, exclude_positives=args.exclude_positives,
              seed=args.seed)  # fmt: skip
    rows: list[dict] = []
    t0 = time.perf_counter()

    def on_round(r: int, g: IRGAN) -> None:
        gu, gi = g.generator_tables()
        du, di = g.discriminator_tables()
        ll = generator_log_likelihood(gu, gi, data.test, g.tau)
        if r == 0:
            rows.append({"method": "bpr-pretrain", "epochs": args.pretrain_epochs,
                         **metrics(gu, gi, data)})  # fmt: skip
        if r == args.rounds or args.verbose:
            secs = time.perf_counter() - t0
            for who, (u, v) in (("irgan-G", (gu, gi)), ("irgan-D", (du, di))):
                row = {"method": who, "round": r, "seconds": secs, **metrics(u, v, data)}
                if who == "irgan-G":
                    row["test_loglik_G"] = ll
                if r == args.rounds:
                    rows.append(row)
                if args.verbose:
                    print(json.dumps(row), flush=True)

    m.fit(data.train, on_round=on_round)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--threshold", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pretrain-epochs", type=int, default=50)
    p.add_argument("--pretrain-lr", type=float, default=0.05)
    p.add_argument("--pretrain-reg", type=float, default=0.0025)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--d-epochs", type=int, default=1)
    p.add_argument("--g-epochs", type=int, default=1)
    p.add_argument("--g-samples", type=int, default=32)
    p.add_argument("--sample-lambda", type=float, default=0.2)
    p.add_argument("--reward", default="sigmoid", choices=("sigmoid", "log1pexp"))
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--d-lr", type=float, default=1e-3)
    p.add_argument("--g-lr", type=float, default=1e-3)
    p.add_argument("--reg", type=float, default=1e-4)
    p.add_argument("--exclude-positives", action="store_true",
                   help="the discriminator's negatives avoid the training positives")  # fmt: skip
    p.add_argument("--dns-m", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--verbose", action="store_true", help="metrics after every round")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    data = registry.load("ml-100k", split="ratio", ratios=(0.8, 0.2), seed=args.seed,
                         rating_threshold=args.threshold)  # fmt: skip
    print(json.dumps({"data": "ml-100k", "users": data.n_users, "items": data.n_items,
                      "train": int(data.train.nnz), "test": int(data.test.nnz),
                      "settings": vars(args)}), flush=True)  # fmt: skip
    rows = run_irgan(data, args)
    budget = args.pretrain_epochs + args.rounds * args.d_epochs
    rows.append({"method": "rns", **run_bpr(data, args, "uniform", budget)})
    rows.append({"method": f"dns (M={args.dns_m})", **run_bpr(data, args, "dns", budget)})
    more = args.rounds * args.d_epochs
    rows.append({"method": f"bpr-pretrain, then dns (M={args.dns_m})",
                 **run_bpr(data, args, "dns", more, pretrain=args.pretrain_epochs)})  # fmt: skip
    for row in rows:
        print(json.dumps(row), flush=True)
    cols = [f"P@{k}" for k in KS] + [f"NDCG@{k}" for k in KS]
    print("\n| method | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for row in rows:
        print(f"| {row['method']} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
