"""Uniform negatives (RNS: random negative sampling).

Distribution: q(i) = 1 / |I| for every item i.
Cost per draw: O(1), one random integer.
State: the number of items.
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

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_uniform, (np.int64(self.n_items_),)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        return np.full(self.n_items_, 1.0 / self.n_items_)
