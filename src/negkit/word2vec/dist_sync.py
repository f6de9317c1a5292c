"""Periodic table synchronisation for data-parallel word2vec on ``torch.distributed``.

Ji, Shao, Sundaram et al. (2016), "Parallelizing Word2Vec in Shared and Distributed Memory":
every rank trains the compiled kernels on its own shard; every ``sync_words`` raw words (per
rank) the ranks exchange what changed since the last sync.  With ``W_s`` the tables at the
last sync (the same on every rank) and ``W_r`` rank r's tables now,

    delta = sum_r (W_r - W_s)          (all_reduce SUM)
    W_s  <- W_s + delta                ("sum": every rank's updates applied, as Hogwild
                                        threads apply theirs; the default)
    W_s  <- W_s + delta / world_size   ("mean": model averaging)

and every rank continues from the new ``W_s``.  Only the rows touched on some rank are
sent (their union is agreed first with an all_reduce MAX of a one-byte-per-row mask); when
more than half the rows were touched the whole table is sent instead, and the next 7 syncs
of that table send it whole without agreeing on a mask (frequent syncs of a table that
negatives touch all over cost one pass less).  The passes over the tables are compiled: one
pass builds the change and the touched-row mask into buffers kept between syncs (no 2 x
table allocation per sync), one applies the reduced change.  torch is imported on first
use: a one-process model never loads it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from negkit._jit import kernel

__all__ = ["SYNC_MODES", "TableSync"]

SYNC_MODES = ("sum", "mean")


@kernel(boundscheck=False)
def _change_and_touched(table, snap, delta, touched):
    """``delta = table - snap`` and ``touched[r] = 1`` where row ``r`` changed, in one pass."""
    n, d = table.shape
    for r in range(n):
        hit = np.uint8(0)
        for c in range(d):
            x = table[r, c] - snap[r, c]
            delta[r, c] = x
            if x != 0:
                hit = np.uint8(1)
        touched[r] = hit


@kernel(boundscheck=False)
def _apply_change(table, snap, part, rows, divisor):
    """Row ``i`` of ``part`` (the summed change of row ``rows[i]``, or of row ``i`` when
    ``rows`` is empty), divided by ``divisor`` (1 for "sum"), is added to ``snap``; ``table``
    takes the result."""
    n = part.shape[0] if rows.shape[0] == 0 else rows.shape[0]
    for i in range(n):
        r = i if rows.shape[0] == 0 else rows[i]
        for c in range(part.shape[1]):
            x = snap[r, c] + part[i, c] / divisor
            snap[r, c] = x
            table[r, c] = x


class TableSync:
    """Keeps ``tables`` (float32, updated in place) in step across the ranks of ``ctx``.

    Holds a copy of every table (the state at the last sync) and a buffer for its change,
    so memory triples.
    ``bytes_sent`` / ``seconds`` / ``syncs`` count the traffic of :meth:`sync`.
    """

    def __init__(self, ctx: Any, tables: list[np.ndarray], mode: str = "sum") -> None:
        if mode not in SYNC_MODES:
            raise ValueError(f"sync_mode must be one of {', '.join(SYNC_MODES)}, got {mode!r}")
        self.ctx = ctx
        self.tables = tables
        self.mode = mode
        self.snaps = [t.copy() for t in tables]
        self._deltas = [np.empty_like(t) for t in tables]  # reused by every sync
        self._touched = [np.empty(t.shape[0], dtype=np.uint8) for t in tables]
        self._whole_left = [0] * len(tables)  # syncs still to send whole without a mask
        self.bytes_sent = 0
        self.seconds = 0.0
        self.syncs = 0

    def counts(self, words: int, active: bool) -> tuple[int, int]:
        """``(sum of words, number of active ranks)`` over all ranks."""
        import torch
        import torch.distributed as dist

        from negkit.rec.distributed import guarded

        t = torch.tensor([float(words), float(active)], dtype=torch.float64)
        guarded(self.ctx, "all_reduce (word counts)", dist.all_reduce, t)
        return int(t[0].item()), int(t[1].item())

    def sync(self) -> None:
        """Merge every rank's changes since the last sync into every rank's tables."""
        t0 = time.perf_counter()
        for i, (table, snap) in enumerate(zip(self.tables, self.snaps)):
            self._sync_table(i, table, snap)
        self.syncs += 1
        self.seconds += time.perf_counter() - t0

    def _sync_table(self, i: int, table: np.ndarray, snap: np.ndarray) -> None:
        import torch
        import torch.distributed as dist

        from negkit.rec.distributed import guarded

        n = table.shape[0]
        delta, touched = self._deltas[i], self._touched[i]
        _change_and_touched(table, snap, delta, touched)
        rows = np.zeros(0, dtype=np.int64)
        if self._whole_left[i] > 0:  # the same on every rank: decided from a reduced mask
            self._whole_left[i] -= 1
            whole = True
        else:
            mask = torch.from_numpy(touched)
            guarded(self.ctx, "all_reduce (touched rows)", dist.all_reduce, mask,
                    dist.ReduceOp.MAX)  # fmt: skip
            rows = np.flatnonzero(touched).astype(np.int64)
            self.bytes_sent += n
            if rows.size == 0:
                return
            whole = 2 * rows.size > n
            self._whole_left[i] = 7 if whole else 0
            if whole:
                rows = np.zeros(0, dtype=np.int64)
        part = delta if whole else np.ascontiguousarray(delta[rows])
        guarded(self.ctx, "all_reduce (table rows)", dist.all_reduce, torch.from_numpy(part))
        self.bytes_sent += part.nbytes
        divisor = np.float32(self.ctx.world_size if self.mode == "mean" else 1)
        _apply_change(table, snap, part, rows, divisor)
