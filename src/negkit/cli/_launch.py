"""``--nproc N``: start N local ranks with torchrun's own launcher (``torch.distributed.run``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word == "--nproc":
            skip = True
        elif not word.startswith("--nproc="):
            out.append(word)
    return out


def launch_local(nproc: int, argv: list[str]) -> int:
    """Run ``negkit ARGV`` (less ``--nproc``) on ``nproc`` ranks on 127.0.0.1, a free port;
    the exit status is 0 when every rank succeeded, else 1 with :func:`_failure_report`.
    The launcher's own log lines show with ``negkit -v`` only."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    from negkit.rec.distributed import free_port

    words = [
        "--nnodes=1",
        f"--nproc-per-node={nproc}",
        "--master-addr=127.0.0.1",
        f"--master-port={free_port()}",
        "--max-restarts=0",
        "--module",
        "negkit",
        *_without_nproc(argv),
    ]
    quiet = [logging.getLogger(n) for n in ("torch.distributed.elastic", "torch.distributed.run")]
    levels = [log.level for log in quiet]
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        for log in quiet:
            log.setLevel(logging.CRITICAL)
    try:
        torchrun(get_args_parser().parse_args(words))
    except ChildFailedError as e:
        print(_failure_report(e, nproc), file=sys.stderr)
        return 1
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)
    return 0


def _failure_report(e: Any, nproc: int) -> str:
    """One line when the first rank to fail stopped on negkit's own error (exit status 1,
    printed by the rank) and the others did too or were stopped by the launcher (SIGTERM);
    else the launcher's report, which names each failed rank and how it ended."""
    own = [r for r, f in e.failures.items() if f.exitcode == 1]
    stopped = [r for r, f in e.failures.items() if f.exitcode == -signal.SIGTERM]
    if e.get_first_failure()[1].exitcode != 1 or len(own) + len(stopped) < len(e.failures):
        return e.format_msg()
    names = ", ".join(str(r) for r in sorted(own))
    line = (
        f"negkit: rank{'s' if len(own) > 1 else ''} {names} of {nproc} stopped on the error above"
    )
    if stopped:
        line += "; the launcher stopped rank" + "s" * (len(stopped) > 1) + " "
        line += ", ".join(str(r) for r in sorted(stopped))
    return line


def add_dist_args(p: argparse.ArgumentParser, what: str, sync_words: int | None = 100_000) -> None:
    """``--nproc``, ``--dist-timeout`` and, for the compiled engine, ``--sync-words``."""
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        help=f"{what}: train data-parallel on N local processes (torchrun's launcher on "
        "127.0.0.1); under torchrun itself, leave it out",
    )
    p.add_argument(
        "--dist-timeout",
        type=float,
        default=None,
        help="seconds a collective waits for the other ranks before failing "
        "(default: $NEGKIT_DIST_TIMEOUT, else 1800)",
    )
    if sync_words is None:
        return
    p.add_argument(
        "--sync-words",
        type=int,
        default=sync_words,
        help="several processes: raw words each trains between merges of the tables "
        f"(default {sync_words})",
    )


def run_distributed(args: argparse.Namespace, body: Callable[[Any, Any], int]) -> int:
    """``body(args, ctx)`` on every rank: started here with ``--nproc N``, or under torchrun;
    the ranks wait for each other at the end (rank 0 writes) and leave the group."""
    from negkit.rec import distributed

    if args.nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {args.nproc}")
    if getattr(args, "sync_words", 1) < 1:
        raise ValueError(f"--sync-words must be at least 1, got {args.sync_words}")
    if args.nproc > 1 and distributed.env_world_size() == 1:
        return launch_local(args.nproc, args.argv)
    ctx = distributed.init("cpu", args.dist_timeout)
    try:
        code = body(args, ctx)
        distributed.barrier(ctx)
        return code
    finally:
        distributed.finish()


def add_merge_args(p: argparse.ArgumentParser, what: str, *, wire: str, overlap: bool,
                   step: str) -> None:  # fmt: skip
    """``--sync-wire`` and ``--[no-]sync-overlap``: how ``what``'s merges of the tables travel
    on several processes (:class:`negkit.word2vec.dist_sync.TableSync`); ``step`` names what
    an overlapped merge waits for."""
    p.add_argument(
        "--sync-wire",
        choices=("float32", "bfloat16"),
        default=wire,
        help=f"{what} on several processes: how the merges' changes travel, float32 or rounded "
        f"to bfloat16 (half the bytes, the rounding settled later) (default {wire})",
    )
    p.add_argument(
        "--sync-overlap",
        action=argparse.BooleanOptionalAction,
        default=overlap,
        help=f"{what} on several processes: send each merge without waiting and merge it "
        f"after the next {step} (default: {'overlap' if overlap else 'wait for each merge'})",
    )


def add_tier_args(p: argparse.ArgumentParser, what: str, *, head: float, every: int) -> None:
    """``--sync-head`` and ``--sync-tail-every``: which rows of ``what``'s tables each merge
    on several processes takes (:mod:`negkit.word2vec.dist_sync`, "Frequent rows every
    sync")."""
    p.add_argument(
        "--sync-head",
        type=float,
        default=head,
        help=f"{what} on several processes: the fraction of the rows (the most frequent) merged "
        f"at every sync; 1 merges every row every time (default {head})",
    )
    p.add_argument(
        "--sync-tail-every",
        type=int,
        default=every,
        help=f"{what} on several processes: the other rows are merged in that many blocks in "
        f"turn, one a sync, so each every that many syncs (default {every})",
    )


def unread_options(args: argparse.Namespace, reads: dict[str, bool]) -> list[str]:
    """The options of ``reads`` (``--option``: whether this run reads it) written on the
    command line (``args.argv``), whatever their values, that this run would not read: to
    refuse them, which their defaults cannot tell."""
    argv = getattr(args, "argv", None) or []
    given = {word.split("=", 1)[0] for word in argv if word[:2] == "--"}
    return [o for o, read in reads.items() if o in given and not read]
