"""Device paths of the samplers: the same laws by chi-square, drawn with torch on the anchors'
device (torch CPU here; CUDA too when a GPU is present), positives excluded there."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns
from negkit.samplers._kernels import trunc_geom_pmf

torch = pytest.importorskip("torch")

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]
DEVICE_SAMPLERS = [
    "uniform", "unigram", "degree", "dns", "softmax", "rank", "ahns", "warp", "srns", "adaptive",
    "irgan",
]  # fmt: skip

rng = np.random.default_rng(31)
OUT6 = rng.standard_normal((6, 3)).astype(np.float32)
VEC3 = rng.standard_normal(3).astype(np.float32)
OUT50 = rng.standard_normal((50, 8)).astype(np.float32)
VEC8 = rng.standard_normal(8).astype(np.float32)
POS = sp.csr_matrix(
    (np.ones(8), ([0, 0, 0, 1, 2, 2, 3, 5], [0, 3, 7, 11, 1, 2, 5, 0])), shape=(6, 12)
)
OUT12 = rng.standard_normal((12, 4)).astype(np.float32)
INP6 = rng.standard_normal((6, 4)).astype(np.float32)


def on(device, x, dtype=None):
    return torch.as_tensor(np.asarray(x), device=device, dtype=dtype)


def device_draws(s, device, vec, n_rows=1000, k=100, pos=None):
    anchors = torch.zeros(n_rows, dtype=torch.int64, device=device)
    vecs = on(device, np.tile(vec, (n_rows, 1)))
    p = None if pos is None else torch.full((n_rows,), pos, device=device)
    out = s.sample(anchors, k, anchor_vectors=vecs, pos=p)
    assert out.device.type == torch.device(device).type and out.shape == (n_rows, k)
    return out.cpu().numpy()


def test_the_recommender_samplers_have_a_device_path():
    for name in DEVICE_SAMPLERS:
        assert ns.get_class(name).device_path, name
    assert not ns.get_class("mcns").device_path  # host path, copied (see its docstring)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "name,fit,expected",
    [
        ("uniform", {"n_items": 9}, np.full(9, 1 / 9)),
        ("unigram", {"counts": [0, 1, 4, 9, 16]}, np.array([0, 1, 2, 3, 4]) / 10),
        ("degree", {"positives": sp.csr_matrix(np.array([[0, 1, 2], [1, 0, 6], [2, 6, 0.0]]))},
         np.array([3, 7, 8]) ** 0.5 / (3**0.5 + 7**0.5 + 8**0.5)),
    ],
)  # fmt: skip
def test_static_laws_on_device(device, name, fit, expected):
    s = ns.get(name, **({"alpha": 0.5} if name != "uniform" else {}), seed=1).fit(**fit)
    np.testing.assert_allclose(s.distribution(), expected)
    draws = s.sample(torch.zeros(1000, dtype=torch.int64, device=device), 100)
    assert chi2_pvalue(draws.cpu().numpy(), expected) > 1e-3


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["uniform", "unigram"])
def test_exclusion_on_device_renormalises_exactly(device, name):
    c = np.arange(1, 11, dtype=np.float64)
    pos = sp.csr_matrix((np.ones(4), ([0, 0, 0, 1], [9, 4, 0, 2])), shape=(2, 10))
    s = ns.get(name, seed=3, exclude_positives=True).fit(counts=c, positives=pos)
    for anchor, row in ((0, [0, 4, 9]), (1, [2]), (5, [])):  # anchor 5: no row, no exclusion
        q = s.distribution().copy()
        q[row] = 0
        q /= q.sum()
        anchors = torch.full((1000,), anchor, dtype=torch.int64, device=device)
        draws, proba = s.sample(anchors, 100, return_proba=True)
        d = draws.cpu().numpy()
        np.testing.assert_allclose(proba.cpu().numpy(), q[d])
        assert chi2_pvalue(d, q) > 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_exclusion_on_device_falls_back_to_the_complement(device):
    c = np.array([1e9, 1e9, 1, 1, 1], dtype=np.float64)  # every rejection try fails
    pos = sp.csr_matrix((np.ones(2), ([0, 0], [0, 1])), shape=(1, 5))
    s = ns.get("unigram", alpha=1.0, seed=3, exclude_positives=True).fit(counts=c, positives=pos)
    d, q = s.sample(torch.zeros(3000, dtype=torch.int64, device=device), 10, return_proba=True)
    assert chi2_pvalue(d.cpu().numpy(), [0, 0, 1 / 3, 1 / 3, 1 / 3]) > 1e-3
    np.testing.assert_allclose(q.cpu().numpy(), 1 / 3, rtol=1e-6)  # computed on the device
    assert q.device == d.device


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", DEVICE_SAMPLERS + ["mcns"])  # mcns: the host path, copied
def test_exclusion_on_device_never_returns_a_positive(device, name):
    fit = {"n_items": 12} if name == "uniform" else {"counts": np.arange(1, 13)}
    if ns.get_class(name).score_aware:
        fit = {"output": OUT12, "input": INP6}
    s = ns.get(name, seed=7, exclude_positives=True).fit(positives=POS[:5], **fit)
    anchors = np.repeat(np.arange(6), 200)  # anchor 5: outside the positives, its item 0 allowed
    pos = np.where(anchors % 2 == 0, 1, -1)
    draws = s.sample(on(device, anchors), 8, pos=on(device, pos))
    assert isinstance(draws, torch.Tensor) and draws.device.type == torch.device(device).type
    d = draws.cpu().numpy()
    assert not (POS[:5].toarray() > 0)[np.minimum(anchors, 4)[:, None], d][anchors < 5].any()
    assert d.min() >= 0 and d.max() < 12


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "name,params,pos",
    [
        ("dns", {"n_candidates": 3}, None),
        ("dns", {"n_candidates": 3}, "top"),
        ("softmax", {"n_candidates": 3, "tau": 0.7}, None),
        ("softmax", {"n_candidates": 3, "tau": 0.5}, "top"),
        ("rank", {"n_candidates": 3, "lam": 1.0}, "top"),
        ("rank", {"n_candidates": 8, "lam": 2.0}, "top"),  # |I| <= M: every item, ranked
        ("ahns", {"n_candidates": 2, "alpha": 0.5, "beta": 0.8, "p": 1.0}, 1),
        ("ahns", {"n_candidates": 3}, None),  # no positive: uniform
    ],
)
def test_candidate_rules_on_device_match_the_exact_law(device, name, params, pos):
    if pos == "top":  # the item a trained model scores highest, as the positive
        pos = int(np.argmax(OUT6 @ VEC3))
    s = ns.get(name, seed=3, **params).fit(output=OUT6)
    q = s.distribution(anchor_vector=VEC3, pos=pos)
    assert abs(q.sum() - 1) < 1e-12
    assert chi2_pvalue(device_draws(s, device, VEC3, pos=pos), q) > 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_rank_on_device_over_every_item_is_the_geometric_over_the_score_order(device):
    s = ns.get("rank", n_candidates=10, lam=1.5, seed=2).fit(output=OUT6)
    order = np.argsort(-(OUT6 @ VEC3))
    q = np.zeros(6)
    q[order] = trunc_geom_pmf(6, 1.5)
    assert chi2_pvalue(device_draws(s, device, VEC3, n_rows=500), q) > 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_warp_on_device_returns_violators_with_geometric_trials(device):
    s = ns.get("warp", max_trials=10, margin=0.2, seed=5).fit(output=OUT50)
    scores = OUT50 @ VEC8
    pos = int(np.argsort(scores)[44])
    viol = scores > scores[pos] - 0.2
    rho = viol.mean()
    miss = (1 - rho) ** 10  # no violator in 10 trials: the last (a non-violator) is returned
    q = np.where(viol, (1 - miss) / viol.sum(), miss / (~viol).sum())
    d = device_draws(s, device, VEC8, n_rows=400, k=50, pos=pos)
    assert chi2_pvalue(d, q) > 1e-3
    trials = s.trials_.cpu().numpy().ravel()
    law = (1 - rho) ** np.arange(10) * rho
    law = np.append(miss, law)  # 0: no violation within max_trials
    assert chi2_pvalue(trials, law) > 1e-3
    assert np.all(viol[d.ravel()[trials > 0]]) and not np.any(viol[d.ravel()[trials == 0]])


@pytest.mark.parametrize("device", DEVICES)
def test_score_aware_device_path_reads_the_live_tables(device):
    out = OUT6.copy()
    s = ns.get("dns", n_candidates=4, seed=0).fit(output=out, input=np.tile(VEC3, (2, 1)))
    anchors = torch.zeros(4000, dtype=torch.int64, device=device)
    if device == "cpu":  # the numpy table is shared with the tensor: live without a copy
        out[:] = -OUT6
        q = s.distribution(anchor=0)
        assert chi2_pvalue(s.sample(anchors, 10).cpu().numpy(), q) > 1e-3
    live = torch.as_tensor(OUT6, device=device)
    s.use_tables(output=live, input=torch.as_tensor(np.tile(-VEC3, (2, 1)), device=device))
    live.mul_(2.0)  # by reference: the sampler sees the in-place change (same order)
    out[:] = OUT6
    q = s.distribution(anchor_vector=-VEC3)
    assert chi2_pvalue(s.sample(anchors, 10).cpu().numpy(), q) > 1e-3
    with pytest.raises(ValueError, match="dims"):
        s.use_tables(output=torch.zeros((6, 5), device=device))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", DEVICE_SAMPLERS)
def test_device_draws_repeat_with_the_seed(device, name):
    fit = {"n_items": 12} if name == "uniform" else {"counts": np.arange(1, 13)}
    if ns.get_class(name).score_aware:
        fit = {"output": OUT12, "input": INP6}
    if name == "srns":
        fit["n_anchors"] = 6
    anchors = on(device, np.arange(6).repeat(10))
    pos = on(device, np.arange(60) % 12)
    a, b, c = (ns.get(name, seed=sd).fit(**fit).sample(anchors, 5, pos=pos) for sd in (4, 4, 5))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("device", DEVICES)
def test_srns_on_device_warms_up_then_picks_the_hardest_memory_item(device):
    s = ns.get("srns", memory=4, warmup=3, weight=0.0, seed=6).fit(output=OUT50, n_anchors=2)
    anchor = torch.zeros(1, dtype=torch.int64, device=device)
    vec = on(device, VEC8[None, :])
    first = [s.sample(anchor, 1, anchor_vectors=vec) for _ in range(3)]  # warm-up: uniform slot
    st = s.device_memory[str(torch.device(device) if device == "cpu" else first[0].device)]
    assert st["visits"][0] == 3 and st["visits"][1] == 0 and not s._visits.any()  # own copy
    mem = st["mem"][0].cpu().numpy().copy()
    best = mem[np.argmax((OUT50 @ VEC8)[mem])]
    assert int(s.sample(anchor, 1, anchor_vectors=vec)[0, 0]) == best
    assert np.count_nonzero(st["mem"][0].cpu().numpy() != mem) == 1  # one slot refreshed
    # a slot holding the pair's positive is never chosen (unless every slot holds it)
    out = np.eye(4, dtype=np.float32) * np.array([5.0, 1, 1, 1], dtype=np.float32)[:, None]
    s = ns.get("srns", memory=4, warmup=0, seed=3).fit(output=out, n_anchors=300)
    picks = s.sample(
        torch.arange(300, device=device), 20, anchor_vectors=on(device, np.ones((300, 4), "f4")),
        pos=torch.zeros(300, dtype=torch.int64, device=device),
    ).cpu().numpy()  # fmt: skip
    assert np.mean(picks == 0) <= 0.25**4 + 0.01


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("lam,eps", [(4.0, 0.0), (None, 0.05)])
def test_adaptive_on_device_matches_the_mixture(device, lam, eps):
    out8 = OUT50 * np.linspace(0.2, 2.0, 8).astype(np.float32)
    s = ns.get("adaptive", lam=lam, lam_fraction=0.3, eps=eps, seed=1).fit(output=out8)
    q = s.distribution(anchor_vector=VEC8)
    assert chi2_pvalue(device_draws(s, device, VEC8), q) > 1e-3
    snap = ns.get("adaptive", dims="snapshot").fit(output=out8, input=out8[:3])
    assert not snap.device_path  # the snapshot choice draws on the host


@pytest.mark.parametrize("device", DEVICES)
def test_adaptive_on_device_rebuilds_its_orders_every_refresh_every_draws(device):
    out = OUT50.copy()
    s = ns.get("adaptive", lam=2.0, refresh_every=1000, seed=0).fit(output=out)
    before = s.distribution(anchor_vector=VEC8)
    anchors = torch.zeros(500, dtype=torch.int64, device=device)
    vecs = on(device, np.tile(VEC8, (500, 1)))
    s.sample(anchors, 2, anchor_vectors=vecs)  # 1000 draws: the next call rebuilds
    out[:] = out[::-1]  # the live table (shared with the CPU tensor / handed over) changes
    s.use_tables(output=on(device, out))
    (st,) = s.device_state.values()
    assert st["draws"] == 1000
    d = s.sample(anchors, 20, anchor_vectors=vecs).cpu().numpy()
    assert st["draws"] == 10_000
    assert chi2_pvalue(d, before[::-1]) > 1e-3  # every column's order reversed
    full = torch.sort(on(device, out).T.double(), dim=1, descending=True, stable=True).indices
    k = s.reach_
    assert torch.equal(st["orders"][:, :k], full[:, :k])
    assert torch.equal(st["orders"][:, -k:], full[:, -k:])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n_cols", [3, 40])  # 3: the searchsorted fallback (degree > 4 C)
def test_pair_hits_of_shared_columns_equal_the_membership_test(device, n_cols):
    from negkit.samplers._torch import DevicePositives

    g = np.random.default_rng(5)
    dense = g.random((30, 25)) < 0.3
    dense[4, :] = True  # a user of full degree (25 > 4 * 3: the fallback for n_cols=3)
    pos = sp.csr_matrix(dense.astype(np.float64))
    known = DevicePositives(pos, 25, torch.device(device))
    anchors = on(device, g.integers(0, 34, size=50))  # 30..33: outside the matrix
    items = on(device, g.integers(0, 25, size=n_cols))  # repeated items among the columns
    hits = known.pair_hits(anchors, items)
    expect = dense
    a, it = anchors.cpu().numpy(), items.cpu().numpy()
    want = np.array([[a_ < 30 and expect[a_, i] for i in it] for a_ in a])
    np.testing.assert_array_equal(hits.cpu().numpy(), want)
    np.testing.assert_array_equal(
        hits.cpu().numpy(), known.contains(anchors, items.expand(50, -1)).cpu().numpy()
    )
