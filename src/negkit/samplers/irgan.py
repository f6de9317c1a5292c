"""IRGAN's generator as a sampler (``irgan``): an item by softmax(u . v_i / τ) over all items.

Wang, Yu, Zhang, Gong, Xu, Wang, Zhang & Zhang (SIGIR 2017), "IRGAN: A Minimax Game for
Unifying Generative and Discriminative Information Retrieval Models".  For item
recommendation the generator is an MF model ``g_θ(u, i) = u . v_i`` (an item bias folds
into a constant-1 user column) and proposes negatives to the discriminator with

    q(i | u) = exp(g_θ(u, i) / τ) / Σ_j exp(g_θ(u, j) / τ)     over every item j.

The sampler holds the *generator's* tables by reference (``fit(output=item_table,
input=user_table)``, as any score-aware sampler), so a trainer that updates the generator
(:mod:`negkit.rec.irgan`, by REINFORCE) draws from the live law.  Unlike the candidate
samplers (``softmax``, ``dns``), there is no candidate set: the normaliser runs over the whole
catalogue, as in the paper, and the pair's positive keeps its mass (the generator learns to
put mass on relevant items; that is the game).  ``exclude_positives=True`` (with
``fit(positives=)``) rejects every known positive of the anchor instead, then draws uniformly
from the complement after ``EXCLUDE_TRIES`` rejections, as every sampler does.

Cost per draw: O(|I| d).  The per-draw kernel streams the items once (weighted reservoir of
size one with a running maximum, no allocation); a pair's ``k`` draws share one pass
(:meth:`IRGANSampler._pair_kernel`: the cumulative weights once, O(|I| d + k log |I|), one
``|I|`` float64 buffer).  State: the two tables by reference and ``1/τ``.
Device path: the ``(n, |I|)`` logits in one matmul, their cumulative softmax, and ``k``
inverse-CDF draws per anchor by ``torch.searchsorted`` (no host synchronisation).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import next_pair, rand_float, rand_int
from negkit.samplers._candidates import all_scores
from negkit.samplers._kernels import check_positive, dot, softmax_reservoir
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_irgan(state, anchor, pos, vec, ctx):
    """One draw of softmax(s / τ) over every item: one streaming pass, no allocation."""
    output = state[0]
    n = output.shape[0]
    inv_tau = state[1]
    chosen = -1
    top = -np.inf  # running max of s/τ over the finite scores so far
    total = 0.0  # Σ exp(s/τ - top) so far
    for i in range(n):
        z = np.float64(dot(output, i, vec)) * inv_tau
        if not z > -np.inf:  # -inf or NaN: weight 0
            continue
        taken, top, total = softmax_reservoir(z, top, total, ctx)
        if taken:
            chosen = i
    if chosen < 0:  # no finite score: uniform
        return rand_int(ctx, n)
    return chosen


@kernel
def draw_pair_irgan(state, anchor, pos, vec, ctx, out):
    """A pair's ``len(out)`` draws: the cumulative weights once, then inverse CDF each."""
    next_pair(ctx)
    output = state[0]
    n = output.shape[0]
    inv_tau = state[1]
    z = np.empty(n, dtype=np.float64)
    top = -np.inf
    for i in range(n):
        z[i] = np.float64(dot(output, i, vec)) * inv_tau
        if z[i] > top:
            top = z[i]
    if not top > -np.inf:  # no finite score: uniform
        for j in range(out.shape[0]):
            out[j] = rand_int(ctx, n)
        return
    acc = 0.0
    for i in range(n):
        if z[i] > -np.inf:
            acc += np.exp(z[i] - top)
        z[i] = acc  # z is now the cumulative weight
    for j in range(out.shape[0]):
        u = rand_float(ctx) * acc
        x = np.searchsorted(z, u, side="right")  # first i with cdf[i] > u
        out[j] = min(x, n - 1)


@register("irgan", aliases=("irgan_generator",))
class IRGANSampler(Sampler):
    """IRGAN's generator: item ``i`` with probability softmax(u . v_i / tau) over all items."""

    score_aware = True
    device_path = True
    graph_safe = True

    def __init__(
        self, tau: float = 1.0, *, seed: int | None = None, exclude_positives: bool = False
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.tau = tau

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        try:
            self.tau_ = check_positive(self.tau, "tau (τ)")
        except (TypeError, ValueError):
            raise ValueError(f"tau (τ) must be a finite number > 0, got {self.tau!r}") from None

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_irgan, (self.output_, np.float64(1.0 / self.tau_))

    def _pair_kernel(self) -> Any:
        return draw_pair_irgan

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import rand, randint

        output = self._table("output", anchors.device)
        logits = (vecs @ output.T) * np.float32(1.0 / self.tau_)  # (n, |I|), float32 as the kernels
        top = logits.amax(dim=1, keepdim=True)
        w = torch.exp(logits - top).nan_to_num_(nan=0.0)  # NaN scores (and all -inf rows): 0
        cdf = torch.cumsum(w, dim=1, dtype=torch.float64)
        total = cdf[:, -1:]
        n = anchors.shape[0]
        idx = torch.searchsorted(cdf, rand((n, k), gen, anchors.device) * total, right=True)
        idx = idx.clamp_(max=self.n_items_ - 1)
        uniform = randint(self.n_items_, (n, k), gen, anchors.device)  # no finite score: uniform
        return torch.where(total > 0, idx, uniform)

    def distribution(self, anchor=None, anchor_vector=None) -> np.ndarray:
        """``softmax(s / τ)`` over every item, ``s = anchor_vector . output`` (float32 dots)."""
        self._check_fitted()
        if anchor_vector is None:
            if anchor is None or self.input_ is None:
                raise ValueError(
                    "IRGANSampler.distribution needs anchor_vector= (or fit(input=) and anchor)"
                )
            anchor_vector = self.input_[anchor]
        v = np.ascontiguousarray(anchor_vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.output_.shape[1]:
            raise ValueError(
                f"anchor_vector has {v.shape[0]} dims, the output table {self.output_.shape[1]}"
            )
        z = all_scores(self.output_, v).astype(np.float64) / self.tau_
        z = np.where(np.isnan(z), -np.inf, z)
        top = z.max()
        if not np.isfinite(top):
            return np.full(self.n_items_, 1.0 / self.n_items_)
        w = np.exp(z - top)
        return w / w.sum()
