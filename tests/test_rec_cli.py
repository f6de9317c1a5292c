"""``negkit rec train`` on a tiny LightGCN-format split written to tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negkit.cli import main
from negkit.eval.rec import evaluate_ranking
from negkit.rec.synthetic import planted_interactions


def _write_split(folder, data) -> None:
    folder.mkdir()
    for split in ("train", "valid", "test"):
        m = getattr(data, split)
        if m is None:
            continue
        with open(folder / f"{split}.txt", "w") as f:
            for u in range(m.shape[0]):
                items = m.indices[m.indptr[u] : m.indptr[u + 1]]
                if items.size:
                    f.write(" ".join(map(str, [u, *items.tolist()])) + "\n")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    data = planted_interactions(n_users=80, n_items=50, n_groups=4, per_user=12, n_valid=2, seed=2)
    folder = tmp_path_factory.mktemp("rec") / "tiny"
    _write_split(folder, data)
    return folder, data


@pytest.mark.parametrize("model", ["mf", "lightgcn"])
def test_cli_trains_and_saves_embeddings_that_reproduce_metrics(split, tmp_path, model, capsys):
    folder, data = split
    out = tmp_path / "out"
    extra = ["--lr", "0.02"] if model == "lightgcn" else []
    code = main(["rec", "train", "--data", str(folder), "--model", model, "--sampler", "rns",
                 "--dim", "8", "--epochs", "6", "--eval-every", "3", "--threads", "1",
                 "--seed", "0", "--no-progress", "--out", str(out), *extra])  # fmt: skip
    assert code == 0
    U = np.load(out / "user_embeddings.npy")
    V = np.load(out / "item_embeddings.npy")
    assert U.dtype == V.dtype == np.float32 and U.shape[0] == 80 and V.shape[0] == 50
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model"] == model and len(metrics["history"]) == 6
    again = evaluate_ranking(U, V, data.test, exclude=[data.train, data.valid])
    assert again["recall@20"] == pytest.approx(metrics["test"]["recall@20"])
    assert again["ndcg@20"] == pytest.approx(metrics["test"]["ndcg@20"])
    err = capsys.readouterr().err
    assert "epoch 3 " in err and "valid_recall@20=" in err


def test_cli_says_which_epoch_the_test_metrics_are_of(tmp_path, capsys):
    """Evaluations choose the epoch whose tables are tested: on data without a validation
    split they chose on the test split itself, which the run says (with the way out)."""
    data = planted_interactions(n_users=60, n_items=40, n_groups=4, per_user=10, n_valid=0, seed=3)
    folder = tmp_path / "no_valid"
    _write_split(folder, data)
    args = ["rec", "train", "--data", str(folder), "--dim", "8", "--threads", "1", "--seed", "0"]
    args += ["--no-progress", "--epochs", "4"]
    assert main([*args, "--eval-every", "1", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    best = json.loads((tmp_path / "a" / "metrics.json").read_text())["best_epoch"]
    assert (
        f"test metrics of epoch {best} of 4, the best by recall@20 on the test split itself" in out
    )
    assert "--carve-valid F" in out
    assert main([*args, "--eval-every", "4", "--out", str(tmp_path / "b")]) == 0
    assert "test metrics of epoch" not in capsys.readouterr().out  # one evaluation: no choice
    args += ["--carve-valid", "0.2", "--eval-every", "1", "--out", str(tmp_path / "c")]
    assert main(args) == 0
    out = capsys.readouterr().out
    best = json.loads((tmp_path / "c" / "metrics.json").read_text())["best_epoch"]
    assert ("test split itself" not in out) and (
        (best == 4) == ("test metrics of epoch" not in out)
    ), out


def test_cli_reports_bad_input(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    missing.mkdir()
    code = main(["rec", "train", "--data", str(missing), "--out", str(tmp_path / "o")])
    assert code == 1
    assert "no train.txt" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.txt").write_text("0 1 2\n1 x 3\n")
    (bad / "test.txt").write_text("0 3\n")
    code = main(["rec", "train", "--data", str(bad), "--out", str(tmp_path / "o2")])
    assert code == 1
    err = capsys.readouterr().err
    assert "train.txt:2" in err
    code = main(["rec", "train", "--data", "no-such-data-set", "--out", str(tmp_path / "o3")])
    assert code == 1 and "unknown data set" in capsys.readouterr().err


def test_cli_mixgcf_takes_its_candidate_pool_size(split, tmp_path, capsys):
    folder, _ = split
    base = ["rec", "train", "--data", str(folder), "--model", "lightgcn", "--sampler", "mixgcf",
            "--dim", "8", "--epochs", "1", "--threads", "1", "--no-progress"]  # fmt: skip
    assert main([*base, "--n-candidates", "4", "--out", str(tmp_path / "a")]) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["settings"]["n_candidates"] == 4
    assert main([*base, "--n-candidates", "0", "--out", str(tmp_path / "b")]) == 1
    assert "n_candidates must be at least 1" in capsys.readouterr().err


def test_cli_leaves_no_ids_of_an_earlier_run_in_out(split, tmp_path):
    folder, _ = split
    out = tmp_path / "out"
    out.mkdir()
    (out / "users.tsv").write_text("an earlier run's user\n")  # e.g. trained on a log file
    (out / "items.tsv").write_text("an earlier run's item\n")
    code = main(["rec", "train", "--data", str(folder), "--dim", "4", "--epochs", "1",
                 "--threads", "1", "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0  # a LightGCN split has no original ids: rows are the ids
    assert not (out / "users.tsv").exists() and not (out / "items.tsv").exists()


def test_cli_refuses_an_out_under_a_file_before_training(split, tmp_path, capsys):
    folder, _ = split
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(["rec", "train", "--data", str(folder), "--epochs", "1", "--threads", "1",
                 "--no-progress", "--out", str(blocker / "out")])  # fmt: skip
    assert code == 1
    assert f"--out {blocker / 'out'}: {blocker} is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "opts, named",
    [(["--batch-size", "64"], "--batch-size (read by the torch engine (--engine torch) only)"),
     (["--n-layers=2"], "--n-layers (read by --model lightgcn only)"),
     (["--n-candidates", "8"], "--n-candidates (read by --sampler mixgcf only)"),
     (["--carve-seed", "3"], "--carve-seed (read by --carve-valid only)")],
)  # fmt: skip
def test_cli_refuses_an_option_this_run_would_not_read(split, tmp_path, capsys, opts, named):
    """BPR-MF on the CPU default (numba) engine trains pair by pair, without layers or a
    candidate pool: these options would be ignored."""
    folder, _ = split
    base = ["rec", "train", "--data", str(folder), "--model", "mf", "--sampler", "dns"]
    assert main([*base, *opts, "--no-progress", "--out", str(tmp_path / "o")]) == 1
    assert f"this run (numba engine) would not read {named}" in capsys.readouterr().err
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_cli_refuses_the_merge_options_on_the_torch_engine(split, tmp_path, capsys):
    folder, _ = split
    base = ["rec", "train", "--data", str(folder), "--model", "lightgcn", "--sync-pairs", "10"]
    assert main([*base, "--no-progress", "--out", str(tmp_path / "o")]) == 1
    assert "(torch engine) would not read --sync-pairs (read by the numba engine only)" in (
        capsys.readouterr().err
    )
