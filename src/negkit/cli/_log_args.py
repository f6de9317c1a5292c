"""Options for a user's own interaction log (``--data FILE``), shared by ``rec train``,
``compare rec`` and ``data info``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: (option, read_log keyword) of the reading options, in the order a rerun command lists them.
READ_OPTIONS = (
    ("--user-col", "user_col"),
    ("--item-col", "item_col"),
    ("--rating-col", "rating_col"),
    ("--time-col", "time_col"),
    ("--min-rating", "min_rating"),
    ("--sep", "sep"),
)


def add_log_args(p: argparse.ArgumentParser, *, split: bool = True) -> None:
    g = p.add_argument_group(
        "your own log (a CSV, TSV or Parquet file of user, item[, rating][, timestamp])"
    )
    for role in ("user", "item", "rating", "time"):
        g.add_argument(
            f"--{role}-col",
            default=None,
            metavar="NAME",
            help=f"the {role} column (default: found by its usual names)",
        )
    g.add_argument(
        "--min-rating",
        type=float,
        default=None,
        metavar="R",
        help="keep rows with rating >= R (the others are counted in the log)",
    )
    g.add_argument(
        "--sep",
        type=_separator,
        default=None,
        help="text column separator, e.g. ';' or '\\t' (or tab) for a tab (default: detected)",
    )
    g.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="skip bad rows, counted in the log, instead of stopping at the first",
    )
    if split:
        g.add_argument(
            "--split",
            default="random:0.2",
            metavar="SPLIT",
            help="random:F (per user), leave-one-out, or temporal:F (one time cut); "
            "default random:0.2",
        )
        g.add_argument(
            "--valid",
            action="store_true",
            help="also hold out a validation split (F more, or the next-to-last item)",
        )
        g.add_argument("--split-seed", type=int, default=0, help="seed of the split (default 0)")


def _separator(text: str) -> str:
    """``--sep``: the separator itself, or ``\\t`` / ``tab`` for a tab (a shell passes
    ``'\\t'`` as two characters)."""
    return "\t" if text in ("\\t", "tab", "TAB") else text


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    out = {key: getattr(args, key) for _, key in READ_OPTIONS}
    out["bad_rows"] = "skip" if args.skip_bad_rows else "error"
    return out


def _given(args: argparse.Namespace) -> list[str]:
    names = [opt for opt, key in READ_OPTIONS if getattr(args, key) is not None]
    if args.skip_bad_rows:
        names.append("--skip-bad-rows")
    if getattr(args, "valid", False):
        names.append("--valid")
    if getattr(args, "split", "random:0.2") != "random:0.2":
        names.append("--split")
    return names


def is_log_file(data: str) -> bool:
    return Path(data).is_file()


def load_data_arg(args: argparse.Namespace) -> Any:
    """``args.data`` as :class:`Interactions` when it is a log file, else unchanged (a name or
    a LightGCN folder, for :func:`negkit.rec.train.load_data`)."""
    if is_log_file(args.data):
        from negkit.data.log_split import load_log

        return load_log(
            args.data, args.split, valid=args.valid, seed=args.split_seed, **read_options(args)
        )
    refuse_log_options(args, f"--data {args.data}")
    return args.data


def refuse_log_options(args: argparse.Namespace, what: str) -> None:
    """A ValueError when a log option was given for ``what``, which is not a log file."""
    given = _given(args)
    if given:
        raise ValueError(f"{', '.join(given)} apply to a log file, and {what} is not a file")


def number_word(v: float | int) -> str:
    """A number as a rerun command writes it: ints in full, floats as their shortest exact
    form (``repr``; ``:g`` kept 6 digits, so lr 0.0123456789 reran as 0.0123457, and an int
    of a million became ``1e+06``, which an integer option refuses)."""
    return str(v) if isinstance(v, int) else repr(float(v))


def rerun_words(args: argparse.Namespace) -> list[str]:
    """The log options of ``args`` as command-line words, for a rerun command."""
    if not is_log_file(args.data):
        return []
    parts: list[str] = []
    for opt, key in READ_OPTIONS:
        v = getattr(args, key)
        if v is not None:
            word = number_word(v) if isinstance(v, float) else "\\t" if v == "\t" else str(v)
            parts += [opt, word]
    if args.skip_bad_rows:
        parts.append("--skip-bad-rows")
    parts += ["--split", args.split, "--split-seed", str(args.split_seed)]
    return parts + (["--valid"] if args.valid else [])
