"""How many anchors a sampler with per-anchor state must hold."""

from __future__ import annotations

from typing import Any


def n_anchors_of(sampler: Any, extra: dict) -> int:
    """``fit(n_anchors=)``, else the rows of ``positives=``, else the rows of ``input=``."""
    n = extra.pop("n_anchors", None)
    if n is None and sampler.positives_ is not None:
        n = sampler.positives_.shape[0]
    if n is None and sampler.input_ is not None:
        n = sampler.input_.shape[0]
    if n is None:
        raise ValueError(
            f"{type(sampler).__name__} keeps per-anchor state: fit(n_anchors=), positives= "
            "or input= must say how many anchors there are"
        )
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n_anchors must be a positive integer, got {n!r}")
    return int(n)
