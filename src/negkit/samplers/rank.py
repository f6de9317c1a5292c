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
from negkit.samplers._candidates import (
    CandidateSampler,
    all_scores,
    cand_score,
    enumerate_rule,
    masked_scores,
)
from negkit.samplers._kernels import (
    check_positive,
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
        if pos >= 0:
            scores[pos] = -np.inf
    else:
        ids = np.empty(m, dtype=np.int64)
        scores = np.empty(m, dtype=np.float32)
        for j in range(m):
            c = rand_int(ctx, n)
            ids[j] = c
            scores[j] = cand_score(state[0], c, vec, pos)
    size = ids.shape[0]
    order = np.argsort(-scores, kind="mergesort")
    live = size  # the positive (score -inf) leaves the list, which shrinks
    while live > 0 and scores[order[live - 1]] == -np.inf:
        live -= 1
    if live == 0:  # every candidate was the positive
        return ids[0]
    if live == size:
        r = trunc_geom(ctx, size, state[2], state[3])
    else:
        r = trunc_geom(ctx, live, state[2], -np.expm1(-live / state[2]))
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

    def distribution(self, anchor=None, anchor_vector=None, pos: int | None = None) -> np.ndarray:
        """Exact: the geometric over the score order (|I| <= M), else by enumeration.

        The positive ``pos`` (if given) leaves the candidate list, which then has one
        rank fewer for each copy of it.
        """
        self._check_fitted()
        scores, _ = self._scores(anchor, anchor_vector)
        scores = masked_scores(scores, pos)
        if self.n_items_ <= self.m_:
            q = np.zeros(self.n_items_)
            live = int(np.isfinite(scores).sum())
            q[np.argsort(-scores, kind="stable")[:live]] = trunc_geom_pmf(live, self.lam_)
            return q

        def rule(t):
            st = scores[t]
            order = np.argsort(-st, axis=1, kind="stable")
            live = np.isfinite(st).sum(axis=1)
            choice = np.zeros(t.shape, dtype=np.float64)
            choice[live == 0, 0] = 1.0  # every candidate was the positive
            for size in np.unique(live[live > 0]):
                rows = np.flatnonzero(live == size)
                pr = np.zeros(t.shape[1])
                pr[:size] = trunc_geom_pmf(int(size), self.lam_)
                sub = np.zeros((rows.size, t.shape[1]))
                np.put_along_axis(sub, order[rows], np.broadcast_to(pr, sub.shape), axis=1)
                choice[rows] = sub
            return choice

        return enumerate_rule(self.n_items_, self.m_, rule)
