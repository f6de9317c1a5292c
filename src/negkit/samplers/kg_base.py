"""The contract of knowledge-graph negative samplers: corrupt the head or the tail.

A KG sampler is configured by its constructor, fitted on the training triples by keyword,
and draws on the device of the batch (pure torch: CPU or GPU, no host copy per step)::

    s = negkit.samplers.get_kg("bernoulli", filter="exact", seed=0)
    s.fit(triples=train, n_entities=E, n_relations=R)        # (n, 3) int array or tensor
    neg_h, neg_t = s.sample(batch, k)                        # batch (B, 3) -> two (B, k)

Negative ``j`` of row ``b`` is ``(neg_h[b, j], r_b, neg_t[b, j])``: the head or the tail of
the positive replaced.  The side is chosen per negative with probability
:meth:`KGSampler.head_probability` of corrupting the head; the entity by :meth:`_draw`.

Filtering (``filter="exact"`` or ``"bloom"``): a negative that is a known triple (``fit(known=
...)``, default the training triples) is drawn again, side and entity, until none is left:
the law of a filtered negative is the unfiltered law conditioned on not being known.  After
``max_rounds`` rounds, the rows still hitting known triples are redrawn with the entity
uniform over all entities, whose complement of known triples is never empty for a relation
seen in train; after ``2 max_rounds`` rounds a ``RuntimeError`` says so.  Nothing known is
ever returned.  :func:`false_negative_rate` measures what filtering leaves (e.g. valid and
test triples, which training must not read).

Score-aware samplers (NSCaching, dns, adaptive) take ``fit(model=...)`` and score with the
live model.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from negkit.samplers.kg_filter import _as_tensor, make_triple_set
from negkit.samplers.registry import SamplerParamError

__all__ = [
    "KGSampler",
    "bernoulli_probs",
    "register_kg",
    "get_kg",
    "available_kg",
    "false_negative_rate",
]

_KG: dict[str, type] = {}
#: Modules whose samplers register themselves, imported on the first look-up.
_BUILTIN = ("kg_corrupt", "kg_nscaching", "kg_scored")


def _load_builtin() -> None:
    import importlib

    for mod in _BUILTIN:
        try:
            importlib.import_module(f"negkit.samplers.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"negkit.samplers.{mod}":
                raise


def register_kg(name: str, aliases: tuple[str, ...] = ()):
    """Class decorator: a KG sampler under ``name`` (and ``aliases``) for :func:`get_kg`."""

    def deco(cls):
        cls.name = name
        for key in (name, *aliases):
            if key in _KG and _KG[key] is not cls:
                raise ValueError(f"KG sampler name {key!r} is taken by {_KG[key].__name__}")
            _KG[key] = cls
        return cls

    return deco


def get_kg(name: Any, **params: Any) -> KGSampler:
    """A new KG sampler by name, configured by ``params``; a KGSampler passes through."""
    if isinstance(name, KGSampler):
        for k, v in params.items():
            setattr(name, k, v)
        return name
    _load_builtin()
    cls = _KG.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown KG sampler {name!r}; available: {', '.join(available_kg())}")
    try:
        return cls(**params)
    except TypeError as e:
        raise SamplerParamError(f"KG sampler {name!r}: {e}") from None


def available_kg() -> list[str]:
    _load_builtin()
    return sorted({c.name for c in _KG.values()})


def check_count(name: str, value: Any, least: int) -> int:
    """``value`` as an int ``>= least``; a float, a bool or text is refused, not truncated."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def bernoulli_probs(triples: torch.Tensor, n_relations: int) -> torch.Tensor:
    """``tph_r / (tph_r + hpt_r)`` per relation (Wang et al. 2014); ½ for absent relations."""
    r = triples[:, 1]
    n = torch.bincount(r, minlength=n_relations).double()

    def distinct(col: int) -> torch.Tensor:
        pairs = torch.unique(triples[:, [1, col]], dim=0)
        return torch.bincount(pairs[:, 0], minlength=n_relations).double()

    heads, tails = distinct(0), distinct(2)
    tph = n / heads.clamp(min=1)
    hpt = n / tails.clamp(min=1)
    p = tph / (tph + hpt)
    return torch.where(n > 0, p, torch.full_like(p, 0.5)).float()


class KGSampler:
    """Base class: side choice, filtering, seeding.  Subclasses implement :meth:`_draw`.

    filter : ``"exact"``, ``"bloom"`` or ``None`` (no filtering).
    bits_per_key : the Bloom filter's size.
    seed : seed of the sampler's torch generator (on the batch's device).
    """

    name: ClassVar[str] = ""
    score_aware: ClassVar[bool] = False
    #: Choose the side by tph/hpt (:func:`bernoulli_probs`) instead of ½; the samplers that
    #: offer the choice take ``bernoulli=`` in their constructor.
    bernoulli: bool = False

    def __init__(
        self,
        *,
        filter: str | None = "exact",
        bits_per_key: float = 10.0,
        max_rounds: int = 50,
        seed: int | None = None,
    ) -> None:
        if filter not in ("exact", "bloom", None):
            raise ValueError(f"filter must be 'exact', 'bloom' or None, got {filter!r}")
        self.filter = filter
        self.bits_per_key = bits_per_key
        self.max_rounds = check_count("max_rounds", max_rounds, 1)
        self.seed = seed

    def __repr__(self) -> str:
        keys = [k for k in vars(self) if not k.endswith("_") and not k.startswith("_")]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        *,
        triples: Any,
        n_entities: int,
        n_relations: int,
        known: Any = None,
        model: Any = None,
        device: Any = None,
    ) -> KGSampler:
        """Fit on the training ``triples`` ``(n, 3)``; ``known`` are filtered (default: triples).

        device : where draws happen (default: the triples' device, or the model's).
        """
        if device is None:
            device = (
                triples.device
                if isinstance(triples, torch.Tensor)
                else next(model.parameters()).device
                if model is not None
                else "cpu"
            )
        self.device_ = torch.device(device)
        tr = _as_tensor(triples, self.device_)
        if tr.numel() == 0:
            raise ValueError("no training triples")
        E, R = int(n_entities), int(n_relations)
        if int(tr.min()) < 0 or int(tr[:, [0, 2]].max()) >= E or int(tr[:, 1].max()) >= R:
            raise ValueError(f"triples hold ids out of range (n_entities={E}, n_relations={R})")
        self.n_entities_, self.n_relations_ = E, R
        if self.score_aware and model is None:
            raise ValueError(f"{type(self).__name__} scores negatives: fit(model=...) is required")
        self.model_ = model
        self.known_ = None
        if self.filter is not None:
            kn = tr if known is None else _as_tensor(known, self.device_)
            kw = {"bits_per_key": self.bits_per_key} if self.filter == "bloom" else {}
            self.known_ = make_triple_set(self.filter, kn, E, R, self.device_, **kw)
        self._gen = torch.Generator(device=self.device_)
        # the global torch generator is left alone: a seedless sampler takes fresh entropy
        self._gen.manual_seed(int(np.random.SeedSequence(self.seed).generate_state(1)[0]))
        self.p_head_ = (
            bernoulli_probs(tr, R) if self.bernoulli else torch.full((R,), 0.5, device=self.device_)
        )
        self._fit(tr)
        return self

    def _fit(self, triples: torch.Tensor) -> None:
        """Build the sampler's state from the training triples (on ``device_``)."""

    def weights(self, neg_scores: torch.Tensor) -> torch.Tensor | None:
        """Weights ``(B, k)`` of the negatives in the loss (rows sum to 1); None: ``1/k`` each."""
        return None

    def update(self, batch: torch.Tensor) -> None:
        """Called by trainers after each optimiser step on ``batch`` (caches refresh here)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_entities_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")

    # --------------------------------------------------------------- drawing
    def head_probability(self, r: torch.Tensor) -> torch.Tensor:
        """P(corrupt the head) for relations ``r``: ½ (Bordes et al. 2013), or tph/hpt."""
        return self.p_head_.to(r.device)[r]

    def _draw(self, batch: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        """Entities ``(B, k)`` to put on the corrupted side (``head`` True: the head)."""
        raise NotImplementedError

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self._gen, device=self.device_)

    def _uniform_entities(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randint(0, self.n_entities_, shape, generator=self._gen, device=self.device_)

    def _draw_all(self, batch: torch.Tensor, k: int, uniform: bool) -> tuple:
        head = self._rand(batch.shape[0], k) < self.head_probability(batch[:, 1])[:, None]
        ent = self._uniform_entities(head.shape) if uniform else self._draw(batch, head)
        h = torch.where(head, ent, batch[:, :1])
        t = torch.where(head, batch[:, 2:], ent)
        return h, t

    def sample(self, batch: Any, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(neg_h, neg_t)``, each ``(B, k)`` int64 on the sampler's device."""
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        batch = _as_tensor(batch, self.device_)
        h, t = self._draw_all(batch, int(k), uniform=False)
        if self.known_ is None:
            return h, t
        r = batch[:, 1:2]
        for rnd in range(2 * self.max_rounds):
            bad = self.known_.contains(h, r, t)
            if not bool(bad.any()):
                return h, t
            h2, t2 = self._draw_all(batch, int(k), uniform=rnd >= self.max_rounds)
            h = torch.where(bad, h2, h)
            t = torch.where(bad, t2, t)
        if not bool(self.known_.contains(h, r, t).any()):
            return h, t
        raise RuntimeError(
            f"{type(self).__name__}: known triples still drawn after {2 * self.max_rounds} "
            "rounds of filtering; some query has (almost) every entity as a true answer"
        )


def false_negative_rate(neg_h, r, neg_t, true_set) -> float:
    """Share of the negatives ``(neg_h, r, neg_t)`` that ``true_set`` holds (a triple set of
    :mod:`negkit.samplers.kg_filter`, e.g. of train + valid + test)."""
    r = r.reshape(-1, 1) if r.ndim == 1 else r
    return float(true_set.contains(neg_h, r, neg_t).float().mean())
