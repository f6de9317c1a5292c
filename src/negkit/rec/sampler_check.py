"""The check both recommender engines make of a sampler fitted by the caller: on this data."""

from __future__ import annotations

from typing import Any

__all__ = ["check_sampler_data"]


def check_sampler_data(sampler: Any, shape: tuple[int, int]) -> None:
    """A ValueError when ``sampler`` was fitted on another catalogue than the training matrix
    of ``shape`` (users x items), or excludes the positives of other users: it would never
    draw the items past its own (or draw ids past the tables), and leave the positives of
    users it does not know unexcluded."""
    name = getattr(sampler, "name", type(sampler).__name__)
    n_users, n_items = shape
    known = getattr(sampler, "n_items_", None)
    if known is not None and known != n_items:
        raise ValueError(
            f"sampler {name!r} was fitted on {known} items, the training matrix has {n_items}: "
            "fit it on this data (n_items=, positives=train)"
        )
    excludes = getattr(sampler, "exclude_positives", False)
    pos = getattr(sampler, "positives_", None) if excludes else None
    if pos is not None and pos.shape[0] != n_users:
        raise ValueError(
            f"sampler {name!r} excludes the positives of {pos.shape[0]} users, the training "
            f"matrix has {n_users}: fit it with positives=train"
        )
