"""Small compiled helpers shared by the score-aware samplers.

* :func:`dot` -- the model's score ``s(anchor, i) = vec . output[i]``;
* :func:`trunc_geom` -- a rank ``r`` with ``p(r) ∝ exp(-r / lam)`` on ``[0, n)``, drawn in O(1)
  by inverse CDF: ``r = floor(-lam * ln(1 - u * (1 - exp(-n / lam))))`` for ``u ~ U[0, 1)``;
  pass ``c = 1 - exp(-n / lam)`` (precomputed, see :func:`trunc_geom_mass`);
* :func:`trunc_geom_pmf` -- the exact probabilities of those ranks (tests, ``distribution()``);
* :func:`softmax_reservoir` -- one step of a size-one weighted reservoir over weights
  ``exp(z)`` with a running max (softmax draws in one streaming pass, no overflow).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negkit._jit import FAST_FINITE_SAFE, kernel
from negkit._rng import rand_float


@kernel(fastmath=FAST_FINITE_SAFE, _nrt=False)
def dot(output, i, vec):
    """``output[i] . vec`` in float32 (fastmath: vectorised, in one fixed order)."""
    s = np.float32(0.0)
    for f in range(vec.shape[0]):
        s += output[i, f] * vec[f]
    return s


def trunc_geom_mass(n: int, lam: float) -> float:
    """``1 - exp(-n / lam)``: the mass of ``[0, n)`` under the untruncated law."""
    return -math.expm1(-n / lam)


@kernel(inline="always")
def trunc_geom(ctx, n, lam, c):
    u = rand_float(ctx)
    r = np.int64(-lam * np.log(1.0 - u * c))
    if r >= n:  # rounding at the far end
        r = n - 1
    return r


@kernel(inline="always")
def softmax_reservoir(z, top, total, ctx):
    """Offer a candidate of weight ``exp(z)`` to a size-one reservoir: ``(taken, top, total)``.

    ``top`` is the largest ``z`` offered so far (start at ``-inf``) and ``total`` the sum of
    ``exp(z - top)`` (start at 0); the candidate replaces the kept one with probability
    ``exp(z - top) / total``, so the one kept at the end has probability ``softmax(z)``.
    """
    if z > top:
        total = total * np.exp(top - z)
        top = z
    w = np.exp(z - top)
    total += w
    return rand_float(ctx) * total < w, top, total


def trunc_geom_pmf(n: int, lam: float) -> np.ndarray:
    """``p(r) = exp(-r/lam) (1 - exp(-1/lam)) / (1 - exp(-n/lam))`` for r in [0, n)."""
    r = np.arange(n, dtype=np.float64)
    return np.exp(-r / lam) * (-math.expm1(-1.0 / lam)) / trunc_geom_mass(n, lam)


def check_positive(value, what: str) -> float:
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return v


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool; anything but a bool is refused.  (A spec's ``auto_push=no`` or
    ``exclude_positives=1`` arrives as text or a number, and a truthy string would silently
    turn the option on.)"""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_count(value, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return int(value)
