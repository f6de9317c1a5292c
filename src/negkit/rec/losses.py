"""Training losses for implicit feedback, on score tensors.

``pos``: ``(B,)`` scores of the positive pairs; ``neg``: ``(B, k)`` scores of
their ``k`` negatives; ``log_q``: ``(B, k)`` log-probabilities of drawing those
negatives (logQ correction), or None.

* BPR (Rendle et al. 2009): ``mean_b mean_j softplus(s_bj - s_b)`` = ``-ln sigma(s_b - s_bj)``.
* BCE with k negatives (NCF, He et al. 2017; SGNS-style):
  ``mean_b [softplus(-s_b) + sum_j softplus(s_bj)]``.
* Sampled softmax (Jean et al. 2015; Bengio & Senecal 2008) with temperature
  ``tau``: cross-entropy of the positive among ``[s_b, s_b1 .. s_bk] / tau``,
  each negative logit corrected by ``- log q`` (Yi et al., RecSys 2019, logQ).
* In-batch softmax (two-tower; Yi et al. 2019): the other positives of the batch
  are the negatives, ``logits = U I^T / tau - log q(item)``, target the diagonal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["bpr", "bce", "sampled_softmax", "in_batch_softmax", "LOSSES"]


def bpr(pos: torch.Tensor, neg: torch.Tensor, log_q: torch.Tensor | None = None, tau: float = 1.0):
    return F.softplus(neg - pos[:, None]).mean()


def bce(pos: torch.Tensor, neg: torch.Tensor, log_q: torch.Tensor | None = None, tau: float = 1.0):
    return (F.softplus(-pos) + F.softplus(neg).sum(dim=1)).mean()


def sampled_softmax(
    pos: torch.Tensor, neg: torch.Tensor, log_q: torch.Tensor | None = None, tau: float = 1.0
):
    neg = neg / tau
    if log_q is not None:
        neg = neg - log_q
    logits = torch.cat([(pos / tau)[:, None], neg], dim=1)
    target = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    return F.cross_entropy(logits, target)


def in_batch_softmax(
    users: torch.Tensor,
    items: torch.Tensor,
    log_q: torch.Tensor | None = None,
    tau: float = 1.0,
    item_ids: torch.Tensor | None = None,
    offset: int = 0,
):
    """``users``: ``(B, d)``; ``items``: ``(C, d)`` rows of the positives, user ``b``'s at row
    ``offset + b`` (``C > B`` when the columns were gathered from other ranks); ``log_q``:
    ``(C,)`` per item.

    With ``item_ids`` (``(C,)``), another column's copy of a pair's own positive is masked out
    (an "accidental hit" is not a negative).
    """
    logits = users @ items.T / tau
    if log_q is not None:
        logits = logits - log_q[None, :]
    rows = torch.arange(users.shape[0], device=users.device)
    target = rows + offset
    if item_ids is not None:
        same = item_ids[None, :] == item_ids[target][:, None]
        same[rows, target] = False
        logits = logits.masked_fill(same, float("-inf"))
    return F.cross_entropy(logits, target)


LOSSES = {"bpr": bpr, "bce": bce, "softmax": sampled_softmax}
