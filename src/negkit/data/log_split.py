"""Splitting a user's own log into train / (valid) / test: ``random``, ``leave-one-out``,
``temporal``; and :func:`load_log`, which reads and splits in one call.

* ``random:F`` -- each user's items shuffled (seeded), ``round(n F)`` to test (and as many
  to valid), at least one kept in train (:func:`~negkit.data.interactions.split_ratio`);
* ``leave-one-out`` -- a user's latest item is test, the one before valid (He et al. 2017,
  NCF; random when the log has no timestamp, :func:`~negkit.data.interactions.split_leave_one_out`);
* ``temporal:F`` -- one global time cut: the latest fraction F of the interactions is test
  (and the F before it valid); ties in time are broken at random (seeded).  A user whose
  interactions all fall after the cut has nothing to train on: their held-out interactions
  are dropped, counted in the log (their rows stay in the tables, untrained).

Items are never dropped: an item whose every interaction is held out (a new item after a
temporal cut, or a rare item drawn for test) stays a column, untrained, and is ranked like
any other.  A fraction too small for any user (``round(n F) == 0``) leaves test empty, which
training refuses ("no user has a test item").
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from negkit.data.interactions import Interactions, _assemble, split_leave_one_out, split_ratio
from negkit.data.logs import InteractionLog, read_log

log = logging.getLogger(__name__)

__all__ = ["load_log", "split_log", "parse_split"]

SPLITS = ("random:F", "leave-one-out", "temporal:F")


def parse_split(text: str, valid: bool = False) -> tuple[str, float]:
    """``("random" | "leave-one-out" | "temporal", F)`` from ``"random:0.2"`` and the like."""
    kind, _, frac = str(text).strip().lower().partition(":")
    if kind in ("loo", "leave-one-out", "leave_one_out"):
        if frac:
            raise ValueError(f"split {text!r}: leave-one-out takes no fraction")
        return "leave-one-out", 0.0
    if kind not in ("random", "temporal"):
        raise ValueError(f"unknown split {text!r}; use one of {', '.join(SPLITS)}")
    try:
        f = float(frac) if frac else 0.2
    except ValueError:
        raise ValueError(f"split {text!r}: the fraction must be a number, got {frac!r}") from None
    top = 0.5 if valid else 1.0
    if not 0.0 < f < top:
        raise ValueError(f"split {text!r}: the fraction must lie in (0, {top:g})"
                         + (" with a validation split" if valid else ""))  # fmt: skip
    return kind, f


def split_log(
    data: InteractionLog, split: str = "random:0.2", *, valid: bool = False, seed: int = 0
) -> Interactions:
    """Train / (valid) / test matrices of ``data`` (see the module for the splits)."""
    kind, f = parse_split(split, valid)
    common = dict(n_users=data.n_users, n_items=data.n_items, name=data.name,
                  user_ids=data.user_ids, item_ids=data.item_ids)  # fmt: skip
    if kind == "random":
        ratios = (1 - 2 * f, f, f) if valid else (1 - f, f)
        return split_ratio(data.users, data.items, ratios, seed=seed, **common)
    if kind == "leave-one-out":
        return split_leave_one_out(data.users, data.items, data.timestamps, seed=seed,
                                   valid=valid, **common)  # fmt: skip
    if data.timestamps is None:
        raise ValueError(
            f"{data.name}: a temporal split needs a time column (time_col= / --time-col); "
            f"the columns found are {data.columns}"
        )
    return _temporal(data, f, valid, seed)


def _temporal(data: InteractionLog, f: float, valid: bool, seed: int) -> Interactions:
    n = data.users.size
    order = np.lexsort((np.random.default_rng(seed).random(n), data.timestamps))
    n_out = int(np.floor(n * f + 0.5))
    which = np.zeros(n, dtype=np.int8)  # 0 train, 1 valid, 2 test
    which[order[n - n_out :]] = 2
    if valid:
        which[order[max(n - 2 * n_out, 0) : n - n_out]] = 1
    if not (which == 0).any():
        raise ValueError(f"{data.name}: temporal split with fraction {f} leaves no training row")
    trained = np.zeros(data.n_users, dtype=bool)
    trained[data.users[which == 0]] = True
    cold = ~trained[data.users]
    if cold.any():
        log.warning(
            "%s: temporal split: %d users have no interaction before the cut; their %d held-out "
            "interactions are dropped (a user without training data cannot be ranked)",
            data.name, int(np.unique(data.users[cold]).size), int(cold.sum()),
        )  # fmt: skip
    keep = ~cold
    return _assemble(data.users[keep], data.items[keep], which[keep],
                     (data.n_users, data.n_items), valid, data.name, data.user_ids,
                     data.item_ids)  # fmt: skip


def load_log(
    source: Any, split: str = "random:0.2", *, valid: bool = False, seed: int = 0, **read: Any
) -> Interactions:
    """Read a log (path or DataFrame, :func:`negkit.data.logs.read_log`'s options) and split it.

    >>> data = load_log(df, user_col="visitor", split="temporal:0.1", valid=True)  # doctest: +SKIP
    >>> data.user_ids[0], data.train.shape                                          # doctest: +SKIP
    """
    parse_split(split, valid)  # a bad split fails before the file is read
    return split_log(read_log(source, **read), split, valid=valid, seed=seed)
