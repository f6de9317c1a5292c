"""Exposure-aware negatives, for logs that record what was shown (impressions) and not clicked.

``fit(exposures=)`` takes a CSR user x item matrix of impressions; with ``positives=`` (the
clicks) a user's *real negatives* are ``E_u = exposed(u) \\ clicked(u)``.

* ``exposure``: a real negative with probability ``rate``, else a uniform item (Ding et al.,
  "Sampler design for Bayesian personalized ranking by leveraging view data", TKDE 2019):
  ``q(i | u) = rate * 1[i in E_u] / |E_u| + (1 - rate) / |I|`` (all mass on the uniform part
  when ``E_u`` is empty).
* ``exposure_subsample`` (Real-Negative Subsampling): a uniform real negative is kept with
  probability ``a_i = min(1, sqrt(t / f_i))``, ``f_i`` the item's share of all impressions,
  and drawn again otherwise (word2vec's subsampling, Mikolov et al. 2013, applied to exposure):
  ``q(i | u) ∝ 1[i in E_u] * a_i``; users without real negatives draw from all items the same
  way.  Exact rejection: a draw costs ``1 / mean_{E_u}(a)`` trials on average.
* ``exposure_groups`` (weighted random negatives with two exposure groups): items with an
  exposure count ``>= threshold`` form ``A_high``, the rest ``A_low``; with probability
  ``p_low`` a uniform item of ``A_low``, else an item of ``A_high`` by unigram:
  ``q(i) = p_low / |A_low|`` on ``A_low``, ``(1 - p_low) c_i / sum_{A_high} c`` on ``A_high``
  (all mass on the non-empty group when one is empty).  Fit with ``counts=`` (exposure
  counts) or ``exposures=``.

``exposure`` and ``exposure_subsample`` need ``fit(exposures=)`` (their
``needs_impressions`` is true, so a study refuses them before any run), ``exposure_groups``
needs ``exposures=`` or ``counts=``: fitted without them (as a trainer that knows no
impressions would: Word2Vec, graph embeddings) they raise a ValueError instead of drawing by
another law.

Cost per draw: O(1) (``exposure``, ``exposure_groups``: one alias or uniform draw).
State: the real-negative CSR (``exposure``, ``exposure_subsample``), two alias tables.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

from negkit._jit import kernel
from negkit._rng import rand_float, rand_int
from negkit.samplers.alias import alias_draw, build_alias
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


class _ExposureFit(Sampler):
    """``fit(exposures=)`` also tells the number of items (its columns)."""

    fit_extras = ("exposures",)

    def fit(self, *, exposures: Any = None, **kw: Any) -> Sampler:
        if exposures is not None and all(
            kw.get(k) is None for k in ("n_items", "counts", "output")
        ):
            kw["n_items"] = sp.csr_matrix(exposures).shape[1]
        return super().fit(exposures=exposures, **kw)


def _need_impressions(sampler: Sampler, exposures: Any, counts: Any = None, *,
                      or_counts: bool = False) -> None:  # fmt: skip
    """A ValueError when ``sampler`` is fitted without the impression data it draws from."""
    if exposures is not None or (or_counts and counts is not None):
        return
    need = "exposures= (the user x item impression matrix)"
    if or_counts:
        need += " or counts= (each item's exposure count)"
    raise ValueError(
        f"sampler {sampler.name!r} draws from impressions: fit it with {need}; a trainer "
        "that knows no impressions (Word2Vec, graph embeddings, ...) cannot use it"
    )


def _exposures(sampler: Sampler, exposures: Any) -> sp.csr_matrix:
    e = sp.csr_matrix(exposures, dtype=np.float64)
    if e.shape[1] != sampler.n_items_:
        raise ValueError(f"exposures has {e.shape[1]} item columns for {sampler.n_items_} items")
    if e.nnz and (not np.all(np.isfinite(e.data)) or e.data.min() < 0):
        raise ValueError("exposures must be finite and non-negative")
    e.eliminate_zeros()
    e.sort_indices()
    return e


def _real_negatives(e: sp.csr_matrix, positives) -> sp.csr_matrix:
    """``E_u = exposed(u) minus clicked(u)``, as a 0/1 CSR."""
    r = (e > 0).astype(np.float64).tocsr()
    if positives is not None:
        p = sp.csr_matrix(positives, dtype=np.float64)
        rows = min(r.shape[0], p.shape[0])
        clicked = sp.vstack([p[:rows] > 0, sp.csr_matrix((r.shape[0] - rows, r.shape[1]))])
        r = (r - r.multiply(clicked)).tocsr()
    r.eliminate_zeros()
    r.sort_indices()
    return r


def _check_prob(name: str, v: Any, *, open_low: bool = False) -> float:
    ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
    if not ok or not math.isfinite(v) or v < 0 or v > 1 or (open_low and v == 0):
        lo = "(0" if open_low else "[0"
        raise ValueError(f"{name} must be a number in {lo}, 1], got {v!r}")
    return float(v)


@kernel(_nrt=False)
def draw_exposure(state, anchor, pos, vec, ctx):
    indptr, indices, n, rate = state
    if anchor >= 0 and anchor + 1 < indptr.shape[0]:
        lo = indptr[anchor]
        hi = indptr[anchor + 1]
        if hi > lo and rand_float(ctx) < rate:
            return np.int64(indices[lo + rand_int(ctx, hi - lo)])
    return rand_int(ctx, n)


@register("exposure", aliases=("exposed",))
class ExposureSampler(_ExposureFit):
    """Real negatives (shown, not clicked) at ``rate``, uniform items otherwise."""

    needs_impressions = True  # fit(exposures=) is required

    def __init__(
        self, rate: float = 0.5, *, seed: int | None = None, exclude_positives: bool = False
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.rate = rate

    def _fit(self, *, counts, positives, exposures: Any = None, **extra: Any) -> None:
        self._rate = _check_prob("rate", self.rate)
        _need_impressions(self, exposures)
        self.real_ = _real_negatives(_exposures(self, exposures), positives)

    def _kernel(self) -> tuple[Any, tuple]:
        r = self.real_
        return draw_exposure, (
            r.indptr.astype(np.int64),
            r.indices.astype(np.int64),
            np.int64(self.n_items_),
            self._rate,
        )

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        p = np.full(self.n_items_, 1.0 / self.n_items_)
        if anchor is None or anchor >= self.real_.shape[0]:
            return p
        row = self.real_.indices[self.real_.indptr[anchor] : self.real_.indptr[anchor + 1]]
        if row.size == 0:
            return p
        p *= 1.0 - self._rate
        p[row] += self._rate / row.size
        return p


@kernel(_nrt=False)
def draw_subsample(state, anchor, pos, vec, ctx):
    indptr, indices, keep, n = state
    lo = np.int64(0)
    hi = np.int64(0)
    if anchor >= 0 and anchor + 1 < indptr.shape[0]:
        lo = indptr[anchor]
        hi = indptr[anchor + 1]
    while True:
        if hi > lo:
            i = np.int64(indices[lo + rand_int(ctx, hi - lo)])
        else:
            i = rand_int(ctx, n)
        if rand_float(ctx) < keep[i]:
            return i


@register("exposure_subsample", aliases=("real_negative_subsampling",))
class ExposureSubsampleSampler(_ExposureFit):
    """Real negatives, each kept with probability ``min(1, sqrt(t / f_i))`` (exposure share f)."""

    needs_impressions = True  # fit(exposures=) is required

    def __init__(
        self, t: float = 1e-3, *, seed: int | None = None, exclude_positives: bool = False
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.t = t

    def _fit(self, *, counts, positives, exposures: Any = None, **extra: Any) -> None:
        t = self.t
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 1:
            raise ValueError(f"t must be a number in (0, 1], got {t!r}")
        _need_impressions(self, exposures)
        e = _exposures(self, exposures)
        freq = np.asarray(e.sum(axis=0)).ravel()
        f = freq / freq.sum() if freq.sum() > 0 else freq
        with np.errstate(divide="ignore"):
            self.keep_ = np.where(f > 0, np.minimum(1.0, np.sqrt(t / np.maximum(f, 1e-300))), 1.0)
        self.real_ = _real_negatives(e, positives)

    def _kernel(self) -> tuple[Any, tuple]:
        r = self.real_
        return draw_subsample, (
            r.indptr.astype(np.int64),
            r.indices.astype(np.int64),
            self.keep_,
            np.int64(self.n_items_),
        )

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        base = np.ones(self.n_items_)
        if anchor is not None and anchor < self.real_.shape[0]:
            row = self.real_.indices[self.real_.indptr[anchor] : self.real_.indptr[anchor + 1]]
            if row.size:
                base = np.zeros(self.n_items_)
                base[row] = 1.0
        p = base * self.keep_
        return p / p.sum()


@kernel(_nrt=False)
def draw_groups(state, anchor, pos, vec, ctx):
    low, high, prob, alias, p_low = state
    if low.shape[0] > 0 and (high.shape[0] == 0 or rand_float(ctx) < p_low):
        return np.int64(low[rand_int(ctx, low.shape[0])])
    return np.int64(high[alias_draw(prob, alias, ctx)])


@register("exposure_groups", aliases=("exposure_weighted",))
class ExposureGroupSampler(_ExposureFit):
    """Uniform from the rarely shown items at ``p_low``, else unigram over the often shown."""

    def __init__(
        self,
        threshold: float = 10.0,
        p_low: float = 0.5,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.threshold = threshold
        self.p_low = p_low

    def _fit(self, *, counts, positives, exposures: Any = None, **extra: Any) -> None:
        self._p_low = _check_prob("p_low", self.p_low)
        thr = self.threshold
        if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not thr > 0:
            raise ValueError(f"threshold must be a positive number, got {thr!r}")
        _need_impressions(self, exposures, counts, or_counts=True)
        if exposures is not None:
            c = np.asarray(_exposures(self, exposures).sum(axis=0)).ravel()
        else:
            c = counts
        self.counts_ = np.asarray(c, dtype=np.float64)
        high = self.counts_ >= thr
        self.low_ = np.flatnonzero(~high).astype(np.int64)
        self.high_ = np.flatnonzero(high).astype(np.int64)
        w = self.counts_[self.high_]
        self._prob, self._alias = build_alias(w / w.sum() if w.size else np.ones(1))

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_groups, (self.low_, self.high_, self._prob, self._alias, self._p_low)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        p = np.zeros(self.n_items_)
        p_low = self._p_low if self.high_.size else 1.0
        if not self.low_.size:
            p_low = 0.0
        p[self.low_] = p_low / max(self.low_.size, 1)
        w = self.counts_[self.high_]
        if w.size:
            p[self.high_] = (1.0 - p_low) * w / w.sum()
        return p
