"""Rank-based dynamic sampling (``rank``, LambdaFM-D style).

Yuan, Guo, Jose, Chen, Yu & Zhang (CIKM 2016), "LambdaFM: Learning Optimal Ranking with
Factorization Machines Using Lambda Surrogates", dynamic sampler: score ``M`` uniform
candidates (every item, in item order, when ``|I| <= M``), sort them by descending score
(stable: ties keep candidate order) and return the one at rank ``r``, drawn with
``p(r) ∝ exp(-r/λ)`` on ``[0, L)`` (``L = min(M, |I|)``) by inverse CDF.

Exact distribution: the truncated geometric over the score order when ``|I| <= M``;
otherwise :meth:`distribution` enumerates the ``|I|^M`` candidate tuples (tiny vocabularies).

Cost per draw: O(L d) for the scores plus O(L + k r) to select rank ``r`` (the best ``r + 1``
kept sorted; ``k`` insertions, about ``(r + 1) ln(L / (r + 1))``), with the candidates in stack
scratch: no allocation when ``L <= 64`` (heap arrays beyond).  State: the output table, by
reference.  Device path: a stable descending ``torch.sort`` of the ``(n, k, L)`` scores and the
same inverse-CDF rank, ``L`` shrunk by the copies of the positive.
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
    cand_score,
    enumerate_rule,
    masked_scores,
    rank_select,
    stack_f32,
    stack_i64,
)
from negkit.samplers._kernels import (
    check_positive,
    trunc_geom,
    trunc_geom_mass,
    trunc_geom_pmf,
)
from negkit.samplers.registry import register


@kernel(inline="always")
def _candidates(output, m, vec, pos, ctx, ids, scores):
    """Fill ``ids``/``scores`` with the candidate list; return (its size, live entries)."""
    n = output.shape[0]
    size = min(n, m)
    live = 0
    for j in range(size):
        c = j if n <= m else rand_int(ctx, n)  # every item, in item order, when |I| <= M
        ids[j] = c
        s = cand_score(output, c, vec, pos)
        scores[j] = s
        if s != -np.inf:
            live += 1
    return size, live


@kernel(inline="always")
def _pick(state, size, live, ids, scores, top, ctx):
    if live == 0:  # every candidate was the positive
        return ids[0]
    if live == size:
        r = trunc_geom(ctx, size, state[2], state[3])
    else:  # the positive (score -inf, sorted last) leaves the list, which shrinks
        r = trunc_geom(ctx, live, state[2], -np.expm1(-live / state[2]))
    return ids[rank_select(scores, size, r, top)]


@kernel
def _draw_rank_stack(state, pos, vec, ctx):
    ids = carray(stack_i64(), STACK_SLOTS)
    top = carray(stack_i64(), STACK_SLOTS)
    scores = carray(stack_f32(), STACK_SLOTS)
    size, live = _candidates(state[0], state[1], vec, pos, ctx, ids, scores)
    return _pick(state, size, live, ids, scores, top, ctx)


@kernel
def _draw_rank_heap(state, pos, vec, ctx):
    size = min(state[0].shape[0], state[1])
    ids = np.empty(size, dtype=np.int64)
    top = np.empty(size, dtype=np.int64)
    scores = np.empty(size, dtype=np.float32)
    size, live = _candidates(state[0], state[1], vec, pos, ctx, ids, scores)
    return _pick(state, size, live, ids, scores, top, ctx)


@kernel
def draw_rank(state, anchor, pos, vec, ctx):
    if min(state[0].shape[0], state[1]) <= STACK_SLOTS:
        return _draw_rank_stack(state, pos, vec, ctx)
    return _draw_rank_heap(state, pos, vec, ctx)


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

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import candidate_scores, rand

        dev = anchors.device
        if self.n_items_ <= self.m_:  # every item, in item order
            output = self._table("output", dev)
            ids = torch.arange(self.n_items_, device=dev).expand(anchors.shape[0], k, -1)
            scores = candidate_scores(output, ids, vecs, pos)
        else:
            ids, scores = self._device_candidates(anchors, k, pos, vecs, gen)
        live = torch.isfinite(scores).sum(-1, keepdim=True)  # the positive leaves the list
        lam = float(self.lam_)
        c = -torch.expm1(-live.to(torch.float64) / lam)
        u = rand(live.shape, gen, dev)
        r = (-lam * torch.log1p(-u * c)).to(torch.int64)
        r = torch.minimum(r, (live - 1).clamp(min=0))
        order = torch.sort(scores, dim=-1, descending=True, stable=True).indices
        pick = ids.gather(-1, order.gather(-1, r)).squeeze(-1)
        return torch.where(live.squeeze(-1) > 0, pick, ids[..., 0])

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
