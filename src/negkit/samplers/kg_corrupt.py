"""Corruption samplers for knowledge graphs: replace the head or the tail of a triple.

* ``kg_uniform``: side ½, entity uniform over all ``E`` (Bordes et al., NIPS 2013, TransE);
* ``bernoulli``: entity uniform, head corrupted with probability ``tph_r / (tph_r + hpt_r)``
  (Wang, Zhang, Feng & Chen, AAAI 2014, TransH), ``tph_r`` the mean number of tails per head
  of relation ``r`` in train and ``hpt_r`` the mean number of heads per tail: one-to-many
  relations get their heads corrupted, which yields fewer false negatives;
* ``typed``: the entity uniform over the relation's observed domain (heads of ``r`` in train)
  when the head is corrupted, over its observed range (tails of ``r``) when the tail is
  (type-constrained negatives, Krompaß, Baier & Tresp, ISWC 2015), side ½ or Bernoulli.

Every one filters known triples (see :mod:`negkit.samplers.kg_base`).  The entity replaced
is not excluded from the draw: unfiltered (``filter=None``), a negative is the positive itself
with probability ``1/E`` for ``kg_uniform`` and ``bernoulli`` and ``1/|domain|`` (or
``1/|range|``) for ``typed``, large for a relation with few heads or tails, and the trainers
score it as a negative.  With filtering (the default, ``"exact"``) the positive is a known
triple and is never returned.  (PyKEEN's basic sampler draws from the ``E - 1`` other
entities instead; negkit keeps the plain uniform law, which the filtered law conditions.)
Cost per negative:
O(1) draws, plus O(log n) per filtering lookup.  State: ``2R`` floats (Bernoulli) and the
relation's domain and range as CSR (typed, at most ``2n`` ids).
"""

from __future__ import annotations

import torch

from negkit.samplers._kernels import check_flag
from negkit.samplers.kg_base import KGSampler, bernoulli_probs, register_kg
from negkit.samplers.kg_weights import self_adversarial_weights

__all__ = [
    "UniformCorruption",
    "BernoulliCorruption",
    "TypedCorruption",
    "SelfAdversarialCorruption",
    "bernoulli_probs",
]


@register_kg("kg_uniform", aliases=("uniform",))
class UniformCorruption(KGSampler):
    """Head or tail (½ each) replaced by a uniform entity (Bordes et al. 2013)."""

    def _draw(self, batch, head):
        return self._uniform_entities(head.shape)

    def distribution(self, triple) -> tuple[torch.Tensor, torch.Tensor]:
        """``(P(head := e), P(tail := e))`` over entities e, before filtering."""
        self._check_fitted()
        p_head = float(self.head_probability(torch.tensor([int(triple[1])]))[0])
        q = torch.full((self.n_entities_,), 1.0 / self.n_entities_, dtype=torch.float64)
        return p_head * q, (1.0 - p_head) * q


@register_kg("bernoulli", aliases=("bern",))
class BernoulliCorruption(UniformCorruption):
    """Uniform entity; the head corrupted with probability ``tph / (tph + hpt)`` (TransH)."""

    bernoulli = True


@register_kg("self_adversarial", aliases=("self_adv", "sa"))
class SelfAdversarialCorruption(UniformCorruption):
    """Uniform corruption whose negatives weigh ``softmax(α s)`` in the loss (Sun et al. 2019).

    alpha : the temperature α (RotatE: 0.5 on WN18RR, 1.0 on FB15k-237).
    bernoulli : choose the side by tph/hpt instead of ½.
    """

    def __init__(self, *, alpha: float = 1.0, bernoulli: bool = False, **kw) -> None:
        super().__init__(**kw)
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha
        self.bernoulli = check_flag("bernoulli", bernoulli)

    def weights(self, neg_scores):
        return self_adversarial_weights(neg_scores, self.alpha)


@register_kg("typed", aliases=("type_constrained",))
class TypedCorruption(KGSampler):
    """Entity uniform over the relation's observed domain (head) or range (tail).

    bernoulli : choose the side as :class:`BernoulliCorruption` (default ½).
    """

    def __init__(self, *, bernoulli: bool = False, **kw) -> None:
        super().__init__(**kw)
        self.bernoulli = check_flag("bernoulli", bernoulli)

    def _fit(self, triples):
        R = self.n_relations_
        self.sets_ = []
        for col in (0, 2):  # domain, range: CSR over relations
            pairs = torch.unique(triples[:, [1, col]], dim=0)  # sorted by relation
            size = torch.bincount(pairs[:, 0], minlength=R)
            ptr = torch.zeros(R + 1, dtype=torch.int64, device=self.device_)
            ptr[1:] = torch.cumsum(size, 0)
            self.sets_.append((ptr, pairs[:, 1].contiguous(), size))

    def _draw(self, batch, head):
        r = batch[:, 1:2].expand_as(head)
        out = torch.empty_like(r)
        u = self._rand(*head.shape)
        for side, (ptr, ids, size) in zip((head, ~head), self.sets_):
            n = size[r].clamp(min=1)
            j = ptr[r] + torch.minimum((u * n).long(), n - 1)
            out = torch.where(side, ids[j.clamp(max=max(ids.numel() - 1, 0))], out)
        return out

    def distribution(self, triple) -> tuple[torch.Tensor, torch.Tensor]:
        self._check_fitted()
        r = int(triple[1])
        p_head = float(self.p_head_[r])
        out = []
        for p, (ptr, ids, size) in zip((p_head, 1.0 - p_head), self.sets_):
            q = torch.zeros(self.n_entities_, dtype=torch.float64)
            members = ids[int(ptr[r]) : int(ptr[r + 1])].cpu()
            q[members] = p / max(1, int(size[r]))
            out.append(q)
        return out[0], out[1]
