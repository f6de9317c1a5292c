"""Exact laws against what ``sample()`` draws: exclusion's complement fallback, ``pos=`` in
``proba``, and the laws of samplers that the other files check only loosely."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns
from negkit.samplers.base import EXCLUDE_TRIES

torch = pytest.importorskip("torch")

rng = np.random.default_rng(1234)
OUT4 = np.array([[3.0], [2.0], [1.0], [0.0]], dtype=np.float32)
VEC1 = np.ones(1, dtype=np.float32)
OUT6 = rng.standard_normal((6, 3)).astype(np.float32)
VEC3 = rng.standard_normal(3).astype(np.float32)
TOP6 = int(np.argmax(OUT6 @ VEC3))


def _mixture(q, row, tries):
    """The first of ``tries`` draws of ``q`` outside ``row``, else uniform outside ``row``."""
    q = np.asarray(q, dtype=np.float64).copy()
    m = q[row].sum()
    q[row] = 0.0
    u = np.ones_like(q)
    u[row] = 0.0
    u /= u.sum()
    return q / q.sum() * (1 - m**tries) + m**tries * u


def test_exclusion_law_includes_the_complement_draw_after_the_rejections_host_and_device():
    # item 0, the positive, holds 97% of the mass: 0.97^64 = 14% of the draws are the
    # uniform complement draw, so the law is not q / (1 - m)
    counts = np.array([97.0, 2.6, 0.2, 0.2])
    pos = sp.csr_matrix(np.array([[1, 0, 0, 0]]))
    s = ns.get("unigram", alpha=1.0, seed=3, exclude_positives=True)
    s.fit(counts=counts, positives=pos)
    exact = _mixture(counts / counts.sum(), [0], EXCLUDE_TRIES)
    naive = np.array([0.0, 2.6, 0.2, 0.2]) / 3.0
    assert np.abs(exact - naive).max() > 0.05
    np.testing.assert_allclose(s.proba(np.arange(4), anchors=[0]), exact, rtol=1e-12)
    x, q = s.sample(np.zeros(20000, np.int64), 10, return_proba=True)
    assert chi2_pvalue(x, exact) > 1e-3
    np.testing.assert_allclose(q, exact[x], rtol=1e-12)
    xd, qd = s.sample(torch.zeros(20000, dtype=torch.int64), 10, return_proba=True)
    xd = xd.numpy()
    assert chi2_pvalue(xd, exact) > 1e-3
    np.testing.assert_allclose(qd.numpy(), exact[xd], rtol=1e-12)


def test_exclusion_law_of_the_device_path_uses_its_own_tries():
    # dns over 4 uniform candidates: the positive (best item) is the pick 68% of the time; the
    # device path rejects 4 times (not 64), so 22% of its draws are the complement draw
    s = ns.get("dns", n_candidates=4, seed=5, exclude_positives=True)
    s.fit(output=OUT4, positives=sp.csr_matrix(np.array([[1, 0, 0, 0]])))
    q = s.distribution(anchor_vector=VEC1)
    tries = s.device_tries
    assert tries < EXCLUDE_TRIES
    host, device = _mixture(q, [0], EXCLUDE_TRIES), _mixture(q, [0], tries)
    assert np.abs(host - device).max() > 0.05
    n = 20000
    vecs = np.ones((n, 1), np.float32)
    x, qx = s.sample(np.zeros(n, np.int64), 10, anchor_vectors=vecs, return_proba=True)
    assert chi2_pvalue(x, host) > 1e-3
    np.testing.assert_allclose(qx, host[x], rtol=1e-9)
    xd, qd = s.sample(
        torch.zeros(n, dtype=torch.int64), 10, anchor_vectors=torch.from_numpy(vecs),
        return_proba=True,
    )  # fmt: skip
    xd = xd.numpy()
    assert chi2_pvalue(xd, device) > 1e-3
    np.testing.assert_allclose(qd.numpy(), device[xd], rtol=1e-9)
    np.testing.assert_allclose(
        s.proba(np.arange(4), anchors=[0], anchor_vectors=VEC1, tries=tries), device, rtol=1e-9
    )


@pytest.mark.parametrize(
    "name,params",
    [
        ("dns", {"n_candidates": 3}),
        ("softmax", {"n_candidates": 3, "tau": 0.5}),
        ("rank", {"n_candidates": 3, "lam": 1.0}),
        ("ahns", {"n_candidates": 2, "alpha": 0.5, "beta": 0.8, "p": 1.0}),
    ],
)
@pytest.mark.parametrize("device", [False, True])
def test_return_proba_is_the_law_given_the_pairs_positive(name, params, device):
    s = ns.get(name, seed=2, **params).fit(output=OUT6)
    law = s.distribution(anchor_vector=VEC3, pos=TOP6)
    assert np.abs(law - s.distribution(anchor_vector=VEC3)).max() > 1e-3
    n = 3000
    anchors, vecs, pos = np.zeros(n, np.int64), np.tile(VEC3, (n, 1)), np.full(n, TOP6)
    if device:
        anchors, vecs, pos = (torch.from_numpy(a) for a in (anchors, vecs, pos))
    x, q = s.sample(anchors, 20, anchor_vectors=vecs, pos=pos, return_proba=True)
    x, q = np.asarray(x), np.asarray(q)
    assert chi2_pvalue(x, law) > 1e-3
    np.testing.assert_allclose(q, law[x], rtol=1e-9)
    np.testing.assert_allclose(
        s.proba(np.arange(6), anchor_vectors=VEC3, pos=TOP6), law, rtol=1e-12
    )


def test_proba_refuses_bad_pos_and_tries():
    s = ns.get("dns", n_candidates=3).fit(output=OUT6)
    with pytest.raises(ValueError, match="pos has 2 entries"):
        s.proba([[0], [1], [2]], anchor_vectors=VEC3, pos=[0, 1])
    with pytest.raises(ValueError, match="out of range"):
        s.proba([0], anchor_vectors=VEC3, pos=[6])
    with pytest.raises(ValueError, match="tries"):
        s.proba([0], anchor_vectors=VEC3, tries=-1)


# ------------------------------------------------------------------ adaptive (device path)
OUT30 = rng.standard_normal((30, 5)).astype(np.float32)
VEC5 = rng.standard_normal(5).astype(np.float32)


def _adaptive_law(s, out, v):
    """Brute force: ``Σ_f p(f | v) p(rank_f(i))``, σ and the orders of the table ``out``."""
    out = np.asarray(out, dtype=np.float64)
    n, d = out.shape
    w = np.abs(np.asarray(v, np.float64)) * out.std(axis=0)
    pf = w / w.sum()
    pr = s.rank_pmf()
    q = np.zeros(n)
    for f in range(d):
        order = np.argsort(-out[:, f], kind="stable")
        if v[f] <= 0:
            order = order[::-1]
        q[order] += pf[f] * pr
    return q


def _draws_follow(s, anchors, vecs, law):
    """25 device draws an anchor follow ``law`` (chi-square), and return_proba is ``law``."""
    x, q = s.sample(anchors, 25, anchor_vectors=vecs, return_proba=True)
    x, q = x.numpy(), q.numpy()
    assert chi2_pvalue(x, law) > 1e-3
    np.testing.assert_allclose(q, law[x], rtol=1e-9)


def test_adaptive_device_follows_a_refresh_and_reports_the_law_of_its_own_state():
    out = OUT30.copy()
    s = ns.get("adaptive", lam=1.5, refresh_every=10**9, seed=4).fit(output=out)
    n = 4000
    anchors = torch.zeros(n, dtype=torch.int64)
    vecs = torch.from_numpy(np.tile(VEC5, (n, 1)))
    s.sample(anchors[:10], 1, anchor_vectors=vecs[:10])  # the device builds its state
    first = _adaptive_law(s, out, VEC5)
    out[:] = out[::-1] * np.linspace(2.0, 0.5, 5, dtype=np.float32)  # the model moved
    s.refresh()  # the host rebuilds from the live table: so must the device
    law = _adaptive_law(s, out, VEC5)
    assert 0.5 * np.abs(law - first).sum() > 0.5
    np.testing.assert_allclose(s.distribution(anchor_vector=VEC5), law, atol=1e-6)
    _draws_follow(s, anchors, vecs, law)


def test_adaptive_device_proba_is_its_own_state_after_it_rebuilt_alone():
    # the device rebuilds every refresh_every draws from the live table; the host has not
    # refreshed, so distribution() is older: return_proba must give what the device drew
    out = OUT30.copy()
    s = ns.get("adaptive", lam=1.5, refresh_every=100, seed=6).fit(output=out)
    n = 4000
    anchors = torch.zeros(n, dtype=torch.int64)
    vecs = torch.from_numpy(np.tile(VEC5, (n, 1)))
    s.sample(anchors[:50], 2, anchor_vectors=vecs[:50])  # 100 draws: the next call rebuilds
    out[:] = out[::-1]
    law = _adaptive_law(s, out, VEC5)
    _draws_follow(s, anchors, vecs, law)


def test_adaptive_device_proba_under_exclusion_is_the_mixture_of_its_tries():
    out = OUT30.copy()
    law = None
    dense = np.zeros((2, 30))
    s0 = ns.get("adaptive", lam=1.5, seed=6).fit(output=out)
    law = _adaptive_law(s0, out, VEC5)
    top = np.argsort(-law)[:3]  # the positives: the three likeliest items (most of the mass)
    dense[0, top] = 1.0
    s = ns.get("adaptive", lam=1.5, seed=6, exclude_positives=True)
    s.fit(output=out, positives=sp.csr_matrix(dense))
    exact = _mixture(law, top, s.device_tries)
    n = 4000
    anchors = torch.zeros(n, dtype=torch.int64)
    vecs = torch.from_numpy(np.tile(VEC5, (n, 1)))
    x, q = s.sample(anchors, 25, anchor_vectors=vecs, return_proba=True)
    x, q = x.numpy(), q.numpy()
    assert chi2_pvalue(x, exact) > 1e-3
    np.testing.assert_allclose(q, exact[x], rtol=1e-9)
    # anchor 1 has no positives: the plain law
    x1, q1 = s.sample(anchors + 1, 5, anchor_vectors=vecs, return_proba=True)
    np.testing.assert_allclose(q1.numpy(), law[x1.numpy()], rtol=1e-9)


# ------------------------------------------------------------------ band (margins)
INP5 = rng.standard_normal((3, 5)).astype(np.float32)


@pytest.mark.parametrize("margins", [{"absolute_margin": 0.3}, {"relative_margin": 0.2},
                                     {"absolute_margin": 0.6, "relative_margin": 0.1}])  # fmt: skip
def test_band_law_given_the_positive_applies_the_margins(margins):
    s = ns.get("band", range_max=12, seed=3, **margins).fit(output=OUT30, input=INP5)
    scores = OUT30.astype(np.float64) @ INP5[0].astype(np.float64)
    best = int(np.argmax(scores))  # a positive that scores high
    band = s.band_ids_[s.band_indptr_[0] : s.band_indptr_[1]]
    s_pos = scores[best]
    thr = np.inf
    if "absolute_margin" in margins:
        thr = s_pos - margins["absolute_margin"]
    if "relative_margin" in margins:
        thr = min(thr, s_pos * (1 - margins["relative_margin"]))
    kept = band[scores[band] <= thr]
    assert 0 < kept.size < band.size
    law = np.zeros(30)
    law[kept] = 1.0 / kept.size
    np.testing.assert_allclose(s.distribution(0, pos=best), law)
    n = 3000
    x, q = s.sample(np.zeros(n, np.int64), 10, pos=np.full(n, best), return_proba=True)
    assert chi2_pvalue(x, law) > 1e-3
    np.testing.assert_allclose(q, law[x])
    # no margin applies without the positive: the whole band
    x0, q0 = s.sample(np.zeros(n, np.int64), 1, return_proba=True)
    np.testing.assert_allclose(q0, 1.0 / band.size)


# ------------------------------------------------------------------ tools
def test_snis_weights_formula_and_extreme_log_q():
    s = np.array([[0.3, -1.2, 2.0], [0.0, 0.5, 0.1]])
    lq = np.log(np.array([[0.2, 0.5, 0.3], [0.1, 0.6, 0.3]]))
    raw = np.exp(s / 0.7) / np.exp(lq)
    np.testing.assert_allclose(
        ns.snis_weights(s, lq, tau=0.7), raw / raw.sum(-1, keepdims=True), rtol=1e-12
    )
    # q below float64's range for one draw: its weight is e^{s/τ - log q}, not an error
    w = ns.snis_weights([[0.0, 0.0]], [[-800.0, -801.0]])
    np.testing.assert_allclose(w, [[1 / (1 + np.e), np.e / (1 + np.e)]], rtol=1e-12)
    w = ns.snis_weights([[-900.0, 0.0]], [[-900.0, 0.0]])  # both weights e^0: equal
    np.testing.assert_allclose(w, [[0.5, 0.5]], rtol=1e-12)
    for bad_s, bad_lq in (([[np.nan, 0.0]], [[0.0, 0.0]]), ([[0.0, 0.0]], [[-np.inf, 0.0]])):
        with pytest.raises(ValueError, match="finite"):
            ns.snis_weights(bad_s, bad_lq)


def test_calibrate_refuses_nan():
    assert ns.calibrate(0.2, 0.5) == pytest.approx(0.2 / (0.2 + 0.8 / 0.5))
    with pytest.raises(ValueError, match="keep rate"):
        ns.calibrate(0.5, np.nan)
    with pytest.raises(ValueError, match="probabilities"):
        ns.calibrate([0.5, np.nan], 0.5)


# ------------------------------------------------------------------ mcns
def test_mcns_independence_chain_reaches_the_target_and_mix_zero_is_refused():
    from negkit._rng import make_contexts

    out = rng.standard_normal((8, 3)).astype(np.float32)
    users = sp.csr_matrix((np.ones(3), ([0, 0, 0], [1, 4, 6])), shape=(2, 8))  # not a graph
    s = ns.get("mcns", alpha=0.9, mix=0.4, seed=2).fit(output=out, positives=users)
    assert not s._graph
    vec = rng.standard_normal(3).astype(np.float32)
    target = s.distribution(anchor_vector=vec)
    draw, state = s.kernel()
    ctx = make_contexts(5, 1)[0]
    chain = np.array([draw(state, 0, -1, vec, ctx) for _ in range(60_000)])
    freq = np.bincount(chain, minlength=8) / chain.size
    assert 0.5 * np.abs(freq - target).sum() < 0.03
    # mix = 0: only the anchor's positives are proposed; a chain that starts elsewhere has
    # q(start | positive) = 0 and never moves
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="mix"):
            ns.get("mcns", mix=bad).fit(output=out, positives=users)


# ------------------------------------------------------- every closed-form law, host and device
_OUT8 = (np.random.default_rng(0).standard_normal((8, 3)) * 1.5).astype(np.float32)
_VEC = np.random.default_rng(1).standard_normal(3).astype(np.float32)
_TOP2 = np.argsort(-(_OUT8 @ _VEC))[:2]  # the anchor's positives: its two best-scored items
_COUNTS = np.array([50.0, 20, 1, 1, 2, 3, 1, 1])


@pytest.mark.parametrize(
    "name,params,fit",
    [
        ("uniform", {}, {"n_items": 8}),
        ("unigram", {"alpha": 1.0}, {"counts": _COUNTS}),
        ("degree", {"alpha": 1.0}, {"counts": _COUNTS}),
        ("dns", {"n_candidates": 3}, {"output": _OUT8}),
        ("softmax", {"n_candidates": 3, "tau": 0.3}, {"output": _OUT8}),
        ("rank", {"n_candidates": 3, "lam": 0.5}, {"output": _OUT8}),
        ("ahns", {"n_candidates": 3, "alpha": 0.1}, {"output": _OUT8}),
        ("irgan", {"tau": 0.3}, {"output": _OUT8}),
        ("adaptive", {"lam": 1.0}, {"output": _OUT8}),
    ],
)
def test_excluding_laws_with_a_positive_host_and_device(name, params, fit):
    dense = np.zeros((2, 8))
    dense[0, _TOP2] = 1.0
    s = ns.get(name, seed=1, exclude_positives=True, **params)
    s.fit(positives=sp.csr_matrix(dense), **fit)
    n, pos = 10000, 5  # the pair's positive: no known positive, masked by the candidates
    v = _VEC if s.score_aware else None
    vecs = np.tile(_VEC, (n, 1)) if s.score_aware else None
    for device in (False, True):
        tries = s.device_tries if device else EXCLUDE_TRIES
        law = s.proba(np.arange(8), anchors=[0], anchor_vectors=v, pos=pos, tries=tries)
        assert law[_TOP2].sum() == 0 and abs(law.sum() - 1) < 1e-12
        a, p, vv = np.zeros(n, np.int64), np.full(n, pos), vecs
        if device:
            a, p = torch.from_numpy(a), torch.from_numpy(p)
            vv = None if vecs is None else torch.from_numpy(vecs)
        x, q = s.sample(a, 5, anchor_vectors=vv, pos=p, return_proba=True)
        x, q = np.asarray(x), np.asarray(q)
        assert chi2_pvalue(x, law) > 1e-3, device
        np.testing.assert_allclose(q, law[x], rtol=1e-6)


# ------------------------------------------------------------------ unigram
@pytest.mark.parametrize(
    "counts,alpha",
    [(np.array([1.0, 2, 3, 10]), 400.0), (np.array([1e200, 2e200, 0.0, 1.0]), 2.0)],
)
def test_unigram_law_does_not_overflow(counts, alpha):
    s = ns.get("unigram", alpha=alpha, seed=0).fit(counts=counts)
    lw = np.where(counts > 0, alpha * np.log(np.where(counts > 0, counts, 1.0)), -np.inf)
    law = np.exp(lw - lw.max())
    law /= law.sum()
    np.testing.assert_allclose(s.distribution(), law, rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(s.distribution()))
    x = s.sample(np.zeros(5000, np.int64), 4)
    assert chi2_pvalue(x, law) > 1e-3
    assert chi2_pvalue(s.sample(torch.zeros(5000, dtype=torch.int64), 4).numpy(), law) > 1e-3


def test_band_refuses_a_bad_refresh_period():
    for bad in (0, -1, 1.5, float("nan"), "x", True):
        with pytest.raises((TypeError, ValueError), match="refresh_every"):
            ns.get("band", refresh_every=bad).fit(output=OUT30, input=INP5)
    s = ns.get("band", refresh_every=3).fit(output=OUT30, input=INP5)
    assert s.maybe_refresh(np.zeros((1, 8), np.int64)) is False
