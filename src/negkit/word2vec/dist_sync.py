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

Frequent rows every sync, rare rows in turn (``head < 1``, ``tail_every = m > 1``; word2vec's
``sync_head`` / ``sync_tail_every``): the tables' rows are in descending word count, so a
row's share of the updates falls with its index.  The first ``head`` fraction of the rows
(the frequent words) is merged at every sync; the rest is cut into ``m`` contiguous blocks
and sync ``k`` of an epoch merges block ``k mod m`` only, so each rare row is merged every
``m``-th sync, its change kept meanwhile (delayed, never dropped: a row's change is what
moved since it was last merged).  The bytes and the passes of a sync fall to about
``head + (1 - head) / m`` of the whole.  :meth:`TableSync.flush` merges every row, so the
tables are again the same on every rank after each epoch.  Overlapped, a row's change is
merged at the exchange after the one that sent it (the head's at every exchange, as above;
a tail block's alone), and two wire arrays alternate.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from negkit._bits import bits_f32, f32_bits
from negkit._jit import kernel

__all__ = ["MERGE_OPTIONS", "SYNC_MODES", "SYNC_WIRES", "TableSync", "check_tiers"]

SYNC_MODES = ("sum", "mean")
SYNC_WIRES = ("float32", "bfloat16")
#: the settings of word2vec's and the walks' merges besides the interval (``sync_words``)
MERGE_OPTIONS = ("sync_wire", "sync_overlap", "sync_head", "sync_tail_every")


def check_tiers(head: float, tail_every: int) -> None:
    """Refuse a ``sync_head`` / ``sync_tail_every`` pair :class:`TableSync` cannot run."""
    if isinstance(head, bool) or not isinstance(head, (int, float)) or not 0.0 <= head <= 1.0:
        raise ValueError(f"sync_head must be a fraction of the rows in [0, 1], got {head!r}")
    if isinstance(tail_every, bool) or not isinstance(tail_every, (int, np.integer)) \
            or tail_every < 1:  # fmt: skip
        raise ValueError(f"sync_tail_every must be an integer >= 1, got {tail_every!r}")


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
def _exchange_rows(table, snap, base, inbuf, outbuf, divisor, merge, send):
    """One exchange over rows (float32 on the wire).  ``merge``: ``inbuf`` holds the ranks'
    summed change of these rows' exchange in flight; ``snap`` takes it (divided by
    ``divisor``).  ``table`` becomes ``snap`` plus this rank's change since ``base`` (what it
    did not send yet).  ``send``: that change goes into ``outbuf`` and ``base`` takes the new
    ``table``; else ``base`` takes ``snap`` (nothing of these rows in flight).  ``inbuf`` and
    ``outbuf`` may be one array: each element is read before it is written."""
    n, d = table.shape
    for r in range(n):
        for c in range(d):
            x = table[r, c] - base[r, c]
            s = snap[r, c]
            if merge:
                s += inbuf[r, c] / divisor
            snap[r, c] = s
            y = s + x
            table[r, c] = y
            if send:
                outbuf[r, c] = x
                base[r, c] = y
            else:
                base[r, c] = s


@kernel(boundscheck=False)
def _exchange_rows_bf16(table, snap, base, inbuf, outbuf, divisor, merge, send):
    """:func:`_exchange_rows` with bfloat16 on the wire (``inbuf`` / ``outbuf``: uint16 bit
    patterns, rounded to nearest even): ``base`` takes ``snap`` plus the rounded change, so
    the rounding error stays in ``table - base`` and goes with the next exchange (error
    feedback)."""
    n, d = table.shape
    half = np.uint32(16)
    for r in range(n):
        for c in range(d):
            x = table[r, c] - base[r, c]
            s = snap[r, c]
            if merge:
                s += bits_f32(np.uint32(inbuf[r, c]) << half) / divisor
            snap[r, c] = s
            table[r, c] = s + x
            if send:
                b = f32_bits(x)
                h = (b + np.uint32(0x7FFF) + ((b >> half) & np.uint32(1))) >> half
                outbuf[r, c] = np.uint16(h)
                base[r, c] = s + bits_f32(h << half)
            else:
                base[r, c] = s


def _segments(merged: list, sent: list) -> list[tuple[int, int, Any, Any]]:
    """Cut a table's rows into runs with one role each: ``merged`` ``[(a, b, buffer)]`` (the
    rows of the exchange in flight, their summed change) and ``sent`` ``[(a, b, buffer)]``
    (the rows sent now, where their change goes).  Returns ``(x, y, in, out)`` for every run
    of rows in either, ``in`` / ``out`` the run's rows of the buffers or ``None``."""
    cuts = sorted({v for a, b, _ in merged + sent for v in (a, b)})
    out = []
    for x, y in zip(cuts[:-1], cuts[1:]):
        ins = [buf[x - a : y - a] for a, b, buf in merged if a <= x and y <= b]
        outs = [buf[x - a : y - a] for a, b, buf in sent if a <= x and y <= b]
        if ins or outs:
            out.append((x, y, ins[0] if ins else None, outs[0] if outs else None))
    return out


def _carve(flat: np.ndarray, shapes: list[tuple[int, int]]) -> list[np.ndarray]:
    """Contiguous 2-D views of ``flat``, one per shape, one after the other from its start."""
    out, at = [], 0
    for rows, cols in shapes:
        out.append(flat[at : at + rows * cols].reshape(rows, cols))
        at += rows * cols
    return out


class TableSync:
    """Keeps ``tables`` (float32, updated in place) in step across the ranks of ``ctx``.

    Holds a copy of every table (the state at the last sync) and a buffer for its change,
    so memory triples; bfloat16 or overlapped exchanges add the tables as last sent and a
    wire array (half a table in bfloat16; two of them with rare rows in turn): up to 5x.
    ``bytes_sent`` / ``seconds`` / ``syncs`` count the traffic of :meth:`sync`.
    """

    def __init__(self, ctx: Any, tables: list[np.ndarray], mode: str = "sum",
                 overlap: bool = False, wire: str = "float32", head: float = 1.0,
                 tail_every: int = 1) -> None:  # fmt: skip
        check_tiers(head, tail_every)
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
        # every table's change buffer, one after the other in one array (reused by every sync;
        # float32 exchanges send it with one collective)
        flat = np.empty(sum(t.size for t in tables), dtype=np.float32)
        self._delta_flat = flat
        self._deltas = _carve(flat, [(t.shape[0], t.shape[1]) for t in tables])
        self._touched = [np.empty(t.shape[0], dtype=np.uint8) for t in tables]
        #: (table, first row, end row) -> syncs still to send that span whole without a mask
        self._whole_left: dict[tuple[int, int, int], int] = {}
        #: rows merged at every sync, per table (the rest: one of ``tail_every`` blocks a sync)
        self._heads = [t.shape[0] if tail_every == 1 else round(head * t.shape[0]) for t in tables]
        self.tail_every = int(tail_every)
        self._round = 0  # syncs since the last flush: which tail block is merged
        self._bases: list[np.ndarray] = []  # overlap: the tables when last sent (made lazily)
        #: exchanges: the change sent, then the ranks' sum (a flat array; each exchange lays
        #: its spans out from the start: one collective)
        self._wires: list[np.ndarray] = []
        self._sends = 0  # passes so far: which wire array the next one fills
        self._pending: Any = None  # overlap: (works, counts tensor) of the exchange in flight
        self.bytes_sent = 0
        self.seconds = 0.0
        self.syncs = 0
        #: seconds by part: the change pass, the mask collective, the change's collective, the
        #: apply pass (:meth:`sync`); waiting for the exchange in flight, the overlap pass
        #: (:meth:`exchange`)
        self.parts = dict.fromkeys(("change", "mask", "send", "apply", "wait", "step"), 0.0)

    @property
    def needs_flush(self) -> bool:
        """Whether the ranks' tables may differ after a sync, until :meth:`flush`."""
        return self.overlap or self.wire != "float32" or self.tail_every > 1

    def _spans(self, i: int, everything: bool = False) -> list[tuple[int, int]]:
        """The row spans of table ``i`` merged by this sync: the head and this sync's tail
        block (:mod:`.dist_sync`, "Frequent rows every sync"), or every row."""
        n, h, m = self.tables[i].shape[0], self._heads[i], self.tail_every
        if everything or h >= n:
            return [(0, n)]
        j = self._round % m
        a, b = h + (n - h) * j // m, h + (n - h) * (j + 1) // m
        if a == h:  # the head and the first block are one span
            return [(0, b)] if b > 0 else []
        return [s for s in ((0, h), (a, b)) if s[1] > s[0]]

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
        prev, merged = (None, None) if self._pending is None else self._wait()
        t1 = time.perf_counter()
        sent = self._pass(merged, self._all_spans())
        t2 = time.perf_counter()
        self._pending = self._start(words, active, sent)
        self.syncs += 1
        self._round += 1
        self.parts["wait"] += t1 - t0
        self.parts["step"] += t2 - t1
        self.seconds += time.perf_counter() - t0
        return prev

    def merge(self) -> None:
        """A synchronous sync: :meth:`sync` with float32 on the wire; with bfloat16, this
        rank's change since the last merge is rounded and sent, the ranks' sum merged at
        once, the rounding error kept for the next one (the tables differ across ranks by
        these errors until :meth:`flush`, which ends the epoch)."""
        if self.wire != "bfloat16":
            self.sync()
            return
        t0 = time.perf_counter()
        sent = self._pass(None, self._all_spans())
        t1 = time.perf_counter()
        self._pending = self._start(0, False, sent, counts=False)
        _, got = self._wait()
        t2 = time.perf_counter()
        self._pass(got, None)
        self.syncs += 1
        self._round += 1
        self.parts["step"] += t1 - t0 + time.perf_counter() - t2
        self.parts["send"] += t2 - t1
        self.seconds += time.perf_counter() - t0

    def _all_spans(self) -> list[list[tuple[int, int]]]:
        """This sync's row spans of every table (:meth:`_spans`)."""
        return [self._spans(i) for i in range(len(self.tables))]

    def _pass(self, merged: tuple | None, spans: list | None) -> tuple[list, np.ndarray]:
        """One exchange pass over the tables (:func:`_exchange_rows`): merge ``merged`` (what
        :meth:`_wait` returned: the buffers of the exchange in flight, now the ranks' sum),
        and lay this rank's change of the rows ``spans[i]`` of table ``i`` out in a wire
        array (``None``: send nothing).  Returns ``([(table, first row, end row, buffer),
        ...], the wire array's part they fill)``, the buffers one after the other from its
        start.  With rare rows in turn, successive exchanges alternate between two wire
        arrays, so the one in flight is read while the next is written."""
        if not self._bases:
            self._bases = [s.copy() for s in self.snaps]  # the tables at the last sync
            first = (np.empty(self._delta_flat.size, dtype=np.uint16)
                     if self.wire == "bfloat16" else self._delta_flat)  # fmt: skip
            self._wires = [first] if self.tail_every == 1 else [first, np.empty_like(first)]
        wire = self._wires[self._sends % len(self._wires)]
        self._sends += 1
        rows = [(i, a, b) for i, ts in enumerate(spans or []) for a, b in ts]
        bufs = _carve(wire, [(b - a, self.tables[i].shape[1]) for i, a, b in rows])
        sent = [(i, a, b, buf) for (i, a, b), buf in zip(rows, bufs)]
        step = _exchange_rows_bf16 if self.wire == "bfloat16" else _exchange_rows
        none = wire[:0].reshape(0, 0)
        for t, (table, snap, base) in enumerate(zip(self.tables, self.snaps, self._bases)):
            ins = [(a, b, buf) for i, a, b, buf in (merged[0] if merged else []) if i == t]
            outs = [(a, b, buf) for i, a, b, buf in sent if i == t]
            for x, y, inb, outb in _segments(ins, outs):
                step(table[x:y], snap[x:y], base[x:y], none if inb is None else inb,
                     none if outb is None else outb, self._divisor, inb is not None,
                     outb is not None)  # fmt: skip
        return sent, wire[: sum(buf.size for buf in bufs)]

    def _start(self, words: int, active: bool, sent: tuple[list, np.ndarray],
               counts: bool = True) -> tuple:  # fmt: skip
        """Start the all_reduce of the buffers :meth:`_pass` filled (``sent``), in one
        collective, and of the counts; not waited for."""
        import torch
        import torch.distributed as dist

        from negkit.rec.distributed import guarded

        works = []
        if sent[1].size:  # (the same on every rank: the spans are)
            tensor = torch.from_numpy(sent[1])
            if self.wire == "bfloat16":
                tensor = tensor.view(torch.bfloat16)
            works.append(guarded(self.ctx, "all_reduce (table change)", dist.all_reduce, tensor,
                                 async_op=True))  # fmt: skip
            self.bytes_sent += sent[1].nbytes
        total = torch.tensor([float(words), float(active)], dtype=torch.float64)
        if counts:
            works.append(guarded(self.ctx, "all_reduce (word counts)", dist.all_reduce, total,
                                 async_op=True))  # fmt: skip
        return works, total, sent

    def _wait(self) -> tuple[tuple[int, int], tuple]:
        """Wait for the exchange in flight: ``((sum of words, active ranks), its buffers)``."""
        from negkit.rec.distributed import guarded

        works, counts, sent = self._pending
        for w in works:
            guarded(self.ctx, "all_reduce (table change)", w.wait)
        self._pending = None
        return (int(counts[0].item()), int(counts[1].item())), sent

    def flush(self) -> None:
        """End overlapped syncs: merge the exchange in flight, then every rank's change not
        yet sent (float32, as :meth:`sync`): the tables are the same on every rank again."""
        if self._pending is not None:
            t0 = time.perf_counter()
            _, got = self._wait()
            t1 = time.perf_counter()
            self._pass(got, None)  # table = snap + change not sent
            self.parts["wait"] += t1 - t0
            self.parts["step"] += time.perf_counter() - t1
            self.seconds += time.perf_counter() - t0
        self.sync(everything=True)
        for base, table in zip(self._bases, self.tables):
            base[...] = table
        self._round = 0

    def sync(self, everything: bool = False) -> None:
        """Merge every rank's changes since the last sync into every rank's tables: this
        sync's rows, or every row (``everything``)."""
        t0 = time.perf_counter()
        for i in range(len(self.tables)):
            for a, b in self._spans(i, everything):
                self._sync_table(i, a, b)
        self.syncs += 1
        self._round += 1
        self.seconds += time.perf_counter() - t0

    def _sync_table(self, i: int, a: int, b: int) -> None:
        """Merge rows ``a:b`` of table ``i``."""
        import torch
        import torch.distributed as dist

        from negkit.rec.distributed import guarded

        table, snap = self.tables[i][a:b], self.snaps[i][a:b]
        delta, touched = self._deltas[i][a:b], self._touched[i][a:b]
        n = b - a
        key = (i, a, b)
        parts = self.parts
        t0 = time.perf_counter()
        _change_and_touched(table, snap, delta, touched)
        t1 = time.perf_counter()
        parts["change"] += t1 - t0
        rows = np.zeros(0, dtype=np.int64)
        if self._whole_left.get(key, 0) > 0:  # the same on every rank: from a reduced mask
            self._whole_left[key] -= 1
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
            self._whole_left[key] = 7 if whole else 0
            if whole:
                rows = np.zeros(0, dtype=np.int64)
        part = delta if whole else np.ascontiguousarray(delta[rows])
        guarded(self.ctx, "all_reduce (table rows)", dist.all_reduce, torch.from_numpy(part))
        self.bytes_sent += part.nbytes
        t2 = time.perf_counter()
        parts["send"] += t2 - t1
        _apply_change(table, snap, part, rows, self._divisor)
        parts["apply"] += time.perf_counter() - t2
