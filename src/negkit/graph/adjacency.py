"""The compact adjacency that walks and LINE read: sorted CSR arrays.

Accepts a :class:`negkit.data.graphs.Graph` (its ``adj``), any scipy sparse
matrix or a dense array.  Rows are sorted so that membership tests
(node2vec's ``x in N(t)``) are binary searches; weights become per-row
cumulative sums (float64) only for weighted graphs, so an unweighted graph
with E edges costs 12 E bytes (int32 indices + int64 row pointers per node).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adjacency:
    """Sorted CSR of a graph: ``indices[indptr[v]:indptr[v+1]]`` are v's out-neighbours."""

    indptr: np.ndarray  # int64, n + 1
    indices: np.ndarray  # int32, sorted within each row
    weights: np.ndarray  # float32 edge weights (empty when unweighted)
    cumw: np.ndarray  # float64 per-row cumulative weights (empty when unweighted)
    directed: bool

    @property
    def n_nodes(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def n_entries(self) -> int:
        return int(self.indices.shape[0])

    @property
    def weighted(self) -> bool:
        return self.weights.shape[0] > 0

    def degrees(self) -> np.ndarray:
        """Weighted out-degree of every node (float64)."""
        if self.weighted:
            return np.add.reduceat(
                np.append(self.weights.astype(np.float64), 0.0), self.indptr[:-1]
            ) * (np.diff(self.indptr) > 0)
        return np.diff(self.indptr).astype(np.float64)


def as_adjacency(
    graph: Any, *, weighted: bool | None = None, directed: bool | None = None
) -> Adjacency:
    """Build the sorted CSR :class:`Adjacency` of ``graph``.

    graph : a ``negkit.data.graphs.Graph``, a scipy sparse matrix or a square array.
    weighted : keep the weights (default: the graph's own flag, else whether any weight is not 1).
    directed : recorded (default: the graph's flag, else whether adj != adj.T).
    """
    adj = getattr(graph, "adj", graph)
    flag_from_graph = weighted is None and getattr(graph, "weighted", None) is not None
    if weighted is None:
        weighted = getattr(graph, "weighted", None)
    if directed is None:
        directed = getattr(graph, "directed", None)
    if not sp.issparse(adj):
        adj = np.asarray(adj)
        if adj.ndim != 2:
            raise ValueError(f"an adjacency matrix must be 2-D, got shape {adj.shape}")
    m = sp.csr_matrix(adj, dtype=np.float64)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"an adjacency matrix must be square, got shape {m.shape}")
    if m.shape[0] == 0:
        raise ValueError("the graph has no nodes")
    m.sum_duplicates()
    if m.nnz and (not np.all(np.isfinite(m.data)) or m.data.min() < 0):
        raise ValueError("edge weights must be finite and non-negative")
    m.eliminate_zeros()
    m.sort_indices()
    if weighted is None:
        weighted = bool(m.nnz and np.any(m.data != 1.0))
    elif not weighted and flag_from_graph and m.nnz and np.any(m.data != 1.0):
        log.warning(
            "the graph is flagged unweighted (weighted=False, Graph's default) but its weights "
            "are not all 1: they are read as 1; set weighted=True to walk by them"
        )
    if directed is None:
        directed = bool((m != m.T).nnz)
    if m.shape[0] >= 2**31:
        raise ValueError(f"{m.shape[0]} nodes: node ids must fit in int32")
    indptr = m.indptr.astype(np.int64)
    indices = m.indices.astype(np.int32)
    if weighted:
        weights = m.data.astype(np.float32)
        cumw = np.cumsum(m.data)
        # per-row cumulative sums: subtract the total before each row
        before = np.concatenate(([0.0], cumw))[indptr[:-1]]
        cumw = cumw - np.repeat(before, np.diff(indptr))
    else:
        weights = np.zeros(0, dtype=np.float32)
        cumw = np.zeros(0, dtype=np.float64)
    n_isolated = int(np.sum(np.diff(indptr) == 0))
    if n_isolated:
        log.info("%d of %d nodes have no out-edge: their walks stop there", n_isolated, m.shape[0])
    return Adjacency(indptr, indices, weights, cumw, bool(directed))
