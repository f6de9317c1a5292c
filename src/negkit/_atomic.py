"""Atomic file writes: a temporary file beside the target, then ``os.replace``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write"]


def atomic_write(path: str | Path, write: Callable[[IO[Any]], Any], text: bool = False) -> None:
    """Call ``write(f)`` on a temporary file, then move it onto ``path``; a crash or error
    before the move leaves ``path`` as it was and no temporary file behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if text:
            with open(tmp, "w", encoding="utf-8", newline="\n") as f:
                write(f)
        else:
            with open(tmp, "wb") as f:
                write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
