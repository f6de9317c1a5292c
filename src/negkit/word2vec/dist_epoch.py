"""One epoch of data-parallel word2vec: this rank's shard, in rounds, a table sync after each.

The shard (Ji, Shao, Sundaram et al. 2016): when every rank reads the same corpus
(``sharded=False``), the epoch's chunks of about ``chunk_words`` words, in the epoch's order
(shuffled with ``shuffle``, as in one process), are dealt out in turn,
chunk ``g`` to rank ``g mod world_size``; when the pieces are already the rank's own
(``sharded=True``, e.g. walks drawn per rank) all their chunks are.  A round is the next
chunks of at least ``sync_words`` raw words, trained by the rank's ``workers`` threads;
then the ranks add up their word counts and merge their tables (:class:`TableSync`).  The
epoch ends at the first round in which no rank had words left, so every rank makes the same
collectives.  The learning rate of a chunk is set by the words trained over all ranks: the
count at the last sync plus ``world_size`` x the rank's own words since.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from negkit.word2vec.kernels_common import N_BINS, N_STATS, ST_NEGS
from negkit.word2vec.progress import epoch_record
from negkit.word2vec.threads import run_workers

__all__ = ["dist_epoch"]


def _rank_jobs(model: Any, chunks: Any, sharded: bool, e: int) -> Iterator[tuple]:
    """``(tokens, offsets, s_lo, s_hi, raw_words)`` of this rank's chunks of epoch ``e``, in
    the epoch's order (:func:`~negkit.word2vec.order.chunk_order`: the same on every rank)."""
    from negkit.word2vec.model import _chunk_bounds
    from negkit.word2vec.order import chunk_order

    ctx = model.dist
    g = 0
    for piece_no, (tokens, offsets) in enumerate(chunks):
        tokens, offsets = model._check_piece(tokens, offsets, piece_no)
        if tokens.size == 0:
            continue
        bounds = _chunk_bounds(offsets, model.chunk_words)
        for j in chunk_order(bounds.size - 1, model.shuffle, model.seed, e, piece_no):
            if sharded or g % ctx.world_size == ctx.rank:
                lo, hi = int(bounds[j]), int(bounds[j + 1])
                yield tokens, offsets, lo, hi, int(offsets[hi] - offsets[lo])
            g += 1


def _run_round(model: Any, jobs: list[tuple], starts: list[float], total: float, stats, hist,
               state: dict) -> None:  # fmt: skip
    """Train ``jobs`` on the rank's threads; job i starts at global word count ``starts[i]``."""
    call = state["call"]
    sampler = model.sampler_
    lock = threading.Lock()
    next_job = [0]

    def worker(t: int) -> None:
        ctx = model.ctxs_[t]
        while True:
            with lock:
                j = next_job[0]
                next_job[0] += 1
                draw, dstate = state["draw_state"]
            if j >= len(jobs):
                return
            tokens, offsets, lo, hi, _ = jobs[j]
            call(tokens, offsets, lo, hi, starts[j], total, draw, dstate, ctx, stats[t], hist[t])
            if t == 0:
                tr = time.perf_counter()
                if sampler.maybe_refresh(model.ctxs_):
                    state["draw_state"] = model._draw_kernel()
                state["refresh_s"] += time.perf_counter() - tr

    run_workers(worker, model.workers)


def dist_epoch(model: Any, chunks: Any, e: int, epochs: int, total_words: int, bar: Any,
               sharded: bool) -> dict:  # fmt: skip
    """Epoch ``e`` of ``epochs`` on this rank; the record adds ``syncs``, ``sync_seconds``,
    ``sync_bytes`` (this rank's), ``rank_words`` (the words this rank trained) and this rank's
    time by part: ``train_seconds`` (its rounds; ``train_cpu_seconds`` the CPU time of the
    training thread in them, lower when other work took the core), ``counts_seconds`` (the
    per-round word counts, with the wait for the slower rank; 0 with ``sync_overlap``),
    ``sync_parts`` (:attr:`TableSync.parts`)."""
    sync = model._table_sync
    world = model.dist.world_size
    total = float(epochs) * total_words
    n_thr = model.workers
    stats = np.zeros((n_thr, 16), dtype=np.float64)[:, :N_STATS]
    hist = np.zeros((n_thr, N_BINS), dtype=np.int64)
    state = {"call": model._kernel_call(), "draw_state": model._draw_kernel(), "refresh_s": 0.0}
    syncs0, sec0, bytes0 = sync.syncs, sync.seconds, sync.bytes_sent
    done = float(e) * total_words  # words trained over all ranks, as last counted
    ahead = 0  # this rank's words trained since (in rounds not yet counted)
    uncounted: list[int] = []  # overlap: this rank's words of the rounds not yet counted
    mine = 0
    last = None
    alpha_span = model.alpha - model.min_alpha
    jobs = _rank_jobs(model, chunks, sharded, e)
    parts0 = dict(sync.parts)
    train_s = train_cpu = counts_s = 0.0
    t0 = time.perf_counter()
    while True:
        round_jobs, starts, words = [], [], 0
        while words < model.sync_words:
            job = next(jobs, None)
            if job is None:
                break
            round_jobs.append(job)
            starts.append(done + world * (ahead + words))
            words += job[4]
        tr, tr_cpu = time.perf_counter(), time.thread_time()
        if round_jobs:
            last = round_jobs[-1][:2]
            _run_round(model, round_jobs, starts, total, stats, hist, state)
            mine += words
        ahead += words
        tc = time.perf_counter()
        train_s += tc - tr
        train_cpu += time.thread_time() - tr_cpu
        if sync.overlap:
            uncounted.append(words)
            counted = sync.exchange(words, bool(round_jobs))
            if counted is None:
                continue
            ahead -= uncounted.pop(0)
        else:
            counted = sync.counts(words, bool(round_jobs))
            ahead = 0
            counts_s += time.perf_counter() - tc
        all_words, active = counted
        if active == 0:  # (overlap: the round in flight is empty everywhere too)
            break
        done += all_words
        if not sync.overlap:
            sync.merge()
        bar.update(all_words, model.alpha - alpha_span * min(1.0, done / total))
    if sync.needs_flush:
        sync.flush()
    seconds = time.perf_counter() - t0
    tot = stats.sum(axis=0)
    lr = model.alpha - alpha_span * min(1.0, (e + 1) / epochs)
    s_sec = model._sampler_seconds(last, float(tot[ST_NEGS]), e) + state["refresh_s"] / n_thr
    rec = epoch_record(e + 1, seconds, tot, hist.sum(axis=0), lr, s_sec,
                       getattr(model.sampler_, "name", type(model.sampler_).__name__))  # fmt: skip
    rec.update(
        rank_words=mine,
        syncs=sync.syncs - syncs0,
        sync_seconds=sync.seconds - sec0,
        sync_bytes=sync.bytes_sent - bytes0,
        train_seconds=train_s,
        train_cpu_seconds=train_cpu,  # of this thread: below train_seconds when it waited
        counts_seconds=counts_s,
        sync_parts={k: v - parts0[k] for k, v in sync.parts.items()},
    )
    return rec
