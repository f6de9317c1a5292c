"""Losses of KG embedding on score tensors: ``pos`` ``(B,)``, ``neg`` ``(B, k)``.

``weights`` ``(B, k)`` (rows summing to 1) weigh a positive's negatives; ``None`` means
``1/k`` each.  Self-adversarial weights (:func:`negkit.samplers.kg_weights`) plug in here.

* margin ranking (Bordes et al. 2013): ``mean_b Σ_j w_bj max(0, m - s_b + s_bj)``;
* logistic (Trouillon et al. 2016; RotatE's form, Sun et al. 2019 eq. 4):
  ``mean_b ½ [-ln σ(s_b) - Σ_j w_bj ln σ(-s_bj)]``;
* self-adversarial (Sun et al. 2019 eq. 5): the logistic loss with ``w = softmax(α s_neg)``.

Every positive weighs the same (``mean_b``).  The RotatE reference code, in its default
runs, also weighs each positive and its negatives by a word2vec-like subsampling weight,
``1 / sqrt(#(h, r) + #(r, t))`` over train (counts from 4), normalised over the batch;
negkit does not offer those weights (``negkit kg train`` runs RotatE's loss without them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from negkit.samplers.kg_weights import self_adversarial_weights, uniform_weights

__all__ = ["margin_ranking", "logistic", "self_adversarial", "LOSSES", "kg_loss"]


def _w(neg: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return uniform_weights(neg) if weights is None else weights


def margin_ranking(pos, neg, weights=None, margin: float = 1.0):
    return (_w(neg, weights) * F.relu(margin - pos[:, None] + neg)).sum(dim=1).mean()


def logistic(pos, neg, weights=None):
    pos_loss = F.softplus(-pos).mean()
    neg_loss = (_w(neg, weights) * F.softplus(neg)).sum(dim=1).mean()
    return 0.5 * (pos_loss + neg_loss)


def self_adversarial(pos, neg, alpha: float = 1.0):
    return logistic(pos, neg, self_adversarial_weights(neg, alpha))


LOSSES = ("margin", "logistic", "self_adversarial")


def kg_loss(name: str, pos, neg, weights=None, *, margin: float = 1.0, alpha: float = 1.0):
    """The loss ``name`` (one of :data:`LOSSES`); ``weights`` for margin/logistic only."""
    if name == "margin":
        return margin_ranking(pos, neg, weights, margin)
    if name == "logistic":
        return logistic(pos, neg, weights)
    if name == "self_adversarial":
        if weights is not None:
            raise ValueError("self_adversarial makes its own weights; pass loss='logistic'")
        return self_adversarial(pos, neg, alpha)
    raise ValueError(f"unknown KG loss {name!r}; known: {', '.join(LOSSES)}")
