"""Batch samplers: streaming frequency, in-batch and mixed negatives, accidental hits, pools."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import negkit.samplers as ns

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

#: numpy, or torch tensors on a device (the device path: state and masks stay there)
PATHS = [
    "numpy",
    pytest.param("cpu", marks=pytest.mark.skipif(torch is None, reason="no torch")),
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            torch is None or not torch.cuda.is_available(), reason="no CUDA device"
        ),
    ),
]


def on(path, x):
    return np.asarray(x) if path == "numpy" else torch.as_tensor(np.asarray(x), device=path)


def back(x):
    return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)


@pytest.mark.parametrize("path", PATHS)
def test_streaming_frequency_follows_the_gap_recursion(path):
    f = ns.StreamingFrequency(5, alpha=0.5)
    f.update(on(path, [1, 1, 2]))  # step 0: first sightings, B = t + 1
    f.update(on(path, [1]))  # step 1: B1 = 0.5 * 1 + 0.5 * (1 - 0) = 1
    f.update(on(path, [2]))  # step 2: B2 = 0.5 * 1 + 0.5 * (2 - 0) = 1.5
    f.update(on(path, [1]), step=5)  # B1 = 0.5 * 1 + 0.5 * (5 - 1) = 2.5
    np.testing.assert_allclose(back(f.gap)[[1, 2]], [2.5, 1.5])
    q = f.probability(on(path, [1, 2, 4]))
    np.testing.assert_allclose(back(q), [1 / 2.5, 1 / 1.5, 1 / 7])
    with pytest.raises(ValueError, match="steps must increase"):
        f.update(on(path, [0]), step=5)
    with pytest.raises(ValueError, match="out of range"):
        f.update([5])


def test_streaming_frequency_converges_to_the_item_rates():
    rng = np.random.default_rng(0)
    rates = np.array([0.9, 0.5, 0.2, 0.05])
    f = ns.StreamingFrequency(4, alpha=0.01)
    for _ in range(20_000):
        f.update(np.flatnonzero(rng.random(4) < rates))
    np.testing.assert_allclose(f.probability(np.arange(4)), rates, rtol=0.15)


@pytest.mark.parametrize("path", PATHS)
def test_in_batch_negatives_layout_logq_and_hits(path):
    pos = sp.csr_matrix((np.ones(2), ([0, 1], [7, 3])), shape=(3, 10))
    s = ns.InBatchSampler(10, alpha=0.5, positives=pos)
    anchors = np.array([0, 1, 2, 2])
    items = np.array([3, 7, 3, 9])
    neg = s.sample_batch(on(path, anchors), on(path, items))
    assert type(neg.hits) is type(on(path, items))
    np.testing.assert_array_equal(back(neg.items), items)
    np.testing.assert_allclose(back(neg.log_q), np.log([1 / 1, 1 / 1, 1 / 1, 1 / 1]))
    expected = np.array(
        [
            [False, True, True, False],  # anchor 0: item 7 is its positive, item 3 is its label
            [True, False, True, False],  # anchor 1: knows item 3
            [True, False, False, False],  # row 2's label is 3: column 0 is the same item
            [False, False, False, False],
        ]
    )
    np.testing.assert_array_equal(back(neg.hits), expected)
    neg = s.sample_batch(on(path, [1, 0]), on(path, [3, 5]))  # step 1: item 3 seen at steps 0, 1
    np.testing.assert_allclose(back(neg.log_q), np.log([1 / 1.0, 1 / 2.0]))


@pytest.mark.parametrize("path", PATHS)
def test_mixed_negatives_add_shared_corpus_items_with_their_q(path):
    c = np.arange(1, 21, dtype=np.float64)
    s = ns.MixedNegativeSampler(20, k=6, sampler="unigram", fit={"counts": c}, seed=3)
    items = np.array([1, 2, 3])
    neg = s.sample_batch(on(path, [0, 1, 2]), on(path, items))
    assert neg.items.shape == (9,) and neg.hits.shape == (3, 9)
    cand, hits = back(neg.items), back(neg.hits)
    np.testing.assert_array_equal(cand[:3], items)
    p = c**0.75 / (c**0.75).sum()
    q = np.where(np.isin(cand, items), 1.0, 1.0 / 2) + 6 * p[cand]  # unseen at step 0: 1/2
    np.testing.assert_allclose(back(neg.log_q), np.log(q))
    # hits: an extra item equal to a row's label is masked for that row only
    for r in range(3):
        np.testing.assert_array_equal(hits[r, 3:], cand[3:] == items[r])
    again = ns.MixedNegativeSampler(20, k=6, sampler="unigram", fit={"counts": c}, seed=3)
    redo = again.sample_batch(on(path, [0, 1, 2]), on(path, items)).items
    np.testing.assert_array_equal(back(redo), cand)


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
    # the extras are drawn for no one anchor: anchor 0's positives were excluded for every row
    pos = sp.csr_matrix(np.eye(4))
    excluding = ns.get("uniform", exclude_positives=True).fit(n_items=4, positives=pos)
    with pytest.raises(ValueError, match="exclude_positives=True would exclude one user's"):
        ns.MixedNegativeSampler(4, k=2, sampler=excluding)


def test_candidate_pool_for_mixgcf():
    pool, q = ns.candidate_pool("uniform", np.arange(5), 16, n_items=40)
    assert pool.shape == (5, 16) and np.all(q == 1 / 40)
    out = np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32)
    srns = ns.get("srns").fit(output=out, n_anchors=5)
    pool, q = ns.candidate_pool(srns, np.arange(5), 4, anchor_vectors=np.ones((5, 3), np.float32))
    assert pool.shape == (5, 4) and q is None


@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_hits_for_gathered_columns_keeps_the_label_at_its_offset(path):
    """Columns gathered from two ranks, this rank's own starting at offset 4: row r's label
    is column 4 + r; a column equal to the row's item elsewhere, or a known positive of its
    anchor, is a hit (hand-checked)."""
    positives = sp.csr_matrix((np.ones(3), ([0, 1, 1], [5, 2, 9])), shape=(2, 10))
    s = ns.InBatchSampler(10, positives=positives)
    anchors, items = np.array([0, 1]), np.array([2, 7])
    cand = np.array([2, 5, 7, 1, 2, 7, 9, 3])  # rank 0's (2, 5, 7, 1), then ours (2, 7, 9, 3)
    want = np.zeros((2, 8), dtype=bool)
    want[0, [0, 1]] = True  # item 2 again at column 0; known positive 5
    want[1, [0, 2, 4, 6]] = True  # known positives 2 (columns 0, 4) and 9; item 7 at column 2
    args = (anchors, items, cand)
    if path == "torch":
        torch = pytest.importorskip("torch")
        args = tuple(torch.as_tensor(x) for x in args)
    got = s.hits_for(*args, offset=4)
    np.testing.assert_array_equal(np.asarray(got), want)
    assert not np.asarray(got)[[0, 1], [4, 5]].any()  # the labels themselves
