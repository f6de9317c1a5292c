"""Full-ranking evaluation on a torch device: the metrics of :mod:`negkit.eval.rec`, on the GPU.

The protocol and formulas are those of :func:`negkit.eval.rec.evaluate_ranking` (He et al.
2020, LightGCN): every test user ranks all items by ``user_emb[u] . item_emb[i]``, its
training (and validation) items removed; Recall, NDCG, Precision and HitRate at each K, and
MRR = 1 / (1 + #{unmasked items ranked before the best test item}), ties ranking the lower
item id first.

:class:`DeviceRanking` sends the sparse structure to the device once, cut into chunks of
``chunk_size`` users (masked ``(row, item)`` pairs and sorted test keys ``row * |I| + item``);
each call then scores a chunk with one matmul, masks it, takes ``torch.topk``, looks the top
items up among the test keys with ``torch.searchsorted``, and adds the chunk's per-user sums
into one device tensor, read once at the end.  Ties in score rank the lower item id first,
as on the CPU, so both evaluators give the same ranking: ``torch.topk`` orders ties as it
likes, so the items tied at the K-th score are replaced by the lowest ids among all the
items of that score, and the top K are then sorted by (score descending, id ascending).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from negkit.eval.rec import METRICS, ranking_inputs

__all__ = ["DeviceRanking", "evaluate_ranking_torch"]


class DeviceRanking:
    """Full ranking of ``test`` on ``device``, items in ``exclude`` removed (built once).

    test, exclude, ks, chunk_size, users : as :func:`negkit.eval.rec.evaluate_ranking`.
    shape : ``(n_users, n_items)`` of the embeddings (default: ``test.shape``).
    Call with the ``(n_users, d)`` and ``(n_items, d)`` embedding tensors.
    """

    def __init__(
        self,
        test: sp.spmatrix,
        exclude: Iterable[sp.spmatrix | None] = (),
        ks: Sequence[int] = (20,),
        chunk_size: int = 1024,
        users: np.ndarray | None = None,
        device: str | torch.device = "cpu",
        shape: tuple[int, int] | None = None,
    ) -> None:
        self.ks = sorted({int(k) for k in ks})
        if not self.ks or self.ks[0] < 1:
            raise ValueError(f"cut-offs must be positive integers, got {self.ks}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.device = torch.device(device)
        n_users, n_items = shape if shape is not None else test.shape
        self.n_users, self.n_items = n_users, n_items
        test, mask, users = ranking_inputs(test, exclude, users, n_users, n_items)
        self.n_eval = int(users.size)
        self.kmax = min(self.ks[-1], n_items)
        dev = self.device
        self.chunks = []
        for lo in range(0, users.size, chunk_size):
            batch = users[lo : lo + chunk_size]
            sub = mask[batch].tocoo()
            rel = test[batch]
            rel.sort_indices()
            rel_rows = np.repeat(np.arange(batch.size, dtype=np.int64), np.diff(rel.indptr))
            rel_cols = rel.indices.astype(np.int64)
            self.chunks.append(
                tuple(
                    torch.from_numpy(np.ascontiguousarray(x)).to(dev)
                    for x in (
                        batch,
                        sub.row.astype(np.int64),
                        sub.col.astype(np.int64),
                        rel_rows,
                        rel_cols,
                        rel_rows * n_items + rel_cols,
                        np.diff(rel.indptr).astype(np.float64),
                    )
                )
            )
        top = self.ks[-1]
        self.discount = 1.0 / torch.log2(torch.arange(2, top + 2, dtype=torch.float64, device=dev))
        self.names = [f"{m}@{k}" for k in self.ks for m in METRICS] + ["mrr"]

    @torch.no_grad()
    def __call__(self, user_emb: Any, item_emb: Any) -> dict[str, float]:
        dev = self.device
        U = torch.as_tensor(user_emb, device=dev).float()
        V = torch.as_tensor(item_emb, device=dev).float()
        if U.ndim != 2 or V.ndim != 2 or U.shape[1] != V.shape[1]:
            raise ValueError(
                f"embeddings must be 2-D with equal widths, got {tuple(U.shape)}, {tuple(V.shape)}"
            )
        if U.shape[0] != self.n_users or V.shape[0] != self.n_items:
            raise ValueError(
                f"embeddings cover {U.shape[0]} users x {V.shape[0]} items, the data "
                f"{self.n_users} x {self.n_items}"
            )
        sums = torch.zeros(len(self.names), dtype=torch.float64, device=dev)
        finite = torch.ones((), dtype=torch.bool, device=dev)
        finite &= torch.isfinite(U).all() & torch.isfinite(V).all()
        top = self.ks[-1]
        for batch, mrow, mcol, rrow, rcol, rkey, n_rel in self.chunks:
            scores = U[batch] @ V.T
            scores[mrow, mcol] = float("-inf")
            val, idx = _top_lowest_ids(scores, self.kmax)
            key = torch.arange(batch.shape[0], device=dev)[:, None] * self.n_items + idx
            at = torch.searchsorted(rkey, key.reshape(-1)).clamp_(max=rkey.numel() - 1)
            hit = (rkey[at].reshape(key.shape) == key) & (val > float("-inf"))
            hits = torch.zeros((batch.shape[0], top), dtype=torch.float64, device=dev)
            hits[:, : self.kmax] = hit.to(torch.float64)
            # the best test item: the highest score, the lowest id among the tied; MRR counts
            # the items ranked before it (above it, or tied with it at a lower id)
            rel_scores = scores[rrow, rcol]
            best = torch.full((batch.shape[0],), float("-inf"), device=dev)
            best = best.scatter_reduce(0, rrow, rel_scores, "amax", include_self=True)
            at_best = torch.where(rel_scores == best[rrow], rcol, self.n_items)
            first = torch.full((batch.shape[0],), self.n_items, dtype=torch.int64, device=dev)
            first = first.scatter_reduce(0, rrow, at_best, "amin", include_self=True)
            ids = torch.arange(self.n_items, device=dev)
            tied = ((scores == best[:, None]) & (ids < first[:, None])).sum(dim=1)
            tied = tied.masked_fill_(best == float("-inf"), 0)  # masked items are not ranked
            above = ((scores > best[:, None]).sum(dim=1) + tied).to(torch.float64)
            per_user = []
            for k in self.ks:
                h = hits[:, :k]
                n_hit = h.sum(dim=1)
                dcg = (h * self.discount[:k]).sum(dim=1)
                ideal = torch.cumsum(self.discount[:k], 0)[n_rel.clamp(max=k).long() - 1]
                per_user += [n_hit / n_rel, dcg / ideal, n_hit / k, (n_hit > 0).double()]
            per_user.append(1.0 / (1.0 + above))
            sums += torch.stack([v.sum() for v in per_user])
        out = (sums / self.n_eval).cpu().numpy()  # the one read from the device
        if not bool(finite):
            raise ValueError("embeddings contain NaN or infinite values (training diverged?)")
        result = {name: float(v) for name, v in zip(self.names, out)}
        result["n_users"] = self.n_eval
        return result


def _top_lowest_ids(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest scores of each row and their items, ties ranking the lower id first
    (the CPU evaluator's order), without a device synchronisation."""
    val, idx = torch.topk(scores, k, dim=1)  # values sorted, tied items in any order
    thr = val[:, -1:]
    n_over = (val > thr).sum(dim=1, keepdim=True)  # every item above thr is in the top k
    # the last k - n_over places hold items scoring thr: the lowest ids of that score, found
    # by a second top k on -id over the tied items (at least k - n_over of them)
    neg_id = -torch.arange(scores.shape[1], dtype=torch.int32, device=scores.device)
    key = torch.where(scores == thr, neg_id, torch.iinfo(torch.int32).min)
    lowest = torch.topk(key, k, dim=1).values.neg_().long()  # the tied ids, ascending
    lowest.clamp_(0, scores.shape[1] - 1)  # NaN scores tie with nothing (refused later)
    pos = torch.arange(k, device=scores.device)[None, :]
    lowest = lowest.gather(1, (pos - n_over).clamp(min=0))
    idx = torch.where(pos >= n_over, lowest, idx)
    val = scores.gather(1, idx)
    # (score descending, id ascending): sort by id, then stably by score
    idx, order = torch.sort(idx, dim=1)
    val = val.gather(1, order)
    val, order = torch.sort(val, dim=1, descending=True, stable=True)
    return val, idx.gather(1, order)


def evaluate_ranking_torch(
    user_emb: Any,
    item_emb: Any,
    test: sp.spmatrix,
    exclude: Iterable[sp.spmatrix | None] = (),
    ks: Sequence[int] = (20,),
    chunk_size: int = 1024,
    users: np.ndarray | None = None,
) -> dict[str, float]:
    """:func:`negkit.eval.rec.evaluate_ranking` on the embeddings' device (tensors or arrays)."""
    device = user_emb.device if isinstance(user_emb, torch.Tensor) else "cpu"
    shape = (user_emb.shape[0], item_emb.shape[0])
    ranking = DeviceRanking(test, exclude, ks, chunk_size, users, device, shape)
    return ranking(user_emb, item_emb)
