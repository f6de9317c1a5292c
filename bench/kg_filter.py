"""False negatives of KG corruption and the cost of filtering them, on WN18RR and FB15k-237.

For each data set and corruption sampler (uniform, Bernoulli, typed): the share of drawn
negatives that are true triples, without filtering (train; valid + test) and with exact
filtering of the training triples (valid + test: what training cannot know).  Then the two
filters: bytes, lookups per second, and the Bloom filter's measured false-positive rate
(negatives it drops wrongly) against its expected ``(1 - e^{-kn/m})^k``.

    NEGKIT_DATA=../shared/data python bench/kg_filter.py --negs 256 --threads 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from negkit.data import registry
from negkit.samplers import get_kg
from negkit.samplers.kg_filter import BloomTripleSet, ExactTripleSet


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="wn18rr,fb15k237")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--negs", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.data.split(","):
        kg = registry.load(name)
        E, R = kg.n_entities, kg.n_relations
        train = ExactTripleSet(kg.train, E, R)
        held = ExactTripleSet(np.concatenate([kg.valid, kg.test]), E, R)
        batch = torch.as_tensor(kg.train[np.random.default_rng(0).choice(len(kg.train),
                                                                         args.batch)])  # fmt: skip
        r = batch[:, 1:2]
        print(f"## {name}: {E} entities, {R} relations, {len(kg.train)} train triples")
        print("| sampler | filter | negatives that are train triples | valid/test triples |")
        print("|---|---|---:|---:|")
        for sname in ("kg_uniform", "bernoulli", "typed"):
            for filt in (None, "exact"):
                s = get_kg(sname, filter=filt, seed=0).fit(triples=kg.train, n_entities=E,
                                                           n_relations=R)  # fmt: skip
                h, t = s.sample(batch, args.negs)
                fn_train = float(train.contains(h, r, t).float().mean())
                fn_held = float(held.contains(h, r, t).float().mean())
                print(f"| {sname} | {filt or 'none'} | {fn_train:.5f} | {fn_held:.5f} |")
        q = torch.as_tensor(np.random.default_rng(1).integers(0, [E, R, E], (1_000_000, 3)))
        outside = ~train.contains(q[:, 0], q[:, 1], q[:, 2])
        print("\n| filter | bytes | lookups/s | false-positive rate (expected) |")
        print("|---|---:|---:|---:|")
        for f in (train, BloomTripleSet(kg.train, E, R, bits_per_key=10)):
            f.contains(q[:1000, 0], q[:1000, 1], q[:1000, 2])
            t0 = time.perf_counter()
            hit = f.contains(q[:, 0], q[:, 1], q[:, 2])
            rate = len(q) / (time.perf_counter() - t0)
            fp = float(hit[outside].float().mean())
            exp = f.expected_false_positive_rate() if f.kind == "bloom" else 0.0
            print(f"| {f.kind} | {f.nbytes():,} | {rate:,.0f} | {fp:.5f} ({exp:.5f}) |")
        print()


if __name__ == "__main__":
    main()
