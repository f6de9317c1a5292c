"""LINE: Large-scale Information Network Embedding (Tang et al., WWW 2015).

Edges ``(i, j)`` are drawn with probability proportional to their weight from an
alias table (Walker 1977), which removes the weight from the gradient (Sec. 4.2.2).
For each edge, with ``K`` noise nodes ``n ~ P_n`` and ``sigma`` the logistic function:

* first order: maximise ``log sigma(u_j . u_i) + sum_K log sigma(-u_n . u_i)``
  (one table ``u``, Eq. 3 with negative sampling);
* second order: maximise ``log sigma(c_j . u_i) + sum_K log sigma(-c_n . u_i)``
  (vertex table ``u``, context table ``c``, Eq. 7).

``P_n`` is any sampler of :mod:`negkit.samplers` (LINE's own: ``degree`` with
``alpha = 0.75``), fitted on the weighted *in*-degree (the noise replaces the edge's
target); LINE's reference code counts the weighted out-degree, the same on an
undirected graph, not on a directed one.  A node without edges is no edge's end: its
vector keeps its random start, moved only as a noise node (order 1, under a sampler that
draws nodes of degree 0, ``uniform`` say).  The sampler is called through the compiled contract
``draw(state, anchor=i, pos=j, vec=u_i, ctx)``; score-aware samplers are fitted
with ``output=`` the table scored against (``u`` or ``c``) and ``input=u``.
The learning rate decays linearly, ``rho_t = rho_0 (1 - t / T)``.  Threads update
the tables without locks (Hogwild, as LINE's reference code does).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from negkit._diverge import check_finite
from negkit._jit import FAST_ALL, kernel
from negkit._rng import make_contexts, next_pair
from negkit.graph.adjacency import Adjacency, as_adjacency
from negkit.samplers import Sampler
from negkit.samplers.alias import alias_draw, build_alias
from negkit.samplers.registry import fresh

log = logging.getLogger(__name__)

_MIN_LR_FRACTION = 1e-4


@kernel(fastmath=FAST_ALL)
def line_kernel(
    draw, state, prob, alias, src, dst, emb, out, negative, n_samples, lr0, done, total, ctx, err
):
    """``n_samples`` edge samples with ``negative`` noise nodes each; ``out is emb`` for order 1."""
    dim = emb.shape[1]
    for s in range(n_samples):
        lr = lr0 * max(_MIN_LR_FRACTION, 1.0 - (done + s) / total)
        e = alias_draw(prob, alias, ctx)
        u = src[e]
        v = dst[e]
        vu = emb[u]
        for k in range(dim):
            err[k] = 0.0
        next_pair(ctx)  # vu is unchanged during the edge's draws (but see below)
        for d in range(negative + 1):
            if d == 0:
                target = np.int64(v)
                label = 1.0
            else:
                target = draw(state, u, v, vu, ctx)
                if target == v:
                    continue
                label = 0.0
            vt = out[target]
            f = 0.0
            for k in range(dim):
                f += vu[k] * vt[k]
            if f > 30.0:
                sig = 1.0
            elif f < -30.0:
                sig = 0.0
            else:
                sig = 1.0 / (1.0 + math.exp(-f))
            g = np.float32((label - sig) * lr)
            for k in range(dim):
                err[k] += g * vt[k]
                vt[k] += g * vu[k]
            if target == u:  # order 1 (out is emb) just updated vu itself: a new vector
                next_pair(ctx)
        for k in range(dim):
            vu[k] += err[k]


class LINE:
    """LINE embeddings of one order.

    Parameters
    ----------
    dim : embedding size (the paper uses 128 per order).
    order : 1 (first-order proximity) or 2 (second order).
    negative : noise nodes per edge (K = 5 in the paper).
    sampler : noise distribution: a name or a :class:`negkit.samplers.Sampler`
        (default ``degree`` with ``alpha = 0.75``).
    epochs : the number of edge samples is ``epochs * number of directed edge entries``.
    lr : starting learning rate rho_0 (0.025 in the paper).
    workers : Hogwild threads.
    seed : seeds the initialisation and the per-thread contexts.
    """

    def __init__(
        self,
        dim: int = 128,
        *,
        order: int = 2,
        negative: int = 5,
        sampler: str | Sampler = "degree",
        epochs: int = 100,
        lr: float = 0.025,
        workers: int = 1,
        seed: int | None = 0,
        chunk: int = 200_000,
    ) -> None:
        if order not in (1, 2):
            raise ValueError(f"LINE order must be 1 or 2, got {order!r}")
        for name, val in (
            ("dim", dim),
            ("negative", negative),
            ("epochs", epochs),
            ("workers", workers),
            ("chunk", chunk),
        ):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        self.dim, self.order, self.negative = int(dim), int(order), int(negative)
        self.sampler = sampler
        self.epochs, self.lr, self.workers, self.seed = int(epochs), float(lr), int(workers), seed
        self.chunk = int(chunk)

    def fit(self, graph: Any, on_epoch: Callable[[int, LINE], Any] | None = None) -> LINE:
        """Train on ``graph``; ``on_epoch(epoch, self)`` is called after every epoch."""
        adj = graph if isinstance(graph, Adjacency) else as_adjacency(graph)
        n, m = adj.n_nodes, adj.n_entries
        if m == 0:
            raise ValueError("LINE needs at least one edge")
        src = np.repeat(np.arange(n, dtype=np.int32), np.diff(adj.indptr))
        dst = adj.indices
        w = adj.weights.astype(np.float64) if adj.weighted else np.ones(m)
        prob, alias = build_alias(w)
        rng = np.random.default_rng(self.seed)
        emb = ((rng.random((n, self.dim), dtype=np.float32) - 0.5) / self.dim).astype(np.float32)
        out = emb if self.order == 1 else np.zeros((n, self.dim), dtype=np.float32)
        self.embeddings_ = emb
        self.context_ = out
        # noise over the target side: the weighted in-degree (= degree when undirected)
        deg_in = np.bincount(dst, weights=w, minlength=n)
        sampler = fresh(self.sampler)  # an object's settings, fitted here on a copy
        import scipy.sparse as sp

        positives = sp.csr_matrix(
            (np.ones(m, dtype=np.float32), adj.indices, adj.indptr), shape=(n, n)
        )
        sampler.fit(counts=deg_in, positives=positives, output=out, input=emb)
        self.sampler_ = sampler
        ctxs = make_contexts(self.seed, self.workers)
        total = float(self.epochs) * m
        errs = np.zeros((self.workers, self.dim), dtype=np.float32)
        done = 0
        per_epoch = m
        pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        try:
            for epoch in range(self.epochs):
                left = per_epoch
                while left > 0:
                    step = min(left, self.chunk)
                    draw, state = sampler.kernel()
                    parts = np.full(self.workers, step // self.workers, dtype=np.int64)
                    parts[: step % self.workers] += 1
                    starts = done + np.concatenate(([0], np.cumsum(parts)[:-1]))

                    def run(t: int, draw=draw, state=state, parts=parts, starts=starts) -> None:
                        line_kernel(
                            draw,
                            state,
                            prob,
                            alias,
                            src,
                            dst,
                            emb,
                            out,
                            self.negative,
                            int(parts[t]),
                            self.lr,
                            float(starts[t]),
                            total,
                            ctxs[t],
                            errs[t],
                        )

                    if pool is None:
                        run(0)
                    else:
                        list(pool.map(run, range(self.workers)))
                    done += step
                    left -= step
                    sampler.maybe_refresh(ctxs)
                tables = {"vertex vectors": emb}
                if out is not emb:
                    tables["context vectors"] = out
                check_finite(f"LINE (order {self.order})", epoch + 1, self.lr, tables=tables)
                if on_epoch is not None:
                    on_epoch(epoch, self)
        finally:
            if pool is not None:
                pool.shutdown()
        return self


def line_embeddings(
    graph: Any, dim: int = 128, *, order: int | str = 2, **kwargs: Any
) -> np.ndarray:
    """LINE vectors; ``order="both"`` trains each order at ``dim // 2`` and concatenates
    the L2-normalised halves (LINE(1st+2nd), Sec. 4.1)."""
    if order in ("both", "1+2", 3):
        a = LINE(dim - dim // 2, order=1, **kwargs).fit(graph).embeddings_
        b = LINE(dim // 2, order=2, **kwargs).fit(graph).embeddings_
        norm = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return np.hstack([norm(a), norm(b)]).astype(np.float32)
    return LINE(dim, order=int(order), **kwargs).fit(graph).embeddings_
