"""The adaptive sampler's exact dimension choice: its static proposal, the one-trial loop,
the eight-trial batch, and the pair kernel that trainers and ``sample`` use."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue
from numba import njit

import negkit.samplers as ns
from negkit._rng import make_contexts, next_pair
from negkit.samplers._adaptive_build import (
    build_dim_proposal,
    dim_proposal_counts,
    dim_slot_count,
)
from negkit.samplers.adaptive import _envelope, _pick_dim, _pick_dim_batch, draw_adaptive

rng = np.random.default_rng(7)
OUT = (rng.standard_normal((60, 8)) * np.linspace(0.3, 3.0, 8)).astype(np.float32)
#: Anchor rows whose columns differ 30-fold in scale: the proposal follows them.
INP = (rng.standard_normal((40, 8)) * np.geomspace(0.1, 3.0, 8)).astype(np.float32)
#: An anchor that disagrees with the proposal (its large columns are the rows' small ones).
VEC = (rng.standard_normal(8) * np.geomspace(3.0, 0.1, 8)).astype(np.float32)


def test_slot_count_is_a_power_of_two_of_at_least_eight_per_dimension():
    assert [dim_slot_count(d) for d in (1, 8, 128, 129, 300)] == [1024, 1024, 1024, 2048, 4096]


def test_proposal_slots_by_hand():
    """q ∝ σ·spread = (1, 2, 0, 2)/5; 12 free slots: shares (2.4, 4.8, 0, 4.8), one slot
    each plus the floors (3, 5, 1, 5), the 2 left to the largest remainders (dims 1 and 3)."""
    slots = np.zeros(16, np.uint16)
    scale = np.zeros(4, np.float32)
    build_dim_proposal(np.array([1.0, 2.0, 0.0, 4.0]), np.array([1.0, 1.0, 5.0, 0.5]), slots,
                       scale)  # fmt: skip
    assert dim_proposal_counts(slots, 4).tolist() == [3, 6, 1, 6]
    assert slots.tolist() == [0] * 3 + [1] * 6 + [2] + [3] * 6
    np.testing.assert_allclose(scale, [16 / 3, 32 / 6, 0.0, 64 / 6], rtol=1e-7)


@pytest.mark.parametrize(
    "sigma,spread,counts",
    [
        # no spread: q ∝ σ = (1, 3)/4; shares of 14 free slots (3.5, 10.5), ties to the first
        ([1.0, 3.0], None, [5, 11]),
        ([1.0, 3.0], [np.nan, 1.0], [5, 11]),  # unusable spread: the same
        ([0.0, 0.0], None, [8, 8]),  # constant columns: uniform
    ],
)
def test_proposal_fallbacks(sigma, spread, counts):
    slots = np.zeros(16, np.uint16)
    scale = np.zeros(2, np.float32)
    build_dim_proposal(np.array(sigma), None if spread is None else np.array(spread), slots,
                       scale)  # fmt: skip
    assert dim_proposal_counts(slots, 2).tolist() == counts


def _fitted(**params):
    return ns.get("adaptive", lam=3.0, seed=3, **params).fit(output=OUT, input=INP)


def test_proposal_follows_the_anchor_rows():
    s = _fitted()
    n_f = dim_proposal_counts(s._dim_slots[0], 8)
    assert n_f.min() >= 1 and n_f.sum() == s._dim_slots.shape[1]
    # n_f = 1 + q_f (L - d), rounded, with q ∝ σ_f rms_f(anchor rows)
    q = OUT.astype(np.float64).std(axis=0) * np.sqrt((INP.astype(np.float64) ** 2).mean(axis=0))
    share = q / q.sum() * (n_f.sum() - 8)
    assert np.all(np.abs(n_f - 1 - share) < 1)
    assert n_f[-1] > 20 * n_f[0]
    w = s.dim_weights(VEC)  # the drawn law's weights: ∝ |v_f| σ_f
    p = np.abs(VEC.astype(np.float64)) * OUT.astype(np.float64).std(axis=0)
    np.testing.assert_allclose(w / w.sum(), p / p.sum(), rtol=1e-6)


@njit(nogil=True)
def _dims_loop(vec, slots, scale, sigma, m, ctx, out):
    for i in range(out.shape[0]):
        out[i] = _pick_dim(vec, slots, scale, sigma, 0, m, ctx)


@njit(nogil=True)
def _dims_batch(vec, slots, scale, m, coin_bits, ctx, out):
    for i in range(out.shape[0]):
        out[i] = _pick_dim_batch(vec, slots, scale, 0, m, coin_bits, ctx)


@pytest.mark.parametrize("picker", ["loop", "batch"])
def test_dimension_pickers_draw_the_exact_law(picker):
    """p(f | v) ∝ |v_f| σ_f for an anchor the proposal fits badly (many rejections)."""
    s = _fitted()
    slots, scale, sigma = s._dim_slots, s._dim_scale, s._sigma
    m = _envelope(VEC, scale, 0)
    out = np.empty(400_000, np.int64)
    ctx = make_contexts(11, 1)[0]
    if picker == "loop":
        _dims_loop(VEC, slots, scale, sigma, m, ctx, out)
    else:
        _dims_batch(VEC, slots, scale, m, 22, ctx, out)
    w = np.abs(VEC.astype(np.float64)) * OUT.astype(np.float64).std(axis=0)
    assert chi2_pvalue(out, w / w.sum()) > 1e-3


@njit(nogil=True)
def _per_draw(draw, state, vec, ctx, out):
    for r in range(out.shape[0]):
        next_pair(ctx)
        for j in range(out.shape[1]):
            out[r, j] = draw(state, 0, -1, vec, ctx)


@pytest.mark.parametrize("vec", [VEC, np.zeros(8, np.float32)], ids=["vec", "zero"])
def test_pair_kernel_and_per_draw_kernel_draw_the_distribution(vec):
    s = _fitted()
    q = s.distribution(anchor_vector=vec)
    n = 40_000
    pairs = s.sample(np.zeros(n, np.int64), 5, anchor_vectors=np.tile(vec, (n, 1)))
    assert chi2_pvalue(pairs, q) > 1e-3
    draw, state = s.kernel()
    assert draw is draw_adaptive
    out = np.empty((n, 5), np.int64)
    _per_draw(draw, state, vec, make_contexts(5, 1)[0], out)
    assert chi2_pvalue(out, q) > 1e-3


def test_default_pair_kernel_repeats_the_per_draw_sequence():
    s = ns.get("unigram", seed=0).fit(counts=np.arange(1, 30))
    draw, state = s.kernel()
    ref = np.empty((300, 5), np.int64)
    _per_draw(draw, state, np.zeros(0, np.float32), make_contexts(9, 1)[0], ref)
    s._ctx = make_contexts(9, 1)[0]
    np.testing.assert_array_equal(s.sample(np.zeros(300, np.int64), 5), ref)


@pytest.mark.parametrize("table", ["zero output table", "zero vector"])
def test_pair_kernel_without_weights_repeats_the_per_draw_scan(table):
    # every |v_f| σ_f is 0: both kernels draw the dimension uniformly, from the same numbers
    # (the per-draw kernel after its O(d) scan, the pair kernel without one)
    out = np.zeros_like(OUT) if table == "zero output table" else OUT
    vec = VEC if table == "zero output table" else np.zeros(8, np.float32)
    s = ns.get("adaptive", lam=3.0, seed=4).fit(output=out, input=INP)
    draw, state = s.kernel()
    ref = np.empty((400, 5), np.int64)
    _per_draw(draw, state, vec, make_contexts(3, 1)[0], ref)
    pair, state = s.pair_kernel()
    ctx = make_contexts(3, 1)[0]
    got = np.empty(5, np.int64)
    for row in ref:
        pair(state, 0, -1, vec, ctx, got)
        np.testing.assert_array_equal(got, row)
    assert len(np.unique(ref)) > 20  # not one item: ranks and dimensions vary


def test_pair_kernel_of_an_excluding_sampler_never_returns_a_positive():
    pos = sp.csr_matrix((np.arange(60) < 50).astype(np.float32)[None, :])
    s = ns.get("adaptive", lam=3.0, seed=1, exclude_positives=True)
    s.fit(output=OUT, input=INP[:1], positives=pos)
    drawn = s.sample(np.zeros(2000, np.int64), 5, anchor_vectors=np.tile(VEC, (2000, 1)))
    assert drawn.min() >= 50
