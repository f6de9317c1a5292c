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
* NCE (Gutmann & Hyvärinen 2010; Mnih & Teh 2012, self-normalised model ``Z = 1``): with
  ``Δ(x) = s(x)/tau - log(k q(x))``, ``mean_b [softplus(-Δ_b) + sum_j softplus(Δ_bj)]``; needs
  ``log q`` of the positive too (``log_q_pos``).  As ``k`` grows, the minimiser's
  ``exp(s/tau)`` is the data's conditional law itself (normalised, no partition function).
* Self-normalised importance sampling (Bengio & Senécal 2008): the softmax's
  ``log Z = log sum_i exp(s_i/tau)`` is estimated by ``log (1/k) sum_j exp(s_j/tau - log q_j)``
  from the k draws of q: ``mean_b [-s_b/tau + logsumexp_j(s_bj/tau - log q_bj) - log k]``.
  Its gradient weighs draw j by ``w_j = (e^{s_j/tau}/q_j) / sum_l e^{s_l/tau}/q_l``, the
  self-normalised weights of :func:`negkit.samplers.tools.importance_weights` (biased,
  consistent).  Unlike ``sampled_softmax`` the positive is not in the denominator.
* In-batch softmax (two-tower; Yi et al. 2019): the other positives of the batch
  are the negatives, ``logits = U I^T / tau - log q(item)``, target the diagonal.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["bpr", "bce", "sampled_softmax", "nce", "snis_softmax", "in_batch_softmax", "LOSSES"]


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


def _need_log_q(log_q, neg: torch.Tensor, what: str) -> torch.Tensor:
    if log_q is None:
        raise ValueError(f"{what} needs log q of the draws (a sampler with a known distribution)")
    if log_q.shape != neg.shape:
        raise ValueError(f"log_q has shape {tuple(log_q.shape)}, the scores {tuple(neg.shape)}")
    return log_q


def nce(
    pos: torch.Tensor,
    neg: torch.Tensor,
    log_q: torch.Tensor | None = None,
    tau: float = 1.0,
    log_q_pos: torch.Tensor | None = None,
):
    """Noise-contrastive estimation with ``k = neg.shape[1]`` noise draws of known ``log q``."""
    log_q = _need_log_q(log_q, neg, "nce")
    if log_q_pos is None or log_q_pos.shape != pos.shape:
        raise ValueError("nce needs log_q_pos, log q of every positive, shaped like pos")
    log_k = torch.log(torch.tensor(float(neg.shape[1]), device=pos.device))
    d_pos = pos / tau - log_q_pos - log_k
    d_neg = neg / tau - log_q - log_k
    return (F.softplus(-d_pos) + F.softplus(d_neg).sum(dim=1)).mean()


def snis_softmax(
    pos: torch.Tensor, neg: torch.Tensor, log_q: torch.Tensor | None = None, tau: float = 1.0
):
    """Softmax cross-entropy with ``log Z`` by self-normalised importance sampling."""
    log_q = _need_log_q(log_q, neg, "snis_softmax")
    k = torch.tensor(float(neg.shape[1]), device=pos.device)
    return (-pos / tau + torch.logsumexp(neg / tau - log_q, dim=1) - torch.log(k)).mean()


def column_logits(
    users: torch.Tensor, items: torch.Tensor, log_q: torch.Tensor | None, tau: float
) -> torch.Tensor:
    """``users @ items.T / tau - log_q[None, :]`` (logQ-corrected scores of every row against
    every column) as one ``addmm``: ``tau`` divides the ``(B, d)`` rows and ``log q`` is the
    product's bias, so no pass over the ``(B, C)`` matrix is spent on either, forward or
    backward.  The result is a fresh tensor that callers may mask in place."""
    rows = users / tau if tau != 1.0 else users
    if log_q is None:
        return rows @ items.T
    return torch.addmm(-log_q.to(rows.dtype)[None, :], rows, items.T)


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
    logits = column_logits(users, items, log_q, tau)
    rows = torch.arange(users.shape[0], device=users.device)
    target = rows + offset
    if item_ids is not None:
        same = item_ids[None, :] == item_ids[target][:, None]
        same.scatter_(1, target[:, None], False)  # a scalar fill: nothing copied from the host
        logits.masked_fill_(same, float("-inf"))
    return F.cross_entropy(logits, target)


LOSSES = {"bpr": bpr, "bce": bce, "softmax": sampled_softmax, "nce": nce, "snis": snis_softmax}
#: losses that take the draws' log q (from a sampler whose distribution is known)
LOG_Q_LOSSES = ("softmax", "nce", "snis")
