"""A sampler wrapper for tests: the inner sampler's kernel, with every (user, negative) it
draws logged in order (for the compiled trainers, which call the kernel per pair)."""

from __future__ import annotations

import numpy as np
from numba import njit


class RecordingSampler:
    """Wraps a fitted sampler's kernel and logs every (user, negative) drawn."""

    refresh_every = None

    def __init__(self, inner, capacity: int):
        self.inner = inner
        self.n_items_ = getattr(inner, "n_items_", None)
        self.users = np.full(capacity, -1, dtype=np.int64)
        self.negs = np.full(capacity, -1, dtype=np.int64)
        self.count = np.zeros(1, dtype=np.int64)

    def kernel(self):
        base_draw, base_state = self.inner.kernel()

        @njit(nogil=True)
        def draw(state, anchor, pos, vec, ctx):
            inner_state, users, negs, count = state
            j = base_draw(inner_state, anchor, pos, vec, ctx)
            c = count[0]
            if c < users.shape[0]:
                users[c] = anchor
                negs[c] = j
                count[0] = c + 1
            return j

        return draw, (base_state, self.users, self.negs, self.count)

    def maybe_refresh(self, ctxs):
        return False
