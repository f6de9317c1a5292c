"""Knowledge-graph embedding models on PyTorch: TransE, DistMult, ComplEx and RotatE.

Each model scores a triple, higher meaning more plausible:

* TransE (Bordes et al., NIPS 2013): ``s = γ - ||h + r - t||_p``;
* DistMult (Yang et al., ICLR 2015): ``s = Σ_k h_k r_k t_k``;
* ComplEx (Trouillon et al., ICML 2016): ``s = Re(Σ_k h_k r_k conj(t_k))``, h, r, t ∈ C^d;
* RotatE (Sun, Deng, Nie & Tang, ICLR 2019): ``s = γ - Σ_k |h_k e^{iθ_k} - t_k|``, h, t ∈ C^d,
  a relation being a rotation by phases ``θ``.

Complex vectors are stored as ``[real | imaginary]`` rows of ``2d`` floats.  Initialisation
follows the RotatE code: uniform on ``±(γ + 2)/d`` (``γ = 0`` gives ``±2/d``), RotatE's
phases uniform on ``±π``.

:meth:`KGModel.score` takes index tensors of any shapes that broadcast, so the ``(B, k)``
negatives of ``B`` positives score in one call; :meth:`KGModel.score_all` scores every entity
as the head or the tail of a batch of queries, in chunks that bound memory.  Everything is a
torch op on the model's device (CPU or GPU): no host copy per step.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["KGModel", "TransE", "DistMult", "ComplEx", "RotatE", "MODELS", "make_model"]

#: Floats an intermediate ``(queries, entities, dim)`` block of :meth:`score_all` may hold.
CHUNK_FLOATS = 1 << 25


class KGModel(nn.Module):
    """Entity table ``entity`` (E, entity_dim) and relation table ``relation`` (R, relation_dim)."""

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

    # -- to override: scores of gathered rows, broadcasting over leading dims
    def _score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, h: torch.Tensor, r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Scores of triples given as index tensors whose shapes broadcast together."""
        return self._score(self.entity[h], self.relation[r], self.entity[t])

    def score_all(self, anchor: torch.Tensor, r: torch.Tensor, side: str) -> torch.Tensor:
        """``(B, E)``: every entity as the ``side`` ("tail" or "head") of ``(anchor, r)``.

        For ``side="tail"``, ``anchor`` holds heads; for ``side="head"``, tails.
        """
        if side not in ("head", "tail"):
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        a = self.entity[anchor][:, None, :]
        rel = self.relation[r][:, None, :]
        ents = self.entity[None, :, :]
        step = max(1, CHUNK_FLOATS // (self.n_entities * self.entity.shape[1]))
        out = []
        for i in range(0, a.shape[0], step):
            ai, ri = a[i : i + step], rel[i : i + step]
            out.append(self._score(ai, ri, ents) if side == "tail" else self._score(ents, ri, ai))
        return torch.cat(out, dim=0)

    @staticmethod
    def _halves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.chunk(x, 2, dim=-1)


class TransE(KGModel):
    """``s = γ - ||h + r - t||_p`` (Bordes et al. 2013), ``p`` 1 or 2."""

    def __init__(self, n_entities, n_relations, dim, gamma=0.0, p: int = 1) -> None:
        super().__init__(n_entities, n_relations, dim, gamma)
        if p not in (1, 2):
            raise ValueError(f"TransE's norm p must be 1 or 2, got {p}")
        self.p = p

    def _score(self, h, r, t):
        return self.gamma - torch.linalg.vector_norm(h + r - t, ord=self.p, dim=-1)


class DistMult(KGModel):
    """``s = Σ_k h_k r_k t_k`` (Yang et al. 2015)."""

    def _score(self, h, r, t):
        return (h * r * t).sum(dim=-1)

    def score_all(self, anchor, r, side):
        if side not in ("head", "tail"):
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        return (self.entity[anchor] * self.relation[r]) @ self.entity.T


class ComplEx(KGModel):
    """``s = Re(Σ_k h_k r_k conj(t_k))`` (Trouillon et al. 2016)."""

    complex_entities = True
    complex_relations = True

    def _score(self, h, r, t):
        hr, hi = self._halves(h)
        rr, ri = self._halves(r)
        tr, ti = self._halves(t)
        return (hr * rr * tr + hi * rr * ti + hr * ri * ti - hi * ri * tr).sum(dim=-1)

    def score_all(self, anchor, r, side):
        a_r, a_i = self._halves(self.entity[anchor])
        rr, ri = self._halves(self.relation[r])
        if side == "tail":  # Re(q conj t) = q_re t_re + q_im t_im, q = h r
            q = torch.cat([a_r * rr - a_i * ri, a_r * ri + a_i * rr], dim=-1)
        elif side == "head":  # Re(h w), w = r conj t: h_re w_re - h_im w_im
            q = torch.cat([rr * a_r + ri * a_i, -(ri * a_r - rr * a_i)], dim=-1)
        else:
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        return q @ self.entity.T


class RotatE(KGModel):
    """``s = γ - Σ_k |h_k e^{iθ_k} - t_k|`` (Sun et al., ICLR 2019); ``θ`` in ``relation``."""

    complex_entities = True

    def __init__(self, n_entities, n_relations, dim, gamma=6.0) -> None:
        super().__init__(n_entities, n_relations, dim, gamma)
        with torch.no_grad():
            self.relation.uniform_(-math.pi, math.pi)

    def _score(self, h, r, t):
        hr, hi = self._halves(h)
        tr, ti = self._halves(t)
        c, s = torch.cos(r), torch.sin(r)
        dr = hr * c - hi * s - tr
        di = hr * s + hi * c - ti
        return self.gamma - torch.sqrt(dr * dr + di * di + 1e-12).sum(dim=-1)


MODELS = {"transe": TransE, "distmult": DistMult, "complex": ComplEx, "rotate": RotatE}


def make_model(name: str, n_entities: int, n_relations: int, dim: int, **kw) -> KGModel:
    """A model by name (``transe``, ``distmult``, ``complex``, ``rotate``)."""
    cls = MODELS.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown KG model {name!r}; known: {', '.join(MODELS)}")
    return cls(n_entities, n_relations, dim, **kw)
