"""Node vectors in word2vec text format: a ``n dim`` header, then ``id v1 ... vdim`` a line."""

from __future__ import annotations

from collections import Counter
from os import PathLike
from pathlib import Path

import numpy as np

from negkit._atomic import atomic_write
from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines


def node_keys(n: int, node_ids: np.ndarray | None) -> list[str]:
    """The key of every row: the graph's original node id, else the row index."""
    if node_ids is None:
        return [str(i) for i in range(n)]
    if len(node_ids) != n:
        raise ValueError(f"{len(node_ids)} node ids for {n} rows")
    return [str(x) for x in node_ids]


def save_vectors(path: str | PathLike, vectors: np.ndarray, keys: list[str]) -> None:
    """Write word2vec text format (``%.6g`` values), atomically."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(keys):
        raise ValueError(f"{len(keys)} keys for vectors of shape {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError(f"not writing {path}: the vectors hold NaN or Inf (did training diverge?)")

    def write(f) -> None:
        f.write(f"{vectors.shape[0]} {vectors.shape[1]}\n")
        for key, row in zip(keys, vectors):
            if any(c.isspace() for c in key):
                raise ValueError(f"node id {key!r} contains whitespace")
            f.write(key + " " + " ".join(f"{x:.6g}" for x in row) + "\n")

    atomic_write(path, write, text=True)


def load_vectors(path: str | PathLike) -> tuple[list[str], np.ndarray]:
    """Read word2vec text format; errors are :class:`DataFormatError` s naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vector file {path} does not exist")
    keys: list[str] = []
    rows: list[np.ndarray] = []
    n = dim = -1
    for lineno, text in iter_lines(path):
        parts = text.split()
        if n < 0:
            if len(parts) != 2 or not all(h.isascii() and h.isdigit() for h in parts):
                raise DataFormatError(path, lineno, f"expected a 'count dim' header, got {text!r}")
            n, dim = int(parts[0]), int(parts[1])
            continue
        if len(keys) >= n:
            raise DataFormatError(path, lineno, f"more than the {n} vectors in the header")
        if len(parts) != dim + 1:
            raise DataFormatError(
                path, lineno, f"expected a key and {dim} values, got {len(parts)} fields"
            )
        try:
            row = np.array([float(x) for x in parts[1:]], dtype=np.float32)
        except ValueError:
            raise DataFormatError(path, lineno, "a value is not a number") from None
        if not np.isfinite(row).all():
            raise DataFormatError(path, lineno, "a value is NaN or infinite")
        keys.append(parts[0])
        rows.append(row)
    if len(keys) != n:
        raise DataFormatError(path, 0, f"the header announces {n} vectors but the file has "
                              f"{len(keys)}")  # fmt: skip
    out = np.stack(rows) if rows else np.zeros((0, dim), np.float32)
    return keys, out


def align(keys: list[str], vectors: np.ndarray, n: int, node_ids: np.ndarray | None) -> np.ndarray:
    """Rows of ``vectors`` in graph order.  The keys must be the graph's nodes, each once
    (as ``negkit graph embed`` writes them): a node without a vector, a key that is not a
    node (vectors of another graph, or a token such as ``</s>``) or a key given twice is a
    ValueError."""
    index = {k: i for i, k in enumerate(keys)}
    if len(index) < len(keys):
        twice = [k for k, c in Counter(keys).items() if c > 1]
        raise ValueError(f"{len(twice)} keys have more than one vector (first: {twice[0]!r})")
    want = node_keys(n, node_ids)
    missing = [k for k in want if k not in index]
    if missing:
        raise ValueError(f"{len(missing)} graph nodes have no vector (first: {missing[0]!r})")
    if len(keys) > len(want):
        nodes = set(want)
        extra = [k for k in keys if k not in nodes]
        raise ValueError(f"{len(extra)} vectors are keyed by no node of the graph (first: "
                         f"{extra[0]!r}): were they made from this graph?")  # fmt: skip
    return vectors[[index[k] for k in want]]
