"""Convert the Planetoid pickles (``ind.<name>.*``, kimiyoung/planetoid, tkipf/gcn) to ``.npz``.

The originals are Python-2 pickles of scipy CSR matrices, numpy arrays and a
``defaultdict`` adjacency.  They are read with a restricted unpickler that can only
build those types (no other class, no function), then written with the layout that
:func:`negkit.data.graphs.read_planetoid_npz` reads (``<m>_data/_indices/_indptr/_shape``
for ``x``, ``tx``, ``allx``; int8 ``y``, ``ty``, ``ally``; int32 ``graph_src``,
``graph_dst`` in dict order; ``test_index`` in file order).
"""

from __future__ import annotations

import importlib
import os
import pickle
import tempfile
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines

__all__ = ["convert_planetoid", "load_planetoid_pickle"]

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "defaultdict"),
    ("__builtin__", "list"),
    ("builtins", "list"),
    ("__builtin__", "object"),
    ("builtins", "object"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("_codecs", "encode"),  # how Python 3 writes bytes in protocol-2 pickles
}
_CSR_MODULES = ("scipy.sparse.csr", "scipy.sparse._csr")


def _multiarray() -> Any:
    try:
        return importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy < 2
        return importlib.import_module("numpy.core.multiarray")


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module in _CSR_MODULES and name == "csr_matrix":
            return sp.csr_matrix
        if (module, name) not in _ALLOWED:
            raise DataFormatError(self._path, 0, f"refusing to unpickle {module}.{name}")
        if "multiarray" in module:
            return getattr(_multiarray(), name)
        return super().find_class(module, name)


def load_planetoid_pickle(path: str | PathLike) -> Any:
    """Unpickle one Planetoid file, allowing only numpy arrays, CSR matrices, lists and dicts."""
    p = Path(path)
    with open(p, "rb") as f:
        try:
            obj = _RestrictedUnpickler(f, p).load()
        except DataFormatError:
            raise
        except Exception as e:
            raise DataFormatError(p, 0, f"not a readable Planetoid pickle ({e})") from None
    if isinstance(obj, sp.csr_matrix):  # rebuild: old pickles carry old private attributes
        d = obj.__dict__
        shape = d.get("_shape") or d.get("shape")
        obj = sp.csr_matrix((d["data"], d["indices"], d["indptr"]), shape=tuple(shape))
    return obj


def convert_planetoid(raw: str | PathLike, name: str, out: str | PathLike) -> Path:
    """Read ``raw/ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}`` and write ``out`` (.npz)."""
    raw, out = Path(raw), Path(out)
    arrays: dict[str, np.ndarray] = {}
    for m in ("x", "tx", "allx"):
        mat = sp.csr_matrix(load_planetoid_pickle(raw / f"ind.{name}.{m}"), dtype=np.float32)
        arrays.update({f"{m}_data": mat.data, f"{m}_indices": mat.indices.astype(np.int32),
                       f"{m}_indptr": mat.indptr.astype(np.int64),
                       f"{m}_shape": np.array(mat.shape, dtype=np.int64)})  # fmt: skip
    for m in ("y", "ty", "ally"):
        arrays[m] = np.asarray(load_planetoid_pickle(raw / f"ind.{name}.{m}")).astype(np.int8)
    graph = load_planetoid_pickle(raw / f"ind.{name}.graph")
    if not isinstance(graph, dict):
        raise DataFormatError(raw / f"ind.{name}.graph", 0, "expected a dict of adjacency lists")
    src = [int(k) for k, nbrs in graph.items() for _ in nbrs]
    dst = [int(v) for nbrs in graph.values() for v in nbrs]
    arrays["graph_src"] = np.array(src, dtype=np.int32)
    arrays["graph_dst"] = np.array(dst, dtype=np.int32)
    index_file = raw / f"ind.{name}.test.index"
    test_index = []
    for lineno, text in iter_lines(index_file):
        try:
            test_index.append(int(text))
        except ValueError:
            raise DataFormatError(index_file, lineno, f"non-numeric node id {text!r}") from None
    arrays["test_index"] = np.array(test_index, dtype=np.int32)
    if arrays["ty"].shape[0] != len(test_index):
        raise DataFormatError(index_file, 0, f"{len(test_index)} test ids for "
                              f"{arrays['ty'].shape[0]} rows of ty")  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
