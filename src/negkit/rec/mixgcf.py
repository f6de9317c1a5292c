"""MixGCF hard negatives for graph recommenders.

Huang et al. (KDD 2021), "MixGCF: An Improved Training Method for Graph Neural
Network-based Recommender Systems".  For a pair (u, p) and M candidate
negatives n_1..n_M (drawn by any sampler), at every layer l:

* positive mixing: ``e'_m^(l) = a^(l) e_p^(l) + (1 - a^(l)) e_m^(l)``, ``a^(l) ~ U(0, 1)``
  drawn per pair and layer, shared by the M candidates (the paper's Eq. 6 has no index m on
  ``a^(l)``; the authors' code draws ``rand(batch, 1, n_hops + 1, 1)``).  One ``a`` per
  candidate would let the hop mixing favour the candidates that drew a large ``a`` (mixed
  nearest the positive), a harder negative than MixGCF's;
* hop mixing: keep, per layer, the candidate with the highest
  ``e_u . e'_m^(l)`` (``e_u`` the user's pooled embedding), then pool the kept
  layer embeddings (mean, as LightGCN) into the synthetic negative ``e_n``.

The synthetic negative then enters the BPR loss like an item embedding, and its layer-0 part
``e'^(0)`` into the L2 penalty with the user's and the positive's ego rows (the authors' code,
``create_bpr_loss``: ``neg_gcn_emb[:, :, 0, :]``).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["mixgcf_negatives"]


def mixgcf_negatives(
    layers: list[tuple[torch.Tensor, torch.Tensor]],
    users: torch.Tensor,
    pos: torch.Tensor,
    candidates: torch.Tensor,
    generator: torch.Generator | None = None,
    per_layer: bool = False,
) -> Any:
    """Synthetic negative embeddings ``(B, d)``.

    layers : per-layer ``(user_table, item_table)`` as returned by ``model.layers()``.
    users, pos : ``(B,)`` ids; candidates : ``(B, M)`` candidate negative item ids.
    per_layer : also return the kept layer embeddings ``(L + 1, B, d)`` (layer 0 first: the
        synthetic negative's ego part, on which the L2 penalty acts).
    """
    if candidates.ndim != 2 or candidates.shape[0] != users.shape[0]:
        raise ValueError(f"candidates must have shape (batch, M), got {tuple(candidates.shape)}")
    n_layers = len(layers)
    user_pooled = torch.stack([u[users] for u, _ in layers], dim=0).mean(dim=0)  # (B, d)
    B, M = candidates.shape
    chosen = []
    for _, items in layers:
        e_p = items[pos]  # (B, d)
        e_n = items[candidates]  # (B, M, d)
        alpha = torch.rand((B, 1, 1), device=e_n.device, generator=generator, dtype=e_n.dtype)
        mixed = alpha * e_p[:, None, :] + (1.0 - alpha) * e_n
        scores = (mixed * user_pooled[:, None, :]).sum(dim=-1)  # (B, M)
        best = scores.argmax(dim=1)
        chosen.append(mixed[torch.arange(B, device=mixed.device), best])
    kept = torch.stack(chosen, dim=0)
    pooled = kept.sum(dim=0) / n_layers
    return (pooled, kept) if per_layer else pooled
