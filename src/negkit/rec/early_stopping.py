"""Early stopping on a validation metric, with patience."""

from __future__ import annotations

from typing import Any


class EarlyStopping:
    """Stop after ``patience`` evaluations without a gain of more than ``min_delta``.

    ``patience=0`` never stops.  :meth:`update` returns True when training should
    stop; :attr:`best_epoch`, :attr:`best_value` and :attr:`best_state` (whatever
    the caller passed with the best value, e.g. copies of the embeddings) are kept.
    """

    def __init__(self, patience: int = 0, min_delta: float = 0.0) -> None:
        if patience < 0:
            raise ValueError(f"patience must be non-negative, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be non-negative, got {min_delta}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best_value = float("-inf")
        self.best_epoch = 0
        self.best_state: Any = None
        self.bad = 0

    def update(self, epoch: int, value: float, state: Any = None) -> bool:
        if value > self.best_value + self.min_delta:
            self.best_value, self.best_epoch, self.best_state = float(value), int(epoch), state
            self.bad = 0
            return False
        self.bad += 1
        return self.patience > 0 and self.bad >= self.patience
