"""Per-epoch learning-rate schedules for :func:`negkit.kg.train.train_kg`.

The rate of epoch ``e`` (0-based) of ``E``, from the base rate ``lr``:

* ``constant``: ``lr`` every epoch;
* ``step``: ``lr`` before epoch ``max(1, ⌊step_at · E⌋)``, ``lr · step_factor`` from it on.
  With the defaults (``step_at = 0.5``, ``step_factor = 0.1``) this is the RotatE reference
  implementation's warm-up step (DeepGraphLearning/KnowledgeGraphEmbedding, ``codes/run.py``:
  ``warm_up_steps = max_steps // 2``, then the rate divided by 10; its next change, at three
  times that step, falls after the last), counted in epochs instead of steps.  That code also
  starts a fresh Adam at the change; negkit keeps Adam's moments and changes only the rate;
* ``cosine``: ``lr_min + (lr - lr_min) (1 + cos(π e / E)) / 2``, cosine annealing without
  restarts (Loshchilov & Hutter, ICLR 2017, eq. 5 with ``T_cur = e``, ``T_i = E``): ``lr`` at
  the first epoch, falling towards the floor ``lr_min``.

A setting that the schedule does not read (``lr_min`` but for ``cosine``, ``step_at`` or
``step_factor`` but for ``step``) must keep its default: another value is a ValueError.
"""

from __future__ import annotations

import math

__all__ = ["SCHEDULES", "READS", "check_schedule", "lr_at", "step_epoch"]

SCHEDULES = ("constant", "step", "cosine")
#: the settings besides ``lr`` that each schedule reads, with their defaults
READS = {"constant": {}, "step": {"step_at": 0.5, "step_factor": 0.1}, "cosine": {"lr_min": 0.0}}
_READER = {k: (name, default) for name, reads in READS.items() for k, default in reads.items()}


def check_schedule(name: str, lr: float, *, step_at: float = 0.5, step_factor: float = 0.1,
                   lr_min: float = 0.0) -> None:  # fmt: skip
    """Raise ``ValueError`` for an unknown schedule, values it cannot use, or a setting it
    does not read that is not at its default (it would be ignored)."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown lr schedule {name!r}; known: {', '.join(SCHEDULES)}")
    given = {"step_at": step_at, "step_factor": step_factor, "lr_min": lr_min}
    unread = [k for k, v in given.items() if k not in READS[name] and v != _READER[k][1]]
    if unread:
        whose = "; ".join(f"{k} is read by {_READER[k][0]!r} only" for k in unread)
        raise ValueError(f"lr schedule {name!r} does not read {', '.join(unread)} ({whose})")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if name == "step":
        if not 0.0 < step_at < 1.0:
            raise ValueError(f"step_at must be in (0, 1) (a share of the epochs), got {step_at}")
        if not 0.0 < step_factor < 1.0:
            raise ValueError(f"step_factor must be in (0, 1), got {step_factor}")
    if name == "cosine" and not 0.0 <= lr_min < lr:
        raise ValueError(f"lr_min must be in [0, lr) = [0, {lr}), got {lr_min}")


def step_epoch(epochs: int, step_at: float) -> int:
    """First epoch (0-based) of the lowered rate: ``max(1, ⌊step_at · epochs⌋)``."""
    return max(1, int(step_at * epochs + 1e-9))  # 1e-9: 0.29 * 100 is 28.999...


def lr_at(name: str, epoch: int, epochs: int, lr: float, *, step_at: float = 0.5,
          step_factor: float = 0.1, lr_min: float = 0.0) -> float:  # fmt: skip
    """The learning rate of epoch ``epoch`` (0-based) out of ``epochs``."""
    check_schedule(name, lr, step_at=step_at, step_factor=step_factor, lr_min=lr_min)
    if not 0 <= epoch < epochs:
        raise ValueError(f"epoch must be in [0, {epochs}), got {epoch}")
    if name == "step":
        return lr * step_factor if epoch >= step_epoch(epochs, step_at) else lr
    if name == "cosine":
        return lr_min + (lr - lr_min) * (1.0 + math.cos(math.pi * epoch / epochs)) / 2.0
    return lr
