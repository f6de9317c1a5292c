"""Checkpoints of KG training: all a resumed run needs to repeat a straight one.

Saved after every epoch (rank 0 writes; temporary file then rename): the model's and Adam's
state, the epoch, the history, the best epoch kept so far (its parameters and metrics), the
shuffling generator and torch's global generator, and every rank's sampler state.  A KG
sampler's state is what it changes while it draws: its torch and numpy generators, its
tensors and arrays (NSCaching's caches, the adaptive sampler's orders and draw counters, the
dns/adaptive kernels' random contexts), found by walking the sampler's attributes and those
of the sampler it wraps.  Its configuration (numbers, names) is rebuilt by ``fit``, and the
tables it reads (the model's, the filter's known triples) are not copied.  The learning rate
is a function of the epoch (:mod:`negkit.kg.schedule`).  With one thread per rank and the
same settings, a run resumed after epoch ``e`` draws exactly what the straight run drew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from negkit._checkpoint_file import gather_ranks, read, write

__all__ = ["load", "save", "sampler_state", "set_sampler_state"]

_FORMAT = "negkit.kg.checkpoint/1"
#: attributes that are not the sampler's own state: the live model and its tables, the known
#: triples (rebuilt by ``fit``), the device
_NOT_STATE = {"model_", "known_", "device_", "output_", "input_"}


def sampler_state(sampler: Any) -> dict[str, Any]:
    """The mutable state of ``sampler`` (and of the sampler it wraps), as copies."""
    wait = getattr(sampler, "wait", None)
    if callable(wait):  # a background rebuild (adaptive) must land first
        wait()
    out: dict[str, Any] = {}
    for key, v in vars(sampler).items():
        if key in _NOT_STATE:
            continue
        if isinstance(v, torch.Generator):
            out[key] = ("torch_generator", v.get_state())
        elif isinstance(v, np.random.Generator):
            out[key] = ("numpy_generator", v.bit_generator.state)
        elif isinstance(v, torch.Tensor):
            out[key] = ("tensor", v.detach().clone())
        elif isinstance(v, np.ndarray):
            out[key] = ("array", v.copy())
        elif isinstance(v, dict) and v and all(isinstance(x, torch.Tensor) for x in v.values()):
            out[key] = ("tensors", {k: x.detach().clone() for k, x in v.items()})
        elif isinstance(v, dict) and not v:
            out[key] = ("tensors", {})
        elif hasattr(v, "sample") and hasattr(v, "__dict__"):  # a wrapped sampler
            out[key] = ("sampler", sampler_state(v))
    return out


def set_sampler_state(sampler: Any, state: dict[str, Any]) -> None:
    """Restore :func:`sampler_state` into a sampler fitted with the same settings.

    Arrays and tensors of unchanged shape are written in place: compiled draw kernels and
    closures built by ``fit`` keep reading the same buffers."""
    for key, (kind, v) in state.items():
        cur = getattr(sampler, key, None)
        if kind == "torch_generator":
            cur.set_state(v)
        elif kind == "numpy_generator":
            cur.bit_generator.state = v
        elif kind in ("tensor", "array") and cur is not None and cur.shape == v.shape:
            cur[...] = v.to(cur.device) if kind == "tensor" else v
        elif kind in ("tensor", "array"):
            setattr(sampler, key, v)
        elif kind == "tensors":
            setattr(sampler, key, dict(v))
        else:
            set_sampler_state(cur, v)


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
    "history"}``.  Refuses a file of other settings or of another world size."""
    world, rank = (ctx.world_size, ctx.rank) if ctx is not None else (1, 0)
    blob = read(path, _FORMAT, "KG", world_size=world, settings=settings, rank=rank,
                rank_settings={"sampler": repr(sampler)})  # fmt: skip
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    generator.set_state(blob["generator"])
    torch.set_rng_state(blob["ranks"][rank]["torch"])
    set_sampler_state(sampler, blob["ranks"][rank]["sampler_state"])
    if best is not None and blob.get("best") is not None:
        vars(best).update(blob["best"])
    return {"epoch": blob["epoch"], "history": blob["history"]}
