"""Planetoid pickles -> npz, with a restricted unpickler (pickles written here, protocol 2)."""

from __future__ import annotations

import hashlib
import os
import pickle
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.data import loaders, registry
from negkit.data.errors import DataFormatError
from negkit.data.graphs import read_planetoid_npz
from negkit.data.planetoid import convert_planetoid, load_planetoid_pickle
from negkit.data.registry import Dataset, Remote

PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")


def write_raw(raw, name="toy", protocol=2):
    """5 nodes: train 0..1, allx/ally 0..2, test_index = [4, 3]; a path 0-1-2-3-4."""
    raw.mkdir(parents=True, exist_ok=True)
    eye = np.eye(3, dtype=np.int64)
    objs = {
        "x": sp.csr_matrix(np.array([[1.0, 0], [0, 2.0]])),
        "y": eye[[0, 1]],
        "allx": sp.csr_matrix(np.array([[1.0, 0], [0, 2.0], [3.0, 0]])),
        "ally": eye[[0, 1, 2]],
        "tx": sp.csr_matrix(np.array([[0, 5.0], [4.0, 0]])),
        "ty": eye[[2, 0]],
        "graph": defaultdict(list, {0: [1], 1: [0, 2], 2: [1, 3], 3: [2, 4], 4: [3, 3]}),
    }
    for part, obj in objs.items():
        with open(raw / f"ind.{name}.{part}", "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
    (raw / f"ind.{name}.test.index").write_text("4\n3\n")
    return raw


@pytest.mark.parametrize("protocol", [0, 2])  # 0: copy_reg._reconstructor, as old pickles
def test_convert_and_read(tmp_path, protocol):
    raw = write_raw(tmp_path / "raw", protocol=protocol)
    out = convert_planetoid(raw, "toy", tmp_path / "toy_planetoid.npz")
    g = read_planetoid_npz(out)
    assert g.counts() == {"nodes": 5, "edges": 4, "labels": 3}
    np.testing.assert_array_equal(g.labels.toarray().argmax(1), [0, 1, 2, 0, 2])
    np.testing.assert_array_equal(g.features.toarray()[3:], [[4, 0], [0, 5]])
    np.testing.assert_array_equal(g.split["test"], [4, 3])
    with np.load(out, allow_pickle=False) as z:  # duplicates of the dict are kept, in order
        np.testing.assert_array_equal(z["graph_src"], [0, 1, 1, 2, 2, 3, 3, 4, 4])
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


def test_unpickler_refuses_other_classes(tmp_path):
    p = tmp_path / "evil"
    with open(p, "wb") as f:
        pickle.dump(os.getcwd, f, protocol=2)  # a function: must never be resolved
    with pytest.raises(DataFormatError, match="refusing to unpickle"):
        load_planetoid_pickle(p)
    (tmp_path / "junk").write_bytes(b"\x80\x02junk")
    with pytest.raises(DataFormatError, match="not a readable Planetoid pickle"):
        load_planetoid_pickle(tmp_path / "junk")


def test_bad_test_index(tmp_path):
    raw = write_raw(tmp_path / "raw")
    (raw / "ind.toy.test.index").write_text("4\nthree\n")
    with pytest.raises(DataFormatError, match=r"ind\.toy\.test\.index:2: non-numeric node id"):
        convert_planetoid(raw, "toy", tmp_path / "o.npz")
    (raw / "ind.toy.test.index").write_text("4\n")
    with pytest.raises(DataFormatError, match="1 test ids for 2 rows of ty"):
        convert_planetoid(raw, "toy", tmp_path / "o.npz")


def test_registry_fetch_converts(monkeypatch, tmp_path):
    src = write_raw(tmp_path / "src")
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path / "home"))
    remotes = tuple(
        Remote((src / f"ind.toy.{m}").as_uri(), f"raw/ind.toy.{m}",
               sha256=hashlib.sha256((src / f"ind.toy.{m}").read_bytes()).hexdigest())
        for m in PARTS
    )  # fmt: skip
    ds = Dataset("toy", "graph", "graphs/toy", ("toy_planetoid.npz",), "toy", "here", "none",
                 remotes, post=loaders.planetoid_post("toy"), loader=loaders.load_planetoid,
                 counter=loaders.info_graph)  # fmt: skip
    monkeypatch.setitem(registry.DATASETS, "toy", ds)
    registry.fetch("toy")
    assert registry.info("toy") == {"nodes": 5, "edges": 4, "labels": 3, "directed": False,
                                    "weighted": False}  # fmt: skip
