"""Streaming line readers shared by the data readers.

Compressed files (``.gz``, ``.bz2``, ``.xz``) are recognised by their magic bytes
and decompressed on the fly.  Lines are decoded as strict UTF-8 one at a time, so
a bad byte is reported with its file, line and byte offset.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import BinaryIO

from negkit.data.errors import DataFormatError

__all__ = ["open_binary", "decode_line", "iter_lines", "strict_int"]

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def open_binary(path: str | PathLike) -> BinaryIO:
    """Open ``path`` for reading bytes, decompressing gzip / bzip2 / xz transparently.

    A damaged compressed stream raises :class:`DataFormatError` naming the file and the
    line being read, not the decompressor's own ``OSError`` / ``EOFError``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    with open(p, "rb") as f:
        head = f.read(6)
    for (magic, opener), kind in zip(_MAGIC, ("gzip", "bzip2", "xz")):
        if head.startswith(magic):
            return _Checked(opener(p, "rb"), path, kind)  # type: ignore[return-value]
    return open(p, "rb")


_DAMAGED = (OSError, EOFError, lzma.LZMAError, zlib.error)


class _Checked:
    """A decompressing reader whose stream errors are :class:`DataFormatError` s."""

    def __init__(self, f: BinaryIO, path: str | PathLike, kind: str) -> None:
        self._f, self._path, self._kind, self._line = f, path, kind, 0

    def _damaged(self, e: Exception) -> DataFormatError:
        return DataFormatError(self._path, self._line + 1, f"damaged {self._kind} data ({e})")

    def readline(self, size: int = -1) -> bytes:
        try:
            out = self._f.readline(size)
        except _DAMAGED as e:
            raise self._damaged(e) from None
        self._line += out.endswith(b"\n")
        return out

    def read(self, size: int = -1) -> bytes:
        try:
            return self._f.read(size)
        except _DAMAGED as e:
            raise self._damaged(e) from None

    def __iter__(self) -> _Checked:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> _Checked:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def strict_int(token: str) -> int:
    """An int64 id written in ASCII digits (optional sign): ``int()`` without its leniency.

    Python's ``int`` also takes ``1_000``, Arabic-Indic or full-width digits and ids beyond
    int64; a data file means none of these.  Raises ``ValueError`` naming the problem.
    """
    body = token[1:] if token[:1] in "+-" else token
    if not (body.isascii() and body.isdigit()):
        raise ValueError(f"not an integer: {token!r}")
    v = int(token)
    if not -(2**63) <= v < 2**63:
        raise ValueError(f"integer {token} is out of the int64 range")
    return v


def decode_line(raw: bytes, path: str | PathLike, lineno: int) -> str:
    """Line ``lineno`` (1-based) of ``path`` as strict UTF-8, a byte-order mark opening the
    file dropped (Excel's "CSV UTF-8" writes one: it is no part of the data); non-UTF-8 bytes
    are a :class:`DataFormatError` naming the file, line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(
            path,
            lineno,
            f"not UTF-8: byte {raw[e.start : e.start + 1]!r} at column {e.start + 1}",
        ) from None
    return text.removeprefix("\ufeff") if lineno == 1 else text


def iter_lines(
    path: str | PathLike, comments: str | None = None, *, skip_blank: bool = True
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for every data line of ``path`` (1-based, stripped).

    Blank lines and lines starting with ``comments`` are skipped (they hold no data), and a
    UTF-8 byte-order mark at the start of the file is dropped.
    Raises :class:`DataFormatError` on non-UTF-8 bytes and on a file with no data line.
    """
    n_data = 0
    with open_binary(path) as f:
        for lineno, raw in enumerate(f, 1):
            text = decode_line(raw, path, lineno).strip()
            if skip_blank and not text:
                continue
            if comments and text.startswith(comments):
                continue
            n_data += 1
            yield lineno, text
    if n_data == 0:
        raise DataFormatError(path, 0, "the file is empty (no data line)")
