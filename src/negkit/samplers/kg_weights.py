"""Self-adversarial weights of KG negatives (Sun, Deng, Nie & Tang, ICLR 2019, RotatE eq. 5).

A positive's ``k`` negatives are weighted by ``p(j) = exp(α s_j) / Σ_i exp(α s_i)``, the
softmax of their scores at temperature ``α``, as constants (no gradient flows through the
weights).  This is sampling from ``p`` by importance weighting the uniform draws: harder
negatives weigh more.  ``α = 0`` gives the uniform weights ``1/k``.

Cost: O(B k) per batch, on the scores' device; no state.
"""

from __future__ import annotations

import torch

__all__ = ["self_adversarial_weights", "uniform_weights"]


def self_adversarial_weights(neg_scores: torch.Tensor, alpha: float) -> torch.Tensor:
    """``softmax(α s)`` over the last dim of ``neg_scores`` ``(B, k)``, detached."""
    if not alpha >= 0:
        raise ValueError(f"the self-adversarial temperature alpha must be >= 0, got {alpha}")
    return torch.softmax(alpha * neg_scores.detach(), dim=-1)


def uniform_weights(neg_scores: torch.Tensor) -> torch.Tensor:
    """``1/k`` for each of the ``k`` negatives of a row."""
    return torch.full_like(neg_scores, 1.0 / neg_scores.shape[-1]).detach()
