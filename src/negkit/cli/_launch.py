"""``--nproc N``: start N local ranks with torchrun's own launcher (``torch.distributed.run``)."""

from __future__ import annotations

import sys


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
    the exit status is 0 when every rank succeeded, else 1 with the launcher's report (which
    names the rank that failed first)."""
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
    try:
        torchrun(get_args_parser().parse_args(words))
    except ChildFailedError as e:
        print(e.format_msg(), file=sys.stderr)
        return 1
    return 0
