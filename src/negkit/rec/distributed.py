"""Data parallelism for the tensor engine on ``torch.distributed``.

A run is distributed when it is started by ``torchrun`` (or ``negkit rec train --nproc N``,
which starts torchrun's launcher itself): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` are then in the environment.  :func:`init` joins the
process group (gloo on CPU, NCCL on CUDA) with a timeout on every collective, so that when a
rank dies the others stop with an error instead of waiting for ever.

What each rank does (see :func:`negkit.rec.train.run`): the model is wrapped in
``DistributedDataParallel`` (gradients averaged across ranks), the epoch's pairs are sharded
by :class:`negkit.rec.torch_train.PairBatches` (``rank`` / ``world_size``), samplers are
seeded ``seed + rank`` and draw on the rank's device from its live tables, and rank 0 alone
evaluates and writes; the others wait for its decision at a collective.
"""

from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "Context",
    "DistributedError",
    "all_sum",
    "broadcast_params",
    "broadcast_flag",
    "env_world_size",
    "finish",
    "free_port",
    "init",
    "local",
]

#: Seconds a collective may wait for the other ranks (``NEGKIT_DIST_TIMEOUT`` overrides it).
DEFAULT_TIMEOUT = 1800.0


class DistributedError(RuntimeError):
    """A collective failed: a peer died, or did not answer within the timeout."""


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank`` of ``world_size``, its ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    timeout: float = DEFAULT_TIMEOUT

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def local(device: str = "cpu") -> Context:
    """The context of a single-process run."""
    return Context(device=device)


def env_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it; 1 outside torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init(device: str = "cpu", timeout: float | None = None) -> Context:
    """Join the process group described by torchrun's environment; a local context without it.

    device : ``"cpu"`` (gloo) or ``"cuda"`` (NCCL; each rank takes ``cuda:LOCAL_RANK``).
    timeout : seconds for every collective (default ``NEGKIT_DIST_TIMEOUT`` or 1800).
    """
    if timeout is None:
        timeout = float(os.environ.get("NEGKIT_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    world = env_world_size()
    if world <= 1:
        return Context(device=device, timeout=timeout)
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    cuda = device.startswith("cuda")
    if cuda:
        if not torch.cuda.is_available():
            raise RuntimeError("device='cuda' was asked for but torch sees no CUDA device")
        torch.cuda.set_device(local_rank)
        device = f"cuda:{local_rank}"
    if not dist.is_initialized():
        dist.init_process_group(
            backend="nccl" if cuda else "gloo",
            timeout=timedelta(seconds=timeout),
            **({"device_id": torch.device(device)} if cuda else {}),
        )
    return Context(rank, world, local_rank, device, timeout)


def guarded(ctx: Context, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a collective; a failure becomes a :class:`DistributedError` naming this rank."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # gloo / NCCL raise RuntimeError or DistBackendError
        raise DistributedError(
            f"rank {ctx.rank} of {ctx.world_size}: {what} failed (another rank died or did not "
            f"answer within {ctx.timeout:g} s): {e}"
        ) from e


def broadcast_flag(ctx: Context, flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank (the others wait here while rank 0 evaluates)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([int(flag)], dtype=torch.int64, device=ctx.device)
    guarded(ctx, "broadcast", dist.broadcast, t, src=0)
    return bool(t.item())


def barrier(ctx: Context) -> None:
    """Wait for every rank (within the timeout)."""
    if ctx.distributed:
        guarded(ctx, "barrier", dist.barrier)


def finish() -> None:
    """Leave the process group, if this process joined one.

    Garbage is collected first: a ``DistributedDataParallel`` wrapper left in a reference
    cycle keeps work objects of the group alive, and their destruction after the group's,
    during interpreter shutdown, can abort the process (SIGABRT, "terminate called without
    an active exception"; seen once on a loaded CI machine)."""
    if dist.is_available() and dist.is_initialized():
        import gc

        gc.collect()
        dist.destroy_process_group()


def all_sum(ctx: Context, values: Any, what: str = "all_reduce") -> list[float]:
    """``values`` (numbers, or a tensor on any device), each summed over the ranks, as
    floats (float64 on the way; one collective)."""
    t = torch.as_tensor(values, dtype=torch.float64).reshape(-1).to(ctx.device)
    if ctx.distributed:
        guarded(ctx, what, dist.all_reduce, t)
    return t.tolist()


def all_mean(ctx: Context, total: torch.Tensor, n: int) -> float:
    """``sum(total) / sum(n)`` over the ranks, read once."""
    if not ctx.distributed:
        return float(total) / max(n, 1)
    s, count = all_sum(ctx, [float(total), float(n)])
    return s / max(count, 1.0)


def broadcast_params(ctx: Context, params: Any) -> None:
    """Rank 0's ``params`` (tensors, updated in place) on every rank."""
    for p in params:
        guarded(ctx, "broadcast (parameters)", dist.broadcast, p.data, 0)


def gather_ids(ctx: Context, ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Every rank's ``ids`` (equal lengths), concatenated in rank order, and the offset of this
    rank's own.  The rows they index are read from the rank's own replica of the tables, so
    gradients stay local and DDP averages them as any other."""
    parts = [torch.empty_like(ids) for _ in range(ctx.world_size)]
    guarded(ctx, "all_gather", dist.all_gather, parts, ids.contiguous())
    return torch.cat(parts), ctx.rank * ids.shape[0]


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """``model`` in ``DistributedDataParallel`` (its sparse graph buffer left out of the sync)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    ignore = [name for name, b in model.named_buffers() if b.layout != torch.strided]
    if ignore:
        DDP._set_params_and_buffers_to_ignore_for_model(model, ignore)
    ids = [torch.device(ctx.device).index] if ctx.device.startswith("cuda") else None
    with warnings.catch_warnings():  # broadcast_buffers=False: still the way to skip init sync
        warnings.simplefilter("ignore", FutureWarning)
        return guarded(ctx, "DDP set-up", DDP, model, device_ids=ids, broadcast_buffers=False)
