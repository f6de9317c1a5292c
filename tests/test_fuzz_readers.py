"""Every reader, fed random bytes and random near-valid lines, parses or raises DataFormatError.

The error must name the file and a line of it (0: the whole file); any other exception is a
bug.  Examples are written to a file and read back; hypothesis runs derandomized, so CI sees
the same examples every time.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from negkit.data import conll, graphs, interactions, logs, text, word_eval
from negkit.data.errors import DataFormatError
from negkit.graph.vectors_io import load_vectors
from negkit.keyedvectors import KeyedVectors

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Tokens a near-valid line is made of: ids, numbers, and what breaks parsers.
TOKENS = [
    "0", "1", "2", "3", "17", "007", "-1", "+4", "1.5", "2e3", "1e309", "-1e309", "nan", "inf",
    "9" * 25, "1_000", "\u0661", "\uff11", "a", "bob", "é", "x y", "", " ", "\t", ",", ";", "::",
    "|", '"', "'", "#", ":", ": sec", "\r", "\x00", "\x0c", "\u2028", "\u00a0", "\ufeff",
    "user_id", "item_id", "rating", "timestamp", "2020-01-02", "2020-13-45", "T",
]  # fmt: skip
SEPS = [" ", "\t", ",", "::", ";", "|", "  "]

near_line = st.builds(
    lambda toks, sep: sep.join(toks),
    st.lists(st.sampled_from(TOKENS), min_size=0, max_size=7),
    st.sampled_from(SEPS),
)
near_text = st.lists(near_line, min_size=0, max_size=12).map(lambda ls: "\n".join(ls) + "\n")
near_bytes = near_text.map(lambda t: t.encode("utf-8")) | st.tuples(
    near_text, st.binary(max_size=3), st.integers(0, 40)
).map(lambda a: a[0][: a[2]].encode() + a[1] + a[0][a[2] :].encode())
any_bytes = st.binary(max_size=300)


def _check(reader, path: Path, data: bytes) -> None:
    """``reader(path)`` returns, or raises DataFormatError naming ``path`` and a line of it."""
    path.write_bytes(data)
    compressed = data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
    n_lines = float("inf") if compressed else data.count(b"\n") + 1
    try:
        got = reader(path)
    except DataFormatError as e:
        assert e.path == str(path), e
        assert 0 <= e.line <= n_lines, e
        return
    if isinstance(got, logs.InteractionLog) and not compressed:  # every row accounted for
        lines = [t for t in data.split(b"\n") if t.decode("utf-8").strip()]
        header = not got.columns["user"].startswith("column ")
        assert got.stats["rows"] + header == len(lines)
        st_ = got.stats
        kept = got.users.size + st_["merged_duplicates"]
        assert kept + st_["skipped_bad_rows"] + st_["skipped_below_min_rating"] == st_["rows"]


def _parquet(path: Path, data: bytes) -> None:
    """Random bytes dressed as Parquet (magic at both ends) must not crash the reader."""
    path.write_bytes(b"PAR1" + data + struct.pack("<i", len(data)) + b"PAR1")


_GRAPH = graphs.Graph(sp.csr_matrix((5, 5), dtype=np.float32))
_NAMED_GRAPH = graphs.Graph(sp.csr_matrix((3, 3), dtype=np.float32),
                            node_ids=np.array(["a", "bob", "17"]))  # fmt: skip

READERS = {
    "corpus": text.scan,
    "similarity": word_eval.read_similarity,
    "analogy": word_eval.read_analogies,
    "lightgcn": interactions.read_lightgcn,
    "table": interactions.read_table,
    "table_threshold": lambda p: interactions.read_table(p, rating_threshold=3),
    "log_csv": logs.read_log,
    "log_skip": lambda p: logs.read_log(p, bad_rows="skip", min_rating=1),
    "log_named": lambda p: logs.read_log(p, user_col="user_id", time_col="timestamp"),
    "edgelist": graphs.read_edgelist,
    "edgelist_weighted": lambda p: graphs.read_edgelist(p, weighted=True, directed=True),
    "adjlist": graphs.read_adjlist,
    "adjlist_rows": lambda p: graphs.read_adjlist(p, n_nodes=5),
    "labels": lambda p: graphs.read_labels(p, _GRAPH),
    "labels_by_id": lambda p: graphs.read_labels(p, _NAMED_GRAPH),
    "word2vec_text": KeyedVectors.load_word2vec_format,
    "word2vec_binary": lambda p: KeyedVectors.load_word2vec_format(p, binary=True),
    "node_vectors": load_vectors,
    "conll": conll.read_conll,
    "conll_whitespace": lambda p: conll.read_conll(p, sep=None),
}


@pytest.mark.parametrize("name", sorted(READERS))
@FUZZ
@given(data=near_bytes)
def test_near_valid_lines(tmp_path, name, data):
    _check(READERS[name], tmp_path / f"{name}.txt", data)


@pytest.mark.parametrize("name", sorted(READERS))
def test_every_nasty_token_in_every_column(tmp_path, name):
    """Deterministic complement of the fuzzing: each token of TOKENS in each of 4 columns."""
    path = tmp_path / f"{name}.txt"
    for i, tok in enumerate(TOKENS):
        for col in range(4):
            sep = (" ", "\t", ",")[(i + col) % 3]
            fields = ["1", "2", "3", "4"]
            fields[col] = tok
            _check(READERS[name], path, f"0{sep}1{sep}2{sep}3\n{sep.join(fields)}\n".encode())


@pytest.mark.parametrize("name", sorted(READERS))
@settings(FUZZ, max_examples=20)
@given(data=any_bytes)
def test_random_bytes(tmp_path, name, data):
    _check(READERS[name], tmp_path / f"{name}.txt", data)


@settings(FUZZ, max_examples=40)
@given(data=any_bytes)
def test_parquet_random_bytes(tmp_path, data):
    pytest.importorskip("pyarrow")
    path = tmp_path / "log.parquet"
    _parquet(path, data)
    try:
        logs.read_log(path)
    except DataFormatError as e:
        assert e.path == str(path) and e.line == 0, e


@settings(FUZZ, max_examples=40)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(TOKENS + [None]), st.sampled_from(TOKENS + [None]),
                  st.sampled_from(TOKENS + [None, 1.5, float("nan")])),
        min_size=1, max_size=8,
    )
)  # fmt: skip
def test_parquet_near_valid_columns(tmp_path, rows):
    """A well-formed Parquet file with random string / null cells: rows checked one by one."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    cols = list(zip(*rows))
    table = pa.table({"user_id": pa.array(cols[0], pa.string()),
                      "item_id": pa.array(cols[1], pa.string()),
                      "rating": pa.array([str(x) if x is not None else None for x in cols[2]],
                                         pa.string())})  # fmt: skip
    path = tmp_path / "log.parquet"
    pq.write_table(table, path)
    try:
        got = logs.read_log(path)
    except DataFormatError as e:
        assert e.path == str(path) and 1 <= e.line <= len(rows), e
    else:  # parsed: no row went missing without a count
        assert got.stats["rows"] == len(rows)
        assert got.users.size + got.stats["merged_duplicates"] == len(rows)


def test_a_bad_line_deep_in_a_file_is_reported_there(tmp_path):
    """Not fuzzed, the contract itself: line numbers count every line, blank ones too."""
    p = tmp_path / "g.txt"
    p.write_text("0 1 1\n\n# c\n1 2 1\n1 x\n")
    with pytest.raises(DataFormatError, match=r"g.txt:5: short line|g.txt:5"):
        graphs.read_edgelist(p, weighted=True)


def test_what_the_fuzzing_found_stays_fixed(tmp_path):
    """Each of these raised OverflowError, OSError, EOFError or ValueError before."""
    from negkit.data.lines import strict_int

    for tok in ("1_000", "\u0661", "\uff11", "9" * 25, "", "+", "1.0"):
        with pytest.raises(ValueError):
            strict_int(tok)
    assert strict_int("+4") == 4 and strict_int("-007") == -7
    cases = [
        (interactions.read_lightgcn, b"0 " + b"9" * 25 + b"\n", ":1: id 9999999999999999999999999"
         " out of the int64 range"),
        (lambda p: graphs.read_edgelist(p, n_nodes=5), b"0 1\n1 " + b"9" * 25 + b"\n",
         ":2: node id 9+ out of the int64 range"),
        (lambda p: graphs.read_edgelist(p, weighted=True), b"0 1 0\n", "no edge: all 1 edges"),
        (interactions.read_table, b"1 2 3 1e25\n", ":1: timestamp '1e25' out of range"),
        (text.scan, b"\x1f\x8b\x08\x00broken", "damaged gzip data"),
        (word_eval.read_similarity, b"BZh91AY&SY", "damaged bzip2 data"),
    ]  # fmt: skip
    for reader, data, msg in cases:
        p = tmp_path / "f.txt"
        p.write_bytes(data)
        with pytest.raises(DataFormatError, match=msg):
            reader(p)
