"""A validation split carved from a published train split.

Data sets published as train / test only (Gowalla, Yelp2018, Amazon-Book in LightGCN's
layout) leave no clean way to pick an epoch or a hyper-parameter: choosing on test reports an
optimistic test figure.  :func:`carve_valid` moves a seeded random fraction of each user's
training items to a validation split (:func:`~negkit.data.interactions.split_ratio`: at least
one item stays in train) and leaves test untouched, so that model selection reads valid and
test is read once.
"""

from __future__ import annotations

import dataclasses

from negkit.data.interactions import Interactions, split_ratio

__all__ = ["carve_valid"]


def carve_valid(data: Interactions, fraction: float = 0.1, seed: int = 0) -> Interactions:
    """``data`` with ``round(n * fraction)`` of each user's ``n`` training items moved to valid."""
    if data.valid is not None:
        raise ValueError(f"{data.name or 'the data'} already has a validation split")
    f = float(fraction)
    if not 0.0 < f < 1.0:
        raise ValueError(f"the validation fraction must lie in (0, 1), got {fraction!r}")
    coo = data.train.tocoo()
    n_users, n_items = data.train.shape
    parts = split_ratio(
        coo.row, coo.col, (1.0 - f, f), seed, n_users=n_users, n_items=n_items, name=data.name
    )
    return dataclasses.replace(
        data, train=parts.train, valid=parts.test, name=f"{data.name}+valid{f:g}s{seed}"
    )
