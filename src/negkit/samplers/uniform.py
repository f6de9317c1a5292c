"""Uniform negatives (RNS: random negative sampling).

Distribution: q(i) = 1 / |I| for every item i.
Cost per draw: O(1), one random integer.
State: the number of items.
Device path: ``torch.randint``; with exclusion, the exact uniform draw over the anchor's
non-positives (:meth:`negkit.samplers._torch.DevicePositives.complement`), no rejection.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_uniform(state, anchor, pos, vec, ctx):
    return rand_int(ctx, state[0])


@register("uniform", aliases=("rns", "random"))
class UniformSampler(Sampler):
    """Every item with the same probability, q(i) = 1/|I| (RNS in the recommender literature)."""

    device_path = True
    graph_safe = True
    device_tries = 0  # exclusion is the complement draw itself: q = 1 / (|I| - |P_a|)

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_uniform, (np.int64(self.n_items_),)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        return np.full(self.n_items_, 1.0 / self.n_items_)

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        from negkit.samplers._torch import randint

        return randint(self.n_items_, (anchors.shape[0], k), gen, anchors.device)
