"""Score-aware per-draw samplers (``dns``, ``adaptive``, ``rank``, ...) as KG samplers.

The per-draw contract (:mod:`negkit.samplers.base`) scores an item by ``vec . output[i]``.
A KG model scores a corruption as ``match(query, entity)`` (:class:`negkit.kg.models.KGModel`),
so the query vector is the anchor vector and the entity table the output table, held by
reference (a CPU tensor's ``.numpy()`` shares its memory: the sampler scores with the live
model).  For DistMult and ComplEx the dot product *is* the score; for TransE and RotatE
(``γ - ||q - c||``) it is the part of the score that depends on the pair, ``q . c`` (with
``||q - c||² = ||q||² - 2 q.c + ||c||²``, exact for TransE-L2 up to the entity's norm).

* ``dns``: the best-scored of M uniform entities (Zhang et al., SIGIR 2013);
* ``adaptive``: the self-embedded sampler (Chen et al., WSDM 2018): a dimension f chosen by
  ``|q_f| σ_f``, then a geometric rank in the entities sorted along f.

Each side is drawn with its own query (``h∘r`` for a tail, the head query for a head); a
negative's side is chosen first, as for every KG sampler.  The numba kernels run on the CPU:
these samplers need a CPU model.  Cost: that of the wrapped sampler per draw, twice (both
sides are drawn, one kept), plus the query vectors, O(B d).
"""

from __future__ import annotations

import numpy as np
import torch

from negkit.samplers._kernels import check_flag
from negkit.samplers.kg_base import KGSampler, register_kg

__all__ = ["KGScoredSampler", "KGDNSSampler", "KGAdaptiveSampler"]


class KGScoredSampler(KGSampler):
    """A per-draw sampler ``base`` (by name, settings in ``params``) on the model's queries."""

    score_aware = True
    base = ""

    def __init__(self, *, bernoulli: bool = False, params: dict | None = None, **kw) -> None:
        sampler_keys = {"filter", "bits_per_key", "max_rounds", "seed"}
        own = {k: v for k, v in kw.items() if k in sampler_keys}
        super().__init__(**own)
        self.bernoulli = check_flag("bernoulli", bernoulli)
        self.params = {**(params or {}), **{k: v for k, v in kw.items() if k not in own}}

    def _fit(self, triples):
        import negkit.samplers as ns

        model = self.model_
        if self.device_.type != "cpu" or model.entity.device.type != "cpu":
            raise ValueError(f"the {self.name} KG sampler runs numba kernels: it needs a CPU model")
        table = model.entity.detach().numpy()  # shares memory with the live parameter
        self.inner_ = ns.get(self.base, seed=self.seed, **self.params)
        self.inner_.fit(output=table)

    @torch.no_grad()
    def _draw(self, batch, head):
        m, k = self.model_, head.shape[1]
        rel = m.relation[batch[:, 1]]
        out = []
        for side, col in (("tail", 0), ("head", 2)):
            q = m.query(m.entity[batch[:, col]], rel, side).float().contiguous().numpy()
            pos = batch[:, 2 - col].numpy()
            out.append(torch.from_numpy(np.asarray(
                self.inner_.sample(batch[:, col].numpy(), k, anchor_vectors=q, pos=pos),
                dtype=np.int64)))  # fmt: skip
        return torch.where(head, out[1], out[0])

    def update(self, batch):
        ctx = getattr(self.inner_, "_ctx", None)
        if ctx is not None:
            self.inner_.maybe_refresh(ctx[None, :])


@register_kg("dns", aliases=("kg_dns",))
class KGDNSSampler(KGScoredSampler):
    """Best of ``n_candidates`` uniform entities by ``q . e`` (Zhang et al. 2013)."""

    base = "dns"


@register_kg("adaptive", aliases=("kg_adaptive",))
class KGAdaptiveSampler(KGScoredSampler):
    """Self-embedded adaptive sampling on the query vectors (Chen et al. 2018)."""

    base = "adaptive"
