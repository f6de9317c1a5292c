"""Exposure-aware samplers: exact laws on a synthetic exposure log (chi-square), bad settings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns

N_USERS, N_ITEMS = 5, 30


def _log(seed: int = 0):
    """Impressions with a popular head (items 0-4 shown to everyone, many times) and clicks."""
    rng = np.random.default_rng(seed)
    shown = rng.random((N_USERS, N_ITEMS)) < 0.4
    shown[:, :5] = True
    times = np.where(shown, rng.integers(1, 4, (N_USERS, N_ITEMS)), 0)
    times[:, :5] *= 20  # the head is shown far more often
    clicks = shown & (rng.random((N_USERS, N_ITEMS)) < 0.3)
    clicks[:, 0] = False
    shown[4] = clicks[4] = False  # user 4: no impression at all
    times[4] = 0
    return sp.csr_matrix(times.astype(float)), sp.csr_matrix(clicks.astype(float))


def _draw(s, anchor, n=40_000):
    return s.sample(np.full(n // 20, anchor), 20)


def test_exposure_mixes_real_negatives_with_uniform_at_the_rate():
    e, c = _log()
    s = ns.get("exposure", rate=0.7, seed=1).fit(n_items=N_ITEMS, positives=c, exposures=e)
    real = (e.toarray() > 0) & ~(c.toarray() > 0)
    for u in (0, 3):
        q = np.full(N_ITEMS, 0.3 / N_ITEMS)
        q[real[u]] += 0.7 / real[u].sum()  # by hand: rate/|E_u| + (1 - rate)/|I|
        np.testing.assert_allclose(s.distribution(u), q)
        assert chi2_pvalue(_draw(s, u), q) > 1e-3
    np.testing.assert_allclose(s.distribution(4), np.full(N_ITEMS, 1 / N_ITEMS))  # nothing shown
    assert chi2_pvalue(_draw(s, 4), np.full(N_ITEMS, 1 / N_ITEMS)) > 1e-3


def test_real_negative_subsampling_keeps_items_with_probability_sqrt_t_over_f():
    e, c = _log()
    t = 0.01
    s = ns.get("exposure_subsample", t=t, seed=2).fit(n_items=N_ITEMS, positives=c, exposures=e)
    f = np.asarray(e.sum(axis=0)).ravel() / e.sum()
    keep = np.where(f > 0, np.minimum(1, np.sqrt(t / np.where(f > 0, f, 1))), 1.0)
    assert keep[:5].max() < 1 and np.all(keep[5:][f[5:] > 0] <= 1)  # the head is thinned
    real = (e.toarray() > 0) & ~(c.toarray() > 0)
    u = 1
    q = real[u] * keep
    q = q / q.sum()
    np.testing.assert_allclose(s.distribution(u), q)
    assert chi2_pvalue(_draw(s, u), q) > 1e-3
    q4 = keep / keep.sum()  # no impression: every item, thinned the same way
    assert chi2_pvalue(_draw(s, 4), q4) > 1e-3


def test_exposure_groups_split_at_the_threshold():
    counts = np.array([100, 50, 20, 9, 5, 1, 0, 3, 40, 2], dtype=float)
    s = ns.get("exposure_groups", threshold=10, p_low=0.3, seed=3).fit(counts=counts)
    high = counts >= 10
    q = np.where(high, 0.7 * counts / counts[high].sum(), 0.3 / (~high).sum())
    np.testing.assert_allclose(s.distribution(), q)
    assert chi2_pvalue(_draw(s, 0), q) > 1e-3
    # fitted on the impression table: the counts are its column sums
    e, _ = _log()
    s2 = ns.get("exposure_groups", threshold=30, p_low=0.5, seed=3).fit(exposures=e)
    col = np.asarray(e.sum(axis=0)).ravel()
    np.testing.assert_array_equal(s2.high_, np.flatnonzero(col >= 30))
    assert chi2_pvalue(_draw(s2, 0), s2.distribution()) > 1e-3
    # one empty group: all mass on the other
    s3 = ns.get("exposure_groups", threshold=1000, seed=0).fit(counts=counts)
    np.testing.assert_allclose(s3.distribution(), np.full(10, 0.1))


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("exposure", {"rate": 1.5}, "rate"),
        ("exposure", {"rate": True}, "rate"),
        ("exposure_subsample", {"t": 0}, "t must"),
        ("exposure_groups", {"p_low": -0.1}, "p_low"),
        ("exposure_groups", {"threshold": 0}, "threshold"),
    ],
)
def test_bad_settings_are_refused(name, params, match):
    with pytest.raises(ValueError, match=match):
        ns.get(name, **params).fit(n_items=N_ITEMS)


def test_exposure_table_must_match_the_items():
    e, c = _log()
    with pytest.raises(ValueError, match="item columns"):
        ns.get("exposure").fit(n_items=N_ITEMS + 1, exposures=e)
    with pytest.raises(ValueError, match="non-negative"):
        ns.get("exposure").fit(n_items=N_ITEMS, exposures=-e)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ns.get("uniform").fit(n_items=N_ITEMS, exposures=e)


def test_fitted_without_impressions_is_refused():
    """Without the impression table the exposure samplers would draw by another law."""
    from negkit import Word2Vec
    from negkit.graph.line import LINE

    _, c = _log()
    counts = np.arange(1.0, N_ITEMS + 1)
    for name in ("exposure", "exposure_subsample"):  # real negatives need exposures=
        with pytest.raises(ValueError, match=f"'{name}' draws from impressions: fit it with "
                           r"exposures= \(the user x item impression matrix\);"):  # fmt: skip
            ns.get(name).fit(n_items=N_ITEMS, counts=counts, positives=c)
    with pytest.raises(ValueError, match=r"exposures= .* or counts= \(each item's exposure"):
        ns.get("exposure_groups").fit(n_items=N_ITEMS, positives=c)  # clicks are not exposures
    corpus = [["a", "b", "c", "a"], ["b", "c", "d"]] * 5
    with pytest.raises(ValueError, match="'exposure' draws from impressions"):
        Word2Vec(vector_size=4, min_count=1, epochs=1, sampler="exposure", progress=False).fit(
            corpus
        )
    ring = sp.csr_matrix(np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1))
    with pytest.raises(ValueError, match="'exposure_subsample' draws from impressions"):
        LINE(4, epochs=1, sampler="exposure_subsample").fit(ring)
