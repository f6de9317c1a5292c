"""Batch samplers: streaming frequency, in-batch and mixed negatives, accidental hits, pools."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import negkit.samplers as ns


def test_streaming_frequency_follows_the_gap_recursion():
    f = ns.StreamingFrequency(5, alpha=0.5)
    f.update([1, 1, 2])  # step 0: first sightings, B = t + 1
    f.update([1])  # step 1: B1 = 0.5 * 1 + 0.5 * (1 - 0) = 1
    f.update([2])  # step 2: B2 = 0.5 * 1 + 0.5 * (2 - 0) = 1.5
    f.update([1], step=5)  # B1 = 0.5 * 1 + 0.5 * (5 - 1) = 2.5
    np.testing.assert_allclose(f.gap[[1, 2]], [2.5, 1.5])
    np.testing.assert_allclose(f.probability([1, 2, 4]), [1 / 2.5, 1 / 1.5, 1 / 7])
    with pytest.raises(ValueError, match="steps must increase"):
        f.update([0], step=5)
    with pytest.raises(ValueError, match="out of range"):
        f.update([5])


def test_streaming_frequency_converges_to_the_item_rates():
    rng = np.random.default_rng(0)
    rates = np.array([0.9, 0.5, 0.2, 0.05])
    f = ns.StreamingFrequency(4, alpha=0.01)
    for _ in range(20_000):
        f.update(np.flatnonzero(rng.random(4) < rates))
    np.testing.assert_allclose(f.probability(np.arange(4)), rates, rtol=0.15)


def test_in_batch_negatives_layout_logq_and_hits():
    pos = sp.csr_matrix((np.ones(2), ([0, 1], [7, 3])), shape=(3, 10))
    s = ns.InBatchSampler(10, alpha=0.5, positives=pos)
    anchors = np.array([0, 1, 2, 2])
    items = np.array([3, 7, 3, 9])
    neg = s.sample_batch(anchors, items)
    np.testing.assert_array_equal(neg.items, items)
    np.testing.assert_allclose(neg.log_q, np.log(s.frequency.probability(items)))
    expected = np.array(
        [
            [False, True, True, False],  # anchor 0: item 7 is its positive, item 3 is its label
            [True, False, True, False],  # anchor 1: knows item 3
            [True, False, False, False],  # row 2's label is 3: column 0 is the same item
            [False, False, False, False],
        ]
    )
    np.testing.assert_array_equal(neg.hits, expected)


def test_mixed_negatives_add_shared_corpus_items_with_their_q():
    c = np.arange(1, 21, dtype=np.float64)
    s = ns.MixedNegativeSampler(20, k=6, sampler="unigram", fit={"counts": c}, seed=3)
    items = np.array([1, 2, 3])
    neg = s.sample_batch(np.array([0, 1, 2]), items)
    assert neg.items.shape == (9,) and neg.hits.shape == (3, 9)
    np.testing.assert_array_equal(neg.items[:3], items)
    p = c**0.75 / (c**0.75).sum()
    q = s.frequency.probability(neg.items) + 6 * p[neg.items]
    np.testing.assert_allclose(neg.log_q, np.log(q))
    # hits: an extra item equal to a row's label is masked for that row only
    for r in range(3):
        np.testing.assert_array_equal(neg.hits[r, 3:], neg.items[3:] == items[r])
    again = ns.MixedNegativeSampler(20, k=6, sampler="unigram", fit={"counts": c}, seed=3)
    np.testing.assert_array_equal(again.sample_batch(np.array([0, 1, 2]), items).items, neg.items)


def test_batch_sampler_torch_round_trip():
    torch = pytest.importorskip("torch")
    s = ns.MixedNegativeSampler(8, k=2, seed=0)
    neg = s.sample_batch(torch.tensor([0, 1]), torch.tensor([5, 6]))
    assert isinstance(neg.items, torch.Tensor) and neg.items.dtype == torch.int64
    assert neg.log_q.shape == (4,) and neg.hits.dtype == torch.bool


def test_batch_sampler_bad_input():
    s = ns.InBatchSampler(4)
    with pytest.raises(ValueError, match="same length"):
        s.sample_batch([0, 1], [1])
    with pytest.raises(ValueError, match="empty batch"):
        s.sample_batch(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    with pytest.raises(ValueError, match="alpha"):
        ns.InBatchSampler(4, alpha=0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        ns.MixedNegativeSampler(4, k=0)
    with pytest.raises(ValueError, match="static sampler"):
        ns.MixedNegativeSampler(4, k=2, sampler="dns")


def test_candidate_pool_for_mixgcf():
    pool, q = ns.candidate_pool("uniform", np.arange(5), 16, n_items=40)
    assert pool.shape == (5, 16) and np.all(q == 1 / 40)
    out = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    srns = ns.get("srns").fit(output=out, n_anchors=5)
    pool, q = ns.candidate_pool(srns, np.arange(5), 4, anchor_vectors=np.ones((5, 3), np.float32))
    assert pool.shape == (5, 4) and q is None
