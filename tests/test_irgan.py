"""IRGAN: the generator sampler's law on both paths and its parameters."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns
from negkit._rng import make_contexts

rng = np.random.default_rng(18)
OUT = rng.standard_normal((12, 4)).astype(np.float32)
INP = rng.standard_normal((3, 4)).astype(np.float32)
# anchor 1 holds two positives (its second and last item by score: rejection seldom fails 64
# times in a row, so the law is the renormalised one); anchors 0 and 2 hold none
_ORDER1 = np.argsort(-(OUT @ INP[1]))
_ROW1 = sorted({int(_ORDER1[1]), int(_ORDER1[-1])})
POS = sp.csr_matrix((np.ones(len(_ROW1)), ([1] * len(_ROW1), _ROW1)), shape=(3, 12))


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    w = np.exp(z - z.max())
    return w / w.sum()


def fitted(tau=0.7, **params):
    return ns.get("irgan", tau=tau, seed=3, **params).fit(output=OUT, input=INP, positives=POS)


@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_distribution_is_the_softmax_over_every_item(tau):
    s = fitted(tau)
    np.testing.assert_allclose(s.distribution(1), softmax(OUT @ INP[1] / tau), rtol=1e-5)
    np.testing.assert_allclose(s.distribution(anchor_vector=INP[2]), softmax(OUT @ INP[2] / tau),
                               rtol=1e-5)  # fmt: skip
    assert ns.get_class("irgan") is ns.IRGANSampler and s.score_aware and s.device_path


@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_numba_pair_kernel_draws_follow_the_law(tau):
    s = fitted(tau)
    draws = s.sample(np.full(1000, 1), 50)  # a pair's k draws share one pass (pair kernel)
    assert chi2_pvalue(draws, s.distribution(1)) > 1e-3


def test_numba_per_draw_kernel_follows_the_law():
    s = fitted(0.5)
    draw, state = s.kernel()
    ctx = make_contexts(5, 1)[0]
    vec = np.ascontiguousarray(INP[2])
    draws = np.array([draw(state, 2, -1, vec, ctx) for _ in range(20000)])
    assert chi2_pvalue(draws, s.distribution(2)) > 1e-3


def test_torch_path_draws_follow_the_law():
    s = fitted(0.5)
    anchors = torch.full((1000,), 1, dtype=torch.int64)
    draws = s.sample(anchors, 50)
    assert isinstance(draws, torch.Tensor) and draws.shape == (1000, 50)
    assert chi2_pvalue(draws.numpy(), s.distribution(1)) > 1e-3


@pytest.mark.parametrize("on_torch", [False, True])
def test_exclusion_renormalises_over_the_non_positives(on_torch):
    s = fitted(0.5, exclude_positives=True)
    q = s.proba(np.arange(12), anchors=[1])
    assert q[POS[1].indices].sum() == 0 and abs(q.sum() - 1) < 1e-9
    anchors = torch.full((1000,), 1) if on_torch else np.full(1000, 1)
    draws = s.sample(anchors, 40)
    draws = draws.numpy() if on_torch else draws
    assert chi2_pvalue(draws, q) > 1e-3


@pytest.mark.parametrize("tau", [0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_temperature_is_refused(tau):
    with pytest.raises((ValueError, TypeError), match="tau"):
        ns.get("irgan", tau=tau).fit(output=OUT, input=INP)


def test_the_sampler_needs_the_generator_tables():
    with pytest.raises(ValueError, match="score-aware"):
        ns.get("irgan").fit(n_items=12)
    s = ns.get("irgan").fit(output=OUT)
    with pytest.raises(ValueError, match="anchor_vector"):
        s.distribution(0)
    with pytest.raises(ValueError, match="dims"):
        s.sample(np.zeros(3, dtype=np.int64), 2, anchor_vectors=np.ones((3, 5), np.float32))
