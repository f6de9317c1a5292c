"""dns and rank keep their candidates in stack scratch: same draws as a plain reference
kernel (argsort over heap arrays), exact laws on the heap path (more than STACK_SLOTS
candidates), and threads that draw at once do not share scratch."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from _sampler_stats import chi2_pvalue
from numba import njit

import negkit.samplers as ns
from negkit._rng import make_contexts, rand_int
from negkit.samplers._candidates import STACK_SLOTS, cand_score, rank_select
from negkit.samplers._kernels import trunc_geom, trunc_geom_pmf
from negkit.samplers.base import _sample_batch, per_draw_pair

rng = np.random.default_rng(77)
OUT = rng.standard_normal((40, 5)).astype(np.float32)
VECS = rng.standard_normal((300, 5)).astype(np.float32)


@njit
def _reference_rank(state, anchor, pos, vec, ctx):
    """The rank law written plainly: heap arrays and a stable argsort of the scores."""
    n = state[0].shape[0]
    m = state[1]
    size = min(n, m)
    ids = np.empty(size, dtype=np.int64)
    scores = np.empty(size, dtype=np.float32)
    for j in range(size):
        ids[j] = j if n <= m else rand_int(ctx, n)
        scores[j] = cand_score(state[0], ids[j], vec, pos)
    order = np.argsort(-scores, kind="mergesort")
    live = np.sum(scores != -np.inf)
    if live == 0:
        return ids[0]
    if live == size:
        r = trunc_geom(ctx, size, state[2], state[3])
    else:
        r = trunc_geom(ctx, live, state[2], -np.expm1(-live / state[2]))
    return ids[order[r]]


@njit
def _reference_dns(state, anchor, pos, vec, ctx):
    n = state[0].shape[0]
    best = rand_int(ctx, n)
    top = cand_score(state[0], best, vec, pos)
    for _ in range(state[1] - 1):
        c = rand_int(ctx, n)
        s = cand_score(state[0], c, vec, pos)
        if s > top:
            best, top = c, s
    return best


def _draws(draw, state, vecs, pos, seed=5, k=4):
    n = vecs.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    ctx = make_contexts(seed, 1)[0]
    _sample_batch(per_draw_pair(draw), state, np.zeros(n, np.int64), pos, vecs, ctx, out)
    return out


@pytest.mark.parametrize("n_items", [3, 40])  # 3 items: pos is often a candidate
@pytest.mark.parametrize("m", [1, 4, 32, STACK_SLOTS, STACK_SLOTS + 9])
def test_rank_and_dns_draw_what_the_plain_reference_draws(n_items, m):
    out = OUT[:n_items]
    pos = np.arange(VECS.shape[0], dtype=np.int64) % (n_items + 1) - 1  # -1 and every item
    for name, ref, params in [
        ("rank", _reference_rank, {"lam": 2.0}),
        ("dns", _reference_dns, {}),
    ]:
        draw, state = ns.get(name, n_candidates=m, **params).fit(output=out).kernel()
        np.testing.assert_array_equal(
            _draws(draw, state, VECS, pos), _draws(ref, state, VECS, pos), err_msg=name
        )


@njit
def _select(scores, r):
    top = np.empty(scores.shape[0], dtype=np.int64)
    return rank_select(scores, scores.shape[0], r, top)


def test_rank_select_is_a_stable_descending_sort_with_ties():
    for size in (1, 2, 7, 33, 64):
        scores = rng.integers(-3, 4, size).astype(np.float32)  # many ties
        scores[rng.random(size) < 0.1] = -np.inf
        order = np.argsort(-scores, kind="stable")
        for r in range(size):
            assert _select(scores, r) == order[r], (size, r)


def test_rank_over_more_items_than_the_stack_holds_is_the_geometric():
    n = STACK_SLOTS + 6  # every item is ranked, in heap scratch
    out = rng.standard_normal((n, 4)).astype(np.float32)
    vec = rng.standard_normal(4).astype(np.float32)
    s = ns.get("rank", n_candidates=n + 1, lam=6.0, seed=2).fit(output=out)
    q = np.zeros(n)
    q[np.argsort(-(out @ vec), kind="stable")] = trunc_geom_pmf(n, 6.0)
    np.testing.assert_allclose(s.distribution(anchor_vector=vec), q)
    draws = s.sample(np.zeros(2000, np.int64), 50, anchor_vectors=np.tile(vec, (2000, 1)))
    assert chi2_pvalue(draws, q) > 1e-3


def test_dns_with_more_candidates_than_the_stack_holds_is_best_of_m():
    s = ns.get("dns", n_candidates=2 * STACK_SLOTS + 5, seed=4).fit(output=OUT)
    vec = VECS[0]
    q = s.distribution(anchor_vector=vec, pos=int(np.argmax(OUT @ vec)))
    draws = s.sample(
        np.zeros(2000, np.int64),
        50,
        anchor_vectors=np.tile(vec, (2000, 1)),
        pos=np.full(2000, int(np.argmax(OUT @ vec))),
    )
    assert chi2_pvalue(draws, q) > 1e-3


@pytest.mark.parametrize("name", ["dns", "rank"])
def test_threads_drawing_at_once_draw_what_each_draws_alone(name):
    draw, state = ns.get(name, n_candidates=16).fit(output=OUT).kernel()
    vecs = np.tile(VECS, (40, 1))
    pos = np.full(vecs.shape[0], -1, dtype=np.int64)
    alone = [_draws(draw, state, vecs, pos, seed=s) for s in (1, 2)]
    together: list = [None, None]

    def run(i):
        together[i] = _draws(draw, state, vecs, pos, seed=i + 1)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
