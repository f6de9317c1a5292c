"""Markov chain negative sampling (``mcns``).

Yang, Ding, Zou, Zhou, Yang & Tang (KDD 2020), "Understanding Negative Sampling in Graph
Representation Learning": negatives should follow ``p_n(v | u) ∝ p_d(v | u)^α`` with
``0 < α < 1``; MCNS approximates ``p_d`` by the model and samples ``p_n`` by
Metropolis-Hastings, with chains that persist across anchors visited in DFS order.

What is implemented here:

* target ``π(v | u) ∝ exp(α · s(u, v))``, i.e. ``p_d(v | u) ∝ exp(s(u, v))`` (the model's
  softmax, ``s = vec . output[v]``) raised to the power α;
* proposal ``q(x | y) = mix / |I| + (1 - mix) · [x ∈ N] / |N|``: uniform with probability
  ``mix``, else a neighbour.  When the positives form a graph (square ``positives=``,
  anchors and items are the same nodes) ``N`` is the neighbourhood of the chain's current
  node ``y`` (MCNS's "k-hop" proposal with k = 1); otherwise (e.g. users x items) ``N`` is the
  anchor's own positives.  Nodes without neighbours propose uniformly.  ``mix > 0``: without
  uniform proposals a chain at an item outside ``N`` could never move (``q(y | x) = 0``), nor
  leave a connected component of the graph, so ``π`` would not be its law;
* one MH step per draw (``steps`` configurable), accepting ``x`` with probability
  ``min(1, π(x) q(y | x) / (π(y) q(x | y)))`` -- exact, so ``π`` is the stationary law,
  which :meth:`MCNSSampler.distribution` returns;
* a chain per anchor, kept between draws; an anchor's first chain state is its DFS parent's
  (:meth:`MCNSSampler.dfs_order` gives the order in which a trainer should visit anchors
  so that each chain starts warm), else a uniform item.

Cost per draw: O(steps · (d + log deg)).  State: one chain state per anchor, the DFS
parents, the positives (CSR) and the output table by reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import depth_first_order

from negkit._jit import kernel
from negkit._rng import rand_float, rand_int
from negkit.samplers._anchors import n_anchors_of
from negkit.samplers._kernels import check_count, dot
from negkit.samplers.base import Sampler, _row_contains
from negkit.samplers.registry import register


@kernel(_nrt=False)
def _proposal_mass(x, src, indptr, indices, mix, n):
    """``q(x | src's neighbourhood)``."""
    if src < 0 or src + 1 >= indptr.shape[0]:
        return 1.0 / n
    lo = indptr[src]
    hi = indptr[src + 1]
    if hi == lo:
        return 1.0 / n
    q = mix / n
    if _row_contains(indices, lo, hi, x):
        q += (1.0 - mix) / (hi - lo)
    return q


@kernel(_nrt=False)
def _propose(src, indptr, indices, mix, n, ctx):
    if src < 0 or src + 1 >= indptr.shape[0]:
        return rand_int(ctx, n)
    lo = indptr[src]
    hi = indptr[src + 1]
    if hi == lo or rand_float(ctx) < mix:
        return rand_int(ctx, n)
    return indices[lo + rand_int(ctx, hi - lo)]


@kernel(_nrt=False)
def draw_mcns(state, anchor, pos, vec, ctx):
    # state = (output, chains, parent, indptr, indices, alpha, mix, graph, steps)
    n = state[0].shape[0]
    inside = anchor >= 0 and anchor < state[1].shape[0]
    y = -1
    if inside:
        y = state[1][anchor]
        if y < 0:
            p = state[2][anchor]
            if p >= 0:
                y = state[1][p]
    if y < 0:
        y = rand_int(ctx, n)
    s_y = np.float64(dot(state[0], y, vec))
    for _ in range(state[8]):
        src = y if state[7] else anchor
        x = _propose(src, state[3], state[4], state[6], n, ctx)
        back = x if state[7] else anchor
        q_xy = _proposal_mass(x, src, state[3], state[4], state[6], n)
        q_yx = _proposal_mass(y, back, state[3], state[4], state[6], n)
        s_x = np.float64(dot(state[0], x, vec))
        ratio = np.exp(state[5] * (s_x - s_y)) * q_yx / q_xy
        if rand_float(ctx) < ratio:
            y = x
            s_y = s_x
    if inside:
        state[1][anchor] = y
    return y


@register("mcns")
class MCNSSampler(Sampler):
    """Metropolis-Hastings chains towards ``exp(alpha * score)``, persistent per anchor.

    alpha : α, the target's exponent on ``p_d``.  mix : probability of a uniform proposal.
    steps : MH steps per draw.
    """

    score_aware = True
    fit_extras = ("n_anchors",)

    def __init__(
        self,
        alpha: float = 0.75,
        mix: float = 0.5,
        steps: int = 1,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.alpha = alpha
        self.mix = mix
        self.steps = steps

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        alpha = float(self.alpha)
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha!r}")
        mix = float(self.mix)
        if not 0.0 < mix <= 1.0:  # mix = 0: a chain off the neighbourhoods never moves
            raise ValueError(
                f"mix must lie in (0, 1] (without uniform proposals the chain is not "
                f"irreducible and its law is not exp(alpha * score)), got {self.mix!r}"
            )
        check_count(self.steps, "steps")
        a = n_anchors_of(self, extra)
        if positives is not None:
            self._indptr = positives.indptr.astype(np.int64)
            self._indices = positives.indices.astype(np.int64)
        else:
            self._indptr = np.zeros(1, dtype=np.int64)
            self._indices = np.zeros(0, dtype=np.int64)
        self._graph = positives is not None and positives.shape[0] == self.n_items_ == a
        self._chains = np.full(a, -1, dtype=np.int64)
        self._order, self._parent = self._dfs(a)

    def _dfs(self, a: int) -> tuple[np.ndarray, np.ndarray]:
        parent = np.full(a, -1, dtype=np.int64)
        if not self._graph:
            return np.arange(a, dtype=np.int64), parent
        g = sp.csr_matrix((np.ones_like(self._indices), self._indices, self._indptr), shape=(a, a))
        seen = np.zeros(a, dtype=bool)
        order = []
        for root in range(a):
            if seen[root]:
                continue
            nodes, pred = depth_first_order(g, root, directed=False, return_predecessors=True)
            seen[nodes] = True
            order.append(nodes)
            parent[nodes] = np.where(pred[nodes] >= 0, pred[nodes], -1)
        return np.concatenate(order).astype(np.int64), parent

    def dfs_order(self) -> np.ndarray:
        """Anchors in depth-first order over the positives graph (identity when not a graph)."""
        self._check_fitted()
        return self._order

    def reset(self) -> None:
        """Forget every chain."""
        self._chains[:] = -1

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_mcns, (
            self.output_,
            self._chains,
            self._parent,
            self._indptr,
            self._indices,
            np.float64(self.alpha),
            np.float64(self.mix),
            bool(self._graph),
            np.int64(self.steps),
        )

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        """The chains' stationary law ``π(v) ∝ exp(α s(v))`` (not the law of one draw)."""
        self._check_fitted()
        if anchor_vector is None:
            if anchor is None or self.input_ is None:
                raise ValueError(
                    "MCNSSampler.distribution needs anchor_vector= (or fit(input=) and anchor)"
                )
            anchor_vector = self.input_[anchor]
        from negkit.samplers._candidates import all_scores

        s = all_scores(self.output_, np.ascontiguousarray(anchor_vector, dtype=np.float32)).astype(
            np.float64
        )
        z = float(self.alpha) * s
        w = np.exp(z - z.max())
        return w / w.sum()
