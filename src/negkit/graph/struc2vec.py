"""struc2vec's biased walks across layers (Ribeiro, Saverese & Figueiredo, KDD 2017, Sec. 3.3).

A walk starts at node u in layer 0.  At each step, with probability ``stay`` (the paper's q,
0.3 in its experiments and code) it moves inside the current layer k to v with probability
``w_k(u, v) / Z_k(u)`` and records v; otherwise it changes layer without recording: up with
probability ``w(u_k, u_{k+1}) / (w(u_k, u_{k+1}) + w(u_k, u_{k-1}))`` = ``x / (x + 1)``,
``x = log(Gamma_k(u) + e)`` (Eq. 3), else down.  As in the reference code, a move below
layer 0 or to a layer where u has no edge leaves the walk where it is.

:class:`Struc2VecWalks` streams chunks ``(tokens int32, offsets int64)`` like
:class:`negkit.graph.walks.RandomWalks`, so the skip-gram engine trains on them unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import make_contexts, rand_float
from negkit.graph.struc2vec_layers import MultilayerGraph, multilayer_graph
from negkit.graph.walks import _pick


@kernel
def struc2vec_walk_kernel(
    indptr, indices, cumw, up, starts, walk_length, stay, ctx, tokens, lengths
):
    """Walk from each of ``starts``; walk i fills ``tokens[i*L : i*L + lengths[i]]``."""
    L = walk_length
    n_layers = indptr.shape[0]
    for i in range(starts.shape[0]):
        base = i * L
        v = np.int64(starts[i])
        k = 0
        tokens[base] = v
        n = 1
        guard = 0
        while n < L and guard < 1000 * L:
            guard += 1
            lo = indptr[k, v]
            hi = indptr[k, v + 1]
            if rand_float(ctx) < stay:
                if hi == lo:
                    break
                v = np.int64(_pick(indices, cumw, lo, hi, rand_float(ctx) * cumw[hi - 1]))
                tokens[base + n] = v
                n += 1
            else:
                x = up[k, v]
                if rand_float(ctx) < x / (x + 1.0):
                    if k + 1 < n_layers and indptr[k + 1, v + 1] > indptr[k + 1, v]:
                        k += 1
                elif k > 0:
                    k -= 1
        lengths[i] = n


class Struc2VecWalks:
    """Re-iterable stream of struc2vec walk chunks on a :class:`MultilayerGraph`.

    graph : a MultilayerGraph, or anything :func:`multilayer_graph` accepts (then
        ``max_layer``, ``opt2`` build it).
    stay : probability of a step inside the layer (the paper's q).
    Other parameters as in :class:`negkit.graph.walks.RandomWalks`.
    """

    def __init__(
        self,
        graph: Any,
        *,
        walk_length: int = 80,
        num_walks: int = 10,
        stay: float = 0.3,
        max_layer: int | None = None,
        opt2: bool = True,
        workers: int = 1,
        chunk_walks: int = 4096,
        seed: int | None = None,
    ) -> None:
        for name, val in (
            ("walk_length", walk_length),
            ("num_walks", num_walks),
            ("workers", workers),
            ("chunk_walks", chunk_walks),
        ):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if not (isinstance(stay, (int, float)) and 0 < stay <= 1):
            raise ValueError(f"stay must lie in (0, 1], got {stay!r}")
        if isinstance(graph, MultilayerGraph):
            self.ml = graph
        else:
            self.ml = multilayer_graph(graph, max_layer=max_layer, opt2=opt2)[0]
        self.walk_length = int(walk_length)
        self.num_walks = int(num_walks)
        self.stay = float(stay)
        self.workers = int(workers)
        self.chunk_walks = int(chunk_walks)
        self.seed = seed if seed is not None else int(np.random.SeedSequence().entropy % (2**62))
        self.epoch = 0

    @property
    def n_walks(self) -> int:
        return self.num_walks * self.ml.n_nodes

    @property
    def max_tokens(self) -> int:
        return self.n_walks * self.walk_length

    def expected_counts(self) -> np.ndarray:
        """Visits of every node in pass 0 (walked once more here: the law has no closed form)."""
        counts = np.zeros(self.ml.n_nodes, np.int64)
        for tokens, _ in self.iter_epoch(0):
            counts += np.bincount(tokens, minlength=self.ml.n_nodes)
        return np.maximum(counts, 1)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch = self.epoch
        self.epoch += 1
        return self.iter_epoch(epoch)

    def iter_epoch(self, epoch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The chunks of pass ``epoch`` (the same walks for the same seed, epoch and workers)."""
        ss = np.random.SeedSequence([int(self.seed), int(epoch)])
        rng = np.random.default_rng(ss)
        ctxs = make_contexts(int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1)), self.workers)
        n = self.ml.n_nodes
        order = np.tile(np.arange(n, dtype=np.int32), self.num_walks)
        rng.shuffle(order)
        pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        try:
            for s in range(0, order.shape[0], self.chunk_walks):
                yield self._walk(order[s : s + self.chunk_walks], ctxs, pool)
        finally:
            if pool is not None:
                pool.shutdown()

    def _walk(self, starts: np.ndarray, ctxs: np.ndarray, pool) -> tuple[np.ndarray, np.ndarray]:
        ml, L, m = self.ml, self.walk_length, starts.shape[0]
        tokens = np.empty(m * L, dtype=np.int32)
        lengths = np.empty(m, dtype=np.int64)
        bounds = np.linspace(0, m, min(self.workers, max(m, 1)) + 1).astype(np.int64)

        def run(i: int) -> None:
            lo, hi = bounds[i], bounds[i + 1]
            struc2vec_walk_kernel(
                ml.indptr, ml.indices, ml.cumw, ml.up, starts[lo:hi], L, self.stay,
                ctxs[i], tokens[lo * L : hi * L], lengths[lo:hi],
            )  # fmt: skip

        if pool is None or len(bounds) == 2:
            for i in range(len(bounds) - 1):
                run(i)
        else:
            list(pool.map(run, range(len(bounds) - 1)))
        offsets = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if offsets[-1] != m * L:
            tokens = tokens[(np.arange(L)[None, :] < lengths[:, None]).ravel()]
        return tokens, offsets
