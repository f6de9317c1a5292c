"""Non-entity spans of a sentence (``span``), for span-based NER with unlabeled entities.

Li, Liu & Shi (ICLR 2021), "Empirical Analysis of Unlabeled Entity Problem in Named Entity
Recognition": train a span classifier on the gold spans plus ``⌈λ n⌉`` spans drawn uniformly
from the sentence's non-entity spans, instead of all of them as "O", so that entities left
unannotated are rarely taught as "O".

Here the anchor is a sentence and an item is a span, coded ``start · max_width + (width -
1)`` (:func:`span_code`; ``n_items = max_len · max_width``).  Fit with ``lengths=`` (tokens per
sentence) and ``positives=`` (CSR sentence × span code of the gold spans).  A draw is uniform
over the sentence's spans of width ≤ ``max_width`` that are not gold:
q(s | sentence) = 1 / (#valid spans - #gold spans).  A sentence with no such span (or an
anchor id outside the fitted sentences) draws ``-1``.

Cost per draw: O(max_width) plus a binary search in the gold row per rejection (gold spans
are few); after ``EXCLUDE_TRIES`` rejections an exact draw over the sentence's spans.
State: the lengths and the gold CSR.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._kernels import check_count
from negkit.samplers.base import EXCLUDE_TRIES, Sampler, _row_contains
from negkit.samplers.registry import register


def span_code(start: Any, end: Any, max_width: int) -> np.ndarray:
    """Code of the span of tokens ``start..end`` (inclusive): ``start·max_width + end-start``."""
    start, end = np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64)
    w = end - start
    if np.any(w < 0) or np.any(w >= max_width):
        raise ValueError(f"span widths must lie in [1, {max_width}]")
    return start * max_width + w


def span_decode(code: Any, max_width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(start, end)`` (inclusive) of span codes."""
    code = np.asarray(code, dtype=np.int64)
    return code // max_width, code // max_width + code % max_width


@kernel
def _nth_span(n, mw, j):
    """The j-th span (by width, then start) of a sentence of n tokens, as a code."""
    w = 1
    while True:
        c = n - w + 1
        if j < c:
            return j * mw + (w - 1)
        j -= c
        w += 1


@kernel
def draw_span(state, anchor, pos, vec, ctx):
    lengths = state[0]
    if anchor < 0 or anchor >= lengths.shape[0]:
        return np.int64(-1)
    n = lengths[anchor]
    mw = state[3]
    wmax = min(mw, n)
    total = wmax * n - wmax * (wmax - 1) // 2
    if total <= 0:
        return np.int64(-1)
    lo = np.int64(0)
    hi = np.int64(0)
    if anchor + 1 < state[1].shape[0]:
        lo = state[1][anchor]
        hi = state[1][anchor + 1]
    for _ in range(EXCLUDE_TRIES):
        x = _nth_span(n, mw, rand_int(ctx, total))
        if not _row_contains(state[2], lo, hi, x):
            return x
    free = total - (hi - lo)  # gold codes are valid spans of this sentence
    if free <= 0:
        return np.int64(-1)
    j = rand_int(ctx, free)
    for t in range(total):
        x = _nth_span(n, mw, t)
        if not _row_contains(state[2], lo, hi, x):
            if j == 0:
                return x
            j -= 1
    return np.int64(-1)


@register("span", aliases=("ner_span", "span_negatives"))
class SpanSampler(Sampler):
    """Uniform non-gold spans of width ≤ ``max_width`` of a sentence (Li et al. 2021)."""

    fit_extras = ("lengths",)

    def __init__(
        self, max_width: int = 8, *, seed: int | None = None, exclude_positives: bool = False
    ) -> None:
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.max_width = max_width

    def fit(self, *, lengths: Any = None, positives: Any = None, **kw: Any) -> SpanSampler:
        """``lengths``: tokens per sentence; ``positives``: CSR sentence × span code of gold."""
        if lengths is None:
            raise ValueError("SpanSampler.fit needs lengths= (tokens per sentence)")
        check_count(self.max_width, "max_width")
        lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if lengths.size and lengths.min() < 0:
            raise ValueError("sentence lengths must be >= 0")
        n = int(max(1, lengths.max(initial=1))) * int(self.max_width)
        kw.setdefault("n_items", n)
        if positives is None:
            import scipy.sparse as sp

            positives = sp.csr_matrix((lengths.size, kw["n_items"]), dtype=np.int8)
        return super().fit(positives=positives, lengths=lengths, **kw)

    def _fit(self, *, counts=None, positives=None, lengths=None, **extra: Any) -> None:
        mw = int(self.max_width)
        if positives.shape[0] > lengths.size:
            raise ValueError(
                f"positives has {positives.shape[0]} sentences but lengths {lengths.size}"
            )
        for s in range(positives.shape[0]):
            row = positives.indices[positives.indptr[s] : positives.indptr[s + 1]]
            if row.size:
                st, en = span_decode(row, mw)
                if en.max() >= lengths[s]:
                    raise ValueError(
                        f"sentence {s} has {lengths[s]} tokens but a gold span ends at token "
                        f"{int(en.max())}"
                    )
        self.lengths_ = lengths

    def _kernel(self) -> tuple[Any, tuple]:
        p = self.positives_
        return draw_span, (
            self.lengths_, p.indptr.astype(np.int64), p.indices.astype(np.int64),
            np.int64(self.max_width),
        )  # fmt: skip

    _anchors_are = "the sentences of lengths="

    def n_anchors(self) -> int | None:
        """The anchors are the fitted sentences."""
        return int(self.lengths_.size) if hasattr(self, "lengths_") else None

    def spans(self, sentence: int) -> np.ndarray:
        """Codes of every span of width ≤ max_width of a sentence."""
        self._check_fitted()
        if not 0 <= int(sentence) < self.lengths_.size:
            raise ValueError(f"sentence {sentence} is out of range: {self.lengths_.size} fitted")
        n, mw = int(self.lengths_[sentence]), int(self.max_width)
        return np.array([s * mw + w for w in range(min(mw, n)) for s in range(n - w)], np.int64)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        self._check_fitted()
        if anchor is None:
            raise ValueError("the span law depends on the sentence: pass anchor=")
        p = np.zeros(self.n_items_)
        codes = self.spans(anchor)
        row = self.positives_.indices[
            self.positives_.indptr[anchor] : self.positives_.indptr[anchor + 1]
        ]
        codes = codes[~np.isin(codes, row)]
        if codes.size:
            p[codes] = 1.0 / codes.size
        return p
