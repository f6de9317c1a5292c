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
    batch = hasattr(sampler, "sample_batch")  # in-batch / mixed: built on the data, no fit
    known = getattr(sampler, "n_items" if batch else "n_items_", None)
    if known is not None and known != n_items:
        raise ValueError(
            f"sampler {name!r} was fitted on {known} items, the training matrix has {n_items}: "
            "fit it on this data (n_items=, positives=train)"
        )
    if batch:  # its positives mark accidental hits
        pos = getattr(sampler, "positives", None)
    else:
        pos = getattr(sampler, "positives_", None)
        pos = pos if getattr(sampler, "exclude_positives", False) else None
    if pos is not None and pos.shape[0] != n_users:
        raise ValueError(
            f"sampler {name!r} holds the positives of {pos.shape[0]} users, the training "
            f"matrix has {n_users}: fit it with positives=train"
        )
