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
    if not np.all((w > 0) & (w <= 1)):  # NaN fails both
        raise ValueError("the keep rate w must lie in (0, 1]")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("probabilities p must lie in [0, 1]")
    return p / (p + (1.0 - p) / w)


def importance_weights(p_target, q, *, self_normalise: bool = False, axis: int = -1):
    """Importance weights ``w = p_target / q`` of draws made from ``q``.

    Used to turn sampled losses into estimates under the target law (Bengio & Senécal 2008,
    "Adaptive Importance Sampling to Accelerate Training of a Neural Probabilistic Language
    Model").  With ``self_normalise=True`` the weights along ``axis`` are divided by their sum
    (the self-normalised estimator, which needs ``p_target`` only up to a constant).
    """
    p = np.asarray(p_target, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise ValueError("target probabilities must be finite and non-negative")
    if np.any(q <= 0) or not np.all(np.isfinite(q)):
        raise ValueError("proposal probabilities q must be finite and > 0 where a draw was made")
    w = p / q
    if self_normalise:
        s = w.sum(axis=axis, keepdims=True)
        if np.any(s <= 0):
            raise ValueError("self-normalised weights need a positive total along the axis")
        w = w / s
    return w


def snis_weights(scores, log_q, *, tau: float = 1.0, axis: int = -1):
    """Self-normalised importance weights of a softmax's draws (Bengio & Senécal 2008).

    For draws ``j`` from ``q`` with scores ``s_j``, ``w_j = (e^{s_j/tau} / q_j) / sum_l
    e^{s_l/tau} / q_l``: the weights of the sampled estimate of the softmax gradient
    ``E_p[grad s] ≈ sum_j w_j grad s_j`` (the gradient of ``negkit.rec.losses.snis_softmax``
    with respect to the negatives' scores is ``w / tau`` per row, divided by the batch size).
    Computed in log space, ``w = softmax(s / tau - log q)`` along ``axis``: a draw whose
    ``q`` or ``e^{s/tau}`` underflows float64 (``log q < -745``) still gets its weight.
    """
    if not (isinstance(tau, (int, float)) and np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a finite number > 0, got {tau!r}")
    z = np.asarray(scores, dtype=np.float64) / tau
    lq = np.asarray(log_q, dtype=np.float64)
    if z.shape != lq.shape:
        raise ValueError(f"scores {z.shape} and log_q {lq.shape} must have the same shape")
    if not np.all(np.isfinite(z)):
        raise ValueError("scores must be finite")
    if not np.all(np.isfinite(lq)):
        raise ValueError("log_q must be finite (q > 0 where a draw was made)")
    lw = z - lq
    lw = lw - lw.max(axis=axis, keepdims=True)  # the constant cancels in the normalisation
    w = np.exp(lw)
    return w / w.sum(axis=axis, keepdims=True)
