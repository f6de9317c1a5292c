"""Users' own interaction logs: ``user, item[, rating][, timestamp]`` tables, any ids.

Sources: a CSV / TSV file (compressed or not), a Parquet file (``pip install
'negkit[parquet]'``) or a pandas DataFrame.  Columns are found by name (``user_id``,
``item_id``, ``rating``, ``timestamp`` and their usual spellings, case-insensitive) or
given.  A text file's first line is a header when it names a user or item column or its
third field is not a number or its fourth neither a number nor an ISO 8601 date; else the
file is read by position -- unless the first row's user and item are names where every other
row has integer ids: an unrecognised header (``account,song``), refused with a
:class:`DataFormatError` asking to name the columns, not read as one more interaction.

Rows are checked one by one.  A bad row -- an empty id, an id with a tab or line break,
a rating or timestamp that is not a number (timestamps may also be ISO 8601 dates) -- is
a :class:`DataFormatError` naming the file, line (row) and value, or, with
``bad_rows="skip"``, a skip counted in the log.  A line whose quoting cannot be parsed
(``"dave,matrix``) stops the read even then: it points to a wrong separator or to fields
that span lines, which skipping would hide.  Rows below ``min_rating`` are counted
skips.  Repeated (user, item) pairs are merged into one positive at their latest
timestamp (after ``min_rating``), counted in the log: ``min_rating`` judges each row, so a
pair rated 5 and later re-rated 2 stays a positive (at the time of its rating 5) with
``min_rating=4``.  Timestamps are int64: integers as written (any unit), other numbers
truncated to integers, dates and datetimes as whole seconds since 1970 (UTC unless they
say), so events within one second tie and the splits break such ties at random.  Ids are
mapped to 0-based rows in sorted order (numeric when every id is an integer, written as
one); ``user_ids`` / ``item_ids`` map back.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from negkit.data.errors import DataFormatError
from negkit.data.interactions import (
    _detect_sep,
    _IdColumn,
    _is_int_id,
    _is_int_text,
    _looks_like_header,
    _reindex,
)
from negkit.data.lines import iter_lines

log = logging.getLogger(__name__)

__all__ = ["InteractionLog", "read_log", "COLUMN_NAMES"]

#: Column names recognised without an option, per role (compared lower-case, stripped).
COLUMN_NAMES = {
    "user": ("user_id", "userid", "user", "uid", "user id", "users", "customer_id",
             "customer", "visitor_id", "visitorid", "session_id", "u"),
    "item": ("item_id", "itemid", "item", "iid", "item id", "items", "movie_id", "movieid",
             "movie", "product_id", "productid", "product", "track_id", "song_id",
             "business_id", "book_id", "article_id", "asin", "isbn", "i"),
    "rating": ("rating", "ratings", "score", "stars", "preference", "value", "weight", "r"),
    "time": ("timestamp", "time", "ts", "datetime", "date", "time_stamp", "created_at",
             "unix_time", "t"),
}  # fmt: skip

_OPTION = {"user": "user_col", "item": "item_col", "rating": "rating_col", "time": "time_col"}
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class InteractionLog:
    """A read log: 0-based ``users`` / ``items`` per merged pair, ``ratings`` (float32 or
    None), ``timestamps`` (int64 seconds or None), the original ids and what was skipped."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray | None
    timestamps: np.ndarray | None
    user_ids: np.ndarray
    item_ids: np.ndarray
    name: str = ""
    columns: dict[str, str | None] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def counts(self) -> dict[str, Any]:
        """Users, items, interactions (merged pairs) and every counted skip or merge."""
        out: dict[str, Any] = {"users": self.n_users, "items": self.n_items,
                               "interactions": int(self.users.size), **self.stats}  # fmt: skip
        out["columns"] = dict(self.columns)
        if self.timestamps is not None and self.timestamps.size:
            out["first_time"] = int(self.timestamps.min())
            out["last_time"] = int(self.timestamps.max())
        return out


# ------------------------------------------------------------------ values
class _Bad(Exception):
    """A bad value in one row; the caller adds the file and line."""


def _id(value: Any, role: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise _Bad(f"empty {role} id")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)  # pandas stores an int column with gaps as float
    if isinstance(value, (bytes, bytearray)):  # a Parquet binary column (Spark, Hive): text
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad(f"{role} id {bytes(value)!r} is not UTF-8 text") from None
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "<na>", "nat"):
        raise _Bad(f"empty {role} id {str(value)!r}" if text else f"empty {role} id")
    if any(c in text for c in "\t\n\r"):
        raise _Bad(f"{role} id {text!r} has a tab or line break (ids are written one a line)")
    return text


def _missing(value: Any) -> bool:
    """None, NaN, pandas.NaT or pandas.NA (whose comparisons are NA, not a bool)."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:
        return True


def _rating(value: Any) -> float:
    if _missing(value):
        raise _Bad("empty rating")
    try:
        r = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise _Bad(f"non-numeric rating {value!r}") from None
    if not math.isfinite(r):
        raise _Bad(f"rating {value!r} is not finite")
    return r


def _timestamp(value: Any) -> int:
    """Seconds since 1970: a number, an ISO 8601 date (UTC unless it says), a datetime, a date."""
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise _Bad("empty timestamp")
        return int(value.astype("datetime64[s]").astype(np.int64))
    if _missing(value):
        raise _Bad("empty timestamp")
    if isinstance(value, datetime):  # also pandas.Timestamp
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp())
    if isinstance(value, date):  # a day (Parquet date32, a DataFrame of dates): its midnight, UTC
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp())
    text = value.strip() if isinstance(value, str) else value
    if (isinstance(text, (int, np.integer)) and not isinstance(text, bool)) or (
        isinstance(text, str) and _is_int_text(text)
    ):  # integers exactly: through a float, ns times beyond 2**53 would round into ties
        t_int = int(text)
        if abs(t_int) >= 2**62:
            raise _Bad(f"timestamp {value!r} is not a finite number of seconds")
        return t_int
    try:
        t = float(text)
    except (TypeError, ValueError):
        t = None
    if t is not None:
        if not math.isfinite(t) or abs(t) >= 2**62:
            raise _Bad(f"timestamp {value!r} is not a finite number of seconds")
        return int(t)
    if isinstance(text, str) and text[:1].isdigit():
        try:
            return _timestamp(datetime.fromisoformat(text))
        except (ValueError, OverflowError, OSError):
            pass
    raise _Bad(f"non-numeric timestamp {value!r} (a number or an ISO 8601 date)")


# ----------------------------------------------------------------- columns
def _resolve(
    names: list[str], given: dict[str, str | None], where: str, line: int = 0
) -> dict[str, int | None]:
    """Column index of each role: the given name, else the first common name present.

    A missing column is a :class:`DataFormatError` at ``line`` (the header's) listing them all.
    """
    lower = [n.strip().lower() for n in names]
    out: dict[str, int | None] = {}
    for role, want in given.items():
        if want is not None:
            want = str(want)  # a DataFrame's columns may be numbered
            if want in names:
                out[role] = names.index(want)
            elif want.strip().lower() in lower:
                out[role] = lower.index(want.strip().lower())
            else:
                raise DataFormatError(where, line, f"no column {want!r} ({_OPTION[role]}=); "
                                      f"the columns are {names}")  # fmt: skip
            continue
        out[role] = next((lower.index(c) for c in COLUMN_NAMES[role] if c in lower), None)
        if out[role] is None and role in ("user", "item"):
            raise DataFormatError(
                where,
                line,
                f"no {role} column among {names}: name it with "
                f"{_OPTION[role]}= (--{role}-col); recognised names: "
                f"{', '.join(COLUMN_NAMES[role][:6])}, ...",
            )
    used = [i for i in out.values() if i is not None]
    if len(set(used)) != len(used):
        raise DataFormatError(where, line, f"one column serves two roles: {_named(out, names)}")
    return out


def _named(cols: dict[str, int | None], names: list[str]) -> dict[str, str | None]:
    return {r: (names[i] if i is not None else None) for r, i in cols.items()}


def _positional(n_cols: int) -> dict[str, int | None]:
    return {"user": 0, "item": 1, "rating": 2 if n_cols >= 3 else None,
            "time": 3 if n_cols >= 4 else None}  # fmt: skip


# --------------------------------------------------------------- collector
class _Rows:
    """Collects checked rows; raises or counts the bad ones."""

    def __init__(self, what: str, cols: dict[str, int | None], bad_rows: str,
                 min_rating: float | None, unit: str) -> None:  # fmt: skip
        self.what, self.cols, self.bad_rows, self.unit = what, cols, bad_rows, unit
        self.min_rating = min_rating
        self.users, self.items = _IdColumn(), _IdColumn()
        self.ratings: list[float] = []
        self.times: list[int] = []
        self.n_rows = self.n_bad = self.n_low = 0
        self.first_bad = ""

    def add(self, line: int, fields: Any) -> None:
        c = self.cols
        self.n_rows += 1
        try:
            u = _id(fields[c["user"]], "user")
            i = _id(fields[c["item"]], "item")
            r = _rating(fields[c["rating"]]) if c["rating"] is not None else None
            t = _timestamp(fields[c["time"]]) if c["time"] is not None else None
        except _Bad as e:
            self.reject(line, str(e))
            return
        if self.min_rating is not None and r < self.min_rating:
            self.n_low += 1
            return
        self.users.append(u)
        self.items.append(i)
        if r is not None:
            self.ratings.append(r)
        if t is not None:
            self.times.append(t)

    def reject(self, line: int, problem: str) -> None:
        """A bad row: an error naming file, line and value, or a counted skip."""
        if self.unit != "line":
            problem = f"{self.unit} {line}: {problem}"
        if self.bad_rows == "error":
            raise DataFormatError(self.what, line, problem)
        self.n_bad += 1
        self.first_bad = self.first_bad or f"{self.what}:{line}: {problem}"

    def finish(self, names: list[str]) -> InteractionLog:
        what = self.what
        if self.n_bad:
            log.warning("%s: skipped %d bad rows of %d (first: %s)", what, self.n_bad,
                        self.n_rows, self.first_bad)  # fmt: skip
        if self.n_low:
            log.info("%s: skipped %d of %d rows with rating < %g", what, self.n_low, self.n_rows,
                     self.min_rating)  # fmt: skip
        if not len(self.users):
            reason = f" with rating >= {self.min_rating:g}" if self.n_low else ""
            raise DataFormatError(what, 0, f"no usable row{reason} ({self.n_rows} rows read)")
        u_codes, u_ids = _reindex(self.users.values())
        i_codes, i_ids = _reindex(self.items.values())
        ratings = np.asarray(self.ratings, np.float64) if self.cols["rating"] is not None else None
        times = np.asarray(self.times, np.int64) if self.cols["time"] is not None else None
        keep = _merge(u_codes, i_codes, times, len(i_ids))
        n_dup = u_codes.size - keep.size
        if n_dup:
            how = "at its latest timestamp" if times is not None else "once"
            log.info("%s: merged %d repeated (user, item) rows: each pair is one positive, %s",
                     what, n_dup, how)  # fmt: skip
        stats = {"rows": self.n_rows, "merged_duplicates": n_dup, "skipped_bad_rows": self.n_bad,
                 "skipped_below_min_rating": self.n_low}  # fmt: skip
        return InteractionLog(
            u_codes[keep], i_codes[keep],
            ratings[keep].astype(np.float32) if ratings is not None else None,
            times[keep] if times is not None else None, u_ids, i_ids,
            name=Path(what).name.split(".")[0] if what != "DataFrame" else "DataFrame",
            columns=_named(self.cols, names), stats=stats,
        )  # fmt: skip


def _merge(users: np.ndarray, items: np.ndarray, times, n_items: int) -> np.ndarray:
    """Row indices, in file order, of one row per (user, item): the latest, else the first."""
    key = users * n_items + items
    if times is not None:
        order = np.lexsort((-np.arange(key.size), times, key))  # last = latest, then first seen
        k = key[order]
        last = np.ones(k.size, dtype=bool)
        last[:-1] = k[1:] != k[:-1]
        keep = order[last]
    else:
        _, keep = np.unique(key, return_index=True)
    return np.sort(keep)


# ----------------------------------------------------------------- readers
def read_log(
    source: Any,
    *,
    user_col: str | None = None,
    item_col: str | None = None,
    rating_col: str | None = None,
    time_col: str | None = None,
    min_rating: float | None = None,
    sep: str | None = None,
    bad_rows: str = "error",
) -> InteractionLog:
    """Read a log from a CSV/TSV/Parquet path or a pandas DataFrame (see the module).

    bad_rows : ``"error"`` (a :class:`DataFormatError` with file, line and value) or
        ``"skip"`` (skipped and counted in the log and in ``stats``).
    min_rating : keep rows with ``rating >= min_rating`` (needs a rating column).
    sep : the text column separator; ``None`` detects tab, ``::``, comma, ``;`` or ``|``.
    """
    if bad_rows not in ("error", "skip"):
        raise ValueError(f"bad_rows must be 'error' or 'skip', got {bad_rows!r}")
    given = {"user": user_col, "item": item_col, "rating": rating_col, "time": time_col}
    if hasattr(source, "columns") and hasattr(source, "iloc"):
        names = [str(c) for c in source.columns]
        cols = _resolve(names, given, "DataFrame")
        _need_rating(cols, min_rating, "DataFrame")
        rows = _Rows("DataFrame", cols, bad_rows, min_rating, "row")
        _feed_columns(rows, cols, lambda j: source.iloc[:, j].tolist())
        return rows.finish(names)
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if _is_parquet(path):
        return _read_parquet(path, given, min_rating, bad_rows)
    return _read_text(path, given, min_rating, sep, bad_rows)


def _need_rating(cols: dict[str, int | None], min_rating: float | None, where: str) -> None:
    if min_rating is not None and cols["rating"] is None:
        raise DataFormatError(where, 0, "min_rating given but there is no rating column")


def _feed_columns(rows: _Rows, cols: dict[str, int | None], column) -> None:
    data = {j: column(j) for j in cols.values() if j is not None}
    n = len(next(iter(data.values())))
    width = max(data) + 1
    for r in range(n):
        fields = [data[j][r] if j in data else None for j in range(width)]
        rows.add(r + 1, fields)


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return True
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _read_parquet(path: Path, given, min_rating, bad_rows) -> InteractionLog:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            f"{path}: reading Parquet needs pyarrow: pip install 'negkit[parquet]'"
        ) from None
    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, ... on a damaged file
        raise DataFormatError(path, 0, f"not a readable Parquet file ({e})") from None
    names = [str(c) for c in table.column_names]
    cols = _resolve(names, given, str(path))
    _need_rating(cols, min_rating, str(path))
    rows = _Rows(str(path), cols, bad_rows, min_rating, "row")
    if table.num_rows == 0:
        raise DataFormatError(path, 0, "the table has no row")
    _feed_columns(rows, cols, lambda j: table.column(j).to_pylist())
    return rows.finish(names)


def _is_header(fields: list[str]) -> bool:
    """A first line that is no row: a rating that is not a number, a time that is neither a
    number nor a date, or two id column names (a data row's time may be an ISO 8601 date)."""
    if len(fields) >= 4:
        try:
            _timestamp(fields[3])
        except _Bad:
            return True
        return _looks_like_header(fields[:3])
    return _looks_like_header(fields)


def _split_line(text: str, sep: str | None, what: str, line: int) -> list[str]:
    if sep is not None and len(sep) == 1 and '"' in text:
        try:
            return next(csv.reader([text], delimiter=sep, strict=True))
        except (csv.Error, StopIteration) as e:
            raise DataFormatError(what, line, f"bad quoting ({e})") from None
    return text.split(sep) if sep is not None else text.split()


def _read_text(path: Path, given, min_rating, sep, bad_rows) -> InteractionLog:
    what = str(path)
    named = any(v is not None for v in given.values())
    rows: _Rows | None = None
    names: list[str] = []
    for line, text in iter_lines(path):
        if rows is None:  # the first line: a header, or the first row
            if sep is None:
                tsv = path.name.lower().endswith((".tsv", ".tsv.gz"))
                sep = "\t" if tsv else _detect_sep(text)
            fields = [f.strip() for f in _split_line(text, sep, what, line)]
            lower = {f.lower() for f in fields}
            known = any(lower & set(COLUMN_NAMES[r]) for r in ("user", "item"))
            header = named or known or _is_header(fields)
            if len(fields) < 2:
                raise DataFormatError(what, line, f"{len(fields)} column: a log needs at least "
                                      "user and item (is the separator right?)")  # fmt: skip
            if header:
                names = fields
                cols = _resolve(names, given, what, line)
            else:
                first = (line, text, fields)
                names = [f"column {j + 1}" for j in range(len(fields))]
                cols = _positional(len(fields))
                log.info("%s: no header line: columns taken by position as %s", what,
                         ", ".join(r for r, j in cols.items() if j is not None))  # fmt: skip
            _need_rating(cols, min_rating, what)
            rows = _Rows(what, cols, bad_rows, min_rating, "line")
            if header:
                continue
        fields = _split_line(text, sep, what, line)
        if len(fields) != len(names):
            rows.n_rows += 1
            rows.reject(line, f"{len(fields)} columns, expected {len(names)} ({'; '.join(names)})")
            continue
        rows.add(line, fields)
    if rows is None or rows.n_rows == 0:
        raise DataFormatError(what, 0, "the file has a header but no data row")
    if not header:  # read by position: was the first row a header of unknown names?
        _refuse_unnamed_header(rows, *first)
    return rows.finish(names)


def _refuse_unnamed_header(rows: _Rows, line: int, text: str, fields: list[str]) -> None:
    """A file read by position whose first row has names for ids where every other row has
    integers: that row is a header whose names are not recognised (``account,song``), which
    would otherwise become one more user and item."""
    cols = (rows.users, rows.items)
    if any(c.ints is not None or len(c) < 2 for c in cols):
        return
    if [c.strs[0] for c in cols] != fields[:2]:
        return  # the first row was skipped: nothing to say
    if all(not _is_int_id(c.strs[0]) and all(map(_is_int_id, c.strs[1:])) for c in cols):
        raise DataFormatError(
            rows.what, line, f"{text!r} looks like a header (names where every other row "
            "has integer ids) but names no known column: name the columns (--user-col / "
            "--item-col, user_col= / item_col=), which reads that line as the header",
        )  # fmt: skip
