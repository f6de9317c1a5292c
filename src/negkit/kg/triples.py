"""Knowledge-graph triples ``(head, relation, tail)``: tab-separated files to integer arrays.

Each line of a split file is ``head<TAB>relation<TAB>tail`` (CRLF endings and ``.gz`` files are
read as well, see :mod:`negkit.data.lines`).  Entity and relation ids follow the order of first
appearance in train, then valid, then test, so the same files always give the same ids.

Entities of valid or test that never occur in train have no trained embedding.  The standard
protocol (Bordes et al. 2013; the RotatE code of Sun et al. 2019, whose ``entities.dict`` lists
every entity) keeps those triples and ranks them like the others: ``unseen="keep"``, the
default, counts them and logs the counts.  ``unseen="drop"`` removes them (as some toolkits do),
``unseen="error"`` refuses them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines

log = logging.getLogger(__name__)

__all__ = ["KGTriples", "read_triples", "load_kg_folder", "SPLITS"]

SPLITS = ("train", "valid", "test")
UNSEEN = ("keep", "drop", "error")


@dataclass
class KGTriples:
    """The splits of a knowledge graph as ``(n, 3)`` int64 arrays of ``(head, relation, tail)``.

    entities / relations : names, indexed by id.
    unseen : per split (valid, test), ``{"entities": e, "triples": t}``: entities missing from
        train and the triples that hold one (counted before any ``drop``).
    dropped : the triples that ``unseen="drop"`` removed from valid and test.  They are not
        evaluated, but they are still true facts: :meth:`all_true` holds them, so filtered
        ranking removes them from the candidates of the other queries like any known triple.
    """

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    entities: list[str]
    relations: list[str]
    name: str = ""
    unseen: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: np.ndarray = field(default_factory=lambda: np.empty((0, 3), dtype=np.int64))

    @property
    def n_entities(self) -> int:
        return len(self.entities)

    @property
    def n_relations(self) -> int:
        return len(self.relations)

    def all_true(self) -> np.ndarray:
        """Every known triple (train, valid and test, and the valid/test triples that
        ``unseen="drop"`` removed): what filtered ranking removes."""
        return np.concatenate([self.train, self.valid, self.test, self.dropped])

    def counts(self) -> dict:
        out = {"entities": self.n_entities, "relations": self.n_relations}
        out.update({s: int(getattr(self, s).shape[0]) for s in SPLITS})
        out["unseen"] = self.unseen
        return out


def _parse(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for lineno, text in iter_lines(path):
        parts = text.split("\t")
        if len(parts) != 3:
            raise DataFormatError(
                path,
                lineno,
                f"expected 3 tab-separated fields (head, relation, tail), got {len(parts)}: "
                f"{text[:80]!r}",
            )
        if any(not p.strip() for p in parts):
            raise DataFormatError(path, lineno, f"empty field in {text[:80]!r}")
        rows.append((parts[0].strip(), parts[1].strip(), parts[2].strip()))
    return rows


def _encode(ents: dict[str, int], rels: dict[str, int], rows: list) -> np.ndarray:
    """Ids of the rows' names, new names numbered in order of first appearance (h, r, t)."""
    out = np.empty((len(rows), 3), dtype=np.int64)
    for i, (h, r, t) in enumerate(rows):
        out[i, 0] = ents.setdefault(h, len(ents))
        out[i, 1] = rels.setdefault(r, len(rels))
        out[i, 2] = ents.setdefault(t, len(ents))
    return out


def read_triples(
    train: str | PathLike,
    valid: str | PathLike,
    test: str | PathLike,
    *,
    unseen: str = "keep",
    name: str = "",
) -> KGTriples:
    """Read three split files into :class:`KGTriples` (see the module docstring for ``unseen``).

    Raises :class:`~negkit.data.errors.DataFormatError` naming the file and line of a malformed
    line, and ``ValueError`` for a relation absent from train (no model can score it) or, with
    ``unseen="error"``, for entities absent from train.
    """
    if unseen not in UNSEEN:
        raise ValueError(f"unseen must be one of {UNSEEN}, got {unseen!r}")
    paths = dict(zip(SPLITS, (Path(train), Path(valid), Path(test))))
    rows = {s: _parse(p) for s, p in paths.items()}
    ents: dict[str, int] = {}
    rels: dict[str, int] = {}
    arrays = {}
    for s in SPLITS:
        arrays[s] = _encode(ents, rels, rows[s])
        if s == "train":
            n_train_ents, n_train_rels = len(ents), len(rels)
    report: dict[str, dict[str, int]] = {}
    dropped = [np.empty((0, 3), dtype=np.int64)]
    for s in ("valid", "test"):
        a = arrays[s]
        bad_rel = a[:, 1] >= n_train_rels
        if bad_rel.any():
            i = int(np.flatnonzero(bad_rel)[0])
            raise ValueError(
                f"{paths[s]}: {int(bad_rel.sum())} triple(s) use relations absent from train "
                f"(first: {rows[s][i][1]!r}); no model can score them"
            )
        out_h = a[:, 0] >= n_train_ents
        out_t = a[:, 2] >= n_train_ents
        bad = out_h | out_t
        n_ents = np.unique(np.concatenate([a[out_h, 0], a[out_t, 2]])).size
        report[s] = {"entities": int(n_ents), "triples": int(bad.sum())}
        if bad.any():
            msg = (
                f"{paths[s]}: {n_ents} entities absent from train, in {int(bad.sum())} "
                f"of {len(a)} triples"
            )
            if unseen == "error":
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"{msg} (first: line {i + 1}, {rows[s][i]}); pass unseen='keep' (the "
                    "standard protocol) or unseen='drop' (--unseen keep / drop)"
                )
            if unseen == "drop":
                arrays[s] = a[~bad]
                dropped.append(a[bad])
                log.warning("%s: dropped", msg)
            else:
                log.info("%s: kept (standard protocol)", msg)
    inv_e = list(ents)
    inv_r = list(rels)
    return KGTriples(arrays["train"], arrays["valid"], arrays["test"], inv_e, inv_r, name,
                     report, np.concatenate(dropped))  # fmt: skip


def load_kg_folder(folder: str | PathLike, *, unseen: str = "keep", name: str = "") -> KGTriples:
    """Read ``train.txt``, ``valid.txt`` and ``test.txt`` (or ``.gz`` copies) in ``folder``."""
    from negkit.data.errors import DataMissingError
    from negkit.data.loaders import find_file

    folder = Path(folder)
    paths = []
    for s in SPLITS:
        p = find_file(folder, f"{s}.txt")
        if p is None:
            raise DataMissingError(name or str(folder), folder, f"no {s}.txt")
        paths.append(p)
    return read_triples(*paths, unseen=unseen, name=name or folder.name)
