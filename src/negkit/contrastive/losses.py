"""Contrastive losses over in-batch and extra negatives (PyTorch; CPU or GPU).

Every loss takes L2-normalised or raw embeddings (``normalize=True`` normalises them, so
scores are cosine similarities) and returns a scalar.  Row ``r`` of ``anchor`` is paired
with row ``r`` of ``positive``; negatives are the other rows' positives (in-batch), plus any
``negatives`` given, shared ``(M, d)`` or per row ``(B, M, d)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "InfoNCELoss",
    "NTXentLoss",
    "DebiasedContrastiveLoss",
    "HardNegativeContrastiveLoss",
    "TripletMarginLoss",
]


def _check_pair(anchor: torch.Tensor, positive: torch.Tensor) -> None:
    if anchor.ndim != 2 or positive.ndim != 2:
        raise ValueError(
            f"anchor and positive must be 2-D (batch, dim), got {tuple(anchor.shape)} "
            f"and {tuple(positive.shape)}"
        )
    if anchor.shape != positive.shape:
        raise ValueError(
            f"anchor and positive must have the same shape, got {tuple(anchor.shape)} "
            f"and {tuple(positive.shape)}"
        )
    if anchor.shape[0] == 0:
        raise ValueError("an empty batch has no loss")


def _same_dtype(*xs: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
    """The tensors in their promoted dtype (float16 anchors with float32 negatives: float32),
    as ``torch.cat`` and ``+`` promote but ``@`` refuses mixed dtypes."""
    ts = [x for x in xs if x is not None]
    dt = ts[0].dtype
    for x in ts[1:]:
        dt = torch.promote_types(dt, x.dtype)
    return tuple(None if x is None else x.to(dt) for x in xs)


def _check_temperature(t: float) -> float:
    t = float(t)
    if not t > 0 or not math.isfinite(t):
        raise ValueError(f"temperature must be positive and finite, got {t!r}")
    return t


def _negative_scores(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor | None, in_batch: bool
) -> torch.Tensor:
    """``(B, N)`` scores of each row against its negatives: in-batch (other rows' positives,
    the diagonal removed) then the extra ones."""
    b, d = anchor.shape
    parts = []
    if in_batch:
        # the off-diagonal scores by a reshape (no boolean mask: no host sync on a GPU)
        s = (anchor @ positive.T).flatten()[1:].view(b - 1, b + 1)[:, :-1]
        parts.append(s.reshape(b, b - 1))
    if negatives is not None:
        if negatives.ndim == 2 and negatives.shape[1] == d:
            parts.append(anchor @ negatives.T)
        elif negatives.ndim == 3 and negatives.shape[0] == b and negatives.shape[2] == d:
            parts.append(torch.einsum("bd,bmd->bm", anchor, negatives))
        else:
            raise ValueError(
                f"negatives must be (M, {d}) shared or ({b}, M, {d}) per row, "
                f"got {tuple(negatives.shape)}"
            )
    if not parts:
        raise ValueError("no negatives: set in_batch=True or pass negatives=")
    out = torch.cat(parts, dim=1)
    if out.shape[1] == 0:
        raise ValueError("no negatives: a batch of one row has no in-batch negatives")
    return out


class InfoNCELoss(torch.nn.Module):
    """InfoNCE (van den Oord et al. 2018) with logQ correction and accidental-hit masking.

    For row r with logits ``z_rc = s(a_r, k_c) / τ - log q_c`` over the candidate columns
    (the batch's keys, then ``negatives``), ``L = -1/B Σ_r log softmax_c(z_r)[r]``; columns
    marked in ``hits`` (accidental hits: the row's own item elsewhere, known positives) get
    ``-inf``.  ``log_q`` is the log of each column's sampling probability (Yi et al., RecSys
    2019), e.g. :class:`negkit.samplers.InBatchSampler`'s ``BatchNegatives.log_q``.  ``ids``
    (``(B,)``, the item id of each row's positive) marks the in-batch columns holding the row's
    own item as hits too (a batch with the same item twice: each copy is the other's positive,
    not a negative); ids < 0 mean "unknown" and match nothing.  With ``memory=`` (a
    :class:`~negkit.contrastive.CrossBatchMemory`) the queue's keys are more negatives, taken in
    bounded chunks, and its entries with the row's id are skipped.  The queue's keys are used
    as enqueued (``normalize`` does not apply to them): enqueue normalised keys.
    """

    def __init__(self, temperature: float = 0.07, normalize: bool = True) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)
        self.normalize = normalize

    def forward(
        self,
        anchor: torch.Tensor,
        positive: torch.Tensor,
        negatives: torch.Tensor | None = None,
        *,
        log_q: torch.Tensor | None = None,
        hits: torch.Tensor | None = None,
        memory: Any = None,
        ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        _check_pair(anchor, positive)
        anchor, positive, negatives = _same_dtype(anchor, positive, negatives)
        if self.normalize:
            anchor, positive = F.normalize(anchor, dim=1), F.normalize(positive, dim=1)
            if negatives is not None:
                negatives = F.normalize(negatives, dim=-1)
        if negatives is not None and (negatives.ndim != 2 or negatives.shape[1] != anchor.shape[1]):
            raise ValueError(
                f"InfoNCELoss takes shared negatives (M, {anchor.shape[1]}), "
                f"got {tuple(negatives.shape)}"
            )
        keys = positive if negatives is None else torch.cat([positive, negatives], dim=0)
        logits = anchor @ keys.T / self.temperature
        b, c = logits.shape
        if log_q is not None:
            log_q = torch.as_tensor(log_q, dtype=logits.dtype, device=logits.device)
            if log_q.shape != (c,):
                raise ValueError(f"log_q must have one entry per column ({c}), got {log_q.shape}")
            logits = logits - log_q
        if hits is not None:
            hits = torch.as_tensor(hits, dtype=torch.bool, device=logits.device)
            if hits.shape != (b, c):
                raise ValueError(f"hits must have shape {(b, c)}, got {tuple(hits.shape)}")
        if ids is not None:
            ids = torch.as_tensor(ids, dtype=torch.long, device=logits.device).reshape(-1)
            if ids.shape != (b,):
                raise ValueError(f"ids must hold one item id per row ({b}), got {ids.shape[0]}")
            same = (ids[:, None] == ids[None, :]) & (ids[:, None] >= 0)
            same = torch.cat([same, same.new_zeros(b, c - b)], dim=1)
            hits = same if hits is None else hits | same
        if hits is not None:
            hits = hits & ~torch.eye(b, c, dtype=torch.bool, device=logits.device)
            logits = logits.masked_fill(hits, float("-inf"))
        lse = torch.logsumexp(logits, dim=1)
        if memory is not None:
            lse = torch.logaddexp(lse, memory.logsumexp(anchor, self.temperature, exclude=ids))
        return (lse - logits.diagonal()).mean()


class NTXentLoss(torch.nn.Module):
    """NT-Xent, SimCLR's loss (Chen et al., ICML 2020) for two views ``z1``, ``z2`` of B samples.

    Over the 2B normalised vectors, ``ℓ(i, j) = -log exp(s_ij/τ) / Σ_{k≠i} exp(s_ik/τ)`` and
    ``L = 1/(2B) Σ_k [ℓ(k, k+B) + ℓ(k+B, k)]``: each view's partner is its positive, the other
    2B - 2 vectors its negatives.
    """

    def __init__(self, temperature: float = 0.5) -> None:
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        _check_pair(z1, z2)
        z1, z2 = _same_dtype(z1, z2)
        z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
        n = z1.shape[0]
        logits = z @ z.T / self.temperature
        logits = logits.fill_diagonal_(float("-inf"))
        target = torch.arange(2 * n, device=z.device).roll(n)  # row k's partner is k ± n
        return F.cross_entropy(logits, target)


class DebiasedContrastiveLoss(torch.nn.Module):
    """Debiased contrastive loss (Chuang et al., NeurIPS 2020), class prior ``τ⁺``.

    With ``pos = exp(s⁺/t)``, ``neg_i = exp(s_i/t)`` over N negatives,
    ``Ng = max((Σ_i neg_i - N τ⁺ pos) / (1 - τ⁺), N e^{-1/t})`` and
    ``L = -log(pos / (pos + Ng))``, averaged over rows.  ``τ⁺ = 0`` is the biased (plain) loss.
    Negatives are in-batch (``in_batch=True``: the other rows' positives) and/or ``negatives``.
    In-batch copies of a row's own item stay among its negatives (there are no ``ids``: the
    class prior τ⁺ is this loss's account of false negatives; :class:`InfoNCELoss` with ``ids``
    masks them instead).
    Each row's terms are scaled by its largest one before ``exp``, so small temperatures do not
    overflow; float16 and bfloat16 inputs are computed (and the loss returned) in float32.
    """

    def __init__(
        self,
        tau_plus: float = 0.1,
        temperature: float = 0.5,
        normalize: bool = True,
        in_batch: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= float(tau_plus) < 1.0:
            raise ValueError(f"tau_plus (the class prior) must lie in [0, 1), got {tau_plus!r}")
        self.tau_plus = float(tau_plus)
        self.temperature = _check_temperature(temperature)
        self.normalize = normalize
        self.in_batch = in_batch

    def _weights(self, neg_logits: torch.Tensor) -> torch.Tensor | None:
        return None  # uniform: each negative counts once

    def forward(
        self, anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor | None = None
    ) -> torch.Tensor:
        _check_pair(anchor, positive)
        anchor, positive, negatives = _same_dtype(anchor, positive, negatives)
        if self.normalize:
            anchor, positive = F.normalize(anchor, dim=1), F.normalize(positive, dim=1)
            if negatives is not None:
                negatives = F.normalize(negatives, dim=-1)
        t = self.temperature
        if anchor.dtype in (torch.float16, torch.bfloat16):  # exp and the τ⁺ difference in fp32
            anchor, positive = anchor.float(), positive.float()
            negatives = None if negatives is None else negatives.float()
        pos_logit = (anchor * positive).sum(1) / t
        neg_logits = _negative_scores(anchor, positive, negatives, self.in_batch) / t
        n = neg_logits.shape[1]
        # in log space: log Σ w_i neg_i, w the hardness weights (mean 1)
        w = self._weights(neg_logits)
        lse = torch.logsumexp(neg_logits if w is None else neg_logits + w, dim=1)
        # every term scaled by e^{-m}, m the largest exponent of the row, so that no exp
        # overflows (e^{1/τ} is inf in float32 for τ < 0.0113, in float16 for τ < 0.091)
        log_floor = math.log(n) - 1.0 / t
        m = torch.maximum(torch.maximum(pos_logit, lse), torch.full_like(lse, log_floor))
        m = m.detach()
        pos = torch.exp(pos_logit - m)
        ng = (torch.exp(lse - m) - n * self.tau_plus * pos) / (1.0 - self.tau_plus)
        ng = torch.maximum(ng, torch.exp(log_floor - m))
        return (torch.log(pos + ng) + m - pos_logit).mean()


class HardNegativeContrastiveLoss(DebiasedContrastiveLoss):
    """Hard-negative contrastive loss (Robinson, Chuang, Sra & Jegelka, ICLR 2021).

    Negatives are re-weighted by hardness, ``w_i = neg_i^β / mean_j neg_j^β`` (the importance
    weights of q_β(x⁻) ∝ e^{β s}), then debiased as in :class:`DebiasedContrastiveLoss`:
    ``Ng = max((Σ_i w_i neg_i - N τ⁺ pos) / (1 - τ⁺), N e^{-1/t})``,
    ``L = -log(pos / (pos + Ng))``.  ``β = 0`` gives the debiased loss.
    """

    def __init__(
        self,
        beta: float = 1.0,
        tau_plus: float = 0.1,
        temperature: float = 0.5,
        normalize: bool = True,
        in_batch: bool = True,
    ) -> None:
        super().__init__(tau_plus, temperature, normalize, in_batch)
        if not math.isfinite(float(beta)) or float(beta) < 0:
            raise ValueError(f"beta (the concentration) must be >= 0 and finite, got {beta!r}")
        self.beta = float(beta)

    def _weights(self, neg_logits: torch.Tensor) -> torch.Tensor:
        # log w_i = β z_i - log mean_j e^{β z_j}
        bz = self.beta * neg_logits
        return bz - (torch.logsumexp(bz, dim=1, keepdim=True) - math.log(neg_logits.shape[1]))


class TripletMarginLoss(torch.nn.Module):
    """Triplet (margin) loss (Weinberger & Saul 2009; Schroff et al., FaceNet 2015).

    ``L = reduce_t max(0, d(a_t, p_t) - d(a_t, n_t) + m)``, d Euclidean (``distance="euclidean"``)
    or ``1 - cosine``.  Call with three ``(T, dim)`` tensors, or with ``(embeddings, triplets)``
    where ``triplets`` is a miner's ``(a, p, n)`` index tuple.  ``reduction``: ``"mean"``,
    ``"sum"``, or ``"nonzero"`` (the mean over triplets with a positive loss, as
    pytorch-metric-learning's ``AvgNonZeroReducer``).  Unlike pytorch-metric-learning's
    defaults (normalised embeddings, margin 0.05, ``AvgNonZeroReducer``), embeddings are used
    as given, the margin is 0.2 and ``"mean"`` averages over all triplets, zeros included.
    """

    def __init__(
        self, margin: float = 0.2, distance: str = "euclidean", reduction: str = "mean"
    ) -> None:
        super().__init__()
        if not 0 <= float(margin) < math.inf:
            raise ValueError(f"margin must be >= 0 and finite, got {margin!r}")
        if distance not in ("euclidean", "cosine"):
            raise ValueError(f"distance must be 'euclidean' or 'cosine', got {distance!r}")
        if reduction not in ("mean", "sum", "nonzero"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'nonzero', got {reduction!r}")
        self.margin = float(margin)
        self.distance = distance
        self.reduction = reduction

    def _d(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.distance == "cosine":
            return 1.0 - F.cosine_similarity(x, y, dim=1)
        return torch.linalg.vector_norm(x - y, dim=1)

    def forward(self, anchor: torch.Tensor, positive: Any, negative: Any = None) -> torch.Tensor:
        if isinstance(negative, (tuple, list)):
            raise ValueError(
                "pass (embeddings, (a, p, n)) or (anchor, positive, negative) tensors; the "
                "pytorch-metric-learning call (embeddings, labels, indices_tuple) is not taken"
            )
        if negative is None:  # (embeddings, (a, p, n))
            emb, trip = anchor, positive
            if not isinstance(trip, (tuple, list)) or len(trip) != 3:
                raise ValueError("with two arguments, pass (embeddings, (a, p, n) indices)")
            a, p, n = (torch.as_tensor(i, dtype=torch.long, device=emb.device) for i in trip)
            anchor, positive, negative = emb[a], emb[p], emb[n]
        if not (anchor.shape == positive.shape == negative.shape) or anchor.ndim != 2:
            raise ValueError(
                "anchor, positive and negative must be (T, dim) of one shape, got "
                f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}"
            )
        if anchor.shape[0] == 0:
            return anchor.sum() * 0.0  # no triplet: zero loss, graph kept
        losses = F.relu(self._d(anchor, positive) - self._d(anchor, negative) + self.margin)
        if self.reduction == "sum":
            return losses.sum()
        if self.reduction == "nonzero":
            nz = losses > 0
            return losses[nz].mean() if nz.any() else losses.sum() * 0.0
        return losses.mean()
