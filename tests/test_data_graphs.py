"""Graph readers on tiny files written here."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from negkit.data.errors import DataFormatError
from negkit.data.graphs import (
    Graph,
    read_adjlist,
    read_edgelist,
    read_labels,
    read_mat,
    read_planetoid_npz,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_edgelist_undirected_counts_each_edge_once(tmp_path, caplog):
    p = write(tmp_path / "g.edgelist", "# a triangle\n0 1\n1 2\n2 0\n1 0\n0 1\n")
    with caplog.at_level(logging.INFO, logger="negkit.data.graphs"):
        g = read_edgelist(p)
    assert "merged 1 duplicate edge rows" in caplog.text
    np.testing.assert_array_equal(g.adj.toarray(), [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    assert g.adj.dtype == np.float32 and not g.directed and not g.weighted
    assert g.node_ids is None and g.counts() == {"nodes": 3, "edges": 3, "labels": 0}


def test_edgelist_directed_self_loop(tmp_path):
    g = read_edgelist(write(tmp_path / "d.txt", "0 1\n1 2\n2 2\n"), directed=True)
    np.testing.assert_array_equal(g.adj.toarray(), [[0, 1, 0], [0, 0, 1], [0, 0, 1]])
    assert g.counts() == {"nodes": 3, "edges": 2, "self_loops": 1, "labels": 0}


def test_edgelist_weighted_string_ids(tmp_path, caplog):
    p = write(tmp_path / "w.csv", "b,a,2.5\nc,b,1\nc,a,0\n")
    with caplog.at_level(logging.INFO, logger="negkit.data.graphs"):
        g = read_edgelist(p, weighted=True)
    assert "skipped 1 zero-weight edges" in caplog.text
    assert list(g.node_ids) == ["a", "b", "c"] and g.weighted
    np.testing.assert_array_equal(g.adj.toarray(), [[0, 2.5, 0], [2.5, 0, 1], [0, 1, 0]])


def test_edgelist_header_line_is_not_an_edge(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="negkit.data.graphs"):
        g = read_edgelist(write(tmp_path / "h.csv", "source,target\n0,1\n1,2\n"))
    assert "'source,target' read as a header" in caplog.text
    assert g.node_ids is None and g.counts() == {"nodes": 3, "edges": 2, "labels": 0}
    w = read_edgelist(write(tmp_path / "w.csv", "From To Weight\na b 2\n"), weighted=True)
    assert list(w.node_ids) == ["a", "b"] and w.adj[0, 1] == 2.0


def test_edgelist_one_based_ids_are_reindexed(tmp_path):
    g = read_edgelist(write(tmp_path / "one.txt", "1 2\n2 3\n"))
    np.testing.assert_array_equal(g.node_ids, [1, 2, 3])
    assert g.n_nodes == 3
    g0 = read_edgelist(write(tmp_path / "one.txt", "1 2\n2 3\n"), reindex=False)
    assert g0.n_nodes == 4 and g0.node_ids is None


def test_edgelist_bad_input(tmp_path):
    with pytest.raises(DataFormatError, match=r"s\.txt:2: short line"):
        read_edgelist(write(tmp_path / "s.txt", "0 1\n2\n"))
    with pytest.raises(DataFormatError, match=r"w\.txt:1: short line.*weight"):
        read_edgelist(write(tmp_path / "w.txt", "0 1\n"), weighted=True)
    with pytest.raises(DataFormatError, match=r"n\.txt:2: non-numeric weight 'heavy'"):
        read_edgelist(write(tmp_path / "n.txt", "0 1 1\n1 2 heavy\n"), weighted=True)
    with pytest.raises(DataFormatError, match=r"m\.txt:1: weight '-1' must be finite and >= 0"):
        read_edgelist(write(tmp_path / "m.txt", "0 1 -1\n"), weighted=True)
    with pytest.raises(DataFormatError, match=r"e\.txt: the file is empty"):
        read_edgelist(write(tmp_path / "e.txt", "# nothing\n"))
    (tmp_path / "u.txt").write_bytes(b"0 1\n\xe9 2\n")
    with pytest.raises(DataFormatError, match=r"u\.txt:2: not UTF-8"):
        read_edgelist(tmp_path / "u.txt")
    with pytest.raises(DataFormatError, match=r"neg\.txt:2: node id -2 out of range"):
        read_edgelist(write(tmp_path / "neg.txt", "0 1\n-2 1\n"), reindex=False)
    with pytest.raises(DataFormatError, match=r"big\.txt:3: node id 5 out of range \[0, 5\)"):
        read_edgelist(write(tmp_path / "big.txt", "0 1\n1 2\n2 5\n"), n_nodes=5)
    with pytest.raises(DataFormatError, match=r"str\.txt:2: non-numeric node id 'b'"):
        read_edgelist(write(tmp_path / "str.txt", "0 1\n1 b\n"), reindex=False)
    # an adjacency list read as an edge list: 0-2 and 1-3 were lost, or 2 read as a weight
    with pytest.raises(DataFormatError, match=r"adj\.txt:2: 3 columns where the first edge line "
                       r"has 2: .*needs the \.adjlist suffix"):  # fmt: skip
        read_edgelist(write(tmp_path / "adj.txt", "0 1\n1 2 3\n"))
    with pytest.raises(DataFormatError, match=r"adj4\.txt:1: 4 columns where an edge has 2 or 3"):
        read_edgelist(write(tmp_path / "adj4.txt", "0 1 2 3\n"), weighted=True)
    with pytest.raises(DataFormatError, match=r"mix\.txt:3: 2 columns where the first edge line "
                       r"has 3"):  # fmt: skip
        read_edgelist(
            write(tmp_path / "mix.txt", "source,target,weight\n0,1,2\n1,2\n"), weighted=True
        )
    # a header of unknown names over integer ids made nodes "id1", "id2" and an edge
    with pytest.raises(DataFormatError, match=r"h\.txt:2: 'id1' 'id2' looks like a header"):
        read_edgelist(write(tmp_path / "h.txt", "# a graph\nid1 id2\n0 1\n1 2\n"))
    named = read_edgelist(write(tmp_path / "names.txt", "ann bob\nbob cy\n"))  # names: edges
    assert named.n_nodes == 3
    mixed = read_edgelist(write(tmp_path / "mixed.txt", "ann bob\n0 1\nbob 1\n"))
    assert mixed.n_nodes == 4
    g = read_edgelist(write(tmp_path / "w3.txt", "0 1 5\n1 2 7\n"))  # weights read, ignored
    assert g.adj.nnz == 4 and set(g.adj.data) == {1.0}


def test_edgelist_fixed_node_count_keeps_isolated_nodes(tmp_path):
    g = read_edgelist(write(tmp_path / "f.txt", "0 1\n"), n_nodes=4)
    assert g.counts() == {"nodes": 4, "edges": 1, "labels": 0} and g.node_ids is None


def test_adjlist_keeps_lone_nodes(tmp_path):
    g = read_adjlist(write(tmp_path / "k.adjlist", "1 2 3\n2 1\n4\n"))
    np.testing.assert_array_equal(g.node_ids, [1, 2, 3, 4])
    np.testing.assert_array_equal(
        g.adj.toarray(), [[0, 1, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    )
    assert g.counts()["edges"] == 2
    d = read_adjlist(write(tmp_path / "d.adjlist", "0 1 2\n2 0\n"), directed=True)
    assert d.counts()["edges"] == 3
    with pytest.raises(DataFormatError, match=r"o\.adjlist:2: node id 9 out of range \[0, 3\)"):
        read_adjlist(write(tmp_path / "o.adjlist", "0 1\n1 2 9\n"), n_nodes=3)
    with pytest.raises(DataFormatError, match=r"h\.adjlist:3: node id 7 out of range"):
        read_adjlist(write(tmp_path / "h.adjlist", "0 1\n1\n7\n"), n_nodes=3)


def test_read_mat(tmp_path):
    net = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=np.float64))
    group = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]]))
    scipy.io.savemat(tmp_path / "g.mat", {"network": net, "group": group})
    g = read_mat(tmp_path / "g.mat")
    assert g.weighted and not g.directed
    assert g.counts() == {"nodes": 3, "edges": 2, "labels": 2}
    np.testing.assert_array_equal(g.labels.toarray(), [[1, 0], [0, 1], [1, 1]])
    scipy.io.savemat(tmp_path / "d.mat", {"net": sp.csr_matrix(np.triu(np.ones((3, 3)), 1))})
    d = read_mat(tmp_path / "d.mat", network_key="net", group_key=None)
    assert d.directed and not d.weighted and d.labels is None and d.counts()["edges"] == 3


def test_read_mat_bad_input(tmp_path):
    scipy.io.savemat(tmp_path / "k.mat", {"adj": np.eye(2)})
    with pytest.raises(DataFormatError, match=r"k\.mat: no 'network' matrix \(keys: \['adj'\]\)"):
        read_mat(tmp_path / "k.mat")
    write(tmp_path / "t.mat", "not a mat file at all\n" * 10)
    with pytest.raises(DataFormatError, match=r"t\.mat: not a readable MATLAB"):
        read_mat(tmp_path / "t.mat")
    (tmp_path / "e.mat").write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty"):
        read_mat(tmp_path / "e.mat")
    scipy.io.savemat(tmp_path / "r.mat", {"network": np.eye(3), "group": np.ones((2, 1))})
    with pytest.raises(DataFormatError, match="2 rows for 3 nodes"):
        read_mat(tmp_path / "r.mat")


def _planetoid(path, **drop):
    """6 nodes: train = node 0, 'allx' = nodes 0..3, test_index = [5, 4]."""
    x = sp.csr_matrix(np.array([[1, 0]], dtype=np.float32))
    allx = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32))
    tx = sp.csr_matrix(np.array([[5, 0], [4, 0]], dtype=np.float32))
    arrays = {
        "y": np.array([[1, 0, 0]], np.int8),
        "ally": np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]], np.int8),
        "ty": np.array([[0, 0, 1], [1, 0, 0]], np.int8),
        "test_index": np.array([5, 4], np.int32),
        "graph_src": np.array([0, 1, 1, 2, 3, 4, 5], np.int32),
        "graph_dst": np.array([1, 0, 2, 1, 3, 5, 4], np.int32),
    }
    for name, m in (("x", x), ("allx", allx), ("tx", tx)):
        arrays.update({f"{name}_data": m.data, f"{name}_indices": m.indices,
                       f"{name}_indptr": m.indptr, f"{name}_shape": np.array(m.shape)})  # fmt: skip
    for k in drop:
        arrays.pop(k)
    np.savez(path, **arrays)
    return path


def test_read_planetoid_npz(tmp_path):
    g = read_planetoid_npz(_planetoid(tmp_path / "tiny_planetoid.npz"))
    assert g.name == "tiny" and not g.directed
    assert g.counts() == {"nodes": 6, "edges": 3, "self_loops": 1, "labels": 3}
    np.testing.assert_array_equal(g.labels.toarray().argmax(1), [0, 1, 2, 1, 0, 2])
    np.testing.assert_array_equal(g.split["train"], [0])
    np.testing.assert_array_equal(g.split["test"], [5, 4])
    np.testing.assert_array_equal(g.split["val"], np.arange(1, 501))
    np.testing.assert_array_equal(g.features.toarray()[[4, 5]], [[4, 0], [5, 0]])
    assert g.adj[4, 5] == g.adj[5, 4] == 1.0


def test_read_planetoid_npz_bad_input(tmp_path):
    with pytest.raises(DataFormatError, match=r"missing keys \['ty'\]"):
        read_planetoid_npz(_planetoid(tmp_path / "p.npz", ty=None))
    no_feat = read_planetoid_npz(_planetoid(tmp_path / "q.npz", allx_data=None))
    assert no_feat.features is None and no_feat.counts()["labels"] == 3
    write(tmp_path / "bad.npz", "text")
    with pytest.raises(DataFormatError, match=r"bad\.npz: not a readable \.npz"):
        read_planetoid_npz(tmp_path / "bad.npz")


def test_read_labels(tmp_path):
    g = read_edgelist(write(tmp_path / "e.txt", "n1 n2\nn2 n3\n"))
    lab = read_labels(write(tmp_path / "l.txt", "n1 red\nn3 blue red\n"), g)
    assert isinstance(lab, Graph) and g.labels is None
    assert list(lab.label_names) == ["blue", "red"]
    np.testing.assert_array_equal(lab.labels.toarray(), [[0, 1], [0, 0], [1, 1]])
    with pytest.raises(DataFormatError, match=r"m\.txt:1: node 'n9' is not in the graph"):
        read_labels(write(tmp_path / "m.txt", "n9 red\n"), g)
    with pytest.raises(DataFormatError, match=r"s\.txt:2: short line"):
        read_labels(write(tmp_path / "s.txt", "n1 red\nn2\n"), g)
    h = read_edgelist(write(tmp_path / "h.txt", "0 1\n"))
    with pytest.raises(DataFormatError, match=r"r\.txt:1: node id 7 out of range \[0, 2\)"):
        read_labels(write(tmp_path / "r.txt", "7 3\n"), h)


def test_zero_padded_integer_ids_are_kept_as_written(tmp_path):
    """``001`` stays ``001`` (it was re-indexed and written back as ``1``), so that vectors
    and label files keyed by the file's ids find their nodes; ``07`` and ``7`` are two
    tokens, so two nodes."""
    g = read_edgelist(write(tmp_path / "pad.txt", "001 002\n002 003\n010 001\n"))
    assert list(g.node_ids) == ["001", "002", "003", "010"]
    np.testing.assert_array_equal(g.adj.toarray()[0], [0, 1, 0, 1])
    lab = read_labels(write(tmp_path / "l.txt", "001 a\n010 b\n"), g)
    np.testing.assert_array_equal(lab.labels.toarray(), [[1, 0], [0, 0], [0, 0], [0, 1]])
    m = read_edgelist(write(tmp_path / "mix.txt", "7 8\n07 8\n+8 7\n"))
    assert list(m.node_ids) == ["+8", "07", "7", "8"] and m.counts()["edges"] == 3
    a = read_adjlist(write(tmp_path / "pad.adjlist", "01 02 03\n02 01\n"))
    assert list(a.node_ids) == ["01", "02", "03"]
    # plain integer ids are still numbers, in numeric order
    assert list(read_edgelist(write(tmp_path / "n.txt", "10 9\n9 100\n")).node_ids) == [9, 10, 100]


def test_zero_padded_or_signed_node_ids_are_names_kept_as_written(tmp_path):
    g = read_edgelist(write(tmp_path / "p.txt", "001 002\n002 003\n003 010\n"))
    assert g.node_ids.tolist() == ["001", "002", "003", "010"] and g.n_nodes == 4
    lab = read_labels(write(tmp_path / "pl.txt", "001 A\n002 B\n003 A\n010 B\n"), g)
    np.testing.assert_array_equal(lab.labels.toarray(), [[1, 0], [0, 1], [1, 0], [0, 1]])
    # "7" and "007" are two nodes, not one
    h = read_edgelist(write(tmp_path / "q.txt", "7 8\n007 9\n"))
    assert h.node_ids.tolist() == ["007", "7", "8", "9"] and h.counts()["edges"] == 2
    a = read_adjlist(write(tmp_path / "a.adjlist", "+1 2\n1 3\n"))
    assert a.node_ids.tolist() == ["+1", "1", "2", "3"]
    # integers written as integers keep their numeric order
    n = read_edgelist(write(tmp_path / "n.txt", "1 2\n2 10\n"))
    assert n.node_ids.tolist() == [1, 2, 10]
