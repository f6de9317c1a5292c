"""Adaptive sampling by self-embedded features (the ``adaptive`` sampler).

Chen, Yuan, Jose & Zhang (WSDM 2018), "Improving Negative Sampling for Word
Representation using Self-embedded Features" (arXiv 1710.09805), after AOBPR:
Rendle & Freudenthaler (WSDM 2014), "Improving Pairwise Learning for Item
Recommendation from Implicit Feedback".

Distribution, for an anchor with vector ``v`` (d dims) and output table ``O`` (|V| rows):

* choose a dimension ``f`` with ``p(f | v) = |v_f| σ_f / Σ_g |v_g| σ_g``, σ_f the standard
  deviation of column f of ``O``;
* draw a rank ``r`` with ``p(r) ∝ exp(-r/λ)`` in O(1) from an alias table of the rank law
  (Walker 1977), one 64-bit random number a draw (thresholds quantised to 2^-32);
* return the item at rank ``r`` of column f sorted in descending order when ``v_f > 0``,
  at rank ``r`` from the bottom otherwise.

So ``q(i | v) = Σ_f p(f | v) p(rank_f(i))``, exactly what :meth:`AdaptiveSampler.distribution`
returns, in every mode below.

Rank law (``eps``).  The paper's law lives on ``[0, |V|)``.  With ``eps > 0`` (default
``1e-4``) it is truncated at ``K = min{k : P(r >= k) <= eps}`` (``K ≈ λ ln(1/eps)``, 9.2 λ
for 1e-4) and renormalised on ``[0, K)``: at most ``eps`` of mass moves to the first K
ranks, and only the K first and K last items of each column need ordering.  ``eps=0`` keeps
the paper's law (its table stops at ``37 λ``, beyond which ranks have mass below 1e-16).

Dimension choice (``dims``).

* ``"exact"`` (default): from the live ``vec``, without allocation, by rejection (valid for
  any ``vec``, CBOW's context mean included).  The proposal is static between refreshes:
  ``q_f ∝ σ_f s_f``, ``s_f`` the root mean square of column f over a sample of anchor rows
  (``input``, weighted by ``counts^0.75`` when those are the anchors'), quantised to slots;
  the envelope ``m = max_f |v_f| σ_f / q_f`` is one vectorised O(d) pass per pair.  It takes
  ``m / Σ_f |v_f| σ_f`` trials: about 1.9-2.7 on trained skip-gram vectors, whose columns
  differ ten-fold in typical magnitude, against 4.3-6.6 under a uniform proposal.  Trials
  are tested eight at a time without branches (the coin has 22 bits for d <= 128, 16 at
  least).  The pair kernel (:meth:`AdaptiveSampler.pair_kernel`, what the skip-gram trainer
  and ``sample`` use) forms the envelope once for a pair's k draws; the per-draw kernel
  keeps it in the thread's context, keyed by sampler, generation, pair and anchor (trainers
  call :func:`negkit._rng.next_pair` before a pair's draws).  As in the paper, ``p(f | v)``
  is formed once per context word.
* ``"snapshot"``: at every refresh, an alias table over the d dimensions is built for every
  row of the input table (``fit(input=...)``), with weights ``|v_f| σ_f`` and the signs of
  ``v_f`` taken from that row then; a draw is one 64-bit random number (32 bits for the
  cell, 16 for the alias threshold, which is quantised to 2^-16) plus the rank draw.  This
  changes the paper in one way: ``p(f | v)`` and the side of the order are as fresh as the
  last refresh, like the orders themselves, instead of following ``v`` between refreshes.
  Only valid when ``vec`` is the anchor's own input row (skip-gram, MF, LINE: the
  ``anchor`` id indexes ``input``); anchors outside the input table fall back to the exact
  choice from ``vec``.  ``distribution(anchor)`` is exact for the quantised tables.

Cost per draw: O(1) for the rank and the item; the dimension O(d) once per pair plus about
2-3 O(1) trials (exact; eight are tested at a time in the pair kernel) or O(1) (snapshot).
Rebuild, every ``refresh_every`` draws (default ``|V| ln |V|``, the paper's): σ in one
pass over ``O`` and the candidates in another (O(d |V|)), then a sort of about
``1.3 K`` candidates at each end of every column (O(d K log K)); snapshot adds O(d) per
input row, the proposal O(d m) for a sample of m = 2048 anchor rows.  Compiled (numba),
and it releases the GIL.

Device path (``dims="exact"``): the same mixture with torch ops on the anchors' device --
``f`` by inverse CDF over ``|v_f| σ_f``, ``r`` by inverse CDF over :meth:`rank_pmf`, the item
from the column's end -- with its own state there (:attr:`device_state`): σ and the K first and
K last items of every column, rebuilt on the device from the live output table (one
``torch.sort`` of the columns, stable: ties by item id, as the host's orders) every
``refresh_every`` draws made there, and at the next draw after a :meth:`refresh`.  The
device's state may be newer than the host's (the live table is the device's), so
``return_proba=True`` on the device gives the law of that state, not :meth:`distribution`'s.
``dims="snapshot"`` draws on the host.

State: two buffers of per-column ends (``2 x d x W`` item ids, ``W = min(|V|, 2K)``; uint16
when ``|V| <= 65536``, else int32), of σ (``2 x d``), of the proposal (``2 x L`` slots,
``L = max(1024, 8 d)`` rounded up to a power of two, and ``2 x d`` scales) and, for
``"snapshot"``, of the alias cells (uint32, ``2 x rows x d``), a generation counter whose
parity names the live buffer, and the rank's alias cells (8 bytes per reachable rank).
``refresh`` writes the spare buffers and then publishes them by one aligned 64-bit store of
the generation, so a thread drawing meanwhile sees either the old state or the new one,
never a half-written list.  (The buffer a thread reads can only be
overwritten two refreshes later.)  With ``refresh_async=True``, :meth:`maybe_refresh` runs
the rebuild in a background thread and training goes on with the old state until it is
published.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

from negkit._bits import bits_f32, bits_f64, f32_bits, f64_bits
from negkit._jit import kernel
from negkit._rng import (
    CTX_DRAWS,
    CTX_PAIR,
    CTX_SCRATCH,
    next_pair,
    next_u64,
    rand_float,
    rand_int,
    xorshift_step,
)
from negkit.samplers._adaptive_build import (
    ALIAS_MASK,
    ALIAS_SHIFT,
    MAX_DIMS,
    SIGN_ALIAS,
    SIGN_SELF,
    THR_BITS,
    alias_dim_probs,
    build_dim_alias,
    build_dim_proposal,
    build_orders,
    dim_proposal_counts,
    dim_slot_count,
)
from negkit.samplers._kernels import check_count, check_flag, check_positive, trunc_geom_pmf
from negkit.samplers.alias import build_alias
from negkit.samplers.base import Sampler, excluded_mixture
from negkit.samplers.registry import register

#: Rows of the output table sampled to place the candidate thresholds of a rebuild.
QUANTILE_SAMPLE = 2048
DIMS_MODES = ("exact", "snapshot")
RANK_ALIAS_SHIFT = 33
_M32 = np.uint64(0xFFFFFFFF)
_THR33 = np.uint64((1 << 33) - 1)


@kernel(_nrt=False)
def _envelope(vec, scale, b):
    """``max_f |v_f| scale_f`` in one vectorised pass (plus 1e-6 for the float32 rounding).

    The products are ``>= 0`` or NaN, whose bit patterns, read as unsigned integers, sort as
    their values do (NaN above ``inf``): so the max is an integer max, which vectorises with no
    fast-math promise.  A NaN or ``inf`` product makes the envelope NaN or ``inf``, which
    :func:`_pick_dim` sends to the exact scan.
    """
    m = np.uint32(0)
    for f in range(vec.shape[0]):
        x = f32_bits(abs(vec[f]) * scale[b, f])
        if x > m:
            m = x
    return np.float64(bits_f32(m)) * (1.0 + 1e-6)


@kernel(_nrt=False)
def _pick_dim(vec, slots, scale, sigma, b, m, ctx):
    """``f`` with ``p(f) ∝ |v_f| σ_f``, by rejection from the proposal ``slots[b]`` (``n_f``
    slots of ``L`` for f) under the envelope ``m = max_f |v_f| scale_f`` (:func:`_envelope`),
    ``scale_f = σ_f L / n_f`` (:func:`~negkit.samplers._adaptive_build.build_dim_proposal`).
    One 64-bit number a trial: the slot from the high 32 bits, the coin from the low."""
    if not (m > 0.0 and m < np.inf):  # zero vector, constant columns, inf or nan
        return _pick_dim_scan(vec, sigma, b, ctx)
    n_slots = np.uint64(slots.shape[1])
    x = ctx[0]  # the generator's state stays local until the draw is accepted
    while True:
        x, r = xorshift_step(x)
        f = np.int64(slots[b, np.int64(((r >> np.uint64(32)) * n_slots) >> np.uint64(32))])
        u = (r & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0)
        if u * m < abs(np.float64(vec[f])) * scale[b, f]:
            ctx[0] = x
            return f


@kernel(inline="always")
def _scan_total(vec, sigma, b):
    """``Σ_f |v_f| σ_f`` in float64: the scan's total weight."""
    tot = 0.0
    for f in range(vec.shape[0]):
        tot += abs(np.float64(vec[f])) * sigma[b, f]
    return tot


@kernel(_nrt=False)
def _pick_dim_scan(vec, sigma, b, ctx):
    """The slow exact path, by a linear scan of the CDF (uniform when every weight is 0)."""
    d = vec.shape[0]
    tot = _scan_total(vec, sigma, b)
    if not (tot > 0.0 and tot < np.inf):
        return rand_int(ctx, d)
    u = rand_float(ctx) * tot
    acc = 0.0
    for f in range(d):
        acc += abs(np.float64(vec[f])) * sigma[b, f]
        if u < acc:
            return f
    return d - 1


_PAIR_M = 4  # the pair's envelope in the context's scratch, after its key
#: Fewest coin bits of a batched trial (proposals of at most 2^16 slots, d <= 8192).
MIN_COIN_BITS = 16
_M16 = np.uint64(0xFFFF)


@kernel(_nrt=False)
def _pair_envelope(vec, scale, b, gen, owner, anchor, ctx):
    """:func:`_envelope` of ``vec``, computed once per pair (see :func:`negkit._rng.next_pair`).

    Kept in the context's scratch, keyed by the sampler (``owner``), the generation, the pair
    serial and the anchor; without a pair serial (0) it is computed at every draw.  The O(d)
    pass is then paid once for the k negatives of a pair, as in the paper, where
    ``p(f | v)`` is formed once per context word.
    """
    s = CTX_SCRATCH
    serial = ctx[CTX_PAIR]
    tag = np.uint64(gen) + np.uint64(1)
    key = np.uint64(anchor)
    if (serial != 0 and ctx[s] == owner and ctx[s + 1] == serial and ctx[s + 2] == tag
            and ctx[s + 3] == key):  # fmt: skip
        return bits_f64(ctx[s + _PAIR_M])
    m = _envelope(vec, scale, b)
    if serial != 0:
        ctx[s] = owner
        ctx[s + 1] = serial
        ctx[s + 2] = tag
        ctx[s + 3] = key
        ctx[s + _PAIR_M] = f64_bits(m)
    return m


@kernel(inline="always")
def _trial(vec, slots, scale, b, m32, coin_bits, h, i):
    """Trial ``i`` of a batch from 32 random bits ``h``: the slot from the high bits, a coin
    ``u`` from the low ``coin_bits``, accepted when ``u m < |v_f| scale_f`` (float32).
    Returns ``(f << 16 (i mod 4), accepted << i)``."""
    f = np.uint64(slots[b, np.int64(h >> coin_bits)])
    u = np.float32(np.int64(h & ((np.uint64(1) << coin_bits) - np.uint64(1))))
    ok = np.uint64(u * m32 < abs(vec[np.int64(f)]) * scale[b, np.int64(f)])
    return f << np.uint64(16 * (i & 3)), ok << np.uint64(i)


@kernel(inline="always")
def _batch(vec, slots, scale, b, m32, cb, x):
    """Eight rejection trials without branches, from the generator state ``x``.

    A trial takes 32 random bits: a slot of the proposal ``slots[b]`` (``L = 2^(32 - c)``
    slots, c = ``cb``) and a c-bit coin ``u``, accepted when ``u m32 < |v_f| scale_f``
    (float32; ``m32 = m / 2^c``).  Returns ``(x, mask, lo, hi)``: bit i of ``mask`` is set
    when trial i is accepted, and its dimension is the i-th 16-bit field of ``lo``
    (trials 0-3) or ``hi`` (4-7); see :func:`_batch_dim`.  The accepted trials, in order,
    are independent draws of ``p(f) ∝ |v_f| σ_f``, up to the coin's resolution (2^-c; c = 22
    for d <= 128) and float32 rounding of the products.
    """
    lo32 = np.uint64(0xFFFFFFFF)
    t32 = np.uint64(32)
    x, r0 = xorshift_step(x)
    x, r1 = xorshift_step(x)
    x, r2 = xorshift_step(x)
    x, r3 = xorshift_step(x)
    p0, a0 = _trial(vec, slots, scale, b, m32, cb, r0 >> t32, 0)
    p1, a1 = _trial(vec, slots, scale, b, m32, cb, r0 & lo32, 1)
    p2, a2 = _trial(vec, slots, scale, b, m32, cb, r1 >> t32, 2)
    p3, a3 = _trial(vec, slots, scale, b, m32, cb, r1 & lo32, 3)
    p4, a4 = _trial(vec, slots, scale, b, m32, cb, r2 >> t32, 4)
    p5, a5 = _trial(vec, slots, scale, b, m32, cb, r2 & lo32, 5)
    p6, a6 = _trial(vec, slots, scale, b, m32, cb, r3 >> t32, 6)
    p7, a7 = _trial(vec, slots, scale, b, m32, cb, r3 & lo32, 7)
    mask = a0 | a1 | a2 | a3 | a4 | a5 | a6 | a7
    return x, mask, p0 | p1 | p2 | p3, p4 | p5 | p6 | p7


@kernel(inline="always")
def _batch_dim(mask, lo, hi):
    """The dimension of the first accepted trial of a batch (``mask != 0``), without
    branches."""
    i = np.uint64(trailing_zeros(mask))
    high = np.uint64(0) - (i >> np.uint64(2))  # all ones for trials 4-7
    word = (lo & ~high) | (hi & high)
    return np.int64((word >> (np.uint64(16) * (i & np.uint64(3)))) & _M16)


@kernel(inline="always")
def _pick_dim_batch(vec, slots, scale, b, m, coin_bits, ctx):
    """``f`` with ``p(f) ∝ |v_f| σ_f``: the first accepted trial of batches of eight
    (:func:`_batch`; a batch with none, under 3% of them on trained skip-gram vectors, is
    followed by another).  The loop that stops at the first acceptance (:func:`_pick_dim`)
    mispredicts its exit at almost every draw, and the work after it (the rank, the item)
    then waits; a whole batch costs less."""
    m32 = np.float32(m * 2.0**-coin_bits)
    x = ctx[0]  # the generator's state stays local until the draw is accepted
    cb = np.uint64(coin_bits)
    while True:
        x, mask, lo, hi = _batch(vec, slots, scale, b, m32, cb, x)
        if mask != 0:
            ctx[0] = x
            return _batch_dim(mask, lo, hi)


@kernel(inline="always")
def _coin_bits(slots):
    """``c = 32 - log2 L``: the coin's bits in a trial's 32 (``L`` slots, a power of two)."""
    return 32 - (63 - leading_zeros(np.uint64(slots.shape[1])))


@kernel(inline="always")
def _pick_dim_any(vec, slots, scale, sigma, b, m, ctx):
    """The exact dimension for the envelope ``m``: eight trials at a time
    (:func:`_pick_dim_batch`), one at a time when d > 8192 (the coin would be coarse), by a
    scan when ``m`` is 0 or not finite (zero vector, constant columns, inf or nan)."""
    if not (m > 0.0 and m < np.inf):
        return _pick_dim_scan(vec, sigma, b, ctx)
    coin_bits = _coin_bits(slots)
    if coin_bits < MIN_COIN_BITS:
        return _pick_dim(vec, slots, scale, sigma, b, m, ctx)
    return _pick_dim_batch(vec, slots, scale, b, m, coin_bits, ctx)


@kernel(inline="always")
def _rank_of(cells, x):
    """A rank from its alias table and 64 random bits: the cell from the high 32 bits, the
    coin from the low."""
    j = np.int64(((x >> np.uint64(32)) * np.uint64(cells.shape[0])) >> np.uint64(32))
    c = cells[j]
    alt = np.int64(c >> np.uint64(RANK_ALIAS_SHIFT))
    return j if (x & _M32) < (c & _THR33) else alt


@kernel(inline="always")
def _rank(cells, ctx):
    """A rank, drawn with the context's generator."""
    return _rank_of(cells, next_u64(ctx))


@kernel(inline="always")
def _rank_step(cells, x):
    """A rank, drawn with a generator state held in a variable: ``(new state, rank)``."""
    x, bits = xorshift_step(x)
    return x, _rank_of(cells, bits)


def rank_cut(n: int, lam: float, eps: float) -> int:
    """``K = min{k : P(r >= k) <= eps}`` under ``p(r) ∝ exp(-r/λ)`` on ``[0, n)``.

    For ``eps = 0``: ``37 λ + 1`` (beyond it every rank has mass below 1e-16), at most n.
    """
    if eps <= 0:
        return min(n, math.ceil(37.0 * lam) + 1)
    tail_n = math.exp(-n / lam)
    k = math.ceil(-lam * math.log(eps * (1.0 - tail_n) + tail_n) - 1e-9)
    return max(1, min(n, k))


def rank_cells(n: int, lam: float, reach: int, eps: float) -> np.ndarray:
    """Alias cells (uint64: 33-bit threshold out of 2^32, then the alias) of the rank law.

    ``eps = 0``: the law on ``[0, n)``, its mass beyond ``reach`` (below 1e-16) on the last
    rank; ``eps > 0``: the law truncated to ``[0, reach)`` and renormalised.
    """
    if eps <= 0:
        pmf = trunc_geom_pmf(n, lam)
        p = pmf[:reach].copy()
        p[-1] += pmf[reach:].sum()
    else:
        p = trunc_geom_pmf(reach, lam)
    prob, alias = build_alias(p)
    thr = np.minimum(np.round(prob * 2.0**32), 2.0**32).astype(np.uint64)
    return thr | (alias.astype(np.uint64) << np.uint64(RANK_ALIAS_SHIFT))


def rank_cells_pmf(cells: np.ndarray) -> np.ndarray:
    """Exact law of the cells: ``(thr_r + Σ_{s: alias_s = r} (2^32 - thr_s)) / (2^32 K)``."""
    thr = (cells & np.uint64(_THR33)).astype(np.float64)
    alias = (cells >> np.uint64(RANK_ALIAS_SHIFT)).astype(np.int64)
    p = thr.copy()
    np.add.at(p, alias, 2.0**32 - thr)
    return p / (2.0**32 * cells.shape[0])


@kernel(_nrt=False)
def draw_adaptive(state, anchor, pos, vec, ctx):
    """``dims="exact"``: the dimension from the live ``vec``.

    state = (orders, sigma, gen_box, rank_cells, dim_alias, dim_slots, dim_scale).  Arrays
    are read as state[i] in place, never unpacked into variables that live across branches:
    numba would otherwise wrap every call in atomic reference-count updates (~20x slower).
    """
    ctx[CTX_DRAWS] += 1
    gen = state[2][0]  # one atomic read of the generation: its parity is the live buffer
    b = gen & 1
    r = _rank(state[3], ctx)  # first: its latency hides behind the dimension's trials
    m = _pair_envelope(vec, state[6], b, gen, np.uint64(state[2][1]), anchor, ctx)
    f = _pick_dim_any(vec, state[5], state[6], state[1], b, m, ctx)
    if vec[f] <= 0:
        r = state[0].shape[2] - 1 - r
    return np.int64(state[0][b, f, r])


@kernel(_nrt=False)
def draw_pair_adaptive(state, anchor, pos, vec, ctx, out):
    """``dims="exact"``, a pair at a time: ``len(out)`` draws for one ``vec``.

    The envelope is formed once for the pair, and every accepted trial of a batch
    (:func:`_batch`) is a draw, three to four a batch: no call, no cache lookup and a fraction
    of a batch per draw.  Same law as :func:`draw_adaptive`: the accepted trials of a
    rejection sampler, in order, are independent draws of its target.
    """
    next_pair(ctx)
    k = out.shape[0]
    ctx[CTX_DRAWS] += k
    gen = state[2][0]
    b = gen & 1
    w = state[0].shape[2]
    m = _envelope(vec, state[6], b)
    coin_bits = _coin_bits(state[5])
    if not (m > 0.0 and m < np.inf) or coin_bits < MIN_COIN_BITS:
        # _pick_dim_any scans when m is 0 or not finite; when the scan's total is too, its
        # law is uniform: drawn here without a scan a draw (a zero output table, say)
        uniform = not (m > 0.0 and m < np.inf)
        if uniform:
            tot = _scan_total(vec, state[1], b)
            uniform = not (tot > 0.0 and tot < np.inf)
        for j in range(k):
            r = _rank(state[3], ctx)
            if uniform:
                f = rand_int(ctx, vec.shape[0])
            else:
                f = _pick_dim_any(vec, state[5], state[6], state[1], b, m, ctx)
            out[j] = state[0][b, f, r if vec[f] > 0 else w - 1 - r]
        return
    # every accepted trial of a batch is a draw: three to four a batch, not one
    m32 = np.float32(m * 2.0**-coin_bits)
    cb = np.uint64(coin_bits)
    x = ctx[0]
    j = 0
    while j < k:
        x, mask, lo, hi = _batch(vec, state[5], state[6], b, m32, cb, x)
        while mask != 0 and j < k:
            f = _batch_dim(mask, lo, hi)
            mask &= mask - np.uint64(1)
            x, r = _rank_step(state[3], x)
            out[j] = state[0][b, f, r if vec[f] > 0 else w - 1 - r]
            j += 1
    ctx[0] = x


@kernel(_nrt=False)
def draw_adaptive_snapshot(state, anchor, pos, vec, ctx):
    """``dims="snapshot"``: the dimension and side from the anchor's alias cells (the exact
    choice from ``vec`` for anchors outside the input table).  Same state as above."""
    ctx[CTX_DRAWS] += 1
    b = state[2][0] & 1
    if anchor >= 0 and anchor < state[4].shape[1]:
        x = next_u64(ctx)
        j = np.int64(((x >> np.uint64(32)) * np.uint64(state[4].shape[2])) >> np.uint64(32))
        cell = np.uint64(state[4][b, anchor, j])
        keep = (x & np.uint64(0xFFFF)) < (cell & np.uint64((1 << THR_BITS) - 1))
        f = j if keep else np.int64((cell >> np.uint64(ALIAS_SHIFT)) & np.uint64(ALIAS_MASK))
        top = ((cell >> np.uint64(SIGN_SELF if keep else SIGN_ALIAS)) & np.uint64(1)) != 0
    else:
        f = _pick_dim(vec, state[5], state[6], state[1], b, _envelope(vec, state[6], b), ctx)
        top = vec[f] > 0
    r = _rank(state[3], ctx)
    if not top:
        r = state[0].shape[2] - 1 - r
    return np.int64(state[0][b, f, r])


@register("adaptive", aliases=("aobpr", "self-embedded"))
class AdaptiveSampler(Sampler):
    """Rank-and-dimension adaptive sampler of Chen et al. (WSDM 2018) / AOBPR.

    Parameters
    ----------
    lam : float or None
        Scale λ of the geometric rank law ``p(r) ∝ exp(-r/λ)``, in ranks; when None,
        ``lam_fraction * |V|``.
    lam_fraction : float
        λ as a fraction of the vocabulary (used when ``lam`` is None).
    refresh_every : int or None
        Draws between two rebuilds; None means ``⌈|V| ln |V|⌉`` (the paper's period).  A
        trainer may raise it to trade freshness for speed: the rebuild's amortised cost per
        draw falls in proportion (one rebuild is a pass over the output table plus a sort of
        about ``2.6 K`` keys per column; ``dims="snapshot"`` adds a pass over the input table).
        Staler orders give easier negatives: the word2vec loss falls as the period grows.
    refresh_async : bool
        Let :meth:`maybe_refresh` rebuild in a background thread (training keeps drawing
        from the old state until the new one is published).  Off by default, so that
        seeded runs repeat exactly.
    dims : {"exact", "snapshot"}
        How the dimension is chosen (see the module docstring): from the live ``vec``
        (exact, any ``vec``), or from alias tables of the input rows built at each refresh
        (O(1); needs ``fit(input=)`` and ``vec`` = the anchor's own input row).
    eps : float
        Tail mass of the rank law cut off and renormalised away (0: the paper's law).

    Trainer settings.  ``dims="exact"`` is right for every trainer (CBOW's context mean and
    the shared-negative mode's window mean included), and the faster one in skip-gram: on
    the shared 5.3M-token corpus (``bench/word2vec.py``, 2 workers, refresh every 4M draws
    in the background) an epoch took 1.43-1.44x the unigram epoch with exact dimensions and
    1.93x with snapshot ones (docs/benchmarks.md).  ``dims="snapshot"`` (where ``vec`` is
    always ``input[anchor]``: skip-gram per pair, MF-BPR, LINE) makes the draw O(1), but its
    rebuild costs about 3x more, so it can pay only where the dimension choice dominates and
    ``refresh_every`` is long.
    """

    score_aware = True
    device_path = True  # dims="exact"
    device_tries = 8

    def __init__(
        self,
        lam: float | None = None,
        lam_fraction: float = 0.01,
        refresh_every: int | None = None,
        refresh_async: bool = False,
        dims: str = "exact",
        eps: float = 1e-4,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ) -> None:
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.lam = lam
        self.lam_fraction = lam_fraction
        self.refresh_every = refresh_every
        self.refresh_async = check_flag("refresh_async", refresh_async)
        self.dims = dims
        self.eps = eps

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        n, d = self.output_.shape
        if d < 1:
            raise ValueError("the output table has no columns (d = 0)")
        if self.lam is not None:
            self.lam_ = check_positive(self.lam, "lam (λ)")
        else:
            self.lam_ = check_positive(self.lam_fraction, "lam_fraction") * n
        if self.refresh_every is not None:
            self.refresh_every_ = check_count(self.refresh_every, "refresh_every")
        else:
            self.refresh_every_ = max(1, math.ceil(n * math.log(max(n, 2))))
        eps = float(self.eps)
        if not (0.0 <= eps < 1.0):
            raise ValueError(
                f"eps (the rank law's cut tail mass) must be in [0, 1), got {self.eps}"
            )
        if self.dims not in DIMS_MODES:
            raise ValueError(f"dims must be one of {DIMS_MODES}, got {self.dims!r}")
        rows = 0
        if self.dims == "snapshot":
            if self.input_ is None:
                raise ValueError('dims="snapshot" needs fit(input=the anchors\' input table)')
            if self.input_.shape[1] != d:
                raise ValueError(f"input has {self.input_.shape[1]} dims, the output table {d}")
            if d > MAX_DIMS:
                raise ValueError(f'dims="snapshot" supports at most {MAX_DIMS} dims, got {d}')
            rows = self.input_.shape[0]
        self.reach_ = rank_cut(n, self.lam_, eps)
        width = n if 2 * self.reach_ >= n else 2 * self.reach_
        # item ids in 16 bits where they fit: half the cache footprint of the hot ranks
        self._orders = np.empty((2, d, width), dtype=np.uint16 if n <= 1 << 16 else np.int32)
        self._sigma = np.zeros((2, d), dtype=np.float32)
        self._dim_alias = np.zeros((2, rows, d), dtype=np.uint32)
        # the proposal of the exact dimension choice (dims="snapshot": anchors off the input)
        slot_dtype = np.uint16 if d <= 1 << 16 else np.int32
        self._dim_slots = np.zeros((2, dim_slot_count(d)), dtype=slot_dtype)
        self._dim_scale = np.zeros((2, d), dtype=np.float32)
        self._spread_p = self._anchor_law(counts)
        # [generation, owner tag]: the tag (random, non-zero) marks this sampler's entries
        # in the contexts' scratch
        self._gen = np.array([0, int(np.random.SeedSequence().entropy) % (1 << 62) + 1],
                             dtype=np.int64)  # fmt: skip
        self._rank_cells = rank_cells(n, self.lam_, self.reach_, eps)
        self._sample_rng = np.random.default_rng(0 if self.seed is None else self.seed)
        self._thread: threading.Thread | None = None
        self._rebuild(0)
        self.device_path = self.dims == "exact"  # snapshot: the host path, copied

    @property
    def generation(self) -> int:
        """Number of refreshes so far (its parity is the live buffer)."""
        return int(self._gen[0])

    def _anchor_rows(self) -> np.ndarray | None:
        """The input table when it can give the proposal's spread (rows of d dims), else None."""
        inp = self.input_
        if inp is None or inp.shape[1] != self.output_.shape[1] or inp.shape[0] == 0:
            return None
        return inp

    def _anchor_law(self, counts) -> np.ndarray | None:
        """Law of the input rows sampled for the proposal's spread: ``counts^0.75`` when the
        counts are the anchors' (as long as the input table), else uniform (None)."""
        inp = self._anchor_rows()
        if inp is None or counts is None or np.shape(counts) != (inp.shape[0],):
            return None
        w = np.asarray(counts, dtype=np.float64) ** 0.75
        return w / w.sum() if np.isfinite(w.sum()) and w.sum() > 0 else None

    def _spread(self) -> np.ndarray | None:
        """Root mean square of each column over the anchor rows, or a sample of 2048 of them
        (see :func:`~negkit.samplers._adaptive_build.build_dim_proposal`); None without
        input."""
        inp = self._anchor_rows()
        if inp is None:
            return None
        n = inp.shape[0]
        if n <= QUANTILE_SAMPLE:  # every row, weighted
            x = inp.astype(np.float64)
            w = np.full(n, 1.0 / n) if self._spread_p is None else self._spread_p
            return np.sqrt(w @ (x * x))
        x = inp[self._sample_rng.choice(n, QUANTILE_SAMPLE, p=self._spread_p)].astype(np.float64)
        return np.sqrt((x * x).mean(axis=0))

    def _rebuild(self, buf: int) -> None:
        out = self.output_
        n = out.shape[0]
        sample = self._sample_rng.integers(0, n, min(n, QUANTILE_SAMPLE))
        sigma = np.empty(out.shape[1], dtype=np.float64)
        build_orders(out, self.reach_, sample, self._orders[buf], sigma)
        self._sigma[buf] = sigma
        build_dim_proposal(sigma, self._spread(), self._dim_slots[buf], self._dim_scale[buf])
        if self._dim_alias.shape[1]:
            build_dim_alias(self.input_, sigma.astype(np.float32).astype(np.float64),
                            self._dim_alias[buf])  # fmt: skip

    def refresh(self) -> None:
        """Rebuild σ, the orders (and the dimension tables) from the live tables, then publish."""
        self._check_fitted()
        self.wait()
        self._publish()

    def _publish(self) -> None:
        nxt = int(self._gen[0]) + 1
        self._rebuild(nxt & 1)  # the spare buffers: no thread reads them
        self._gen[0] = nxt  # publish: one aligned store

    def wait(self) -> None:
        """Wait for a background refresh to finish (no-op when none runs)."""
        t = getattr(self, "_thread", None)
        if t is not None:
            t.join()
            self._thread = None

    def maybe_refresh(self, ctxs: np.ndarray) -> bool:
        ctxs = np.asarray(ctxs)
        if self.draws_since_refresh(ctxs) < self.refresh_every_:
            return False
        ctxs[..., CTX_DRAWS] = 0
        if not self.refresh_async:
            self.refresh()
            return True
        if self._thread is not None and self._thread.is_alive():
            return False  # the previous rebuild is still running
        self.wait()
        self._thread = threading.Thread(
            target=self._publish, name="negkit-adaptive-refresh", daemon=True
        )
        self._thread.start()
        return True

    def _pair_kernel(self) -> Any:
        return draw_pair_adaptive if self.dims == "exact" else None

    def _kernel(self) -> tuple[Any, tuple]:
        state = (self._orders, self._sigma, self._gen, self._rank_cells, self._dim_alias,
                 self._dim_slots, self._dim_scale)  # fmt: skip
        return (draw_adaptive_snapshot if self.dims == "snapshot" else draw_adaptive), state

    def dim_weights(self, anchor_vector, buf: int | None = None) -> np.ndarray:
        """Weights ``w_f ∝ |v_f| σ_f`` of the exact dimension choice, as drawn: ``|v_f| n_f
        scale_f / L`` (``σ_f`` up to float32 rounding; see ``build_dim_proposal``)."""
        b = int(self._gen[0]) & 1 if buf is None else buf
        slots = self._dim_slots[b]
        n_f = dim_proposal_counts(slots, self._dim_scale.shape[1])
        return np.abs(np.asarray(anchor_vector, dtype=np.float64)) * (
            n_f * self._dim_scale[b].astype(np.float64) / slots.shape[0]
        )

    def rank_pmf(self) -> np.ndarray:
        """``p(r)`` for r in ``[0, |V|)``: the law the rank's alias table draws."""
        n = self.output_.shape[0]
        pr = np.zeros(n)
        pr[: self.reach_] = rank_cells_pmf(self._rank_cells)
        return pr

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        """Exact ``q(i | v) = Σ_f p(f | v) p(rank_f(i))`` under the live state.

        With ``dims="snapshot"`` and an anchor id inside the input table, ``p(f | v)`` and
        the sides are those of the anchor's alias table (what draws use); otherwise they
        come from ``anchor_vector`` (default ``input[anchor]``).
        """
        self._check_fitted()
        n, d = self.output_.shape
        b = int(self._gen[0]) & 1
        if anchor is not None and 0 <= anchor < self._dim_alias.shape[1]:
            pf, top = alias_dim_probs(self._dim_alias[b, anchor])
        else:
            if anchor_vector is None:
                if anchor is None or self.input_ is None:
                    raise ValueError(
                        "AdaptiveSampler.distribution needs anchor_vector= "
                        "(or fit(input=) and anchor)"
                    )
                anchor_vector = self.input_[anchor]
            v = np.asarray(anchor_vector, dtype=np.float64).reshape(-1)
            if v.shape[0] != d:
                raise ValueError(f"anchor_vector has {v.shape[0]} dims, the output table {d}")
            w = self.dim_weights(v, b)
            pf = w / w.sum() if 0 < w.sum() < np.inf else np.full(d, 1.0 / d)
            top = v > 0
        pr = self.rank_pmf()
        width = self._orders.shape[2]
        q = np.zeros(n, dtype=np.float64)
        for f in np.flatnonzero(pf):
            o = self._orders[b, f]
            k = self.reach_
            if top[f]:
                q[o[:k]] += pf[f] * pr[:k]
            else:
                q[o[width - k :][::-1]] += pf[f] * pr[:k]
        return q

    @property
    def device_state(self) -> dict:
        """Per device: ``{"orders": (d, W) int64, "sigma": (d,) float64, "draws": int}``."""
        return {dev: st["adaptive"] for dev, st in self._device_state.items() if "adaptive" in st}

    def _device_rebuild(self, st: dict, output) -> None:
        """σ and the two ends of every column of the live ``output`` (on its device)."""
        import torch

        n = output.shape[0]
        k = self.reach_
        cols = output.detach().T.to(torch.float64)
        order = torch.sort(cols, dim=1, descending=True, stable=True).indices
        st["orders"] = order if 2 * k >= n else torch.cat([order[:, :k], order[:, n - k :]], 1)
        st["sigma"] = cols.std(dim=1, unbiased=False)
        st["draws"] = 0
        st["gen"] = int(self._gen[0])
        st.pop("where", None)  # the items' positions in the orders, built by _device_law

    def _device_law(self, st: dict, vecs, items):
        """``q(items[r, c] | vecs[r])`` under the device state ``st`` (what its draws use)."""
        import torch

        d, width = st["orders"].shape
        where = st.get("where")
        if where is None:  # (n_items, d): each item's position in each column's ends, or -1
            where = torch.full((self.n_items_, d), -1, dtype=torch.int64, device=items.device)
            cols = torch.arange(d, device=items.device)[:, None].expand(d, width)
            pos = torch.arange(width, device=items.device)[None, :].expand(d, width)
            where[st["orders"], cols] = pos
            st["where"] = where
        w = vecs.to(torch.float64).abs() * st["sigma"]
        total = w.sum(dim=1, keepdim=True)
        ok = (total > 0) & torch.isfinite(total)
        w = torch.where(ok, w, torch.ones_like(w))
        pf = w / w.sum(dim=1, keepdim=True)  # (n, d)
        cdf_r = st["rank_cdf"]
        pr = torch.diff(cdf_r, prepend=cdf_r.new_zeros(1)) / cdf_r[-1]
        at = where[items]  # (n, c, d)
        top = (vecs > 0)[:, None, :]
        r = torch.where(top, at, width - 1 - at)
        valid = (at >= 0) & (r >= 0) & (r < self.reach_)
        p_r = torch.where(valid, pr[r.clamp(0, self.reach_ - 1)], 0.0)
        return (pf[:, None, :] * p_r).sum(-1)

    def _proba_device(self, items, anchors, vecs, pos=None):
        """``q(item | anchor)`` of device draws, from the device's own state (its orders and σ,
        rebuilt from the live table: the host's may be older), with exclusion's mixture."""
        import torch

        from negkit.samplers import _torch as nt

        st = self._device("adaptive", items.device, lambda: None)
        q = self._device_law(st, vecs, items)
        if not self.exclude_positives:
            return q
        known = self._device(
            "positives",
            items.device,
            lambda: nt.DevicePositives(self.positives_, self.n_items_, items.device),
        )
        rows, inside = known._rows(anchors)
        deg = torch.where(inside, known.degree[rows], torch.zeros_like(rows))
        j = torch.arange(max(known.max_degree, 1), device=items.device)
        at = (known.indptr[rows][:, None] + j).clamp(max=max(known.indices.numel() - 1, 0))
        has = j[None, :] < deg[:, None]
        pos_items = torch.where(has, known.indices[at] if known.indices.numel() else 0, 0)
        m = torch.where(has, self._device_law(st, vecs, pos_items), 0.0).sum(-1)
        m = m.clamp(0.0, 1.0)
        uniform = 1.0 / (self.n_items_ - deg).to(torch.float64)
        return excluded_mixture(q, m, 1.0 - m, uniform, inside, int(self.device_tries))

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import rand

        dev = anchors.device
        output = self._table("output", dev)

        def build() -> dict:
            pr = torch.as_tensor(self.rank_pmf()[: self.reach_], device=dev)
            st = {"rank_cdf": torch.cumsum(pr, 0)}
            self._device_rebuild(st, output)
            return st

        st = self._device("adaptive", dev, build)
        if st["draws"] >= self.refresh_every_ or st["gen"] != int(self._gen[0]):
            self._device_rebuild(st, output)  # due, or the host refreshed (refresh())
        n = anchors.shape[0]
        st["draws"] += n * k
        w = vecs.to(torch.float64).abs() * st["sigma"]
        total = w.sum(dim=1, keepdim=True)
        ok = (total > 0) & torch.isfinite(total)
        w = torch.where(ok, w, torch.ones_like(w))  # no weight: every dimension alike
        cdf = torch.cumsum(w, dim=1)
        u = rand((n, k), gen, dev) * cdf[:, -1:]
        f = torch.searchsorted(cdf, u, right=True).clamp_(max=w.shape[1] - 1)
        cdf_r = st["rank_cdf"]
        ur = rand((n, k), gen, dev) * cdf_r[-1]
        r = torch.searchsorted(cdf_r, ur, right=True).clamp_(max=self.reach_ - 1)
        top = vecs.gather(1, f) > 0
        width = st["orders"].shape[1]
        col = torch.where(top, r, width - 1 - r)
        return st["orders"][f, col]
