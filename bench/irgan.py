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
    python bench/irgan.py --protocol code       # the authors' code's settings (below)
    python bench/irgan.py --protocol code --rounds 0   # its DNS pre-training alone

``--protocol code`` sets every option below to the value of the authors' item-recommendation
code (geek-ai/irgan ``cf_gan.py``, ``dis_model.py``, ``gen_model.py``, ``cf_dns.py``; flags
given explicitly win): ``--data catalogue`` (every rating of ``u.data`` split 80/20 per user,
then ratings >= 4 kept in each part, all 1,682 items ranked), width 5, the generator
pre-trained by DNS (BPR-MF, best of 5 non-positive candidates, constant SGD lr 0.05, L2 0.1,
U(-0.05, 0.05) start, 80 epochs, the epoch with the best *test* P@5 kept: ``cf_dns.py``), the
discriminator from U(-0.05, 0.05), τ_d = 0.2 for its negatives (redrawn every 5 epochs), τ = 1
for the generator, plain SGD lr 1e-3 for both, batch 16 pairs with the code's summed loss
and L2 0.1/16, one user per generator step with 2·|P_u| draws, 15 rounds of 100
discriminator and 50 generator epochs, no RNS/DNS baselines.  Every round's metrics are
printed, and the table gives the last round and the round with the best test P@5 ("selected
on the test set", as the code keeps its best generator).

Prints one JSON line per method, then a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
import torch

from negkit.data import registry
from negkit.eval.rec import evaluate_ranking

KS = (3, 5, 10)

# the authors' code's values (module docstring); ``--protocol code`` makes them the defaults
CODE = dict(data="catalogue", dim=5, tau=1.0, d_tau=0.2, pretrain_negatives="dns",
            pretrain_epochs=80, pretrain_lr=0.05, pretrain_reg=0.1, pretrain_lr_final=1.0,
            pretrain_init_delta=0.05, pretrain_select="test", d_init="uniform", init_delta=0.05,
            optimizer="sgd", d_lr=1e-3, g_lr=1e-3, d_loss="code", reg=0.1 / 16, batch_size=16,
            g_batch_users=1, g_samples_per_positive=2, sample_lambda=0.2, d_resample_every=5,
            rounds=15, d_epochs=100, g_epochs=50, baselines=False)  # fmt: skip


def load_catalogue(seed: int, split: str = "ratio", positives: str = "ge4") -> SimpleNamespace:
    """``u.data`` without a threshold, every rating split (``split="ratio"``: 80/20 per user,
    seeded; ``"u1"`` ... ``"ub"``: GroupLens' own base/test files), then the ratings >= 4 kept
    in each part (``cf_gan.py`` thresholds each file after the split; ``positives="all"``: every
    rating kept, as another stored version of the code reads its files)."""
    from negkit.data.interactions import pairs_to_csr, read_movielens
    from negkit.data.loaders import ratings_file

    r = read_movielens(ratings_file(registry.get("ml-100k"), registry.locate("ml-100k")))
    shape = (r.n_users, r.n_items)
    if split == "ratio":
        parts = registry.load("ml-100k", split="ratio", ratios=(0.8, 0.2), seed=seed)
    else:
        parts = registry.load("ml-100k", split=split)
    assert parts.train.shape == shape
    liked = r.ratings >= 4 if positives == "ge4" else np.ones(len(r.ratings), dtype=bool)
    pos = pairs_to_csr(r.users[liked], r.items[liked], shape)

    def keep(m):
        m = sp.csr_matrix(m.multiply(pos), dtype=np.float32)
        m.eliminate_zeros()
        return m

    return SimpleNamespace(train=keep(parts.train), test=keep(parts.test), n_users=shape[0],
                           n_items=shape[1])  # fmt: skip


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


def pretrain_selected(data, args) -> tuple[tuple, list[dict]]:
    """The code's pre-training (``cf_dns.py``): BPR-MF with ``--pretrain-negatives``, the
    tables of the last epoch or of the epoch with the best test P@5 (``--pretrain-select``)."""
    import negkit.samplers as ns
    from negkit.rec.mf_bpr import BPRMF

    mf = BPRMF(
        dim=args.dim,
        lr=args.pretrain_lr,
        reg=args.pretrain_reg,
        epochs=args.pretrain_epochs,
        threads=1,
        seed=args.seed,
        lr_final=args.pretrain_lr_final,
        init_scale=2 * args.pretrain_init_delta * args.dim,
    )  # U(-δ, δ) factors
    mf.init(data.n_users, data.n_items)
    name = args.pretrain_negatives
    if name == "dns":
        s = ns.get("dns", n_candidates=args.dns_m, exclude_positives=True, seed=args.seed)
        s.fit(n_items=data.n_items, positives=data.train, output=mf.item_table_,
              input=mf.user_table_)  # fmt: skip
    else:
        s = ns.get("uniform", exclude_positives=True, seed=args.seed)
        s.fit(n_items=data.n_items, positives=data.train)
    best: dict = {"P@5": -1.0}
    t0 = time.perf_counter()

    def on_epoch(epoch: int, stats: dict) -> None:
        U, V = mf.user_embeddings(), mf.item_embeddings()
        row = {"epoch": epoch, **metrics(U, V, data)}  # epoch: 1-based (BPRMF.fit)
        if args.verbose:
            print(json.dumps({"pretrain": name, **row}), flush=True)
        if row["P@5"] > best["P@5"]:
            best.update(row, tables=(U.copy(), V.copy()))

    mf.fit(data.train, s, on_epoch=on_epoch)
    U, V = mf.user_embeddings(), mf.item_embeddings()
    secs = time.perf_counter() - t0
    last = {"method": f"pre-training ({name}), last epoch", "epoch": args.pretrain_epochs,
            "seconds": secs, **metrics(U, V, data)}  # fmt: skip
    rows = [last]
    if args.pretrain_select == "test":
        tables = best.pop("tables")
        rows.append({"method": f"pre-training ({name}), best test P@5 epoch (selected on the "
                               "test set)", "seconds": secs, **best})  # fmt: skip
        return tables, rows
    return (U, V), rows


def run_irgan(data, args) -> list[dict]:
    from negkit.rec.irgan import IRGAN, generator_log_likelihood

    m = IRGAN(dim=args.dim, tau=args.tau, pretrain_epochs=args.pretrain_epochs,
              pretrain_lr=args.pretrain_lr, pretrain_reg=args.pretrain_reg, rounds=args.rounds,
              d_epochs=args.d_epochs, g_epochs=args.g_epochs, g_samples=args.g_samples,
              sample_lambda=args.sample_lambda, reward=args.reward, d_lr=args.d_lr,
              g_lr=args.g_lr, reg=args.reg, exclude_positives=args.exclude_positives,
              d_tau=args.d_tau, d_init=args.d_init, init_delta=args.init_delta,
              optimizer=args.optimizer, d_loss=args.d_loss, batch_size=args.batch_size,
              g_batch_users=args.g_batch_users, pretrain_dns_m=args.dns_m,
              pretrain_negatives=args.pretrain_negatives,
              g_samples_per_positive=args.g_samples_per_positive,
              d_resample_every=args.d_resample_every, seed=args.seed)  # fmt: skip
    rows: list[dict] = []
    init = None
    if args.pretrain_select is not None:  # the bench pre-trains (else IRGAN.pretrain does)
        init, rows = pretrain_selected(data, args)
    per_round: list[dict] = []
    t0 = time.perf_counter()

    def on_round(r: int, g: IRGAN) -> None:
        gu, gi = g.generator_tables()
        du, di = g.discriminator_tables()
        ll = generator_log_likelihood(gu, gi, data.test, g.tau)
        if r == 0 and init is None:
            rows.append({"method": "bpr-pretrain", "epochs": args.pretrain_epochs,
                         **metrics(gu, gi, data)})  # fmt: skip
        if r == args.rounds or args.verbose or args.protocol == "code":
            secs = time.perf_counter() - t0
            for who, (u, v) in (("irgan-G", (gu, gi)), ("irgan-D", (du, di))):
                row = {"method": who, "round": r, "seconds": secs, **metrics(u, v, data)}
                if who == "irgan-G":
                    row["test_loglik_G"] = ll
                per_round.append(row)
                if r == args.rounds:
                    rows.append(row)
                if args.verbose or args.protocol == "code":
                    print(json.dumps(row), flush=True)

    m.fit(data.train, init=init, on_round=on_round)
    if args.rounds > 0 and (args.verbose or args.protocol == "code"):
        for who in ("irgan-G", "irgan-D"):
            mine = [row for row in per_round if row["method"] == who and row["round"] > 0]
            best = max(mine, key=lambda row: row["P@5"])
            rows.append({**best, "method": f"{who}, best test P@5 round ({best['round']}; "
                                           "selected on the test set)"})  # fmt: skip
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--protocol",
        default="issue",
        choices=("issue", "code"),
        help="code: every default below set to the authors' code's value",
    )
    p.add_argument("--data", default="threshold", choices=("threshold", "catalogue"),
                   help="threshold: positives (>= --threshold) split; catalogue: every "
                        "rating split, ratings >= 4 kept in each part")  # fmt: skip
    p.add_argument("--split", default="ratio", choices=("ratio", "u1", "u2", "u3", "u4", "u5",
                   "ua", "ub"), help="with --data catalogue: per-user 80/20 (seeded) or "
                   "GroupLens' ml-100k base/test files")  # fmt: skip
    p.add_argument(
        "--positives",
        default="ge4",
        choices=("ge4", "all"),
        help="with --data catalogue: ratings >= 4 or every rating as positives",
    )
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
    p.add_argument("--d-tau", type=float, default=None, help="τ of D's negatives (default τ)")
    p.add_argument("--pretrain-negatives", default="uniform", choices=("uniform", "dns"))
    p.add_argument(
        "--pretrain-lr-final",
        type=float,
        default=0.05,
        help="BPR-MF's lr decays to lr * this (1: constant, as the code)",
    )
    p.add_argument(
        "--pretrain-init-delta",
        type=float,
        default=0.05,
        help="pre-training factors U(-δ, δ) (only when the bench pre-trains)",
    )
    p.add_argument(
        "--pretrain-select",
        default=None,
        choices=("last", "test"),
        help="the bench pre-trains (the --pretrain-* flags) and keeps the last epoch or the one "
        "with the best test P@5 (as the code); unset: IRGAN.pretrain",
    )
    p.add_argument("--d-init", default="copy", choices=("copy", "uniform"))
    p.add_argument("--init-delta", type=float, default=0.05)
    p.add_argument("--optimizer", default="adam", choices=("adam", "sgd"))
    p.add_argument("--d-loss", default="mean", choices=("mean", "code"))
    p.add_argument("--batch-size", type=int, default=512, help="D's batch (training pairs)")
    p.add_argument("--g-batch-users", type=int, default=64)
    p.add_argument(
        "--g-samples-per-positive",
        type=int,
        default=0,
        help="> 0: c·|P_u| generator draws per user instead of --g-samples",
    )
    p.add_argument(
        "--d-resample-every",
        type=int,
        default=0,
        help="> 0: D's negatives redrawn every K D epochs, not every batch",
    )
    p.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="RNS / DNS BPR-MF rows",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--verbose", action="store_true", help="metrics after every round")
    if p.parse_known_args()[0].protocol == "code":
        p.set_defaults(**CODE)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    if args.data == "catalogue":
        data = load_catalogue(args.seed, args.split, args.positives)
    else:
        data = registry.load("ml-100k", split="ratio", ratios=(0.8, 0.2), seed=args.seed,
                             rating_threshold=args.threshold)  # fmt: skip
    print(json.dumps({"data": "ml-100k", "users": data.n_users, "items": data.n_items,
                      "train": int(data.train.nnz), "test": int(data.test.nnz),
                      "settings": vars(args)}), flush=True)  # fmt: skip
    t_start = time.perf_counter()
    rows = run_irgan(data, args)
    if args.baselines:
        budget = args.pretrain_epochs + args.rounds * args.d_epochs
        rows.append({"method": "rns", **run_bpr(data, args, "uniform", budget)})
        rows.append({"method": f"dns (M={args.dns_m})", **run_bpr(data, args, "dns", budget)})
        more = args.rounds * args.d_epochs
        then = run_bpr(data, args, "dns", more, pretrain=args.pretrain_epochs)
        rows.append({"method": f"bpr-pretrain, then dns (M={args.dns_m})", **then})
    print(json.dumps({"wall_seconds": time.perf_counter() - t_start}), flush=True)
    for row in rows:
        print(json.dumps(row), flush=True)
    cols = [f"P@{k}" for k in KS] + [f"NDCG@{k}" for k in KS]
    print("\n| method | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for row in rows:
        print(f"| {row['method']} | " + " | ".join(f"{row[c]:.4f}" for c in cols) + " |")


if __name__ == "__main__":
    main()
