"""Evaluation of node embeddings: node classification and link prediction.

* Multi-label node classification (Perozzi et al. 2014, DeepWalk; Grover &
  Leskovec 2016, node2vec): one-vs-rest logistic regression trained on a
  fraction of the nodes, Micro-F1 and Macro-F1 on the rest.  Two predictions are
  reported, each labelled: ``plain`` (a label is predicted when its probability
  is >= 0.5) and ``true_k`` (the DeepWalk/node2vec protocol: each test node gets
  its k most probable labels, k = its true number of labels).
* Single-label accuracy on the Planetoid splits (Yang et al. 2016): logistic
  regression on the embeddings of the standard training nodes, accuracy on the
  standard test nodes.
* Link prediction (node2vec, Sec. 4.4): a fraction of the edges is held out
  while a random spanning forest is kept, so every component stays connected;
  as many non-edges are sampled; an edge (u, v) is the Hadamard product
  ``x_u * x_v``; logistic regression; ROC-AUC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

__all__ = [
    "LinkSplit",
    "link_prediction_auc",
    "link_prediction_split",
    "node_classification",
    "planetoid_accuracy",
    "top_k_predictions",
]

DEFAULT_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _check_embeddings(emb: Any, n: int | None = None) -> np.ndarray:
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a 2-D array (nodes x dim), got shape {x.shape}")
    if n is not None and x.shape[0] != n:
        raise ValueError(f"embeddings have {x.shape[0]} rows but the labels cover {n} nodes")
    if not np.all(np.isfinite(x)):
        raise ValueError("embeddings contain NaN or infinite values")
    return x


def top_k_predictions(proba: np.ndarray, k: np.ndarray) -> np.ndarray:
    """0/1 matrix marking, in each row of ``proba``, its ``k[row]`` largest entries."""
    proba = np.asarray(proba)
    k = np.asarray(k, dtype=np.int64)
    if k.shape[0] != proba.shape[0]:
        raise ValueError(f"k has {k.shape[0]} entries for {proba.shape[0]} rows")
    order = np.argsort(-proba, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(proba.shape[0])[:, None], order] = np.arange(proba.shape[1])[None, :]
    return (rank < k[:, None]).astype(np.int8)


def node_classification(
    emb: Any,
    labels: Any,
    train_ratios: tuple[float, ...] | list[float] = DEFAULT_RATIOS,
    *,
    repeats: int = 1,
    seed: int = 0,
    C: float = 1.0,
    solver: str = "liblinear",
) -> list[dict[str, float]]:
    """Multi-label node classification at each training ratio.

    emb : (n, d) node embeddings (row i = node i).
    labels : (n, L) 0/1 label matrix (sparse or dense; any non-zero entry is a label, an
        explicitly stored zero is not); nodes without a label are left out (and counted in
        the log).  The caller's matrix is not modified.
    solver : scikit-learn's LogisticRegression solver; ``liblinear`` is what DeepWalk's
        scoring script used (scikit-learn's default before 0.22), ``lbfgs`` today's default.
    Returns one dict per ratio: ``ratio``, ``micro_f1_true_k``, ``macro_f1_true_k``,
    ``micro_f1_plain``, ``macro_f1_plain`` (means over ``repeats`` random splits).
    Macro-F1 averages over every label column, as DeepWalk's scoring script did: a label
    that no test node has and none is predicted counts as F1 = 0 (scikit-learn's
    ``zero_division=0``), so on small data, where a rare label can miss the test split,
    even perfect predictions score below 1.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier

    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    # a new matrix (the caller's is left alone), non-zero entries only: an explicitly stored
    # 0 is no label
    y = sp.csr_matrix(sp.csr_matrix(labels) != 0, dtype=np.int8)
    x = _check_embeddings(emb, y.shape[0])
    has = np.flatnonzero(np.diff(y.indptr) > 0)
    if has.size < y.shape[0]:
        log.info(
            "node classification: %d of %d nodes have no label and are left out",
            y.shape[0] - has.size,
            y.shape[0],
        )
    if has.size < 2:
        raise ValueError("node classification needs at least two labelled nodes")
    x, y = x[has], y[has].toarray().astype(np.int8)
    rng = np.random.default_rng(seed)
    out = []
    for ratio in train_ratios:
        if not 0 < ratio < 1:
            raise ValueError(f"training ratios must lie in (0, 1), got {ratio}")
        scores = []
        for _ in range(repeats):
            perm = rng.permutation(x.shape[0])
            n_train = min(max(1, int(round(ratio * x.shape[0]))), x.shape[0] - 1)
            tr, te = perm[:n_train], perm[n_train:]
            ytr = y[tr]
            present = np.flatnonzero(ytr.sum(0) > 0)  # labels absent from training can't be learnt
            clf = OneVsRestClassifier(LogisticRegression(C=C, solver=solver, max_iter=1000))
            clf.fit(x[tr], ytr[:, present])
            proba = np.zeros((te.size, y.shape[1]))
            proba[:, present] = clf.predict_proba(x[te])
            yte = y[te]
            true_k = top_k_predictions(proba, yte.sum(1))
            plain = (proba >= 0.5).astype(np.int8)
            scores.append(
                [
                    f1_score(yte, true_k, average="micro", zero_division=0),
                    f1_score(yte, true_k, average="macro", zero_division=0),
                    f1_score(yte, plain, average="micro", zero_division=0),
                    f1_score(yte, plain, average="macro", zero_division=0),
                ]
            )
        m = np.mean(scores, axis=0)
        out.append(
            {
                "ratio": float(ratio),
                "micro_f1_true_k": float(m[0]),
                "macro_f1_true_k": float(m[1]),
                "micro_f1_plain": float(m[2]),
                "macro_f1_plain": float(m[3]),
            }
        )
    return out


def planetoid_accuracy(
    emb: Any, labels: Any, train_idx: Any, test_idx: Any, *, C: float = 1.0
) -> float:
    """Accuracy of logistic regression trained on ``train_idx``, tested on ``test_idx``.

    labels : (n,) class ids, or an (n, C) one-hot matrix (rows without a class
        are not allowed among the indices used).
    """
    from sklearn.linear_model import LogisticRegression

    lab = labels.toarray() if sp.issparse(labels) else np.asarray(labels)
    if lab.ndim == 2:
        if np.any(lab.sum(1)[np.concatenate([train_idx, test_idx])] != 1):
            raise ValueError("single-label accuracy needs exactly one class per train/test node")
        lab = lab.argmax(1)
    x = _check_embeddings(emb, lab.shape[0])
    train_idx = np.asarray(train_idx, dtype=np.int64)
    test_idx = np.asarray(test_idx, dtype=np.int64)
    if np.intersect1d(train_idx, test_idx).size:
        raise ValueError("train and test nodes overlap")
    clf = LogisticRegression(C=C, max_iter=2000)
    clf.fit(x[train_idx], lab[train_idx])
    return float(np.mean(clf.predict(x[test_idx]) == lab[test_idx]))


@dataclass(frozen=True)
class LinkSplit:
    """A link-prediction split of an undirected graph.

    train_adj : the graph with the test edges removed (embed this one).
    train_pos, train_neg : edges of ``train_adj`` and non-edges of the full graph
        for fitting the edge classifier.
    test_pos, test_neg : held-out edges and other non-edges, for the AUC.
    """

    train_adj: sp.csr_matrix
    train_pos: np.ndarray
    train_neg: np.ndarray
    test_pos: np.ndarray
    test_neg: np.ndarray


def _sample_non_edges(
    a: sp.csr_matrix, k: int, rng: np.random.Generator, taken: set[tuple[int, int]]
) -> np.ndarray:
    n = a.shape[0]
    out: list[tuple[int, int]] = []
    tries = 0
    while len(out) < k:
        tries += 1
        if tries > 1000 * (k + 10):
            raise ValueError(f"could not find {k} non-edges: the graph is too dense")
        u, v = (int(z) for z in rng.integers(0, n, 2))
        if u == v:
            continue
        u, v = min(u, v), max(u, v)
        if (u, v) in taken or a[u, v] != 0:
            continue
        taken.add((u, v))
        out.append((u, v))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def link_prediction_split(adj: Any, test_fraction: float = 0.5, *, seed: int = 0) -> LinkSplit:
    """Hold out ``test_fraction`` of the undirected edges, keeping a random spanning forest.

    Self-loops are ignored.  If fewer non-forest edges exist than asked for,
    all of them are held out and a warning is logged.
    """
    from scipy.sparse.csgraph import minimum_spanning_tree

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    a = sp.csr_matrix(getattr(adj, "adj", adj), dtype=np.float64)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"an adjacency matrix must be square, got shape {a.shape}")
    a = ((a + a.T) > 0).astype(np.float64).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    rng = np.random.default_rng(seed)
    upper = sp.triu(a, k=1).tocoo()
    edges = np.stack([upper.row, upper.col], 1).astype(np.int64)
    m = edges.shape[0]
    if m < 4:
        raise ValueError(f"the graph has {m} edges: too few for link prediction")
    rand = sp.csr_matrix((rng.uniform(1, 2, m), (edges[:, 0], edges[:, 1])), shape=a.shape)
    forest = minimum_spanning_tree(rand).tocoo()
    in_forest = set(
        zip(
            np.minimum(forest.row, forest.col).tolist(), np.maximum(forest.row, forest.col).tolist()
        )
    )
    free = np.array([i for i, (u, v) in enumerate(edges.tolist()) if (u, v) not in in_forest])
    n_test = int(round(test_fraction * m))
    if n_test > free.size:
        log.warning(
            "only %d edges lie outside the spanning forest: holding out %d instead of %d",
            free.size,
            free.size,
            n_test,
        )
        n_test = free.size
    if n_test < 1:
        raise ValueError("no edge can be held out without disconnecting the graph")
    test_idx = rng.choice(free, n_test, replace=False)
    keep = np.ones(m, dtype=bool)
    keep[test_idx] = False
    test_pos = edges[test_idx]
    kept = edges[keep]
    n = a.shape[0]
    train_adj = sp.csr_matrix((np.ones(kept.shape[0]), (kept[:, 0], kept[:, 1])), shape=(n, n))
    train_adj = (train_adj + train_adj.T).tocsr()
    n_train = min(n_test, kept.shape[0])
    train_pos = kept[rng.choice(kept.shape[0], n_train, replace=False)]
    taken: set[tuple[int, int]] = set()
    test_neg = _sample_non_edges(a, n_test, rng, taken)
    train_neg = _sample_non_edges(a, n_train, rng, taken)
    return LinkSplit(train_adj, train_pos, train_neg, test_pos, test_neg)


def link_prediction_auc(emb: Any, split: LinkSplit, *, C: float = 1.0) -> float:
    """ROC-AUC of logistic regression on Hadamard edge features ``x_u * x_v``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    x = _check_embeddings(emb, split.train_adj.shape[0])

    def feats(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = np.concatenate([pos, neg])
        return x[e[:, 0]] * x[e[:, 1]], np.r_[np.ones(len(pos)), np.zeros(len(neg))]

    xtr, ytr = feats(split.train_pos, split.train_neg)
    xte, yte = feats(split.test_pos, split.test_neg)
    clf = LogisticRegression(C=C, max_iter=2000).fit(xtr, ytr)
    return float(roc_auc_score(yte, clf.predict_proba(xte)[:, 1]))
