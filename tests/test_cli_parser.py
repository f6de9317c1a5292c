"""The command line takes options as written: no argparse abbreviations."""

from __future__ import annotations

import pytest

from negkit.cli import build_parser

CASES = [
    (["kg", "train", "--data", "x", "--out", "o"], "--lr-min", "--lr-m", "0.01"),
    (["rec", "train", "--data", "x", "--out", "o"], "--nproc", "--npro", "2"),
    (["graph", "embed", "--graph", "x", "--out", "o"], "--walk-length", "--walk-len", "5"),
    (["compare", "graph", "--data", "x", "--out", "o"], "--max-layer", "--max-l", "2"),
]


@pytest.mark.parametrize(("base", "full", "short", "value"), CASES)
def test_an_abbreviated_option_is_refused_and_the_full_name_taken(base, full, short, value,
                                                                 capsys):  # fmt: skip
    parser = build_parser()
    args = parser.parse_args([*base, full, value])
    assert str(getattr(args, full[2:].replace("-", "_"))) == value
    with pytest.raises(SystemExit) as e:
        parser.parse_args([*base, short, value])
    assert e.value.code == 2
    assert f"unrecognized arguments: {short} {value}" in capsys.readouterr().err
