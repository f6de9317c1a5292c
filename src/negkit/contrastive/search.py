"""Top-k inner-product search of a corpus, for :mod:`negkit.contrastive.mining`.

:class:`CorpusSearch` is built once per corpus and then queried chunk by chunk:

* ``backend="exact"``: torch matrix products on the corpus' device (CPU or GPU), the corpus
  taken ``corpus_chunk`` rows at a time with a running top-k, so at most
  ``queries × (corpus_chunk + k)`` scores are held whatever the corpus size;
* ``backend="faiss"``: a flat (exact) inner-product faiss index on the CPU, built once from a
  float32 copy of the corpus (``pip install 'negkit[faiss]'``).

Both return NumPy ``(scores, ids)``, ``(Q, k)``, best first, float32 scores and int64 ids,
with ids ``-1`` and scores ``-inf`` past the corpus' end.  Items of equal score (duplicates,
or scores within float rounding of each other) come in no fixed order, and the two
backends may order them differently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["CorpusSearch", "chunked_topk"]

BACKENDS = ("exact", "faiss")


def as_tensor(x: Any, device: Any = None) -> torch.Tensor:
    """A 2-D floating tensor of ``x`` (NumPy or torch), on ``device`` when one is given."""
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    if t.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (rows, dim), got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"embeddings must be floating point, got {t.dtype}")
    return t.to(device) if device is not None else t


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array, copied to the host first when it is a (CUDA) tensor."""
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _float32_host(t: torch.Tensor) -> np.ndarray:
    # float16 / bfloat16 / float64 and CUDA tensors all become C-contiguous float32 on the host
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


def positive_int(v: Any, what: str) -> int:
    """``v`` as an int; ``ValueError`` unless it is an integer >= 1 (a bool is not)."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{what} must be a positive integer, got {v!r}")
    return int(v)


def _import_faiss():
    try:
        import faiss
    except ImportError as e:
        raise ImportError(
            "backend='faiss' needs faiss: pip install 'negkit[faiss]' (or faiss-gpu); "
            "backend='exact' needs nothing more"
        ) from e
    return faiss


class CorpusSearch:
    """Top-k inner-product search over one corpus (``(N, d)``, NumPy or torch).

    ``device`` moves the corpus for the exact backend (default: where it is); the faiss
    backend always searches on the CPU.  :meth:`topk` takes a chunk of queries."""

    def __init__(
        self,
        corpus: Any,
        *,
        backend: str = "exact",
        corpus_chunk: int = 32768,
        device: Any = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be 'exact' or 'faiss', got {backend!r}")
        self.backend = backend
        self.corpus_chunk = positive_int(corpus_chunk, "corpus_chunk")
        faiss = _import_faiss() if backend == "faiss" else None
        c = as_tensor(corpus, device if faiss is None else None)
        self.n, self.dim = int(c.shape[0]), int(c.shape[1])
        if faiss is None:
            self.corpus = c
            self.index = None
        else:
            self.corpus = None
            self.index = faiss.IndexFlatIP(self.dim)
            if self.n:
                self.index.add(_float32_host(c))

    @property
    def device(self) -> torch.device:
        """Where the queries are searched (the CPU for faiss)."""
        return self.corpus.device if self.corpus is not None else torch.device("cpu")

    def topk(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of the ``k`` best corpus items for each query row."""
        k = positive_int(k, "k")
        q = as_tensor(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have {q.shape[1]} dims but the corpus has {self.dim}")
        nq = int(q.shape[0])
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        ids = np.full((nq, k), -1, dtype=np.int64)
        kk = min(k, self.n)
        if nq == 0 or kk == 0:
            return scores, ids
        if self.index is not None:
            s, i = self.index.search(_float32_host(q), kk)
            ok = i >= 0
            scores[:, :kk] = np.where(ok, s, -np.inf)
            ids[:, :kk] = np.where(ok, i, -1)
            return scores, ids
        c = self.corpus
        with torch.no_grad():
            qc = q.to(device=c.device, dtype=c.dtype)
            best_s = torch.full((nq, 0), float("-inf"), device=c.device, dtype=c.dtype)
            best_i = torch.zeros((nq, 0), dtype=torch.long, device=c.device)
            for lo in range(0, self.n, self.corpus_chunk):
                s = qc @ c[lo : lo + self.corpus_chunk].T
                i = torch.arange(lo, lo + s.shape[1], device=c.device).expand(nq, -1)
                s = torch.cat([best_s, s], dim=1)
                i = torch.cat([best_i, i], dim=1)
                top = torch.topk(s, min(kk, s.shape[1]), dim=1)
                best_s, best_i = top.values, torch.gather(i, 1, top.indices)
                del s, i
            scores[:, :kk] = best_s.float().cpu().numpy()
            ids[:, :kk] = best_i.cpu().numpy()
        return scores, ids


def chunked_topk(
    queries: Any,
    corpus: Any,
    k: int,
    *,
    query_chunk: int = 512,
    corpus_chunk: int = 32768,
    device: Any = None,
    backend: str = "exact",
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` corpus items by inner product for every query: ``(scores, ids)``, each
    ``(Q, k)``, best first (ids ``-1`` and scores ``-inf`` past the corpus' end).

    Exact search in chunks: at most ``query_chunk × (corpus_chunk + k)`` scores are held at a
    time, so memory does not grow with the corpus beyond the corpus itself.  The search runs
    on ``device``, by default the queries' device (the corpus is moved there);
    ``backend="faiss"`` searches a flat faiss index on the CPU instead."""
    k = positive_int(k, "k")
    query_chunk = positive_int(query_chunk, "query_chunk")
    q = as_tensor(queries, device)
    search = CorpusSearch(corpus, backend=backend, corpus_chunk=corpus_chunk, device=q.device)
    if q.shape[1] != search.dim:
        raise ValueError(f"queries have {q.shape[1]} dims but the corpus has {search.dim}")
    nq = int(q.shape[0])
    scores = np.full((nq, k), -np.inf, dtype=np.float32)
    ids = np.full((nq, k), -1, dtype=np.int64)
    for lo in range(0, nq, query_chunk):
        s, i = search.topk(q[lo : lo + query_chunk], k)
        scores[lo : lo + s.shape[0]] = s
        ids[lo : lo + s.shape[0]] = i
    return scores, ids
