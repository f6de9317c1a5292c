"""Checkpoints of KG training: all a resumed run needs to repeat a straight one.

Saved after every epoch (rank 0 writes; temporary file then rename): the model's and Adam's
state, the epoch, the history, the best epoch kept so far (its parameters and metrics), the
shuffling generator and torch's global generator, and every rank's sampler state
(:mod:`negkit.samplers.state`: its generators, NSCaching's caches, the adaptive sampler's
orders and draw counters, the dns/adaptive kernels' random contexts).  The learning rate
is a function of the epoch (:mod:`negkit.kg.schedule`).  With one thread per rank and the
same settings, a run resumed after epoch ``e`` draws exactly what the straight run drew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from negkit._checkpoint_file import gather_ranks, read, write
from negkit.samplers.state import sampler_state, set_sampler_state

__all__ = ["load", "save"]

_FORMAT = "negkit.kg.checkpoint/1"


def save(path: str | Path, ctx: Any, *, epoch: int, model: torch.nn.Module, optimizer: Any,
         generator: torch.Generator, sampler: Any, history: list, settings: dict,
         best: Any = None) -> None:  # fmt: skip
    """Every rank calls it (their sampler states are gathered); rank 0 writes ``path``."""
    ranks = gather_ranks(
        ctx,
        {
            "sampler_state": sampler_state(sampler),
            "sampler": repr(sampler),
            "torch": torch.get_rng_state(),
        },
    )
    if ranks is None:
        return
    write(path, _FORMAT, settings, ranks, epoch=int(epoch), model=model.state_dict(),
          optimizer=optimizer.state_dict(), generator=generator.get_state(),
          history=history, best=None if best is None else dict(vars(best)))  # fmt: skip


def load(path: str | Path, ctx: Any, *, model: torch.nn.Module, optimizer: Any,
         generator: torch.Generator, sampler: Any, settings: dict,
         best: Any = None) -> dict:  # fmt: skip
    """Restore model, Adam, the generators, this rank's sampler and the best epoch kept so
    far (:class:`negkit.kg.best.BestEpoch`, rank 0's) from ``path``; returns ``{"epoch",
    "history"}``.  Refuses a file of other settings or of another world size, or one
    written for other triples (``settings["data"]``, a fingerprint of the splits: the same
    entity and relation counts with other triples, or another --unseen, resumed silently)."""
    world, rank = (ctx.world_size, ctx.rank) if ctx is not None else (1, 0)
    rest = {k: v for k, v in settings.items() if k != "data"}
    blob = read(path, _FORMAT, "KG", world_size=world, settings=rest, rank=rank,
                rank_settings={"sampler": repr(sampler)})  # fmt: skip
    saved = blob["settings"].get("data")  # absent from files written before it was saved
    if saved is not None and saved != settings.get("data"):
        raise ValueError(f"checkpoint {path} was written with other settings (data: other "
                         "triples): remove it or run with the same ones")  # fmt: skip
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    generator.set_state(blob["generator"])
    torch.set_rng_state(blob["ranks"][rank]["torch"])
    set_sampler_state(sampler, blob["ranks"][rank]["sampler_state"])
    if best is not None and blob.get("best") is not None:
        vars(best).update(blob["best"])
    return {"epoch": blob["epoch"], "history": blob["history"]}
