"""Atomic file writes: a temporary file beside the target, then ``os.replace``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "check_target"]


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


def check_target(path: str | Path, *, folder: bool, what: str = "--out") -> None:
    """A ValueError, before any work is done, when ``path`` cannot become the output: a
    folder where a file is wanted or the reverse, or a file where a parent folder must be.
    A file's missing folders are made."""
    path = Path(path)
    want = "folder" if folder else "file"
    if path.exists() and path.is_dir() != folder:
        raise ValueError(
            f"{what} {path} is a {'folder' if path.is_dir() else 'file'}, not a {want}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{what} {path}: {parent} is a file, not a folder")
            break
    if not folder:
        path.parent.mkdir(parents=True, exist_ok=True)
