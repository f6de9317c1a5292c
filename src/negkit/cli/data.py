"""``negkit data list | path NAME | fetch NAME | info NAME``: the known data sets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from negkit.cli._log_args import add_log_args, read_options, refuse_log_options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "data",
        help="list, locate, download and count the known data sets",
        description="Data sets live in $NEGKIT_DATA (default: a user cache folder).",
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    ls = sub.add_parser("list", help="list the known data sets and whether each is present")
    ls.add_argument("--long", action="store_true", help="also print sources, licences and notes")
    for action, text in (
        ("path", "print the local folder of a data set"),
        ("fetch", "download a data set from its official source and verify its checksum"),
        ("info", "print one JSON object with the counts of a data set or a log file"),
    ):
        q = sub.add_parser(action, help=text)
        if action == "info":
            q.add_argument(
                "name",
                metavar="NAME",
                help="data set name, or your own log file (CSV, TSV or Parquet)",
            )
            add_log_args(q, split=False)
            continue
        q.add_argument("name", metavar="NAME", help="data set name (see `negkit data list`)")
        if action == "fetch":
            q.add_argument("--force", action="store_true", help="download even when present")
    p.set_defaults(func=run, _data_parser=p)


def run(args: argparse.Namespace) -> int:
    from negkit.data import registry
    from negkit.data.paths import data_home

    action = getattr(args, "data_command", None)
    if action is None:
        args._data_parser.print_help()
        return 2
    if action == "list":
        print(f"data folder: {data_home(create=False)}")
        rows = []
        for name in registry.names():
            ds = registry.get(name)
            missing = ds.missing()
            if not missing:
                state = "present"
            elif len(missing) == len(ds.files):
                state = "absent"
            else:
                state = f"partial (no {', '.join(missing)})"
            rows.append((name, ds.kind, state, ds.description))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        for r in rows:
            print("  ".join(f"{r[c]:<{widths[c]}}" for c in range(3)) + f"  {r[3]}")
            if args.long:
                ds = registry.get(r[0])
                print(f"    source: {ds.source}\n    licence: {ds.licence}")
                if ds.aliases:
                    print(f"    aliases: {', '.join(ds.aliases)}")
                if ds.note:
                    print(f"    note: {ds.note}")
        return 0
    if action == "info" and Path(args.name).is_file():
        from negkit.data.logs import read_log

        print(json.dumps(read_log(args.name, **read_options(args)).counts()))
        return 0
    if action == "info":
        refuse_log_options(args, args.name)
    ds = registry.get(args.name)
    if action == "path":
        folder = ds.path()
        print(folder)
        if ds.missing():
            print(f"note: {ds.name} is not (fully) there: run `negkit data fetch {ds.name}`",
                  file=sys.stderr)  # fmt: skip
        return 0
    if action == "fetch":
        folder = registry.fetch(ds.name, force=args.force)
        print(folder)
        return 0
    print(json.dumps(registry.info(ds.name)))
    return 0
