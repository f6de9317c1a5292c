"""Graph embeddings on the real data sets (skipped when the shared data are absent)."""

from __future__ import annotations

import numpy as np

from negkit.data import registry
from negkit.eval.graph import (
    link_prediction_auc,
    link_prediction_split,
    node_classification,
    planetoid_accuracy,
)
from negkit.graph.embed import GraphEmbedSettings, run
from negkit.graph.walks import RandomWalks


def test_deepwalk_on_cora_planetoid_split(real_data):
    g = registry.load("cora")
    # the settings (d=128, 10 walks of 80, window 10); one worker, so that the seeded
    # run repeats exactly and the threshold is not at the mercy of thread timing
    settings = GraphEmbedSettings(dim=128, walk_length=80, num_walks=10, window=10, workers=1)
    res = run(g, settings, seed=0)
    acc = planetoid_accuracy(res.vectors, g.labels, g.split["train"], g.split["test"])
    assert acc >= 0.67, f"DeepWalk accuracy on Cora {acc:.3f} < 0.67"


def test_link_prediction_on_ppi_reports_auc(real_data):
    g = registry.load("ppi")
    split = link_prediction_split(g, 0.5, seed=0)
    settings = GraphEmbedSettings(dim=32, walk_length=20, num_walks=4, window=5, workers=2)
    auc = link_prediction_auc(run(split.train_adj, settings, seed=0).vectors, split)
    assert 0.6 < auc <= 1.0, f"PPI link-prediction AUC {auc:.3f}"


def test_node2vec_walks_on_blogcatalog_stay_on_edges(real_data):
    g = registry.load("blogcatalog")
    a = g.adj.tocsr()
    rw = RandomWalks(g, walk_length=20, num_walks=1, p=0.25, q=4, workers=2, seed=0)
    tokens, offsets = next(iter(rw))
    w = tokens.reshape(-1, 20)  # BlogCatalog has no dead end: every walk is full length
    assert np.all(a[w[:, :-1].ravel(), w[:, 1:].ravel()].A1 > 0)
    # q = 4 keeps walks local: returns to the previous node are frequent with p = 0.25
    back = np.mean(w[:, 2:] == w[:, :-2])
    assert back > 0.05


def test_node_classification_on_blogcatalog_labels_shape(real_data):
    g = registry.load("blogcatalog")
    rng = np.random.default_rng(0)
    res = node_classification(rng.standard_normal((g.adj.shape[0], 8)), g.labels, [0.5])
    # random vectors: Macro-F1 far below the DeepWalk figure (0.21)
    assert res[0]["macro_f1_true_k"] < 0.1
