"""Dynamic negative sampling (``dns``): the best-scored of M uniform candidates.

Zhang, Chen, Wang & Yu (SIGIR 2013), "Optimizing Top-N Collaborative Filtering via Dynamic
Negative Item Sampling".  Draw ``c_1..c_M`` i.i.d. uniform, return ``argmax_j s(c_j)`` with
``s(i) = vec . output[i]``.  With items sorted by score, the item of ascending rank ``j``
(0-based, distinct scores) is returned with probability ``((j+1)^M - j^M) / |I|^M``.

A candidate equal to the pair's positive ``pos`` is never returned while another candidate
exists (see :mod:`negkit.samplers._candidates`).

Cost per draw: O(M d), no allocation (candidate ids in stack scratch).  State: the output
table, by reference (live scores).  Device path: ``argmax`` over the ``(n, k, M)`` candidate
scores (the first of equal scores, as the kernel).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import carray

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._candidates import (
    STACK_SLOTS,
    CandidateSampler,
    best_of_m,
    cand_score,
    masked_scores,
    stack_i64,
)
from negkit.samplers.registry import register


@kernel
def draw_dns(state, anchor, pos, vec, ctx):
    output = state[0]
    n = output.shape[0]
    m = state[1]
    ids = carray(stack_i64(), STACK_SLOTS)
    best = np.int64(0)
    top = np.float32(0.0)
    done = 0
    while done < m:  # ids first, then scores: the random row loads overlap
        b = min(m - done, STACK_SLOTS)
        for j in range(b):
            ids[j] = rand_int(ctx, n)
        for j in range(b):
            s = cand_score(output, ids[j], vec, pos)
            if done + j == 0 or s > top:  # the first of equal scores wins
                best = ids[j]
                top = s
        done += b
    return best


@register("dns", aliases=("dynamic",))
class DNSSampler(CandidateSampler):
    """The highest-scored of ``n_candidates`` uniform candidates (Zhang et al. 2013)."""

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        ids, scores = self._device_candidates(anchors, k, pos, vecs, gen)
        return ids.gather(-1, scores.argmax(dim=-1, keepdim=True)).squeeze(-1)

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_dns, (self.output_, np.int64(self.m_))

    def distribution(self, anchor=None, anchor_vector=None, pos: int | None = None) -> np.ndarray:
        """``P(i) = ((L_i + g_i)^M - L_i^M) / (g_i |I|^M)``: L_i items score below i, g_i tie.

        The positive ``pos`` (if given) ranks below every other item.
        """
        self._check_fitted()
        scores, _ = self._scores(anchor, anchor_vector)
        return best_of_m(masked_scores(scores, pos), self.m_)
