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

from typing import Any

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_float
from negkit.graph.struc2vec_layers import MultilayerGraph, multilayer_graph
from negkit.graph.walks import WalkStream, _pick


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


class Struc2VecWalks(WalkStream):
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
        self._init_stream(walk_length, num_walks, workers, chunk_walks, seed)
        if not (isinstance(stay, (int, float)) and 0 < stay <= 1):
            raise ValueError(f"stay must lie in (0, 1], got {stay!r}")
        if isinstance(graph, MultilayerGraph):
            self.ml = graph
        else:
            self.ml = multilayer_graph(graph, max_layer=max_layer, opt2=opt2)[0]
        self.stay = float(stay)

    @property
    def n_nodes(self) -> int:
        return self.ml.n_nodes

    def expected_counts(self) -> np.ndarray:
        """Visits of every node in pass 0 (walked once more here: the law has no closed form).

        Every chunk of the pass is counted, also after :meth:`shard`: the ranks of a
        distributed run must build the same vocabulary (its order is the row order of the
        tables they merge), not each one from its own share of the walks.
        """
        counts = np.zeros(self.ml.n_nodes, np.int64)
        for tokens, _ in self.iter_epoch(0, all_chunks=True):
            counts += np.bincount(tokens, minlength=self.ml.n_nodes)
        return np.maximum(counts, 1)

    def _walk_range(self, starts, ctx, tokens, lengths) -> None:
        ml = self.ml
        struc2vec_walk_kernel(
            ml.indptr, ml.indices, ml.cumw, ml.up, starts, self.walk_length, self.stay, ctx,
            tokens, lengths,
        )  # fmt: skip
