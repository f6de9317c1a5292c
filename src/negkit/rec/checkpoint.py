"""Checkpoints of the tensor engine: all a resumed run needs to repeat a straight one.

Saved after every epoch (rank 0 writes, temporary file then rename): the model's and Adam's
state (the same on every rank under DDP), the history and early-stopping state, and every
rank's random states: the trainer's generator, the sampler's host context and device
generators, and torch's global generator.  With these, one thread per rank and the same
settings, a run resumed after epoch ``e`` draws exactly what the straight run drew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from negkit._checkpoint_file import gather_ranks, read, write
from negkit.rec.distributed import Context

__all__ = ["load", "save"]

_FORMAT = "negkit.rec.checkpoint/1"


def _rank_state(trainer: Any) -> dict[str, Any]:
    s = trainer.sampler
    gens = {
        dev: cache["generator"].get_state()
        for dev, cache in getattr(s, "_device_state", {}).items()
        if isinstance(cache.get("generator"), torch.Generator)
    }
    ctx = getattr(s, "_ctx", None)
    return {
        "trainer": trainer.generator.get_state(),
        "torch": torch.get_rng_state(),
        "sampler_ctx": None if ctx is None else np.array(ctx, copy=True),
        "sampler_gens": gens,
    }


def _set_rank_state(trainer: Any, state: dict[str, Any]) -> None:
    s = trainer.sampler
    trainer.generator.set_state(state["trainer"])
    torch.set_rng_state(state["torch"])
    if state["sampler_ctx"] is not None:
        s._ctx[...] = state["sampler_ctx"]
    for dev, g in state["sampler_gens"].items():
        gen = s._device("generator", dev, lambda dev=dev: torch.Generator(device=dev))
        gen.set_state(g)


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
