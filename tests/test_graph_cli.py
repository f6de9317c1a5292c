"""negkit graph embed / eval / linkpred on tiny files written here, embed.run, vector I/O."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from negkit.cli import main
from negkit.graph.embed import GraphEmbedSettings, run
from negkit.graph.vectors_io import load_vectors, save_vectors


def _two_cliques(n=12):
    """Two cliques of n/2 nodes joined by one edge; labels = clique."""
    half = n // 2
    a = np.zeros((n, n))
    a[:half, :half] = 1
    a[half:, half:] = 1
    np.fill_diagonal(a, 0)
    a[half - 1, half] = a[half, half - 1] = 1
    lab = np.zeros((n, 2))
    lab[:half, 0] = 1
    lab[half:, 1] = 1
    return a, lab


def test_cli_embed_edge_list_with_string_ids_and_eval(tmp_path, capsys):
    a, lab = _two_cliques()
    names = [f"n{i}" for i in range(12)]
    edges = tmp_path / "g.txt"
    edges.write_text(
        "# two cliques\n"
        + "".join(f"{names[u]} {names[v]}\n" for u, v in zip(*np.nonzero(np.triu(a))))
    )
    out = tmp_path / "v.txt"
    assert (
        main(
            [
                "graph",
                "embed",
                "--graph",
                str(edges),
                "--method",
                "deepwalk",
                "--dim",
                "8",
                "--walk-length",
                "10",
                "--num-walks",
                "5",
                "--window",
                "3",
                "--workers",
                "2",
                "--seed",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "wrote 12 vectors of dim 8" in capsys.readouterr().out
    keys, vecs = load_vectors(out)
    assert sorted(keys) == sorted(names) and vecs.shape == (12, 8)
    assert np.all(np.isfinite(vecs)) and np.abs(vecs).sum() > 0

    mat = tmp_path / "g.mat"
    scipy.io.savemat(mat, {"network": sp.csc_matrix(a), "group": sp.csc_matrix(lab)})
    walks = ["--walk-length", "10", "--num-walks", "4", "--p", "0.5", "--q", "2"]
    for method, opts in (("node2vec", walks), ("line", ["--order", "both"])):
        base = ["graph", "embed", "--graph", str(mat), "--method", method, "--dim", "8"]
        assert main([*base, *opts, "--epochs", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    # an option the method does not read is refused, not ignored
    refused = [
        ("line", walks, "--walk-length, --num-walks, --p, --q"),
        ("deepwalk", ["--order", "1", "--stay=0.5"], "--stay, --order"),
    ]
    for method, opts, named in refused:
        base = ["graph", "embed", "--graph", str(mat), "--method", method]
        assert main([*base, *opts, "--out", str(out)]) == 1
        assert f"--method {method} does not read {named}" in capsys.readouterr().err
    assert (
        main(
            [
                "graph",
                "eval",
                "--graph",
                str(mat),
                "--vectors",
                str(out),
                "--ratios",
                "0.5",
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res[0]["ratio"] == 0.5 and 0 <= res[0]["macro_f1_true_k"] <= 1


def test_cli_linkpred(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lab = np.arange(40) < 20
    a = np.triu(rng.random((40, 40)) < np.where(np.equal.outer(lab, lab), 0.4, 0.03), 1)
    path = tmp_path / "g.edges"
    path.write_text("".join(f"{u} {v}\n" for u, v in zip(*np.nonzero(a))))
    assert (
        main(
            [
                "graph",
                "linkpred",
                "--graph",
                str(path),
                "--method",
                "line",
                "--dim",
                "8",
                "--epochs",
                "5",
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["task"] == "link_prediction" and 0 <= res["auc"] <= 1 and res["test_edges"] > 0


def test_cli_bad_input(tmp_path, capsys):
    assert (
        main(
            [
                "graph",
                "embed",
                "--graph",
                str(tmp_path / "none.txt"),
                "--out",
                str(tmp_path / "v.txt"),
            ]
        )
        == 1
    )
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["graph", "embed", "--graph", "x", "--method", "nope", "--out", "v.txt"])
    # refused before any rank is started (no graph read, no process launched)
    line = ["graph", "embed", "--graph", "x", "--method", "line", "--nproc", "2", "--out", "v"]
    assert main(line) == 1
    assert "LINE runs on one process" in capsys.readouterr().err
    bad = tmp_path / "bad.vec"
    bad.write_text("2 3\na 1 2 3\nb 1 x 3\n")
    with pytest.raises(ValueError, match=r"bad.vec:3: a value is not a number"):
        load_vectors(bad)
    bad.write_text("3 2\na 1 2\n")
    with pytest.raises(ValueError, match="announces 3 vectors"):
        load_vectors(bad)
    a, lab = _two_cliques()
    mat = tmp_path / "g.mat"
    scipy.io.savemat(mat, {"network": sp.csc_matrix(a), "group": sp.csc_matrix(lab)})
    vec = tmp_path / "v.txt"
    save_vectors(vec, np.ones((11, 2)), [str(i) for i in range(11)])
    assert main(["graph", "eval", "--graph", str(mat), "--vectors", str(vec)]) == 1
    assert "no vector" in capsys.readouterr().err
    # a key that is no node of the graph, or a node given twice, is refused, not skipped
    for keys, named in (
        ([str(i) for i in range(12)] + ["</s>", "x"], "2 vectors are keyed by no node of the "
         "graph (first: '</s>'): were they made from this graph?"),
        ([str(i) for i in range(12)] + ["3"], "1 keys have more than one vector (first: '3')"),
    ):  # fmt: skip
        save_vectors(vec, np.ones((len(keys), 2)), keys)
        assert main(["graph", "eval", "--graph", str(mat), "--vectors", str(vec)]) == 1
        assert named in capsys.readouterr().err
    with pytest.raises(ValueError, match="first order"):
        run(sp.csr_matrix(a), GraphEmbedSettings(method="deepwalk", p=0.5))
    with pytest.raises(ValueError, match="unknown method"):
        run(sp.csr_matrix(a), GraphEmbedSettings(method="sdne"))


def test_run_reports_timings_and_calls_on_epoch():
    a, lab = _two_cliques(20)
    seen = []
    settings = GraphEmbedSettings(
        method="node2vec",
        dim=8,
        walk_length=20,
        num_walks=20,
        window=3,
        p=0.5,
        q=2,
        epochs=2,
        sample=0.0,
    )
    record = lambda e, v, rec: seen.append((e, v.shape, rec["epoch"]))
    res = run(sp.csr_matrix(a), settings, sampler="uniform", seed=1, on_epoch=record)
    assert seen == [(0, (20, 8), 1), (1, (20, 8), 2)]
    assert set(res.timings) == {"walk_s", "train_s", "total_s"}
    assert res.timings["total_s"] >= res.timings["walk_s"] > 0
    # the two cliques end up apart: each node is closer to its own clique
    v = res.vectors / np.linalg.norm(res.vectors, axis=1, keepdims=True)
    c = v @ v.T
    side = lab[:, 0].astype(bool)
    same = np.equal.outer(side, side)
    assert c[same].mean() > c[~same].mean() + 0.2


def test_cli_directed_edge_list_with_dead_end(tmp_path, capsys):
    path = tmp_path / "d.txt"
    path.write_text("0 1\n1 2\n2 0\n2 3\n")  # node 3 has no out-edge
    out = tmp_path / "v.txt"
    assert (
        main(
            [
                "graph",
                "embed",
                "--graph",
                str(path),
                "--directed",
                "--method",
                "node2vec",
                "--p",
                "2",
                "--q",
                "0.5",
                "--dim",
                "4",
                "--walk-length",
                "6",
                "--num-walks",
                "3",
                "--window",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    keys, vecs = load_vectors(out)
    assert sorted(keys) == ["0", "1", "2", "3"] and np.all(np.isfinite(vecs))


def test_cli_embed_passes_the_sync_options_to_the_run(tmp_path, monkeypatch, capsys):
    """``--sync-wire`` / ``--[no-]sync-overlap`` / ``--sync-head`` / ``--sync-tail-every``
    reach ``GraphEmbedSettings`` (the defaults: its own); a wire other than bfloat16 or
    float32, and a head outside [0, 1] or a tail interval below 1, are refused."""
    import negkit.graph.embed as embed

    a, _ = _two_cliques()
    edges = tmp_path / "g.txt"
    edges.write_text("".join(f"{i} {j}\n" for i, j in zip(*np.nonzero(np.triu(a)))))
    seen = []

    def fake_run(graph, settings, **kw):
        seen.append((settings.sync_wire, settings.sync_overlap, settings.sync_head,
                     settings.sync_tail_every))  # fmt: skip
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(embed, "run", fake_run)
    base = ["graph", "embed", "--graph", str(edges), "--out", str(tmp_path / "v.txt")]
    given = ["--no-sync-overlap", "--sync-wire", "float32", "--sync-head", "0.5",
             "--sync-tail-every", "3"]  # fmt: skip
    for extra in ([], given):
        assert main(base + extra) != 0  # the CLI reports the interruption
    d = embed.GraphEmbedSettings()
    assert seen == [("bfloat16", True, d.sync_head, d.sync_tail_every), ("float32", False, 0.5, 3)]
    with pytest.raises(SystemExit):
        main(base + ["--sync-wire", "float16"])
    for bad, says in (
        (["--sync-head", "1.5"], "sync_head must be a fraction"),
        (["--sync-tail-every", "0"], "sync_tail_every must be an integer >= 1"),
    ):
        capsys.readouterr()
        assert main(base + bad) == 1 and len(seen) == 2  # refused before the run
        assert says in capsys.readouterr().err


def test_a_walk_checkpoint_refuses_another_graph_or_other_walks(tmp_path):
    a, _ = _two_cliques(12)
    ckpt = str(tmp_path / "dw.ckpt.npz")
    s = dict(dim=4, walk_length=6, num_walks=2, window=2, epochs=2)
    run(sp.csr_matrix(a), GraphEmbedSettings(**s), seed=1, checkpoint=ckpt)
    again = run(sp.csr_matrix(a), GraphEmbedSettings(**s), seed=1, checkpoint=ckpt)
    assert again.vectors.shape == (12, 4)  # the finished run, read back
    with pytest.raises(ValueError, match=r"other settings \(walk_length\)"):
        run(sp.csr_matrix(a), GraphEmbedSettings(**{**s, "walk_length": 9}), seed=1,
            checkpoint=ckpt)  # fmt: skip
    with pytest.raises(ValueError, match=r"other settings \(method, p\)"):
        run(sp.csr_matrix(a), GraphEmbedSettings(**s, method="node2vec", p=0.5), seed=1,
            checkpoint=ckpt)  # fmt: skip
    with pytest.raises(ValueError, match=r"other settings \(sampler\)"):
        run(sp.csr_matrix(a), GraphEmbedSettings(**s), sampler="uniform", seed=1, checkpoint=ckpt)
    b, _ = _two_cliques(14)
    with pytest.raises(ValueError, match=r"other settings \(graph\)"):
        run(sp.csr_matrix(b), GraphEmbedSettings(**s), seed=1, checkpoint=ckpt)


def test_cli_checks_out_before_training_and_makes_its_folder(tmp_path, monkeypatch, capsys):
    import negkit.graph.embed as embed

    path = tmp_path / "g.edges"
    path.write_text("a b\nb c\nc a\n")
    trained = []
    real_run = embed.run
    monkeypatch.setattr(embed, "run", lambda *a, **k: trained.append(1) or real_run(*a, **k))
    base = ["graph", "embed", "--graph", str(path), "--dim", "4", "--num-walks", "1",
            "--walk-length", "4", "--window", "2"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path)]) == 1
    assert f"--out {tmp_path} is a folder, not a file" in capsys.readouterr().err
    assert main([*base, "--out", str(path / "v.txt")]) == 1
    assert f"{path} is a file, not a folder" in capsys.readouterr().err
    assert trained == []  # refused before any training
    assert main([*base, "--out", str(tmp_path / "new" / "v.txt")]) == 0
    assert load_vectors(tmp_path / "new" / "v.txt")[1].shape == (3, 4)
    out = ["--out", str(tmp_path / "v.txt")]
    assert main([*base, *out, "--checkpoint", str(tmp_path)]) == 1
    assert f"--checkpoint {tmp_path} is a folder, not a file" in capsys.readouterr().err
    assert main([*base, *out, "--checkpoint", str(tmp_path / "ck" / "dw.npz")]) == 0
    assert (tmp_path / "ck" / "dw.npz").is_file()


def test_compressed_graph_files_read_as_their_format(tmp_path):
    import gzip

    from negkit.graph.embed import load_graph

    path = tmp_path / "w.edges.gz"
    with gzip.open(path, "wt") as f:
        f.write("# weighted\n0 1 2.5\n1 2 1\n")
    g = load_graph(path)
    assert g.weighted and g.adj[0, 1] == 2.5 and g.adj[1, 2] == 1.0
    adj = tmp_path / "g.adjlist.gz"  # an adjacency list, compressed: still one
    with gzip.open(adj, "wt") as f:
        f.write("0 1 2 3\n1 2\n")
    assert load_graph(adj).counts() == {"nodes": 4, "edges": 4, "labels": 0}


def test_directed_is_refused_where_the_source_says_undirected(tmp_path, monkeypatch, capsys):
    from negkit.data.graphs import Graph
    from negkit.graph.embed import load_graph

    a, lab = _two_cliques()
    mat = tmp_path / "g.mat"
    scipy.io.savemat(mat, {"network": sp.csc_matrix(a), "group": sp.csc_matrix(lab)})
    with pytest.raises(ValueError, match=r"g.mat \(a symmetric .mat network\) is undirected"):
        load_graph(mat, directed=True)
    assert not load_graph(mat).directed
    one_way = tmp_path / "d.mat"  # an asymmetric network is directed: --directed agrees
    scipy.io.savemat(one_way, {"network": sp.csc_matrix(np.triu(a)), "group": sp.csc_matrix(lab)})
    assert load_graph(one_way, directed=True).directed
    undirected = Graph(sp.csr_matrix(a), directed=False, weighted=False)
    with pytest.raises(ValueError, match="the graph given is undirected"):
        load_graph(undirected, directed=True)
    assert load_graph(Graph(sp.csr_matrix(np.triu(a)), directed=True, weighted=False),
                      directed=True).directed  # fmt: skip
    home = tmp_path / "data"  # a registered data set read from its own file
    (home / "graphs" / "karate").mkdir(parents=True)
    (home / "graphs" / "karate" / "karate.adjlist").write_text("1 2 3\n2 3\n")
    monkeypatch.setenv("NEGKIT_DATA", str(home))
    with pytest.raises(ValueError, match="data set karate is undirected"):
        load_graph("karate", directed=True)
    out = ["--out", str(tmp_path / "v.txt")]
    for graph in (str(mat), "karate"):
        base = ["graph", "embed", "--graph", graph, "--directed", "--dim", "4", *out]
        assert main(base) == 1
        assert "is undirected and is read as such" in capsys.readouterr().err
        assert not (tmp_path / "v.txt").exists()


def test_run_schedules_the_learning_rate_over_the_tokens_walks_make(monkeypatch):
    """On a directed graph whose walks stop at dead ends, the learning rate decays over the
    tokens the walks make (and the vocabulary counts are their visits), not over walks of
    full length that never come: there it stayed near its start to the end."""
    from negkit.word2vec import Word2Vec

    a = np.zeros((4, 4))
    a[0, 1], a[0, 2], a[1, 2], a[3, 0] = 1.0, 3.0, 1.0, 1.0  # 2 is a dead end
    seen = {}
    train = Word2Vec.train_arrays

    def spy(self, chunks, **kw):
        seen["total_words"] = kw["total_words"]
        seen["counts"] = dict(zip(self.wv.index_to_key, self.vocab_.counts))
        return train(self, chunks, **kw)

    monkeypatch.setattr(Word2Vec, "train_arrays", spy)
    s = GraphEmbedSettings(method="deepwalk", dim=8, walk_length=3, num_walks=4, window=2)
    run(sp.csr_matrix(a), s, seed=0)
    # per walk from each node: visits [2, 1.5, 3.75, 1] (8.25 tokens, not 12)
    assert seen["total_words"] == 33
    assert seen["counts"] == {"0": 8, "1": 6, "2": 15, "3": 4}


def test_cli_embed_writes_zero_padded_ids_as_the_file_has_them(tmp_path, capsys):
    edges = tmp_path / "g.txt"
    edges.write_text("".join(f"{u:03d} {v:03d}\n" for u, v in [(1, 2), (2, 3), (3, 1), (3, 4)]))
    out = tmp_path / "v.txt"
    assert main(["graph", "embed", "--graph", str(edges), "--dim", "4", "--walk-length", "5",
                 "--num-walks", "2", "--window", "2", "--out", str(out)]) == 0  # fmt: skip
    keys, _ = load_vectors(out)
    assert sorted(keys) == ["001", "002", "003", "004"]


def test_cli_linkpred_embeds_the_weighted_graph_and_refuses_what_it_does_not_read(
    tmp_path, capsys, monkeypatch
):
    """linkpred embeds the kept edges with their weights (they became 1), refuses --directed
    (the split is undirected: the walks were silently undirected) and options its method
    does not read (--p with LINE was silently dropped), as ``graph embed`` does."""
    import negkit.graph.embed as embed

    rng = np.random.default_rng(0)
    a = np.triu(rng.random((30, 30)) < 0.3, 1)
    u, v = np.nonzero(a)
    w = rng.integers(1, 5, u.size)
    path = tmp_path / "g.edges"
    path.write_text("".join(f"{x} {y} {z}\n" for x, y, z in zip(u, v, w)))
    seen = {}
    real_run = embed.run

    def spy(graph, *args, **kw):
        seen["adj"] = sp.csr_matrix(graph)
        return real_run(graph, *args, **kw)

    monkeypatch.setattr(embed, "run", spy)
    base = ["graph", "linkpred", "--graph", str(path), "--method", "line", "--dim", "4",
            "--epochs", "1", "--json"]  # fmt: skip
    assert main(base) == 0
    weight = {(int(x), int(y)): float(z) for x, y, z in zip(u, v, w)}
    got = seen["adj"].tocoo()
    assert got.nnz > 0 and np.allclose(seen["adj"].toarray(), seen["adj"].toarray().T)
    for x, y, z in zip(got.row, got.col, got.data):
        assert z == weight[(min(x, y), max(x, y))]
    assert len(set(got.data.tolist())) > 1
    capsys.readouterr()
    assert main(base + ["--directed"]) == 1
    assert "--directed is not read" in capsys.readouterr().err
    assert main(base + ["--p", "0.5"]) == 1
    assert "--method line does not read --p" in capsys.readouterr().err


def test_cli_linkpred_warns_that_a_directed_graph_is_scored_undirected(
    tmp_path, monkeypatch, caplog
):
    import negkit.graph.embed as embed
    from negkit.data.graphs import Graph

    rng = np.random.default_rng(1)
    adj = sp.csr_matrix(np.triu(rng.random((30, 30)) < 0.3, 1).astype(np.float32))
    directed = Graph(adj, directed=True, name="one-way")
    monkeypatch.setattr(embed, "load_graph", lambda spec, **kw: directed)
    args = ["graph", "linkpred", "--graph", "one-way", "--method", "line", "--dim", "4",
            "--epochs", "1", "--json"]  # fmt: skip
    with caplog.at_level("WARNING", logger="negkit.cli.graph"):
        assert main(args) == 0
    assert "one-way is a directed graph: link prediction holds out and scores its edges as " \
        "undirected pairs" in caplog.text  # fmt: skip


def test_an_edge_list_header_does_not_hide_the_weight_column(tmp_path):
    """The weight column is looked for on the first edge, not on a header line: under
    ``source,target`` the weights were silently read as 1."""
    from negkit.graph.embed import load_graph

    path = tmp_path / "h.csv"
    path.write_text("source,target\n0,1,2.5\n1,2,4\n")
    g = load_graph(path)
    assert g.weighted and g.adj[0, 1] == 2.5 and g.adj[2, 1] == 4.0
    path.write_text("source target weight\n0 1 3\n")
    assert load_graph(path).adj[1, 0] == 3.0
    path.write_text("source,target\n0,1\n1,2\n")
    assert not load_graph(path).weighted
