"""Score-aware samplers: exact distributions by chi-square, refresh, WARP, SRNS, MCNS."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue
from numba import njit
from scipy import stats

import negkit.samplers as ns
from negkit._rng import CTX_DRAWS, CTX_TRIALS, make_contexts, next_pair
from negkit.samplers._adaptive_build import alias_dim_probs, build_orders
from negkit.samplers._kernels import trunc_geom_pmf
from negkit.samplers.adaptive import draw_adaptive

rng = np.random.default_rng(2024)
OUT50 = rng.standard_normal((50, 8)).astype(np.float32) * np.linspace(0.2, 2.0, 8).astype(
    np.float32
)
VEC8 = rng.standard_normal(8).astype(np.float32)
OUT6 = rng.standard_normal((6, 3)).astype(np.float32)
VEC3 = rng.standard_normal(3).astype(np.float32)


def draw_many(s, vec, n_rows=1000, k=100, pos=None):
    anchors = np.zeros(n_rows, dtype=np.int64)
    p = None if pos is None else np.full(n_rows, pos)
    return s.sample(anchors, k, anchor_vectors=np.tile(vec, (n_rows, 1)), pos=p)


def test_truncated_geometric_pmf_is_the_formula():
    lam, n = 2.5, 7
    w = np.exp(-np.arange(n) / lam)
    np.testing.assert_allclose(trunc_geom_pmf(n, lam), w / w.sum())


def test_adaptive_mixture_matches_hand_computation():
    s = ns.get("adaptive", lam=4.0, eps=0, seed=0).fit(output=OUT50)  # the paper's rank law
    sigma = OUT50.astype(np.float64).std(axis=0)
    pf = np.abs(VEC8) * sigma
    pf /= pf.sum()
    pr = np.exp(-np.arange(50) / 4.0)
    pr /= pr.sum()
    q = np.zeros(50)
    for f in range(8):
        order = np.argsort(-OUT50[:, f], kind="stable")
        q[order if VEC8[f] > 0 else order[::-1]] += pf[f] * pr
    np.testing.assert_allclose(s.distribution(anchor_vector=VEC8), q, rtol=1e-5)


@pytest.mark.parametrize("dims", ["exact", "snapshot"])
@pytest.mark.parametrize("lam,eps", [(4.0, 0.0), (4.0, 1e-4), (None, 0.05)])
def test_adaptive_chi_square(lam, eps, dims):
    inp = np.stack([-VEC8, VEC8])
    s = ns.get("adaptive", lam=lam, lam_fraction=0.3, eps=eps, dims=dims, seed=1)
    s.fit(output=OUT50, input=inp)
    anchors = np.ones(100_000, np.int64)
    q = s.distribution(anchor=1)
    np.testing.assert_allclose(q, s.distribution(anchor_vector=VEC8), atol=2e-5)  # 2^-16 cells
    assert abs(q.sum() - 1) < 1e-12
    assert chi2_pvalue(s.sample(anchors, 1), q) > 1e-3


def test_adaptive_truncated_rank_law():
    s = ns.get("adaptive", lam=3.0, eps=1e-3).fit(output=OUT50)
    k = int(np.ceil(-3.0 * np.log(1e-3 * (1 - np.exp(-50 / 3)) + np.exp(-50 / 3))))
    assert s.reach_ == k == 21
    tail = np.exp(-np.arange(50) / 3.0)
    assert tail[k:].sum() / tail.sum() <= 1e-3 < tail[k - 1 :].sum() / tail.sum()
    pr = s.rank_pmf()
    np.testing.assert_allclose(pr[:k], trunc_geom_pmf(k, 3.0), rtol=1e-8)  # 2^-32 cells
    assert np.all(pr[k:] == 0)
    assert s._orders.shape == (2, 8, 2 * k)  # only the two reachable ends are kept


def test_adaptive_snapshot_cells_are_the_weights_and_signs_at_refresh():
    inp = np.stack([VEC8, np.zeros(8, np.float32), -VEC8]).copy()
    s = ns.get("adaptive", lam=4.0, dims="snapshot").fit(output=OUT50, input=inp)
    sigma = OUT50.astype(np.float64).std(axis=0)
    for a, v in enumerate(inp):
        pf, top = alias_dim_probs(s._dim_alias[0, a])
        w = np.abs(v) * sigma
        want = w / w.sum() if w.sum() > 0 else np.full(8, 1 / 8)
        np.testing.assert_allclose(pf, want, atol=8 / 2**16)
        np.testing.assert_array_equal(top, v > 0)
    before = s.distribution(anchor=0)
    inp[0] = -inp[0]  # the live row moves: draws follow it only after a refresh
    np.testing.assert_array_equal(s.distribution(anchor=0), before)
    s.refresh()
    np.testing.assert_allclose(s.distribution(anchor=0), s.distribution(anchor=2))
    # anchors outside the input table: the exact choice from the vector passed
    far = s.sample(np.full(50_000, 7), 2, anchor_vectors=np.tile(VEC8, (50_000, 1)))
    assert chi2_pvalue(far, s.distribution(anchor_vector=VEC8)) > 1e-3


@pytest.mark.parametrize(
    "params,fit,match",
    [
        ({"eps": -0.1}, {}, "eps"),
        ({"eps": 1.0}, {}, "eps"),
        ({"dims": "fast"}, {}, "dims must be one of"),
        ({"dims": "snapshot"}, {}, "needs fit\\(input="),
        ({"dims": "snapshot"}, {"input": np.zeros((3, 5), np.float32)}, "input has 5 dims"),
        ({"lam": -1.0}, {}, "lam"),
        ({"lam_fraction": 0.0}, {}, "lam_fraction"),
    ],
)
def test_adaptive_bad_parameters(params, fit, match):
    with pytest.raises(ValueError, match=match):
        ns.get("adaptive", **params).fit(output=OUT50, **fit)
    with pytest.raises(TypeError, match="refresh_every must be an integer"):
        ns.get("adaptive", refresh_every=1.5).fit(output=OUT50)


def test_adaptive_orders_match_a_stable_sort_with_ties_and_a_bad_sample():
    out = np.random.default_rng(5).integers(-3, 4, (3000, 4)).astype(np.float32)  # many ties
    out[:, 3] = 0.0
    full = np.argsort(-out.T, axis=1, kind="stable")  # descending, ties by ascending id
    k = 200
    for sample, whole in ((np.arange(0, 3000, 7), False), (np.argsort(-out[:, 0])[:50], True)):
        orders, sigma = np.empty((4, 2 * k), np.int32), np.empty(4)
        n_whole = build_orders(out, k, sample, orders, sigma)
        assert (n_whole > 0) == whole  # a sample of top rows misplaces the threshold
        np.testing.assert_array_equal(orders[:, :k], full[:, :k])
        np.testing.assert_array_equal(orders[:, k:], full[:, -k:])
        np.testing.assert_allclose(sigma, out.astype(np.float64).std(axis=0), rtol=1e-6)


def test_adaptive_orders_follow_the_bit_pattern_order_of_special_values():
    # -0.0 below 0.0, infinities, NaNs (at the top when positive, at the bottom when
    # negative), subnormals and ties: the candidate pass must keep exactly what a whole
    # sort of the packed keys puts at the two ends
    rng = np.random.default_rng(11)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.0, -1.0],
                       dtype=np.float32)  # fmt: skip
    out = np.where(rng.random((4000, 5)) < 0.3, rng.choice(special, (4000, 5)),
                   rng.integers(-2, 3, (4000, 5))).astype(np.float32)  # fmt: skip
    out.view(np.uint32)[rng.random((4000, 5)) < 0.01] = 0xFFC00001  # a negative NaN
    k = 300
    orders, sigma = np.empty((5, 2 * k), np.int32), np.empty(5)
    assert build_orders(out, k, np.arange(0, 4000, 3), orders, sigma) == 0
    bits = out.view(np.uint32).astype(np.int64)
    asc = np.where(bits >> 31 == 1, bits ^ 0xFFFFFFFF, bits | 0x80000000)
    for f in range(5):
        order = np.lexsort((np.arange(4000), -asc[:, f]))  # descending bits, ties by id
        np.testing.assert_array_equal(orders[f, :k], order[:k])
        np.testing.assert_array_equal(orders[f, k:], order[-k:])


def test_adaptive_refresh_follows_the_output_table():
    out = OUT50.copy()
    s = ns.get("adaptive", lam=2.0, refresh_every=1000, seed=0).fit(output=out)
    before = s.distribution(anchor_vector=VEC8)
    out[:] = out[::-1]  # the live table changes: every column's order reverses
    np.testing.assert_array_equal(s.distribution(anchor_vector=VEC8), before)  # not yet refreshed
    draw, state = s.kernel()
    ctxs = make_contexts(0, 2)
    ctxs[:, CTX_DRAWS] = [400, 500]
    assert not s.maybe_refresh(ctxs) and s.generation == 0
    for _ in range(100):
        draw(state, 0, -1, VEC8, ctxs[0])  # draws are counted in the context
    assert ctxs[0, CTX_DRAWS] == 500
    assert s.maybe_refresh(ctxs) and s.generation == 1
    assert ctxs[:, CTX_DRAWS].sum() == 0
    after = s.distribution(anchor_vector=VEC8)
    np.testing.assert_allclose(after, before[::-1], rtol=1e-6)
    assert chi2_pvalue(draw_many(s, VEC8, 500), after) > 1e-3


def test_adaptive_background_refresh_publishes_whole_orders():
    out = OUT50.copy()
    s = ns.get("adaptive", lam=2.0, refresh_every=1, refresh_async=True, seed=0).fit(output=out)
    out[:] = out[::-1]
    ctxs = make_contexts(0, 1)
    ctxs[:, CTX_DRAWS] = 5
    assert s.maybe_refresh(ctxs)
    s.wait()
    assert s.generation == 1
    k, w = s.reach_, s._orders.shape[2]
    full = np.argsort(-out.T, axis=1, kind="stable")
    np.testing.assert_array_equal(s._orders[1][:, :k], full[:, :k])
    np.testing.assert_array_equal(s._orders[1][:, w - k :], full[:, -k:])


def test_adaptive_default_refresh_period_is_v_log_v():
    s = ns.get("adaptive").fit(output=OUT50)
    assert s.refresh_every_ == int(np.ceil(50 * np.log(50)))


def test_dns_chi_square_against_closed_form():
    s = ns.get("dns", n_candidates=3, seed=2).fit(output=OUT6)
    scores = OUT6 @ VEC3
    j = np.argsort(np.argsort(scores))  # ascending rank of each item
    expected = ((j + 1) ** 3 - j**3) / 6**3
    np.testing.assert_allclose(s.distribution(anchor_vector=VEC3), expected)
    assert chi2_pvalue(draw_many(s, VEC3), expected) > 1e-3


def test_dns_ties_share_their_group():
    out = np.array([[1.0], [1.0], [0.0], [2.0]], dtype=np.float32)
    s = ns.get("dns", n_candidates=2, seed=2).fit(output=out)
    q = s.distribution(anchor_vector=np.ones(1, np.float32))
    np.testing.assert_allclose(q, [(9 - 1) / 32, (9 - 1) / 32, 1 / 16, (16 - 9) / 16])
    assert chi2_pvalue(draw_many(s, np.ones(1, np.float32)), q) > 1e-3


@pytest.mark.parametrize(
    "name,params",
    [
        ("softmax", {"n_candidates": 3, "tau": 0.7}),
        ("rank", {"n_candidates": 3, "lam": 1.0}),
        ("rank", {"n_candidates": 8, "lam": 2.0}),  # |I| <= M: every item, ranked
    ],
)
def test_candidate_rules_chi_square_by_enumeration(name, params):
    s = ns.get(name, seed=3, **params).fit(output=OUT6)
    q = s.distribution(anchor_vector=VEC3)
    assert abs(q.sum() - 1) < 1e-12
    assert chi2_pvalue(draw_many(s, VEC3), q) > 1e-3


def test_rank_over_every_item_is_the_geometric_over_the_score_order():
    s = ns.get("rank", n_candidates=10, lam=1.5).fit(output=OUT6)
    order = np.argsort(-(OUT6 @ VEC3))
    np.testing.assert_allclose(s.distribution(anchor_vector=VEC3)[order], trunc_geom_pmf(6, 1.5))


def test_ahns_chi_square_and_target():
    s = ns.get("ahns", n_candidates=2, alpha=0.5, beta=0.8, p=1.0, seed=4).fit(output=OUT6)
    scores = (OUT6 @ VEC3).astype(np.float64)
    target = 0.8 * max(scores[1] + 0.5, 0) ** 2
    gap = np.abs(scores - target)
    gap[1] = np.inf  # the positive itself comes last
    j = np.argsort(np.argsort(-gap))  # ascending rank of closeness
    expected = ((j + 1) ** 2 - j**2) / 36
    q = s.distribution(anchor_vector=VEC3, pos=1)
    np.testing.assert_allclose(q, expected)
    assert chi2_pvalue(draw_many(s, VEC3, pos=1), q) > 1e-3


def test_warp_returns_violators_and_geometric_trial_counts():
    s = ns.get("warp", max_trials=50, margin=0.2, seed=5).fit(output=OUT50)
    scores = OUT50 @ VEC8
    pos = int(np.argsort(scores)[40])
    bar = scores[pos] - 0.2
    rho = np.mean(scores > bar)
    draw, state = s.kernel()
    ctx = make_contexts(9, 1)[0]
    trials, items = np.empty(20_000, np.int64), np.empty(20_000, np.int64)
    for i in range(trials.size):
        items[i] = draw(state, 0, pos, VEC8, ctx)
        trials[i] = ctx[CTX_TRIALS]
    assert trials.min() >= 1 and np.all(scores[items] > bar)
    t = np.arange(1, 51)
    law = (1 - rho) ** (t - 1) * rho
    law = np.append(law, 1 - law.sum())  # the mass beyond 50 trials (reported as 0)
    observed = np.bincount(np.where(trials == 0, 51, trials), minlength=52)[1:]
    assert chi2_pvalue(np.repeat(np.arange(51), observed), law) > 1e-3


def test_warp_reports_zero_trials_without_violation_and_weight():
    out = np.array([[0.0], [-1.0], [-2.0], [5.0]], dtype=np.float32)
    s = ns.get("warp", max_trials=7, margin=0.0).fit(output=out)
    draw, state = s.kernel()
    ctx = make_contexts(1, 1)[0]
    draw(state, 0, 3, np.ones(1, np.float32), ctx)  # nothing beats the positive
    assert ctx[CTX_TRIALS] == 0
    assert ns.warp_weight(0, 4) == 0.0
    assert ns.warp_weight(1, 4) == pytest.approx(1 + 1 / 2 + 1 / 3)
    np.testing.assert_allclose(ns.warp_weight([2, 3], 7), [1 + 1 / 2 + 1 / 3, 1.5])
    big = 10**6
    assert ns.warp_weight(1, big + 1) == pytest.approx(
        np.sum(1.0 / np.arange(1, big + 1)), rel=1e-12
    )


def test_srns_warm_up_is_uniform_over_memory_then_picks_score_plus_std():
    s = ns.get("srns", memory=4, warmup=3, weight=0.0, seed=6).fit(output=OUT50, n_anchors=2)
    draw, state = s.kernel()
    ctx = make_contexts(3, 1)[0]
    first = [draw(state, 0, -1, VEC8, ctx) for _ in range(3)]
    assert s._visits[0] == 3 and s._visits[1] == 0
    assert len(first) == 3
    mem = s._mem[0].copy()
    scores = OUT50 @ VEC8
    best = mem[np.argmax(scores[mem])]
    assert draw(state, 0, -1, VEC8, ctx) == best  # weight 0: the hardest memory item
    assert np.count_nonzero(s._mem[0] != mem) == 1  # one slot refreshed with a uniform item


def test_srns_variance_weight_prefers_moving_scores():
    out = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    s = ns.get("srns", memory=2, warmup=0, weight=10.0, decay=0.5, seed=0).fit(
        output=out, n_anchors=1
    )
    s._visits[0] = 1
    s._mem[0] = [0, 1]
    s._mean[0] = [1.2, 0.0]  # item 0: stable high score; item 1: its score just moved
    s._var[0] = [0.0, 0.5]
    draw, state = s.kernel()
    item = draw(state, 0, -1, np.array([1.2, 0.0], np.float32), make_contexts(0, 1)[0])
    assert item == 1


def test_mcns_chains_reach_the_target_and_persist():
    n = 12
    adj = sp.csr_matrix(np.roll(np.eye(n), 1, axis=1) + np.roll(np.eye(n), -1, axis=1))
    out = rng.standard_normal((n, 4)).astype(np.float32)
    s = ns.get("mcns", alpha=0.8, mix=0.3, seed=7).fit(output=out, positives=adj)
    vec = rng.standard_normal(4).astype(np.float32)
    target = s.distribution(anchor_vector=vec)
    draw, state = s.kernel()
    ctx = make_contexts(11, 1)[0]
    chain = np.array([draw(state, 0, -1, vec, ctx) for _ in range(60_000)])
    assert s._chains[0] == chain[-1]
    freq = np.bincount(chain, minlength=n) / chain.size
    assert 0.5 * np.abs(freq - target).sum() < 0.03
    order = s.dfs_order()
    assert sorted(order.tolist()) == list(range(n))
    assert all(adj[order[i], order[i + 1]] for i in range(n - 1))  # a path: DFS walks it


def test_mcns_new_anchor_starts_from_its_dfs_parent():
    adj = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    out = np.array([[0.0], [0.0], [1.0]], dtype=np.float32)
    s = ns.get("mcns", alpha=1000.0, mix=1.0).fit(output=out, positives=adj)
    np.testing.assert_array_equal(s.dfs_order(), [0, 1, 2])
    np.testing.assert_array_equal(s._parent, [-1, 0, 1])
    draw, state = s.kernel()
    ctx = make_contexts(0, 1)[0]
    ends = []
    for _ in range(20):
        s._chains[:] = [-1, 2, -1]  # anchor 2 is new; its DFS parent 1 sits on item 2
        ends.append(draw(state, 2, -1, np.ones(1, np.float32), ctx))
    # from item 2 every move is rejected (exp(-1000)); a uniform start would end elsewhere
    # with probability 4/9 per run
    assert ends == [2] * 20


def test_proba_renormalises_score_aware_exclusion():
    pos = sp.csr_matrix((np.ones(2), ([0, 0], [1, 4])), shape=(1, 6))
    s = ns.get("dns", n_candidates=2, exclude_positives=True, seed=0)
    s.fit(output=OUT6, input=VEC3[None, :], positives=pos)
    draws, q = s.sample(np.zeros(1000, np.int64), 100, return_proba=True)
    p = s.distribution(anchor_vector=VEC3)
    p[[1, 4]] = 0
    p /= p.sum()
    np.testing.assert_allclose(q, p[draws], rtol=1e-12)
    assert chi2_pvalue(draws, p) > 1e-3


def test_importance_weights():
    w = ns.importance_weights([0.2, 0.3, 0.5], [0.4, 0.3, 0.3])
    np.testing.assert_allclose(w, [0.5, 1.0, 5 / 3])
    sw = ns.importance_weights([[0.2, 0.3]], [[0.4, 0.3]], self_normalise=True)
    np.testing.assert_allclose(sw, [[1 / 3, 2 / 3]])
    with pytest.raises(ValueError, match="q must be finite and > 0"):
        ns.importance_weights([0.5], [0.0])
    assert ns.calibrate(0.5, 0.1) == pytest.approx(0.5 / (0.5 + 0.5 / 0.1))


def test_chi2_helper_rejects_a_wrong_law():
    draws = np.random.default_rng(0).integers(0, 4, 50_000)
    assert chi2_pvalue(draws, np.full(4, 0.25)) > 1e-3
    assert chi2_pvalue(draws, np.array([0.3, 0.2, 0.25, 0.25])) < 1e-6
    assert stats.chisquare([10, 10]).pvalue == 1.0


@njit(nogil=True)
def _draw_chunk(draw, state, vec, ctx, out):
    for i in range(out.shape[0]):
        out[i] = draw(state, 0, -1, vec, ctx)


@njit(nogil=True)
def _pairs(states, vecs, k, ctx, out):
    """Pair i: vector ``vecs[i % V]``, one next_pair, then k draws alternating between the two
    adaptive samplers' states (draw j from ``states[j % 2]``)."""
    for i in range(out.shape[0]):
        vec = vecs[i % vecs.shape[0]]
        next_pair(ctx)
        for j in range(k):
            out[i, j] = draw_adaptive(states[j % 2], 0, -1, vec, ctx)


SMALL8 = (VEC8 * 0.01).astype(np.float32)
LARGE8 = (VEC8[::-1] * 10.0).astype(np.float32)  # another shape, a far larger envelope


def test_adaptive_pair_envelope_is_renewed_with_each_pair():
    """The envelope max_f |v_f| σ_f is computed once a pair: a small vector's, kept for the
    next pair's large one (same anchor id), would distort the large one's law."""
    s = ns.get("adaptive", lam=3.0, seed=0).fit(output=OUT50)
    state = s.kernel()[1]
    out = np.empty((20_000, 10), np.int64)
    _pairs((state, state), np.stack([SMALL8, LARGE8]), 10, make_contexts(3, 1)[0], out)
    for i, vec in enumerate([SMALL8, LARGE8]):
        assert chi2_pvalue(out[i::2].ravel(), s.distribution(anchor_vector=vec)) > 1e-3


def test_adaptive_pair_envelope_is_kept_per_sampler():
    """Two samplers drawing in turn through one context within one pair: each uses its own
    envelope (the second's σ are 5x the first's)."""
    s1 = ns.get("adaptive", lam=3.0, seed=0).fit(output=OUT50)
    s2 = ns.get("adaptive", lam=3.0, seed=0).fit(output=OUT50 * np.float32(5.0))
    out = np.empty((10_000, 20), np.int64)
    _pairs((s1.kernel()[1], s2.kernel()[1]), LARGE8[None, :], 20, make_contexts(4, 1)[0], out)
    for j, s in enumerate([s1, s2]):
        assert chi2_pvalue(out[:, j::2].ravel(), s.distribution(anchor_vector=LARGE8)) > 1e-3


@pytest.mark.parametrize("dims", ["exact", "snapshot"])
def test_adaptive_draws_stay_valid_while_another_thread_refreshes(dims):
    out = OUT50.copy()
    s = ns.get("adaptive", lam=2.0, dims=dims, seed=0).fit(output=out, input=VEC8[None, :])
    draw, state = s.kernel()
    ctxs = make_contexts(5, 2)
    results = [np.empty(200_000, np.int64) for _ in range(2)]
    _draw_chunk(draw, state, VEC8, ctxs[0], results[0][:10])  # compile
    threads = [
        threading.Thread(target=_draw_chunk, args=(draw, state, VEC8, ctxs[i], results[i]))
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for _ in range(20):  # flip the table back and forth while the threads draw
        out[:] = out[::-1]
        s.refresh()
    for t in threads:
        t.join()
    assert s.generation == 20
    for r in results:
        assert r.min() >= 0 and r.max() < 50
    assert ctxs[:, CTX_DRAWS].sum() == 400_010


def test_adaptive_small_lambda_orders_exactly_the_reachable_ends():
    out = np.random.default_rng(3).standard_normal((2000, 6)).astype(np.float32)
    s = ns.get("adaptive", lam=5.0).fit(output=out)
    k, w = s.reach_, s._orders.shape[2]
    assert w == 2 * k < 2000  # only the ends are kept
    full = -np.sort(-out.T, axis=1)
    ends = s._orders[0].astype(np.int64)
    np.testing.assert_array_equal(np.take_along_axis(out.T, ends[:, :k], 1), full[:, :k])
    np.testing.assert_array_equal(np.take_along_axis(out.T, ends[:, k:], 1), full[:, -k:])
    vec = np.array([1, -1, 0.5, -0.5, 2, 0], np.float32)
    d = draw_many(s, vec, 200, 50).ravel()
    ranks = np.argsort(np.argsort(-out, axis=0), axis=0)  # rank of every item in every column
    assert np.all(np.min(np.minimum(ranks[d], 1999 - ranks[d]), axis=1) < k)
