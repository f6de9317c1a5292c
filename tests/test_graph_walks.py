"""Random walks: exact transition laws (chi-square), edges only, seeding, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import chisquare

from negkit.graph import RandomWalks, as_adjacency

# A small weighted undirected graph with triangles, a pendant node and unequal weights.
EDGES = [
    (0, 1, 1.0),
    (0, 2, 2.0),
    (0, 3, 1.0),
    (1, 2, 1.0),
    (2, 3, 3.0),
    (2, 4, 1.0),
    (3, 4, 0.5),
    (4, 5, 1.0),
    (1, 5, 2.0),
    (3, 6, 1.0),
]


def _dense(weighted: bool = True, directed: bool = False) -> np.ndarray:
    a = np.zeros((7, 7))
    for u, v, w in EDGES:
        a[u, v] = w if weighted else 1.0
        if not directed:
            a[v, u] = w if weighted else 1.0
    if directed:  # give every node an out-edge, with some reciprocal pairs
        a[5, 0] = a[6, 2] = a[4, 2] = 1.0
    return a


def _node2vec_probs(a: np.ndarray, t: int, v: int, p: float, q: float) -> np.ndarray:
    """node2vec's law of the next node after t -> v, by the definition (Grover & Leskovec 2016)."""
    n = a.shape[0]
    pr = np.zeros(n)
    for x in range(n):
        if a[v, x] == 0:
            continue
        alpha = 1 / p if x == t else (1.0 if a[t, x] > 0 else 1 / q)
        pr[x] = a[v, x] * alpha
    return pr / pr.sum()


def _transitions(walks, n: int) -> np.ndarray:
    tokens, offsets = walks
    counts = np.zeros((n, n, n))
    for i in range(len(offsets) - 1):
        w = tokens[offsets[i] : offsets[i + 1]]
        assert len(w) == 3
        counts[w[0], w[1], w[2]] += 1
    return counts


@pytest.mark.parametrize(
    "p,q,weighted,directed",
    [
        (0.25, 4.0, True, False),
        (2.0, 0.5, True, False),
        (0.5, 2.0, False, False),
        (0.3, 0.7, True, True),
        (1.0, 1.0, True, False),
    ],
)
def test_second_order_transitions_match_node2vec(p, q, weighted, directed):
    a = _dense(weighted, directed)
    rw = RandomWalks(sp.csr_matrix(a), walk_length=3, p=p, q=q, workers=2)
    n_walks = 60_000
    start = 2
    counts = _transitions(rw.walk_starts(np.full(n_walks, start), seed=1), 7)[start]
    first = a[start] / a[start].sum()
    expected = np.zeros((7, 7))
    for v in np.flatnonzero(first):
        expected[v] = first[v] * _node2vec_probs(a, start, v, p, q)
    mask = expected > 0
    assert counts[~mask].sum() == 0, "a walk took a transition of probability zero"
    _, pval = chisquare(counts[mask], expected[mask] * n_walks)
    assert pval > 1e-4, f"second-order transitions differ from node2vec's law (p={pval:.2g})"


def test_second_order_is_not_first_order():
    """The chi-square test above can fail: p, q really move the law away from first order."""
    a = _dense()
    rw = RandomWalks(sp.csr_matrix(a), walk_length=3, p=0.25, q=4.0)
    counts = _transitions(rw.walk_starts(np.full(20_000, 2), seed=3), 7)[2]
    first = a[2] / a[2].sum()
    expected = np.outer(first, np.ones(7)) * (a / a.sum(1, keepdims=True))
    mask = expected > 0
    _, pval = chisquare(counts[mask], expected[mask] / expected[mask].sum() * counts.sum())
    assert pval < 1e-6


@pytest.mark.parametrize("weighted", [True, False])
def test_first_order_weighted_transitions(weighted):
    a = _dense(weighted)
    rw = RandomWalks(sp.csr_matrix(a), walk_length=2, workers=2)
    starts = np.repeat(np.arange(7), 8000)
    tokens, offsets = rw.walk_starts(starts, seed=5)
    pairs = tokens.reshape(-1, 2)
    for v in range(7):
        nxt = np.bincount(pairs[pairs[:, 0] == v, 1], minlength=7)
        law = a[v] / a[v].sum()
        assert nxt[law == 0].sum() == 0
        assert nxt.sum() == 8000
        if (law > 0).sum() < 2:
            continue
        _, pval = chisquare(nxt[law > 0], law[law > 0] * nxt.sum())
        assert pval > 1e-4, f"node {v}: first-order transitions differ from w(v,x)/deg(v)"


def test_walks_follow_edges_and_stop_at_dead_ends():
    a = sp.random(300, 300, density=0.02, random_state=0, format="csr")
    a.data[:] = np.random.default_rng(0).uniform(0.1, 3, a.nnz)
    adj = as_adjacency(a, directed=True)
    for p, q in ((1, 1), (0.5, 2), (4, 0.25)):
        rw = RandomWalks(
            adj, walk_length=30, num_walks=2, p=p, q=q, workers=2, chunk_walks=128, seed=0
        )
        total = 0
        for tokens, offsets in rw:
            for i in range(len(offsets) - 1):
                w = tokens[offsets[i] : offsets[i + 1]]
                assert np.all(a[w[:-1], w[1:]].A1 > 0), "a walk used a non-edge"
                if len(w) < 30:
                    assert a[w[-1]].nnz == 0, "a walk stopped at a node that has out-edges"
            total += len(offsets) - 1
        assert total == 600


def test_seeded_walks_repeat_and_epochs_differ():
    a = sp.csr_matrix(_dense())
    make = lambda: RandomWalks(a, walk_length=10, num_walks=3, p=0.5, q=2, workers=2, seed=7)
    one, two = list(make().iter_epoch(0)), list(make().iter_epoch(0))
    for (t1, o1), (t2, o2) in zip(one, two):
        assert np.array_equal(t1, t2) and np.array_equal(o1, o2)
    other = list(make().iter_epoch(1))
    assert not np.array_equal(
        np.concatenate([t for t, _ in one]), np.concatenate([t for t, _ in other])
    )
    # each epoch starts num_walks walks from every node
    starts = np.concatenate([t[o[:-1]] for t, o in one])
    assert np.array_equal(np.bincount(starts, minlength=7), np.full(7, 3))


def test_bad_input():
    with pytest.raises(ValueError, match="square"):
        as_adjacency(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(ValueError, match="non-negative"):
        as_adjacency(sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]])))
    a = sp.csr_matrix(_dense())
    with pytest.raises(ValueError, match="p must"):
        RandomWalks(a, p=0)
    with pytest.raises(ValueError, match="walk_length"):
        RandomWalks(a, walk_length=0)
    with pytest.raises(ValueError, match="start nodes"):
        RandomWalks(a).walk_starts(np.array([9]))


def _dead_end_graph() -> sp.csr_matrix:
    """0 -> 1 (w 1), 0 -> 2 (w 3), 1 -> 2, 3 -> 0; node 2 has no out-edge."""
    a = np.zeros((4, 4))
    a[0, 1], a[0, 2], a[1, 2], a[3, 0] = 1.0, 3.0, 1.0, 1.0
    return sp.csr_matrix(a)


def test_expected_visits_are_hand_computed_on_a_directed_graph_with_a_dead_end():
    # one walk of 3 nodes from every node: step 0 = [1, 1, 1, 1]; step 1: 0 sends 1/4 to 1
    # and 3/4 to 2, 1 sends 1 to 2, 3 sends 1 to 0 -> [1, 1/4, 7/4, 0]; step 2: 0 sends
    # 1/4, 3/4 again, 1 sends its 1/4 to 2, the walks at 2 stop -> [0, 1/4, 1, 0]
    rw = RandomWalks(as_adjacency(_dead_end_graph(), directed=True), walk_length=3, num_walks=1)
    assert np.allclose(rw.expected_visits(), [2.0, 1.5, 3.75, 1.0])
    assert rw.expected_tokens() == 8  # 8.25 rounded, not the 12 of walks of full length
    assert rw.max_tokens == 12


@pytest.mark.parametrize("p,q,tol", [(1.0, 1.0, 0.03), (0.5, 2.0, 0.25), (2.0, 0.5, 0.25)])
def test_expected_counts_follow_the_walks_on_a_directed_graph_with_dead_ends(p, q, tol):
    """The vocabulary counts (noise law, down-sampling) and the learning-rate schedule's
    length are those of the walks drawn: a node reached by many walks but without
    out-edges is counted by its visits, not by its out-degree.  Exact in expectation for
    first-order walks; node2vec's second-order walks stop at other rates (tolerance 25%,
    where counting every walk at full length overstated the tokens 5 times)."""
    rng = np.random.default_rng(0)
    a = sp.random(60, 60, density=0.06, random_state=1, format="lil")
    a[:, 0] = 1.0  # node 0: a sink reached from every node
    a[0, :] = 0.0
    a.setdiag(0)
    a = sp.csr_matrix(a)
    a.data[:] = rng.uniform(0.5, 2.0, a.nnz)
    rw = RandomWalks(as_adjacency(a, directed=True), walk_length=20, num_walks=200, p=p, q=q,
                     seed=0)  # fmt: skip
    visits = np.zeros(60)
    for tokens, _ in rw.iter_epoch(0):
        visits += np.bincount(tokens, minlength=60)
    expected = rw.expected_counts()
    assert abs(rw.expected_tokens() - visits.sum()) < tol * visits.sum()
    assert abs(expected[0] - visits[0]) < 0.05 * visits[0]
    assert np.abs(expected - visits).sum() < tol * visits.sum()


def test_a_graph_flagged_unweighted_with_weights_says_it_reads_them_as_1(caplog):
    """``Graph(adj)`` is unweighted by default: its weights are dropped, now with a warning
    (they were dropped silently); an explicit ``weighted=`` or a plain matrix says nothing."""
    import logging

    from negkit.data.graphs import Graph

    a = sp.csr_matrix(_dense(weighted=True))
    with caplog.at_level(logging.WARNING, logger="negkit.graph.adjacency"):
        adj = as_adjacency(Graph(a))
    assert not adj.weighted and "read as 1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="negkit.graph.adjacency"):
        assert as_adjacency(Graph(a, weighted=True)).weighted
        assert not as_adjacency(Graph(a), weighted=False).weighted
        assert as_adjacency(a).weighted
        assert not as_adjacency(Graph(sp.csr_matrix(_dense(weighted=False)))).weighted
    assert caplog.text == ""
