"""What the adaptive sampler's draw costs, part by part, in ``bench/samplers.py``'s loop.

The sampler benchmark asks the adaptive draw to be at most 2x unigram's.  This script times,
in the same compiled loop (``samplers.draw_loop``: read the anchor's vector, then draw its
k = 5 negatives through a pair kernel) and on the same tables, pair kernels that keep only
part of the adaptive draw, each against unigram, timed alternately with it:

* ``rank``: the rank by its alias table and a uniform dimension, no item looked up -- an
  alias draw, like unigram's;
* ``rank+item``: the same, then the item at that rank in the dimension's order (the side by
  the sign of ``v_f``) -- every rank-and-order sampler pays this, whatever picks f;
* ``+envelope``: the same, after the O(d) pass over the anchor's vector that any exact
  choice of f by ``|v_f| σ_f`` needs (the dimension is made to depend on it, as it would);
* ``adaptive``: the sampler itself (exact dimensions, eight rejection trials at a time).

So ``+envelope`` is about the best an exact dimension choice that reads ``v`` once can reach
here: only the trials that pick f are missing from it (over these Gaussian tables the
dimensions the sampler draws are spread about as evenly as uniform ones, so the items looked
up are as scattered).  Two anchor laws:
uniform over the rows (as in ``bench/samplers.py``: each anchor's vector a cache miss) and
uniform over 1000 rows (vectors in cache).

Usage: python bench/adaptive_floor.py [--items 100000] [--dim 100] [--pairs 400000]
       [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from numba import njit
from samplers import K, draw_loop, tables

import negkit.samplers as ns
from negkit._rng import CTX_DRAWS, make_contexts, next_pair, rand_int
from negkit.samplers.adaptive import AdaptiveSampler, _envelope, _rank


@njit(nogil=True, inline="always")
def _item(state, b, f, r, vec):
    w = state[0].shape[2]
    return np.int64(state[0][b, f, r if vec[f] > 0 else w - 1 - r])


@njit(nogil=True, _nrt=False)
def rank_only(state, anchor, pos, vec, ctx, out):
    next_pair(ctx)
    ctx[CTX_DRAWS] += out.shape[0]
    w = state[0].shape[2]
    for j in range(out.shape[0]):
        r = _rank(state[3], ctx)
        out[j] = rand_int(ctx, vec.shape[0]) * w + r


@njit(nogil=True, _nrt=False)
def rank_item(state, anchor, pos, vec, ctx, out):
    next_pair(ctx)
    ctx[CTX_DRAWS] += out.shape[0]
    b = state[2][0] & 1
    for j in range(out.shape[0]):
        r = _rank(state[3], ctx)
        out[j] = _item(state, b, rand_int(ctx, vec.shape[0]), r, vec)


@njit(nogil=True, _nrt=False)
def rank_item_envelope(state, anchor, pos, vec, ctx, out):
    next_pair(ctx)
    ctx[CTX_DRAWS] += out.shape[0]
    b = state[2][0] & 1
    m = _envelope(vec, state[6], b)
    d = vec.shape[0] - np.int64(m > 1e30)  # never true: f waits for the envelope
    for j in range(out.shape[0]):
        r = _rank(state[3], ctx)
        out[j] = _item(state, b, rand_int(ctx, d), r, vec)


def _part(kernel):
    """An adaptive sampler whose pair kernel is ``kernel`` (same state, same tables)."""
    return type(kernel.__name__, (AdaptiveSampler,), {"_pair_kernel": lambda self: kernel})


PARTS = {"rank": rank_only, "rank+item": rank_item, "+envelope": rank_item_envelope}


def timed(s, inp, out, anchors, ctx) -> float:
    draw, state = s.pair_kernel()
    t = time.perf_counter()
    draw_loop(draw, state, inp, out, anchors, anchors, K, ctx)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--pairs", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    n, d = args.items, args.dim
    rng, out, inp, counts = tables(n, d)
    fit = {"counts": counts, "output": out, "input": inp}
    unigram = ns.get("unigram", seed=0).fit(counts=counts)
    kernels = {name: _part(k)(seed=0).fit(**fit) for name, k in PARTS.items()}
    kernels["adaptive"] = ns.get("adaptive", seed=0).fit(**fit)
    ctx = make_contexts(1, 1)[0]
    print(f"# vocabulary {n}, d={d}, k={K}, {args.pairs} pairs, best of {args.repeat};"
          " ns a draw, and unigram's draw rate over this one's (timed alternately)")  # fmt: skip
    laws = {"uniform": rng.integers(0, n, args.pairs),
            "hot1000": rng.integers(0, min(n, 1000), args.pairs)}  # fmt: skip
    for law, anchors in laws.items():
        for s in (unigram, *kernels.values()):
            timed(s, inp, out, anchors[:10], ctx)  # compile
        cells = []
        for name, s in kernels.items():
            best = best_ref = math.inf
            for _ in range(args.repeat):
                best_ref = min(best_ref, timed(unigram, inp, out, anchors, ctx))
                best = min(best, timed(s, inp, out, anchors, ctx))
            per = 1e9 / (args.pairs * K)
            cells.append(f"{name} {best * per:.1f} ns x{best_ref / best:.2f}")
            if name == "rank":
                cells.insert(0, f"unigram {best_ref * per:.1f} ns")
        print(f"{law:8s} " + "  ".join(cells), flush=True)


if __name__ == "__main__":
    main()
