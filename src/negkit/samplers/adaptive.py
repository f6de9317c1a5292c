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

* ``"exact"`` (default): from the live ``vec``, without allocation, by rejection from the
  uniform law over the d dimensions under the envelope ``max_f w_f`` (one vectorised O(d)
  pass; ``d max_f w_f / Σ_f w_f`` trials, about 3.5 for Gaussian-like vectors).  Valid for any
  ``vec`` (CBOW's context mean included).  The envelope is computed once per pair: trainers
  call :func:`negkit._rng.next_pair` before a pair's k draws (promising an unchanged
  ``vec``), and the envelope is kept in the thread's context, keyed by sampler, generation,
  pair and anchor -- as in the paper, where ``p(f | v)`` is formed once per context word.
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
3.5 O(1) trials (exact) or O(1) (snapshot).  Rebuild, every ``refresh_every`` draws (default
``|V| ln |V|``, the paper's):
σ and candidate selection in one row-major pass over ``O`` (O(d |V|)), then a sort of about
``1.1 K`` candidates at each end of every column (O(d K log K)); snapshot adds O(d) per
input row.  Compiled (numba), and it releases the GIL.

State: two buffers of per-column ends (``2 x d x W`` item ids, ``W = min(|V|, 2K)``; uint16
when ``|V| <= 65536``, else int32), of σ
(``2 x d``) and, for ``"snapshot"``, of the alias cells (uint32, ``2 x rows x d``), a
generation counter whose parity names the live buffer, and the rank's alias cells (8 bytes
per reachable rank).  ``refresh`` writes the spare buffers and then publishes them
by one aligned 64-bit store of the generation, so a thread drawing meanwhile sees either the
old state or the new one, never a half-written list.  (The buffer a thread reads can only be
overwritten two refreshes later.)  With ``refresh_async=True``, :meth:`maybe_refresh` runs
the rebuild in a background thread and training goes on with the old state until it is
published.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from negkit._bits import bits_f64, f64_bits
from negkit._rng import CTX_DRAWS, CTX_PAIR, CTX_SCRATCH, next_u64, rand_float, rand_int
from negkit.samplers._adaptive_build import (
    ALIAS_MASK,
    ALIAS_SHIFT,
    MAX_DIMS,
    SIGN_ALIAS,
    SIGN_SELF,
    THR_BITS,
    alias_dim_probs,
    build_dim_alias,
    build_orders,
)
from negkit.samplers._kernels import check_count, check_positive, trunc_geom_pmf
from negkit.samplers.alias import build_alias
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register

#: Rows of the output table sampled to place the candidate thresholds of a rebuild.
QUANTILE_SAMPLE = 2048
DIMS_MODES = ("exact", "snapshot")
RANK_ALIAS_SHIFT = 33
_M32 = np.uint64(0xFFFFFFFF)
_THR33 = np.uint64((1 << 33) - 1)


@intrinsic
def _fmax32(typingctx, a, b):
    """``llvm.maxnum`` on float32: unlike ``max``, it vectorises."""
    sig = types.float32(types.float32, types.float32)

    def codegen(context, builder, signature, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [t], ir.FunctionType(t, [t, t]))
        return builder.call(fn, args)

    return sig, codegen


@njit(nogil=True, fastmath=True, _nrt=False, cache=True)
def _envelope(vec, sigma, b):
    """``max_f |v_f| σ_f`` in one vectorised pass (plus 1e-6 for the float32 rounding)."""
    m = np.float32(0.0)
    for f in range(vec.shape[0]):
        m = _fmax32(m, abs(vec[f]) * sigma[b, f])
    return np.float64(m) * (1.0 + 1e-6)


@njit(nogil=True, _nrt=False, cache=True)
def _pick_dim(vec, sigma, b, m, ctx):
    """``f`` with ``p(f) ∝ |v_f| σ_f``, by rejection from the uniform law on the d dimensions
    under the envelope ``m = max_f |v_f| σ_f`` (:func:`_envelope`)."""
    d = vec.shape[0]
    if not (m > 0.0 and m < np.inf):  # zero vector, constant columns, inf or nan
        return _pick_dim_scan(vec, sigma, b, ctx)
    while True:
        r = next_u64(ctx)
        f = np.int64(((r >> np.uint64(32)) * np.uint64(d)) >> np.uint64(32))
        u = (r & np.uint64(0xFFFFFFFF)) * (1.0 / 4294967296.0)
        if u * m < abs(np.float64(vec[f])) * sigma[b, f]:
            return f


@njit(nogil=True, _nrt=False, cache=True)
def _pick_dim_scan(vec, sigma, b, ctx):
    """The slow exact path, by a linear scan of the CDF (uniform when every weight is 0)."""
    d = vec.shape[0]
    tot = 0.0
    for f in range(d):
        tot += abs(np.float64(vec[f])) * sigma[b, f]
    if not (tot > 0.0 and tot < np.inf):
        return rand_int(ctx, d)
    u = rand_float(ctx) * tot
    acc = 0.0
    for f in range(d):
        acc += abs(np.float64(vec[f])) * sigma[b, f]
        if u < acc:
            return f
    return d - 1


@njit(nogil=True, _nrt=False, cache=True)
def _pair_envelope(vec, sigma, b, gen, owner, anchor, ctx):
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
        return bits_f64(ctx[s + 4])
    m = _envelope(vec, sigma, b)
    if serial != 0:
        ctx[s] = owner
        ctx[s + 1] = serial
        ctx[s + 2] = tag
        ctx[s + 3] = key
        ctx[s + 4] = f64_bits(m)
    return m


@njit(nogil=True, inline="always")
def _rank(cells, ctx):
    """A rank from its alias table: the cell from the high 32 bits, the coin from the low."""
    x = next_u64(ctx)
    j = np.int64(((x >> np.uint64(32)) * np.uint64(cells.shape[0])) >> np.uint64(32))
    c = cells[j]
    alt = np.int64(c >> np.uint64(RANK_ALIAS_SHIFT))
    return j if (x & _M32) < (c & _THR33) else alt


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


@njit(nogil=True, _nrt=False, cache=True)
def draw_adaptive(state, anchor, pos, vec, ctx):
    """``dims="exact"``: the dimension from the live ``vec``.

    state = (orders, sigma, gen_box, rank_cells, dim_alias).  Arrays are read as state[i] in
    place, never unpacked into variables that live across branches: numba would otherwise
    wrap every call in atomic reference-count updates (~20x slower).
    """
    ctx[CTX_DRAWS] += 1
    gen = state[2][0]  # one atomic read of the generation: its parity is the live buffer
    b = gen & 1
    m = _pair_envelope(vec, state[1], b, gen, np.uint64(state[2][1]), anchor, ctx)
    f = _pick_dim(vec, state[1], b, m, ctx)
    r = _rank(state[3], ctx)
    if vec[f] <= 0:
        r = state[0].shape[2] - 1 - r
    return np.int64(state[0][b, f, r])


@njit(nogil=True, _nrt=False, cache=True)
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
        f = _pick_dim(vec, state[1], b, _envelope(vec, state[1], b), ctx)
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
    the shared-negative mode's window mean included).  Where ``vec`` is always
    ``input[anchor]`` (skip-gram per pair, MF-BPR, LINE), ``dims="snapshot"`` makes the draw
    O(1) but its rebuild costs about 3x more, so it pays only with ``refresh_every`` of a few
    ``|V| ln |V|``: skip-gram on the shared 5.3M-token corpus (``bench/word2vec.py``,
    refresh every 4M draws in the background) took 1.56-1.66x the unigram epoch with exact
    dimensions and 1.32-1.61x with snapshot ones, across runs (docs/benchmarks.md).
    """

    score_aware = True

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
        self.refresh_async = refresh_async
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
        # [generation, owner tag]: the tag (random, non-zero) marks this sampler's entries
        # in the contexts' scratch
        self._gen = np.array([0, int(np.random.SeedSequence().entropy) % (1 << 62) + 1],
                             dtype=np.int64)  # fmt: skip
        self._rank_cells = rank_cells(n, self.lam_, self.reach_, eps)
        self._sample_rng = np.random.default_rng(0 if self.seed is None else self.seed)
        self._thread: threading.Thread | None = None
        self._rebuild(0)

    @property
    def generation(self) -> int:
        """Number of refreshes so far (its parity is the live buffer)."""
        return int(self._gen[0])

    def _rebuild(self, buf: int) -> None:
        out = self.output_
        n = out.shape[0]
        sample = self._sample_rng.integers(0, n, min(n, QUANTILE_SAMPLE))
        sigma = np.empty(out.shape[1], dtype=np.float64)
        build_orders(out, self.reach_, sample, self._orders[buf], sigma)
        self._sigma[buf] = sigma
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

    def _kernel(self) -> tuple[Any, tuple]:
        state = (self._orders, self._sigma, self._gen, self._rank_cells, self._dim_alias)
        return (draw_adaptive_snapshot if self.dims == "snapshot" else draw_adaptive), state

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
            w = np.abs(v) * self._sigma[b]
            pf = w / w.sum() if w.sum() > 0 else np.full(d, 1.0 / d)
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
