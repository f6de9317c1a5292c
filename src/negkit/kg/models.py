"""Knowledge-graph embedding models on PyTorch: TransE, DistMult, ComplEx and RotatE.

Each model scores a triple, higher meaning more plausible:

* TransE (Bordes et al., NIPS 2013): ``s = γ - ||h + r - t||_p``;
* DistMult (Yang et al., ICLR 2015): ``s = Σ_k h_k r_k t_k``;
* ComplEx (Trouillon et al., ICML 2016): ``s = Re(Σ_k h_k r_k conj(t_k))``, h, r, t ∈ C^d;
* RotatE (Sun, Deng, Nie & Tang, ICLR 2019): ``s = γ - Σ_k |h_k e^{iθ_k} - t_k|``, h, t ∈ C^d,
  a relation being a rotation by phases ``θ``.

Complex vectors are stored as ``[real | imaginary]`` rows of ``2d`` floats.  Initialisation
follows the RotatE code: uniform on ``±(γ + 2)/d`` (``γ = 0`` gives ``±2/d``), RotatE's
phases uniform on ``±π``.  DistMult and ComplEx have no margin in their score: for them ``γ``
sets the initialisation range only, as in that code.

No constraint is applied to the parameters: TransE's entity rows are not renormalised to unit
L2 norm after each step, as Bordes et al. (2013) and PyKEEN's ``TransE`` do, but trained as in
the RotatE code (``γ`` inside the score, logistic loss).  With the margin ranking loss and no
constraint, TransE can lower the loss by growing its norms; ``reg`` (L2 on the batch's entity
rows) is what negkit offers against it.

:meth:`KGModel.score` takes index tensors of any shapes that broadcast, so the ``(B, k)``
negatives of ``B`` positives score in one call; :meth:`KGModel.score_all` scores every entity
as the head or the tail of a batch of queries, in chunks that bound memory.  Everything is a
torch op on the model's device (CPU or GPU): no host copy per step.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["KGModel", "TransE", "DistMult", "ComplEx", "RotatE", "MODELS", "make_model"]

#: Floats an intermediate ``(queries, entities, dim)`` block of :meth:`score_all` may hold.
CHUNK_FLOATS = 1 << 23


class KGModel(nn.Module):
    """Entity table ``entity`` (E, entity_dim) and relation table ``relation`` (R, relation_dim).

    Every model scores as ``match(query(anchor, r, side), candidate)``: the known entity and
    the relation make a query vector, matched against the entity that fills ``side``.  So
    the k corruptions of a triple share one query, and ranking every entity is one pass.
    """

    complex_entities = False
    complex_relations = False

    def __init__(self, n_entities: int, n_relations: int, dim: int, gamma: float = 0.0) -> None:
        super().__init__()
        if dim < 1 or n_entities < 1 or n_relations < 1:
            raise ValueError(
                f"need dim, n_entities, n_relations >= 1, got {dim}, {n_entities}, {n_relations}"
            )
        self.n_entities, self.n_relations, self.dim = int(n_entities), int(n_relations), int(dim)
        self.gamma = float(gamma)
        bound = (self.gamma + 2.0) / self.dim
        e_dim = 2 * dim if self.complex_entities else dim
        r_dim = 2 * dim if self.complex_relations else dim
        self.entity = nn.Parameter(torch.empty(n_entities, e_dim).uniform_(-bound, bound))
        self.relation = nn.Parameter(torch.empty(n_relations, r_dim).uniform_(-bound, bound))

    # -- to override, on gathered rows broadcasting over leading dims
    def query(self, a: torch.Tensor, r: torch.Tensor, side: str) -> torch.Tensor:
        """Query vector of anchor rows ``a`` (the head when ``side == "tail"``, else the tail)."""
        raise NotImplementedError

    def match(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Scores of candidate rows ``c`` for queries ``q``."""
        raise NotImplementedError

    def _all(self, q: torch.Tensor) -> torch.Tensor:
        """``(B, E)`` scores of every entity for queries ``q`` ``(B, dim)``."""
        fast = self._compiled_all(q)
        if fast is not None:
            return fast
        step = max(1, CHUNK_FLOATS // (self.n_entities * self.entity.shape[1]))
        ents = self.entity[None, :, :]
        return torch.cat(
            [self.match(q[i : i + step, None, :], ents) for i in range(0, q.shape[0], step)]
        )

    def _compiled_all(self, q: torch.Tensor) -> torch.Tensor | None:
        """The compiled CPU form of :meth:`_all` (:mod:`negkit.kg._distance`), where one exists
        and no gradient is needed; else None."""
        kern = getattr(self, "_kernel", None)
        if kern is None or q.device.type != "cpu" or (torch.is_grad_enabled() and q.requires_grad):
            return None
        qn = q.detach().float().contiguous().numpy()
        ent = self.entity.detach().float().contiguous().numpy()
        out = np.empty((qn.shape[0], ent.shape[0]), dtype=np.float32)
        kern(qn, ent, out)
        return torch.from_numpy(out)

    # -- public
    def score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Scores of triples given as index tensors whose shapes broadcast together."""
        q = self.query(self.entity[h], self.relation[r], "tail")
        return self.match(q, self.entity[t])

    def score_corrupted(self, batch: torch.Tensor, ent: torch.Tensor, head: torch.Tensor):
        """``(B, k)`` scores of ``batch``'s triples with the head (where ``head``) or the tail
        replaced by ``ent`` ``(B, k)``."""
        r = self.relation[batch[:, 1]]
        both = torch.stack([self.query(self.entity[batch[:, 0]], r, "tail"),
                            self.query(self.entity[batch[:, 2]], r, "head")], dim=1)  # fmt: skip
        # each negative's query picked by index: its backward is one scatter into (B, 2, d),
        # about 25% cheaper than torch.where's two masked (B, k, d) gradients
        rows = torch.arange(batch.shape[0], device=batch.device)[:, None]
        return self.match(both[rows, head.long()], self.entity[ent])

    def score_all(self, anchor: torch.Tensor, r: torch.Tensor, side: str) -> torch.Tensor:
        """``(B, E)``: every entity as the ``side`` ("tail" or "head") of ``(anchor, r)``.

        For ``side="tail"``, ``anchor`` holds heads; for ``side="head"``, tails.
        """
        if side not in ("head", "tail"):
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        return self._all(self.query(self.entity[anchor], self.relation[r], side))

    @staticmethod
    def _halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.chunk(x, 2, dim=-1)


class TransE(KGModel):
    """``s = γ - ||h + r - t||_p`` (Bordes et al. 2013), ``p`` 1 or 2.

    Query ``h + r`` for a tail, ``t - r`` for a head; ``s = γ - ||q - c||_p``."""

    def __init__(self, n_entities, n_relations, dim, gamma=0.0, p: int = 1) -> None:
        super().__init__(n_entities, n_relations, dim, gamma)
        if p not in (1, 2):
            raise ValueError(f"TransE's norm p must be 1 or 2, got {p}")
        self.p = p

    def query(self, a, r, side):
        return a + r if side == "tail" else a - r

    def match(self, q, c):
        return self.gamma - torch.linalg.vector_norm(q - c, ord=self.p, dim=-1)

    def _kernel(self, q, ent, out):
        from negkit.kg._distance import lp_all

        lp_all(q, ent, self.p, np.float32(self.gamma), out)


class DistMult(KGModel):
    """``s = Σ_k h_k r_k t_k`` (Yang et al. 2015): query ``h ∘ r`` (or ``r ∘ t``), dot product."""

    def query(self, a, r, side):
        return a * r

    def match(self, q, c):
        return (q * c).sum(dim=-1)

    def _all(self, q):
        return q @ self.entity.T


class ComplEx(DistMult):
    """``s = Re(Σ_k h_k r_k conj(t_k))`` (Trouillon et al. 2016).

    As a real dot product with ``c = [Re c | Im c]``: the tail query is ``[Re q | Im q]``
    with ``q = h r``; the head query ``[Re w | -Im w]`` with ``w = r conj(t)``."""

    complex_entities = True
    complex_relations = True

    def query(self, a, r, side):
        ar, ai = self._halves(a)
        rr, ri = self._halves(r)
        if side == "tail":
            return torch.cat([ar * rr - ai * ri, ar * ri + ai * rr], dim=-1)
        return torch.cat([rr * ar + ri * ai, rr * ai - ri * ar], dim=-1)


class RotatE(KGModel):
    """``s = γ - Σ_k |h_k e^{iθ_k} - t_k|`` (Sun et al., ICLR 2019); ``θ`` in ``relation``.

    Query ``h ∘ e^{iθ}`` for a tail, ``t ∘ e^{-iθ}`` for a head (rotations keep moduli, so
    ``|h e^{iθ} - t| = |h - t e^{-iθ}|``); ``s = γ - Σ_k |q_k - c_k|``."""

    complex_entities = True

    def __init__(self, n_entities, n_relations, dim, gamma=6.0) -> None:
        super().__init__(n_entities, n_relations, dim, gamma)
        with torch.no_grad():
            self.relation.uniform_(-math.pi, math.pi)

    def query(self, a, r, side):
        ar, ai = self._halves(a)
        c, s = torch.cos(r), torch.sin(r)
        if side == "head":
            s = -s
        return torch.cat([ar * c - ai * s, ar * s + ai * c], dim=-1)

    def match(self, q, c):
        return self.gamma - _RotatEDistance.apply(q, c)

    def _kernel(self, q, ent, out):
        from negkit.kg._distance import rotate_all

        rotate_all(q, ent, np.float32(self.gamma), out)


class _RotatEDistance(torch.autograd.Function):
    """``Σ_k |q_k - c_k|`` over complex halves, with a hand-written backward that keeps only
    ``q - c`` and the moduli: ``∂/∂q = (q - c) / |q - c|`` per component (``-`` for ``c``).
    Fewer intermediates than autograd's chain: forward and backward of B=512, k=32, d=100
    took 167 ms against 214 ms on one thread of the (loaded) development machine."""

    @staticmethod
    def forward(ctx, q, c):
        diff = q - c
        dr, di = torch.chunk(diff, 2, dim=-1)
        mod = torch.sqrt(dr * dr + di * di + 1e-12)
        ctx.save_for_backward(diff, mod)
        ctx.shapes = (q.shape, c.shape)
        return mod.sum(dim=-1)

    @staticmethod
    def backward(ctx, grad):
        diff, mod = ctx.saved_tensors
        scale = grad[..., None] / mod
        g = diff * torch.cat([scale, scale], dim=-1)
        gq = g.sum_to_size(ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        gc = (-g).sum_to_size(ctx.shapes[1]) if ctx.needs_input_grad[1] else None
        return gq, gc


MODELS = {"transe": TransE, "distmult": DistMult, "complex": ComplEx, "rotate": RotatE}


def make_model(name: str, n_entities: int, n_relations: int, dim: int, **kw) -> KGModel:
    """A model by name (``transe``, ``distmult``, ``complex``, ``rotate``)."""
    cls = MODELS.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown KG model {name!r}; known: {', '.join(MODELS)}")
    return cls(n_entities, n_relations, dim, **kw)
