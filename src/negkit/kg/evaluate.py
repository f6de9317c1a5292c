"""Filtered link prediction (Bordes et al., NIPS 2013), the standard protocol.

For every evaluation triple ``(h, r, t)``, every entity is scored as the tail of ``(h, r, ?)``
and, separately, as the head of ``(?, r, t)``.  Every *other* true triple of train, valid and
test is removed from the candidates ("filtered"), and the rank of the right answer is

    rank = 1 + #{e : s(e) > s(answer)} + ½ #{e ≠ answer : s(e) = s(answer)}

(the mean of the optimistic and the pessimistic rank: ties neither help nor hurt).  Reported
over both directions (2 n queries): ``MRR = mean 1/rank`` and ``Hits@k = mean [rank <= k]``.
A query whose answer or candidates score NaN (a diverged model) has no rank: its rank is NaN,
and so are the metrics it enters (which best-epoch selection then refuses), where the
comparisons alone would have counted nothing above the answer and made it rank first.

Pure torch on the model's device; the filter is built per batch from the sorted keys of the
true triples (no Python loop over triples).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["link_prediction", "filtered_ranks", "TrueAnswers"]


class TrueAnswers:
    """The true tails of every ``(h, r)`` and true heads of every ``(r, t)``, as sorted keys."""

    def __init__(self, triples: Any, n_entities: int, n_relations: int, device=None) -> None:
        tr = torch.as_tensor(np.asarray(triples, dtype=np.int64), device=device)
        self.E, self.R = int(n_entities), int(n_relations)
        self.sides = {}
        for side, (a, b) in (("tail", (0, 2)), ("head", (2, 0))):
            key = tr[:, a] * self.R + tr[:, 1]
            order = torch.argsort(key * self.E + tr[:, b])
            self.sides[side] = (key[order].contiguous(), tr[order, b].contiguous())

    def mask(self, anchor: torch.Tensor, r: torch.Tensor, side: str) -> torch.Tensor:
        """``(B, E)`` True at every true answer of each query."""
        keys, answers = self.sides[side]
        q = anchor * self.R + r
        lo = torch.searchsorted(keys, q)
        hi = torch.searchsorted(keys, q, right=True)
        counts = hi - lo
        rows = torch.repeat_interleave(torch.arange(q.numel(), device=q.device), counts)
        starts = torch.repeat_interleave(lo - (torch.cumsum(counts, 0) - counts), counts)
        idx = starts + torch.arange(rows.numel(), device=q.device)
        out = torch.zeros(q.numel(), self.E, dtype=torch.bool, device=q.device)
        out[rows, answers[idx]] = True
        return out


def filtered_ranks(scores: torch.Tensor, answer: torch.Tensor, true_mask: torch.Tensor):
    """Ranks (float, ties counted half) of ``answer`` in each row of ``scores`` ``(B, E)``,
    ignoring the other entities of ``true_mask``; NaN where the answer or a candidate scores
    NaN (no order)."""
    target = scores.gather(1, answer[:, None])
    other = true_mask.clone()
    other[torch.arange(len(answer), device=answer.device), answer] = False
    keep = ~other
    greater = ((scores > target) & keep).sum(1)
    ties = ((scores == target) & keep).sum(1) - 1  # the answer ties with itself
    rank = 1.0 + greater.double() + 0.5 * ties.double()
    unordered = (torch.isnan(scores) & keep).any(1)  # keep holds the answer
    return rank.masked_fill(unordered, float("nan"))


@torch.no_grad()
def link_prediction(
    model: Any,
    triples: Any,
    all_true: Any,
    *,
    batch_size: int = 64,
    ks: tuple[int, ...] = (1, 3, 10),
    filtered: bool = True,
) -> dict[str, float]:
    """Filtered MRR and Hits@k of ``model`` on ``triples`` ``(n, 3)`` over head and tail
    prediction; ``all_true`` the known triples (train + valid + test).  Also the per-side MRR."""
    device = next(model.parameters()).device
    tr = torch.as_tensor(np.asarray(triples, dtype=np.int64), device=device).reshape(-1, 3)
    if tr.shape[0] == 0:
        raise ValueError("link prediction: no triples to rank (the split is empty)")
    answers = TrueAnswers(all_true, model.n_entities, model.n_relations, device)
    ranks = {"head": [], "tail": []}
    was_training = model.training
    model.eval()
    for i in range(0, tr.shape[0], batch_size):
        b = tr[i : i + batch_size]
        h, r, t = b[:, 0], b[:, 1], b[:, 2]
        for side, anchor, answer in (("tail", h, t), ("head", t, h)):
            scores = model.score_all(anchor, r, side)
            mask = (
                answers.mask(anchor, r, side)
                if filtered
                else torch.zeros_like(scores, dtype=torch.bool)
            )
            ranks[side].append(filtered_ranks(scores, answer, mask))
    model.train(was_training)
    both = torch.cat(ranks["tail"] + ranks["head"])
    out = {"mrr": float((1.0 / both).mean())}
    for k in ks:
        out[f"hits@{k}"] = float((both <= k).double().masked_fill(both.isnan(), math.nan).mean())
    for side in ("head", "tail"):
        out[f"mrr_{side}"] = float((1.0 / torch.cat(ranks[side])).mean())
    return out
