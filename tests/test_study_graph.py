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
