"""WARP sampling (``warp``): uniform draws until one violates the margin.

Weston, Bengio & Usunier (IJCAI 2011), "WSABIE: Scaling Up To Large Vocabulary Image
Annotation".  Draw uniform items until ``s(neg) > s(pos) - margin`` (at most ``max_trials``);
``N``, the number of trials, estimates the positive's rank as ``⌊(|I| - 1) / N⌋`` and the
update is weighted by ``Φ(k) = Σ_{j=1}^{k} 1/j`` (:func:`warp_weight`).

The trial count of the last draw is left in ``ctx[CTX_TRIALS]``; it is ``0`` when no item
violated the margin within ``max_trials`` (the last candidate is returned and
``warp_weight(0, n) = 0``, so a trainer that multiplies by the weight skips the update).
Without a positive (``pos = -1``) the draw is uniform with ``ctx[CTX_TRIALS] = 1``.  With
``exclude_positives`` every trial draws among the anchor's non-positives (a drawn positive is
redrawn and not counted as a trial); the rank estimate keeps ``|I| - 1``.

Trial count law: geometric, ``P(N = t) = (1 - ρ)^(t-1) ρ`` with ρ the fraction of violating
items, truncated at ``max_trials``.  The candidates are all items, the pair's positive
included: with ``margin > 0`` it violates its own margin, so it is returned (and counted in
ρ) with probability ``1/|I|`` a trial, where WARP's paper draws from the items other than the
positive; ``exclude_positives=True`` leaves it out, as every other positive of the anchor, in
the compiled path's trials (above).  Cost per draw: O(N d).  State: the output table.

Device path: all ``max_trials`` candidates of a slot at once, the first violating one kept
(the same law); the trial counts of the last raw draws are left in ``trials_``.  There,
``exclude_positives`` rejects a returned positive and draws the slot again, so the trial
count then counts the last try only (the tensor engine, the device path's trainer, refuses
``warp``: no trainer reads those counts).

Trainers: the compiled BPR-MF engine (``negkit.rec.mf_bpr``) applies the weight; the tensor
engine refuses ``warp`` rather than train unweighted BPR on its draws under WARP's name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import CTX_TRIALS, rand_int
from negkit.samplers._kernels import check_count, dot
from negkit.samplers.base import EXCLUDE_TRIES, Sampler, _row_contains, _uniform_complement
from negkit.samplers.registry import register

_EULER = 0.5772156649015329


def is_rank_weighted(sampler: Any) -> bool:
    """Whether a trainer must weight ``sampler``'s updates by WARP's rank estimate: WARP
    itself, or a sampler that says so (``rank_weighted``)."""
    return bool(getattr(sampler, "rank_weighted", getattr(sampler, "name", "") == "warp"))


@kernel(_nrt=False)
def harmonic(k):
    """``Φ(k) = Σ_{j=1}^{k} 1/j``: exact below 64, else the asymptotic series (error < 1e-12)."""
    if k <= 0:
        return 0.0
    if k < 64:
        s = 0.0
        for j in range(1, k + 1):
            s += 1.0 / j
        return s
    x = np.float64(k)
    return np.log(x) + _EULER + 1.0 / (2.0 * x) - 1.0 / (12.0 * x * x) + 1.0 / (120.0 * x**4)


@kernel(_nrt=False)
def warp_weight_one(trials, n_items):
    """WARP's rank weight ``Φ(⌊(|I| - 1) / N⌋)``; 0 when ``N = 0`` (no violation found)."""
    if trials <= 0:
        return 0.0
    return harmonic((n_items - 1) // trials)


def warp_weight(trials: Any, n_items: int) -> Any:
    """``Φ(⌊(|I| - 1) / N⌋)`` for a trial count or an array of them (0 where ``N = 0``)."""
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    t = np.asarray(trials, dtype=np.int64)
    if np.any(t < 0):
        raise ValueError("trial counts must be >= 0")
    out = np.array([warp_weight_one(int(x), int(n_items)) for x in t.ravel()], dtype=np.float64)
    return float(out[0]) if t.ndim == 0 else out.reshape(t.shape)


@kernel(_nrt=False)
def draw_warp(state, anchor, pos, vec, ctx):
    n = state[0].shape[0]
    c = rand_int(ctx, n)
    if pos < 0:
        ctx[CTX_TRIALS] = 1
        return c
    bar = np.float64(dot(state[0], pos, vec)) - state[2]
    for t in range(1, state[1] + 1):
        if t > 1:
            c = rand_int(ctx, n)
        if np.float64(dot(state[0], c, vec)) > bar:
            ctx[CTX_TRIALS] = t
            return c
    ctx[CTX_TRIALS] = 0
    return c


@kernel
def _negative(state, lo, hi, ctx):
    """A uniform draw among the items outside the sorted row ``state[2][lo:hi]`` (the anchor's
    positives): rejection first, the exact complement draw after ``EXCLUDE_TRIES``."""
    n = state[3]
    for _ in range(EXCLUDE_TRIES):
        c = rand_int(ctx, n)
        if not _row_contains(state[2], lo, hi, c):
            return c
    return _uniform_complement(state[2], lo, hi, n, ctx)


@kernel(_nrt=False)
def draw_warp_excluding(state, anchor, pos, vec, ctx):
    """:func:`draw_warp` over the anchor's non-positives only: every trial is a negative (a
    drawn positive is redrawn, not counted), so ``N`` counts negatives as Weston et al.'s
    sampling of the negative labels does.  State: ``(base_state, indptr, indices, n_items)``,
    as :func:`negkit.samplers.base.excluding`'s."""
    if anchor < 0 or anchor + 1 >= state[1].shape[0]:
        return draw_warp(state[0], anchor, pos, vec, ctx)
    lo = state[1][anchor]
    hi = state[1][anchor + 1]
    if hi - lo >= state[3]:  # no negative at all: nothing to draw, no update
        ctx[CTX_TRIALS] = 0
        return rand_int(ctx, state[3])
    c = _negative(state, lo, hi, ctx)
    if pos < 0:
        ctx[CTX_TRIALS] = 1
        return c
    base = state[0]
    bar = np.float64(dot(base[0], pos, vec)) - base[2]
    for t in range(1, base[1] + 1):
        if t > 1:
            c = _negative(state, lo, hi, ctx)
        if np.float64(dot(base[0], c, vec)) > bar:
            ctx[CTX_TRIALS] = t
            return c
    ctx[CTX_TRIALS] = 0
    return c


@register("warp")
class WARPSampler(Sampler):
    """Uniform draws until ``score(neg) > score(pos) - margin``; trials in ``ctx[CTX_TRIALS]``."""

    score_aware = True
    uses_positive = True
    device_path = True
    device_tries = 2  # each try scores max_trials candidates

    def __init__(
        self,
        max_trials: int = 100,
        margin: float = 1.0,
        *,
        seed: int | None = None,
        exclude_positives: bool = False,
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.max_trials = max_trials
        self.margin = margin

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        self.max_trials_ = check_count(self.max_trials, "max_trials (M)")
        if not math.isfinite(float(self.margin)):
            raise ValueError(f"margin must be finite, got {self.margin!r}")

    def _kernel(self) -> tuple[Any, tuple]:
        return draw_warp, (self.output_, np.int64(self.max_trials_), np.float64(self.margin))

    def kernel(self) -> tuple[Any, tuple]:
        """With ``exclude_positives``, the trials themselves skip the anchor's positives
        (:func:`draw_warp_excluding`).  The generic wrapper redrew a returned positive by
        restarting the whole trial sequence, so the trial count left behind was that of the
        last restart alone: an anchor whose positives outscore the margin got a few trials and
        a rank estimate many times too high; and after its tries ran out the wrapper returned
        a non-violator with a violator's trial count (a weighted update WARP never makes)."""
        draw, state = super().kernel()
        if not self.exclude_positives:
            return draw, state
        return draw_warp_excluding, state

    def _sample_torch(self, anchors, k, pos, vecs, gen):
        import torch

        from negkit.samplers._torch import candidate_scores, randint

        dev = anchors.device
        output = self._table("output", dev)
        n = anchors.shape[0]
        cand = randint(self.n_items_, (n, k, self.max_trials_), gen, dev)
        none = torch.full_like(pos, -1)  # no -inf mask: the positive may be a violator
        s = candidate_scores(output, cand, vecs, none).to(torch.float64)
        bar = (output[pos.clamp(min=0)] * vecs).sum(-1).to(torch.float64) - float(self.margin)
        viol = s > bar[:, None, None]
        first = viol.to(torch.uint8).argmax(dim=-1, keepdim=True)
        found = viol.any(dim=-1)
        item = torch.where(found, cand.gather(-1, first).squeeze(-1), cand[..., -1])
        trials = torch.where(found, first.squeeze(-1) + 1, 0)
        has_pos = (pos >= 0)[:, None]
        self.trials_ = torch.where(has_pos, trials, 1)
        return torch.where(has_pos, item, cand[..., 0])
