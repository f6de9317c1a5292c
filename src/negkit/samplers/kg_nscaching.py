"""NSCaching: caches of hard negatives for KG embedding (Zhang, Yao, Shao & Chen, ICDE 2019).

Every ``(h, r)`` of train keeps a cache of ``N1`` candidate tails and every ``(r, t)`` one of
``N1`` candidate heads.  A negative replaces the head or the tail by an entity drawn uniformly
from the matching cache (Algorithm 2).  After each step on a batch, the caches of the batch's
queries are refreshed (Algorithm 3): the ``N1`` cached entities and ``N2`` uniform ones are
scored by the live model and ``N1`` of them are kept, drawn without replacement with
probability ``∝ exp(s)`` (importance sampling; drawn as the ``N1`` largest of ``s`` plus Gumbel
noise, which has that law).  Caches start uniform.

A query that occurs in several rows of one batch is refreshed once: each row computes a
refresh of the same old cache and one of them is kept (the paper refreshes row after row).
Data-parallel, every rank keeps its own caches (seeded ``seed + rank``) and refreshes those
of its rows only: a query's cache moves on the rank that drew its row, and a checkpoint
holds every rank's caches.

Cost per batch of B triples: O(B k) to draw, O(2 B (N1 + N2) d) to refresh.  State: two int64
tables ``(#distinct (h, r), N1)`` and ``(#distinct (r, t), N1)``.
"""

from __future__ import annotations

import torch

from negkit.samplers._kernels import check_flag
from negkit.samplers.kg_base import KGSampler, check_count, register_kg

__all__ = ["NSCachingSampler"]


@register_kg("nscaching", aliases=("ns_caching",))
class NSCachingSampler(KGSampler):
    """Negatives drawn from per-query caches of hard entities (Zhang et al. 2019).

    cache_size : N1 (paper: 50); n_random : N2, uniform entities added at a refresh (50).
    bernoulli : choose the side by tph/hpt instead of ½.
    """

    score_aware = True

    def __init__(
        self, *, cache_size: int = 50, n_random: int = 50, bernoulli: bool = False, **kw
    ) -> None:
        super().__init__(**kw)
        self.cache_size = check_count("cache_size", cache_size, 1)
        self.n_random = check_count("n_random", n_random, 0)
        self.bernoulli = check_flag("bernoulli", bernoulli)

    def _fit(self, triples):
        R = self.n_relations_
        self.keys_ = {}
        self.caches_ = {}
        for side, (a, b) in (("tail", (0, 1)), ("head", (2, 1))):
            keys = torch.unique(triples[:, a] * R + triples[:, b])
            self.keys_[side] = keys
            self.caches_[side] = self._uniform_entities((keys.numel(), self.cache_size))

    def _rows(self, batch: torch.Tensor, side: str) -> torch.Tensor:
        anchor = batch[:, 0] if side == "tail" else batch[:, 2]
        q = anchor * self.n_relations_ + batch[:, 1]
        keys = self.keys_[side]
        i = torch.searchsorted(keys, q).clamp(max=keys.numel() - 1)
        if not bool((keys[i] == q).all()):
            raise ValueError("NSCaching draws for training triples only (a query has no cache)")
        return i

    def _draw(self, batch, head):
        k = head.shape[1]
        col = torch.randint(0, self.cache_size, head.shape, generator=self._gen, device=head.device)
        out = self.caches_["tail"][self._rows(batch, "tail")[:, None], col]
        from_head = self.caches_["head"][self._rows(batch, "head")[:, None], col]
        return torch.where(head, from_head, out) if k else out

    @torch.no_grad()
    def update(self, batch: torch.Tensor) -> None:
        """Refresh the caches of the batch's queries by importance sampling ∝ exp(score)."""
        model = self.model_
        for side in ("tail", "head"):
            rows = self._rows(batch, side)
            cand = torch.cat(
                [self.caches_[side][rows], self._uniform_entities((rows.numel(), self.n_random))],
                dim=1,
            )
            head = torch.full(cand.shape, side == "head", device=cand.device)
            sc = model.score_corrupted(batch, cand, head).float()
            # Gumbel-top-k: the N1 largest of s + Gumbel noise are N1 draws without replacement
            # with probability ∝ exp(s) (Kool, van Hoof & Welling, ICML 2019)
            u = torch.rand(sc.shape, generator=self._gen, device=sc.device).clamp_(min=1e-12)
            keep = (sc - torch.log(-torch.log(u))).topk(self.cache_size, dim=1).indices
            self.caches_[side][rows] = cand.gather(1, keep)
