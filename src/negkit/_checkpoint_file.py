"""The file side of the tensor engine's checkpoints (recommenders and KG): every rank's own
state gathered to rank 0, one ``torch.save`` written atomically, and on resume the checks
that the file is a checkpoint of this kind, of as many ranks and of the same settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed

from negkit._atomic import atomic_write

__all__ = ["gather_ranks", "read", "write"]


def gather_ranks(ctx: Any, mine: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every rank's ``mine``, in rank order, on rank 0 (``None`` on the other ranks); every
    rank must call it."""
    if ctx is None or not ctx.distributed:
        return [mine]
    from negkit.rec.distributed import guarded

    ranks: list[Any] = [None] * ctx.world_size
    guarded(ctx, "all_gather (random states)", torch.distributed.all_gather_object, ranks, mine)
    return ranks if ctx.is_main else None


def write(path: str | Path, fmt: str, settings: dict, ranks: list, **fields: Any) -> None:
    """``{format, settings, world_size, ranks, **fields}`` to ``path``, atomically."""
    blob = {"format": fmt, "settings": settings, "world_size": len(ranks), "ranks": ranks,
            **fields}  # fmt: skip
    atomic_write(path, lambda f: torch.save(blob, f))


def read(path: str | Path, fmt: str, what: str, *, world_size: int, settings: dict,
         map_location: Any = "cpu", rank: int = 0,
         rank_settings: dict | None = None) -> dict:  # fmt: skip
    """The checkpoint at ``path``, refused with a clear error when it is not a ``what``
    checkpoint, was written by another number of ranks, or with other ``settings`` (and,
    for this ``rank``, other ``rank_settings``: entries of its own saved state)."""
    blob = torch.load(path, map_location=map_location, weights_only=False)
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        raise ValueError(f"{path}: not a negkit {what} checkpoint")
    if blob["world_size"] != world_size:
        raise ValueError(
            f"{path} was written by {blob['world_size']} ranks, not {world_size}: "
            "resume with as many"
        )
    mine = blob["ranks"][rank]
    names = sorted(k for k in settings if blob["settings"].get(k) != settings[k])
    names += sorted(k for k in rank_settings or {} if mine.get(k) != rank_settings[k])
    if names:
        raise ValueError(
            f"checkpoint {path} was written with other settings ({', '.join(names)}): "
            "remove it or run with the same ones"
        )
    return blob
