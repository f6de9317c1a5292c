"""Adaptive sampling by self-embedded features (the ``adaptive`` sampler).

Chen, Yuan, Jose & Zhang (WSDM 2018), "Improving Negative Sampling for Word
Representation using Self-embedded Features" (arXiv 1710.09805), after AOBPR:
Rendle & Freudenthaler (WSDM 2014), "Improving Pairwise Learning for Item
Recommendation from Implicit Feedback".

Distribution, for an anchor with vector ``v`` (d dims) and output table ``O`` (|V| rows):

* choose a dimension ``f`` with ``p(f | v) = |v_f| σ_f / Σ_g |v_g| σ_g``, σ_f the standard
  deviation of column f of ``O``;
* draw a rank ``r`` with ``p(r) = exp(-r/λ) / Σ_{s<|V|} exp(-s/λ)`` by inverse CDF,
  ``r = min{r : F(r) > u}`` for ``u ~ U[0, 1)``, in O(1) expected through a guide table
  (Chen & Asau 1974, "On generating random variates from an empirical distribution"):
  ``guide[j] = min{r : F(r) > j / G}``, then a step or two up the table of ``F``; the same
  law as ``⌊-λ ln(1 - u (1 - e^{-|V|/λ}))⌋`` without a logarithm per draw;
* return the item at rank ``r`` of column f sorted in descending order when ``v_f > 0``,
  at rank ``r`` from the bottom otherwise.

So ``q(i | v) = Σ_f p(f | v) p(rank_f(i))``, exactly what :meth:`AdaptiveSampler.distribution`
returns.

Cost per draw: O(1) expected for the rank and the item, plus the dimension choice: O(d)
without allocation, by rejection from the uniform law over the d dimensions under the
envelope ``max_f w_f`` (one vectorised pass; ``d max_f w_f / Σ_f w_f`` trials on average,
about 3.5 for Gaussian-like vectors).  Exact, and it keeps no per-thread state.
Rebuild: ``argsort`` of every column, O(d |V| log |V|), every ``refresh_every`` draws
(default ``|V| ln |V|``), i.e. O(d) amortised per draw as in the paper.  Ranks at or above
``K = ⌈37 λ⌉ + 1`` have probability below ``e^-37 ≈ 1e-16`` and are never drawn (the CDF table
stops there), so when ``8 K < |V|`` the rebuild orders just the two ends of each column
(``argpartition`` then a sort of each end).

State: two buffers of per-dimension orders (int32, ``2 x d x |V|``) and of σ (``2 x d``), a
generation counter whose parity names the live buffer, and the rank CDF and guide tables
(12 bytes per reachable rank).  ``refresh`` writes the
spare buffer and then publishes it by one aligned 64-bit store of the generation, so a thread
drawing meanwhile sees either the old orders or the new ones, never a half-written list.
(The buffer a thread reads can only be overwritten two refreshes later.)  With
``refresh_async=True``, :meth:`maybe_refresh` runs the rebuild in a background thread (numpy's
sort releases the GIL) and training goes on with the old orders until it is published.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from negkit._rng import CTX_DRAWS, next_u64, rand_float, rand_int
from negkit.samplers._kernels import check_count, check_positive, trunc_geom_pmf
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


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
def _pick_dim(vec, sigma, b, ctx):
    """``f`` with ``p(f) ∝ |v_f| σ_f``, by rejection from the uniform law on the d dimensions."""
    d = vec.shape[0]
    m = _envelope(vec, sigma, b)
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
def _rank(cdf, guide, ctx):
    """Inverse CDF by guide table: ``min{r : cdf[r] > u}`` (the last rank for u beyond it)."""
    u = rand_float(ctx)
    r = np.int64(guide[np.int64(u * guide.shape[0])])
    last = cdf.shape[0] - 1
    while r < last and cdf[r] <= u:
        r += 1
    return r


def rank_tables(n: int, lam: float, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """CDF of ``p(r) ∝ exp(-r/λ)`` on ``[0, n)`` over its first ``reach`` ranks, and its guide."""
    cdf = np.cumsum(trunc_geom_pmf(n, lam)[:reach])
    guide = np.searchsorted(cdf, np.arange(reach) / reach, side="right")
    return cdf, np.minimum(guide, reach - 1).astype(np.int32)


@njit(nogil=True, _nrt=False, cache=True)
def draw_adaptive(state, anchor, pos, vec, ctx):
    # state = (orders, sigma, gen_box, cdf, guide).  Arrays are read as state[i] in place,
    # never unpacked into variables that live across branches: numba would otherwise wrap
    # every call in atomic reference-count updates (~20x slower).
    ctx[CTX_DRAWS] += 1
    gen = state[2][0]  # one atomic read: its parity is the live buffer
    b = gen & 1
    f = _pick_dim(vec, state[1], b, ctx)
    r = _rank(state[3], state[4], ctx)
    if vec[f] <= 0:
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
        Draws between two rebuilds of the orders; None means ``⌈|V| ln |V|⌉``.
    refresh_async : bool
        Let :meth:`maybe_refresh` rebuild in a background thread (training keeps drawing
        from the old orders until the new ones are published).  Off by default, so that
        seeded runs repeat exactly.
    """

    score_aware = True

    def __init__(
        self,
        lam: float | None = None,
        lam_fraction: float = 0.01,
        refresh_every: int | None = None,
        refresh_async: bool = False,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ) -> None:
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.lam = lam
        self.lam_fraction = lam_fraction
        self.refresh_every = refresh_every
        self.refresh_async = refresh_async

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
        self._orders = np.empty((2, d, n), dtype=np.int32)
        self._sigma = np.zeros((2, d), dtype=np.float32)
        self._gen = np.zeros(1, dtype=np.int64)
        # ranks from 37 λ on have probability below e^-37 (1e-16): the tables stop there
        self.reach_ = min(n, math.ceil(37.0 * self.lam_) + 1)
        self._cdf, self._guide = rank_tables(n, self.lam_, self.reach_)
        self._thread: threading.Thread | None = None
        self._rebuild(0)

    @property
    def generation(self) -> int:
        """Number of refreshes so far (its parity is the live buffer)."""
        return int(self._gen[0])

    def _rebuild(self, buf: int) -> None:
        out = self.output_
        self._sigma[buf] = out.std(axis=0, dtype=np.float64)
        # one contiguous row per column: numpy's (SIMD) sort is much faster than down columns
        keys = -np.ascontiguousarray(out.T)  # ascending keys = descending scores
        n = keys.shape[1]
        k = self.reach_
        if 8 * k > n:  # argpartition is no SIMD sort: it pays only for short ends
            self._orders[buf] = np.argsort(keys, axis=1)
            return
        # Only the k first and k last ranks can be drawn: order those exactly, leave the
        # middle (which no draw reaches) as partitioned.  O(n + k log k) a column.
        part = np.argpartition(keys, (k - 1, n - k), axis=1)
        for ends in (slice(0, k), slice(n - k, n)):
            idx = part[:, ends]
            part[:, ends] = np.take_along_axis(
                idx, np.argsort(np.take_along_axis(keys, idx, axis=1), axis=1), axis=1
            )
        self._orders[buf] = part

    def refresh(self) -> None:
        """Rebuild σ and the orders from the live output table, then publish them."""
        self._check_fitted()
        self.wait()
        self._publish()

    def _publish(self) -> None:
        nxt = int(self._gen[0]) + 1
        self._rebuild(nxt & 1)  # the spare buffer: no thread reads it
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
        state = (self._orders, self._sigma, self._gen, self._cdf, self._guide)
        return draw_adaptive, state

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        """Exact ``q(i | v) = Σ_f p(f | v) p(rank_f(i))`` under the live orders and σ."""
        self._check_fitted()
        if anchor_vector is None:
            if anchor is None or self.input_ is None:
                raise ValueError(
                    "AdaptiveSampler.distribution needs anchor_vector= (or fit(input=) and anchor)"
                )
            anchor_vector = self.input_[anchor]
        v = np.asarray(anchor_vector, dtype=np.float64).reshape(-1)
        n, d = self.output_.shape
        if v.shape[0] != d:
            raise ValueError(f"anchor_vector has {v.shape[0]} dims, the output table {d}")
        b = int(self._gen[0]) & 1
        w = np.abs(v) * self._sigma[b]
        pf = w / w.sum() if w.sum() > 0 else np.full(d, 1.0 / d)
        pr = np.zeros(n)  # the law the guide table draws: F's steps, the rest on the last rank
        pr[: self.reach_] = np.diff(self._cdf, prepend=0.0)
        pr[self.reach_ - 1] = 1.0 - (self._cdf[-2] if self.reach_ > 1 else 0.0)
        q = np.zeros(n, dtype=np.float64)
        for f in np.flatnonzero(pf):
            ranked = self._orders[b, f] if v[f] > 0 else self._orders[b, f, ::-1]
            q[ranked] += pf[f] * pr
        return q
