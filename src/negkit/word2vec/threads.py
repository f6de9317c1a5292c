"""The training threads of an epoch (or a distributed round): ``worker(t)`` for each of
``n`` threads, and the first error any of them raised re-raised in the caller.

A thread's exception would otherwise be printed and lost: the epoch then "finished" with
the jobs the failed thread never took left to the others or, when every thread failed
(a sampler's refresh raising, a draw kernel that does not compile), untrained.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["run_workers"]


def run_workers(worker: Callable[[int], None], n: int) -> None:
    """Run ``worker(0) .. worker(n - 1)`` (in this thread when ``n == 1``); re-raise the
    first error once every thread has stopped."""
    if n == 1:
        worker(0)
        return
    errors: list[BaseException] = []

    def guarded(t: int) -> None:
        try:
            worker(t)
        except BaseException as e:  # noqa: BLE001  (re-raised in the caller)
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(t,), daemon=True) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
