"""Compiled rebuilds of the adaptive sampler's state (see :mod:`negkit.samplers.adaptive`).

* :func:`build_orders` -- σ of every column of the output table and, for every column, the
  ``K`` first and ``K`` last items of its descending order (or the whole order when
  ``2K >= |V|``): a pass over the table for σ, a row-major pass for the candidates of both
  ends of every column, and a sort of those;
* :func:`build_dim_alias` -- for every row ``v`` of the input table, an alias table
  (Walker 1977; Vose 1991) over the d dimensions with weights ``|v_f| σ_f``, and the sign of
  every ``v_f``, packed in one ``uint32`` per cell.

Order: descending value, ties by ascending item id (a total order, so ``distribution()``
and the draws agree exactly); NaN sorts as the IEEE bit pattern says.  Keys are packed in a
``uint64``: 32 monotone bits of the float32 value, then 32 bits of the item id.

Candidates for the top end are the items whose key beats the key at quantile
``p' = K/n + 4 sqrt(p(1-p)/m) + 2/m`` of a random sample of ``m`` rows (a sample quantile
overshoots the true one by about ``sqrt(p(1-p)/m)``): about ``1.3 K`` of them (with the
default λ = 0.01 |V|) are sorted instead of the whole column.  When the sample misjudges
(fewer than ``K`` candidates, or more than the buffer holds) that column is sorted whole:
the result is exact either way.
"""

from __future__ import annotations

import math

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from negkit._jit import kernel

#: Packed dimension-alias cell: bits 0-16 threshold (0..2^16), 17-29 alias, 30/31 signs.
THR_BITS, ALIAS_SHIFT, ALIAS_MASK = 17, 17, 0x1FFF
SIGN_SELF, SIGN_ALIAS = 30, 31
MAX_DIMS = ALIAS_MASK + 1
ONE = 1 << 16  # threshold scale: a cell keeps its own dimension when 16 random bits < thr

_M32 = np.uint64(0xFFFFFFFF)
_MAX = np.uint64(0xFFFFFFFFFFFFFFFF)
_I32_MAX = (1 << 31) - 1


@kernel(inline="always")
def _asc(u):
    """float32 bits -> uint32 bits in the same order as the floats (as uint64), branch-free:
    negative floats have every bit flipped, the others only the sign bit."""
    u = np.uint64(u)
    return u ^ (((np.uint64(0) - (u >> np.uint64(31))) & _M32) | np.uint64(0x80000000))


@kernel(inline="always")
def _top_key(u, i):
    """Ascending in (value descending, id ascending)."""
    return (((~_asc(u)) & _M32) << np.uint64(32)) | np.uint64(i)


@kernel(inline="always")
def _bottom_key(u, i):
    """Ascending in (value ascending, id descending): the descending order read backwards."""
    return (_asc(u) << np.uint64(32)) | (_M32 - np.uint64(i))


@kernel
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


_GATHER = np.uint64(0x0102040810204080)  # byte k's low bit -> bit 56 + k of the product
_LOW_BITS = np.uint64(0x0101010101010101)


@kernel(inline="always")
def _signed_key(x):
    """float32 bits (as int32) -> an int32 in the same order as the floats, without branches:
    negative floats have their magnitude bits flipped.  ``_asc(u) = _signed_key(x) + 2^31``.
    (In int32, the comparisons of :func:`_select` take eight lanes a vector, not four.)"""
    return x ^ ((x >> np.int32(31)) & np.int32(0x7FFFFFFF))


@kernel(inline="always")
def _block_mask(flags, w0):
    """The low bits of the 64 flag bytes from word ``w0`` of ``flags`` (viewed as uint64)
    gathered into one word: bit k set when byte k is 1."""
    m = np.uint64(0)
    for j in range(8):
        m |= (((flags[w0 + j] & _LOW_BITS) * _GATHER) >> np.uint64(56)) << np.uint64(8 * j)
    return m


@kernel
def _select(bits, key_top, id_top, key_bot, id_bot, top, bot, n_top, n_bot):
    """One row-major pass: the packed keys below each column's threshold (the candidates of
    both ends of every column) into the rows of ``top`` / ``bot``, in row order; their
    numbers in ``n_*`` (which may exceed the room, ``top.shape[1]``: the excess is not
    written).  A top key is below its column's threshold ``(s_f, i_f)`` when the value's
    :func:`_signed_key` ``s > s_f``, or ``s == s_f`` and the row ``i < i_f``; at the bottom,
    ``s < s_f``, or ``s == s_f`` and ``i > i_f`` (see :func:`_split_thresholds`).

    Each row is compared whole into two rows of flag bytes (a loop that vectorises); the
    flags are gathered 64 to a word, and only the kept keys (about 12% at each end) are
    written, one per set bit.  A branch per key would mispredict about once in eight.
    """
    n, d = bits.shape
    words = 8 * ((d + 63) // 64)
    flag_top = np.zeros(8 * words, dtype=np.uint8)
    flag_bot = np.zeros(8 * words, dtype=np.uint8)
    top64 = flag_top.view(np.uint64)
    bot64 = flag_bot.view(np.uint64)
    x32 = bits.view(np.int32)
    n_top[:] = 0
    n_bot[:] = 0
    for i in range(n):
        row = x32[i]
        i32 = np.int32(i)  # n < 2^31 (build_orders)
        for f in range(d):
            s = _signed_key(row[f])
            flag_top[f] = (s > key_top[f]) | ((s == key_top[f]) & (i32 < id_top[f]))
            flag_bot[f] = (s < key_bot[f]) | ((s == key_bot[f]) & (i32 > id_bot[f]))
        row_bits = bits[i]
        for w0 in range(0, words, 8):
            _append_kept(_block_mask(top64, w0), 8 * w0, i, row_bits, top, n_top, False)
            _append_kept(_block_mask(bot64, w0), 8 * w0, i, row_bits, bot, n_bot, True)


@kernel(inline="always")
def _append_kept(mask, f0, i, row, keys, count, bottom):
    """Row i's key of column ``f0 + k`` (bottom or top) appended to ``keys[f0 + k]`` for every
    bit k of ``mask``; ``count`` counts them all, and past the room (``keys.shape[1]``) the
    last slot takes the excess (the column will be sorted whole)."""
    last = keys.shape[1] - 1
    while mask != 0:
        f = f0 + trailing_zeros(mask)
        mask &= mask - np.uint64(1)
        c = count[f]
        keys[f, min(c, last)] = _bottom_key(row[f], i) if bottom else _top_key(row[f], i)
        count[f] = c + 1


def _split_thresholds(thr_top: np.ndarray, thr_bot: np.ndarray) -> tuple[np.ndarray, ...]:
    """Packed-key thresholds -> ``(s, i)`` pairs for :func:`_select`: a top key
    ``(~asc) << 32 | i`` is below ``thr`` when ``asc > asc_thr``, or equal and ``i < i_thr``;
    a bottom key ``asc << 32 | (2^32 - 1 - i)`` when ``asc < asc_thr``, or equal and
    ``i > 2^32 - 1 - low(thr)``.  ``asc = s + 2^31``.  All four in int32: row ids are below
    ``2^31 - 1``, so a row threshold at or above it can be clipped there."""
    m32 = np.int64(0xFFFFFFFF)
    hi_top = (thr_top >> np.uint64(32)).astype(np.int64)
    hi_bot = (thr_bot >> np.uint64(32)).astype(np.int64)
    i_top = (thr_top & _M32).astype(np.int64)
    i_bot = m32 - (thr_bot & _M32).astype(np.int64)
    return (
        (np.int64(0x7FFFFFFF) - hi_top).astype(np.int32),
        np.minimum(i_top, _I32_MAX).astype(np.int32),
        (hi_bot - np.int64(1 << 31)).astype(np.int32),
        np.minimum(i_bot, _I32_MAX).astype(np.int32),
    )


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
    if n >= _I32_MAX:
        raise ValueError(f"the output table has {n} rows; at most {_I32_MAX - 1} are supported")
    w = orders.shape[1]
    bits = out.view(np.uint32)
    _column_sigma(out, sigma)
    if w == n:
        orders[:] = (np.sort(_all_top_keys(bits), axis=1) & _M32).astype(orders.dtype)
        return d
    cap = candidate_cap(n, reach, sample.shape[0])
    top = np.empty((d, cap), dtype=np.uint64)
    bot = np.empty((d, cap), dtype=np.uint64)
    n_top = np.zeros(d, dtype=np.int64)
    n_bot = np.zeros(d, dtype=np.int64)
    _select(bits, *_split_thresholds(*_thresholds(bits, reach, sample)), top, bot, n_top, n_bot)
    ok = (n_top >= reach) & (n_top <= cap) & (n_bot >= reach) & (n_bot <= cap)
    for f in np.flatnonzero(ok):  # sort the kept keys only, in place
        keys = top[f, : n_top[f]]
        keys.sort()
        orders[f, :reach] = keys[:reach] & _M32
        keys = bot[f, : n_bot[f]]
        keys.sort()
        orders[f, w - reach :] = _M32 - (keys[reach - 1 :: -1] & _M32)
    bad = np.flatnonzero(~ok)
    for f in bad:  # the sample misjudged this column: sort it whole
        keys = np.sort(_all_top_keys(bits[:, f : f + 1])[0])
        orders[f, :reach] = (keys[:reach] & _M32).astype(orders.dtype)
        orders[f, w - reach :] = (keys[n - reach :] & _M32).astype(orders.dtype)
    return int(bad.size)


def _thresholds(bits: np.ndarray, reach: int, sample: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keys at quantile ``p' = p + 4 sqrt(p(1-p)/m) + 2/m`` of the sample, for both ends.

    An item's bottom key is the bitwise complement of its top key (the same order reversed),
    so one partition of the sample's top keys gives both: the q-th smallest bottom key is the
    complement of the q-th largest top key."""
    n, d = bits.shape
    m = sample.shape[0]
    p = reach / n
    q = math.ceil((p + 4.0 * math.sqrt(p * (1.0 - p) / m) + 2.0 / m) * m)
    if q >= m:
        return np.full(d, _MAX), np.full(d, _MAX)
    keys = _sample_top_keys(bits, sample)
    # two partitions with one kth each: numpy's SIMD path takes a single kth only
    top = np.partition(keys, q, axis=1)[:, q]
    return top, ~np.partition(keys, m - 1 - q, axis=1)[:, m - 1 - q]


@kernel
def _sample_top_keys(bits, sample):
    d = bits.shape[1]
    m = sample.shape[0]
    top = np.empty((d, m), dtype=np.uint64)
    for j in range(m):
        for f in range(d):
            top[f, j] = _top_key(bits[sample[j], f], sample[j])
    return top


@kernel
def _all_top_keys(bits):
    n, d = bits.shape
    keys = np.empty((d, n), dtype=np.uint64)
    for i in range(n):
        for f in range(d):
            keys[f, i] = _top_key(bits[i, f], i)
    return keys


@kernel
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
