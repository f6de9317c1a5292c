"""The sampler contract: static samplers, exclusion, seeds, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue
from numba import njit

import negkit.samplers as ns
from negkit._rng import make_contexts

N_DRAWS = 100_000
rng = np.random.default_rng(12345)
OUT = rng.standard_normal((12, 4)).astype(np.float32)
INP = rng.standard_normal((6, 4)).astype(np.float32)
POS = sp.csr_matrix(
    (np.ones(8), ([0, 0, 0, 1, 2, 2, 3, 5], [0, 3, 7, 11, 1, 2, 5, 0])), shape=(6, 12)
)


ADJ = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0.0]]) * [1, 4, 9])


def fit_args(name):
    if name == "uniform":
        return {"n_items": 12, "positives": POS}
    if name in ("unigram", "degree"):
        return {"counts": np.arange(1, 13), "positives": POS}
    if name == "queue":
        return {"n_items": 12, "positives": POS}
    if name == "span":  # 6 sentences of 12 tokens, spans of width 1: codes 0..11
        return {"lengths": np.full(6, 12), "positives": POS}
    if "exposures" in ns.get_class(name).fit_extras:  # impressions: every item shown to all
        return {"exposures": sp.csr_matrix(np.ones((6, 12))), "positives": POS}
    return {"output": OUT, "input": INP, "positives": POS}


def fitted(name, **params):
    """Every registered sampler fitted on the same small problem."""
    extra = {"max_width": 1} if name == "span" else {}
    return ns.get(name, **{"seed": 7, **extra, **params}).fit(**fit_args(name))


def test_public_api_unigram_matches_count_power():
    c = np.array([50, 20, 10, 5, 2, 1, 300, 7], dtype=np.float64)
    n = N_DRAWS // 5
    s = ns.get("unigram", alpha=0.75, seed=0).fit(counts=c)
    draws = s.sample(np.arange(n), 5)
    assert draws.shape == (n, 5) and draws.dtype == np.int64
    assert chi2_pvalue(draws, c**0.75 / (c**0.75).sum()) > 0.01


@pytest.mark.parametrize(
    "name,fit,expected",
    [
        ("uniform", {"n_items": 9}, np.full(9, 1 / 9)),
        ("unigram", {"counts": [0, 1, 4, 9, 16]}, np.array([0, 1, 2, 3, 4]) / 10),
        ("degree", {"positives": ADJ}, np.array([1, 2, 3]) / 6),
    ],
)
def test_static_distributions(name, fit, expected):
    s = ns.get(name, **({"alpha": 0.5} if name != "uniform" else {}), seed=1).fit(**fit)
    np.testing.assert_allclose(s.distribution(), expected)
    assert chi2_pvalue(s.sample(np.zeros(1000, dtype=np.int64), 100), expected) > 1e-3


def test_exclusion_renormalises_exactly():
    c = np.arange(1, 11, dtype=np.float64)
    pos = sp.csr_matrix((np.ones(3), ([0, 0, 0], [9, 4, 0])), shape=(1, 10))
    s = ns.get("unigram", alpha=1.0, seed=3, exclude_positives=True).fit(counts=c, positives=pos)
    q = c.copy()
    q[[0, 4, 9]] = 0
    q /= q.sum()
    draws = s.sample(np.zeros(1000, dtype=np.int64), 100, return_proba=True)
    np.testing.assert_allclose(draws[1], q[draws[0]])
    assert chi2_pvalue(draws[0], q) > 1e-3


def test_exclusion_falls_back_to_the_complement_when_positives_hold_the_mass():
    c = np.array([1e9, 1e9, 1, 1], dtype=np.float64)  # rejection almost never succeeds
    pos = sp.csr_matrix((np.ones(2), ([0, 0], [0, 1])), shape=(1, 4))
    s = ns.get("unigram", alpha=1.0, seed=3, exclude_positives=True).fit(counts=c, positives=pos)
    d = s.sample(np.zeros(200, dtype=np.int64), 50)
    assert set(np.unique(d)) == {2, 3}


@pytest.mark.parametrize("name", ns.available())
def test_exclusion_never_returns_a_positive(name):
    s = fitted(name, exclude_positives=True)
    anchors = np.repeat(np.arange(6), 200)
    pos = np.where(anchors % 2 == 0, 1, -1)
    draws = s.sample(anchors, 8, pos=pos)
    dense = POS.toarray() > 0
    assert not dense[anchors[:, None], draws].any()
    assert draws.min() >= 0 and draws.max() < 12


@pytest.mark.parametrize("name", ns.available())
def test_seeded_batches_repeat(name):
    anchors = np.arange(6).repeat(10)
    pos = np.arange(60) % 12
    a = fitted(name).sample(anchors, 5, pos=pos)
    b = fitted(name).sample(anchors, 5, pos=pos)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, fitted(name, seed=8).sample(anchors, 5, pos=pos))


@njit
def _kernel_loop(draw, state, anchors, vecs, ctx, k):
    out = np.empty((anchors.shape[0], k), dtype=np.int64)
    for r in range(anchors.shape[0]):
        for j in range(k):
            out[r, j] = draw(state, anchors[r], -1, vecs[r], ctx)
    return out


@pytest.mark.parametrize("name", ["uniform", "unigram", "adaptive", "dns", "srns", "mcns"])
def test_seeded_kernel_runs_repeat(name):
    anchors = np.arange(6).repeat(20)
    vecs = INP[anchors]
    runs = []
    for _ in range(2):
        draw, state = fitted(name).kernel()
        runs.append(_kernel_loop(draw, state, anchors, vecs, make_contexts(42, 1)[0], 4))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    s = ns.get("unigram", seed=0).fit(counts=np.arange(1, 6))
    out, q = s.sample(torch.arange(3), 4, return_proba=True)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int64 and out.shape == (3, 4)
    np.testing.assert_allclose(q.numpy(), s.distribution()[out.numpy()])


def test_bad_parameters_raise_clear_errors():
    with pytest.raises(ValueError, match="empty vocabulary"):
        ns.get("uniform").fit(n_items=0)
    with pytest.raises(ValueError, match="empty"):
        ns.get("unigram").fit(counts=[])
    with pytest.raises(ValueError, match="alpha"):
        ns.get("unigram", alpha=-0.5).fit(counts=[1, 2])
    with pytest.raises(ValueError, match="alpha"):
        ns.get("unigram", alpha=float("nan")).fit(counts=[1, 2])
    # flags from a spec's text (exclude_positives=no) were truthy: the option turned on
    for name, flag in (("unigram", "exclude_positives"), ("queue", "auto_push"),
                       ("adaptive", "refresh_async")):  # fmt: skip
        with pytest.raises(ValueError, match=f"{flag} must be true or false, got 'no'"):
            ns.get(name, **{flag: "no"})
    with pytest.raises(ValueError, match="exclude_positives must be true or false, got 1"):
        ns.get("uniform").set_params(exclude_positives=1)
    assert ns.get("uniform").set_params(exclude_positives=True).exclude_positives is True
    with pytest.raises(ValueError, match="k must be at least 1"):
        ns.get("uniform").fit(n_items=3).sample([0], 0)
    full = sp.csr_matrix(np.array([[1, 0, 1], [1, 1, 1]]))
    with pytest.raises(ValueError, match="anchor 1 has every one of the 3 items"):
        ns.get("uniform", exclude_positives=True).fit(n_items=3, positives=full)
    with pytest.raises(ValueError, match="lam"):
        ns.get("adaptive", lam=0).fit(output=OUT)
    with pytest.raises(ValueError, match="lam"):
        ns.get("rank", lam=-1.0).fit(output=OUT)
    for name in ("dns", "softmax", "rank", "ahns"):
        with pytest.raises(ValueError, match="n_candidates"):
            ns.get(name, n_candidates=0).fit(output=OUT)
    with pytest.raises(ValueError, match="max_trials"):
        ns.get("warp", max_trials=0).fit(output=OUT)
    with pytest.raises(ValueError, match="alpha"):
        ns.get("mcns", alpha=-1).fit(output=OUT, input=INP)
    with pytest.raises(ValueError, match="tau"):
        ns.get("softmax", tau=0).fit(output=OUT)
    with pytest.raises(ValueError, match="score-aware"):
        ns.get("dns").fit(n_items=3)
    with pytest.raises(ValueError, match="per-anchor state"):
        ns.get("srns").fit(output=OUT)
    with pytest.raises(ValueError, match="dims"):
        ns.get("dns").fit(output=OUT).sample([0], 2, anchor_vectors=np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match="out of range"):
        ns.get("warp").fit(output=OUT, input=INP).sample([0], 2, pos=[12])
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        ns.get("nope")


def test_real_item_popularity(real_data):
    """Unigram over MovieLens-100K item popularity, through the public API."""
    rows = np.loadtxt(real_data / "recsys" / "ml-100k" / "u.data", dtype=np.int64)
    counts = np.bincount(rows[:, 1] - 1).astype(np.float64)
    assert counts.size == 1682 and counts.sum() == 100_000
    s = ns.get("unigram", alpha=0.75, seed=0).fit(counts=counts)
    draws = s.sample(np.arange(N_DRAWS // 5), 5)
    assert chi2_pvalue(draws, counts**0.75 / (counts**0.75).sum()) > 0.01


def test_fit_rejects_unknown_keywords_and_proba_checks_shapes():
    with pytest.raises(TypeError, match="unexpected keyword"):
        ns.get("uniform").fit(n_items=3, n_anchor=4)
    ns.get("srns").fit(output=OUT, n_anchors=3)  # declared extra
    s = ns.get("unigram", alpha=1.0).fit(counts=[1, 2, 3, 4])
    np.testing.assert_allclose(s.proba([0, 3]), [0.1, 0.4])
    np.testing.assert_allclose(s.proba([[0, 1], [2, 3]], anchors=[0, 1]), [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="anchors has 3 entries for 2 rows"):
        s.proba([[0], [1]], anchors=[0, 1, 2])
    with pytest.raises(ValueError, match="ids in"):
        s.proba([4])
    with pytest.raises(ValueError, match="needs anchors or anchor_vectors"):
        ns.get("dns").fit(output=OUT).proba([1])
