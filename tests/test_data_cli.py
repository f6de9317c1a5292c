"""``negkit data`` through ``negkit.cli.main`` on a data folder written here."""

from __future__ import annotations

import json

import pytest

from negkit.cli import main


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path))
    folder = tmp_path / "recsys" / "gowalla"
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text("0 0 1\n1 2\n2 1 3\n")
    (folder / "test.txt").write_text("0 2\n1 0 1\n")
    return tmp_path


def test_list_marks_present_and_absent(home, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"data folder: {home}" in out
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "present" in rows["gowalla"] and "absent" in rows["cora"]
    assert {"text8", "text_corpus_en", "simlex999", "blogcatalog"} <= set(rows)
    assert main(["data", "list", "--long"]) == 0
    out = capsys.readouterr().out
    assert "licence: GroupLens research licence: no redistribution" in out
    assert "aliases: corpus" in out


def test_path(home, capsys):
    assert main(["data", "path", "gowalla"]) == 0
    assert capsys.readouterr().out.strip() == str(home / "recsys" / "gowalla")
    assert main(["data", "path", "cora"]) == 0
    cap = capsys.readouterr()
    assert cap.out.strip() == str(home / "graphs" / "cora")
    assert "negkit data fetch cora" in cap.err


def test_info_prints_one_json_object(home, capsys):
    assert main(["data", "info", "gowalla"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == {"users": 3, "items": 4, "train": 5, "test": 3}
    assert len(out.strip().splitlines()) == 1


def test_info_partial_split_reports_missing_train(home, capsys):
    (home / "recsys" / "gowalla" / "train.txt").unlink()
    assert main(["data", "info", "gowalla"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["test"] == 3 and d["missing"] == ["train.txt"] and "train" not in d


def test_errors(home, capsys):
    assert main(["data", "info", "cora"]) == 1
    assert "run `negkit data fetch cora`" in capsys.readouterr().err
    assert main(["data", "info", "nope"]) == 1
    assert "unknown data set 'nope'" in capsys.readouterr().err
    (home / "recsys" / "gowalla" / "test.txt").write_text("0 2\n1 zero\n")
    assert main(["data", "info", "gowalla"]) == 1
    assert "test.txt:2: non-numeric id 'zero'" in capsys.readouterr().err
    assert main(["data", "fetch", "corpus"]) == 1
    assert "cannot be downloaded" in capsys.readouterr().err
    assert main(["data"]) == 2


def test_info_refuses_log_options_on_a_data_set(home, capsys):
    assert main(["data", "info", "gowalla", "--min-rating", "4"]) == 1
    assert "--min-rating apply to a log file, and gowalla is not a file" in capsys.readouterr().err


def test_a_missing_file_is_named_as_such(home, tmp_path, capsys):
    for argv in (
        ["data", "info", str(tmp_path / "nope.csv")],
        ["data", "info", "nope.tsv"],
        ["rec", "train", "--data", str(tmp_path / "logs"), "--out", str(tmp_path / "o")],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "no such file or folder" in err and "known: " not in err
    assert main(["data", "info", str(tmp_path)]) == 1  # a folder there: not a data set
    assert f"{tmp_path} is a folder, not a known data set" in capsys.readouterr().err
    assert main(["data", "info", "gowala"]) == 1
    assert "unknown data set 'gowala'; known: text8" in capsys.readouterr().err


def test_a_data_set_of_another_kind_is_named_as_such(home, tmp_path, capsys):
    import negkit.data.registry as registry

    with pytest.raises(ValueError, match="gowalla holds interactions data, not graph data"):
        registry.load("gowalla", kind="graph")
    assert main(["graph", "embed", "--graph", "gowalla", "--out", str(tmp_path / "v.txt")]) == 1
    assert "gowalla holds interactions data, not graph data" in capsys.readouterr().err
    assert main(["rec", "train", "--data", "cora", "--out", str(tmp_path / "o")]) == 1
    assert "cora holds graph data, not interactions data" in capsys.readouterr().err
