"""Full-ranking metrics: hand-computed values, chunking, exclusion, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.eval.rec import evaluate_ranking, rank_metrics


def _csr(rows: dict[int, list[int]], shape: tuple[int, int]) -> sp.csr_matrix:
    r = [u for u, its in rows.items() for _ in its]
    c = [i for its in rows.values() for i in its]
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=shape)


def test_metrics_match_hand_computed_values():
    # one-dimensional scores: every user ranks items 0 > 1 > 2 > 3 > 4
    U = np.array([[1.0], [1.0]], dtype=np.float32)
    V = np.array([[5.0], [4.0], [3.0], [2.0], [1.0]], dtype=np.float32)
    train = _csr({0: [0]}, (2, 5))
    test = _csr({0: [2, 4], 1: [0]}, (2, 5))
    r = evaluate_ranking(U, V, test, exclude=[train], ks=[2])
    # user 0 ranks [1, 2, 3, 4] (item 0 is a training item): hits at ranks 2 only
    ndcg0 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    # user 1 ranks [0, 1, ...]: hit at rank 1 of its single test item
    assert r["recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    assert r["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert r["hitrate@2"] == pytest.approx(1.0)
    assert r["ndcg@2"] == pytest.approx((ndcg0 + 1.0) / 2)
    assert r["mrr"] == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert r["n_users"] == 2


def test_stored_zeros_and_duplicate_entries_count_as_in_the_pattern():
    """A stored 0 is no test item (nor an excluded one), and a (user, item) entry written
    twice is one test item: the same metrics as the clean matrices of the test above."""
    U = np.array([[1.0], [1.0]], dtype=np.float32)
    V = np.array([[5.0], [4.0], [3.0], [2.0], [1.0]], dtype=np.float32)
    clean = evaluate_ranking(U, V, _csr({0: [2, 4], 1: [0]}, (2, 5)),
                             exclude=[_csr({0: [0]}, (2, 5))], ks=[2])  # fmt: skip
    # user 0: item 3 stored as 0 and item 2 twice (unsummed); train: item 1 stored as 0
    test = sp.csr_matrix(([1.0, 1.0, 0.0, 1.0, 1.0], [2, 2, 3, 4, 0], [0, 4, 5]), shape=(2, 5))
    train = sp.csr_matrix(([1.0, 0.0], [0, 1], [0, 2, 2]), shape=(2, 5))
    assert evaluate_ranking(U, V, test, exclude=[train], ks=[2]) == clean


def test_idcg_uses_min_of_test_size_and_k():
    hits = np.array([[1, 0, 0], [0, 0, 1]], dtype=bool)
    m = rank_metrics(hits, np.array([5, 1]), ks=[3])
    ideal0 = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # min(5, 3) = 3 ideal hits
    assert m["ndcg@3"][0] == pytest.approx(1 / ideal0)
    assert m["ndcg@3"][1] == pytest.approx((1 / math.log2(4)) / 1.0)  # min(1, 3) = 1
    assert m["recall@3"].tolist() == pytest.approx([1 / 5, 1.0])


def test_validation_items_are_excluded_too():
    U = np.array([[1.0]], dtype=np.float32)
    V = np.array([[3.0], [2.0], [1.0]], dtype=np.float32)
    test = _csr({0: [2]}, (1, 3))
    valid = _csr({0: [1]}, (1, 3))
    train = _csr({0: [0]}, (1, 3))
    r = evaluate_ranking(U, V, test, exclude=[train, valid, None], ks=[1])
    assert r["recall@1"] == 1.0 and r["mrr"] == 1.0


def _reference(U, V, test, train, k):
    """Plain full sort, one user at a time."""
    rec, nd, mrr = [], [], []
    for u in range(U.shape[0]):
        rel = set(test[u].indices)
        if not rel:
            continue
        s = U[u] @ V.T
        s[train[u].indices] = -np.inf
        order = np.argsort(-s, kind="stable")
        top = order[:k]
        hits = np.array([i in rel for i in top], dtype=float)
        disc = 1 / np.log2(np.arange(2, k + 2))
        rec.append(hits.sum() / len(rel))
        nd.append((hits * disc).sum() / disc[: min(len(rel), k)].sum())
        first = next(r for r, i in enumerate(order) if i in rel)
        mrr.append(1 / (first + 1))
    return np.mean(rec), np.mean(nd), np.mean(mrr)


def test_chunked_equals_unchunked_and_reference():
    rng = np.random.default_rng(3)
    U = rng.standard_normal((37, 8)).astype(np.float32)
    V = rng.standard_normal((50, 8)).astype(np.float32)
    train = sp.random(37, 50, density=0.2, random_state=1, format="csr")
    test = sp.random(37, 50, density=0.1, random_state=2, format="csr")
    test = test - test.multiply(train > 0)
    test.eliminate_zeros()
    whole = evaluate_ranking(U, V, test, exclude=[train], ks=[5, 10], chunk_size=10_000)
    for chunk in (1, 7, 36):
        part = evaluate_ranking(U, V, test, exclude=[train], ks=[5, 10], chunk_size=chunk)
        assert part == pytest.approx(whole, rel=1e-12)
    rec, nd, mrr = _reference(U, V, test.tocsr(), train.tocsr(), 10)
    assert whole["recall@10"] == pytest.approx(rec)
    assert whole["ndcg@10"] == pytest.approx(nd)
    assert whole["mrr"] == pytest.approx(mrr)


def test_bad_input_is_rejected_clearly():
    U = np.ones((2, 3), dtype=np.float32)
    V = np.ones((4, 3), dtype=np.float32)
    test = _csr({0: [1]}, (2, 4))
    with pytest.raises(ValueError, match="equal widths"):
        evaluate_ranking(U, np.ones((4, 2), np.float32), test)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_ranking(np.full((2, 3), np.nan, np.float32), V, test)
    with pytest.raises(ValueError, match="no user has a test item"):
        evaluate_ranking(U, V, sp.csr_matrix((2, 4)))
    with pytest.raises(ValueError, match="cut-offs"):
        evaluate_ranking(U, V, test, ks=[0])
    with pytest.raises(ValueError, match="shape"):
        evaluate_ranking(U, V, _csr({0: [1]}, (5, 4)))


def test_tied_scores_do_not_favour_the_test_item_in_mrr():
    # a model that scores every item the same ranks them by id (lower first), in the top K
    # and in the MRR alike: the test item, the last of 10, is at rank 10, not 1
    U = np.zeros((2, 2), dtype=np.float32)
    V = np.zeros((10, 2), dtype=np.float32)
    test = _csr({0: [9], 1: [4, 6]}, (2, 10))
    train = _csr({1: [0, 1]}, (2, 10))
    r = evaluate_ranking(U, V, test, exclude=[train], ks=[1, 3])
    # user 0: rank 10; user 1 ranks [2, 3, 4, ...] (0 and 1 are training items): rank 3
    assert r["mrr"] == pytest.approx((1 / 10 + 1 / 3) / 2)
    assert r["hitrate@1"] == 0.0 and r["hitrate@3"] == 0.5


def test_ties_rank_like_a_stable_full_sort():
    # few distinct scores: many ties, broken by item id in every metric
    rng = np.random.default_rng(5)
    U = rng.integers(-1, 2, (40, 3)).astype(np.float32)
    V = rng.integers(-1, 2, (30, 3)).astype(np.float32)
    train = sp.csr_matrix(rng.random((40, 30)) < 0.2, dtype=np.float64)
    test = sp.csr_matrix((rng.random((40, 30)) < 0.1) & (train.toarray() == 0), dtype=np.float64)
    got = evaluate_ranking(U, V, test, exclude=[train], ks=[10], chunk_size=7)
    rec, nd, mrr = _reference(U, V, test, train, 10)
    assert got["recall@10"] == pytest.approx(rec)
    assert got["ndcg@10"] == pytest.approx(nd)
    assert got["mrr"] == pytest.approx(mrr)
