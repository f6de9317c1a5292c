"""Rank-based dynamic sampling (``rank``, LambdaFM-D style).

Yuan, Guo, Jose, Chen, Yu & Zhang (CIKM 2016), "LambdaFM: Learning Optimal Ranking with
Factorization Machines Using Lambda Surrogates", dynamic sampler: score ``M`` uniform
candidates (every item, in item order, when ``|I| <= M``), sort them by descending score
(stable: ties keep candidate order) and return the one at rank ``r``, drawn with
``p(r) ∝ exp(-r/λ)`` on ``[0, L)`` (``L = min(M, |I|)``) by inverse CDF.

Exact distribution: the truncated geometric over the score order when ``|I| <= M``;
otherwise :meth:`distribution` enumerates the ``|I|^M`` candidate tuples (tiny vocabularies).

Cost per draw: O(L d + L log L) and two small allocations (scores and order of the L
candidates).  State: the output table, by reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from negkit._rng import rand_int
from negkit.samplers._candidates import CandidateSampler, all_scores, enumerate_rule
from negkit.samplers._kernels import (
    check_positive,
    dot,
    trunc_geom,
    trunc_geom_mass,
    trunc_geom_pmf,
)
from negkit.samplers.registry import register


@njit(nogil=True, cache=True)
def draw_rank(state, anchor, pos, vec, ctx):
    n = state[0].shape[0]
    m = state[1]
    if n <= m:
        ids = np.arange(n)
        scores = all_scores(state[0], vec)
        size = n
    else:
        ids = np.empty(m, dtype=np.int64)
        scores = np.empty(m, dtype=np.float32)
        for j in range(m):
            c = rand_int(ctx, n)
            ids[j] = c
            scores[j] = dot(state[0], c, vec)
        size = m
    order = np.argsort(-scores, kind="mergesort")
    r = trunc_geom(ctx, size, state[2], state[3])
    return ids[order[r]]


@register("rank", aliases=("lambdafm", "rank-dynamic"))
class RankSampler(CandidateSampler):
    """A geometric rank among ``n_candidates`` uniform candidates sorted by score.

    lam : λ in ranks of the candidate list; when None, ``lam_fraction * min(M, |I|)``.
    """

    def __init__(
        self,
        n_candidates: int = 32,
        lam: float | None = None,
        lam_fraction: float = 0.1,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(n_candidates, seed=seed, exclude_positives=exclude_positives)
        self.lam = lam
        self.lam_fraction = lam_fraction

    def _check_rule(self) -> None:
        self.size_ = min(self.m_, self.n_items_)
        if self.lam is not None:
            self.lam_ = check_positive(self.lam, "lam (λ)")
        else:
            self.lam_ = check_positive(self.lam_fraction, "lam_fraction") * self.size_

    def _kernel(self) -> tuple[Any, tuple]:
        c = trunc_geom_mass(self.size_, self.lam_)
        return draw_rank, (self.output_, np.int64(self.m_), np.float64(self.lam_), np.float64(c))

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        """Exact: the geometric over the score order (|I| <= M), else by enumeration."""
        self._check_fitted()
        scores, _ = self._scores(anchor, anchor_vector)
        pr = trunc_geom_pmf(self.size_, self.lam_)
        if self.n_items_ <= self.m_:
            q = np.empty(self.n_items_)
            q[np.argsort(-scores, kind="stable")] = pr
            return q

        def rule(t):
            order = np.argsort(-scores[t], axis=1, kind="stable")
            choice = np.zeros(t.shape, dtype=np.float64)
            np.put_along_axis(choice, order, np.broadcast_to(pr, t.shape), axis=1)
            return choice

        return enumerate_rule(self.n_items_, self.m_, rule)
