"""Best-epoch selection: keep the parameters of the epoch with the best validation MRR.

Early stopping's model selection (Prechelt, "Early Stopping -- But When?", 1998): training
goes on, but the model returned is the one evaluated best on held-out triples, so a curve
that peaks and then drifts (a too-high learning rate) keeps its peak.  Selection is on the
validation split only: choosing the epoch on test would report a test score tuned on test.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["BestEpoch"]


class BestEpoch:
    """Tracks the best ``metric`` seen by :meth:`offer` and a copy of the model at that epoch.

    Ties keep the earlier epoch (a later epoch must be strictly better).
    """

    def __init__(self, metric: str = "mrr") -> None:
        self.metric = metric
        self.epoch: int | None = None
        self.value = -math.inf
        self.metrics: dict[str, Any] | None = None
        self._state: dict[str, torch.Tensor] | None = None

    def offer(self, epoch: int, metrics: dict[str, Any], model: torch.nn.Module) -> bool:
        """Record ``epoch`` if its ``metrics[metric]`` beats the best so far; True if it did."""
        if self.metric not in metrics:
            raise KeyError(f"metrics of epoch {epoch} hold no {self.metric!r}: {sorted(metrics)}")
        value = float(metrics[self.metric])
        if not value > self.value:  # also refuses NaN
            return False
        self.epoch, self.value, self.metrics = epoch, value, dict(metrics)
        self._state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return True

    def restore(self, model: torch.nn.Module) -> int:
        """Load the best epoch's parameters into ``model``; returns that epoch."""
        if self._state is None or self.epoch is None:
            raise RuntimeError("no epoch was offered with a finite metric: nothing to restore")
        model.load_state_dict(self._state)
        return self.epoch
