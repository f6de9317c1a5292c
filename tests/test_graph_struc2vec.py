"""struc2vec: DTW by hand, rings, structural equivalence, OPT2 pairs, walk law, CLI, airports."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import chisquare

from negkit.cli import main
from negkit.graph.embed import GraphEmbedSettings, run
from negkit.graph.struc2vec import Struc2VecWalks
from negkit.graph.struc2vec_layers import (
    candidate_pairs,
    dtw,
    multilayer_graph,
    ring_sequences,
    simple_csr,
)
from negkit.graph.vectors_io import load_vectors


def _graph(edges, n):
    a = np.zeros((n, n))
    for u, v in edges:
        a[u, v] = a[v, u] = 1.0
    return sp.csr_matrix(a)


PATH5 = _graph([(0, 1), (1, 2), (2, 3), (3, 4)], 5)


def _one(n):
    return np.ones(n, np.int64)


def test_dtw_matches_hand_computed_values():
    a, b = np.array([1, 2]), np.array([1, 1, 3])
    # eps=0 (the paper's cost max/min - 1): costs c(1,1)=0, c(1,3)=2, c(2,1)=1, c(2,3)=0.5;
    # D = [[0, 0, 2], [1, 1, 0.5]] -> 0.5
    assert dtw(a, _one(2), b, _one(3), 0.0) == pytest.approx(0.5)
    # eps=0.5 (reference code): c(2,1)=2/3, c(1,3)=4/3, c(2,3)=0.4 -> D[1,2] = 0.4 + 0
    assert dtw(a, _one(2), b, _one(3), 0.5) == pytest.approx(0.4)
    # OPT1: (1, 2) against (1, 1), (3, 1): 0 * 2, then (3.5/1.5 - 1) * max(2, 1) = 8/3
    assert dtw(np.array([1]), np.array([2]), np.array([1, 3]), _one(2), 0.5) == pytest.approx(8 / 3)
    assert dtw(np.array([4]), _one(1), np.array([4]), _one(1), 0.0) == 0.0
    assert math.isinf(dtw(np.array([1]), _one(1), np.zeros(0, np.int64), _one(0), 0.0))


def test_rings_are_compressed_degree_sequences():
    seqs = ring_sequences(simple_csr(PATH5))
    assert seqs.n_layers == 5  # diameter 4
    degs, cnts = seqs.ring(2, 1)  # the middle node: ring 1 = {1, 3}, both of degree 2
    assert degs.tolist() == [2] and cnts.tolist() == [2]
    degs, cnts = seqs.ring(1, 1)  # node 1: ring 1 = {0, 2} with degrees 1 and 2
    assert degs.tolist() == [1, 2] and cnts.tolist() == [1, 1]
    assert seqs.ring(2, 3)[0].size == 0  # nothing at distance 3 from the middle
    assert ring_sequences(simple_csr(PATH5), max_layer=1).n_layers == 2


def test_structurally_equivalent_nodes_are_at_distance_zero_in_every_layer():
    ml, f, (pu, pv) = multilayer_graph(PATH5, opt2=False, eps=0.0)
    row = {(int(u), int(v)): i for i, (u, v) in enumerate(zip(pu, pv))}
    assert np.all(f[row[(0, 4)]] == 0.0)  # mirror images of the path, in all 5 layers
    assert np.all(f[row[(1, 3)], :4] == 0.0) and np.isinf(f[row[(1, 3)], 4])  # no ring 4
    # 0 and 1 differ from layer 0 on (degree 1 vs 2): f_0 = 2/1 - 1 = 1, and f never decreases
    assert f[row[(0, 1)], 0] == pytest.approx(1.0)
    assert np.all(np.diff(f[row[(0, 1)]][np.isfinite(f[row[(0, 1)]])]) >= 0)
    # the middle node has no ring 3: its pairs leave the graph from layer 3 on
    assert np.isinf(f[row[(0, 2)], 3])
    w0 = ml.layer_matrix(0).toarray()
    assert w0[0, 4] == pytest.approx(1.0) and w0[0, 1] == pytest.approx(math.exp(-1.0))
    assert np.allclose(w0, w0.T)


def test_cross_layer_weights_count_edges_above_the_layer_mean():
    ml, _, _ = multilayer_graph(PATH5, opt2=False, eps=0.0)
    for k in range(ml.n_layers):
        w = ml.layer_matrix(k)
        if w.nnz == 0:
            continue
        mean = w.data.mean()
        gamma = np.asarray((w > mean).sum(axis=1)).ravel()
        assert np.allclose(ml.up[k], np.log(gamma + math.e))


def test_opt2_takes_the_nearest_degrees():
    deg = np.array([1, 1, 2, 5, 9, 10])
    u, v = candidate_pairs(deg, 1)
    pairs = set(zip(u.tolist(), v.tolist()))
    # node 3 (degree 5): 2 is nearer (|5-2| = 3) than 4 (|9-5| = 4)
    assert (2, 3) in pairs and (3, 4) not in pairs and (4, 5) in pairs and (0, 1) in pairs
    u, v = candidate_pairs(np.arange(64))
    assert np.all(np.bincount(np.concatenate((u, v)), minlength=64) >= 12)  # 2 log2 64


def test_a_step_inside_layer_zero_follows_the_layer_weights():
    g = _graph([(0, 1), (0, 2), (0, 3), (3, 4), (4, 5), (1, 2)], 6)
    ml, _, _ = multilayer_graph(g, opt2=False)
    walks = Struc2VecWalks(ml, walk_length=2, num_walks=1, stay=1.0, chunk_walks=20000)
    starts = np.full(20000, 3, np.int32)
    from negkit._rng import make_contexts

    tokens, offsets = walks._walk(starts, make_contexts(7, 1), None)
    nxt = tokens[offsets[:-1] + 1]
    w = ml.layer_matrix(0).toarray()[3]
    expected = w / w.sum() * nxt.size
    obs = np.bincount(nxt, minlength=6)
    keep = expected > 0
    assert obs[~keep].sum() == 0
    assert chisquare(obs[keep], expected[keep]).pvalue > 1e-3


def test_walks_change_layers_and_record_only_nodes():
    g = _graph([(0, 1), (0, 2), (0, 3), (3, 4), (4, 5), (1, 2)], 6)
    walks = Struc2VecWalks(g, walk_length=30, num_walks=3, seed=1)
    tokens, offsets = next(iter(walks))
    assert offsets[-1] == tokens.size == 6 * 3 * 30
    assert tokens.min() >= 0 and tokens.max() < 6
    again = next(iter(Struc2VecWalks(g, walk_length=30, num_walks=3, seed=1)))[0]
    assert np.array_equal(tokens, again)  # seeded


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="max_layer"):
        multilayer_graph(PATH5, max_layer=-1)
    with pytest.raises(ValueError, match="eps"):
        multilayer_graph(PATH5, eps=-0.1)
    with pytest.raises(ValueError, match="stay"):
        Struc2VecWalks(PATH5, stay=0.0)
    with pytest.raises(ValueError, match="at least 2"):
        multilayer_graph(sp.csr_matrix((1, 1)))
    with pytest.raises(ValueError, match="take no p, q"):
        GraphEmbedSettings(method="struc2vec", p=0.5).check()
    # eps = 0 divides by a degree: an isolated node (a self-loop alone counts none) is
    # refused by name, not a ZeroDivisionError from the compiled DTW
    lone = sp.block_diag([PATH5, sp.csr_matrix([[1.0]])]).tocsr()
    with pytest.raises(ValueError, match="eps=0 .* node 5 has no neighbour"):
        multilayer_graph(lone, eps=0.0)
    _, f, (pu, pv) = multilayer_graph(lone, opt2=False)  # eps = 0.5 takes it
    assert np.isfinite(f[:, 0]).all()


def _twin_stars():
    """Two disjoint copies of a star with a tail: node i and i + 8 are mirror images."""
    one = [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (5, 6), (6, 7)]
    return _graph(one + [(u + 8, v + 8) for u, v in one], 16)


def test_struc2vec_puts_mirror_nodes_of_disjoint_copies_together(tmp_path, capsys):
    a = _twin_stars()
    edges = tmp_path / "twins.txt"
    edges.write_text("".join(f"{u} {v}\n" for u, v in zip(*sp.triu(a).nonzero())))
    out = tmp_path / "v.txt"
    args = ["graph", "embed", "--graph", str(edges), "--method", "struc2vec", "--dim", "16",
            "--walk-length", "40", "--num-walks", "20", "--window", "5", "--epochs", "3",
            "--all-pairs", "--seed", "0", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "wrote 16 vectors of dim 16" in capsys.readouterr().out
    keys, x = load_vectors(out)
    x = x[np.argsort([int(k) for k in keys])]
    x = x - x.mean(axis=0)  # skip-gram vectors share a common direction: centre them
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = x @ x.T
    role = np.array([0, 1, 1, 1, 1, 2, 3, 4] * 2)  # hub, leaves, tail 1, 2, 3
    cross = np.logical_and.outer(np.arange(16) < 8, np.arange(16) >= 8)  # no path between them
    same = (role[:, None] == role[None, :]) & cross
    diff = (role[:, None] != role[None, :]) & cross
    # same role across the copies: close (0.94 here); different roles: apart (-0.39)
    assert cos[same].mean() > 0.6 and cos[diff].mean() < 0.0


def test_run_struc2vec_times_the_build_with_the_walks():
    res = run(_twin_stars(), GraphEmbedSettings(method="struc2vec", dim=8, walk_length=10,
                                                num_walks=2, window=3), seed=0)  # fmt: skip
    assert res.vectors.shape == (16, 8) and np.all(np.isfinite(res.vectors))
    assert res.timings["walk_s"] > 0 and res.settings["stay"] == 0.3


@pytest.mark.parametrize(
    "name, nodes, edges, loops, classes",
    [
        ("airports_brazil", 131, 1003, 71, [32, 32, 32, 35]),
        ("airports_europe", 399, 5993, 2, [99, 99, 99, 102]),
        ("airports_usa", 1190, 13599, 0, [297, 297, 297, 299]),
    ],
)
def test_airports_match_the_manifest(real_data, name, nodes, edges, loops, classes):
    from negkit.data import registry

    g = registry.load(name)
    c = g.counts()
    assert (c["nodes"], c["edges"], c.get("self_loops", 0), c["labels"]) == (nodes, edges, loops, 4)
    assert np.asarray(g.labels.sum(axis=0)).ravel().tolist() == classes
    assert np.all(np.asarray(g.labels.sum(axis=1)).ravel() == 1)
    if name == "airports_usa":
        assert g.node_ids is not None and int(g.node_ids.min()) == 10005


def test_sharded_ranks_count_the_same_vocabulary():
    """Distributed struc2vec: every rank builds its vocabulary (sorted by count: the row order
    of the tables the ranks merge) from the whole pass, not from its own share of the walks,
    which gave each rank other counts, so another row order, and merged other nodes' rows."""
    g = _twin_stars()
    ml, _, _ = multilayer_graph(g)
    make = lambda: Struc2VecWalks(ml, walk_length=10, num_walks=8, seed=3, chunk_walks=4096)
    ranks = []
    for r in range(2):
        w = make()
        w.shard(r, 2)
        ranks.append(w.expected_counts())
    assert np.array_equal(ranks[0], ranks[1])
    w = make()
    w.shard(0, 2)
    visits = sum(np.bincount(t, minlength=16) for t, _ in w.iter_epoch(0, all_chunks=True))
    assert np.array_equal(ranks[0], visits) and visits.sum() == 16 * 8 * 10
