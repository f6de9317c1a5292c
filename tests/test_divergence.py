"""Divergence caught in every engine: epoch named, a lower rate suggested, no file written."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import negkit
from negkit._diverge import TrainingDivergedError, check_finite
from negkit.cli import main

SENTENCES = [["a", "b", "c", "d", "e", "f"] * 4 for _ in range(40)]


def test_check_finite_names_epoch_table_and_a_lower_rate():
    ok = np.ones((3, 2), np.float32)
    check_finite("x", 1, 0.5, loss=0.3, tables={"t": ok})  # finite: no error
    bad = ok.copy()
    bad[2, 1] = np.inf
    with pytest.raises(TrainingDivergedError, match=r"x diverged in epoch 4: NaN, Inf or entries "
                       r"above 1e\+15 in the t;"
                       r" lower the learning rate \(lr=0.5 now, try 0.05 or less\)"):  # fmt: skip
        check_finite("x", 4, 0.5, tables={"t": bad})
    bad[2, 1] = np.nan
    with pytest.raises(TrainingDivergedError, match=r"NaN, Inf or entries above 1e\+15 in the t"):
        check_finite("x", 1, 0.5, tables={"t": bad})
    with pytest.raises(TrainingDivergedError, match="the loss is nan"):
        check_finite("x", 2, 0.5, loss=float("nan"))
    with pytest.raises(TrainingDivergedError, match="NaN, Inf or entries above 1e"):
        check_finite("x", 1, 0.5, tables={"t": np.array([0.0, -2e15], np.float32)})
    check_finite("x", 1, 0.5, tables={"t": np.array([1e15, -1e15]), "empty": np.zeros((0, 3))})


def test_check_finite_reads_torch_tensors():
    torch = pytest.importorskip("torch")
    check_finite("mf", 1, 1e-3, tables={"w": torch.zeros(4, 2)})
    w = torch.zeros(4, 2, requires_grad=True)
    with torch.no_grad():
        w[1, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"mf diverged in epoch 3: NaN, Inf or entries"):
        check_finite("mf", 3, 1e-3, tables={"w": w})


@pytest.mark.parametrize("sg", [1, 0])
def test_word2vec_with_a_huge_alpha_stops_and_writes_nothing(tmp_path, sg):
    m = negkit.Word2Vec(min_count=1, epochs=2, alpha=1e6, sg=sg, workers=1, vector_size=8)
    with pytest.raises(
        TrainingDivergedError, match=r"word2vec diverged in epoch 1: .*alpha=1e\+06"
    ):
        m.fit(SENTENCES)
    assert m.diverged_ == 1 and m.epochs_trained_ == 0
    for save in (m.wv.save_word2vec_format, m.save):
        with pytest.raises(ValueError, match="NaN or Inf|diverged in epoch 1"):
            save(tmp_path / "v.txt")
    assert not (tmp_path / "v.txt").exists()


def test_word2vec_with_a_sane_alpha_trains_and_saves(tmp_path):
    m = negkit.Word2Vec(min_count=1, epochs=1, sg=1, workers=1, vector_size=8).fit(SENTENCES)
    assert m.diverged_ == 0
    m.wv.save_word2vec_format(tmp_path / "v.txt")
    assert (tmp_path / "v.txt").read_text().startswith("6 8\n")


def _clique_file(tmp_path):
    p = tmp_path / "g.txt"
    p.write_text("".join(f"{u} {v}\n" for u in range(8) for v in range(u + 1, 8)))
    return p


@pytest.mark.parametrize("method", ["deepwalk", "line"])
def test_graph_embed_with_a_huge_lr_fails_clearly_and_writes_no_file(tmp_path, capsys, method):
    out = tmp_path / "v.txt"
    walks = ["--walk-length", "10", "--num-walks", "4", "--window", "3"] if method != "line" else []
    argv = ["graph", "embed", "--graph", str(_clique_file(tmp_path)), "--method", method,
            "--dim", "8", *walks, "--epochs", "2", "--lr", "1e6", "--out", str(out)]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "diverged in epoch 1" in err and "lr=1e+06" in err and "lower the learning" in err
    assert not out.exists() and not out.with_name("v.txt.tmp").exists()


def test_bpr_mf_with_a_huge_lr_stops_naming_the_epoch():
    from negkit.rec.mf_bpr import BPRMF

    rng = np.random.default_rng(0)
    train = sp.random(30, 40, density=0.2, format="csr", random_state=rng, dtype=np.float32)
    train.data[:] = 1.0
    mf = BPRMF(dim=8, lr=1e30, epochs=3, threads=1, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"BPR-MF diverged in epoch 1: .*lr=1e\+30"):
        mf.fit(train, negkit.samplers.get("uniform").fit(n_items=40, positives=train))


def test_torch_engine_with_a_huge_lr_stops_naming_the_epoch():
    pytest.importorskip("torch")
    from negkit.rec.synthetic import planted_interactions
    from negkit.rec.train import RecSettings, run

    data = planted_interactions(n_users=40, n_items=30, n_groups=3, per_user=8, n_valid=0, seed=0)
    s = RecSettings(data=data, engine="torch", dim=4, epochs=3, lr=1e30, batch_size=64, threads=1)
    with pytest.raises(TrainingDivergedError, match=r"^MF diverged in epoch 1: .*lr=1e\+30"):
        run(s, "rns")
