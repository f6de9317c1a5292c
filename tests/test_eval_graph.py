"""Node classification and link prediction on hand-made examples."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from negkit.eval.graph import (
    link_prediction_auc,
    link_prediction_split,
    node_classification,
    planetoid_accuracy,
    top_k_predictions,
)


def test_true_k_protocol_picks_k_labels():
    proba = np.array([[0.1, 0.7, 0.3, 0.6], [0.9, 0.2, 0.4, 0.1], [0.2, 0.1, 0.3, 0.25]])
    got = top_k_predictions(proba, np.array([2, 1, 3]))
    want = np.array([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 1, 1]])
    want[2] = [1, 0, 1, 1]
    assert np.array_equal(got, want)
    assert np.array_equal(got.sum(1), [2, 1, 3])


def _labels(n=400, n_labels=5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros((n, n_labels), dtype=np.int8)
    y[np.arange(n), rng.integers(0, n_labels, n)] = 1
    extra = rng.random(n) < 0.3  # some nodes carry a second label
    y[np.flatnonzero(extra), rng.integers(0, n_labels, extra.sum())] = 1
    return y


def test_node_classification_perfect_and_random_embeddings():
    y = _labels()
    rng = np.random.default_rng(1)
    perfect = 4.0 * y + 0.05 * rng.standard_normal(y.shape)
    res = node_classification(perfect, sp.csr_matrix(y), [0.5])
    assert set(res[0]) == {
        "ratio",
        "micro_f1_true_k",
        "macro_f1_true_k",
        "micro_f1_plain",
        "macro_f1_plain",
    }
    assert res[0]["micro_f1_true_k"] == pytest.approx(1.0)
    assert res[0]["macro_f1_true_k"] == pytest.approx(1.0)
    assert res[0]["micro_f1_plain"] > 0.95
    noise = rng.standard_normal((y.shape[0], 8))
    res = node_classification(noise, y, [0.3, 0.7], repeats=2)
    assert [r["ratio"] for r in res] == [0.3, 0.7]
    # with k known, random guessing among 5 labels gets about 1/5 right
    assert 0.1 < res[1]["micro_f1_true_k"] < 0.35


def test_node_classification_skips_unlabelled_nodes_and_checks_input():
    y = _labels(100)
    y[:10] = 0
    emb = 4.0 * y + 0.01
    assert node_classification(emb, y, [0.5])[0]["micro_f1_true_k"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="rows"):
        node_classification(emb[:50], y)
    with pytest.raises(ValueError, match="ratios"):
        node_classification(emb, y, [1.5])
    bad = emb.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        node_classification(bad, y)
    with pytest.raises(ValueError, match="repeats must be a positive integer, got 0"):
        node_classification(emb, y, [0.5], repeats=0)


def test_stored_zeros_are_no_labels_and_the_labels_are_left_alone():
    y = _labels(120, seed=2)
    rng = np.random.default_rng(3)
    emb = 2.0 * y + rng.standard_normal(y.shape)
    clean = node_classification(emb, sp.csr_matrix(y), [0.5], seed=4)
    # the same labels with an explicitly stored 0 in a column each of 40 nodes lacks
    rows, cols = np.nonzero(y)
    extra_r = np.arange(40)
    extra_c = np.array([np.flatnonzero(y[r] == 0)[0] for r in extra_r])
    data = np.r_[np.full(rows.size, 0.5), np.zeros(40)]  # non-0/1 weights too
    stored = sp.csr_matrix((data, (np.r_[rows, extra_r], np.r_[cols, extra_c])), shape=y.shape)
    assert stored.nnz == rows.size + 40
    assert node_classification(emb, stored, [0.5], seed=4) == clean
    assert stored.nnz == rows.size + 40 and sorted(set(stored.data)) == [0.0, 0.5]


def test_planetoid_accuracy_hand_example():
    # classes 0/1 separated on the first axis; node 5 is a test node placed on the wrong side
    x = np.array([[-2.0, 0], [-1.5, 1], [2.0, 0], [1.5, -1], [-1.0, 0], [-1.2, 0], [1.1, 0]])
    lab = np.array([0, 0, 1, 1, 0, 1, 1])
    assert planetoid_accuracy(x, lab, [0, 1, 2, 3], [4, 5, 6]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="overlap"):
        planetoid_accuracy(x, lab, [0, 1, 2], [2, 3])


def _two_communities(n=60, seed=0):
    rng = np.random.default_rng(seed)
    half = n // 2
    same = np.equal.outer(np.arange(n) < half, np.arange(n) < half)
    a = np.triu(rng.random((n, n)) < np.where(same, 0.3, 0.02), 1)
    return sp.csr_matrix((a | a.T).astype(np.float64))


def test_link_split_keeps_connectivity_and_has_no_leakage():
    a = _two_communities()
    n_comp, _ = connected_components(a, directed=False)
    s = link_prediction_split(a, 0.5, seed=3)
    assert connected_components(s.train_adj, directed=False)[0] == n_comp
    m = sp.triu(a, 1).nnz
    assert len(s.test_pos) == round(0.5 * m) and len(s.test_neg) == len(s.test_pos)
    assert np.all(s.train_adj[s.test_pos[:, 0], s.test_pos[:, 1]].A1 == 0)  # held out
    assert np.all(a[s.test_pos[:, 0], s.test_pos[:, 1]].A1 > 0)
    assert np.all(s.train_adj[s.train_pos[:, 0], s.train_pos[:, 1]].A1 > 0)
    for neg in (s.test_neg, s.train_neg):
        assert np.all(a[neg[:, 0], neg[:, 1]].A1 == 0) and np.all(neg[:, 0] != neg[:, 1])
    both = {tuple(e) for e in s.test_neg.tolist()} & {tuple(e) for e in s.train_neg.tolist()}
    assert not both
    assert sp.triu(s.train_adj, 1).nnz + len(s.test_pos) == m
    # a tree has nothing to hold out
    path = sp.diags([np.ones(9), np.ones(9)], [1, -1], shape=(10, 10)).tocsr()
    with pytest.raises(ValueError, match="disconnecting"):
        link_prediction_split(path, 0.5)


def test_link_prediction_auc_separates_informative_embeddings():
    a = _two_communities()
    s = link_prediction_split(a, 0.3, seed=1)
    community = np.where(np.arange(60) < 30, 1.0, -1.0)
    emb = np.stack([community, np.ones(60)], 1)
    # the Hadamard feature is +1 for same-community pairs: the AUC is that indicator's AUC
    same = lambda e: (community[e[:, 0]] == community[e[:, 1]]).astype(float)
    pos, neg = same(s.test_pos), same(s.test_neg)
    want = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
    assert want > 0.7
    assert link_prediction_auc(emb, s) == pytest.approx(want)
    rng = np.random.default_rng(0)
    auc = link_prediction_auc(rng.standard_normal((60, 4)), s)
    assert 0.25 < auc < 0.75


def test_macro_f1_counts_a_label_absent_from_the_test_split_as_zero():
    # documented protocol (DeepWalk's scoring): label 2 is carried by one node only; with
    # seed 3 it falls in the training half, so perfect embeddings get micro-F1 1 but macro-F1
    # 2/3 on the test nodes (labels 0 and 1 right, label 2 neither true nor predicted: F1 0)
    y = np.zeros((41, 3), dtype=np.int8)
    y[:20, 0] = 1
    y[20:40, 1] = 1
    y[40, 2] = 1
    r = node_classification(4.0 * y + 0.01, y, [0.5], seed=3)[0]
    assert r["micro_f1_true_k"] == pytest.approx(1.0) and r["micro_f1_plain"] == pytest.approx(1.0)
    assert r["macro_f1_true_k"] == pytest.approx(2 / 3) and r["macro_f1_plain"] == pytest.approx(
        2 / 3
    )
