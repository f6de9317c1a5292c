"""Compiled rebuilds of the adaptive sampler's state (see :mod:`negkit.samplers.adaptive`).

* :func:`build_orders` -- σ of every column of the output table and, for every column, the
  ``K`` first and ``K`` last items of its descending order (or the whole order when
  ``2K >= |V|``), in one row-major pass over the table plus a sort of the candidates;
* :func:`build_dim_alias` -- for every row ``v`` of the input table, an alias table
  (Walker 1977; Vose 1991) over the d dimensions with weights ``|v_f| σ_f``, and the sign of
  every ``v_f``, packed in one ``uint32`` per cell.

Order: descending value, ties by ascending item id (a total order, so ``distribution()``
and the draws agree exactly); NaN sorts as the IEEE bit pattern says.  Keys are packed in a
``uint64``: 32 monotone bits of the float32 value, then 32 bits of the item id.

Candidates for the top end are the items whose key beats the key at quantile
``p' = K/n + 4 sqrt(p(1-p)/m) + 2/m`` of a random sample of ``m`` rows (a sample quantile
overshoots the true one by about ``sqrt(p(1-p)/m)``): about ``1.1 K`` of them are sorted
instead of the whole column.  When the sample misjudges (fewer than ``K`` candidates, or more
than the buffer holds) that column is sorted whole: the result is exact either way.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Packed dimension-alias cell: bits 0-16 threshold (0..2^16), 17-29 alias, 30/31 signs.
THR_BITS, ALIAS_SHIFT, ALIAS_MASK = 17, 17, 0x1FFF
SIGN_SELF, SIGN_ALIAS = 30, 31
MAX_DIMS = ALIAS_MASK + 1
ONE = 1 << 16  # threshold scale: a cell keeps its own dimension when 16 random bits < thr

#: Rows of the output table per tile of the candidate pass (a tile of 100 dims: 100 KB).
_TILE = 256

_M32 = np.uint64(0xFFFFFFFF)
_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(nogil=True, inline="always")
def _asc(u):
    """float32 bits -> uint32 bits in the same order as the floats (as uint64), branch-free:
    negative floats have every bit flipped, the others only the sign bit."""
    u = np.uint64(u)
    return u ^ (((np.uint64(0) - (u >> np.uint64(31))) & _M32) | np.uint64(0x80000000))


@njit(nogil=True, inline="always")
def _top_key(u, i):
    """Ascending in (value descending, id ascending)."""
    return (((~_asc(u)) & _M32) << np.uint64(32)) | np.uint64(i)


@njit(nogil=True, inline="always")
def _bottom_key(u, i):
    """Ascending in (value ascending, id descending): the descending order read backwards."""
    return (_asc(u) << np.uint64(32)) | (_M32 - np.uint64(i))


@njit(nogil=True, cache=True)
def _column_sigma(out, sigma):
    n, d = out.shape
    s1 = np.zeros(d)
    s2 = np.zeros(d)
    for i in range(n):
        for f in range(d):
            x = np.float64(out[i, f])
            s1[f] += x
            s2[f] += x * x
    for f in range(d):
        m = s1[f] / n
        sigma[f] = math.sqrt(max(s2[f] / n - m * m, 0.0))


@njit(nogil=True, cache=True)
def _select(bits, thr_top, thr_bot, top, bot, n_top, n_bot):
    """One row-major pass: the packed keys below ``thr_*[f]`` (the candidates of both ends of
    every column) into ``top`` / ``bot`` (rows padded with the largest key), counts in ``n_*``.

    Branch-free (about 12% of the keys are kept at each end: branches would mispredict): every
    key is written at its column's next slot, which only advances when the key is kept; the
    last column of ``top`` / ``bot`` takes the writes past the capacity (it is not a slot).
    """
    n, d = bits.shape
    cap = top.shape[1] - 1
    top[:] = _MAX
    bot[:] = _MAX
    n_top[:] = 0
    n_bot[:] = 0
    for i0 in range(0, n, _TILE):  # tiles of rows that stay in cache while each column is read
        i1 = min(n, i0 + _TILE)
        for f in range(d):
            ct = n_top[f]
            cb = n_bot[f]
            tt = thr_top[f]
            tb = thr_bot[f]
            for i in range(i0, i1):
                u = bits[i, f]
                kt = _top_key(u, i)
                kb = _bottom_key(u, i)
                top[f, min(ct, cap)] = kt
                bot[f, min(cb, cap)] = kb
                ct += kt < tt
                cb += kb < tb
            n_top[f] = ct
            n_bot[f] = cb
    for f in range(d):  # the slot after the last kept key was written, not kept
        if n_top[f] < cap:
            top[f, n_top[f]] = _MAX
        if n_bot[f] < cap:
            bot[f, n_bot[f]] = _MAX


def candidate_cap(n: int, reach: int, m: int) -> int:
    """Room for the candidates of one end: ``p + 9 sqrt(p(1-p)/m)`` of the column, p = K/n."""
    p = reach / n
    return min(n, math.ceil((p + 9.0 * math.sqrt(p * (1.0 - p) / m) + 4.0 / m) * n) + 64)


def build_orders(out: np.ndarray, reach: int, sample: np.ndarray, orders: np.ndarray,
                 sigma: np.ndarray) -> int:  # fmt: skip
    """Fill ``sigma[f]`` and ``orders[f]`` (``orders[f, r]``: the item at rank r from the
    top for ``r < K``; ``orders[f, W-1-r]``: the item at rank r from the bottom), exactly.

    ``sample``: random row ids (the quantile sample).  Candidates are selected by a
    compiled pass and sorted by numpy (a SIMD sort of the packed keys).  Returns the number
    of columns that needed a whole sort.
    """
    n, d = out.shape
    w = orders.shape[1]
    bits = out.view(np.uint32)
    _column_sigma(out, sigma)
    if w == n:
        orders[:] = (np.sort(_all_top_keys(bits), axis=1) & _M32).astype(orders.dtype)
        return d
    cap = candidate_cap(n, reach, sample.shape[0])
    top_buf = np.empty((d, cap + 1), dtype=np.uint64)  # the last column: writes past cap
    bot_buf = np.empty((d, cap + 1), dtype=np.uint64)
    n_top = np.zeros(d, dtype=np.int64)
    n_bot = np.zeros(d, dtype=np.int64)
    thr_top, thr_bot = _thresholds(bits, reach, sample)
    _select(bits, thr_top, thr_bot, top_buf, bot_buf, n_top, n_bot)
    top = top_buf[:, :cap]
    bot = bot_buf[:, :cap]
    top.sort(axis=1)
    bot.sort(axis=1)
    orders[:, :reach] = (top[:, :reach] & _M32).astype(orders.dtype)
    orders[:, w - reach :] = (_M32 - (bot[:, reach - 1 :: -1] & _M32)).astype(orders.dtype)
    bad = np.flatnonzero((n_top < reach) | (n_top > cap) | (n_bot < reach) | (n_bot > cap))
    for f in bad:  # the sample misjudged this column: sort it whole
        keys = np.sort(_all_top_keys(bits[:, f : f + 1])[0])
        orders[f, :reach] = (keys[:reach] & _M32).astype(orders.dtype)
        orders[f, w - reach :] = (keys[n - reach :] & _M32).astype(orders.dtype)
    return int(bad.size)


def _thresholds(bits: np.ndarray, reach: int, sample: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keys at quantile ``p' = p + 4 sqrt(p(1-p)/m) + 2/m`` of the sample, for both ends."""
    n, d = bits.shape
    m = sample.shape[0]
    p = reach / n
    q = math.ceil((p + 4.0 * math.sqrt(p * (1.0 - p) / m) + 2.0 / m) * m)
    if q >= m:
        return np.full(d, _MAX), np.full(d, _MAX)
    top, bot = _sample_keys(bits, sample)
    return np.partition(top, q, axis=1)[:, q], np.partition(bot, q, axis=1)[:, q]


@njit(nogil=True, cache=True)
def _sample_keys(bits, sample):
    d = bits.shape[1]
    m = sample.shape[0]
    top = np.empty((d, m), dtype=np.uint64)
    bot = np.empty((d, m), dtype=np.uint64)
    for j in range(m):
        for f in range(d):
            top[f, j] = _top_key(bits[sample[j], f], sample[j])
            bot[f, j] = _bottom_key(bits[sample[j], f], sample[j])
    return top, bot


@njit(nogil=True, cache=True)
def _all_top_keys(bits):
    n, d = bits.shape
    keys = np.empty((d, n), dtype=np.uint64)
    for i in range(n):
        for f in range(d):
            keys[f, i] = _top_key(bits[i, f], i)
    return keys


@njit(nogil=True, cache=True)
def build_dim_alias(inp, sigma, table):
    """``table[a, j]``: the alias cell j of row ``a`` for ``p(f) ∝ |inp[a, f]| σ_f``.

    The weights are first rounded to integers summing to exactly ``d 2^16`` (the largest
    absorbs the rounding), then paired by Vose's method in integer arithmetic, without
    data-dependent branches.  A draw picks j uniformly, keeps j when 16 random bits are below
    the threshold, else takes the alias; the cell also holds both dimensions' signs
    (1: ``v_f > 0``, read from the top).  Rows whose weights are all 0 (or not finite) get
    the uniform law over the dimensions.
    """
    n, d = inp.shape
    wt = np.empty(d, dtype=np.int64)
    small = np.empty(d + 1, dtype=np.int64)
    large = np.empty(d + 1, dtype=np.int64)
    ali = np.empty(d, dtype=np.int64)
    total = d * ONE
    for a in range(n):
        tot = 0.0
        for f in range(d):
            tot += abs(np.float64(inp[a, f])) * sigma[f]
        if tot > 0.0 and tot < np.inf:
            scale = total / tot
            acc = 0
            big = 0
            for f in range(d):
                wt[f] = np.int64(abs(np.float64(inp[a, f])) * sigma[f] * scale + 0.5)
                acc += wt[f]
                if wt[f] > wt[big]:
                    big = f
            wt[big] += total - acc
        else:
            wt[:] = ONE
        ns = 0
        nl = 0
        for f in range(d):
            ali[f] = f
            lo = wt[f] < ONE
            small[ns] = f
            large[nl] = f
            ns += lo
            nl += 1 - lo
        while ns > 0 and nl > 0:
            ns -= 1
            sm = small[ns]
            g = large[nl - 1]
            ali[sm] = g
            wt[g] -= ONE - wt[sm]
            lo = wt[g] < ONE
            small[ns] = g
            ns += lo
            nl -= lo
        for t in range(nl):  # exact integers: what is left is full
            wt[large[t]] = ONE
        for t in range(ns):
            wt[small[t]] = ONE
        for f in range(d):
            g = ali[f]
            table[a, f] = np.uint32(
                wt[f]
                | (g << ALIAS_SHIFT)
                | (np.int64(inp[a, f] > 0) << SIGN_SELF)
                | (np.int64(inp[a, g] > 0) << SIGN_ALIAS)
            )


def alias_dim_probs(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact law of one row of alias cells: ``(p(f), top(f))``.

    ``p(f) = (thr_f + Σ_{g: alias_g = f} (2^16 - thr_g)) / (2^16 d)``; ``top(f)`` is the sign
    bit stored for f (True: read from the top of the order).
    """
    cells = np.asarray(cells, dtype=np.uint64)
    d = cells.shape[0]
    thr = (cells & ((1 << THR_BITS) - 1)).astype(np.float64)
    ali = ((cells >> ALIAS_SHIFT) & ALIAS_MASK).astype(np.int64)
    p = thr.copy()
    np.add.at(p, ali, ONE - thr)
    top = ((cells >> SIGN_SELF) & 1).astype(bool)
    return p / (ONE * d), top


def dim_slot_count(d: int) -> int:
    """Slots ``L`` of the dimension proposal: a power of two, at least ``max(1024, 8 d)``."""
    return 1 << max(10, math.ceil(math.log2(8 * d)))


def build_dim_proposal(sigma: np.ndarray, spread: np.ndarray | None, slots: np.ndarray,
                       scale: np.ndarray) -> None:  # fmt: skip
    """The static proposal of the exact dimension choice (rebuilt with the orders).

    Rejection sampling from ``p(f | v) ∝ |v_f| σ_f`` is exact under any proposal ``q`` that
    is positive on every dimension; it takes ``max_f (|v_f| σ_f / q_f) / Σ_f |v_f| σ_f``
    trials.  Uniform ``q`` takes ``d max_f w_f / Σ_f w_f`` (about 4.3 on trained skip-gram
    vectors, whose dimensions differ ten-fold in typical magnitude); ``q_f ∝ σ_f s_f``, with
    ``s_f`` the typical ``|v_f|`` of an anchor (``spread``, the root mean square of a sample
    of anchor rows), about 2.7.  ``q`` is quantised to ``n_f >= 1`` slots out of ``L``
    (``slots``: ``n_f`` copies of f); ``scale[f] = σ_f L / n_f`` (float32) makes the
    acceptance test ``u max_g |v_g| scale_g < |v_f| scale_f``, and the law exactly
    ``∝ |v_f| n_f scale_f`` (σ_f up to float32 rounding).  Without a usable ``spread``
    (None, zero or not finite), ``q ∝ σ``; without usable σ, uniform.
    """
    d = sigma.shape[0]
    n_slots = slots.shape[0]
    sig = np.asarray(sigma, dtype=np.float64)
    q = sig if spread is None else sig * np.asarray(spread, dtype=np.float64)
    if not (np.all(np.isfinite(q)) and q.sum() > 0.0):
        q = sig if np.all(np.isfinite(sig)) and sig.sum() > 0.0 else np.ones(d)
    q = q / q.sum()
    share = q * (n_slots - d)
    n = 1 + np.floor(share).astype(np.int64)  # every dimension keeps a slot
    left = n_slots - int(n.sum())
    if left > 0:  # largest remainders
        n[np.argsort(np.floor(share) - share, kind="stable")[:left]] += 1
    slots[:] = np.repeat(np.arange(d, dtype=slots.dtype), n)
    scale[:] = (sig * n_slots / n).astype(np.float32)


def dim_proposal_counts(slots: np.ndarray, d: int) -> np.ndarray:
    """``n_f``: the slots of each dimension in a proposal table."""
    return np.bincount(slots, minlength=d)
