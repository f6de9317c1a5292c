"""Membership of ``(head, relation, tail)`` triples on the device: exact, or by a Bloom filter.

A triple is the 64-bit key ``(h R + r) E + t``.

* :class:`ExactTripleSet`: the sorted unique keys; a query is one ``torch.searchsorted``,
  O(log n), exact.
* :class:`BloomTripleSet`: Bloom (CACM 1970), ``m`` bits and ``k`` hash functions, the
  multiply-shift family of Dietzfelbinger et al. (1997): ``h_i(x) = (a_i x mod 2^64) >> (64 -
  log2 m)`` with odd ``a_i``.  Never misses a member; a non-member is reported as one with
  probability about ``(1 - e^{-k n / m})^k`` (0.8% for 10 bits a key and k = 7), which
  :meth:`BloomTripleSet.false_positive_rate` measures.  PyKEEN filters with one too.

Both are pure torch on the keys' device: no host copy per query.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["ExactTripleSet", "BloomTripleSet", "triple_keys", "make_triple_set"]


def triple_keys(h, r, t, n_entities: int, n_relations: int) -> torch.Tensor:
    """``(h R + r) E + t`` as int64 (exact below 2^63: E^2 R < 9.2e18)."""
    return (h * n_relations + r) * n_entities + t


def _as_tensor(triples, device) -> torch.Tensor:
    if isinstance(triples, torch.Tensor):
        t = triples.to(device=device, dtype=torch.int64)
    else:
        t = torch.as_tensor(np.asarray(triples, dtype=np.int64), device=device)
    if t.ndim != 2 or t.shape[1] != 3:
        raise ValueError(f"triples must have shape (n, 3), got {tuple(t.shape)}")
    return t


class ExactTripleSet:
    """Exact membership by sorted 64-bit keys (``torch.searchsorted``)."""

    kind = "exact"

    def __init__(self, triples, n_entities: int, n_relations: int, device=None) -> None:
        if n_entities**2 * n_relations >= 2**63:
            raise ValueError("too many entities and relations for 64-bit triple keys")
        tr = _as_tensor(triples, device)
        self.n_entities, self.n_relations = int(n_entities), int(n_relations)
        self.keys = torch.unique(triple_keys(tr[:, 0], tr[:, 1], tr[:, 2], *self._en()))
        self.device = self.keys.device

    def _en(self) -> tuple[int, int]:
        return self.n_entities, self.n_relations

    def contains(self, h, r, t) -> torch.Tensor:
        """Boolean tensor: is each (broadcast) triple in the set?"""
        q = triple_keys(h, r, t, *self._en())
        if self.keys.numel() == 0:
            return torch.zeros_like(q, dtype=torch.bool)
        pos = torch.searchsorted(self.keys, q.reshape(-1)).clamp_(max=self.keys.numel() - 1)
        return (self.keys[pos] == q.reshape(-1)).reshape(q.shape)

    def nbytes(self) -> int:
        return self.keys.numel() * 8


class BloomTripleSet(ExactTripleSet):
    """Bloom filter of triples: ``bits_per_key`` bits a triple, ``k = round(bits_per_key ln 2)``."""

    kind = "bloom"

    def __init__(
        self, triples, n_entities: int, n_relations: int, device=None, bits_per_key: float = 10.0
    ) -> None:
        if not bits_per_key > 0:
            raise ValueError(f"bits_per_key must be positive, got {bits_per_key}")
        tr = _as_tensor(triples, device)
        self.n_entities, self.n_relations = int(n_entities), int(n_relations)
        keys = torch.unique(triple_keys(tr[:, 0], tr[:, 1], tr[:, 2], *self._en()))
        n = max(1, keys.numel())
        self.log2m = max(6, math.ceil(math.log2(bits_per_key * n)))
        self.n_hashes = max(1, round(bits_per_key * math.log(2)))
        rng = np.random.default_rng(0x5EED)
        mult = rng.integers(0, 2**63, size=self.n_hashes, dtype=np.int64) | 1
        self.mult = torch.as_tensor(mult, device=keys.device)
        self.bits = torch.zeros(1 << self.log2m, dtype=torch.bool, device=keys.device)
        self.bits[self._slots(keys).reshape(-1)] = True
        self.device = keys.device
        self.n_keys = keys.numel()

    def _slots(self, keys: torch.Tensor) -> torch.Tensor:
        x = keys.reshape(-1, 1) * self.mult  # wraps modulo 2^64
        return (x >> (64 - self.log2m)) & ((1 << self.log2m) - 1)

    def contains(self, h, r, t) -> torch.Tensor:
        q = triple_keys(h, r, t, *self._en())
        return self.bits[self._slots(q)].all(dim=1).reshape(q.shape)

    def expected_false_positive_rate(self) -> float:
        m, k = float(1 << self.log2m), self.n_hashes
        return (1.0 - math.exp(-k * self.n_keys / m)) ** k

    def nbytes(self) -> int:
        return self.bits.numel()  # one byte a bit here (torch.bool); 8x less if packed


def make_triple_set(kind: str, triples, n_entities, n_relations, device=None, **kw):
    """``kind`` "exact" or "bloom" (``bits_per_key=``)."""
    if kind == "exact":
        return ExactTripleSet(triples, n_entities, n_relations, device)
    if kind == "bloom":
        return BloomTripleSet(triples, n_entities, n_relations, device, **kw)
    raise ValueError(f"unknown triple filter {kind!r}; known: exact, bloom")
