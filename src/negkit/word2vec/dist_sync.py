"""Periodic table synchronisation for data-parallel word2vec on ``torch.distributed``.

Ji, Shao, Sundaram et al. (2016), "Parallelizing Word2Vec in Shared and Distributed Memory":
every rank trains the compiled kernels on its own shard; every ``sync_words`` raw words (per
rank) the ranks exchange what changed since the last sync.  With ``W_s`` the tables at the
last sync (the same on every rank) and ``W_r`` rank r's tables now,

    delta = sum_r (W_r - W_s)          (all_reduce SUM)
    W_s  <- W_s + delta                ("sum": every rank's updates applied, as Hogwild
                                        threads apply theirs; the default)
    W_s  <- W_s + delta / world_size   ("mean": model averaging)

and every rank continues from the new ``W_s``.  With ``wire="float32"`` only the rows
touched on some rank are sent (their union is agreed first with an all_reduce MAX of a
one-byte-per-row mask); when more than half the rows were touched the whole table is sent
instead, and the next 7 syncs of that table send it whole without agreeing on a mask
(frequent syncs of a table that negatives touch all over cost one pass less).  The passes
over the tables are compiled: one pass builds the change and the touched-row mask into
buffers kept between syncs (no 2 x table allocation per sync), one applies the reduced
change.  torch is imported on first use: a one-process model never loads it.

Overlapped syncs (``overlap=True``, ``Word2Vec(sync_overlap=True)``): the change is sent
without waiting (``all_reduce(async_op=True)``, gloo's own thread; the kernels release the
GIL) and merged one round later, after the rank has trained its next round.  With ``B_r``
rank r's tables when it last sent (its base), each exchange, at the end of a round, does in
one compiled pass

    D      = sum_r x_r of the previous exchange (waited for here; 0 at the first)
    x_r    = W_r - B_r                 (this round's change, sent now)
    W_s   <- W_s + D                   (or D / world_size: "mean")
    W_r   <- W_s + x_r                 (the others' changes arrive one round late)
    B_r   <- W_r

so every rank's change is applied exactly once everywhere, one round stale on the other
ranks; the word counts that set the learning rate travel with the change and are one round
late too.  The epoch ends with :meth:`TableSync.flush`: the exchange in flight is merged and
what is left is synced as above (float32), so the tables are the same on every rank after
each epoch (checkpoints and resume are unchanged).  Everything happens at fixed points of
the program, never when a message happens to arrive: a seeded run with one thread per rank
repeats itself.  The change is sent whole (no mask: agreeing on one would need a round
trip), float32 or, with ``wire="bfloat16"`` (``sync_wire``), in half the bytes: rounded to
the nearest bfloat16, the rounding error kept in ``W_r - B_r`` (``B_r <- W_s + bf16(x_r)``)
and sent with the next exchange (error feedback), so no update is lost; the ranks' sum is
added up in bfloat16 by gloo.  ``wire="bfloat16"`` without overlap (:meth:`TableSync.merge`)
does the same pass, waits for the all_reduce and merges at once (nothing stale); the ranks'
tables then differ by their rounding errors until the epoch's :meth:`TableSync.flush`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from negkit._bits import bits_f32, f32_bits
from negkit._jit import kernel

__all__ = ["SYNC_MODES", "SYNC_WIRES", "TableSync"]

SYNC_MODES = ("sum", "mean")
SYNC_WIRES = ("float32", "bfloat16")


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


@kernel(boundscheck=False)
def _overlap_step(table, snap, base, buf, divisor, first):
    """One overlapped exchange, float32 on the wire: ``buf`` holds the ranks' summed change of
    the previous exchange (ignored when ``first``); it is added (divided by ``divisor``) to
    ``snap``; ``table`` becomes the new ``snap`` plus this rank's change since ``base``, which
    goes into ``buf`` to be sent; ``base`` takes the new ``table``."""
    n, d = table.shape
    for r in range(n):
        for c in range(d):
            x = table[r, c] - base[r, c]
            s = snap[r, c]
            if not first:
                s += buf[r, c] / divisor
            snap[r, c] = s
            y = s + x
            table[r, c] = y
            base[r, c] = y
            buf[r, c] = x


@kernel(boundscheck=False)
def _overlap_step_bf16(table, snap, base, buf, divisor, first):
    """:func:`_overlap_step` with bfloat16 on the wire (``buf``: uint16 bit patterns, rounded
    to nearest even): ``base`` takes ``snap`` plus the rounded change, so the rounding error
    stays in ``table - base`` and goes with the next exchange (error feedback)."""
    n, d = table.shape
    half = np.uint32(16)
    for r in range(n):
        for c in range(d):
            x = table[r, c] - base[r, c]
            s = snap[r, c]
            if not first:
                s += bits_f32(np.uint32(buf[r, c]) << half) / divisor
            snap[r, c] = s
            b = f32_bits(x)
            h = (b + np.uint32(0x7FFF) + ((b >> half) & np.uint32(1))) >> half
            buf[r, c] = np.uint16(h)
            table[r, c] = s + x
            base[r, c] = s + bits_f32(h << half)


@kernel(boundscheck=False)
def _merge_bf16(table, snap, base, buf, divisor):
    """After :func:`_overlap_step_bf16` and a waited all_reduce (synchronous bfloat16 syncs):
    ``snap`` takes the ranks' summed change (divided by ``divisor``), ``table`` the new
    ``snap`` plus this rank's rounding error (``table - base``), ``base`` the new ``snap``:
    the error goes with the next sync."""
    n, d = table.shape
    half = np.uint32(16)
    for r in range(n):
        for c in range(d):
            s = snap[r, c] + bits_f32(np.uint32(buf[r, c]) << half) / divisor
            snap[r, c] = s
            table[r, c] = s + (table[r, c] - base[r, c])
            base[r, c] = s


class TableSync:
    """Keeps ``tables`` (float32, updated in place) in step across the ranks of ``ctx``.

    Holds a copy of every table (the state at the last sync) and a buffer for its change,
    so memory triples.
    ``bytes_sent`` / ``seconds`` / ``syncs`` count the traffic of :meth:`sync`.
    """

    def __init__(self, ctx: Any, tables: list[np.ndarray], mode: str = "sum",
                 overlap: bool = False, wire: str = "float32") -> None:  # fmt: skip
        if mode not in SYNC_MODES:
            raise ValueError(f"sync_mode must be one of {', '.join(SYNC_MODES)}, got {mode!r}")
        if wire not in SYNC_WIRES:
            raise ValueError(f"sync_wire must be one of {', '.join(SYNC_WIRES)}, got {wire!r}")
        self.ctx = ctx
        self.tables = tables
        self.mode = mode
        self.overlap = bool(overlap)
        self.wire = wire
        self.snaps = [t.copy() for t in tables]
        self._deltas = [np.empty_like(t) for t in tables]  # reused by every sync
        self._touched = [np.empty(t.shape[0], dtype=np.uint8) for t in tables]
        self._whole_left = [0] * len(tables)  # syncs still to send whole without a mask
        self._bases: list[np.ndarray] = []  # overlap: the tables when last sent (made lazily)
        self._bufs: list[np.ndarray] = []  # overlap: the change sent, then the ranks' sum
        self._pending: Any = None  # overlap: (works, counts tensor) of the exchange in flight
        self.bytes_sent = 0
        self.seconds = 0.0
        self.syncs = 0
        #: seconds by part: the change pass, the mask collective, the change's collective, the
        #: apply pass (:meth:`sync`); waiting for the exchange in flight, the overlap pass
        #: (:meth:`exchange`)
        self.parts = dict.fromkeys(("change", "mask", "send", "apply", "wait", "step"), 0.0)

    @property
    def _divisor(self) -> np.float32:
        """What the ranks' summed change is divided by: ``world_size`` for "mean", else 1."""
        return np.float32(self.ctx.world_size if self.mode == "mean" else 1)

    def counts(self, words: int, active: bool) -> tuple[int, int]:
        """``(sum of words, number of active ranks)`` over all ranks."""
        from negkit.rec.distributed import all_sum

        total, ranks = all_sum(self.ctx, [float(words), float(active)], "all_reduce (word counts)")
        return int(total), int(ranks)

    def exchange(self, words: int, active: bool) -> tuple[int, int] | None:
        """Overlapped sync: wait for the exchange started at the previous call, merge the
        ranks' summed change it carried, and start the next one (this rank's change since,
        and ``words`` / ``active``) without waiting for it.  Returns the previous call's
        ``(sum of words, number of active ranks)``, ``None`` at the first call.  End with
        :meth:`flush`."""

        t0 = time.perf_counter()
        first = self._pending is None
        prev = None if first else self._wait()
        t1 = time.perf_counter()
        self._step(first)
        t2 = time.perf_counter()
        self._pending = self._start(words, active)
        self.syncs += 1
        self.parts["wait"] += t1 - t0
        self.parts["step"] += t2 - t1
        self.seconds += time.perf_counter() - t0
        return prev

    def merge(self) -> None:
        """A synchronous sync: :meth:`sync` with float32 on the wire; with bfloat16, this
        rank's change since the last merge is rounded and sent whole, the ranks' sum merged at
        once, the rounding error kept for the next one (the tables differ across ranks by
        these errors until :meth:`flush`, which ends the epoch)."""
        if self.wire != "bfloat16":
            self.sync()
            return
        t0 = time.perf_counter()
        self._step(True)
        t1 = time.perf_counter()
        self._pending = self._start(0, False, counts=False)
        self._wait()
        t2 = time.perf_counter()
        for table, snap, base, buf in zip(self.tables, self.snaps, self._bases, self._bufs):
            _merge_bf16(table, snap, base, buf, self._divisor)
        self.syncs += 1
        self.parts["step"] += t1 - t0 + time.perf_counter() - t2
        self.parts["send"] += t2 - t1
        self.seconds += time.perf_counter() - t0

    def _step(self, first: bool) -> None:
        """The exchange pass over every table (``first``: no summed change to merge)."""
        if not self._bases:
            self._bases = [s.copy() for s in self.snaps]  # the tables at the last sync
            self._bufs = ([np.empty(t.shape, dtype=np.uint16) for t in self.tables]
                          if self.wire == "bfloat16" else self._deltas)  # fmt: skip
        step = _overlap_step_bf16 if self.wire == "bfloat16" else _overlap_step
        for table, snap, base, buf in zip(self.tables, self.snaps, self._bases, self._bufs):
            step(table, snap, base, buf, self._divisor, first)

    def _start(self, words: int, active: bool, counts: bool = True) -> tuple:
        """Start the all_reduce of every table's buffer (and of the counts); not waited for."""
        import torch
        import torch.distributed as dist

        from negkit.rec.distributed import guarded

        works = []
        for buf in self._bufs:
            tensor = torch.from_numpy(buf)
            if self.wire == "bfloat16":
                tensor = tensor.view(torch.bfloat16)
            works.append(guarded(self.ctx, "all_reduce (table change)", dist.all_reduce, tensor,
                                 async_op=True))  # fmt: skip
            self.bytes_sent += buf.nbytes
        total = torch.tensor([float(words), float(active)], dtype=torch.float64)
        if counts:
            works.append(guarded(self.ctx, "all_reduce (word counts)", dist.all_reduce, total,
                                 async_op=True))  # fmt: skip
        return works, total

    def _wait(self) -> tuple[int, int]:
        from negkit.rec.distributed import guarded

        works, counts = self._pending
        for w in works:
            guarded(self.ctx, "all_reduce (table change)", w.wait)
        self._pending = None
        return int(counts[0].item()), int(counts[1].item())

    def flush(self) -> None:
        """End overlapped syncs: merge the exchange in flight, then every rank's change not
        yet sent (float32, as :meth:`sync`): the tables are the same on every rank again."""
        if self._pending is not None:
            t0 = time.perf_counter()
            self._wait()
            t1 = time.perf_counter()
            self._step(False)  # table = snap + change not sent
            self.parts["wait"] += t1 - t0
            self.parts["step"] += time.perf_counter() - t1
            self.seconds += time.perf_counter() - t0
        self.sync()
        for base, table in zip(self._bases, self.tables):
            base[...] = table

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
        parts = self.parts
        t0 = time.perf_counter()
        _change_and_touched(table, snap, delta, touched)
        t1 = time.perf_counter()
        parts["change"] += t1 - t0
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
            t2 = time.perf_counter()
            parts["mask"] += t2 - t1
            t1 = t2
            if rows.size == 0:
                return
            whole = 2 * rows.size > n
            self._whole_left[i] = 7 if whole else 0
            if whole:
                rows = np.zeros(0, dtype=np.int64)
        part = delta if whole else np.ascontiguousarray(delta[rows])
        guarded(self.ctx, "all_reduce (table rows)", dist.all_reduce, torch.from_numpy(part))
        self.bytes_sent += part.nbytes
        t2 = time.perf_counter()
        parts["send"] += t2 - t1
        _apply_change(table, snap, part, rows, self._divisor)
        parts["apply"] += time.perf_counter() - t2
