"""Loaders and counters of the known data sets: ``loader(ds, folder)``, ``counter(ds, folder)``.

Each loader returns an :class:`~negkit.data.interactions.Interactions`, a
:class:`~negkit.data.graphs.Graph` or a file path; each counter a JSON-able dict of
counts.  Readers are imported lazily so that the registry stays cheap to import.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from negkit.data.errors import DataMissingError

if TYPE_CHECKING:
    from negkit.data.registry import Dataset

__all__: list[str] = []  # registry plumbing: nothing is re-exported by negkit.data


def find_file(folder: Path, name: str) -> Path | None:
    """``folder/name``, or its ``.gz`` / ``.xz`` / ``.bz2`` copy, if there is one."""
    for suffix in ("", ".gz", ".xz", ".bz2"):
        p = folder / f"{name}{suffix}"
        if p.is_file():
            return p
    return None


def load_lightgcn(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.interactions import load_lightgcn_split

    missing = ds.missing()
    if missing:
        raise DataMissingError(ds.name, folder, f"missing {', '.join(missing)}")
    return load_lightgcn_split(folder, name=ds.name)


def info_lightgcn(ds: Dataset, folder: Path) -> dict:
    from negkit.data.interactions import _id_list_size, read_lightgcn

    if find_file(folder, "test.txt") is None:
        raise DataMissingError(ds.name, folder, "no test.txt")
    if not ds.missing():
        return load_lightgcn(ds, folder).counts()
    mats = {s: read_lightgcn(p) for s in ("valid", "test") if (p := find_file(folder, f"{s}.txt"))}
    users = max([m.shape[0] for m in mats.values()] + [_id_list_size(folder, "user_list.txt")])
    items = max([m.shape[1] for m in mats.values()] + [_id_list_size(folder, "item_list.txt")])
    out: dict[str, Any] = {"users": users, "items": items}
    out.update({s: int(m.nnz) for s, m in mats.items()})
    out["missing"] = ds.missing()
    out["note"] = f"{', '.join(ds.missing())} absent: the split cannot be used for training"
    return out


def ratings_file(ds: Dataset, folder: Path) -> Path:
    p = find_file(folder, ds.files[0])
    if p is None:
        raise DataMissingError(ds.name, folder, f"no {ds.files[0]}")
    return p


def load_movielens(
    ds: Dataset,
    folder: Path,
    split: str = "loo",
    seed: int = 0,
    rating_threshold: float | None = None,
    valid: bool = True,
    ratios: tuple[float, ...] = (0.8, 0.1, 0.1),
):
    """MovieLens as implicit feedback: every rating (>= threshold) is a positive.

    split="loo": leave-one-out by timestamp (NCF); split="ratio": per-user random ``ratios``
    (``(train, valid, test)``; with ``valid=False`` the valid share stays in train);
    split="u1".."u5", "ua", "ub": GroupLens' own ml-100k base/test files (no valid split).
    """
    from negkit.data.interactions import read_movielens, split_leave_one_out, split_ratio

    r = read_movielens(ratings_file(ds, folder), rating_threshold=rating_threshold)
    if split in GROUPLENS_SPLITS:
        return grouplens_split(ds, folder, r, split, rating_threshold)
    common = dict(name=ds.name, user_ids=r.user_ids, item_ids=r.item_ids,
                  n_users=r.n_users, n_items=r.n_items)  # fmt: skip
    if split == "loo":
        return split_leave_one_out(r.users, r.items, r.timestamps, seed=seed, valid=valid, **common)
    if split == "ratio":
        ratios = tuple(ratios)
        if not valid and len(ratios) == 3:  # asked for no valid split: its share trains
            ratios = (ratios[0] + ratios[1], ratios[2])
        return split_ratio(r.users, r.items, ratios, seed=seed, **common)
    raise ValueError(f"split must be 'loo', 'ratio' or one of {GROUPLENS_SPLITS}, got {split!r}")


GROUPLENS_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def grouplens_split(ds: Dataset, folder: Path, r: Any, split: str, threshold: float | None):
    """``<split>.base`` / ``<split>.test`` in the id space of the whole ``u.data``."""
    from negkit.data.interactions import Interactions, pairs_to_csr, read_movielens

    mats = []
    for part in ("base", "test"):
        p = find_file(folder, f"{split}.{part}")
        if p is None:
            raise DataMissingError(ds.name, folder, f"no {split}.{part}")
        t = read_movielens(p, rating_threshold=threshold)
        users = np.searchsorted(r.user_ids, t.user_ids[t.users])
        items = np.searchsorted(r.item_ids, t.item_ids[t.items])
        mats.append(pairs_to_csr(users, items, (r.n_users, r.n_items), what=str(p)))
    return Interactions(mats[0], mats[1], None, name=f"{ds.name}/{split}",
                        user_ids=r.user_ids, item_ids=r.item_ids)  # fmt: skip


def info_movielens(ds: Dataset, folder: Path) -> dict:
    from negkit.data.interactions import read_movielens

    return read_movielens(ratings_file(ds, folder)).counts()


def required_file(ds: Dataset, folder: Path, i: int = 0) -> Path:
    p = find_file(folder, ds.files[i])
    if p is None:
        raise DataMissingError(ds.name, folder, f"no {ds.files[i]}")
    return p


def load_mat(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.graphs import read_mat

    g = read_mat(required_file(ds, folder))
    g.name = ds.name
    return g


def load_planetoid(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.graphs import read_planetoid_npz

    return read_planetoid_npz(required_file(ds, folder))


def load_karate(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.graphs import read_adjlist

    return read_adjlist(required_file(ds, folder), name=ds.name)


def load_gnutella(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.graphs import read_edgelist

    return read_edgelist(required_file(ds, folder), directed=True, name=ds.name)


def load_openne_wiki(ds: Dataset, folder: Path, **_: Any):
    from negkit.data.graphs import read_edgelist, read_labels

    g = read_edgelist(required_file(ds, folder), name=ds.name)
    return read_labels(required_file(ds, folder, 1), g)


def load_airports(ds: Dataset, folder: Path, **_: Any):
    """struc2vec's airports: ``a b`` edges (self-loops kept), then a header and ``node label``."""
    from negkit.data.graphs import read_edgelist, read_labels

    g = read_edgelist(required_file(ds, folder), name=ds.name)
    return read_labels(required_file(ds, folder, 1), g, header=True)


def info_graph(ds: Dataset, folder: Path) -> dict:
    g = ds.loader(ds, folder)
    out = g.counts()
    out["directed"] = g.directed
    out["weighted"] = g.weighted
    return out


def load_path(ds: Dataset, folder: Path, **_: Any) -> Path:
    return required_file(ds, folder)


def info_corpus(ds: Dataset, folder: Path) -> dict:
    path = required_file(ds, folder)
    try:
        from negkit.data.text import corpus_counts
    except ImportError:  # the text reader is optional here: count by streaming
        return count_tokens(path)
    return corpus_counts(path)


def count_tokens(path: Path) -> dict:
    from negkit.data.lines import open_binary

    tokens, vocab, lines = 0, set(), 0
    with open_binary(path) as f:
        for raw in f:
            words = raw.split()
            if words:
                lines += 1
                tokens += len(words)
                vocab.update(words)
    return {"tokens": tokens, "vocab": len(vocab), "lines": lines}


def info_word_eval(ds: Dataset, folder: Path) -> dict:
    from negkit.data import word_eval

    path = required_file(ds, folder)
    if ds.name == "google_analogy":
        sections = word_eval.read_analogies(path)
        return {"sections": len(sections), "questions": sum(len(q) for _, q in sections)}
    return {"pairs": len(word_eval.read_similarity(path))}


def planetoid_post(name: str) -> Callable[[Path], None]:
    def post(folder: Path) -> None:
        from negkit.data.planetoid import convert_planetoid

        convert_planetoid(folder / "raw", name, folder / f"{name}_planetoid.npz")

    return post


#: WNUT-17's split files (the test file is the annotated gold, see MANIFEST.md).
NER_SPLITS = {"train": "wnut17train.conll", "dev": "emerging.dev.conll",
              "test": "emerging.test.annotated"}  # fmt: skip


def load_ner(ds: Dataset, folder: Path, split: str | None = None, **_: Any):
    """One split as :class:`~negkit.data.conll.NERData`, or a dict of all three."""
    from negkit.data.conll import read_conll

    if split is None:
        return {s: load_ner(ds, folder, s) for s in NER_SPLITS}
    if split not in NER_SPLITS:
        raise ValueError(f"{ds.name} has splits {', '.join(NER_SPLITS)}; got {split!r}")
    p = find_file(folder, NER_SPLITS[split])  # a .gz / .xz / .bz2 copy too: read_conll reads it
    if p is None:
        raise DataMissingError(ds.name, folder, f"missing {NER_SPLITS[split]}")
    return read_conll(p)


def info_ner(ds: Dataset, folder: Path) -> dict:
    return {s: d.counts() for s, d in load_ner(ds, folder).items()}


def load_kg(ds: Dataset, folder: Path, unseen: str = "keep", **_: Any):
    from negkit.kg.triples import load_kg_folder

    missing = ds.missing()
    if missing:
        raise DataMissingError(ds.name, folder, f"missing {', '.join(missing)}")
    return load_kg_folder(folder, unseen=unseen, name=ds.name)


def info_kg(ds: Dataset, folder: Path) -> dict:
    return load_kg(ds, folder).counts()
