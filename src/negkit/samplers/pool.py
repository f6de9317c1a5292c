"""Candidate pools for samplers that synthesise negatives in the model (MixGCF).

MixGCF (Huang, Dong, Tang, Ding, Kharlamov & Tang, KDD 2021, "MixGCF: An Improved Training
Method for Graph Neural Network-based Recommender Systems") draws ``M`` candidates per user,
mixes the positive into each candidate's layer embeddings ("positive mixing"), picks per
layer the hardest mixed candidate ("hop mixing") and pools the layers.  Only the first step
is a sampler's job; the rest needs the model's layer embeddings and lives in the model
(``negkit.rec``).  Any sampler provides it::

    pool, q = candidate_pool("uniform", users, M, n_items=n)        # (len(users), M)

and the model then mixes ``item_layers[pool]`` in tensor code.
"""

from __future__ import annotations

from typing import Any

from negkit.samplers.base import Sampler
from negkit.samplers.registry import get


def candidate_pool(
    sampler: Any, anchors: Any, m: int, *, anchor_vectors: Any = None, pos: Any = None, **fit: Any
) -> tuple[Any, Any]:
    """``M`` candidates per anchor and their ``q`` (None where the sampler has no closed form).

    sampler : a fitted :class:`Sampler`, or a name; a name (or an unfitted sampler) is fitted
        on ``fit`` (e.g. ``n_items=``, ``counts=``, ``positives=``).
    Numpy or torch in, the same out.
    """
    s: Sampler = get(sampler)
    if not hasattr(s, "n_items_") or fit:
        s.fit(**fit)
    try:
        return s.sample(anchors, m, anchor_vectors=anchor_vectors, pos=pos, return_proba=True)
    except NotImplementedError:
        return s.sample(anchors, m, anchor_vectors=anchor_vectors, pos=pos), None
