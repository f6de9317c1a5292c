"""Simplify and robustify negative sampling (``srns``).

Ding, Quan, Yu, Li & Jin (NeurIPS 2020), "Simplify and Robustify Negative Sampling for
Implicit Collaborative Filtering".  Every anchor ``a`` keeps a memory of ``S`` candidate
items with, for each, an exponentially weighted mean ``μ`` and variance ``σ²`` of its score
over the anchor's visits (decay ρ).  At each draw for ``a``:

1. score the ``S`` memory items with the live model, ``s_j = vec . output[m_j]``, and update
   ``μ_j ← μ_j + (1-ρ)(s_j - μ_j)``, ``σ²_j ← ρ (σ²_j + (1-ρ)(s_j - μ_j)²)`` (West 1979);
2. choose ``j* = argmax_j s_j + w·σ_j`` -- hard negatives whose score still moves, which
   screens out the high-score, low-variance items that are likely false negatives -- or a
   uniform slot while the anchor has had at most ``warmup`` draws; a slot holding the pair's
   positive ``pos`` is chosen only when every slot holds it;
3. replace one uniform slot other than ``j*`` by a fresh uniform item (stats reset to its
   score, variance 0), so that the memory keeps exploring.

The paper's memory update by sampling and its epoch-level variance window are simplified to
this per-draw streaming form.  No closed-form distribution.

Cost per draw: O(S d).  State: ``S`` items and two float32 stats per anchor and slot, and a
visit count per anchor (``fit(n_anchors=)``, or the rows of ``positives=`` / ``input=``).
Anchors outside the state get uniform draws.  Threads update the memories Hogwild.

Device path: the memory lives on the device (its own copy, built from the host's at first
use: :attr:`device_memory`) and the steps above run for every row of a batch at once, once
per draw slot; rows of the same anchor in one batch race as Hogwild threads do (one of their
writes is kept).  Torch ops only, no loop over anchors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_int
from negkit.samplers._anchors import n_anchors_of
from negkit.samplers._kernels import check_count, dot
from negkit.samplers.base import Sampler
from negkit.samplers.registry import register


@kernel(_nrt=False)
def draw_srns(state, anchor, pos, vec, ctx):
    # state = (output, mem, mean, var, visits, warmup, weight, rho)
    n = state[0].shape[0]
    if anchor < 0 or anchor >= state[1].shape[0]:
        return rand_int(ctx, n)
    size = state[1].shape[1]
    rho = state[7]
    if state[4][anchor] == 0:
        for j in range(size):
            c = rand_int(ctx, n)
            state[1][anchor, j] = c
            state[2][anchor, j] = dot(state[0], c, vec)
            state[3][anchor, j] = 0.0
    state[4][anchor] += 1
    best = 0
    top = -np.inf
    for j in range(size):
        s = np.float64(dot(state[0], state[1][anchor, j], vec))
        diff = s - state[2][anchor, j]
        incr = (1.0 - rho) * diff
        state[2][anchor, j] += incr
        state[3][anchor, j] = rho * (state[3][anchor, j] + diff * incr)
        key = s + state[6] * np.sqrt(state[3][anchor, j])
        if state[1][anchor, j] == pos:  # the pair's positive is no negative
            key = -np.inf
        if key > top:
            top = key
            best = j
    if state[4][anchor] <= state[5]:
        best = rand_int(ctx, size)
    item = state[1][anchor, best]
    if size > 1:
        j = rand_int(ctx, size - 1)
        if j >= best:
            j += 1
        c = rand_int(ctx, n)
        state[1][anchor, j] = c
        state[2][anchor, j] = dot(state[0], c, vec)
        state[3][anchor, j] = 0.0
    return item


@register("srns")
class SRNSSampler(Sampler):
    """Per-anchor memory; pick ``argmax score + weight * std`` after ``warmup`` draws.

    memory : S, the items kept per anchor.  warmup : draws per anchor with uniform choice.
    weight : w, the weight of the score's standard deviation.  decay : ρ of the running stats.
    """

    score_aware = True
    uses_positive = True
    device_path = True
    device_tries = 2  # each try updates the memory
    fit_extras = ("n_anchors",)

    def __init__(
        self,
        memory: int = 16,
        warmup: int = 5,
        weight: float = 1.0,
        decay: float = 0.9,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.memory = memory
        self.warmup = warmup
        self.weight = weight
        self.decay = decay

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        size = check_count(self.memory, "memory (S)")
        check_count(self.warmup, "warmup", minimum=0)
        if not np.isfinite(float(self.weight)):
            raise ValueError(f"weight must be finite, got {self.weight!r}")
        rho = float(self.decay)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"decay must lie in [0, 1), got {self.decay!r}")
        a = n_anchors_of(self, extra)
        self._mem = np.zeros((a, size), dtype=np.int64)
        self._mean = np.zeros((a, size), dtype=np.float32)
        self._var = np.zeros((a, size), dtype=np.float32)
        self._visits = np.zeros(a, dtype=np.int64)

    def reset(self) -> None:
        """Forget every memory (they are rebuilt at each anchor's next draw)."""
        self._visits[:] = 0

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_srns, (
            self.output_,
            self._mem,
            self._mean,
            self._var,
            self._visits,
            np.int64(self.warmup),
            np.float64(self.weight),
            np.float64(self.decay),
        )

    @property
    def device_memory(self) -> dict:
        """The device memories by device name: ``{"mem", "mean", "var", "visits"}`` tensors with
        one spare last row (writes of anchors outside the state land there)."""
        return {dev: st["memory"] for dev, st in self._device_state.items() if "memory" in st}

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import randint

        dev = anchors.device

        def build() -> dict:
            def spare(x):
                t = torch.from_numpy(x).to(dev)
                return torch.cat([t, torch.zeros_like(t[:1])])

            return {n: spare(getattr(self, f"_{n}")) for n in ("mem", "mean", "var", "visits")}

        st = self._device("memory", dev, build)
        output = self._table("output", dev)
        n, n_items = anchors.shape[0], self.n_items_
        n_anchors, size = self._mem.shape
        rho, w = float(self.decay), float(self.weight)
        inside = anchors < n_anchors
        row = torch.where(inside, anchors, n_anchors)  # the spare row
        # an anchor met several times in the batch keeps its last row's update (on CUDA a
        # scatter of duplicate indices picks any of them): the others write to the spare row
        at = torch.arange(n, device=dev)
        last = torch.full((n_anchors + 1,), -1, dtype=torch.int64, device=dev)
        last = last.scatter_reduce(0, row, at, reduce="amax")
        row_w = torch.where(last[row] == at, row, n_anchors)

        def score(items):  # (n, S) -> (n, S) float32
            return torch.bmm(output[items], vecs[:, :, None]).squeeze(-1)

        out = []
        for _ in range(k):  # one round of the three steps for every row at once
            mem, mean, var = st["mem"][row], st["mean"][row], st["var"][row]
            fresh = (st["visits"][row] == 0)[:, None]
            c = randint(n_items, (n, size), gen, dev)
            mem = torch.where(fresh, c, mem)
            mean = torch.where(fresh, score(c), mean)
            var = torch.where(fresh, torch.zeros_like(var), var)
            visits = st["visits"][row] + 1
            s = score(mem).to(torch.float64)
            diff = s - mean.to(torch.float64)
            incr = (1.0 - rho) * diff
            mean64 = mean.to(torch.float64) + incr
            var64 = rho * (var.to(torch.float64) + diff * incr)
            key = (s + w * var64.sqrt()).masked_fill(mem == pos[:, None], float("-inf"))
            best = key.argmax(dim=1)
            warm = visits <= int(self.warmup)
            best = torch.where(warm, randint(size, (n,), gen, dev), best)
            item = mem.gather(1, best[:, None]).squeeze(1)
            mean, var = mean64.to(torch.float32), var64.to(torch.float32)
            if size > 1:  # a fresh uniform item in one slot other than the chosen one
                j = randint(size - 1, (n,), gen, dev)
                j = (j + (j >= best).to(torch.int64))[:, None]
                c = randint(n_items, (n, 1), gen, dev)
                mem = mem.scatter(1, j, c)
                mean = mean.scatter(1, j, score(c))
                var = var.scatter(1, j, torch.zeros_like(mean[:, :1]))
            st["mem"][row_w], st["mean"][row_w], st["var"][row_w] = mem, mean, var
            st["visits"][row_w] = visits
            out.append(torch.where(inside, item, randint(n_items, (n,), gen, dev)))
        return torch.stack(out, dim=1)
