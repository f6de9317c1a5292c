"""The data shipped for ``negkit demo``: present, readable, licensed, and the demo CLI's errors."""

from __future__ import annotations

import lzma
import re

import pytest

from negkit.cli import main
from negkit.data.word_eval import read_analogies, read_similarity
from negkit.study import resources


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


def test_demo_corpus_is_normalised_text_of_the_licensed_sources():
    n_lines = n_tokens = 0
    bad = re.compile(r"[^a-z ]")
    with lzma.open(resources.demo_corpus(), "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            assert not bad.search(line), line[:80]
            n_lines += 1
            n_tokens += len(line.split())
    # movie_reviews + state_union + inaugural + genesis_en of the shared sources.tsv
    assert n_lines == 64563 + 6638 + 1573 + 7629
    assert n_tokens == 1346138 + 360407 + 138714 + 74981


def test_every_shipped_file_is_credited_with_its_licence():
    text = (resources.resource_dir() / "SOURCES.md").read_text(encoding="utf-8")
    shipped = sorted(
        p.name for p in resources.resource_dir().iterdir() if p.is_file() and p.name != "SOURCES.md"
    )
    assert shipped == [
        "demo_corpus.txt.xz",
        "questions-words.txt",
        "simlex999.txt",
        "wordsim353.txt",
    ]
    for name in shipped:
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| `{name}`")), None)
        assert row is not None, f"{name} has no row in SOURCES.md"
        assert re.search(r"MIT|Apache License 2\.0|public domain|CC BY 4\.0", row), row
    for must in (
        "Creative Commons Attribution 4.0",
        "Bo Pang and Lillian Lee",
        "Finkelstein",
        "Hill, Reichart & Korhonen",
        "Mikolov",
    ):
        assert must in text
    # nothing with a non-commercial or missing licence
    assert "brown" not in [p.stem for p in resources.resource_dir().iterdir()]


def test_demo_corpus_matches_the_rebuild_script(real_data, tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "make_demo_corpus.py"
    spec = importlib.util.spec_from_file_location("make_demo_corpus", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ranges = mod.read_ranges(real_data / "text_corpus_en" / "sources.tsv")
    assert set(mod.LICENSED_SOURCES) == {"genesis_en", "inaugural", "state_union", "movie_reviews"}
    assert ranges["movie_reviews"] == (57266, 121828)


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


def test_demo_runs_offline_on_the_shipped_data(tmp_path, capsys):
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
