"""Tuple miners over a labelled batch, as in pytorch-metric-learning (PyTorch; CPU or GPU).

A miner is called as ``miner(embeddings, labels)`` and returns index tensors: triplets
``(a, p, n)`` (batch-hard, semi-hard, distance-weighted) or pairs ``(a1, p, a2, n)``
(multi-similarity), ready for :class:`~negkit.contrastive.TripletMarginLoss` or a pair loss.
Mining runs under ``torch.no_grad()``; float16 and bfloat16 embeddings are compared in float32.

Differences from pytorch-metric-learning: there is no ``ref_emb``/``ref_labels`` (anchors and
candidates are the same batch); the batch-hard and semi-hard miners use Euclidean distances
of the embeddings *as given* (``normalize=False``), where pytorch-metric-learning's default
``LpDistance`` normalises them first -- pass ``normalize=True`` for its behaviour; the
semi-hard band is open on both sides, so a negative exactly at ``d(a, p) + m`` is not kept.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "BatchHardMiner",
    "BatchSemiHardMiner",
    "DistanceWeightedMiner",
    "MultiSimilarityMiner",
    "distance_weighted_law",
]


def _check(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (batch, dim), got {tuple(embeddings.shape)}")
    labels = torch.as_tensor(labels, device=embeddings.device)
    if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels must be 1-D with one label per row ({embeddings.shape[0]}), "
            f"got {tuple(labels.shape)}"
        )
    return labels


def _float(x: torch.Tensor) -> torch.Tensor:
    """float16 / bfloat16 embeddings in float32 (``torch.cdist`` has no half kernel on the CPU,
    and half-precision distances would make ties of near-equal ones)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def _distances(x: torch.Tensor, normalize: bool) -> torch.Tensor:
    x = _float(x)
    if normalize:
        x = F.normalize(x, dim=1)
    return torch.cdist(x, x).clamp_min(0.0)


class BatchHardMiner:
    """Batch-hard triplets (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss").

    For each anchor a with a positive and a negative in the batch: the farthest positive
    ``argmax_{p: y_p = y_a, p ≠ a} d(a, p)`` and the nearest negative
    ``argmin_{n: y_n ≠ y_a} d(a, n)``; one triplet per anchor.
    """

    def __init__(self, normalize: bool = False) -> None:
        self.normalize = normalize

    @torch.no_grad()
    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor):
        labels = _check(embeddings, labels)
        if labels.numel() == 0:
            e = torch.zeros(0, dtype=torch.long, device=embeddings.device)
            return e, e.clone(), e.clone()
        d = _distances(embeddings, self.normalize)
        pos, neg = _masks(labels)
        ok = pos.any(1) & neg.any(1)
        hard_p = d.masked_fill(~pos, float("-inf")).argmax(1)
        hard_n = d.masked_fill(~neg, float("inf")).argmin(1)
        a = torch.nonzero(ok).flatten()
        return a, hard_p[a], hard_n[a]


class BatchSemiHardMiner:
    """Semi-hard triplets (Schroff, Kalenichenko & Philbin, FaceNet, CVPR 2015).

    For every positive pair (a, p), the negatives n with ``d(a, p) < d(a, n) < d(a, p) + m``:
    farther than the positive but inside the margin.  ``select="all"`` returns every such
    triplet; ``"hardest"`` one per pair, the semi-hard negative nearest to a.
    """

    def __init__(self, margin: float = 0.2, select: str = "all", normalize: bool = False) -> None:
        if not float(margin) > 0:  # NaN too
            raise ValueError(f"margin must be positive, got {margin!r}")
        if select not in ("all", "hardest"):
            raise ValueError(f"select must be 'all' or 'hardest', got {select!r}")
        self.margin = float(margin)
        self.select = select
        self.normalize = normalize

    @torch.no_grad()
    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor):
        labels = _check(embeddings, labels)
        d = _distances(embeddings, self.normalize)
        pos, neg = _masks(labels)
        a, p = torch.nonzero(pos, as_tuple=True)
        dap = d[a, p][:, None]
        dan = d[a]  # (P, B)
        semi = neg[a] & (dan > dap) & (dan < dap + self.margin)
        if self.select == "hardest":
            has = semi.any(1)
            n = dan.masked_fill(~semi, float("inf")).argmin(1)
            return a[has], p[has], n[has]
        rows, n = torch.nonzero(semi, as_tuple=True)
        return a[rows], p[rows], n


def distance_weighted_law(
    d: torch.Tensor, dim: int, cutoff: float = 0.5, lam: float | None = None
) -> torch.Tensor:
    """``log`` of the unnormalised draw weight ``min(λ, 1/q(d))`` (Wu et al. 2017, eq. 4).

    ``q(d) = d^{n-2} (1 - d²/4)^{(n-3)/2} / Z_n`` is the density of the distance between two
    uniform points on the unit sphere in ℝⁿ, ``Z_n = 2^{n-2} B((n-1)/2, (n-1)/2)``; d is
    clipped to ``[cutoff, 2)`` first (the paper's 0.5 keeps the weights bounded).
    """
    n = int(dim)
    if n < 3:
        raise ValueError(f"the distance-weighted law needs dim >= 3, got {dim}")
    d = d.to(torch.float64).clamp(min=cutoff, max=2.0 - 1e-6)
    half = (n - 1) / 2.0
    log_z = (n - 2) * math.log(2.0) + 2 * math.lgamma(half) - math.lgamma(2 * half)
    log_q = (n - 2) * torch.log(d) + ((n - 3) / 2.0) * torch.log1p(-d * d / 4.0) - log_z
    log_w = -log_q
    if lam is not None:
        log_w = torch.clamp(log_w, max=math.log(lam))
    return log_w


class DistanceWeightedMiner:
    """Distance-weighted sampling (Wu, Manmatha, Smola & Krähenbühl, ICCV 2017).

    On the unit sphere in ℝⁿ pairwise distances follow ``q(d) ∝ d^{n-2} (1 - d²/4)^{(n-3)/2}``;
    for each positive pair (a, p) one negative is drawn with probability
    ``∝ min(λ, 1/q(d(a, n)))`` among a's negatives, so negatives are spread over all distances
    instead of concentrated near √2.  Distances are clipped below at ``cutoff`` (0.5 in the
    paper); negatives farther than ``nonzero_loss_cutoff`` get weight 0 (1.4 in the paper's
    code; ``None`` keeps them).  Embeddings are L2-normalised here.  ``seed`` seeds the draws.
    """

    def __init__(
        self,
        cutoff: float = 0.5,
        nonzero_loss_cutoff: float | None = 1.4,
        lam: float | None = None,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= float(cutoff) < 2.0:
            raise ValueError(f"cutoff must lie in [0, 2), got {cutoff!r}")
        if nonzero_loss_cutoff is not None and not float(nonzero_loss_cutoff) > 0:  # NaN too
            raise ValueError(f"nonzero_loss_cutoff must be positive, got {nonzero_loss_cutoff!r}")
        if lam is not None and not float(lam) > 0:
            raise ValueError(f"lam must be positive, got {lam!r}")
        self.cutoff = float(cutoff)
        self.nonzero_loss_cutoff = nonzero_loss_cutoff
        self.lam = lam
        self.seed = seed
        self._gen: dict[str, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        g = self._gen.get(key)
        if g is None:
            g = torch.Generator(device=device)
            if self.seed is None:
                g.seed()  # its own non-deterministic seed; torch's global seed is left alone
            else:
                g.manual_seed(self.seed)
            self._gen[key] = g
        return g

    @torch.no_grad()
    def probabilities(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """``(B, B)``: row a is the law of a's negative (zero rows for anchors without one)."""
        labels = _check(embeddings, labels)
        x = F.normalize(_float(embeddings), dim=1)
        d = torch.cdist(x, x)
        _, neg = _masks(labels)
        log_w = distance_weighted_law(d, x.shape[1], self.cutoff, self.lam)
        keep = neg.clone()
        if self.nonzero_loss_cutoff is not None:
            keep &= d < self.nonzero_loss_cutoff
        log_w = log_w.masked_fill(~keep, float("-inf"))
        empty = ~keep.any(1, keepdim=True)
        p = torch.softmax(log_w.masked_fill(empty, 0.0), dim=1)
        return p.masked_fill(empty, 0.0)

    @torch.no_grad()
    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor):
        labels = _check(embeddings, labels)
        prob = self.probabilities(embeddings, labels)
        pos, _ = _masks(labels)
        a, p = torch.nonzero(pos, as_tuple=True)
        ok = prob[a].sum(1) > 0
        a, p = a[ok], p[ok]
        if a.numel() == 0:
            return a, p, a.clone()
        n = torch.multinomial(
            prob[a].float(), 1, replacement=True, generator=self._generator(prob.device)
        ).flatten()
        return a, p, n


class MultiSimilarityMiner:
    """Multi-similarity pair mining (Wang, Han, Huang, Dong & Scott, CVPR 2019, eq. 5-6).

    With cosine similarities S: a negative pair (a, n) is kept when
    ``S_an > min_{p: y_p = y_a} S_ap - ε``; a positive pair (a, p) when
    ``S_ap < max_{n: y_n ≠ y_a} S_an + ε``.  Returns ``(a1, p, a2, n)``.
    """

    def __init__(self, epsilon: float = 0.1) -> None:
        if not math.isfinite(float(epsilon)):
            raise ValueError(f"epsilon must be a finite number, got {epsilon!r}")
        self.epsilon = float(epsilon)

    @torch.no_grad()
    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor):
        labels = _check(embeddings, labels)
        if labels.numel() == 0:
            e = torch.zeros(0, dtype=torch.long, device=embeddings.device)
            return e, e.clone(), e.clone(), e.clone()
        x = F.normalize(_float(embeddings), dim=1)
        s = x @ x.T
        pos, neg = _masks(labels)
        min_pos = s.masked_fill(~pos, float("inf")).min(1, keepdim=True).values
        max_neg = s.masked_fill(~neg, float("-inf")).max(1, keepdim=True).values
        keep_neg = neg & (s > min_pos - self.epsilon)
        keep_pos = pos & (s < max_neg + self.epsilon)
        a1, p = torch.nonzero(keep_pos, as_tuple=True)
        a2, n = torch.nonzero(keep_neg, as_tuple=True)
        return a1, p, a2, n
