"""Popularity (unigram^alpha) negatives: word2vec's noise distribution.

Mikolov et al. (2013), "Distributed Representations of Words and Phrases and
their Compositionality": q(i) = c_i^alpha / sum_j c_j^alpha with alpha = 0.75.
The same distribution is PNS for recommenders (item popularity) and degree^alpha
noise for graphs (LINE, DeepWalk), see :class:`DegreeSampler`.

Cost per draw: O(1) by the alias method (one 64-bit random number).
State: the alias table, 16 bytes an item.
Device path: the same alias table on the device (:func:`negkit.samplers._torch.alias_draw`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit.samplers.alias import alias_draw, build_alias
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_alias(state, anchor, pos, vec, ctx):
    return alias_draw(state[0], state[1], ctx)


@register("unigram", aliases=("popularity", "pns"))
class UnigramSampler(Sampler):
    """q(i) ∝ count_i ** alpha (0.75 as in word2vec; 0 is uniform, 1 is raw popularity)."""

    device_path = True
    graph_safe = True

    def __init__(
        self, alpha: float = 0.75, *, seed: int | None = None, exclude_positives: bool = False
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.alpha = alpha

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        alpha = float(self.alpha)
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha}")
        if counts is None:
            if positives is None:
                raise ValueError(
                    f"{type(self).__name__}.fit needs counts= (or positives= to count items)"
                )
            counts = np.bincount(positives.indices, minlength=self.n_items_).astype(np.float64)
        if alpha > 0:  # c^alpha / max c^alpha, in log space: no overflow to inf (nor NaN law)
            w = np.zeros_like(counts, dtype=np.float64)
            seen = counts > 0
            if seen.any():
                lw = alpha * np.log(counts[seen])
                w[seen] = np.exp(lw - lw.max())
        else:
            w = np.ones_like(counts, dtype=np.float64)
        if w.sum() <= 0:
            raise ValueError("every count is zero: the distribution is empty")
        self.weights_ = w / w.sum()
        self._prob, self._alias = build_alias(self.weights_)

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_alias, (self._prob, self._alias)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        return self.weights_

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import alias_draw

        dev = anchors.device
        prob, alias = self._device(
            "alias",
            dev,
            lambda: (torch.from_numpy(self._prob).to(dev), torch.from_numpy(self._alias).to(dev)),
        )
        return alias_draw(prob, alias, (anchors.shape[0], k), gen)


@register("degree")
class DegreeSampler(UnigramSampler):
    """Graph noise: q(v) ∝ deg(v) ** alpha (LINE and DeepWalk/node2vec use alpha=0.75).

    Fit with ``counts=`` the (weighted) degrees, or ``positives=`` the adjacency
    matrix, whose column sums are then used as degrees.
    """

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        if counts is None and positives is not None:
            counts = np.asarray(positives.sum(axis=0)).ravel().astype(np.float64)
        super()._fit(counts=counts, positives=positives, **extra)
