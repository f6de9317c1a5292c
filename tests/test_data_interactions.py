"""Interaction readers and splits, on tiny files written here."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pytest
from scipy.stats import chisquare

from negkit.data.errors import DataFormatError
from negkit.data.interactions import (
    Interactions,
    load_lightgcn_split,
    read_lightgcn,
    read_movielens,
    read_table,
    split_leave_one_out,
    split_ratio,
)


def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ LightGCN
def test_read_lightgcn_matrix_and_duplicates(tmp_path, caplog):
    p = write(tmp_path / "train.txt", "0 1 2\n1\n\n2 0 0 3\n")
    with caplog.at_level(logging.INFO, logger="negkit.data.interactions"):
        m = read_lightgcn(p)
    expected = np.array([[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 1]], dtype=np.float32)
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m.toarray(), expected)
    assert "merged 1 duplicate" in caplog.text


def test_read_lightgcn_fixed_shape_and_out_of_range(tmp_path):
    p = write(tmp_path / "t.txt", "0 1\n1 3\n")
    assert read_lightgcn(p, n_users=5, n_items=7).shape == (5, 7)
    with pytest.raises(DataFormatError, match=r"t\.txt:2: item id 3 out of range \[0, 3\)"):
        read_lightgcn(p, n_items=3)
    with pytest.raises(DataFormatError, match=r"t\.txt:2: user id 1 out of range"):
        read_lightgcn(p, n_users=1)
    neg = write(tmp_path / "neg.txt", "0 1\n0 -4\n")
    with pytest.raises(DataFormatError, match=r"neg\.txt:2: item id -4 out of range"):
        read_lightgcn(neg)


def test_read_lightgcn_bad_input(tmp_path):
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: non-numeric id 'x7'"):
        read_lightgcn(write(tmp_path / "bad.txt", "0 1 2\n1 x7 3\n"))
    with pytest.raises(DataFormatError, match=r"utf\.txt:3: not UTF-8"):
        read_lightgcn(write(tmp_path / "utf.txt", b"0 1\n1 2\n2 \xff3\n", "wb"))
    with pytest.raises(DataFormatError, match=r"empty\.txt: the file is empty"):
        read_lightgcn(write(tmp_path / "empty.txt", "\n\n"))
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_lightgcn(tmp_path / "nope.txt")


def test_load_lightgcn_split_gz_valid_and_id_lists(tmp_path):
    with gzip.open(tmp_path / "train.txt.gz", "wt") as f:
        f.write("0 0 1\n1 2\n")
    write(tmp_path / "test.txt", "0 2\n1 0\n")
    write(tmp_path / "valid.txt", "1 1\n")
    write(tmp_path / "user_list.txt", "org_id remap_id\na 0\nb 1\nc 2\n")
    write(tmp_path / "item_list.txt", "org_id remap_id\nx 0\ny 1\nz 2\nw 3\n")
    d = load_lightgcn_split(tmp_path, name="tiny")
    assert isinstance(d, Interactions)
    assert d.counts() == {"users": 3, "items": 4, "train": 3, "valid": 1, "test": 2}
    assert d.name == "tiny" and d.train.shape == d.test.shape == d.valid.shape == (3, 4)
    np.testing.assert_array_equal(d.test.toarray()[:2, :3], [[0, 0, 1], [1, 0, 0]])


def test_load_lightgcn_split_missing_test(tmp_path):
    write(tmp_path / "train.txt", "0 1\n")
    with pytest.raises(FileNotFoundError, match="no test.txt"):
        load_lightgcn_split(tmp_path)


# ------------------------------------------------------------------ tables
def test_read_movielens_reindexes_and_keeps_mapping(tmp_path):
    p = write(tmp_path / "u.data", "10\t7\t4\t100\n3\t7\t5\t90\n10\t2\t1\t95\n")
    users, items, ratings, ts = read_movielens(p)
    r = read_movielens(p)
    np.testing.assert_array_equal(r.user_ids, [3, 10])
    np.testing.assert_array_equal(r.item_ids, [2, 7])
    np.testing.assert_array_equal(users, [1, 0, 1])
    np.testing.assert_array_equal(items, [1, 1, 0])
    np.testing.assert_array_equal(ratings, [4, 5, 1])
    np.testing.assert_array_equal(ts, [100, 90, 95])
    assert r.counts() == {"users": 2, "items": 2, "ratings": 3}


def test_read_movielens_needs_timestamps(tmp_path):
    with pytest.raises(DataFormatError, match="4 columns"):
        read_movielens(write(tmp_path / "u.data", "1\t2\t3\n"))


def test_read_table_header_string_ids_threshold(tmp_path, caplog):
    p = write(tmp_path / "r.csv", "user,item,rating\nann,book,5\nbob,book,2\nann,pen,4\n")
    with caplog.at_level(logging.INFO, logger="negkit.data.interactions"):
        r = read_table(p, rating_threshold=4)
    assert "skipped 1 of 3 rows with rating < 4" in caplog.text
    assert list(r.user_ids) == ["ann"] and list(r.item_ids) == ["book", "pen"]
    np.testing.assert_array_equal(r.items, [0, 1])
    assert r.timestamps is None


def test_read_table_separators(tmp_path):
    colons = read_table(write(tmp_path / "ratings.dat", "1::5::3::9\n2::5::4::8\n"))
    np.testing.assert_array_equal(colons.timestamps, [9, 8])
    spaces = read_table(write(tmp_path / "pairs.txt", "1 5\n2   6\n"))
    np.testing.assert_array_equal(spaces.ratings, [1, 1])
    assert spaces.counts() == {"users": 2, "items": 2, "ratings": 2}


def test_read_table_bad_input(tmp_path):
    with pytest.raises(DataFormatError, match=r"a\.csv:3: short line: 2 columns, expected 3"):
        read_table(write(tmp_path / "a.csv", "1,2,3\n1,3,4\n2,5\n"))
    with pytest.raises(DataFormatError, match=r"b\.csv:2: non-numeric rating 'good'"):
        read_table(write(tmp_path / "b.csv", "1,2,3\n1,3,good\n"))
    with pytest.raises(DataFormatError, match=r"c\.csv:1: short line"):
        read_table(write(tmp_path / "c.csv", "17\n"))
    with pytest.raises(DataFormatError, match="no rating column"):
        read_table(write(tmp_path / "d.csv", "1,2\n"), rating_threshold=3)
    with pytest.raises(DataFormatError, match="no row has rating >= 9"):
        read_table(write(tmp_path / "e.csv", "1,2,3\n"), rating_threshold=9)
    with pytest.raises(DataFormatError, match=r"f\.csv: .*no data row"):
        read_table(write(tmp_path / "f.csv", "user,item,rating\n"))
    with pytest.raises(DataFormatError, match=r"g\.tsv:2: non-numeric timestamp 'noon'"):
        read_table(write(tmp_path / "g.tsv", "1\t2\t3\t4\n1\t3\t3\tnoon\n"))
    with pytest.raises(DataFormatError, match=r"h\.csv:1: rating 'nan' is not finite"):
        read_table(write(tmp_path / "h.csv", "1,2,nan\n"))


# ------------------------------------------------------------------ splits
def _pairs(m):
    c = m.tocoo()
    return set(zip(c.row.tolist(), c.col.tolist()))


def test_leave_one_out_by_time_by_hand():
    users = [0, 0, 0, 1, 2, 2]
    items = [5, 6, 7, 1, 3, 4]
    times = [1, 3, 2, 9, 5, 4]
    d = split_leave_one_out(users, items, times, seed=0, valid=True)
    assert _pairs(d.test) == {(0, 6), (2, 3)}
    assert _pairs(d.valid) == {(0, 7)}  # user 2 has only 2 items: no valid item
    assert _pairs(d.train) == {(0, 5), (1, 1), (2, 4)}  # user 1 keeps its one item
    d2 = split_leave_one_out(users, items, times, valid=False)
    assert d2.valid is None and _pairs(d2.test) == {(0, 6), (2, 3)}


def test_leave_one_out_duplicates_never_leak():
    # (0, 1) repeated: its latest time (10) makes it the test item, and train must not hold it
    d = split_leave_one_out([0, 0, 0, 0], [1, 2, 1, 3], [1, 2, 10, 3], valid=False)
    assert _pairs(d.test) == {(0, 1)}
    assert _pairs(d.train) == {(0, 2), (0, 3)}


def test_leave_one_out_random_is_seeded_and_uniform():
    n_users, k = 3000, 6
    users = np.repeat(np.arange(n_users), k)
    items = np.tile(np.arange(k), n_users)
    a = split_leave_one_out(users, items, seed=3)
    b = split_leave_one_out(users, items, seed=3)
    c = split_leave_one_out(users, items, seed=4)
    assert _pairs(a.test) == _pairs(b.test) and _pairs(a.valid) == _pairs(b.valid)
    assert _pairs(a.test) != _pairs(c.test)
    assert not (_pairs(a.test) & _pairs(a.valid)) and not (_pairs(a.train) & _pairs(a.test))
    assert a.train.nnz + a.valid.nnz + a.test.nnz == users.size
    counts = np.bincount(a.test.tocoo().col, minlength=k)
    assert chisquare(counts).pvalue > 1e-4


def test_split_ratio_sizes_disjoint_reproducible():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(200), 20)
    items = np.concatenate([rng.choice(50, 20, replace=False) for _ in range(200)])
    a = split_ratio(users, items, (0.8, 0.1, 0.1), seed=1)
    b = split_ratio(users, items, (0.8, 0.1, 0.1), seed=1)
    c = split_ratio(users, items, (0.8, 0.1, 0.1), seed=2)
    np.testing.assert_array_equal(np.diff(a.test.indptr), 2)
    np.testing.assert_array_equal(np.diff(a.valid.indptr), 2)
    np.testing.assert_array_equal(np.diff(a.train.indptr), 16)
    assert _pairs(a.train) | _pairs(a.valid) | _pairs(a.test) == set(zip(users, items))
    assert not (_pairs(a.train) & _pairs(a.test)) and not (_pairs(a.valid) & _pairs(a.test))
    assert _pairs(a.test) == _pairs(b.test) and _pairs(a.test) != _pairs(c.test)
    assert a.counts() == {"users": 200, "items": 50, "train": 3200, "valid": 400, "test": 400}


def test_split_ratio_two_way_keeps_one_train_item_and_is_uniform():
    users = np.repeat(np.arange(2000), 5)
    items = np.tile(np.arange(5), 2000)
    d = split_ratio(users, items, (0.8, 0.2), seed=0)
    assert d.valid is None
    np.testing.assert_array_equal(np.diff(d.test.indptr), 1)
    assert chisquare(np.bincount(d.test.tocoo().col, minlength=5)).pvalue > 1e-4
    one = split_ratio([0, 1, 1], [0, 0, 1], (0.1, 0.9), seed=0)  # user 0 has a single item
    assert _pairs(one.train) >= {(0, 0)} and one.train.nnz + one.test.nnz == 3


def test_split_bad_arguments():
    with pytest.raises(ValueError, match="summing to 1"):
        split_ratio([0], [0], (0.5, 0.2))
    with pytest.raises(ValueError, match="non-negative"):
        split_leave_one_out([0, -1], [0, 1])
    with pytest.raises(ValueError, match="entries"):
        split_leave_one_out([0, 1], [0])
    with pytest.raises(ValueError, match="no interactions"):
        split_ratio([], [])


def test_read_table_ids_switch_to_strings(tmp_path):
    # integers first, then a name: every id becomes a string; "007" is not the number 7
    r = read_table(write(tmp_path / "m.tsv", "7\t1\n007\t1\nx9\t2\n"))
    assert list(r.user_ids) == ["007", "7", "x9"]
    np.testing.assert_array_equal(r.users, [1, 0, 2])
    n = read_table(write(tmp_path / "n.tsv", "10\t1\n9\t1\n"))
    np.testing.assert_array_equal(n.user_ids, [9, 10])  # numeric order, not "10" < "9"


def test_read_table_keeps_integer_timestamps_and_non_canonical_ids_exactly(tmp_path):
    t0 = 1_700_000_000_000_000_000  # ns: a float rounds t0 + 1 and t0 + 2 to t0
    text = f"1\t5\t3\t{t0 + 1}\n1\t6\t3\t{t0 + 2}\n01\t5\t3\t{t0}\n"
    r = read_table(write(tmp_path / "ns.tsv", text))
    assert r.timestamps.tolist() == [t0 + 1, t0 + 2, t0]
    assert r.user_ids.tolist() == ["01", "1"] and r.users.tolist() == [1, 1, 0]
    loo = split_leave_one_out(r.users, r.items, r.timestamps, valid=False)
    assert loo.test[1].indices.tolist() == [1]  # item 6, the latest of user "1"
    f = read_table(write(tmp_path / "f.tsv", "1\t5\t3\t1.5e3\n"))
    assert f.timestamps.tolist() == [1500]


def test_movielens_ratio_split_without_valid_keeps_the_valid_share_in_train(tmp_path, monkeypatch):
    from negkit.data import registry

    folder = tmp_path / "recsys" / "ml-100k"
    folder.mkdir(parents=True)
    rows = [f"{u}\t{i}\t4\t{100 * u + i}" for u in range(1, 5) for i in range(1, 11)]
    write(folder / "u.data", "\n".join(rows) + "\n")
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path))
    three = registry.load("ml-100k", split="ratio", seed=0)  # (0.8, 0.1, 0.1)
    assert (three.train.nnz, three.valid.nnz, three.test.nnz) == (32, 4, 4)
    two = registry.load("ml-100k", split="ratio", seed=0, valid=False)
    assert two.valid is None and (two.train.nnz, two.test.nnz) == (36, 4)
    assert two.train.multiply(two.test).nnz == 0
