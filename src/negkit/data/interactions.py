"""Implicit-feedback interactions: readers, CSR user x item matrices and splits.

Formats:

* LightGCN / NGCF split files (He et al. 2020; Wang et al. 2019): one line per
  user, ``user item item ...``, 0-based ids (a user with no item is allowed);
* MovieLens ``u.data`` / ``ratings.dat`` (Harper & Konstan 2015):
  ``user<TAB>item<TAB>rating<TAB>timestamp`` (``::`` in ml-1m);
* generic CSV/TSV tables of ``user, item[, rating[, timestamp]]``.

Every matrix is a ``scipy.sparse.csr_matrix`` of float32 ones, users x items.
Duplicate pairs are merged and counted in the log; nothing is dropped silently.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines, strict_int

log = logging.getLogger(__name__)

__all__ = [
    "Interactions",
    "Ratings",
    "read_lightgcn",
    "load_lightgcn_split",
    "read_movielens",
    "read_table",
    "split_leave_one_out",
    "split_ratio",
    "pairs_to_csr",
]


@dataclass
class Interactions:
    """Implicit feedback split into train / (valid) / test CSR matrices of shape users x items."""

    train: sp.csr_matrix
    test: sp.csr_matrix
    valid: sp.csr_matrix | None = None
    name: str = ""
    #: original ids of the rows / columns, when they were re-indexed from a file
    user_ids: np.ndarray | None = field(default=None, repr=False)
    item_ids: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        shapes = {m.shape for m in (self.train, self.test, self.valid) if m is not None}
        if len(shapes) != 1:
            raise ValueError(f"train/valid/test must share one shape, got {sorted(shapes)}")

    @property
    def n_users(self) -> int:
        return int(self.train.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.train.shape[1])

    def counts(self) -> dict:
        """``{"users", "items", "train", "test"[, "valid"]}``: sizes and interaction counts."""
        out = {"users": self.n_users, "items": self.n_items, "train": int(self.train.nnz)}
        if self.valid is not None:
            out["valid"] = int(self.valid.nnz)
        out["test"] = int(self.test.nnz)
        return out


class Ratings(tuple):
    """``(users, items, ratings, timestamps)`` with 0-based ids, plus the id mapping.

    ``user_ids[u]`` / ``item_ids[i]`` are the original ids of row ``u`` / column ``i``.
    ``ratings`` is float32 (ones when the table has no rating column); ``timestamps``
    is int64 or ``None`` when the table has none.
    """

    def __new__(cls, users, items, ratings, timestamps, user_ids, item_ids):
        self = super().__new__(cls, (users, items, ratings, timestamps))
        self.user_ids = user_ids
        self.item_ids = item_ids
        return self

    users = property(lambda self: self[0])
    items = property(lambda self: self[1])
    ratings = property(lambda self: self[2])
    timestamps = property(lambda self: self[3])

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def counts(self) -> dict:
        return {"users": self.n_users, "items": self.n_items, "ratings": len(self[0])}


# ------------------------------------------------------------------ CSR helpers
def pairs_to_csr(users, items, shape: tuple[int, int], what: str = "interactions") -> sp.csr_matrix:
    """CSR matrix of float32 ones at ``(users[k], items[k])``; duplicates merged and logged."""
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    m = sp.csr_matrix(
        (np.ones(users.shape[0], dtype=np.float32), (users, items)), shape=shape, dtype=np.float32
    )
    m.sum_duplicates()
    n_dup = users.shape[0] - m.nnz
    if n_dup:
        log.info("%s: merged %d duplicate (user, item) pairs", what, n_dup)
        m.data[:] = 1.0
    m.sort_indices()
    return m


def _resize(m: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    m = m.tocsr(copy=False)
    if m.shape == shape:
        return m
    m.resize(shape)
    return m


# --------------------------------------------------------------- LightGCN files
def _bad_int(tokens: Sequence[str]) -> str:
    """What is wrong with the first token that is not an int64 id."""
    for t in tokens:
        try:
            strict_int(t)
        except ValueError:
            if t.lstrip("+-").isascii() and t.lstrip("+-").isdigit():
                return f"id {t} out of the int64 range"
            return f"non-numeric id {t!r}"
    return ""


def read_lightgcn(
    path: str | PathLike, n_users: int | None = None, n_items: int | None = None
) -> sp.csr_matrix:
    """Read a LightGCN split file (``user item item ...`` per line) into a users x items CSR.

    ``n_users`` / ``n_items`` fix the shape (ids beyond them are an error); by default
    the shape is one past the largest id seen.
    """
    users = array("q")
    items = array("q")
    max_user = max_item = -1
    for lineno, text in iter_lines(path):
        parts = text.split()
        try:
            ids = [strict_int(t) for t in parts]
        except ValueError:
            raise DataFormatError(
                path, lineno, f"{_bad_int(parts)} (expected 'user item item ...')"
            ) from None
        u, its = ids[0], ids[1:]
        if u < 0 or (n_users is not None and u >= n_users):
            raise DataFormatError(path, lineno, f"user id {u} out of range [0, {n_users or 'inf'})")
        if its:
            lo, hi = min(its), max(its)
            if lo < 0 or (n_items is not None and hi >= n_items):
                bad = lo if lo < 0 else hi
                raise DataFormatError(
                    path, lineno, f"item id {bad} out of range [0, {n_items or 'inf'})"
                )
            max_item = max(max_item, hi)
            users.extend([u] * len(its))
            items.extend(its)
        max_user = max(max_user, u)
    shape = (
        n_users if n_users is not None else max_user + 1,
        n_items if n_items is not None else max_item + 1,
    )
    return pairs_to_csr(
        np.frombuffer(users, np.int64), np.frombuffer(items, np.int64), shape, what=str(path)
    )


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in ("", ".gz", ".xz", ".bz2"):
        p = folder / f"{stem}{suffix}"
        if p.is_file():
            return p
    return None


def _id_list_size(folder: Path, stem: str) -> int:
    """Entries of a LightGCN ``user_list.txt`` / ``item_list.txt`` (``org_id remap_id`` lines)."""
    p = _find(folder, stem)
    if p is None:
        return 0
    n = 0
    for _, text in iter_lines(p):
        if not text.startswith("org_id"):
            n += 1
    return n


def load_lightgcn_split(folder: str | PathLike, name: str | None = None) -> Interactions:
    """Load ``train.txt`` / ``test.txt`` [/ ``valid.txt``] of a LightGCN split folder.

    Compressed copies (``train.txt.gz`` ...) are read transparently.  The shape covers
    every id in any split, and the ``user_list.txt`` / ``item_list.txt`` id maps when present.
    """
    folder = Path(folder)
    name = name or folder.name
    paths = {s: _find(folder, f"{s}.txt") for s in ("train", "valid", "test")}
    for s in ("train", "test"):
        if paths[s] is None:
            raise FileNotFoundError(f"{folder}: no {s}.txt (or {s}.txt.gz) in the split folder")
    mats = {s: read_lightgcn(p) for s, p in paths.items() if p is not None}
    n_users = max([m.shape[0] for m in mats.values()] + [_id_list_size(folder, "user_list.txt")])
    n_items = max([m.shape[1] for m in mats.values()] + [_id_list_size(folder, "item_list.txt")])
    mats = {s: _resize(m, (n_users, n_items)) for s, m in mats.items()}
    overlap = mats["train"].multiply(mats["test"]).nnz
    if overlap:
        log.warning("%s: %d (user, item) pairs are in both train and test", name, overlap)
    return Interactions(mats["train"], mats["test"], mats.get("valid"), name=name)


# ------------------------------------------------------------------ rating tables
def _detect_sep(text: str) -> str | None:
    """The separator of a first line: a tab when there is one, else whichever of ``::``,
    ``,``, ``;`` and ``|`` splits it into the most fields (the first listed on a tie), else
    None (whitespace).  Counting, not taking the first present: ``1;10;4,5;978300760`` (a
    decimal comma) is four fields by ``;``, not two by ``,``."""
    if "\t" in text:
        return "\t"
    best, most = None, 1
    for sep in ("::", ",", ";", "|"):
        n = len(text.split(sep))
        if n > most:
            best, most = sep, n
    return best


_ID_HEADERS = {
    "user",
    "item",
    "users",
    "items",
    "user_id",
    "item_id",
    "userid",
    "itemid",
    "uid",
    "iid",
    "movie",
    "movie_id",
    "movieid",
    "u",
    "i",
    "user id",
    "item id",
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_header(fields: list[str]) -> bool:
    """Header: a rating/timestamp field is not a number, or both id fields are column names."""
    if len(fields) >= 3 and not all(_is_number(f) for f in fields[2:4]):
        return True
    return all(f.strip().lower() in _ID_HEADERS for f in fields[:2])


class _IdColumn:
    """Ids of one column: packed int64 while every id is an integer, else strings.

    An id is an integer only when it is written the way the integer prints (``"7"``,
    ``"-3"``): ``"007"``, ``"+7"``, ``"1_000"`` or ``"-0"`` are names, kept as written, and
    never merged with ``"7"``, ``"1000"`` or ``"0"`` (``int()`` accepts them all).
    """

    def __init__(self) -> None:
        self.ints: array | None = array("q")
        self.strs: list[str] = []

    def append(self, token: str) -> None:
        if self.ints is not None:
            if _is_int_id(token):  # not "007", "+7", "1_000", "-0", full-width digits
                try:
                    self.ints.append(int(token))
                    return
                except OverflowError:  # beyond int64
                    pass
            self._to_strings()
        self.strs.append(token)

    def _to_strings(self) -> None:
        self.strs = [str(v) for v in self.ints]
        self.ints = None

    def __len__(self) -> int:
        return len(self.ints) if self.ints is not None else len(self.strs)

    def values(self) -> np.ndarray:
        if self.ints is not None:
            return np.frombuffer(self.ints, np.int64)
        return np.array(self.strs, dtype=str)


def _is_int_id(token: str) -> bool:
    """Whether ``token`` is an integer written the way the integer prints (``"7"``, ``"-3"``):
    an id that may be read as a number without being renamed (:class:`_IdColumn`)."""
    body = token[1:] if token[:1] == "-" else token
    return body.isascii() and body.isdigit() and str(int(token)) == token


def _is_int_text(token: str) -> bool:
    """Whether ``token`` is an integer in ASCII digits with an optional sign (spaces around)."""
    body = token.strip()
    body = body[1:] if body[:1] in "+-" else body
    return body.isascii() and body.isdigit()


def _reindex(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based codes and sorted original ids (numeric order when every id is an integer)."""
    ids, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), ids


def read_table(
    path: str | PathLike,
    sep: str | None = None,
    rating_threshold: float | None = None,
    has_header: bool | None = None,
) -> Ratings:
    """Read a CSV/TSV table of ``user, item[, rating[, timestamp]]`` into :class:`Ratings`.

    sep : column separator; ``None`` detects tab, ``::``, comma, semicolon or ``|`` from
        the first line, else splits on whitespace.
    rating_threshold : keep only rows with ``rating >= rating_threshold`` (the others
        are counted in the log); needs a rating column.
    has_header : ``None`` treats the first line as a header when it names a column
        (``user``, ``item``, ``rating``, ...).
    User and item ids may be any strings; they are re-indexed 0-based in sorted order.
    """
    users, items = _IdColumn(), _IdColumn()
    ratings = array("d")
    times = array("q")
    n_cols = None
    first = True
    for lineno, text in iter_lines(path, comments="#"):
        if first and sep is None:
            sep = _detect_sep(text)
        fields = text.split(sep) if sep is not None else text.split()
        if first:
            first = False
            if has_header or (has_header is None and _looks_like_header(fields)):
                continue
        if n_cols is None:
            n_cols = len(fields)
            if n_cols < 2:
                raise DataFormatError(
                    path,
                    lineno,
                    f"short line: {len(fields)} column, expected "
                    "at least 2 (user, item[, rating[, timestamp]])",
                )
            if rating_threshold is not None and n_cols < 3:
                raise DataFormatError(
                    path, lineno, "rating_threshold given but the table has no rating column"
                )
        if len(fields) < n_cols:
            raise DataFormatError(
                path, lineno, f"short line: {len(fields)} columns, expected {n_cols}"
            )
        u, i = fields[0].strip(), fields[1].strip()
        if not u or not i:
            raise DataFormatError(path, lineno, "empty user or item id")
        users.append(u)
        items.append(i)
        if n_cols >= 3:
            try:
                r = float(fields[2])
            except ValueError:
                raise DataFormatError(
                    path, lineno, f"non-numeric rating {fields[2].strip()!r}"
                ) from None
            if not math.isfinite(r):
                raise DataFormatError(path, lineno, f"rating {fields[2].strip()!r} is not finite")
            ratings.append(r)
        if n_cols >= 4:
            try:  # an integer exactly (ns times beyond 2**53 would round into ties in a float)
                t = int(fields[3]) if _is_int_text(fields[3]) else int(float(fields[3]))
            except (ValueError, OverflowError):
                raise DataFormatError(
                    path, lineno, f"non-numeric timestamp {fields[3].strip()!r}"
                ) from None
            if not -(2**62) < t < 2**62:
                raise DataFormatError(path, lineno, f"timestamp {fields[3].strip()!r} out of range")
            times.append(t)
    if not len(users):
        raise DataFormatError(path, 0, "the file has a header but no data row")
    u_vals, i_vals = users.values(), items.values()
    r_arr = np.frombuffer(ratings, np.float64) if n_cols >= 3 else np.ones(len(users))
    t_arr = np.frombuffer(times, np.int64).copy() if n_cols >= 4 else None
    if rating_threshold is not None:
        keep = r_arr >= rating_threshold
        n_skip = int((~keep).sum())
        if n_skip:
            log.info(
                "%s: skipped %d of %d rows with rating < %g",
                path,
                n_skip,
                len(users),
                rating_threshold,
            )
        if not keep.any():
            raise DataFormatError(path, 0, f"no row has rating >= {rating_threshold}")
        idx = np.flatnonzero(keep)
        u_vals, i_vals = u_vals[idx], i_vals[idx]
        r_arr = r_arr[keep]
        t_arr = t_arr[keep] if t_arr is not None else None
    u_codes, u_ids = _reindex(u_vals)
    i_codes, i_ids = _reindex(i_vals)
    return Ratings(u_codes, i_codes, r_arr.astype(np.float32), t_arr, u_ids, i_ids)


def read_movielens(path: str | PathLike, rating_threshold: float | None = None) -> Ratings:
    """Read MovieLens ``u.data`` (tab) or ``ratings.dat`` (``::``): user item rating timestamp."""
    out = read_table(path, rating_threshold=rating_threshold, has_header=False)
    if out.timestamps is None:
        raise DataFormatError(path, 1, "a MovieLens file has 4 columns: user item rating timestamp")
    return out


# ----------------------------------------------------------------------- splits
def _check_pairs(users, items, timestamps=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    users = np.asarray(users, dtype=np.int64).reshape(-1)
    items = np.asarray(items, dtype=np.int64).reshape(-1)
    if users.shape != items.shape:
        raise ValueError(f"users has {users.size} entries but items has {items.size}")
    if users.size == 0:
        raise ValueError("no interactions to split")
    if users.min() < 0 or items.min() < 0:
        raise ValueError("user and item ids must be non-negative (0-based)")
    if timestamps is not None:
        timestamps = np.asarray(timestamps).reshape(-1)
        if timestamps.shape != users.shape:
            raise ValueError(f"timestamps has {timestamps.size} entries for {users.size} pairs")
    return users, items, timestamps


def _dedupe(users, items, timestamps, n_items: int, what: str):
    """Unique (user, item) pairs; a repeated pair keeps its latest timestamp."""
    key = users * n_items + items
    order = (
        np.lexsort((timestamps, key)) if timestamps is not None else np.argsort(key, kind="stable")
    )
    k_sorted = key[order]
    last = np.ones(k_sorted.size, dtype=bool)
    last[:-1] = k_sorted[1:] != k_sorted[:-1]
    n_dup = int((~last).sum())
    if n_dup:
        log.info("%s: merged %d duplicate (user, item) pairs before splitting", what, n_dup)
    keep = order[last]
    keep.sort()
    return users[keep], items[keep], (timestamps[keep] if timestamps is not None else None)


def _shape(users, items, n_users, n_items) -> tuple[int, int]:
    nu = int(users.max()) + 1 if n_users is None else int(n_users)
    ni = int(items.max()) + 1 if n_items is None else int(n_items)
    if users.max() >= nu or items.max() >= ni:
        raise ValueError(f"ids exceed n_users={nu} / n_items={ni}")
    return nu, ni


def _assemble(users, items, which, shape, has_valid, name, user_ids, item_ids) -> Interactions:
    mats = [pairs_to_csr(users[which == s], items[which == s], shape, what=name) for s in range(3)]
    return Interactions(
        mats[0],
        mats[2],
        mats[1] if has_valid else None,
        name=name,
        user_ids=user_ids,
        item_ids=item_ids,
    )


def split_leave_one_out(
    users,
    items,
    timestamps=None,
    seed: int = 0,
    valid: bool = True,
    *,
    n_users: int | None = None,
    n_items: int | None = None,
    name: str = "",
    user_ids: np.ndarray | None = None,
    item_ids: np.ndarray | None = None,
) -> Interactions:
    """Leave-one-out (He et al. 2017, NCF): a user's latest item is test, the one before valid.

    Without timestamps the held-out items are chosen at random (seeded); ties in time
    are broken at random too.  A user needs 2 items to get a test item and 3 to also
    get a valid item; users with fewer keep all their items in train (counted in the log).
    Repeated pairs are merged first, so no pair is in two splits.
    """
    users, items, timestamps = _check_pairs(users, items, timestamps)
    shape = _shape(users, items, n_users, n_items)
    users, items, timestamps = _dedupe(users, items, timestamps, shape[1], name or "split")
    rng = np.random.default_rng(seed)
    tie = rng.random(users.size)
    keys = (tie, timestamps, users) if timestamps is not None else (tie, users)
    order = np.lexsort(keys)
    u_sorted = users[order]
    cnt = np.bincount(users, minlength=shape[0])
    end = np.cumsum(cnt)  # one past the last sorted position of each user
    from_end = end[u_sorted] - 1 - np.arange(users.size)
    c = cnt[u_sorted]
    which_sorted = np.zeros(users.size, dtype=np.int8)  # 0 train, 1 valid, 2 test
    which_sorted[(from_end == 0) & (c >= 2)] = 2
    if valid:
        which_sorted[(from_end == 1) & (c >= 3)] = 1
    which = np.empty_like(which_sorted)
    which[order] = which_sorted
    short = int(((cnt > 0) & (cnt < (3 if valid else 2))).sum())
    if short:
        log.info(
            "%s: %d users have too few items for a full leave-one-out split "
            "(their items stay in train)",
            name or "split",
            short,
        )
    return _assemble(users, items, which, shape, valid, name, user_ids, item_ids)


def split_ratio(
    users,
    items,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    *,
    n_users: int | None = None,
    n_items: int | None = None,
    name: str = "",
    user_ids: np.ndarray | None = None,
    item_ids: np.ndarray | None = None,
) -> Interactions:
    """Random per-user split into train / valid / test with the given ratios (seeded).

    ``ratios`` is ``(train, valid, test)`` or ``(train, test)`` and must sum to 1.  Each
    user's items are shuffled; ``round(n * test)`` go to test and ``round(n * valid)``
    to valid, keeping at least one item in train.  Repeated pairs are merged first.
    """
    ratios = tuple(float(r) for r in ratios)
    if (
        len(ratios) not in (2, 3)
        or any(r < 0 for r in ratios)
        or not math.isclose(sum(ratios), 1.0)
    ):
        raise ValueError(f"ratios must be 2 or 3 non-negative numbers summing to 1, got {ratios}")
    has_valid = len(ratios) == 3
    r_valid = ratios[1] if has_valid else 0.0
    r_test = ratios[-1]
    users, items, _ = _check_pairs(users, items)
    shape = _shape(users, items, n_users, n_items)
    users, items, _ = _dedupe(users, items, None, shape[1], name or "split")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(users.size), users))
    u_sorted = users[order]
    cnt = np.bincount(users, minlength=shape[0])
    start = np.cumsum(cnt) - cnt
    rank = np.arange(users.size) - start[u_sorted]
    n_test = np.floor(cnt * r_test + 0.5).astype(np.int64)
    n_valid = np.floor(cnt * r_valid + 0.5).astype(np.int64)
    over = np.maximum(n_test + n_valid - (cnt - 1), 0)  # keep one item in train
    cut = np.minimum(over, n_valid)
    n_valid -= cut
    n_test -= over - cut
    n_test = np.maximum(n_test, 0)
    t, v = n_test[u_sorted], n_valid[u_sorted]
    which_sorted = np.where(rank < t, 2, np.where(rank < t + v, 1, 0)).astype(np.int8)
    which = np.empty_like(which_sorted)
    which[order] = which_sorted
    return _assemble(users, items, which, shape, has_valid, name, user_ids, item_ids)
