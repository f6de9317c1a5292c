"""Hard-negative samplers never hand back the pair's positive while another candidate exists."""

from __future__ import annotations

import numpy as np
import pytest
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns

rng = np.random.default_rng(7)
OUT6 = rng.standard_normal((6, 3)).astype(np.float32)
VEC3 = rng.standard_normal(3).astype(np.float32)
TOP = int(np.argmax(OUT6 @ VEC3))  # the item a trained model would score highest: the positive


def draws(s, pos, n_rows=1000, k=100):
    anchors = np.zeros(n_rows, dtype=np.int64)
    return s.sample(anchors, k, anchor_vectors=np.tile(VEC3, (n_rows, 1)), pos=np.full(n_rows, pos))


@pytest.mark.parametrize(
    "name,params",
    [
        ("dns", {"n_candidates": 3}),
        ("softmax", {"n_candidates": 3, "tau": 0.5}),
        ("rank", {"n_candidates": 3, "lam": 1.0}),
        ("rank", {"n_candidates": 8, "lam": 2.0}),  # every item, ranked
    ],
)
def test_positive_is_last_choice_and_law_is_exact(name, params):
    s = ns.get(name, seed=11, **params).fit(output=OUT6)
    q = s.distribution(anchor_vector=VEC3, pos=TOP)
    q_free = s.distribution(anchor_vector=VEC3)
    assert abs(q.sum() - 1) < 1e-12
    m = params["n_candidates"]
    # the positive only when every candidate is the positive (never, when all items are scored)
    expected_top = 0.0 if (m >= 6 and name == "rank") else 6.0**-m
    assert q[TOP] == pytest.approx(expected_top, abs=1e-15)
    assert q_free[TOP] > 10 * q[TOP]  # without pos= it is the favourite
    x = draws(s, TOP)
    assert chi2_pvalue(x, q) > 1e-3


def test_dns_with_the_positive_as_best_candidate_returns_the_runner_up():
    out = np.array([[3.0], [2.0], [1.0]], dtype=np.float32)
    s = ns.get("dns", n_candidates=2, seed=0).fit(output=out)
    q = s.distribution(anchor_vector=np.ones(1, np.float32), pos=0)
    # keys: item 0 (the positive) -inf < item 2 < item 1; best of 2 of 3 uniform candidates:
    # item 0 only as (0, 0); item 2 when no item 1 is drawn, less (0, 0); item 1 otherwise
    np.testing.assert_allclose(q, [1 / 9, 1 - 4 / 9, 4 / 9 - 1 / 9])
    x = s.sample(
        np.zeros(20000, np.int64),
        5,
        anchor_vectors=np.ones((20000, 1), np.float32),
        pos=np.zeros(20000, np.int64),
    )
    assert chi2_pvalue(x, q) > 1e-3


def test_srns_never_picks_a_slot_holding_the_positive_after_warm_up():
    out = np.eye(4, dtype=np.float32) * np.array([5.0, 1.0, 1.0, 1.0], dtype=np.float32)[:, None]
    s = ns.get("srns", memory=4, warmup=0, seed=3).fit(output=out, n_anchors=1)
    vec = np.ones((1, 4), np.float32)
    picks = np.array(
        [s.sample(np.zeros(1, np.int64), 1, anchor_vectors=vec, pos=[0])[0, 0] for _ in range(300)]
    )
    memory_all_positive = 0.25**4
    assert np.mean(picks == 0) <= memory_all_positive + 0.02
