"""``negkit rec train / data info / compare rec`` on a user's own CSV log with string ids."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negkit.cli import main
from negkit.data.log_split import load_log
from negkit.eval.rec import evaluate_ranking


@pytest.fixture(scope="module")
def my_log(tmp_path_factory):
    """60 users in 3 taste groups of 20 songs; ids are strings; some pairs repeat."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("own") / "my_log.csv"
    rows = ["user_id,item_id,rating,timestamp"]
    for u in range(60):
        for _ in range(10):
            item = (u % 3) * 20 + int(rng.integers(0, 20))
            rows.append(f"user-{u},song-{item},{rng.integers(1, 6)},{rng.integers(1000, 9000)}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_rec_train_on_own_csv_writes_embeddings_with_their_ids(my_log, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["rec", "train", "--data", str(my_log), "--split", "random:0.2", "--dim", "8",
            "--epochs", "30", "--threads", "1", "--no-progress", "--out", str(out)]  # fmt: skip
    code = main(argv)
    assert code == 0
    users = (out / "users.tsv").read_text().splitlines()
    items = (out / "items.tsv").read_text().splitlines()
    assert users == sorted(f"user-{u}" for u in range(60))  # string order: user-0, user-1, user-10
    assert len(items) == 60 and set(items) == {f"song-{i}" for i in range(60)}
    U, V = np.load(out / "user_embeddings.npy"), np.load(out / "item_embeddings.npy")
    assert U.shape == (60, 9) and V.shape == (60, 9)  # dim + the item-bias column
    # the same split again, by seed: the saved embeddings reproduce the printed metrics
    data = load_log(my_log, "random:0.2", seed=0)
    assert data.user_ids.tolist() == users and data.item_ids.tolist() == items
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_options"] == ["--data", str(my_log), "--split", "random:0.2",
                                       "--split-seed", "0"]  # fmt: skip
    again = evaluate_ranking(U, V, data.test, exclude=[data.train])
    assert again["recall@20"] == pytest.approx(metrics["test"]["recall@20"])
    # three taste groups: trained embeddings rank a user's own group far above chance (1/3)
    assert metrics["test"]["recall@20"] > 0.6
    assert "wrote" in capsys.readouterr().out


def test_rec_train_log_errors_are_clear(my_log, tmp_path, capsys):
    out = str(tmp_path / "o")
    assert main(["rec", "train", "--data", str(my_log), "--user-col", "who", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "no column 'who' (user_col=)" in err and "'user_id', 'item_id', 'rating'" in err
    assert main(["rec", "train", "--data", str(my_log), "--split", "kfold", "--out", out]) == 1
    assert "unknown split 'kfold'" in capsys.readouterr().err
    assert main(["rec", "train", "--data", "gowalla", "--user-col", "u", "--out", out]) == 1
    assert "--user-col apply to a log file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\na,b,1\nc,d,lots\n")
    assert main(["rec", "train", "--data", str(bad), "--out", out]) == 1
    assert "bad.csv:3: non-numeric rating 'lots'" in capsys.readouterr().err
    # a sampler parameter that does not exist: one line naming it, not a traceback
    for sampler in ("pns", "in-batch", "mixed"):
        argv = ["rec", "train", "--data", str(my_log), "--sampler", sampler,
                "--sampler-param", "foo=1", "--epochs", "1", "--out", out]  # fmt: skip
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"error: sampler '{sampler}': " in err and "keyword argument 'foo'" in err


def test_data_info_counts_a_log_file(my_log, tmp_path, capsys):
    assert main(["data", "info", str(my_log), "--min-rating", "3"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 600 and info["users"] == 60 and info["items"] == 60
    assert (
        info["skipped_below_min_rating"] + info["merged_duplicates"] + info["interactions"] == 600
    )
    assert info["columns"] == {"user": "user_id", "item": "item_id", "rating": "rating",
                               "time": "timestamp"}  # fmt: skip


def test_compare_rec_takes_a_log_and_its_rerun_command_keeps_the_split(my_log, tmp_path):
    out = tmp_path / "study"
    code = main(["compare", "rec", "--data", str(my_log), "--split", "leave-one-out",
                 "--samplers", "uniform", "--epochs", "1", "--seeds", "1", "--dim", "4",
                 "--threads", "1", "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0
    report = (out / "report.md").read_text()
    assert f"--data {my_log} --split leave-one-out --split-seed 0" in report


def test_sep_takes_a_typed_tab(my_log, tmp_path, capsys):
    tabbed = tmp_path / "log.txt"  # a .txt suffix: nothing says tab but --sep
    tabbed.write_text(my_log.read_text().replace(",", "\t"))
    for sep in ("\\t", "tab"):  # what a shell passes for '\t', and the word
        assert main(["data", "info", str(tabbed), "--sep", sep]) == 0
        assert json.loads(capsys.readouterr().out)["rows"] == 600
    out = tmp_path / "o"
    assert main(["rec", "train", "--data", str(tabbed), "--sep", "\\t", "--epochs", "1",
                 "--threads", "1", "--no-progress", "--out", str(out)]) == 0  # fmt: skip
    options = json.loads((out / "metrics.json").read_text())["data_options"]
    assert options[options.index("--sep") + 1] == "\\t"  # rerun as typed
