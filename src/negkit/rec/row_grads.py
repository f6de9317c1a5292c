"""Row-sparse gradients of embedding tables, on one process or averaged across ranks.

A BPR step of MF reads ``B`` user rows and ``B (1 + k)`` item rows of tables with tens of
thousands of rows or more.  Its dense gradient is mostly zeros, yet costs a pass to fill
and, under ``DistributedDataParallel``, an all-reduce of the whole tables every step
(Gowalla: 70k rows x 64 floats = 18 MB).  Here the step reads its rows with
``F.embedding(..., sparse=True)``, so autograd returns each table's gradient as
``(rows, values)``, and:

* data parallel: every rank's ``(rows, values)`` are all-gathered (two collectives a step:
  the row counts, then one payload with the row ids bit-cast into it), and each rank adds
  them, divided by ``world_size``, in rank order into the table's gradient.  This is the
  gradient DDP's all-reduce would give (the mean over ranks of the rank gradients), summed in
  one order on every rank, so the replicas stay identical; the bytes sent are those of the
  rows read, not of the tables (TorchRec and PyTorch-BigGraph exchange rows for the same
  reason; ``docs/scaling.md``);
* the gradient each table hands the optimiser is a dense buffer kept between steps, of which
  only the rows written by the last step are cleared: the optimiser (dense Adam, the same
  update as without this module) sees the same gradient, without a pass that zeroes the
  whole table each step.

A table whose gradient comes back dense (a step that reads it whole, as LightGCN's
propagation does) is all-reduced whole, as DDP would.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

__all__ = ["RowGrads"]


class RowGrads:
    """Turns the sparse gradients of ``params`` into dense ones, averaged over ``ctx``'s ranks.

    Call :meth:`reduce` after ``loss.backward()`` and before ``optimizer.step()``.
    """

    def __init__(self, params: list[torch.nn.Parameter], ctx: Any = None) -> None:
        self.params = list(params)
        self.ctx = ctx
        self.world = ctx.world_size if ctx is not None and ctx.distributed else 1
        self._bufs = [torch.zeros_like(p) for p in self.params]
        self._written: list[torch.Tensor | None] = [None] * len(self.params)
        if self.world > 1:  # every rank starts from rank 0's tables, as DDP does
            from negkit.rec.distributed import broadcast_params

            broadcast_params(ctx, self.params)

    def reduce(self) -> None:
        """Set every parameter's ``.grad`` to the dense, rank-averaged gradient."""
        sparse, dense = [], []
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                raise RuntimeError(f"parameter {i} of shape {tuple(p.shape)} has no gradient")
            if g.is_sparse:
                g = g.coalesce()
                sparse.append((i, g.indices()[0], g.values().reshape(len(g.indices()[0]), -1)))
            else:
                dense.append(i)
        parts = self._gather(sparse) if self.world > 1 else [sparse]
        for j, (i, _, _) in enumerate(sparse):
            buf = self._bufs[i]
            if self._written[i] is not None:
                buf.index_fill_(0, self._written[i], 0.0)
            rows = []
            for rank_part in parts:  # rank order: the same sums on every rank
                _, r, v = rank_part[j]
                buf.index_add_(0, r, v / self.world if self.world > 1 else v)
                rows.append(r)
            self._written[i] = torch.cat(rows) if len(rows) > 1 else rows[0]
            self.params[i].grad = buf
        for i in dense:
            if self.world > 1:
                from negkit.rec.distributed import guarded

                g = self.params[i].grad
                g.div_(self.world)
                guarded(self.ctx, "gradient all_reduce", dist.all_reduce, g)

    def _gather(self, sparse: list[tuple]) -> list[list[tuple]]:
        """Every rank's ``(param index, rows, values)`` lists, in rank order."""
        from negkit.rec.distributed import guarded

        dev = self.params[0].device
        sizes = torch.tensor([len(r) for _, r, _ in sparse], dtype=torch.int64, device=dev)
        all_sizes = [torch.empty_like(sizes) for _ in range(self.world)]
        guarded(self.ctx, "all_gather of row counts", dist.all_gather, all_sizes, sizes)
        widths = [v.shape[1] for _, _, v in sparse]
        per_rank = [
            int(sum(int(n) * (1 + w) for n, w in zip(s.tolist(), widths))) for s in all_sizes
        ]
        payload = torch.cat(
            [r.to(torch.int32).view(torch.float32) for _, r, _ in sparse]
            + [v.reshape(-1).float() for _, _, v in sparse]
        )
        longest = max(per_rank)
        padded = torch.zeros(longest, dtype=torch.float32, device=dev)
        padded[: len(payload)] = payload
        got = [torch.empty_like(padded) for _ in range(self.world)]
        guarded(self.ctx, "all_gather of gradient rows", dist.all_gather, got, padded)
        out = []
        for s, buf in zip(all_sizes, got):
            counts = s.tolist()
            ids_end = sum(counts)
            ids = buf[:ids_end].view(torch.int32).to(torch.int64)
            parts, lo, vlo = [], 0, ids_end
            for (i, _, v), n, w in zip(sparse, counts, widths):
                vals = buf[vlo : vlo + n * w].reshape(n, w).to(v.dtype)
                parts.append((i, ids[lo : lo + n], vals))
                lo, vlo = lo + n, vlo + n * w
            out.append(parts)
        return out
