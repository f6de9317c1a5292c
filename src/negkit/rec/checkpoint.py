"""Checkpoints of the tensor engine: all a resumed run needs to repeat a straight one.

Saved after every epoch (rank 0 writes, temporary file then rename): the model's and Adam's
state (the same on every rank under DDP), the history and early-stopping state, and every
rank's own: the trainer's generator, torch's global generator and the sampler's state
(:mod:`negkit.samplers.state`: its host contexts and device generators, the adaptive
sampler's orders and draw counters, SRNS's memory).  With these, one thread per rank and the same
settings, a run resumed after epoch ``e`` draws exactly what the straight run drew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from negkit._checkpoint_file import gather_ranks, read, write
from negkit.rec.distributed import Context
from negkit.samplers.state import sampler_state, set_sampler_state

__all__ = ["load", "save"]

_FORMAT = "negkit.rec.checkpoint/2"  # /2: the sampler's whole state


def _rank_state(trainer: Any) -> dict[str, Any]:
    return {
        "trainer": trainer.generator.get_state(),
        "torch": torch.get_rng_state(),
        "sampler": sampler_state(trainer.sampler),
    }


def _set_rank_state(trainer: Any, state: dict[str, Any]) -> None:
    trainer.generator.set_state(state["trainer"])
    torch.set_rng_state(state["torch"])
    set_sampler_state(trainer.sampler, state["sampler"])


def save(path: str | Path, ctx: Context, *, epoch: int, trainer: Any, history: list,
         stopper: Any, stopped: bool, settings: dict) -> None:  # fmt: skip
    """Every rank calls it (their random states are gathered); rank 0 writes ``path``."""
    ranks = gather_ranks(ctx, _rank_state(trainer))
    if ranks is None:
        return
    stop = {k: getattr(stopper, k) for k in ("best_value", "best_epoch", "best_state", "bad")}
    write(path, _FORMAT, settings, ranks, epoch=int(epoch), stopped=bool(stopped),
          model=trainer.model.state_dict(), optimizer=trainer.optimizer.state_dict(),
          history=history, stopper=stop)  # fmt: skip


def load(path: str | Path, ctx: Context, *, trainer: Any, stopper: Any, settings: dict) -> dict:
    """Restore ``trainer`` (model, Adam, this rank's random states) and ``stopper`` from
    ``path``; returns ``{"epoch", "stopped", "history"}``."""
    blob = read(path, _FORMAT, "rec", world_size=ctx.world_size, settings=settings,
                map_location=trainer.device)  # fmt: skip
    trainer.model.load_state_dict(blob["model"])
    trainer.optimizer.load_state_dict(blob["optimizer"])
    _set_rank_state(trainer, blob["ranks"][ctx.rank])
    for k, v in blob["stopper"].items():
        setattr(stopper, k, v)
    return {"epoch": blob["epoch"], "stopped": blob["stopped"], "history": blob["history"]}
