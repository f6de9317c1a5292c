"""``negkit compare graph``: the graph-embedding family of a study."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.cli import main
from negkit.data.graphs import Graph
from negkit.study import run_study
from negkit.study.graph_family import GraphFamily
from negkit.study.log import read_records


def _two_blocks(labels: bool = True) -> Graph:
    rng = np.random.default_rng(0)
    n = 40
    src, dst = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < (0.3 if (i < 20) == (j < 20) else 0.02):
                src += [i, j]
                dst += [j, i]
    adj = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    lab = sp.csr_matrix((np.ones(n, np.int8), (np.arange(n), (np.arange(n) >= 20).astype(int))),
                        shape=(n, 2))  # fmt: skip
    return Graph(adj=adj, labels=lab if labels else None, name="two-blocks")


def test_graph_study_records_f1_and_negative_diagnostics(tmp_path):
    fam = GraphFamily(_two_blocks(), dim=8, walk_length=10, num_walks=4, window=3, workers=1)
    res = run_study(fam, ["uniform"], [0], 2, tmp_path / "g", progress=False)
    assert not res.interrupted
    epochs = [r for r in read_records(tmp_path / "g" / "metrics.jsonl") if r["type"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for r in epochs:
        assert set(r["metrics"]) == {"micro_f1", "macro_f1"}
        assert all(0 <= v <= 1 for v in r["metrics"].values())
        assert 0 < r["neg_sigmoid_mean"] < 1 and sum(r["neg_score_hist"]) == r["n_negatives"]
    assert epochs[1]["train_seconds"] > epochs[0]["train_seconds"] > 0
    assert "micro_f1" in (tmp_path / "g" / "report.md").read_text()


def test_graph_without_labels_fails_before_training(tmp_path):
    fam = GraphFamily(_two_blocks(labels=False))
    with pytest.raises(ValueError, match="has no node labels"):
        run_study(fam, ["uniform"], [0], 1, tmp_path / "g", progress=False)


def test_compare_graph_needs_data(capsys):
    with pytest.raises(SystemExit) as e:
        main(["compare", "graph", "--out", "x"])
    assert e.value.code == 2 and "--data" in capsys.readouterr().err


def test_node2vec_studies_take_p_and_q(tmp_path, monkeypatch):
    import negkit.graph.embed as embed

    seen = []
    real_run = embed.run
    monkeypatch.setattr(
        embed, "run", lambda g, s, **k: seen.append((s.p, s.q)) or real_run(g, s, **k)
    )
    fam = GraphFamily(_two_blocks(), method="node2vec", p=0.25, q=4.0, dim=4, walk_length=6,
                      num_walks=2, window=2, workers=1)  # fmt: skip
    assert fam.settings()["p"] == 0.25 and fam.settings()["q"] == 4.0
    run_study(fam, ["uniform"], [0], 1, tmp_path / "g", progress=False)
    assert seen and set(seen) == {(0.25, 4.0)}  # the warm-up run and the study's
    with pytest.raises(ValueError, match="p and q are node2vec's walk parameters, not deepwalk's"):
        GraphFamily(_two_blocks(), method="deepwalk", p=0.5)


def _ring_of_stars(n_stars: int = 3, leaves: int = 4) -> Graph:
    """Hubs on a ring, each with its own leaves: labels are the roles (hub 0, leaf 1)."""
    src, dst, role = [], [], [0] * n_stars
    node = n_stars
    for s in range(n_stars):
        src.append(s)
        dst.append((s + 1) % n_stars)
        for _ in range(leaves):
            src.append(s)
            dst.append(node)
            role.append(1)
            node += 1
    a = sp.coo_matrix((np.ones(len(src)), (src, dst)), shape=(node, node)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64)
    lab = sp.csr_matrix((np.ones(node, np.int8), (np.arange(node), role)), shape=(node, 2))
    return Graph(adj=sp.csr_matrix(a), labels=lab, name="stars")


def test_struc2vec_studies_take_its_settings_and_build_the_layers_once(tmp_path, monkeypatch):
    import negkit.graph.embed as embed
    import negkit.graph.struc2vec_layers as layers

    seen, builds = [], []
    real_run, real_build = embed.run, layers.multilayer_graph
    monkeypatch.setattr(embed, "run", lambda g, s, **k: seen.append(
        (s.method, s.stay, s.max_layer, s.opt2)) or real_run(g, s, **k))  # fmt: skip
    monkeypatch.setattr(layers, "multilayer_graph", lambda *a, **k: builds.append(k)
                        or real_build(*a, **k))  # fmt: skip
    graph = _ring_of_stars()
    fam = GraphFamily(graph, method="struc2vec", stay=0.5, max_layer=1, dim=4,
                      walk_length=6, num_walks=2, window=2, workers=1)  # fmt: skip
    assert fam.settings()["stay"] == 0.5 and fam.settings()["max_layer"] == 1
    res = run_study(fam, ["uniform", "degree"], [0, 1], 1, tmp_path / "g", progress=False)
    assert not res.interrupted
    # two warm-ups and four runs, all on one multilayer graph
    assert len(seen) == 6 and set(seen) == {("struc2vec", 0.5, 1, True)}
    assert builds == [{"max_layer": 1, "opt2": True}]
    # in one cache, another depth or another graph is built afresh; without one, every call
    cache: dict = {}
    small = {"method": "struc2vec", "dim": 4, "walk_length": 4, "num_walks": 1}
    for g, depth in ((graph, 1), (graph, 1), (graph, 0), (_ring_of_stars(leaves=5), 0)):
        embed.run(g, embed.GraphEmbedSettings(max_layer=depth, **small), seed=0,
                  layers_cache=cache)  # fmt: skip
    embed.run(graph, embed.GraphEmbedSettings(max_layer=1, **small), seed=0)
    assert [b["max_layer"] for b in builds] == [1, 1, 0, 0, 1] and len(cache) == 1


def test_struc2vec_settings_are_refused_for_other_methods_and_checked():
    with pytest.raises(ValueError, match="struc2vec's settings, not deepwalk's"):
        GraphFamily(_two_blocks(), method="deepwalk", stay=0.5)
    with pytest.raises(ValueError, match="struc2vec's settings, not node2vec's"):
        GraphFamily(_two_blocks(), method="node2vec", max_layer=2)
    with pytest.raises(ValueError, match=r"stay must lie in \(0, 1\]"):
        GraphFamily(_two_blocks(), method="struc2vec", stay=1.5)
    with pytest.raises(ValueError, match="max_layer must be a non-negative integer"):
        GraphFamily(_two_blocks(), method="struc2vec", max_layer=-1)


def test_compare_graph_refuses_options_the_method_does_not_read(tmp_path, capsys):
    base = ["compare", "graph", "--data", "x", "--out", str(tmp_path / "o")]
    assert main([*base, "--method", "deepwalk", "--stay", "0.5"]) == 1
    assert "--method deepwalk does not read --stay" in capsys.readouterr().err
    assert main([*base, "--method", "line", "--walk-length", "5", "--p", "2"]) == 1
    assert "--method line does not read --walk-length, --p" in capsys.readouterr().err
    assert main([*base, "--method", "line", "--nproc", "2"]) == 1
    assert "LINE runs on one process" in capsys.readouterr().err


def test_a_line_study_s_command_names_no_walk_option(tmp_path):
    """The report's command reruns the study: it must not carry options LINE refuses."""
    import shlex

    from scipy import io

    g = _two_blocks()
    mat = tmp_path / "blocks.mat"
    io.savemat(mat, {"network": sp.csc_matrix(g.adj), "group": sp.csc_matrix(g.labels)})
    argv = ["compare", "graph", "--data", str(mat), "--method", "line", "--samplers", "uniform",
            "--seeds", "1", "--epochs", "1", "--dim", "4", "--workers", "1",
            "--out", str(tmp_path / "a")]  # fmt: skip
    assert main(argv) == 0
    study = (tmp_path / "a" / "report.md").read_text()
    command = next(line for line in study.splitlines() if line.startswith("negkit compare"))
    assert "--walk-length" not in command and "--window" not in command
    again = shlex.split(command)[1:]
    again[again.index("--out") + 1] = str(tmp_path / "b")
    assert main(again) == 0


def test_compare_graph_runs_struc2vec_from_the_command_line(tmp_path, monkeypatch):
    from scipy import io

    g = _ring_of_stars()
    mat = tmp_path / "stars.mat"
    io.savemat(mat, {"network": sp.csc_matrix(g.adj), "group": sp.csc_matrix(g.labels)})
    out = tmp_path / "study"
    argv = ["compare", "graph", "--data", str(mat), "--method", "struc2vec", "--stay", "0.4",
            "--max-layer", "1", "--all-pairs", "--samplers", "uniform", "--seeds", "1",
            "--epochs", "1", "--dim", "4", "--walk-length", "6", "--num-walks", "2",
            "--workers", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    study = (out / "report.md").read_text()
    assert "--method struc2vec --stay 0.4 --max-layer 1" in study and "--all-pairs" in study
    epochs = [r for r in read_records(out / "metrics.jsonl") if r["type"] == "epoch"]
    assert len(epochs) == 1 and 0 <= epochs[0]["metrics"]["micro_f1"] <= 1


def test_a_line_study_times_its_epochs_without_the_evaluation(tmp_path, monkeypatch):
    """LINE's epoch record had no ``seconds``: every run reported 0 s of training, and the
    quality-vs-seconds curve stood at x = 0."""
    import time

    fam = GraphFamily(_two_blocks(), method="line", dim=8, workers=1)
    real = fam.evaluate

    def slow(vectors):
        time.sleep(1.0)  # evaluation: not training time
        return real(vectors)

    monkeypatch.setattr(fam, "evaluate", slow)
    res = run_study(fam, ["uniform"], [0], 2, tmp_path / "g", progress=False)
    assert not res.interrupted
    epochs = [r for r in read_records(tmp_path / "g" / "metrics.jsonl") if r["type"] == "epoch"]
    t1, t2 = (r["train_seconds"] for r in epochs)
    assert 0 < t1 < t2 < t1 + 1.0  # the second epoch's time leaves out the first's evaluation
    row = next(line for line in (tmp_path / "g" / "report.md").read_text().splitlines()
               if line.startswith("| uniform"))  # fmt: skip
    assert f"| {t2:.1f} |" in row


def test_a_distributed_study_records_how_its_ranks_merge(tmp_path):
    """On several ranks the study's settings name the merges (the walk methods' defaults),
    so resuming a study recorded under other merge settings is refused, not mixed."""
    from negkit.graph.embed import GraphEmbedSettings
    from negkit.rec.distributed import Context
    from negkit.study.runner import _write_study_file
    from negkit.study.word2vec_family import Word2VecFamily

    fam = GraphFamily(_two_blocks(), dist=Context(rank=0, world_size=2), sync_words=5000)
    got = fam.settings()
    d = GraphEmbedSettings()
    assert {k: got[k] for k in ("ranks", "sync_words", "sync_wire", "sync_overlap", "sync_head",
                                "sync_tail_every")} == {  # fmt: skip
        "ranks": 2, "sync_words": 5000, "sync_wire": d.sync_wire,
        "sync_overlap": d.sync_overlap, "sync_head": d.sync_head,
        "sync_tail_every": d.sync_tail_every,
    }  # fmt: skip
    assert "sync_head" not in GraphFamily(_two_blocks()).settings()  # one process: no merges
    words = Word2VecFamily(tmp_path / "c.txt", [], None, dist=Context(rank=0, world_size=2))
    assert words.settings()["sync_head"] == 0.125 and words.settings()["sync_mode"] == "sum"
    old = {"family": "graph", "epochs": 2, "settings": {**got, "sync_head": 1.0}}
    _write_study_file(tmp_path, {**old, "started": "then"}, resume=False)
    with pytest.raises(ValueError, match="different settings"):
        _write_study_file(tmp_path, {**old, "settings": got, "started": "now"}, resume=True)
