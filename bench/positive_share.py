"""How often a positive-taking sampler hands back the pair's own positive, drawn as trainers draw.

Issue #20: before negkit compiled every kernel with explicit flags, a draw kernel first reached
from a ``fastmath=True`` trainer lost its test for the positive's ``-inf`` score.  This script
draws as the trainers do (a ``fastmath=True`` compiled loop over the sampler's pair kernel),
with a trained-looking table where the positive is the anchor's best-scored item, and prints
the share of draws equal to the positive, beside the share that the sampler's law gives
(``|I|^-M`` for the candidate samplers: only when every candidate is the positive).

    python bench/positive_share.py [--items 1000] [--dim 32] [--draws 200000]
    PYTHONPATH=<old checkout>/src python bench/positive_share.py    # the code before the fix

Settings follow ``docs/study.md`` (32 candidates; rank with λ = 3.2) plus a small-M row for
each, where a wrong draw shows most.
"""

from __future__ import annotations

import argparse

import numpy as np
from numba import njit

import negkit.samplers as ns
from negkit._rng import make_contexts

SPECS = [
    ("dns", {"n_candidates": 32}),
    ("rank", {"n_candidates": 32, "lam": 3.2}),
    ("softmax", {"n_candidates": 32, "tau": 1.0}),
    ("dns", {"n_candidates": 2}),
    ("rank", {"n_candidates": 2, "lam": 1.0}),
    ("softmax", {"n_candidates": 2, "tau": 1.0}),
]


@njit(nogil=True, fastmath=True)
def trainer_loop(draw_pair, state, anchors, pos, vecs, ctx, out):
    for r in range(out.shape[0]):
        draw_pair(state, anchors[r], pos[r], vecs[r], ctx, out[r])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--draws", type=int, default=200_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out_table = rng.standard_normal((args.items, args.dim)).astype(np.float32)
    n_anchors, k = 1000, args.draws // 1000
    vecs = rng.standard_normal((n_anchors, args.dim)).astype(np.float32)
    pos = np.argmax(vecs @ out_table.T, axis=1).astype(np.int64)  # the best item: a positive
    anchors = np.arange(n_anchors, dtype=np.int64)
    for name, params in SPECS:
        s = ns.get(name, seed=0, **params).fit(output=out_table)
        draw_pair, state = s.pair_kernel()
        got = np.empty((n_anchors, k), dtype=np.int64)
        trainer_loop(draw_pair, state, anchors, pos, vecs, make_contexts(1, 1)[0], got)
        share = float(np.mean(got == pos[:, None]))
        law = args.items ** -params["n_candidates"]
        label = name + "".join(f" {key}={v}" for key, v in params.items())
        print(f"{label:40s} positive drawn {share:.5f}   law {law:.2g}")


if __name__ == "__main__":
    main()
