"""Adaptive hardness negative sampling (``ahns``).

Lai, Chen, Zhao, Wang & Ren (AAAI 2024), "Adaptive Hardness Negative Sampling for
Collaborative Filtering": the hardness of the negative should follow the positive's score.
Among ``M`` uniform candidates return the one whose score is nearest to the target

    t = β · max(s_pos + α, 0)^(p + 1),     s_pos = vec . output[pos]

(the base is clamped at 0 so that a fractional power stays real).  Without a positive
(``pos = -1``) the target is undefined and the first candidate, i.e. a uniform item, is
returned.  Exact distribution: the best of M i.i.d. candidates under the key ``-|s - t|``
(see :func:`negkit.samplers._candidates.best_of_m`), the positive itself last.

Cost per draw: O(M d + d).  State: the output table, by reference.  Device path: ``argmin``
of the ``(n, k, M)`` gaps ``|s - t|`` in float64 (the first of equal gaps, as the kernel).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._candidates import CandidateSampler, best_of_m, cand_score
from negkit.samplers._kernels import dot
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_ahns(state, anchor, pos, vec, ctx):
    n = state[0].shape[0]
    best = rand_int(ctx, n)
    if pos < 0:
        return best
    t = ahns_target(dot(state[0], pos, vec), state[2], state[3], state[4])
    gap = abs(np.float64(cand_score(state[0], best, vec, pos)) - t)
    for _ in range(state[1] - 1):
        c = rand_int(ctx, n)
        g = abs(np.float64(cand_score(state[0], c, vec, pos)) - t)
        if g < gap:
            best = c
            gap = g
    return best


@kernel(_nrt=False)
def ahns_target(s_pos, alpha, beta, p):
    """``β · max(s_pos + α, 0)^(p + 1)``."""
    return beta * max(np.float64(s_pos) + alpha, 0.0) ** (p + 1.0)


@register("ahns")
class AHNSSampler(CandidateSampler):
    """The candidate whose score is nearest to ``beta * (s_pos + alpha) ** (p + 1)``.

    Defaults (alpha=0, beta=1, p=0) target the positive's own score.
    """

    def __init__(
        self,
        n_candidates: int = 32,
        alpha: float = 0.0,
        beta: float = 1.0,
        p: float = 0.0,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(n_candidates, seed=seed, exclude_positives=exclude_positives)
        self.alpha = alpha
        self.beta = beta
        self.p = p

    def _check_rule(self) -> None:
        for name in ("alpha", "beta", "p"):
            v = float(getattr(self, name))
            if not np.isfinite(v):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)!r}")
        if float(self.p) < -1:
            raise ValueError(f"p must be >= -1 (the exponent p + 1 must be >= 0), got {self.p}")

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        ids, scores = self._device_candidates(anchors, k, pos, vecs, gen)
        output = self._table("output", anchors.device)
        has_pos = pos >= 0
        s_pos = (output[pos.clamp(min=0)] * vecs).sum(-1).to(torch.float64)
        t = float(self.beta) * (s_pos + float(self.alpha)).clamp(min=0.0) ** (float(self.p) + 1.0)
        gap = (scores.to(torch.float64) - t[:, None, None]).abs()  # +inf for the positive
        best = ids.gather(-1, gap.argmin(dim=-1, keepdim=True)).squeeze(-1)
        return torch.where(has_pos[:, None], best, ids[..., 0])  # no positive: uniform

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_ahns, (
            self.output_,
            np.int64(self.m_),
            np.float64(self.alpha),
            np.float64(self.beta),
            np.float64(self.p),
        )

    def distribution(self, anchor=None, anchor_vector=None, pos: int | None = None) -> np.ndarray:
        """Exact law of the draw for one anchor and its positive ``pos``."""
        self._check_fitted()
        scores, v = self._scores(anchor, anchor_vector)
        if pos is None or pos < 0:
            return np.full(self.n_items_, 1.0 / self.n_items_)
        t = ahns_target(scores[pos], float(self.alpha), float(self.beta), float(self.p))
        key = -np.abs(scores.astype(np.float64) - t)
        key[pos] = -np.inf  # the positive itself is the last choice
        return best_of_m(key, self.m_)
