"""Own interaction logs: CSV / TSV / Parquet / DataFrame readers, bad rows, merges and splits."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from negkit.data.errors import DataFormatError
from negkit.data.log_split import load_log, parse_split, split_log
from negkit.data.logs import read_log

LOG = (
    "user_id,item_id,rating,timestamp\n"
    "bob,matrix,3,200\n"
    'alice,"heat, 1995",4,2020-01-02T00:00:00\n'
    "alice,matrix,5,100\n"
    "alice,matrix,2,300\n"
    "carol,alien,5,50\n"
)


def _write(tmp_path, text, name="log.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_csv_with_string_ids_quotes_dates_and_a_merged_pair(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="negkit.data.logs"):
        d = read_log(_write(tmp_path, LOG))
    assert d.user_ids.tolist() == ["alice", "bob", "carol"]
    assert d.item_ids.tolist() == ["alien", "heat, 1995", "matrix"]
    # rows in file order, the repeated (alice, matrix) once, at its latest time (300, rating 2)
    assert d.users.tolist() == [1, 0, 0, 2]
    assert d.items.tolist() == [2, 1, 2, 0]
    assert d.timestamps.tolist() == [200, 1577923200, 300, 50]
    assert d.ratings.tolist() == [3.0, 4.0, 2.0, 5.0]
    c = d.counts()
    assert (c["users"], c["items"], c["interactions"], c["rows"]) == (3, 3, 4, 5)
    assert c["merged_duplicates"] == 1 and c["columns"]["time"] == "timestamp"
    assert (
        "merged 1 repeated (user, item) rows" in caplog.text and "latest timestamp" in caplog.text
    )


def test_min_rating_filters_before_merging_and_is_counted(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="negkit.data.logs"):
        d = read_log(_write(tmp_path, LOG), min_rating=4)
    # (alice, matrix) survives through its rating-5 row; bob's only row is gone
    assert d.user_ids.tolist() == ["alice", "carol"] and d.users.size == 3
    assert d.stats["skipped_below_min_rating"] == 2 and d.stats["merged_duplicates"] == 0
    assert "skipped 2 of 5 rows with rating < 4" in caplog.text
    with pytest.raises(DataFormatError, match="no usable row with rating >= 9"):
        read_log(_write(tmp_path, LOG), min_rating=9)
    with pytest.raises(ValueError, match="min_rating given but there is no rating column"):
        read_log(_write(tmp_path, "user,item\na,b\n"), min_rating=1)


def test_headerless_tsv_is_read_by_position_with_numeric_id_order(tmp_path):
    d = read_log(_write(tmp_path, "10\t1\t5\t7\n9\t2\t4\t8\n", "u.tsv"))
    assert d.user_ids.tolist() == [9, 10] and d.users.tolist() == [1, 0]
    assert d.columns == {"user": "column 1", "item": "column 2", "rating": "column 3",
                         "time": "column 4"}  # fmt: skip


def test_columns_by_option_and_a_clear_error_listing_the_columns(tmp_path):
    p = _write(tmp_path, "visitor;product;stars\nv1;p1;3\n")
    with pytest.raises(ValueError, match=r"no user column among \['visitor', 'product', 'stars'\]"
                       r".*--user-col"):  # fmt: skip
        read_log(p)
    with pytest.raises(ValueError, match=r"no column 'who' \(user_col=\); the columns are"):
        read_log(p, user_col="who", item_col="product")
    d = read_log(p, user_col="Visitor", item_col="product")  # case-insensitive; stars = rating
    assert d.columns == {"user": "visitor", "item": "product", "rating": "stars", "time": None}
    # unknown names, but a non-numeric third field: a header, and the error lists it
    odd = _write(tmp_path, "who,what,stars\nc1,p1,3\n", "odd.csv")
    with pytest.raises(DataFormatError, match=r"odd.csv:1: no user column among \['who', 'what'"):
        read_log(odd)
    with pytest.raises(ValueError, match="one column serves two roles"):
        read_log(p, user_col="visitor", item_col="visitor")


@pytest.mark.parametrize(
    "row, problem",
    [
        (",matrix,3,1", "log.csv:3: empty user id"),
        ("dave,,3,1", "log.csv:3: empty item id"),
        ("dave,matrix,five,1", "log.csv:3: non-numeric rating 'five'"),
        ("dave,matrix,nan,1", "log.csv:3: rating 'nan' is not finite"),
        ("dave,matrix,3,yesterday", "log.csv:3: non-numeric timestamp 'yesterday'"),
        ("dave,matrix,3", "log.csv:3: 3 columns, expected 4"),
        ('"da\tve",matrix,3,1', "log.csv:3: user id 'da\\tve' has a tab or line break"),
        ('"dave,matrix,3,1', "log.csv:3: bad quoting"),
    ],
)
def test_a_bad_row_is_an_error_with_file_line_and_value_or_a_counted_skip(
    tmp_path, caplog, row, problem
):
    p = _write(tmp_path, "user_id,item_id,rating,timestamp\nbob,matrix,3,200\n" + row + "\n")
    with pytest.raises(DataFormatError) as e:
        read_log(p)
    assert problem in str(e.value) and e.value.line == 3
    if "quoting" in problem:
        return  # a line that cannot be split is never skipped
    with caplog.at_level(logging.WARNING, logger="negkit.data.logs"):
        d = read_log(p, bad_rows="skip")
    assert d.stats["skipped_bad_rows"] == 1 and d.stats["rows"] == 2 and d.users.size == 1
    assert "skipped 1 bad rows of 2 (first: " in caplog.text and problem in caplog.text


def test_dataframe_reads_like_the_file_and_names_bad_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    when = pd.to_datetime(["1970-01-01 00:03:20", "2020-01-02 00:00:00", "1970-01-01 00:05:00"])
    df = pd.DataFrame({"user": ["bob", "alice", "alice"], "item": [7, 3, 7], "ts": when})
    d = read_log(df)
    assert d.user_ids.tolist() == ["alice", "bob"] and d.item_ids.tolist() == [3, 7]
    assert d.timestamps.tolist() == [200, 1577923200, 300] and d.ratings is None
    df.loc[2, "user"] = None
    with pytest.raises(DataFormatError, match=r"DataFrame:3: row 3: empty user id"):
        read_log(df)
    numbered = pd.DataFrame([["a", "x"], ["b", "y"]])  # columns 0 and 1
    assert read_log(numbered, user_col=0, item_col=1).item_ids.tolist() == ["x", "y"]
    gaps = pd.DataFrame({"u": [1.0, 2.0, float("nan")], "i": [5, 6, 7]})  # ints with a gap
    with pytest.raises(DataFormatError, match="row 3: empty user id"):
        read_log(gaps)
    assert read_log(gaps, bad_rows="skip").user_ids.tolist() == [1, 2]


def test_parquet_reads_like_the_csv_and_damage_is_a_data_format_error(tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    csv = read_log(_write(tmp_path, LOG))
    pq = tmp_path / "log.parquet"
    pd.read_csv(tmp_path / "log.csv").to_parquet(pq)
    d = read_log(pq)
    for a in ("users", "items", "timestamps", "ratings", "user_ids", "item_ids"):
        assert getattr(d, a).tolist() == getattr(csv, a).tolist()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataFormatError, match="bad.parquet: not a readable Parquet file"):
        read_log(bad)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"needs pyarrow: pip install 'negkit\[parquet\]'"):
        read_log(pq)


def test_parse_split():
    assert parse_split("random:0.25") == ("random", 0.25)
    assert parse_split("Temporal:0.1", valid=True) == ("temporal", 0.1)
    assert parse_split("loo") == ("leave-one-out", 0.0)
    bad_splits = [("random:1.2", r"in \(0, 1\)"), ("random:x", "must be a number"),
                  ("kfold:3", "unknown split"), ("leave-one-out:0.1", "no fraction")]  # fmt: skip
    for bad, msg in bad_splits:
        with pytest.raises(ValueError, match=msg):
            parse_split(bad)
    with pytest.raises(ValueError, match=r"in \(0, 0.5\) with a validation split"):
        parse_split("random:0.6", valid=True)


def _ten_each(tmp_path):
    rows = [f"u{u},i{(u + k) % 12},1,{100 * u + k}" for u in range(5) for k in range(10)]
    return read_log(_write(tmp_path, "user,item,rating,timestamp\n" + "\n".join(rows) + "\n"))


def test_random_and_leave_one_out_splits_keep_every_user_in_train(tmp_path):
    d = _ten_each(tmp_path)
    r = split_log(d, "random:0.2", seed=3)
    assert np.diff(r.test.indptr).tolist() == [2] * 5 and r.train.nnz == 40 and r.valid is None
    assert r.train.multiply(r.test).nnz == 0 and r.user_ids is d.user_ids
    v = split_log(d, "random:0.2", valid=True, seed=3)
    assert (v.train.nnz, v.valid.nnz, v.test.nnz) == (30, 10, 10)
    loo = split_log(d, "leave-one-out", valid=True)
    # user u's latest item is i(u + 9), the one before i(u + 8)
    for u in range(5):
        assert loo.test[u].indices.tolist() == [d.item_ids.tolist().index(f"i{(u + 9) % 12}")]
        assert loo.valid[u].indices.tolist() == [d.item_ids.tolist().index(f"i{(u + 8) % 12}")]


def test_temporal_split_cuts_once_in_time_and_drops_users_without_training_data(tmp_path, caplog):
    text = "user,item,timestamp\na,x,1\na,y,2\nb,x,3\na,z,4\nc,x,5\nc,y,6\n"
    d = read_log(_write(tmp_path, text))
    with caplog.at_level(logging.WARNING, logger="negkit.data.log_split"):
        s = split_log(d, "temporal:0.5")
    # times 4, 5, 6 are after the cut: a's z is test; c (5, 6) never trained, dropped
    assert s.train.nnz == 3 and s.test.nnz == 1 and s.test[0].indices.tolist() == [2]
    assert "1 users have no interaction before the cut; their 2 held-out" in caplog.text
    sv = split_log(d, "temporal:0.2", valid=True)  # 1 test (c,y at 6), 1 valid (c,x at 5)
    assert (sv.train.nnz, sv.valid.nnz, sv.test.nnz) == (4, 0, 0)
    with pytest.raises(ValueError, match="a temporal split needs a time column"):
        split_log(read_log(_write(tmp_path, "user,item\na,x\n")), "temporal:0.2")


def test_load_log_and_rec_load_data_take_a_dataframe():
    pd = pytest.importorskip("pandas")
    from negkit.rec.train import load_data

    df = pd.DataFrame({"user_id": ["a"] * 5 + ["b"] * 5, "item_id": list("pqrst") * 2})
    data = load_data(df)
    assert data.user_ids.tolist() == ["a", "b"] and (data.train.nnz, data.test.nnz) == (8, 2)
    again = load_log(df, "random:0.2", seed=0)
    assert (again.test != data.test).nnz == 0


def test_a_run_on_a_dataframe_records_it_by_size_not_by_its_printout():
    pd = pytest.importorskip("pandas")
    from negkit.rec.train import RecSettings

    df = pd.DataFrame({"user_id": ["a"] * 5 + ["b"] * 5, "item_id": list("pqrst") * 2})
    assert RecSettings(data=df).resolved("numba")["data"] == "DataFrame of 10 rows"
    named = df.assign(name="x")  # a column called name is not the data's name
    assert RecSettings(data=named).resolved("numba")["data"] == "DataFrame of 10 rows"
    assert RecSettings(data="ml-100k").resolved("numba")["data"] == "ml-100k"


def test_a_byte_order_mark_does_not_hide_the_header(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_text(LOG, encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    log = read_log(p)
    assert log.counts()["columns"]["user"] == "user_id" and log.user_ids.tolist()[0] == "alice"
    assert log.counts()["rows"] == 5


def test_ids_that_int_reads_but_that_are_not_written_as_integers_stay_distinct(tmp_path):
    # int() reads "12_34" as 1234 and "+5" as 5: they are other users, kept as written
    text = "user,item\n12_34,a\n1234,b\n+5,a\n5,b\n-0,a\n0,b\n"
    d = read_log(_write(tmp_path, text))
    assert d.user_ids.tolist() == ["+5", "-0", "0", "1234", "12_34", "5"]
    assert d.users.tolist() == [4, 3, 0, 5, 1, 2]
    # written as integers: numeric order, ids kept as ints
    d = read_log(_write(tmp_path, "user,item\n10,a\n-3,b\n9,a\n"))
    assert d.user_ids.tolist() == [-3, 9, 10] and d.user_ids.dtype == np.int64


def test_integer_timestamps_are_kept_exactly_so_leave_one_out_finds_the_latest(tmp_path):
    # nanosecond times 1 ns apart: a float (53-bit mantissa) rounds all three to t0
    t0 = 1_700_000_000_000_000_000
    times = [t0 + 1, t0 + 2, t0]
    text = "user,item,timestamp\n" + "".join(f"u,{i},{t}\n" for i, t in zip("abc", times))
    sources = [_write(tmp_path, text)]
    try:
        import pandas as pd
    except ImportError:
        pass
    else:
        sources.append(pd.DataFrame({"user": ["u"] * 3, "item": list("abc"), "timestamp": times}))
    for source in sources:
        d = read_log(source)
        assert d.timestamps.tolist() == times
        for seed in range(5):
            s = split_log(d, "leave-one-out", valid=True, seed=seed)
            assert s.test.nonzero()[1].tolist() == [1]  # b, the latest
            assert s.valid.nonzero()[1].tolist() == [0]  # a, the one before
    with pytest.raises(DataFormatError, match="not a finite number of seconds"):
        read_log(_write(tmp_path, f"user,item,timestamp\nu,a,{2**62}\n"))


def test_a_headerless_file_with_iso_dates_is_read_by_position(tmp_path):
    text = "u1,i1,5,2020-01-01T00:00:00\nu1,i2,4,2020-01-02\n"
    d = read_log(_write(tmp_path, text))
    assert d.user_ids.tolist() == ["u1"] and d.item_ids.tolist() == ["i1", "i2"]
    assert d.timestamps.tolist() == [1577836800, 1577923200] and d.stats["rows"] == 2
    # a first line whose time is a name is still the header
    d = read_log(_write(tmp_path, "u,i,r,when\nu1,i1,5,2020-01-01\n"), time_col="when")
    assert d.columns["time"] == "when" and d.stats["rows"] == 1
    with pytest.raises(DataFormatError, match=r"x.csv:1: no user column among \['0', '1', '5', "):
        read_log(_write(tmp_path, "0,1,5,when\n0,1,5,100\n", "x.csv"))


def test_nullable_dataframe_columns_with_pandas_na_are_bad_rows_like_parquet_nulls(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "user": ["a", "a", "b", "b"],
            "item": ["x", "y", "x", "y"],
            "rating": pd.array([5, pd.NA, 3, 4], dtype="Int64"),
            "timestamp": pd.array([1, 2, pd.NA, 4], dtype="Int64"),
        }
    )
    with pytest.raises(DataFormatError, match="DataFrame:2: row 2: empty rating"):
        read_log(df)
    with pytest.raises(DataFormatError, match="DataFrame:3: row 3: empty timestamp"):
        read_log(df.assign(rating=5))
    d = read_log(df, bad_rows="skip")
    assert d.stats["skipped_bad_rows"] == 2 and d.stats["rows"] == 4
    assert d.user_ids.tolist() == ["a", "b"] and d.timestamps.tolist() == [1, 4]
    pytest.importorskip("pyarrow")
    df.to_parquet(tmp_path / "na.parquet")  # the same table as Parquet: nulls, same skips
    p = read_log(tmp_path / "na.parquet", bad_rows="skip")
    for a in ("users", "items", "timestamps", "ratings", "user_ids", "item_ids"):
        assert getattr(p, a).tolist() == getattr(d, a).tolist()


def test_date_values_are_midnight_utc_like_the_same_dates_written_in_a_csv(tmp_path):
    import datetime as dt

    pd = pytest.importorskip("pandas")
    days = [dt.date(2020, 1, 2), dt.date(1970, 1, 1)]
    df = pd.DataFrame({"user": ["a", "a"], "item": ["x", "y"], "timestamp": days})
    csv = read_log(_write(tmp_path, "user,item,timestamp\na,x,2020-01-02\na,y,1970-01-01\n"))
    assert read_log(df).timestamps.tolist() == csv.timestamps.tolist() == [1577923200, 0]
    pytest.importorskip("pyarrow")
    df.to_parquet(tmp_path / "days.parquet")  # a date32 column
    assert read_log(tmp_path / "days.parquet").timestamps.tolist() == [1577923200, 0]


def test_parquet_binary_id_columns_are_read_as_their_text(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p = tmp_path / "bin.parquet"  # Spark and Hive write strings as binary without the UTF-8 tag
    users = pa.array([b"alice", b"bob", "zoë".encode()], pa.binary())
    pq.write_table(pa.table({"user": users, "item": pa.array([b"x", b"y", b"x"])}), p)
    d = read_log(p)
    assert d.user_ids.tolist() == ["alice", "bob", "zoë"] and d.item_ids.tolist() == ["x", "y"]
    pq.write_table(pa.table({"user": pa.array([b"\xff"]), "item": pa.array([b"x"])}), p)
    with pytest.raises(DataFormatError, match=r"parquet:1: row 1: user id b'\\xff' is not UTF"):
        read_log(p)


def test_an_unrecognised_two_column_header_is_refused_not_read_as_an_interaction(tmp_path):
    p = _write(tmp_path, "account,song\n1,10\n2,11\n1,11\n", "plays.csv")
    with pytest.raises(DataFormatError, match=r"plays.csv:1: 'account,song' looks like a header"):
        read_log(p)
    d = read_log(p, user_col="account", item_col="song")
    assert d.user_ids.tolist() == [1, 2] and d.item_ids.tolist() == [10, 11] and d.users.size == 3
    # names in other rows too: an ordinary log with string ids, read by position
    d = read_log(_write(tmp_path, "account,song\n1,10\nbob,11\n"))
    assert d.user_ids.tolist() == ["1", "account", "bob"]
    assert read_log(_write(tmp_path, "1,10\n2,11\n")).user_ids.tolist() == [1, 2]


def test_the_separator_is_the_one_that_splits_the_first_line_most(tmp_path):
    """A ';' log with decimal commas was split on the first separator present, ',': users
    "1;10;4" and items "5;978300760", without a word.  Now four fields by ';' (a rating with a
    decimal comma is no number: the first line reads as a header, and the read stops)."""
    path = tmp_path / "semi.csv"
    path.write_text("1;10;4,5;978300760\n2;11;3,0;978300761\n")
    with pytest.raises(
        DataFormatError, match=r"semi\.csv:1: no user column among \['1', '10', '4,5'"
    ):
        read_log(path)
    path.write_text("1;10;4;978300760\n2;11;3;978300761\n")
    log = read_log(path)
    assert log.counts()["users"] == 2 and log.timestamps.tolist() == [978300760, 978300761]
    quoted = tmp_path / "q.csv"  # a ';' inside a quoted field does not outvote the commas
    quoted.write_text('user,item,note\n1,10,"a;b;c;d"\n2,11,x\n')
    assert read_log(quoted).counts()["items"] == 2
