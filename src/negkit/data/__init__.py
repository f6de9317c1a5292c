"""Data sets and readers: interactions, graphs, text corpora and word-evaluation files.

* :mod:`negkit.data.interactions` — implicit feedback (LightGCN splits, MovieLens, CSV) and splits;
* :mod:`negkit.data.logs` / :mod:`negkit.data.log_split` — users' own logs (CSV, TSV, Parquet,
  DataFrame) with any ids: ``read_log``, ``load_log(source, split="random:0.2")``;
* :mod:`negkit.data.graphs` — edge / adjacency lists, MATLAB ``.mat``, Planetoid ``.npz``;
* :mod:`negkit.data.text` / :mod:`negkit.data.word_eval` — corpora and word-evaluation sets;
* :mod:`negkit.data.conll` — CoNLL-style NER files (WNUT-17);
* :mod:`negkit.data.registry` — the known data sets: ``load``, ``info``, ``fetch``;
* :mod:`negkit.data.downloads` — verified atomic downloads and unpacking;
* :mod:`negkit.data.paths` — ``data_home()`` (``$NEGKIT_DATA`` or a user cache folder).

Names are re-exported lazily, so ``import negkit.data`` reads no file and imports no reader.
"""

from __future__ import annotations

import importlib

_MODULES = (
    "registry", "paths", "errors", "downloads", "interactions", "graphs", "planetoid", "lines",
    "text", "word_eval", "logs", "log_split", "conll",
)  # fmt: skip


def __getattr__(name: str):
    for mod in _MODULES:
        try:
            module = importlib.import_module(f"negkit.data.{mod}")
        except ModuleNotFoundError as e:
            if e.name == f"negkit.data.{mod}":
                continue
            raise
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module 'negkit.data' has no attribute {name!r}")
