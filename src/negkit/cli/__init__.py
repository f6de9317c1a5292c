"""The ``negkit`` command line: ``negkit <command> ...``.

Each command lives in its own module ``negkit.cli.<name>`` with two functions,
``register(subparsers)`` (adds its parser, setting ``func``) and the handler.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import logging
import os
import sys

from negkit._version import __version__

#: Command modules, in the order ``negkit --help`` lists them.
COMMANDS = ("demo", "compare", "data", "rec", "graph", "kg")


class _HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to an option's help where the help does not speak of its
    default itself and the default is a value (not None, False or empty)."""

    @staticmethod
    def _shows_default(action: argparse.Action) -> bool:
        default = action.default
        return not (
            not action.option_strings
            or "default" in (action.help or "")
            or default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or isinstance(action, argparse.BooleanOptionalAction)
        )

    def _format_action(self, action: argparse.Action) -> str:
        if action.help is None and self._shows_default(action):  # no help: the default alone
            action = copy.copy(action)
            action.help = "default: %(default)s"
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if not self._shows_default(action):
            return action.help
        return f"{action.help} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviated options (``--lr-m`` for ``--lr-min``): the commands refuse
    options a run would not read, and ``--nproc`` relaunches, by the words as written.  Help
    texts show each option's default (:class:`_HelpFormatter`)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(  # the commands' parsers are of the same class (add_subparsers)
        prog="negkit",
        description="Negative sampling for embedding learning: samplers, trainers and studies.",
    )
    parser.add_argument("--version", action="version", version=f"negkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"negkit.cli.{name}").register(sub)
    return parser


def _rank_tag() -> str:
    """`` (rank R of W)`` in a rank of several (torchrun's environment), else nothing."""
    world = os.environ.get("WORLD_SIZE", "1")
    return "" if world == "1" else f" (rank {os.environ.get('RANK', '?')} of {world})"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # for launchers to repeat
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, RuntimeError, ImportError) as e:
        print(f"negkit {args.command}: error{_rank_tag()}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
