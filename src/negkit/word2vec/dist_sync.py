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
of that table send it whole without building the mask (frequent syncs of a table that
negatives touch all over cost one pass less).  torch is imported
on first use: a one-process model never loads it.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

__all__ = ["SYNC_MODES", "TableSync"]

SYNC_MODES = ("sum", "mean")


class TableSync:
    """Keeps ``tables`` (float32, updated in place) in step across the ranks of ``ctx``.

    Holds a copy of every table (the state at the last sync), so memory doubles.
    ``bytes_sent`` / ``seconds`` / ``syncs`` count the traffic of :meth:`sync`.
    """

    def __init__(self, ctx: Any, tables: list[np.ndarray], mode: str = "sum") -> None:
        if mode not in SYNC_MODES:
            raise ValueError(f"sync_mode must be one of {', '.join(SYNC_MODES)}, got {mode!r}")
        self.ctx = ctx
        self.tables = tables
        self.mode = mode
        self.snaps = [t.copy() for t in tables]
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
        delta = table - snap
        rows = np.arange(0)
        if self._whole_left[i] > 0:  # the same on every rank: decided from a reduced mask
            self._whole_left[i] -= 1
            whole = True
        else:
            mask = torch.from_numpy(np.any(delta != 0, axis=1).astype(np.uint8))
            guarded(self.ctx, "all_reduce (touched rows)", dist.all_reduce, mask,
                    dist.ReduceOp.MAX)  # fmt: skip
            rows = np.flatnonzero(mask.numpy())
            self.bytes_sent += n
            if rows.size == 0:
                return
            whole = 2 * rows.size > n
            self._whole_left[i] = 7 if whole else 0
        part = delta if whole else np.ascontiguousarray(delta[rows])
        t = torch.from_numpy(part)
        guarded(self.ctx, "all_reduce (table rows)", dist.all_reduce, t)
        self.bytes_sent += part.nbytes
        if self.mode == "mean":
            part /= np.float32(self.ctx.world_size)
        if whole:
            snap += part
            table[...] = snap
        else:
            snap[rows] += part
            table[rows] = snap[rows]
