"""Divergence checks shared by every trainer: NaN / Inf in the loss estimate or the tables.

The compiled trainers run under fast-math (``negkit._jit.FAST_ALL``), which assumes finite
values, so they cannot test for NaN themselves; each trainer calls :func:`check_finite` from
numpy after every epoch.  A table fails when an entry is NaN, infinite, or above
:data:`MAX_ABS` in size: a dot product of two vectors of dimension d <= 1e4 with such entries
can overflow float32 (sqrt(3.4e38) / 1e4 ~ 1.8e15), so training with it has already diverged
(seen with ``lr=1e6`` on walks: entries of 1e34, finite, meaningless).  The test is the table's
max and min: two passes, no temporary, and NaN propagates through both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["MAX_ABS", "TrainingDivergedError", "check_finite"]


class TrainingDivergedError(RuntimeError):
    """Training produced NaN or Inf; ``epoch`` (1-based) and ``lr`` say where and with what."""

    def __init__(self, what: str, epoch: int, lr: float, problem: str, lr_name: str = "lr"):
        self.what, self.epoch, self.lr, self.problem = what, int(epoch), float(lr), problem
        super().__init__(
            f"{what} diverged in epoch {self.epoch}: {problem}; lower the learning rate "
            f"({lr_name}={self.lr:g} now, try {self.lr / 10:g} or less)"
        )


#: Largest entry a healthy table may hold (see the module docstring).
MAX_ABS = 1e15


def _finite(table) -> bool:
    if hasattr(table, "detach"):  # a torch tensor, on any device
        t = table.detach()
        return t.numel() == 0 or bool(t.abs().max() <= MAX_ABS)  # NaN compares False
    table = np.asarray(table)
    if table.size == 0:
        return True
    return bool(max(float(table.max()), -float(table.min())) <= MAX_ABS)


def check_finite(
    what: str,
    epoch: int,
    lr: float,
    *,
    loss: float | None = None,
    tables: Mapping[str, Any] | None = None,
    lr_name: str = "lr",
) -> None:
    """Raise :class:`TrainingDivergedError` when ``loss`` or any of ``tables`` is not finite.

    ``tables`` maps names to numpy arrays or torch tensors (checked on their device).
    """
    if loss is not None and not math.isfinite(float(loss)):
        raise TrainingDivergedError(what, epoch, lr, f"the loss is {loss}", lr_name)
    for name, table in (tables or {}).items():
        if not _finite(table):
            raise TrainingDivergedError(
                what, epoch, lr, f"NaN, Inf or entries above {MAX_ABS:g} in the {name}", lr_name
            )
