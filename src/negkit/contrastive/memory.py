"""A cross-batch memory queue of past keys (MoCo: He, Fan, Wu, Xie & Girshick, CVPR 2020;
XBM: Wang, Zhang, Huang & Scott, CVPR 2020), with memory bounded whatever its length.

The queue is a fixed ``(size, dim)`` ring buffer of detached keys plus their item ids.  The
negative term of InfoNCE over the queue, ``log Σ_j exp(q·m_j / τ)``, is computed by
:meth:`CrossBatchMemory.logsumexp` in chunks of ``chunk_size`` keys, forward *and* backward
(the backward recomputes each chunk's softmax), so a batch of B queries never holds more than
``B × chunk_size`` scores, whatever the queue's length: 65,536 keys, or 10⁸.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["CrossBatchMemory"]


class _ChunkedLSE(torch.autograd.Function):
    """``lse_b = log Σ_j exp(q_b·m_j/τ)`` over allowed j, chunked; the gradient is
    ``∂lse_b/∂q_b = Σ_j softmax_bj m_j / τ``, recomputed chunk by chunk."""

    @staticmethod
    def forward(ctx, q, mem, ids, exclude, t, chunk):  # noqa: D401
        lse = _lse(q, mem, ids, exclude, t, chunk)
        ctx.save_for_backward(q, mem, lse, ids, exclude)
        ctx.t, ctx.chunk = t, chunk
        return lse

    @staticmethod
    def backward(ctx, g):
        q, mem, lse, ids, exclude = ctx.saved_tensors
        grad = torch.zeros_like(q)
        lse = torch.where(torch.isfinite(lse), lse, torch.zeros_like(lse))  # rows with no key
        for lo in range(0, mem.shape[0], ctx.chunk):
            m = mem[lo : lo + ctx.chunk]
            z = q @ m.T / ctx.t
            z = _mask(z, ids, exclude, lo, ctx.chunk)
            p = torch.exp(z - lse[:, None])
            grad += (p @ m) / ctx.t
        return grad * g[:, None], None, None, None, None, None


def _mask(z, ids, exclude, lo, chunk):
    if exclude.numel() == 0:
        return z
    hit = (ids[lo : lo + chunk][None, :] == exclude[:, None]) & (exclude[:, None] >= 0)
    return z.masked_fill(hit, float("-inf"))


@torch.no_grad()
def _lse(q, mem, ids, exclude, t, chunk):
    run = torch.full((q.shape[0],), float("-inf"), dtype=q.dtype, device=q.device)
    for lo in range(0, mem.shape[0], chunk):
        z = q @ mem[lo : lo + chunk].T / t
        z = _mask(z, ids, exclude, lo, chunk)
        run = torch.logaddexp(run, torch.logsumexp(z, dim=1))
    return run


class CrossBatchMemory:
    """MoCo-style FIFO queue of ``size`` keys of ``dim`` floats, and their item ids.

    ``enqueue(keys, ids)`` writes a batch's detached keys over the oldest ones;
    ``logsumexp(query, temperature, exclude=ids)`` is the queue's negative term for InfoNCE
    (``InfoNCELoss(...)(q, k, memory=queue, ids=item_ids)``), skipping queue entries whose id
    equals the row's own item (accidental hits).  Memory: ``size·(dim·itemsize + 8)`` bytes for
    the queue plus ``B·chunk_size`` scores while computing.  Until the queue is full only the
    filled part is used.  The queue lives on ``device``; ``logsumexp`` computes on the query's
    device, copying the queue there at every call if it lives elsewhere, so create it on the
    device of training.
    """

    def __init__(
        self,
        dim: int,
        size: int = 65536,
        chunk_size: int = 8192,
        device: Any = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        for v, what in ((dim, "dim"), (size, "size"), (chunk_size, "chunk_size")):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{what} must be a positive integer, got {v!r}")
        self.dim, self.size, self.chunk_size = dim, size, chunk_size
        self.keys = torch.zeros(size, dim, dtype=dtype, device=device)
        self.ids = torch.full((size,), -1, dtype=torch.long, device=device)
        self.ptr = 0
        self.filled = 0

    def __len__(self) -> int:
        return self.filled

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, ids: Any = None) -> None:
        """Add a batch of keys (detached), overwriting the oldest; ``ids`` default to -1."""
        if keys.ndim != 2 or keys.shape[1] != self.dim:
            raise ValueError(f"keys must be (batch, {self.dim}), got {tuple(keys.shape)}")
        keys = keys.detach().to(self.keys)
        b = keys.shape[0]
        dev = self.ids.device
        ids = (
            torch.full((b,), -1, dtype=torch.long, device=dev)
            if ids is None
            else torch.as_tensor(ids, dtype=torch.long, device=dev).reshape(-1)
        )
        if ids.shape[0] != b:
            raise ValueError(f"ids has {ids.shape[0]} entries for {b} keys")
        if b > self.size:  # only the newest `size` survive
            keys, ids, b = keys[-self.size :], ids[-self.size :], self.size
        idx = (self.ptr + torch.arange(b, device=self.keys.device)) % self.size
        self.keys[idx] = keys
        self.ids[idx] = ids
        self.ptr = (self.ptr + b) % self.size
        self.filled = min(self.size, self.filled + b)

    def logsumexp(
        self, query: torch.Tensor, temperature: float, exclude: Any = None
    ) -> torch.Tensor:
        """``(B,)`` ``log Σ_j exp(query·key_j / τ)`` over the queue, chunked (differentiable in
        ``query``); entries whose id equals ``exclude[b]`` are skipped for row b (an id < 0,
        as of keys enqueued without ids, is "unknown" and skips nothing).  An empty queue gives
        ``-inf``."""
        if query.ndim != 2 or query.shape[1] != self.dim:
            raise ValueError(f"query must be (batch, {self.dim}), got {tuple(query.shape)}")
        t = float(temperature)
        if not t > 0 or not math.isfinite(t):
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        # on the query's device (a copy of the queue when it lives elsewhere)
        mem = self.keys[: self.filled].to(device=query.device, dtype=query.dtype)
        ids = self.ids[: self.filled].to(query.device)
        if exclude is None:
            ex = torch.empty(0, dtype=torch.long, device=query.device)
        else:
            ex = torch.as_tensor(exclude, dtype=torch.long, device=query.device).reshape(-1)
            if ex.shape[0] != query.shape[0]:
                raise ValueError(f"exclude has {ex.shape[0]} ids for {query.shape[0]} queries")
        return _ChunkedLSE.apply(query, mem, ids, ex, t, self.chunk_size)

    def nbytes(self) -> int:
        """Bytes held by the queue (keys and ids)."""
        return self.keys.element_size() * self.keys.numel() + 8 * self.ids.numel()
