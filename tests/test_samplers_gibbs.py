"""Gibbs sampler: exact law after `steps` alternations (chi-square), its limit the softmax."""

from __future__ import annotations

import numpy as np
import pytest
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns

rng = np.random.default_rng(3)
OUT = rng.standard_normal((40, 6)).astype(np.float32)
INP = rng.standard_normal((3, 6)).astype(np.float32)


def _softmax(z):
    w = np.exp(z - z.max())
    return w / w.sum()


def _fitted(**params):
    return ns.get("gibbs", seed=5, **params).fit(output=OUT, input=INP)


def test_every_item_lies_in_one_block_of_each_partition_and_block_zero_meets_all():
    s = _fitted()
    n = OUT.shape[0]
    blocks = []
    for order, lo, hi in ((s.order1_, s.lo1_, s.hi1_), (s.order2_, s.lo2_, s.hi2_)):
        pos = np.empty(n, int)
        pos[order] = np.arange(n)
        assert np.all((lo <= pos) & (pos < hi))
        blocks.append(lo)
    first2 = s.order2_[: s.hi2_[s.order2_[0]]]  # P2's first block
    assert set(s.lo1_[first2]) == set(s.lo1_)  # holds an item of every P1 block


def test_the_law_converges_to_the_exact_softmax_slower_when_it_is_peaked():
    s = _fitted(tau=1.0, steps=40)
    exact = _softmax(OUT.astype(np.float64) @ INP[1])
    np.testing.assert_allclose(s.softmax(1), exact, rtol=1e-5)
    law = s.distribution(1)
    assert abs(law.sum() - 1) < 1e-9 and 0.5 * np.abs(law - exact).sum() < 0.01
    # total variation 0.41 after 1 step, 0.026 after 10, 0.0024 after 40 on this table
    assert 0.5 * np.abs(_fitted(tau=1.0, steps=1).distribution(1) - exact).sum() > 0.3
    # anchor 2's softmax puts 0.51 on one item: the chain is still 0.13 away after 40 steps
    peaked = s.distribution(2)
    assert 0.5 * np.abs(peaked - s.softmax(2)).sum() > 0.05


@pytest.mark.parametrize("steps", [1, 3, 40])
def test_draws_follow_the_exact_law_after_steps(steps):
    s = _fitted(tau=1.0, steps=steps)
    draws = s.sample(np.full(2000, 1), 20)
    assert chi2_pvalue(draws, s.distribution(1)) > 1e-3
    if steps == 40:  # and, in the limit, the softmax itself (anchor 1 has mixed by then)
        assert chi2_pvalue(draws, s.softmax(1)) > 1e-3


def test_steps_zero_is_uniform_and_bad_settings_are_refused():
    s = _fitted(steps=0)
    np.testing.assert_allclose(s.distribution(0), np.full(40, 1 / 40))
    with pytest.raises(ValueError, match="tau"):
        _fitted(tau=0)
    with pytest.raises(ValueError, match="steps"):
        _fitted(steps=-1)
    with pytest.raises(ValueError, match="score-aware"):
        ns.get("gibbs").fit(n_items=40)
