"""Streaming line readers shared by the data readers.

Compressed files (``.gz``, ``.bz2``, ``.xz``) are recognised by their magic bytes
and decompressed on the fly.  Lines are decoded as strict UTF-8 one at a time, so
a bad byte is reported with its file, line and byte offset.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import BinaryIO

from negkit.data.errors import DataFormatError

__all__ = ["open_binary", "iter_lines"]

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def open_binary(path: str | PathLike) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip / bzip2 / xz transparently."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    with open(p, "rb") as f:
        head = f.read(6)
    for magic, opener in _MAGIC:
        if head.startswith(magic):
            return opener(p, "rb")  # type: ignore[return-value]
    return open(p, "rb")


def iter_lines(
    path: str | PathLike, comments: str | None = None, *, skip_blank: bool = True
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every data line of ``path`` (1-based, stripped).

    Blank lines and lines starting with ``comments`` are skipped (they hold no data).
    Raises :class:`DataFormatError` on non-UTF-8 bytes and on a file with no data line.
    """
    n_data = 0
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise DataFormatError(
                    path,
                    lineno,
                    f"not UTF-8: byte {raw[e.start : e.start + 1]!r} at column {e.start + 1}",
                ) from None
            text = text.strip()
            if skip_blank and not text:
                continue
            if comments and text.startswith(comments):
                continue
            n_data += 1
            yield lineno, text
    if n_data == 0:
        raise DataFormatError(path, 0, "the file is empty (no data line)")
