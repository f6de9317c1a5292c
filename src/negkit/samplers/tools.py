"""Corrections that use the sampler's probabilities."""

from __future__ import annotations

import numpy as np


def calibrate(p, w):
    """Calibrate probabilities predicted after negative down-sampling.

    He et al. (2014), "Practical Lessons from Predicting Clicks on Ads at
    Facebook": a model trained on all positives and a fraction ``w`` of the
    negatives predicts ``p``; the calibrated probability is
    ``q = p / (p + (1 - p) / w)``.
    """
    p = np.asarray(p, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if np.any((w <= 0) | (w > 1)):
        raise ValueError("the keep rate w must lie in (0, 1]")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probabilities p must lie in [0, 1]")
    return p / (p + (1.0 - p) / w)
