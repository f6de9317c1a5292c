"""Walker's alias method: O(1) draws from a fixed discrete distribution.

Walker (1977), "An efficient method for generating discrete random variables
with general distributions"; table built by Vose's (1991) stable variant in O(n).
"""

from __future__ import annotations

import numpy as np

from negkit._jit import kernel
from negkit._rng import next_u64


@kernel
def build_alias(p):
    """Return ``(prob, alias)`` for the probabilities ``p`` (normalised here)."""
    n = p.shape[0]
    total = p.sum()
    prob = np.empty(n, dtype=np.float64)
    alias = np.zeros(n, dtype=np.int64)
    scaled = p * (n / total)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for t in range(nl):
        prob[large[t]] = 1.0
        alias[large[t]] = large[t]
    for t in range(ns):  # only rounding leftovers
        prob[small[t]] = 1.0
        alias[small[t]] = small[t]
    return prob, alias


@kernel(inline="always")
def alias_draw(prob, alias, ctx):
    """One draw: a column from the high bits, the coin from the low 32 bits."""
    r = next_u64(ctx)
    n = prob.shape[0]
    i = np.int64(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))
    u = (r & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0)
    if u < prob[i]:
        return i
    return alias[i]
