"""Torch helpers shared by the samplers' device paths (``Sampler._sample_torch``).

A device path draws with torch ops on the anchors' device (CPU or CUDA): no copy to the
host, no Python loop over anchors, and nothing that synchronises (no ``.item()``, no shape
that depends on values), so a training step on the GPU never waits for the host.

* :class:`DevicePositives` -- the known positives as sorted keys ``anchor * |I| + item``:
  membership is one ``torch.searchsorted`` (O(log nnz)), and the exact uniform draw over an
  anchor's non-positives needs one more.  With the anchor's sorted row ``p_0 < p_1 < ...``
  and ``b_t = p_t - t`` (non-decreasing), the ``j``-th non-positive item is
  ``x = j + #{t : b_t <= j}``.
* :func:`exclude` -- the host's rejection (``negkit.samplers.base.excluding``) as one
  batched draw: ``T`` tries per slot at once, the first try that is no positive is kept,
  and a slot whose ``T`` tries all hit positives takes the exact uniform complement draw.
* :func:`alias_draw` -- Walker's alias method (Walker 1977): column ``i ~ U{0..n-1}``, coin
  ``u ~ U[0, 1)``, return ``i`` if ``u < prob[i]`` else ``alias[i]``.
* :func:`candidate_scores` -- ``s(c) = vec . output[c]`` of candidate ids, ``-inf`` for the
  pair's positive (the rule of :mod:`negkit.samplers._candidates`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch


def is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def generator(seed: int | None, device: torch.device) -> torch.Generator:
    """A torch generator on ``device``, seeded from the sampler's seed (random when None)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0] >> 1))
    return g


def randint(n: int, shape: tuple, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randint(int(n), shape, generator=gen, device=device, dtype=torch.int64)


def rand(shape: tuple, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform float64 in ``[0, 1)``."""
    return torch.rand(shape, generator=gen, device=device, dtype=torch.float64)


def alias_draw(
    prob: torch.Tensor, alias: torch.Tensor, shape: tuple, gen: torch.Generator
) -> torch.Tensor:
    """Walker's alias draw of ``shape`` items from the table ``(prob, alias)``."""
    i = randint(prob.shape[0], shape, gen, prob.device)
    u = rand(shape, gen, prob.device)
    return torch.where(u < prob[i], i, alias[i])


def candidate_scores(
    output: torch.Tensor, cand: torch.Tensor, vecs: torch.Tensor, pos: torch.Tensor
) -> torch.Tensor:
    """``vecs[r] . output[cand[r, ...]]`` in float32, ``-inf`` where the candidate is ``pos[r]``.

    cand : ``(n, ...)`` item ids; vecs : ``(n, d)``; pos : ``(n,)`` (``-1``: no positive).
    """
    n = cand.shape[0]
    flat = cand.reshape(n, -1)
    s = torch.bmm(output[flat], vecs[:, :, None]).squeeze(-1)  # (n, C)
    s = s.masked_fill(flat == pos[:, None], float("-inf"))
    return s.reshape(cand.shape)


class DevicePositives:
    """An anchor x item CSR matrix of positives on a device, as sorted int64 keys."""

    def __init__(self, positives: sp.csr_matrix, n_items: int, device: torch.device) -> None:
        p = sp.csr_matrix(positives)
        indptr = p.indptr.astype(np.int64)
        indices = p.indices.astype(np.int64)
        rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(indptr))
        n = np.int64(n_items)
        b = indices - (np.arange(indices.size, dtype=np.int64) - indptr[rows])
        self.n_items = int(n_items)
        self.n_rows = int(p.shape[0])
        self.keys = torch.from_numpy(rows * n + indices).to(device)
        self.b_keys = torch.from_numpy(rows * (n + 1) + b).to(device)
        self.indptr = torch.from_numpy(indptr).to(device)
        self.degree = torch.from_numpy(np.diff(indptr)).to(device)
        self.indices = torch.from_numpy(indices).to(device)
        self.max_degree = int(np.diff(indptr).max(initial=0))
        self._column_of: torch.Tensor | None = None  # item -> a batch column (pair_hits)

    def _rows(self, anchors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Anchors clamped into the matrix, and whether they were inside it."""
        inside = anchors < self.n_rows
        return torch.where(inside, anchors, torch.zeros_like(anchors)), inside

    def contains(self, anchors: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``items[r, ...]`` is a positive of ``anchors[r]`` (bool, the shape of ``items``)."""
        rows, inside = self._rows(anchors)
        shape = (-1,) + (1,) * (items.ndim - 1)
        key = rows.reshape(shape) * self.n_items + items
        if self.keys.numel() == 0:
            return torch.zeros_like(items, dtype=torch.bool)
        at = torch.searchsorted(self.keys, key.reshape(-1)).clamp_(max=self.keys.numel() - 1)
        hit = (self.keys[at] == key.reshape(-1)).reshape(items.shape)
        return hit & inside.reshape(shape)

    def pair_hits(self, anchors: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``(n, C)`` bool: ``items[c]`` is a positive of ``anchors[r]``, for shared columns.

        ``contains`` on the ``(n, C)`` grid costs ``n C`` binary searches; here each anchor's
        row (padded to the largest degree) is scattered once into the grid instead, through an
        item -> column map: ``O(n max_degree + n C)`` memory traffic and no search.  Columns
        that repeat an item take the hits of its mapped column.  Falls back to ``contains``
        when ``n max_degree`` exceeds ``4 n C``.
        """
        n, c = anchors.shape[0], items.shape[0]
        width = self.max_degree
        if self.keys.numel() == 0 or width > 4 * max(c, 1):
            return self.contains(anchors, items.expand(n, -1))
        dev = items.device
        if self._column_of is None:
            self._column_of = torch.empty(self.n_items + 1, dtype=torch.int64, device=dev)
        column_of = self._column_of
        column_of.fill_(c)  # c: "not in the batch" (the spare column below)
        column_of[items] = torch.arange(c, device=dev)  # a repeated item keeps one column
        rows, inside = self._rows(anchors)
        deg = torch.where(inside, self.degree[rows], torch.zeros_like(rows))
        k = torch.arange(width, device=dev)
        at = (self.indptr[rows][:, None] + k[None, :]).clamp_(max=self.indices.numel() - 1)
        item = torch.where(k[None, :] < deg[:, None], self.indices[at], self.n_items)
        grid = torch.zeros((n, c + 1), dtype=torch.bool, device=dev)
        grid.scatter_(1, column_of[item], True)
        return grid[:, column_of[items]]

    def complement(self, anchors: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
        """``(n, k)`` uniform draws over each anchor's non-positives (all items outside)."""
        rows, inside = self._rows(anchors)
        deg = torch.where(inside, self.degree[rows], torch.zeros_like(rows))
        free = (self.n_items - deg).to(torch.float64)
        u = rand((anchors.shape[0], k), gen, anchors.device)
        j = (u * free[:, None]).to(torch.int64)
        j = torch.minimum(j, (self.n_items - deg - 1)[:, None])
        key = rows[:, None] * (self.n_items + 1) + j
        below = torch.searchsorted(self.b_keys, key.reshape(-1), right=True).reshape(key.shape)
        count = torch.where(inside[:, None], below - self.indptr[rows][:, None], 0)
        return j + count


def exclude(
    draw: Callable[[int], torch.Tensor],
    positives: DevicePositives,
    anchors: torch.Tensor,
    k: int,
    tries: int,
    gen: torch.Generator,
) -> torch.Tensor:
    """``(n, k)`` draws of ``draw`` with each anchor's positives rejected.

    ``draw(m)`` returns ``(n, m)`` i.i.d. draws per anchor; it is called once for ``k * tries``
    of them.  Slot ``j`` keeps the first of its ``tries`` draws that is no positive, else an
    exact uniform draw over the anchor's non-positives (as the host after its rejections).
    """
    n = anchors.shape[0]
    fallback = positives.complement(anchors, k, gen)
    if tries < 1:
        return fallback
    x = draw(k * tries).reshape(n, k, tries)
    ok = ~positives.contains(anchors, x)
    first = ok.to(torch.uint8).argmax(dim=-1, keepdim=True)  # the first True (0 when none)
    chosen = x.gather(-1, first).squeeze(-1)
    return torch.where(ok.any(dim=-1), chosen, fallback)
