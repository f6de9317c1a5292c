"""Graphs for node embeddings: edge lists, adjacency lists, MATLAB ``.mat`` and Planetoid ``.npz``.

Every reader returns a :class:`Graph` whose ``adj`` is an ``n x n`` float32 CSR
matrix (weights, 1.0 when unweighted), symmetric when the graph is undirected,
plus an ``n x L`` label indicator when the data set has labels.  This is the
input of DeepWalk (Perozzi et al. 2014), node2vec (Grover & Leskovec 2016) and
LINE (Tang et al. 2015).
"""

from __future__ import annotations

import logging
import math
from array import array
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines, strict_int

log = logging.getLogger(__name__)

__all__ = [
    "Graph",
    "read_edgelist",
    "read_adjlist",
    "read_mat",
    "read_planetoid_npz",
    "read_labels",
]


@dataclass
class Graph:
    """A graph as a CSR adjacency matrix, with optional labels and split."""

    adj: sp.csr_matrix
    directed: bool = False
    weighted: bool = False
    #: n x L multi-label indicator (int8 CSR); single-label sets have one 1 a row
    labels: sp.csr_matrix | None = None
    name: str = ""
    #: original ids of the rows, when they were re-indexed from a file
    node_ids: np.ndarray | None = field(default=None, repr=False)
    #: Planetoid split: node indices under "train", "val", "test"
    split: dict[str, np.ndarray] | None = field(default=None, repr=False)
    #: node features (Planetoid), rows without features are zero
    features: sp.csr_matrix | None = field(default=None, repr=False)
    #: original names of the label columns
    label_names: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.adj.shape[0])

    def counts(self) -> dict:
        """``{"nodes", "edges", ["self_loops",] "labels"}``; undirected edges are counted once.

        ``edges`` excludes self-loops, which are reported apart when there are any.
        """
        a = self.adj
        n_self = int(np.count_nonzero(a.diagonal()))
        off = int(a.nnz) - n_self
        out = {"nodes": self.n_nodes, "edges": off if self.directed else off // 2}
        if n_self:
            out["self_loops"] = n_self
        out["labels"] = int(self.labels.shape[1]) if self.labels is not None else 0
        return out


# --------------------------------------------------------------------- helpers
class _BadId(ValueError):
    """A node token at position ``index`` of the token list is not a valid id."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def _node_codes(
    tokens: list[str], reindex: bool | None, n_nodes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Row index of each node token, and the original ids when re-indexed.

    ``reindex=None``: integer ids that start at 0 and are not too sparse are used as
    they are; anything else (1-based ids, strings, huge ids) is re-indexed in sorted
    order.  ``n_nodes`` (or ``reindex=False``) makes the ids row numbers, checked to be
    integers in ``[0, n_nodes)``; a bad one raises :class:`_BadId` with its position.

    Re-indexed ids are kept as written: when an integer id is not in its plain form
    (``007``, ``+7``, ``-0``), every id is a string, so that ``007`` is written back as
    ``007`` (not ``7``) and ``07`` and ``7`` are two nodes, as they are two tokens.
    """
    as_rows = reindex is False or n_nodes is not None
    try:
        vals = np.array([strict_int(t) for t in tokens], dtype=np.int64)
        if not as_rows and any(t != str(v) for t, v in zip(tokens, vals.tolist())):
            raise ValueError("integer ids not in their plain form: kept as strings")
    except ValueError:
        if as_rows:
            k = next(i for i, t in enumerate(tokens) if not _is_int(t))
            digits = tokens[k].lstrip("+-").isascii() and tokens[k].lstrip("+-").isdigit()
            problem = f"node id {tokens[k]} out of the int64 range" if digits else None
            raise _BadId(k, problem or f"non-numeric node id {tokens[k]!r}") from None
        ids, codes = np.unique(np.array(tokens, dtype=str), return_inverse=True)
        return codes.reshape(-1).astype(np.int64), ids
    if not as_rows:
        n_unique = np.unique(vals).size
        as_rows = bool(vals.min() == 0 and vals.max() < 2 * n_unique + 16)
    if as_rows:
        limit = n_nodes if n_nodes is not None else np.iinfo(np.int64).max
        bad = np.flatnonzero((vals < 0) | (vals >= limit))
        if bad.size:
            k = int(bad[0])
            bound = n_nodes if n_nodes is not None else "inf"
            raise _BadId(k, f"node id {vals[k]} out of range [0, {bound})")
        return vals, None
    ids, codes = np.unique(vals, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), ids


def _is_int(token: str) -> bool:
    try:
        strict_int(token)
    except ValueError:
        return False
    return True


def _build_adj(src, dst, w, n: int, directed: bool, weighted: bool, what: str) -> sp.csr_matrix:
    """CSR adjacency; duplicate rows merged (weights summed) and logged; undirected -> symmetric."""
    m = sp.csr_matrix((w, (src, dst)), shape=(n, n), dtype=np.float32)
    m.sum_duplicates()
    n_dup = len(src) - m.nnz
    if n_dup:
        log.info(
            "%s: merged %d duplicate edge rows%s",
            what,
            n_dup,
            " (weights summed)" if weighted else "",
        )
    if not weighted:
        m.data[:] = 1.0
    if not directed:
        m = m.maximum(m.T).tocsr()  # an edge listed in both directions counts once
    m.sort_indices()
    return m


def _is_symmetric(m: sp.csr_matrix) -> bool:
    d = (m - m.T).tocsr()
    d.eliminate_zeros()
    return d.nnz == 0


# ------------------------------------------------------------------ edge lists
#: Names that make an edge list's first line a header (``source,target[,weight]``).
_EDGE_HEADERS = {"source", "target", "src", "dst", "from", "to", "node1", "node2", "node_1",
                 "node_2", "head", "tail"}  # fmt: skip


def is_edge_header(parts: list[str]) -> bool:
    """Whether an edge list's first line (split in fields) names its columns."""
    return len(parts) >= 2 and {p.lower() for p in parts[:2]} <= _EDGE_HEADERS


def _refuse_unnamed_header(path: str | PathLike, line: int, src: list[str], dst: list[str]) -> None:
    """A first line of two names where every other edge joins integer ids is a header whose
    names are not known (``id1 id2``): it would make two extra nodes and an edge."""
    if len(src) < 2 or _is_int(src[0]) or _is_int(dst[0]):
        return
    if all(_is_int(t) for t in src[1:]) and all(_is_int(t) for t in dst[1:]):
        raise DataFormatError(
            path, line, f"{src[0]!r} {dst[0]!r} looks like a header (names where every "
            "other line joins integer ids) but names no known column: drop the line or make "
            "it a comment ('# ...')",
        )  # fmt: skip


def read_edgelist(
    path: str | PathLike,
    weighted: bool = False,
    directed: bool = False,
    comments: str = "#",
    *,
    reindex: bool | None = None,
    n_nodes: int | None = None,
    name: str | None = None,
) -> Graph:
    """Read ``src dst [weight]`` lines (whitespace or comma separated).

    A first line naming its columns (``source,target``, ``from to weight``, ...) is a header.
    Every edge line has the first one's 2 or 3 columns (an adjacency list read as an edge
    list would otherwise lose all but a node's first neighbour, or read the second as a
    weight); with ``weighted=False`` a third column is read and ignored.  Node ids may be any
    tokens; see :func:`_node_codes` for when they are re-indexed
    (``node_ids`` then holds the original ids).  ``n_nodes`` fixes the node count (ids
    must then be row numbers below it).  Duplicate edges are merged (weights summed)
    and counted in the log; zero-weight edges are skipped and counted (a node met only on
    such edges is not in the graph).  Undirected, an edge listed in both directions counts
    once, at the larger of its two weights (``a b 2`` and ``b a 3`` give 3, as files that
    list every edge both ways expect), while one listed twice the same way sums (``a b 2``
    twice gives 4).
    """
    src: list[str] = []
    dst: list[str] = []
    lines = array("q")
    weights = array("f")
    n_zero = 0
    first = True
    width: int | None = None  # the first edge line's columns: every line has as many
    header_seen = False
    for lineno, text in iter_lines(path, comments=comments):
        parts = text.replace(",", " ").split()
        if first and is_edge_header(parts):
            log.info("%s:%d: %r read as a header", path, lineno, text)
            first, header_seen = False, True
            continue
        first = False
        if len(parts) > 3 or (width is not None and len(parts) != width and len(parts) >= 2):
            raise DataFormatError(
                path,
                lineno,
                f"{len(parts)} columns where "
                + (f"the first edge line has {width}" if width else "an edge has 2 or 3")
                + ": an edge list is 'src dst [weight]' on every line (an adjacency list, "
                "'node neighbour ...', needs the .adjlist suffix)",
            )
        width = width or len(parts)
        need = 3 if weighted else 2
        if len(parts) < need:
            raise DataFormatError(
                path,
                lineno,
                f"short line: {len(parts)} column(s), expected "
                + ("'src dst weight'" if weighted else "'src dst'"),
            )
        if weighted:
            try:
                w = float(parts[2])
            except ValueError:
                raise DataFormatError(path, lineno, f"non-numeric weight {parts[2]!r}") from None
            if not math.isfinite(w) or w < 0:
                raise DataFormatError(path, lineno, f"weight {parts[2]!r} must be finite and >= 0")
            if w == 0:
                n_zero += 1
                continue
            weights.append(w)
        src.append(parts[0])
        dst.append(parts[1])
        lines.append(lineno)
    if n_zero:
        log.info("%s: skipped %d zero-weight edges", path, n_zero)
    if not header_seen and lines:
        _refuse_unnamed_header(path, int(lines[0]), src, dst)
    k = len(src)
    if k == 0:
        raise DataFormatError(path, 0, f"no edge: all {n_zero} edges have weight 0")
    try:
        codes, node_ids = _node_codes(src + dst, reindex, n_nodes)
    except _BadId as e:
        raise DataFormatError(path, lines[e.index % k], e.problem) from None
    n = n_nodes if n_nodes is not None else int(codes.max()) + 1 if codes.size else 0
    w = np.frombuffer(weights, np.float32) if weighted else np.ones(k, np.float32)
    adj = _build_adj(codes[:k], codes[k:], w, n, directed, weighted, str(path))
    return Graph(
        adj, directed=directed, weighted=weighted, name=name or Path(path).stem, node_ids=node_ids
    )


def read_adjlist(
    path: str | PathLike,
    directed: bool = False,
    comments: str = "#",
    *,
    reindex: bool | None = None,
    n_nodes: int | None = None,
    name: str | None = None,
) -> Graph:
    """Read ``node nbr nbr ...`` lines (DeepWalk's ``.adjlist``); a lone node is kept.

    Ids are handled as in :func:`read_edgelist`.
    """
    heads: list[str] = []
    src: list[str] = []
    dst: list[str] = []
    head_lines = array("q")
    edge_lines = array("q")
    for lineno, text in iter_lines(path, comments=comments):
        parts = text.split()
        heads.append(parts[0])
        head_lines.append(lineno)
        src.extend([parts[0]] * (len(parts) - 1))
        dst.extend(parts[1:])
        edge_lines.extend([lineno] * (len(parts) - 1))
    h, k = len(heads), len(src)
    try:
        codes, node_ids = _node_codes(heads + src + dst, reindex, n_nodes)
    except _BadId as e:
        line = head_lines[e.index] if e.index < h else edge_lines[(e.index - h) % k]
        raise DataFormatError(path, line, e.problem) from None
    n = n_nodes if n_nodes is not None else int(codes.max()) + 1
    adj = _build_adj(
        codes[h : h + k], codes[h + k :], np.ones(k, np.float32), n, directed, False, str(path)
    )
    return Graph(
        adj, directed=directed, weighted=False, name=name or Path(path).stem, node_ids=node_ids
    )


# ---------------------------------------------------------------- MATLAB files
def read_mat(
    path: str | PathLike, network_key: str = "network", group_key: str | None = "group"
) -> Graph:
    """Read a MATLAB ``.mat`` graph (BlogCatalog, PPI, POS): ``network`` and ``group`` matrices.

    ``directed`` is set when the network is not symmetric, ``weighted`` when a weight is not 1.
    """
    from scipy.io import loadmat

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise DataFormatError(p, 0, "the file is empty")
    try:
        mat = loadmat(p)
    except Exception as e:  # scipy raises ValueError / TypeError / MatReadError on bad bytes
        raise DataFormatError(p, 0, f"not a readable MATLAB .mat file ({e})") from None
    keys = sorted(k for k in mat if not k.startswith("__"))
    if network_key not in mat:
        raise DataFormatError(p, 0, f"no {network_key!r} matrix (keys: {keys})")
    adj = sp.csr_matrix(mat[network_key], dtype=np.float32)
    if adj.shape[0] != adj.shape[1]:
        raise DataFormatError(p, 0, f"{network_key!r} is {adj.shape}, not square")
    adj.eliminate_zeros()
    adj.sort_indices()
    labels = None
    if group_key is not None:
        if group_key not in mat:
            raise DataFormatError(p, 0, f"no {group_key!r} label matrix (keys: {keys})")
        labels = sp.csr_matrix(mat[group_key])
        if labels.shape[0] != adj.shape[0]:
            raise DataFormatError(
                p, 0, f"{group_key!r} has {labels.shape[0]} rows for {adj.shape[0]} nodes"
            )
        labels = (labels != 0).astype(np.int8).tocsr()
    weighted = bool(adj.nnz and np.any(adj.data != 1.0))
    return Graph(
        adj, directed=not _is_symmetric(adj), weighted=weighted, labels=labels, name=p.stem
    )


# ---------------------------------------------------------------- Planetoid npz
def _sparse_from_npz(z, key: str) -> sp.csr_matrix | None:
    if f"{key}_data" not in z:
        return None
    return sp.csr_matrix(
        (z[f"{key}_data"], z[f"{key}_indices"], z[f"{key}_indptr"]), shape=tuple(z[f"{key}_shape"])
    )


def read_planetoid_npz(path: str | PathLike) -> Graph:
    """Read a Planetoid split (Yang et al. 2016; Kipf & Welling 2017) stored as one ``.npz``.

    Keys: ``graph_src``/``graph_dst`` (adjacency entries), ``y``/``ally``/``ty`` one-hot
    labels, ``test_index``, and features ``x``/``allx``/``tx`` as CSR parts.  The graph
    is undirected; labels of nodes ``0..len(ally)-1`` come from ``ally`` and of
    ``test_index`` from ``ty`` (nodes in neither have no label).  Split: train = the
    first ``len(y)`` nodes, val = the next 500, test = ``test_index``.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        z = np.load(p, allow_pickle=False)
        keys = set(z.files)
    except Exception as e:
        raise DataFormatError(p, 0, f"not a readable .npz file ({e})") from None
    missing = {"graph_src", "graph_dst", "y", "ally", "ty", "test_index"} - keys
    if missing:
        raise DataFormatError(p, 0, f"not a Planetoid npz: missing keys {sorted(missing)}")
    src = z["graph_src"].astype(np.int64)
    dst = z["graph_dst"].astype(np.int64)
    y, ally, ty = z["y"], z["ally"], z["ty"]
    test_index = z["test_index"].astype(np.int64)
    if src.size and min(src.min(), dst.min(), test_index.min()) < 0:
        raise DataFormatError(p, 0, "negative node id")
    n = int(
        max(
            src.max() + 1 if src.size else 0,
            dst.max() + 1 if dst.size else 0,
            ally.shape[0],
            test_index.max() + 1,
        )
    )
    adj = _build_adj(src, dst, np.ones(src.size, np.float32), n, False, False, str(p))
    lab = np.zeros((n, ally.shape[1]), dtype=np.int8)
    lab[: ally.shape[0]] = ally
    lab[test_index] = ty
    n_unlabelled = int((lab.sum(axis=1) == 0).sum())
    if n_unlabelled:
        log.info("%s: %d nodes have no label", p, n_unlabelled)
    features = None
    allx, tx = _sparse_from_npz(z, "allx"), _sparse_from_npz(z, "tx")
    if allx is not None and tx is not None:
        features = sp.lil_matrix((n, allx.shape[1]), dtype=np.float32)
        features[: allx.shape[0]] = allx
        features[test_index] = tx
        features = features.tocsr()
    else:
        log.info("%s: no allx/tx features stored; Graph.features is None", p)
    n_train = int(y.shape[0])
    split = {
        "train": np.arange(n_train),
        "val": np.arange(n_train, n_train + 500),
        "test": test_index,
    }
    name = p.stem.replace("_planetoid", "")
    return Graph(
        adj,
        directed=False,
        weighted=False,
        labels=sp.csr_matrix(lab),
        name=name,
        split=split,
        features=features,
    )


# ---------------------------------------------------------------------- labels
def read_labels(
    path: str | PathLike, graph: Graph, comments: str = "#", *, header: bool = False
) -> Graph:
    """Attach labels from ``node label [label ...]`` lines; returns a new :class:`Graph`.

    ``header``: the first data line is a header (e.g. ``node label``) and is skipped.

    Node ids are the graph's original ids (``graph.node_ids``) when it was re-indexed,
    else row numbers.  Label names are re-indexed in sorted order (``label_names``).
    """
    if graph.node_ids is not None:
        row_of = {str(v): r for r, v in enumerate(graph.node_ids)}
    else:
        row_of = None
    rows = array("q")
    names: list[str] = []
    n = graph.n_nodes
    for i, (lineno, text) in enumerate(iter_lines(path, comments=comments)):
        if header and i == 0:
            continue
        parts = text.split()
        if len(parts) < 2:
            raise DataFormatError(path, lineno, "short line: expected 'node label [label ...]'")
        node = parts[0]
        if row_of is not None:
            r = row_of.get(node)
            if r is None:
                raise DataFormatError(path, lineno, f"node {node!r} is not in the graph")
        else:
            try:
                r = strict_int(node)
            except ValueError:
                raise DataFormatError(path, lineno, f"non-numeric node id {node!r}") from None
            if not 0 <= r < n:
                raise DataFormatError(path, lineno, f"node id {r} out of range [0, {n})")
        rows.extend([r] * (len(parts) - 1))
        names.extend(parts[1:])
    codes, label_names = _node_codes(names, reindex=True)
    if label_names is None:  # pragma: no cover - reindex=True always returns ids
        label_names = np.arange(codes.max() + 1)
    lab = sp.csr_matrix(
        (np.ones(codes.size, np.int8), (np.frombuffer(rows, np.int64), codes)),
        shape=(n, len(label_names)),
    )
    lab.sum_duplicates()
    lab.data[:] = 1
    return replace(graph, labels=lab, label_names=label_names)
