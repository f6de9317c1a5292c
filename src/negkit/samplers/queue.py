"""Cross-batch memory of item ids (``queue``): negatives drawn from the items of recent batches.

The id side of a MoCo-style queue (He et al., CVPR 2020; cross-batch memory, Wang et al.,
CVPR 2020): a FIFO ring of the last ``size`` items seen in batches (``push(items)``, e.g.
every training batch's positives).  With ``auto_push=True`` (the default) every draw also
pushes its pair's positive ``pos``, so any compiled trainer fills the queue with the
positives of the pairs it has just trained on (threads write it Hogwild-style, as their
updates).  A draw is uniform over the ring's filled slots, so an item's probability is its
share of the queue, q(i) = count_queue(i) / filled -- popularity over the recent past, as
in-batch negatives but over many batches.  While the queue is empty the draw is uniform over
all items.  The law moves with every push: ``proba`` (and ``sample(..., return_proba=True)``,
which calls it after the batch) gives the law of the queue as it is then, after the batch's
own pushes with ``auto_push``, not the law each draw was made from; a pair's positive is
pushed once per draw (k times for k negatives, and again at each rejection under
``exclude_positives``).  For the embedding side (keys, chunked InfoNCE) see
:class:`negkit.contrastive.CrossBatchMemory`.

Cost per draw: O(1).  State: ``size`` int64 ids (8 bytes each) whatever the item count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._kernels import check_count, check_flag
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_queue(state, anchor, pos, vec, ctx):
    meta = state[1]
    filled = meta[0]
    if filled == 0:
        x = rand_int(ctx, state[2])
    else:
        x = state[0][rand_int(ctx, filled)]
    if state[3] and pos >= 0:  # push the pair's positive, after the draw
        size = state[0].shape[0]
        w = meta[1]
        state[0][w] = pos
        meta[1] = (w + 1) % size
        if filled < size:
            meta[0] = filled + 1
    return x


@register("queue", aliases=("memory", "xbm"))
class QueueSampler(Sampler):
    """Uniform over a FIFO queue of the last ``size`` pushed items (see the module)."""

    #: the law changes with every push: a trainer's logQ correction reads it afresh each batch
    dynamic_law = True

    def __init__(
        self,
        size: int = 65536,
        auto_push: bool = True,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ) -> None:
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.size = size
        self.auto_push = check_flag("auto_push", auto_push)

    def _fit(self, *, counts=None, positives=None, **extra: Any) -> None:
        check_count(self.size, "size")
        self.ring_ = np.zeros(self.size, dtype=np.int64)
        self.meta_ = np.zeros(2, dtype=np.int64)  # filled, write position

    def push(self, items: Any) -> None:
        """Append a batch's items (numpy or torch ids), overwriting the oldest."""
        self._check_fitted()
        if type(items).__module__.startswith("torch"):
            items = items.detach().cpu().numpy()
        it = np.asarray(items).reshape(-1)
        if it.size and not np.issubdtype(it.dtype, np.integer):
            raise TypeError(f"items must be integer ids, got dtype {it.dtype}")
        it = it.astype(np.int64)[-self.size :]
        if it.size and (it.min() < 0 or it.max() >= self.n_items_):
            raise ValueError(f"item ids must lie in [0, {self.n_items_})")
        idx = (self.meta_[1] + np.arange(it.size)) % self.size
        self.ring_[idx] = it  # in place: compiled draws see the new contents
        self.meta_[1] = (self.meta_[1] + it.size) % self.size
        self.meta_[0] = min(self.size, self.meta_[0] + it.size)

    def queued(self) -> np.ndarray:
        """The items in the queue, oldest first."""
        f, w = int(self.meta_[0]), int(self.meta_[1])
        if f < self.size:
            return self.ring_[:f].copy()
        return np.concatenate([self.ring_[w:], self.ring_[:w]])

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_queue, (self.ring_, self.meta_, np.int64(self.n_items_), bool(self.auto_push))

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        f = int(self.meta_[0])
        if f == 0:
            return np.full(self.n_items_, 1.0 / self.n_items_)
        return np.bincount(self.ring_[:f], minlength=self.n_items_) / f
