"""The shared line reader: compression by magic bytes, comments, strict UTF-8 with positions."""

from __future__ import annotations

import bz2
import gzip
import lzma

import pytest

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines, open_binary

TEXT = "# header\n\nalpha beta\n  gamma  \n# note\ndelta\n"
EXPECTED = [(3, "alpha beta"), (4, "gamma"), (6, "delta")]


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2"),
                                           (lzma.open, ".xz"), (open, ".txt")])  # fmt: skip
def test_compressed_files_read_transparently(tmp_path, opener, suffix):
    p = tmp_path / f"data{suffix}"
    with opener(p, "wb") as f:
        f.write(TEXT.encode())
    assert list(iter_lines(p, comments="#")) == EXPECTED
    # the magic bytes decide, not the name
    q = tmp_path / "renamed.dat"
    q.write_bytes(p.read_bytes())
    with open_binary(q) as f:
        assert f.read() == TEXT.encode()


def test_bad_utf8_reports_line_and_column(tmp_path):
    p = tmp_path / "latin1.txt"
    p.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(
        DataFormatError, match=r"latin1\.txt:2: not UTF-8: byte b'\\xe9' at column 4"
    ):
        list(iter_lines(p))


def test_empty_and_missing(tmp_path):
    (tmp_path / "c.txt").write_text("# only a comment\n\n")
    with pytest.raises(DataFormatError, match="the file is empty"):
        list(iter_lines(tmp_path / "c.txt", comments="#"))
    assert list(iter_lines(tmp_path / "c.txt")) == [(1, "# only a comment")]
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_binary(tmp_path / "absent.txt")
