"""struc2vec's multilayer graph of structural distances (Ribeiro, Saverese & Figueiredo, KDD 2017).

* ``R_k(u)``: the nodes at distance exactly ``k`` from ``u``; ``s(R_k(u))`` their ordered degree
  sequence.  **OPT1** (Sec. 3.5): the sequence is *compressed* into ``(degree, count)`` tuples.
* ``f_k(u, v) = f_{k-1}(u, v) + g(s(R_k(u)), s(R_k(v)))`` (Eq. 1), ``f_{-1} = 0``; defined only
  while both rings are non-empty.  ``g`` is dynamic time warping (DTW) with the element cost
  ``d(a, b) = max(a, b) / min(a, b) - 1``, and on compressed tuples
  ``d((a, n_a), (b, n_b)) = (max(a, b) / min(a, b) - 1) * max(n_a, n_b)`` (OPT1).  With
  ``eps = 0.5`` (the reference code's default, leoribeiro/struc2vec ``cost``) both degrees get
  ``+0.5`` first, so that degree 0 is allowed; ``eps = 0`` is the paper's formula.
* **OPT2**: node ``u`` is compared only with the ``ceil(2 log2 n)`` nodes closest to it in the
  degree-sorted order (the reference code's ``get_vertices``), so pairs are ``O(n log n)``.
* **OPT3**: layers stop at ``max_layer`` (``None``: until every ring is empty, the diameter).
* Layer ``k`` of the multilayer graph links candidate pairs with weight
  ``w_k(u, v) = exp(-f_k(u, v))`` (Eq. 2).  Between layers, ``w(u_k, u_{k+1}) = log(Gamma_k(u)
  + e)`` and ``w(u_k, u_{k-1}) = 1`` (Eq. 3), where ``Gamma_k(u)`` counts u's layer-k edges
  heavier than the layer's mean edge weight, as the paper defines it.  The reference code
  counts on each node's *normalised* weights instead (``w / sum_v w``, against the layer's
  mean of those), which gives other counts wherever nodes have different numbers of pairs.

DTW here is exact (the reference code calls ``fastdtw`` with radius 1, an approximation).
OPT1 is always on, and it is a change of distance, not only of storage: DTW on the tuples is
not DTW on the sequences they compress (``[1, 1, 1, 1]`` against ``[1, 2]``: 2/3 uncompressed,
``(1, 4)`` against ``(1, 1), (2, 1)``: 8/3, as the cost is scaled by the larger count).
Self-loops are dropped: a node's degree counts its distinct other neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from negkit._jit import kernel


@kernel(inline="always")
def _cost(a, na, b, nb, eps):
    hi = max(a, b) + eps
    lo = min(a, b) + eps
    return (hi / lo - 1.0) * max(na, nb)


@kernel
def dtw(a, na, b, nb, eps):
    """Exact DTW between compressed sequences ``(a, na)`` and ``(b, nb)`` (counts 1: plain DTW)."""
    m = a.shape[0]
    k = b.shape[0]
    if m == 0 or k == 0:
        return np.inf
    prev = np.empty(k, np.float64)
    cur = np.empty(k, np.float64)
    for i in range(m):
        for j in range(k):
            c = _cost(float(a[i]), float(na[i]), float(b[j]), float(nb[j]), eps)
            if i == 0 and j == 0:
                best = 0.0
            elif i == 0:
                best = cur[j - 1]
            elif j == 0:
                best = prev[j]
            else:
                best = min(prev[j], cur[j - 1], prev[j - 1])
            cur[j] = c + best
        prev, cur = cur, prev
    return prev[k - 1]


@kernel
def _rings(indptr, indices, deg, n_layers, ptr, degs, cnts, fill):
    """BFS rings of every node, compressed; pass 1 (``fill=False``) writes lengths into ptr."""
    n = indptr.shape[0] - 1
    dist = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    for u in range(n):
        queue[0] = u
        dist[u] = 0
        lo = 0
        hi = 1
        for k in range(n_layers):
            slot = u * n_layers + k
            ring = np.sort(deg[queue[lo:hi]])
            nu = 0
            pos = ptr[slot] if fill else 0
            for t in range(ring.shape[0]):
                if t == 0 or ring[t] != ring[t - 1]:
                    if fill:
                        degs[pos + nu] = ring[t]
                        cnts[pos + nu] = 0
                    nu += 1
                if fill:
                    cnts[pos + nu - 1] += 1
            if not fill:
                ptr[slot + 1] = nu
            tail = hi
            for q in range(lo, hi):
                v = queue[q]
                for e in range(indptr[v], indptr[v + 1]):
                    w = indices[e]
                    if dist[w] < 0:
                        dist[w] = k + 1
                        queue[tail] = w
                        tail += 1
            lo = hi
            hi = tail
        for q in range(hi):
            dist[queue[q]] = -1


@kernel
def _pair_distances(pu, pv, ptr, degs, cnts, n_layers, eps, out):
    """``out[p, k] = f_k(pu[p], pv[p])`` (Eq. 1), ``inf`` once either ring is empty."""
    for p in range(pu.shape[0]):
        u = pu[p]
        v = pv[p]
        acc = 0.0
        for k in range(n_layers):
            a0 = ptr[u * n_layers + k]
            a1 = ptr[u * n_layers + k + 1]
            b0 = ptr[v * n_layers + k]
            b1 = ptr[v * n_layers + k + 1]
            if a1 == a0 or b1 == b0 or not np.isfinite(acc):
                acc = np.inf
            else:
                acc += dtw(degs[a0:a1], cnts[a0:a1], degs[b0:b1], cnts[b0:b1], eps)
            out[p, k] = acc


@dataclass
class RingSequences:
    """Compressed degree sequences: ring ``k`` of node ``u`` is ``slot = u * n_layers + k``,
    its degrees ``degs[ptr[slot]:ptr[slot+1]]`` with multiplicities ``cnts[...]`` (OPT1)."""

    ptr: np.ndarray
    degs: np.ndarray
    cnts: np.ndarray
    n_layers: int

    def ring(self, u: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = u * self.n_layers + k
        return self.degs[self.ptr[s] : self.ptr[s + 1]], self.cnts[self.ptr[s] : self.ptr[s + 1]]


def simple_csr(graph) -> sp.csr_matrix:
    """The unweighted, symmetric, loop-free CSR of ``graph`` (a Graph, sparse or dense matrix)."""
    a = sp.csr_matrix(getattr(graph, "adj", graph), dtype=np.float64)
    if a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"an adjacency matrix must be square and non-empty, got {a.shape}")
    a = a.maximum(a.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    a.data[:] = 1.0
    a.sort_indices()
    return a


def ring_sequences(adj: sp.csr_matrix, max_layer: int | None = None) -> RingSequences:
    """Compressed degree sequences of the rings ``0..max_layer`` (``None``: up to the diameter)."""
    n = adj.shape[0]
    indptr = adj.indptr.astype(np.int64)
    indices = adj.indices.astype(np.int64)
    deg = np.diff(indptr)
    if max_layer is None:  # up to the deepest ring of any node
        n_layers = _max_eccentricity(adj) + 1
    elif (
        isinstance(max_layer, bool) or not isinstance(max_layer, (int, np.integer)) or max_layer < 0
    ):
        raise ValueError(f"max_layer must be a non-negative integer or None, got {max_layer!r}")
    else:
        n_layers = int(max_layer) + 1
    ptr = np.zeros(n * n_layers + 1, np.int64)
    _rings(indptr, indices, deg, n_layers, ptr, deg[:0], deg[:0], False)
    np.cumsum(ptr, out=ptr)
    degs = np.empty(ptr[-1], np.int64)
    cnts = np.empty(ptr[-1], np.int64)
    _rings(indptr, indices, deg, n_layers, ptr, degs, cnts, True)
    return RingSequences(ptr, degs, cnts, n_layers)


def _max_eccentricity(adj: sp.csr_matrix) -> int:
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    # exact for small graphs; above 5,000 nodes a double sweep from each component's
    # farthest node bounds the eccentricity from below, and deeper rings are simply empty
    n = adj.shape[0]
    best = 0
    if n <= 5000:
        from scipy.sparse.csgraph import shortest_path

        for s in range(0, n, 512):
            d = shortest_path(adj, unweighted=True, indices=np.arange(s, min(n, s + 512)))
            d[~np.isfinite(d)] = 0
            best = max(best, int(d.max()))
        return best
    _, comp = connected_components(adj, directed=False)
    for c in np.unique(comp):
        start = int(np.flatnonzero(comp == c)[0])
        for _ in range(2):
            order, pred = breadth_first_order(adj, start, directed=False)
            depth = np.zeros(n, np.int64)
            for v in order[1:]:
                depth[v] = depth[pred[v]] + 1
            start = int(order[-1])
            best = max(best, int(depth[order].max()))
    return 2 * best  # the eccentricity is at most twice the double-sweep radius


def candidate_pairs(deg: np.ndarray, n_select: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """OPT2: pairs ``(u, v)``, ``u < v``, where v is among u's ``n_select`` nearest degrees.

    Nodes are sorted by degree; from u's position the nearer of the two sides (by degree
    difference) is taken until ``n_select`` are chosen (default ``ceil(2 log2 n)``); the
    relation is made symmetric.
    """
    n = deg.shape[0]
    if n_select is None:
        n_select = max(1, math.ceil(2 * math.log2(max(n, 2))))
    m = min(int(n_select), n - 1)
    order = np.argsort(deg, kind="stable")
    sd = deg[order]
    src = np.empty(n * m, np.int64)
    dst = np.empty(n * m, np.int64)
    _nearest(order, sd, m, src, dst)
    u = np.minimum(src, dst)
    v = np.maximum(src, dst)
    key = np.unique(u * n + v)
    return key // n, key % n


@kernel
def _nearest(order, sd, m, src, dst):
    n = order.shape[0]
    for p in range(n):
        left = p - 1
        right = p + 1
        for t in range(m):
            if left < 0:
                take = right
                right += 1
            elif right >= n:
                take = left
                left -= 1
            elif sd[p] - sd[left] <= sd[right] - sd[p]:
                take = left
                left -= 1
            else:
                take = right
                right += 1
            src[p * m + t] = order[p]
            dst[p * m + t] = order[take]


def all_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``u < v`` (struc2vec without OPT2)."""
    u, v = np.triu_indices(n, 1)
    return u.astype(np.int64), v.astype(np.int64)


@dataclass
class MultilayerGraph:
    """struc2vec's layers as one stacked CSR: layer k's row u is ``indptr[k, u]:indptr[k, u+1]``.

    cumw : per-row cumulative weights ``exp(-f_k)``; up : ``log(Gamma_k(u) + e)`` (Eq. 3),
    the weight of moving from layer k to k+1 (moving down weighs 1).
    """

    indptr: np.ndarray  # (n_layers, n + 1) int64, offsets into indices / cumw
    indices: np.ndarray  # int32
    cumw: np.ndarray  # float64
    up: np.ndarray  # (n_layers, n) float64
    n_nodes: int

    @property
    def n_layers(self) -> int:
        return int(self.indptr.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.indptr.nbytes + self.indices.nbytes + self.cumw.nbytes + self.up.nbytes)

    def layer_matrix(self, k: int) -> sp.csr_matrix:
        """Layer ``k`` as a symmetric CSR of weights ``exp(-f_k)`` (for inspection and tests)."""
        ip = self.indptr[k]
        w = np.diff(np.concatenate(([0.0], self.cumw[ip[0] : ip[-1]])))
        rows = np.repeat(np.arange(self.n_nodes), np.diff(ip))
        starts = np.repeat(ip[:-1], np.diff(ip)) - ip[0]
        first = np.arange(ip[-1] - ip[0]) == starts
        w[first] = self.cumw[ip[0] : ip[-1]][first]
        return sp.csr_matrix(
            (w, (rows, self.indices[ip[0] : ip[-1]])), shape=(self.n_nodes, self.n_nodes)
        )


def multilayer_graph(
    graph,
    *,
    max_layer: int | None = None,
    opt2: bool = True,
    n_select: int | None = None,
    eps: float = 0.5,
) -> tuple[MultilayerGraph, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Build the multilayer graph; returns it, ``f`` (pairs x layers) and the pairs ``(u, v)``."""
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    adj = simple_csr(graph)
    n = adj.shape[0]
    if n < 2:
        raise ValueError("struc2vec needs at least 2 nodes")
    deg = np.diff(adj.indptr).astype(np.int64)
    if eps == 0 and not deg.all():
        raise ValueError(
            f"eps=0 (the paper's cost max/min - 1) is undefined for degree 0, and node "
            f"{int(np.flatnonzero(deg == 0)[0])} has no neighbour: use eps > 0 (0.5, the "
            "reference code's) or drop the isolated nodes"
        )
    seqs = ring_sequences(adj, max_layer)
    pu, pv = candidate_pairs(deg, n_select) if opt2 else all_pairs(n)
    f = np.empty((pu.shape[0], seqs.n_layers), np.float64)
    _pair_distances(pu, pv, seqs.ptr, seqs.degs, seqs.cnts, seqs.n_layers, float(eps), f)
    # drop layers where no pair is left
    n_layers = max(int(np.isfinite(f).any(axis=0).sum()), 1)  # f_k = inf stays inf above k
    f = f[:, :n_layers]
    indptr = np.zeros((n_layers, n + 1), np.int64)
    parts_idx, parts_cw = [], []
    up = np.zeros((n_layers, n), np.float64)
    offset = 0
    for k in range(n_layers):
        ok = np.isfinite(f[:, k])
        w = np.exp(-f[ok, k])
        a, b = pu[ok], pv[ok]
        rows, cols = np.concatenate((a, b)), np.concatenate((b, a))
        m = sp.csr_matrix((np.concatenate((w, w)), (rows, cols)), shape=(n, n))
        m.sort_indices()
        if w.size:
            heavy = m.copy()
            heavy.data = (heavy.data > w.mean()).astype(np.float64)
            up[k] = np.log(np.asarray(heavy.sum(axis=1)).ravel() + math.e)
        cw = np.cumsum(m.data)
        before = np.concatenate(([0.0], cw))[m.indptr[:-1]]
        cw = cw - np.repeat(before, np.diff(m.indptr))
        indptr[k] = m.indptr + offset
        offset += m.nnz
        parts_idx.append(m.indices.astype(np.int32))
        parts_cw.append(cw)
    ml = MultilayerGraph(indptr, np.concatenate(parts_idx), np.concatenate(parts_cw), up, n)
    return ml, f, (pu, pv)
