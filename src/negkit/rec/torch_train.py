"""The PyTorch training step for MF and LightGCN, fed by any negkit sampler.

Built for data parallelism to be added later: the model is a plain
``nn.Module``, batches come from :class:`PairBatches` (a DataLoader-like
iterable with ``set_epoch`` and a ``rank`` / ``world_size`` shard, as
``DistributedSampler``), and :meth:`TorchTrainer.step` computes one loss and
one optimiser step with no global state (wrapping the model in
``DistributedDataParallel`` averages its gradients).

Modes:

* ``"sampled"`` — ``k`` negatives a pair from the sampler, loss ``bpr`` / ``bce`` /
  ``softmax`` (sampled softmax with logQ correction when the sampler's
  distribution is static);
* ``"batch"`` — a batch sampler of :mod:`negkit.samplers.batch` (``InBatchSampler``,
  ``MixedNegativeSampler``): softmax over the shared candidate columns, minus their
  ``log q``, accidental hits masked;
* ``"in_batch"`` — two-tower in-batch softmax without a sampler object, logQ-corrected
  by the items' training frequency (Yi et al., RecSys 2019);
* ``"mixgcf"`` — MixGCF synthetic negatives from ``n_candidates`` sampler draws
  (Huang et al., KDD 2021), BPR loss.

On the device (CPU or CUDA): the training pairs live on the model's device and are
shuffled there each epoch (:class:`PairBatches` with ``device=``, ``torch.randperm``); a
sampler with a device path (``sampler.device_path``) draws there, score-aware ones
from the live propagated tables handed over by reference (``sampler.use_tables``, no copy);
the loss is accumulated as a device tensor and read once an epoch.  Nothing
synchronises per step.

Samplers without a device path (mcns; adaptive with dims="snapshot") draw on the host: score-aware
ones read ``fit(output=trainer.item_table, input=trainer.user_table)``, float32 CPU
buffers that the trainer refreshes before every draw when the model does not expose
its tables directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from negkit._diverge import check_finite
from negkit.rec import losses
from negkit.rec.loss_settings import check_mixgcf, check_tau
from negkit.rec.mixgcf import mixgcf_negatives
from negkit.rec.sampler_check import check_sampler_data
from negkit.samplers.base import positive_mass
from negkit.samplers.warp import is_rank_weighted

__all__ = ["PairBatches", "TorchTrainer", "MODES"]

MODES = ("sampled", "batch", "in_batch", "mixgcf")


class PairBatches:
    """Shuffled (user, positive item) pairs of a CSR matrix, ``batch_size`` at a time.

    ``rank`` / ``world_size`` give each data-parallel worker a disjoint shard of the
    epoch's permutation (the permutation depends only on ``seed`` and the epoch).  With
    ``world_size > 1`` the permutation is padded by its first pairs to a multiple of
    ``world_size`` (as ``DistributedSampler``), so every rank takes the same number of steps.
    device : None gives numpy batches shuffled on the host; a torch device keeps the pairs
        there, shuffles them there (``torch.randperm``) and yields int64 tensors.
    """

    def __init__(
        self,
        train: sp.spmatrix,
        batch_size: int = 2048,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = False,
        device: str | torch.device | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
        coo = sp.coo_matrix(train)
        if coo.nnz == 0:
            raise ValueError("the training matrix has no interactions")
        self.users = coo.row.astype(np.int64)
        self.items = coo.col.astype(np.int64)
        self.batch_size = int(batch_size)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.drop_last = drop_last
        self.epoch = 0
        self.device = None if device is None else torch.device(device)
        if self.device is not None:
            self.users_t = torch.from_numpy(self.users).to(self.device)
            self.items_t = torch.from_numpy(self.items).to(self.device)
            self._gen = torch.Generator(device=self.device)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _indices(self) -> Any:
        if self.device is not None:
            self._gen.manual_seed(self.seed * 1_000_003 + self.epoch)
            perm = torch.randperm(self.users.size, generator=self._gen, device=self.device)
            return self._pad(perm, torch.cat)[self.rank :: self.world_size]
        perm = np.random.default_rng([self.seed, self.epoch]).permutation(self.users.size)
        return self._pad(perm, np.concatenate)[self.rank :: self.world_size]

    def _pad(self, perm: Any, cat: Any) -> Any:
        extra = -self.users.size % self.world_size
        return cat([perm, perm[:extra]]) if extra else perm

    def __len__(self) -> int:
        n = -(-self.users.size // self.world_size)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        idx = self._indices()
        users, items = (
            (self.users, self.items) if self.device is None else (self.users_t, self.items_t)
        )
        size = len(idx)  # known on the host: no synchronisation
        for lo in range(0, size, self.batch_size):
            b = idx[lo : lo + self.batch_size]
            if self.drop_last and len(b) < self.batch_size:
                break
            yield users[b], items[b]


def _adam(params: Any, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam, fused where torch has the kernel: on CUDA (with its step counts on the device, for
    CUDA graphs) and on CPU (torch >= 2.4; several times faster than the per-tensor loop)."""
    params = list(params)
    if device.type == "cuda":
        return torch.optim.Adam(params, lr=lr, fused=True, capturable=True)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):  # an older torch without the CPU kernel
        return torch.optim.Adam(params, lr=lr)


class TorchTrainer:
    """One model, one sampler, one optimiser (Adam), one loss.

    reg : L2 weight on the batch's layer-0 rows, ``reg/2 * (|e_u|^2 + |e_i|^2 + |e_j|^2) / B``
        (the LightGCN convention; ``e_j`` summed over the ``k`` negatives; in the mixgcf mode
        the synthetic negative's layer-0 mix ``a e_i + (1 - a) e_m``, as MixGCF's code; in the
        batch and in-batch modes ``|e_u|^2 + |e_i|^2`` alone: the in-batch columns are other
        rows' positives, penalised as theirs, and a mixed sampler's extra columns are not).
    sampler_on_device : draw with the sampler's torch path (True), on the host (False), or
        None: on the device when it is not the CPU; on CPU for the per-draw samplers that read
        no scores.
    cuda_graph : run every full batch as one captured CUDA graph (:mod:`negkit.rec.cuda_graph`):
        None (default) where the step allows it (CUDA, one process, a ``graph_safe`` sampler
        drawing on the device), False never, True or a ValueError saying why not.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        sampler: Any,
        train: sp.spmatrix,
        *,
        mode: str = "sampled",
        loss: str = "bpr",
        n_negs: int = 1,
        n_candidates: int = 16,
        lr: float = 1e-3,
        reg: float = 1e-4,
        tau: float = 1.0,
        device: str | torch.device = "cpu",
        seed: int = 0,
        sampler_on_device: bool | None = None,
        dist_ctx: Any = None,
        gather_negatives: bool = False,
        cuda_graph: bool | None = None,
        row_grads: bool | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
        if loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(losses.LOSSES)}")
        if gather_negatives and mode not in ("in_batch", "batch"):
            raise ValueError("gather_negatives works with the in-batch and batch modes only")
        if n_negs < 1 or n_candidates < 1:
            raise ValueError("n_negs and n_candidates must be at least 1")
        if mode == "mixgcf":
            check_mixgcf(loss, n_negs)
        if mode in ("sampled", "mixgcf"):  # the batch modes train the softmax, which reads tau
            check_tau(loss, tau)
        if is_rank_weighted(sampler):
            raise ValueError(
                "warp weights each update by its rank estimate (Weston et al. 2011), which "
                "only the compiled engine applies: train MF with engine 'numba' (the CPU "
                "default); here the draws would train plain, unweighted BPR"
            )
        self.device = torch.device(device)
        self.model = model.to(self.device)
        #: negkit.rec.distributed.Context; with world_size > 1 the model runs wrapped in DDP
        self.dist_ctx = dist_ctx
        self.net = model
        #: data parallel over the ranks of ``dist_ctx``
        self.distributed = dist_ctx is not None and dist_ctx.distributed
        #: in-batch negatives from every rank's batch (all_gather), not this rank's alone
        self.gather_negatives = bool(gather_negatives)
        # rows can be read sparsely where the step reads the parameters themselves (MF)
        with torch.no_grad():
            tables = model.propagate()
        tables_only = mode != "mixgcf" and all(isinstance(t, torch.nn.Parameter) for t in tables)
        if row_grads is None:  # on an accelerator dense is cheap, and a CUDA graph needs it
            row_grads = tables_only and self.device.type == "cpu"
        if row_grads and not tables_only:
            raise ValueError("row_grads needs a model without propagation (MF), not mixgcf")
        if self.distributed and not row_grads:
            from negkit.rec.distributed import wrap

            self.net = wrap(self.model, dist_ctx)
        check_sampler_data(sampler, train.shape)  # made or fitted by the caller: on this data
        self.sampler = sampler
        self.mode, self.loss_name = mode, loss
        self.n_negs, self.n_candidates = int(n_negs), int(n_candidates)
        self.reg, self.tau = float(reg), float(tau)
        self.generator = torch.Generator(device=self.device).manual_seed(int(seed))
        self.optimizer = _adam(self.model.parameters(), lr, self.device)
        #: the step reads its rows sparsely and :class:`negkit.rec.row_grads.RowGrads`
        #: makes the gradient (and averages it over the ranks instead of DDP)
        self.row_grads = None
        if row_grads:
            from negkit.rec.row_grads import RowGrads

            self.row_grads = RowGrads(list(self.model.parameters()), dist_ctx)
        counts = np.bincount(sp.csr_matrix(train).indices, minlength=model.n_items).astype(
            np.float64
        )
        freq = np.maximum(counts, 1.0) / counts.sum()
        self.log_pop = torch.tensor(np.log(freq), dtype=torch.float32, device=self.device)
        self._shared = self.device.type == "cpu" and not hasattr(model, "graph")
        if self._shared:  # MF on CPU: the parameters themselves, read live
            self.user_table = model.user.weight.detach().numpy()
            self.item_table = model.item.weight.detach().numpy()
        else:
            dim = model.user.weight.shape[1]
            self.user_table = np.zeros((model.n_users, dim), dtype=np.float32)
            self.item_table = np.zeros((model.n_items, dim), dtype=np.float32)
        self._sampler_log_q: torch.Tensor | None = None
        #: Negatives are drawn on the device (the sampler's torch path), not on the host.  By
        #: default: on an accelerator whenever the sampler can; on CPU only for samplers that
        #: read no scores, since the compiled host kernels score candidates without the torch
        #: path's gathers, and not for batch samplers, whose hit mask scipy builds faster
        #: (several times faster there, measured in docs/benchmarks.md).
        batch = hasattr(sampler, "sample_batch")
        can = batch or bool(getattr(sampler, "device_path", False))
        if sampler_on_device is None:  # the hit mask of a batch sampler: scipy is faster on CPU
            host_faster = batch or getattr(sampler, "score_aware", False)
            sampler_on_device = can and (self.device.type != "cpu" or not host_faster)
        if sampler_on_device and not can:
            raise ValueError(f"{type(sampler).__name__} has no device path")
        self.on_device = bool(sampler_on_device)
        from negkit.rec.cuda_graph import graph_blocker

        blocker = graph_blocker(self) if cuda_graph is not False else "turned off"
        if cuda_graph and blocker is not None:
            raise ValueError(f"cuda_graph=True, but the step cannot be a CUDA graph: {blocker}")
        #: run full batches as a captured CUDA graph (:mod:`negkit.rec.cuda_graph`)
        self.cuda_graph = blocker is None
        self._graphed: Any = None
        #: how the last epoch's full batches ran: "cuda graph", or "eager (<why>)"
        self.step_mode = "cuda graph" if self.cuda_graph else f"eager ({blocker})"

    # ----------------------------------------------------------------- helpers
    def _sync_tables(self, users_t: torch.Tensor, items_t: torch.Tensor) -> None:
        if self._shared or not getattr(self.sampler, "score_aware", False):
            return
        self.user_table[:] = users_t.detach().cpu().numpy()
        self.item_table[:] = items_t.detach().cpu().numpy()

    def _draw(
        self, u_t: torch.Tensor, p_t: torch.Tensor, k: int, users_all: Any, items_all: Any
    ) -> torch.Tensor:
        """``(B, k)`` negatives on the device: drawn there when the sampler can, else on the
        host from the refreshed CPU tables (one copy of each table a step)."""
        aware = getattr(self.sampler, "score_aware", False)
        if self.on_device:
            vecs = None
            if aware:
                self.sampler.use_tables(output=items_all.detach(), input=users_all.detach())
                vecs = users_all.detach()[u_t]
            return self.sampler.sample(u_t, k, anchor_vectors=vecs, pos=p_t)
        self._sync_tables(users_all, items_all)
        users, pos = u_t.cpu().numpy(), p_t.cpu().numpy()
        vecs = self.user_table[users] if aware else None
        negs = self.sampler.sample(users, k, anchor_vectors=vecs, pos=pos)
        return torch.from_numpy(np.asarray(negs, dtype=np.int64)).to(self.device)

    def _static_log_q(self) -> torch.Tensor | None:
        """log q(item) of a sampler whose distribution does not depend on the anchor, else None.

        Read once, except for a sampler whose law moves as it draws (``dynamic_law``: the
        queue, which pushes every pair's positive): read afresh before each batch's draws (the
        batch's own pushes move it by ``B / size`` within the batch).  With
        ``exclude_positives`` the draws' law is ``q(i) / (1 - q(P_u))`` for user ``u``:
        :meth:`_log_q_of` subtracts ``log(1 - q(P_u))`` (:attr:`_log_norm`) per row.  (The
        sampler's exact law, :meth:`Sampler.proba`, also mixes in its uniform complement draw
        after ``T`` rejected tries, with weight ``q(P_u)^T``: left out here, negligible unless
        a user's positives hold most of ``q``.)"""
        if getattr(self.sampler, "dynamic_law", False):
            self._sampler_log_q = None
        if self._sampler_log_q is None and not getattr(self.sampler, "score_aware", False):
            try:
                q = np.asarray(self.sampler.distribution(), dtype=np.float64)
            except (NotImplementedError, TypeError, ValueError):
                return None
            self._sampler_log_q = torch.tensor(
                np.log(np.maximum(q, 1e-30)), dtype=torch.float32, device=self.device
            )
            self._log_norm = None
            p = getattr(self.sampler, "positives_", None)
            if getattr(self.sampler, "exclude_positives", False) and p is not None:
                norm = np.maximum(1.0 - positive_mass(q, p), 1e-30)
                self._log_norm = torch.tensor(np.log(norm), dtype=torch.float32, device=self.device)
        return self._sampler_log_q

    def _log_q_of(self, lq: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``log q(items[b, ...] | users[b])`` of the draws: the law renormalised over each
        user's non-positives when the sampler excludes them (users beyond the known positives
        have none to exclude)."""
        out = lq[items]
        norm = getattr(self, "_log_norm", None)
        if norm is None:
            return out
        inside = users < norm.shape[0]
        shift = torch.where(inside, norm[users.clamp(max=norm.shape[0] - 1)], 0.0)
        return out - shift.reshape(shift.shape + (1,) * (out.ndim - 1))

    def _gathered(self, neg: Any, u_t: torch.Tensor, p_t: torch.Tensor) -> tuple[Any, int]:
        """Every rank's batch columns (in-batch and mixed negatives) as this rank's columns:
        ids and ``log q`` all_gathered in rank order (each rank's ``q`` is its own estimate
        per batch; the common factor ``world_size`` cancels in the softmax), the hit mask
        rebuilt for the gathered columns; returns them and the offset of this rank's own."""
        from negkit.rec.distributed import gather_ids

        items, off = gather_ids(self.dist_ctx, neg.items.long())
        log_q, _ = gather_ids(self.dist_ctx, neg.log_q.float())
        if self.on_device:
            hits = self.sampler.hits_for(u_t, p_t, items, off)
        else:
            hits = torch.as_tensor(
                self.sampler.hits_for(
                    u_t.cpu().numpy(), p_t.cpu().numpy(), items.cpu().numpy(), off
                ),  # fmt: skip
                device=u_t.device,
            )
        return type(neg)(items, log_q, hits), off

    def _rows(self, table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """``table[ids]``; with row gradients, read so that the gradient comes back sparse."""
        if self.row_grads is None:
            return table[ids]
        return torch.nn.functional.embedding(ids, table, sparse=True)

    def _l2(self, *rows: torch.Tensor) -> torch.Tensor:
        b = rows[0].shape[0]
        return self.reg * 0.5 * sum(r.pow(2).sum() for r in rows) / b

    # -------------------------------------------------------------------- step
    def step(self, users: Any, pos: Any) -> float:
        """One optimiser step on a batch of (user, positive) pairs; returns the loss."""
        return float(self.step_tensor(users, pos))

    def step_tensor(self, users: Any, pos: Any) -> torch.Tensor:
        """One optimiser step; the loss as a detached device tensor (no synchronisation)."""
        self.model.train()
        dev = self.device
        u_t = torch.as_tensor(users, device=dev).to(torch.int64)
        p_t = torch.as_tensor(pos, device=dev).to(torch.int64)
        ego_u, ego_i = self.model.ego()
        if self.mode == "mixgcf":
            layers = self.net(per_layer=True)
            users_all = torch.stack([a for a, _ in layers]).mean(0)
            items_all = torch.stack([b for _, b in layers]).mean(0)
            cand = self._draw(u_t, p_t, self.n_candidates, users_all, items_all)
            e_u = users_all[u_t]
            e_n, kept = mixgcf_negatives(layers, u_t, p_t, cand, self.generator, per_layer=True)
            pos_s = (e_u * items_all[p_t]).sum(-1)
            neg_s = (e_u * e_n).sum(-1, keepdim=True)
            loss = losses.bpr(pos_s, neg_s)
            # the synthetic negative's ego part, as MixGCF's code (not the candidates' mean)
            loss = loss + self._l2(ego_u[u_t], ego_i[p_t], kept[0])
        else:
            rows = self._rows
            users_all, items_all = self.net()
            e_u = rows(users_all, u_t)
            e_p = rows(items_all, p_t)
            pos_s = (e_u * e_p).sum(-1)
            if self.mode == "batch":  # a negkit.samplers batch sampler: in-batch, mixed
                if self.on_device:
                    neg = self.sampler.sample_batch(u_t, p_t, self.n_negs)
                else:
                    neg = self.sampler.sample_batch(
                        u_t.cpu().numpy(), p_t.cpu().numpy(), self.n_negs
                    )
                    neg = type(neg)(*(torch.as_tensor(x, device=dev) for x in vars(neg).values()))
                off = 0
                if self.gather_negatives and self.distributed:
                    neg, off = self._gathered(neg, u_t, p_t)
                logits = losses.column_logits(
                    e_u, rows(items_all, neg.items), neg.log_q.float(), self.tau
                )
                logits.masked_fill_(neg.hits, float("-inf"))
                target = off + torch.arange(len(p_t), device=dev)
                loss = torch.nn.functional.cross_entropy(logits, target)
                loss = loss + self._l2(rows(ego_u, u_t), rows(ego_i, p_t))
            elif self.mode == "in_batch":
                if self.gather_negatives and self.distributed:
                    from negkit.rec.distributed import gather_ids

                    p_all, off = gather_ids(self.dist_ctx, p_t)
                    loss = losses.in_batch_softmax(
                        e_u,
                        rows(items_all, p_all),
                        self.log_pop[p_all],
                        self.tau,
                        p_all,
                        offset=off,
                    )
                else:
                    loss = losses.in_batch_softmax(e_u, e_p, self.log_pop[p_t], self.tau, p_t)
                loss = loss + self._l2(rows(ego_u, u_t), rows(ego_i, p_t))
            else:
                # the law the draws come from: read before them (a queue pushes as it draws)
                lq = self._static_log_q() if self.loss_name in losses.LOG_Q_LOSSES else None
                neg = self._draw(u_t, p_t, self.n_negs, users_all, items_all)
                neg_s = torch.einsum("bd,bkd->bk", e_u, rows(items_all, neg))
                if lq is None and self.loss_name in ("nce", "snis"):
                    raise ValueError(
                        f"loss {self.loss_name!r} needs a sampler with an anchor-free "
                        "distribution() (its log q), e.g. uniform or unigram"
                    )
                # the positive's q by the same (renormalised) formula as its negatives'
                extra = (
                    {"log_q_pos": self._log_q_of(lq, u_t, p_t)} if self.loss_name == "nce" else {}
                )
                loss = losses.LOSSES[self.loss_name](
                    pos_s, neg_s, self._log_q_of(lq, u_t, neg) if lq is not None else None,
                    self.tau, **extra,
                )  # fmt: skip
                loss = loss + self._l2(
                    rows(ego_u, u_t), rows(ego_i, p_t), rows(ego_i, neg).reshape(-1, ego_i.shape[1])
                )
        self.optimizer.zero_grad(set_to_none=True)
        if self.net is not self.model:  # DDP averages the gradients during backward
            from negkit.rec.distributed import guarded

            guarded(self.dist_ctx, "gradient all_reduce", loss.backward)
        else:
            loss.backward()
        if self.row_grads is not None:
            self.row_grads.reduce()
        self.optimizer.step()
        return loss.detach()

    def train_epoch(self, batches: PairBatches, progress: Any = None) -> dict[str, float]:
        """One pass over ``batches``; ``{"loss"}``, the mean loss a pair, read from the device
        once.

        Raises :class:`negkit._diverge.TrainingDivergedError` when the loss or a parameter
        is NaN, infinite or above 1e15 (epochs counted from 1 over this trainer's life).
        """
        self.epochs_done_ = getattr(self, "epochs_done_", 0) + 1
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        graphed = self._graph_for(batches.batch_size)
        if graphed is not None:
            total = graphed.total
            total.zero_()
        n = 0
        for users, pos in batches:
            b = len(users)
            if graphed is None or not graphed(users, pos):
                total += self.step_tensor(users, pos).to(torch.float64) * b
            n += b
            ctx = getattr(self.sampler, "_ctx", None)
            if ctx is not None:  # the sampler's own context counts the batch draws
                self.sampler.maybe_refresh(ctx[None, :])
            if progress is not None:
                progress.update(1)
        if graphed is not None and graphed.reason is not None:
            self.step_mode = f"eager ({graphed.reason})"
        if self.distributed:  # the mean over every rank's pairs
            from negkit.rec.distributed import all_mean

            loss = all_mean(self.dist_ctx, total, n)
        else:
            loss = float(total) / max(n, 1)
        lr = float(self.optimizer.param_groups[0]["lr"])
        name = type(self.model).__name__
        check_finite(
            name, self.epochs_done_, lr, loss=loss, tables=dict(self.model.named_parameters())
        )
        return {"loss": loss}

    def _graph_for(self, batch_size: int) -> Any:
        """The step's CUDA graph for full batches of ``batch_size`` (None: run eagerly)."""
        if not self.cuda_graph:
            return None
        if self._graphed is None or self._graphed.batch_size != batch_size:
            from negkit.rec.cuda_graph import GraphedStep

            total = torch.zeros((), dtype=torch.float64, device=self.device)
            self._graphed = GraphedStep(self, batch_size, total)
        return self._graphed

    @torch.no_grad()
    def device_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Final (propagated) user and item tables, float32 tensors on the device."""
        self.model.eval()
        u, i = self.model.propagate()
        return u.detach().float().clone(), i.detach().float().clone()

    @torch.no_grad()
    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """Final (propagated) user and item tables, float32 numpy."""
        self.model.eval()
        u, i = self.model.propagate()
        return (
            u.detach().cpu().numpy().astype(np.float32, copy=True),
            i.detach().cpu().numpy().astype(np.float32, copy=True),
        )
