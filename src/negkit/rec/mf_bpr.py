"""BPR matrix factorisation on the compiled CPU engine.

Rendle et al. (2009), "BPR: Bayesian Personalized Ranking from Implicit
Feedback".  For a training pair (u, i) and a negative j drawn by the sampler,
with ``x_uij = p_u . (q_i - q_j) + b_i - b_j`` and ``z = sigma(-x_uij)``,
stochastic gradient ascent on ``ln sigma(x_uij) - reg/2 * ||theta||^2``:

    p_u += lr * (z * (q_i - q_j) - reg * p_u)
    q_i += lr * (z * p_u - reg * q_i)
    q_j += lr * (-z * p_u - reg * q_j)
    b_i += lr * (z - reg * b_i);   b_j += lr * (-z - reg * b_j)

Threads run a nogil numba kernel each over their own shard of the (user,
positive) pairs, reshuffled every epoch, and update the shared tables without
locks (Hogwild, Recht et al. 2011), as word2vec.c and the ``implicit`` library
do.  Negatives come from ``draw(state, u, i, p_u, ctx)``; for WARP (Weston et
al. 2011) the gradient is weighted by ``L(floor((n_items - 1) / trials))``,
``L(k) = sum_{r<=k} 1/r``, with the trial count the sampler leaves in
``ctx[CTX_TRIALS]``.

The item bias is folded into the exported embeddings (users get a constant 1
column, items their bias), so ``score(u, i) = user_emb[u] . item_emb[i]`` holds.

Data parallel across processes (``dist``, a :class:`negkit.rec.distributed.Context` of a
torchrun launch): as the word2vec engine (Ji, Shao, Sundaram et al. 2016), every rank
trains its own shard of each epoch's pairs: the pairs of its own users (:func:`user_ranks`:
the users dealt out by their number of pairs, so the shards differ by less than one user's
pairs), in the order of one seeded permutation.  A user's row then changes on its rank
only: the user table is merged only when the tables are settled (:meth:`BPRMF.settle`,
each rank's change of its own rows, exactly), and the item table every ``sync_pairs``
pairs of a rank's shard (to the nearest chunk: with more than an epoch's share, every few
epochs), the ranks merging what changed in it since the last merge with
:class:`negkit.word2vec.dist_sync.TableSync` (``sync_mode="sum"``: every rank's updates
applied, as Hogwild threads apply theirs).  On Gowalla (2 ranks, one thread each) this
sends 58% of the bytes of merging both tables, and each rank's user rows in use are half
the table.  The
step size decays by epochs, which every rank counts alike.  ``sync_wire="bfloat16"`` sends the
change in half the bytes (rounding error fed back into the next merge); ``sync_overlap=True``
sends it without waiting and merges it after the rank's next chunk (the other ranks' changes
arrive one chunk late).  Between merges, and after bfloat16 or overlapped ones, the ranks'
tables differ: :meth:`settle` makes them equal (float32); :meth:`fit` calls it at its end.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp

from negkit._diverge import check_finite
from negkit._jit import FAST_ALL, kernel
from negkit._rng import CTX_TRIALS, make_contexts, next_pair, rand_int
from negkit.rec.sampler_check import check_sampler_data
from negkit.samplers.warp import is_rank_weighted

log = logging.getLogger(__name__)

__all__ = ["BPRMF", "user_ranks"]


def user_ranks(users: np.ndarray, n_users: int, world_size: int) -> np.ndarray:
    """The rank that trains each user's pairs (``users``: the user of every pair): users in
    descending number of pairs (ties by id) dealt out 0, 1, ..., P-1, P-1, ..., 0, 0, 1, ...,
    so every rank's count of pairs is within the largest user's of every other's."""
    counts = np.bincount(users, minlength=n_users)
    order = np.argsort(-counts, kind="stable")
    turn = np.arange(n_users) % (2 * world_size)
    owner = np.empty(n_users, dtype=np.int64)
    owner[order] = np.where(turn < world_size, turn, 2 * world_size - 1 - turn)
    return owner


@kernel
def _shuffle(order, lo, hi, ctx):
    """Fisher-Yates shuffle of ``order[lo:hi]`` in place."""
    for t in range(hi - 1, lo, -1):
        s = lo + rand_int(ctx, t - lo + 1)
        tmp = order[t]
        order[t] = order[s]
        order[s] = tmp


@kernel(fastmath=FAST_ALL)
def _bpr_shard(draw, state, pairs, lo, hi, U, V, dim, lr, reg, use_bias, harmonic, ctx, stats):
    """BPR SGD over ``pairs[lo:hi]`` (``user << 32 | item``); adds (loss, correct) to ``stats``.

    Rows of ``U`` / ``V``: the factors, then (``use_bias``) the user's constant 1 / the
    item's bias, which the score ``u . v`` thus includes.  float32 arithmetic; the L2 step is
    folded in as ``(1 - lr * reg) * w``.
    """
    use_rank = harmonic.shape[0] > 0
    n_items = V.shape[0]
    lr32 = np.float32(lr)
    decay = np.float32(1.0 - lr * reg)
    one = np.float32(1.0)
    loss = 0.0
    correct = 0
    for t in range(lo, hi):
        pair = pairs[t]
        u = pair >> 32
        i = pair & 0xFFFFFFFF
        pu = U[u]
        next_pair(ctx)
        j = draw(state, u, i, pu, ctx)
        if j == i:
            continue
        qi = V[i]
        qj = V[j]
        x = np.float32(0.0)
        if use_bias:
            x = qi[dim] - qj[dim]
        for f in range(dim):
            x += pu[f] * (qi[f] - qj[f])
        if x > 0:
            correct += 1
        z = one / (one + np.exp(x)) if x > -30.0 else one  # sigma(-x)
        if (t & 15) == 0:  # loss -ln sigma(x) on every 16th pair: an unbiased estimate
            loss += 16.0 * (math.log1p(math.exp(-x)) if x > -30.0 else -x)
        if use_rank:
            trials = np.int64(ctx[CTX_TRIALS])
            if trials <= 0:  # no violator found: WARP makes no update for this pair
                continue
            z = np.float32(z * harmonic[(n_items - 1) // trials])
        g = lr32 * z
        for f in range(dim):
            a = pu[f]
            b = qi[f]
            c = qj[f]
            pu[f] = decay * a + g * (b - c)
            qi[f] = decay * b + g * a
            qj[f] = decay * c - g * a
        if use_bias:  # the user's 1 stays
            qi[dim] = decay * qi[dim] + g
            qj[dim] = decay * qj[dim] - g
    stats[0] += loss
    stats[1] += correct


def _run_shard(draw, state, pairs, cuts, c, U, V, dim, lr, reg, use_bias, harmonic, ctx, stats):
    """One thread's part of chunk ``c``; at the first chunk it reshuffles its whole shard."""
    if c == 0:
        _shuffle(pairs, cuts[0], cuts[-1], ctx)
    _bpr_shard(draw, state, pairs, cuts[c], cuts[c + 1], U, V, dim, lr, reg, use_bias, harmonic,
               ctx, stats)  # fmt: skip


def _check_sampler(sampler: Any, shape: tuple[int, int], U: np.ndarray, V: np.ndarray) -> None:
    """Refuse a sampler fitted on other data (:func:`check_sampler_data`) or on other tables
    than the run's: it would score frozen tables instead of the live ones."""
    check_sampler_data(sampler, shape)
    name = getattr(sampler, "name", type(sampler).__name__)
    if not getattr(sampler, "score_aware", False):
        return
    for what, table, mine in (("output", V, "item_table_"), ("input", U, "user_table_")):
        t = getattr(sampler, f"{what}_", None)
        if t is None:
            continue
        if np.ndim(t) != 2 or t.shape[1] != table.shape[1]:
            raise ValueError(
                f"sampler {name!r} scores with tables of width {np.shape(t)[-1]}, not this "
                f"model's {table.shape[1]} (the factors and the item bias): fit it with "
                "output=model.item_table_, input=model.user_table_"
            )
        if t.shape != table.shape or not np.shares_memory(t, table):
            raise ValueError(
                f"sampler {name!r} scores with another {what} table than this model's live "
                f"{mine} (fitted before fit() re-initialised the tables, or on another "
                f"model's): call model.init(n_users, n_items) first, then fit the sampler with "
                "output=model.item_table_, input=model.user_table_"
            )


def _width(dim: int, item_bias: bool) -> int:
    """Columns of the tables: the factors, then the bias column, padded to whole 64-byte rows
    (one unaligned column of 65 floats cost ~10% of an epoch)."""
    return ((dim + 1 + 15) // 16) * 16 if item_bias else dim


class BPRMF:
    """BPR-MF trained by lock-free multi-threaded SGD (compiled CPU engine).

    Parameters
    ----------
    dim : embedding width.
    lr : SGD step size; decays linearly to ``lr * lr_final`` over the epochs.
    reg : L2 weight ``reg`` on the touched rows (applied per update, as in cornac).
    epochs : passes over the training pairs.
    threads : Python threads running the nogil kernel (Hogwild updates).
    seed : seeds the initialisation and the per-thread contexts; with
        ``threads=1`` a seeded run repeats exactly.
    init_scale : factors start uniform in ``[-init_scale/2, init_scale/2] / dim``.
    item_bias : learn an item bias (folded into the exported embeddings).
    dist : a :class:`negkit.rec.distributed.Context`; with ``world_size > 1`` the ranks train
        data-parallel (module docstring).  Every rank must pass the same ``seed``.
    sync_pairs : pairs a rank trains between two merges of the tables, to the nearest chunk
        (more than a rank's share of an epoch: a merge every few epochs).
    sync_mode : ``"sum"`` (every rank's change applied) or ``"mean"`` (model averaging).
    sync_wire : ``"float32"`` or ``"bfloat16"`` (half the bytes, error feedback).
    sync_overlap : send each merge's change without waiting; merge it one chunk later.
    """

    def __init__(
        self,
        dim: int = 64,
        lr: float = 0.1,
        reg: float = 0.0025,
        epochs: int = 500,
        threads: int = 2,
        seed: int | None = 0,
        init_scale: float = 1.0,
        lr_final: float = 0.05,
        item_bias: bool = True,
        dist: Any = None,
        sync_pairs: int = 1_000_000,
        sync_mode: str = "sum",
        sync_wire: str = "float32",
        sync_overlap: bool = False,
    ) -> None:
        self.dim = dim
        self.lr = lr
        self.reg = reg
        self.epochs = epochs
        self.threads = threads
        self.seed = seed
        self.init_scale = init_scale
        self.lr_final = lr_final
        self.item_bias = item_bias
        self.dist = dist
        self.sync_pairs = sync_pairs
        self.sync_mode = sync_mode
        self.sync_wire = sync_wire
        self.sync_overlap = sync_overlap

    @property
    def _distributed(self) -> bool:
        return self.dist is not None and self.dist.distributed

    def _check(self) -> None:
        if int(self.dim) < 1:
            raise ValueError(f"dim must be at least 1, got {self.dim}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.reg < 0:
            raise ValueError(f"reg must be non-negative, got {self.reg}")
        if int(self.epochs) < 0:
            raise ValueError(f"epochs must be non-negative, got {self.epochs}")
        if int(self.threads) < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        if self.sync_mode not in ("sum", "mean"):
            raise ValueError(f"sync_mode must be 'sum' or 'mean', got {self.sync_mode!r}")
        if self.sync_wire not in ("float32", "bfloat16"):
            raise ValueError(f"sync_wire must be 'float32' or 'bfloat16', got {self.sync_wire!r}")
        if int(self.sync_pairs) < 1:
            raise ValueError(f"sync_pairs must be at least 1, got {self.sync_pairs}")
        if self._distributed and self.seed is None:
            raise ValueError("a distributed run needs a seed: every rank starts from it")

    def init(self, n_users: int, n_items: int) -> BPRMF:
        """Allocate and initialise the tables (float32, C-contiguous): ``user_table_`` and
        ``item_table_`` hold the factors and, with ``item_bias``, one more column (the users'
        constant 1, the items' bias), then zeros to whole 64-byte rows, so ``user_table_ @
        item_table_.T`` is the model's score; ``user_factors_``, ``item_factors_`` and
        ``item_bias_`` are views into them."""
        self._check()
        rng = np.random.default_rng(self.seed)
        d = int(self.dim)
        scale = float(self.init_scale) / d
        width = _width(d, self.item_bias)
        U = np.zeros((n_users, width), dtype=np.float32)
        V = np.zeros((n_items, width), dtype=np.float32)
        U[:, :d] = (rng.random((n_users, d)) - 0.5) * scale
        V[:, :d] = (rng.random((n_items, d)) - 0.5) * scale
        self.user_table_, self.item_table_ = U, V
        self.ctxs_, self._ctxs_of = None, None  # fit starts the seed's random streams afresh
        self.user_factors_, self.item_factors_ = U[:, :d], V[:, :d]
        if self.item_bias:
            U[:, d] = 1.0
            self.item_bias_ = V[:, d]
        else:
            self.item_bias_ = np.zeros(n_items, dtype=np.float32)
        return self

    def fit(
        self,
        train: sp.spmatrix,
        sampler: Any,
        on_epoch: Callable[[int, dict[str, float]], bool | None] | None = None,
        progress: Any = None,
    ) -> BPRMF:
        """Train on the users x items matrix ``train`` with negatives from ``sampler``.

        ``sampler`` must be fitted on this data (``n_items``, ``positives=train``
        and, for score-aware samplers, ``output=self.item_table_`` and
        ``input=self.user_table_``, which score with the item bias as the model does: call
        :meth:`init` first); one fitted on other data or tables is refused.  Tables already
        of this data's shape are trained on as they are (a second ``fit`` goes on from the
        first one's tables and random streams; :meth:`init` starts over), others are
        initialised.  ``on_epoch(epoch,
        stats)`` is called after every epoch; returning True stops training.
        """
        train = sp.csr_matrix(train)
        n_users, n_items = train.shape
        if train.nnz == 0:
            raise ValueError("the training matrix has no interactions")
        if (
            not hasattr(self, "user_table_")
            or self.user_table_.shape[1] != _width(int(self.dim), self.item_bias)
            or self.user_factors_.shape != (n_users, self.dim)
            or self.item_factors_.shape[0] != n_items
        ):
            self.init(n_users, n_items)
        self._check()
        coo = train.tocoo()
        if max(n_users, n_items) >= 2**31:
            raise ValueError("BPRMF packs ids into 32 bits: at most 2**31 - 1 users and items")
        threads = int(self.threads)
        # (user, item) packed into one int64, so a pair is one sequential read
        pairs = (coo.row.astype(np.int64) << 32) | coo.col.astype(np.int64)
        pairs = pairs[np.random.default_rng(self.seed).permutation(pairs.size)]
        n_pairs = pairs.size  # over all ranks
        rank, world = (self.dist.rank, self.dist.world_size) if self._distributed else (0, 1)
        longest = n_pairs  # the largest shard: as many chunks on every rank
        if world > 1:  # this rank's users' pairs; contexts of its own (seed, rank * threads + t)
            owner = user_ranks(coo.row, n_users, world)
            longest = int(np.bincount(owner[coo.row], minlength=world).max())
            pairs = np.ascontiguousarray(pairs[owner[pairs >> 32] == rank])
        bounds = np.linspace(0, pairs.size, threads + 1).astype(np.int64)
        ctxs = getattr(self, "ctxs_", None)
        if ctxs is None or ctxs.shape[0] != threads or self._ctxs_of != (rank, world):
            ctxs = make_contexts(self.seed, threads * world)[rank * threads : (rank + 1) * threads]
        # kept: a second fit draws on from where the first stopped, not the same draws again
        self.ctxs_, self._ctxs_of = ctxs, (rank, world)
        every = getattr(sampler, "refresh_every_", None) or getattr(sampler, "refresh_every", None)
        n_chunks = 1 if not every else max(1, int(np.ceil(longest / float(every))))
        sync = None
        if world > 1:  # the tables are merged after every chunk
            from negkit.word2vec.dist_sync import TableSync

            n_chunks = max(n_chunks, int(np.ceil(longest / float(self.sync_pairs))))
        # cuts[t, c]: start of chunk c of thread t's shard
        cuts = np.stack(
            [
                np.linspace(bounds[t], bounds[t + 1], n_chunks + 1).astype(np.int64)
                for t in range(threads)
            ]
        )
        draw, state = sampler.kernel()
        rank_weighted = is_rank_weighted(sampler)
        harmonic = (
            np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n_items))])
            if rank_weighted
            else np.zeros(0, dtype=np.float64)
        )
        U, V = self.user_table_, self.item_table_
        use_bias, dim = bool(self.item_bias), int(self.dim)
        _check_sampler(sampler, train.shape, U, V)
        if world > 1:
            w = dim + 1 if use_bias else dim  # the padding never changes: not sent
            sync = TableSync(self.dist, [V[:, :w]], self.sync_mode,
                             overlap=bool(self.sync_overlap), wire=self.sync_wire)  # fmt: skip
            # a user's row changes on its rank only: its change, summed, merged when settled
            self.sync_, self.user_sync_ = sync, TableSync(self.dist, [U[:, :w]], "sum")
        self._unsettled = self._users_unsettled = False
        since, chunk_pairs = 0.0, longest / n_chunks  # pairs a rank trained since a merge
        self.history_: list[dict[str, float]] = []
        epochs = int(self.epochs)
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        try:
            for epoch in range(epochs):
                frac = epoch / max(epochs - 1, 1)
                lr = float(self.lr) * (1.0 - frac * (1.0 - float(self.lr_final)))
                reg = float(self.reg)
                stats = np.zeros((threads, 2), dtype=np.float64)
                t0 = time.perf_counter()
                sync_s0, parts0 = self._sync_time() if sync is not None else (0.0, {})
                for c in range(n_chunks):
                    args = [
                        (draw, state, pairs, cuts[t], c, U, V, dim, lr, reg, use_bias,
                         harmonic, ctxs[t], stats[t])
                        for t in range(threads)
                    ]  # fmt: skip
                    if pool is None:
                        _run_shard(*args[0])
                    else:
                        for f in [pool.submit(_run_shard, *a) for a in args]:
                            f.result()
                    # samplers that go stale (adaptive) rebuild every refresh_every draws
                    sampler.maybe_refresh(ctxs)
                    if sync is None:
                        continue
                    self._users_unsettled = True
                    since += chunk_pairs  # the same count on every rank
                    if since + chunk_pairs / 2 < self.sync_pairs:  # nearest to sync_pairs
                        self._unsettled = True
                    elif self.sync_overlap:
                        since = 0.0
                        sync.exchange(0, True)
                        self._unsettled = True
                    else:
                        since = 0.0
                        sync.merge()
                        self._unsettled = self.sync_wire == "bfloat16"
                if epoch == epochs - 1:
                    self.settle()  # timed with the last epoch
                totals = stats.sum(axis=0)
                t_sum = time.perf_counter()
                if sync is not None:
                    from negkit.rec.distributed import all_sum

                    totals = all_sum(self.dist, totals, "all_reduce (epoch loss)")
                seconds = time.perf_counter() - t0
                row = {
                    "epoch": epoch + 1,
                    "loss": float(totals[0] / n_pairs),
                    "correct": float(totals[1] / n_pairs),
                    "seconds": seconds,
                    "lr": lr,
                }
                if sync is not None:  # this rank's time by part: merges, the loss's sum
                    sync_s, parts = self._sync_time()
                    row["sync_seconds"] = sync_s - sync_s0
                    row["sync_parts"] = {k: v - parts0[k] for k, v in parts.items()}
                    row["loss_sum_seconds"] = time.perf_counter() - t_sum
                tables = {"user factors": U, "item factors and biases": V}
                check_finite("BPR-MF", epoch + 1, float(self.lr), loss=row["loss"], tables=tables)
                self.history_.append(row)
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(loss=f"{row['loss']:.4f}")
                if on_epoch is not None and on_epoch(epoch + 1, row):
                    break
        finally:
            if pool is not None:
                pool.shutdown()
        self.settle()  # stopped early (on_epoch): every rank stops at the same epoch
        return self

    def settle(self) -> None:
        """Make the tables equal on every rank (a collective: every rank calls it at the same
        point): merge what is in flight and what was trained since the last merge, in float32.
        :meth:`fit` calls it at its end, ``negkit.rec.train`` before each evaluation; a
        no-op when the last merge left the tables equal."""
        if getattr(self, "_unsettled", False):
            self.sync_.flush()
            self._unsettled = False
        if getattr(self, "_users_unsettled", False):
            self.user_sync_.sync(everything=True)
            self._users_unsettled = False

    def _sync_time(self) -> tuple[float, dict[str, float]]:
        """Seconds this rank spent merging, in all and by part, both tables' merges."""
        syncs = (self.sync_, self.user_sync_)
        parts = {k: sum(s.parts[k] for s in syncs) for k in self.sync_.parts}
        return sum(s.seconds for s in syncs), parts

    # ----------------------------------------------------------------- export
    def user_embeddings(self) -> np.ndarray:
        """``(n_users, dim + 1)`` float32: the factors and a constant 1 for the item bias."""
        ones = np.ones((self.user_factors_.shape[0], 1), dtype=np.float32)
        return np.hstack([self.user_factors_, ones])

    def item_embeddings(self) -> np.ndarray:
        """``(n_items, dim + 1)`` float32: the factors and the item bias."""
        return np.hstack([self.item_factors_, self.item_bias_[:, None]]).astype(np.float32)
