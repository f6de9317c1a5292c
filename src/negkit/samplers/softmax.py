"""Softmax over candidates (``softmax``): one of M uniform candidates drawn by softmax(s/τ).

The "hardness-weighted" middle ground between uniform (τ → ∞) and DNS (τ → 0), as used by
e.g. Ding et al. 2020 (SRNS, sampling by scores) and Chen et al. 2022 (softmax sampling);
draw ``c_1..c_M`` i.i.d. uniform and return ``c_j`` with probability
``exp(s(c_j)/τ) / Σ_l exp(s(c_l)/τ)``.  No closed form in general: :meth:`distribution`
enumerates the ``|I|^M`` candidate tuples on a tiny vocabulary.

Cost per draw: O(M d) and M exponentials, streaming (weighted reservoir of size one, with a
running maximum against overflow), so no allocation.  State: the output table, by reference.
Device path: the Gumbel-max trick, ``argmax_j (s_j / τ + G_j)`` with ``G_j = -ln(-ln u_j)``,
which picks ``j`` with probability softmax(s / τ)_j exactly (Gumbel 1954; Maddison et al. 2014).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._candidates import (
    CandidateSampler,
    cand_score,
    enumerate_rule,
    masked_scores,
)
from negkit.samplers._kernels import check_positive, softmax_reservoir
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_softmax(state, anchor, pos, vec, ctx):
    """One pass of weighted reservoir sampling with a running max (stable ``exp``)."""
    n = state[0].shape[0]
    inv_tau = state[2]
    chosen = -1
    top = -np.inf  # running max of s/τ over the finite candidates
    total = 0.0  # Σ exp(s/τ - top) over the candidates so far
    c = 0
    for _ in range(state[1]):
        c = rand_int(ctx, n)
        z = np.float64(cand_score(state[0], c, vec, pos)) * inv_tau
        if z == -np.inf:  # the positive: weight 0
            continue
        taken, top, total = softmax_reservoir(z, top, total, ctx)
        if taken:
            chosen = c
    return c if chosen < 0 else chosen  # every candidate was the positive


@register("softmax")
class SoftmaxSampler(CandidateSampler):
    """One of ``n_candidates`` uniform candidates with probability softmax(score / tau)."""

    def __init__(
        self,
        n_candidates: int = 32,
        tau: float = 1.0,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(n_candidates, seed=seed, exclude_positives=exclude_positives)
        self.tau = tau

    def _check_rule(self) -> None:
        self.tau_ = check_positive(self.tau, "tau (τ)")

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import rand

        ids, scores = self._device_candidates(anchors, k, pos, vecs, gen)
        u = rand(ids.shape, gen, ids.device).clamp_(min=1e-300)
        key = scores.to(torch.float64) / self.tau_ - torch.log(-torch.log(u))
        return ids.gather(-1, key.argmax(dim=-1, keepdim=True)).squeeze(-1)

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_softmax, (self.output_, np.int64(self.m_), np.float64(1.0 / self.tau_))

    def distribution(self, anchor=None, anchor_vector=None, pos: int | None = None) -> np.ndarray:
        """Exact, by enumerating the ``|I|^M`` candidate tuples (tiny vocabularies only).

        The positive ``pos`` (if given) has weight 0 unless every candidate is ``pos``.
        """
        self._check_fitted()
        scores, _ = self._scores(anchor, anchor_vector)
        z = masked_scores(scores, pos) / self.tau_

        def rule(t):
            zt = z[t]
            top = zt.max(axis=1, keepdims=True)
            w = np.where(np.isfinite(top), np.exp(zt - np.where(np.isfinite(top), top, 0.0)), 1.0)
            return w / w.sum(axis=1, keepdims=True)

        return enumerate_rule(self.n_items_, self.m_, rule)
