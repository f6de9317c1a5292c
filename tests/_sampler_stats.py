"""Chi-square helper shared by the sampler tests."""

from __future__ import annotations

import numpy as np
from scipy import stats


def chi2_pvalue(draws, probs, min_expected: float = 5.0) -> float:
    """p-value of a chi-square goodness-of-fit test of ``draws`` against ``probs``.

    Items with zero probability must never be drawn; cells whose expected count is below
    ``min_expected`` are pooled into one cell.
    """
    draws = np.asarray(draws).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    assert abs(probs.sum() - 1.0) < 1e-9, probs.sum()
    counts = np.bincount(draws, minlength=probs.size).astype(np.float64)
    assert counts.size == probs.size, "an item id out of range was drawn"
    zero = probs == 0
    bad = np.flatnonzero(zero & (counts > 0))
    assert bad.size == 0, f"drew items of zero probability: {bad}"
    expected = probs[~zero] * draws.size
    observed = counts[~zero]
    small = expected < min_expected
    if small.any():
        expected = np.append(expected[~small], expected[small].sum())
        observed = np.append(observed[~small], observed[small].sum())
    return float(stats.chisquare(observed, expected).pvalue)
