"""Rank-band hard negatives (``band``): uniform among an anchor's ranks ``[range_min, range_max)``.

The band miner of :func:`negkit.contrastive.mine_hard_negatives` behind the sampler contract:
at ``fit`` (and at every :meth:`refresh`, as ANCE re-indexes the corpus: Xiong et al., ICLR
2021) each anchor's items are ranked by ``s(a, i) = input[a] · output[i]`` with exact chunked
search, the anchor's known positives left out, and the band of ranks ``[range_min,
range_max)`` (0-based) is kept -- e.g. ranks 100-500 of an earlier model (Huang et al., KDD
2020).  A draw is uniform over the anchor's band:  q(i | a) = 1 / |band(a)| on the band.

Margins drop likely false negatives at draw time, against the live score of the pair's
positive ``s⁺ = vec · output[pos]``: ``absolute_margin=m`` keeps band items with
``s ≤ s⁺ - m``, ``relative_margin=r`` those with ``s ≤ s⁺ (1 - r)`` (band scores are those of
the last refresh).  When no band item survives, or the anchor has no band, the draw is
uniform over all items.

Cost per draw: O(1), or O(d + log W) with a margin.  State: the band, ``W = range_max -
range_min`` ids and scores per anchor (12 W bytes), plus the tables by reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._kernels import check_count, dot
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel
def draw_band(state, anchor, pos, vec, ctx):
    indptr = state[0]
    if anchor < 0 or anchor + 1 >= indptr.shape[0]:
        return rand_int(ctx, state[6])
    lo = indptr[anchor]
    hi = indptr[anchor + 1]
    if pos >= 0 and (state[4] >= 0.0 or state[5] >= 0.0) and vec.shape[0] > 0:
        sp = dot(state[3], pos, vec)
        thr = np.inf
        if state[4] >= 0.0:
            thr = sp - state[4]
        if state[5] >= 0.0:
            thr = min(thr, sp * (1.0 - state[5]))
        a = lo
        b = hi
        while a < b:  # band scores descend: the first one <= thr
            mid = (a + b) >> 1
            if state[2][mid] > thr:
                a = mid + 1
            else:
                b = mid
        lo = a
    if hi <= lo:
        return rand_int(ctx, state[6])
    return state[1][lo + rand_int(ctx, hi - lo)]


@register("band", aliases=("rank_band", "hard_band"))
class BandSampler(Sampler):
    """Uniform over ranks ``[range_min, range_max)`` of an earlier model (see the module)."""

    score_aware = True
    uses_positive = True  # the margins score against it

    def __init__(
        self,
        range_min: int = 0,
        range_max: int = 100,
        absolute_margin: float | None = None,
        relative_margin: float | None = None,
        refresh_every: int | None = None,
        query_chunk: int = 512,
        corpus_chunk: int = 32768,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ) -> None:
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.range_min = range_min
        self.range_max = range_max
        self.absolute_margin = absolute_margin
        self.relative_margin = relative_margin
        self.refresh_every = refresh_every
        self.query_chunk = query_chunk
        self.corpus_chunk = corpus_chunk

    def _fit(self, *, counts=None, positives=None, **extra: Any) -> None:
        check_count(self.range_min, "range_min", 0)
        check_count(self.range_max, "range_max", 1)
        if self.refresh_every is not None:  # maybe_refresh compares draws against it
            check_count(self.refresh_every, "refresh_every")
        if self.range_max <= self.range_min:
            raise ValueError(f"the band [{self.range_min}, {self.range_max}) is empty")
        for m, what in ((self.absolute_margin, "absolute_margin"),
                        (self.relative_margin, "relative_margin")):  # fmt: skip
            if m is not None and (not np.isfinite(float(m)) or float(m) < 0):
                raise ValueError(f"{what} must be a non-negative number, got {m!r}")
        if self.input_ is None:
            raise ValueError("BandSampler ranks items for each anchor: fit(input=anchor table)")
        if self.input_.shape[1] != self.output_.shape[1]:
            raise ValueError(
                f"input has {self.input_.shape[1]} dims but output has {self.output_.shape[1]}"
            )
        self.refreshes_ = 0
        self.refresh()

    def refresh(self) -> None:
        """Rank every anchor's items with the current tables and keep the band (ANCE)."""
        from negkit.contrastive.mining import chunked_topk

        inp, out, pos = self.input_, self.output_, self.positives_
        na, n = inp.shape[0], self.n_items_
        rows_ids, rows_s, counts = [], [], np.zeros(na, dtype=np.int64)
        step = self.query_chunk
        for lo in range(0, na, step):
            hi = min(na, lo + step)
            extra = 0
            if pos is not None and lo < pos.shape[0]:
                extra = int(np.diff(pos.indptr[lo : min(hi, pos.shape[0]) + 1]).max(initial=0))
            k = min(n, self.range_max + extra)
            s, ids = chunked_topk(inp[lo:hi], out, k, query_chunk=step,
                                  corpus_chunk=self.corpus_chunk)  # fmt: skip
            for r in range(hi - lo):
                a = lo + r
                keep = ids[r] >= 0
                if pos is not None and a < pos.shape[0]:
                    row = pos.indices[pos.indptr[a] : pos.indptr[a + 1]]
                    keep &= ~np.isin(ids[r], row)
                i = ids[r][keep][self.range_min : self.range_max]
                rows_ids.append(i)
                rows_s.append(s[r][keep][self.range_min : self.range_max])
                counts[a] = i.shape[0]
        self.band_indptr_ = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.band_ids_ = (np.concatenate(rows_ids) if rows_ids else np.zeros(0)).astype(np.int64)
        self.band_scores_ = (np.concatenate(rows_s) if rows_s else np.zeros(0)).astype(np.float32)
        self.refreshes_ = getattr(self, "refreshes_", 0) + 1

    def _kernel(self) -> tuple[Any, tuple]:
        def m(x):
            return np.float32(-1.0 if x is None else x)

        return draw_band, (
            self.band_indptr_, self.band_ids_, self.band_scores_, self.output_,
            m(self.absolute_margin), m(self.relative_margin), np.int64(self.n_items_),
        )  # fmt: skip

    def distribution(self, anchor=None, anchor_vector=None, pos: int | None = None) -> np.ndarray:
        """Uniform over the anchor's band; with the pair's positive ``pos`` and a margin, over
        the band items that the margin keeps against the live ``s⁺ = vec · output[pos]``
        (``vec``: ``anchor_vector``, else ``input[anchor]``), as a draw does; uniform over
        all items when none is kept."""
        self._check_fitted()
        p = np.zeros(self.n_items_)
        if anchor is None or anchor + 1 >= self.band_indptr_.shape[0]:
            return np.full(self.n_items_, 1.0 / self.n_items_)
        lo, hi = self.band_indptr_[anchor], self.band_indptr_[anchor + 1]
        row = self.band_ids_[lo:hi]
        margins = self.absolute_margin is not None or self.relative_margin is not None
        if pos is not None and pos >= 0 and margins and row.size:
            from negkit.samplers._candidates import all_scores

            v = self.input_[anchor] if anchor_vector is None else anchor_vector
            v = np.ascontiguousarray(v, dtype=np.float32).reshape(-1)
            s_pos = all_scores(self.output_[pos : pos + 1], v)[0]  # the kernel's float32 dot
            thr = np.inf  # as the kernel: s⁺ - m in float32, s⁺ (1 - r) in float64
            if self.absolute_margin is not None:
                thr = float(s_pos - np.float32(self.absolute_margin))
            if self.relative_margin is not None:
                thr = min(thr, float(s_pos) * (1.0 - float(np.float32(self.relative_margin))))
            row = row[self.band_scores_[lo:hi].astype(np.float64) <= thr]
        if row.size == 0:
            return np.full(self.n_items_, 1.0 / self.n_items_)
        p[row] = 1.0 / row.size
        return p


def check_trained_tables(sampler: Any, trainer: str) -> None:
    """``band`` ranks by the tables it is fitted on.  A trainer that fits it on the tables it
    is about to train (random or zero at the start) must have it re-rank them as they learn:
    without ``refresh_every`` the band would be that of the untrained tables for good."""
    if getattr(sampler, "name", "") == "band" and not getattr(sampler, "refresh_every", None):
        raise ValueError(
            f"sampler 'band' fitted by {trainer} would rank its untrained tables once: set "
            "refresh_every=N (re-rank the live tables every N draws, as ANCE), or mine the "
            "bands from an earlier model (negkit.contrastive.mine_hard_negatives)"
        )
