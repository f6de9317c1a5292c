"""The README's and docs' executable claims: every ``negkit`` command in a shell block parses
with today's options, and the README's Python snippets run (on tiny data, no network)."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from negkit.cli import build_parser

_REPO = Path(__file__).resolve().parents[1]
_DOCS = [_REPO / "README.md", *sorted((_REPO / "docs").glob("*.md"))]


def _blocks(path: Path, lang: str) -> list[tuple[int, str]]:
    """(first line, text) of each fenced block of ``path`` whose language starts with ``lang``
    (``""``: blocks without a language too)."""
    out, lines, start, kind = [], path.read_text(encoding="utf-8").splitlines(), None, ""
    for n, line in enumerate(lines, 1):
        if line.strip().startswith("```"):
            if start is None:
                start, kind = n + 1, line.strip()[3:]
            else:
                if kind.startswith(lang) or (lang == "" and kind in ("", "bash", "sh")):
                    out.append((start, "\n".join(lines[start - 1 : n - 1])))
                start = None
    return out


def _commands() -> list[tuple[str, list[str]]]:
    """Every ``negkit ...`` or ``torchrun ... -m negkit ...`` line of the shell blocks, as the
    argv after ``negkit`` (comments, line continuations and leading VAR=value removed)."""
    found = []
    for path in _DOCS:
        for start, text in _blocks(path, ""):
            text = text.replace("\\\n", " ")
            for i, line in enumerate(text.splitlines()):
                line = re.split(r"\s#\s", line.strip())[0].strip()
                if not line or line.startswith("#"):
                    continue
                try:
                    toks = shlex.split(line)
                except ValueError:
                    continue
                while toks and re.match(r"^[A-Z_]+=", toks[0]):
                    toks = toks[1:]
                if toks[:1] == ["negkit"]:
                    argv = toks[1:]
                elif toks[:1] == ["torchrun"] and "-m" in toks:
                    at = toks.index("-m")
                    if toks[at + 1 : at + 2] != ["negkit"]:
                        continue
                    argv = toks[at + 2 :]
                else:
                    continue
                for sep in ("&&", "|", ";", ">"):
                    if sep in argv:
                        argv = argv[: argv.index(sep)]
                found.append((f"{path.name}:{start + i}", argv))
    return found


_COMMANDS = _commands()


def test_the_docs_show_commands():
    assert len(_COMMANDS) > 25


@pytest.mark.parametrize("where,argv", _COMMANDS, ids=[w for w, _ in _COMMANDS])
def test_every_documented_command_parses(where, argv, capsys):
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as e:  # --help exits 0
        assert e.code == 0, f"{where}: negkit {' '.join(argv)}: {capsys.readouterr().err}"


def _readme_python() -> list[str]:
    return [text for _, text in _blocks(_REPO / "README.md", "python")]


def test_readme_sampler_and_word2vec_snippet(tmp_path, monkeypatch):
    code = _readme_python()[0]
    assert '"corpus.txt.xz"' in code and 'sampler="adaptive"' in code
    corpus = tmp_path / "corpus.txt"
    words = "the king and the queen rule the land of the people with a crown".split()
    corpus.write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(13)) * 4)
    code = code.replace('"corpus.txt.xz"', repr(str(corpus)))
    code = code.replace("vector_size=100", "vector_size=8")  # the same call, smaller
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["negatives"].shape == (8, 5) and str(ns["negatives"].dtype) == "int64"
    assert ns["q"].shape == (8, 5)
    assert len(ns["model"].wv.most_similar("king", topn=5)) == 5


def test_readme_hard_negative_mining_snippet(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    code = _readme_python()[1]
    assert "mine_hard_negatives" in code
    code = code.replace("50_000", "5_000")  # a smaller catalogue: the same calls
    monkeypatch.chdir(tmp_path)  # it writes mined.csv
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert (tmp_path / "mined.csv").is_file()
    assert ns["loss"].ndim == 0 and ns["users"].weight.grad is not None


def _parsers(parser=None, path="negkit"):
    parser = parser or build_parser()
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{path} {name}")


def test_every_option_with_a_default_shows_it_in_help():
    """``--help`` names the default of every option that has one (a value, not None/False)."""
    missing = []
    for path, parser in _parsers():
        parser.format_help()  # renders
        for action in parser._actions:
            d = action.default
            if not action.option_strings or d in (None, False, []) or d is argparse.SUPPRESS:
                continue
            if isinstance(action, argparse.BooleanOptionalAction):
                continue
            text = parser._get_formatter()._format_action(action)
            if "default" not in text:
                missing.append(f"{path} {action.option_strings[-1]}")
    assert not missing, missing
