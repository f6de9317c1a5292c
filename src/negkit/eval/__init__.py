"""Evaluation of embeddings, one module per family.

* :mod:`negkit.eval.words` — word similarity (Spearman) and analogy (3CosAdd / 3CosMul);
* :mod:`negkit.eval.rec` — full-ranking Recall / NDCG / Precision / HitRate / MRR;
* :mod:`negkit.eval.graph` — node classification (Micro/Macro-F1) and link prediction (ROC-AUC).

Names are re-exported lazily, so importing one family never imports the others.
"""

from __future__ import annotations

import importlib

_MODULES = ("words", "rec", "graph")


def __getattr__(name: str):
    for mod in _MODULES:
        try:
            module = importlib.import_module(f"negkit.eval.{mod}")
        except ModuleNotFoundError as e:
            if e.name == f"negkit.eval.{mod}":
                continue
            raise
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module 'negkit.eval' has no attribute {name!r}")
