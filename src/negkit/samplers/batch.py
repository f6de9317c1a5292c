"""Batch samplers for the tensor engine: negatives taken from the batch itself.

A batch sampler sees a batch of ``(anchor, item)`` pairs and returns, as a
:class:`BatchNegatives`, the candidate columns shared by every row (row ``r``'s label is
column ``r``), the ``log q`` of every column for the logQ correction
(``logit - log q``), and the accidental hits to mask (set to ``-inf``).  Contract::

    neg = sampler.sample_batch(anchors, items, k)        # numpy or torch, 1-D, same length
    logits = user_vecs @ item_table[neg.items].T - neg.log_q
    logits[neg.hits] = -inf                              # labels: arange(len(anchors))

* :class:`InBatchSampler` -- in-batch negatives with logQ correction by a streaming frequency
  estimate (Yi et al., RecSys 2019, "Sampling-Bias-Corrected Neural Modeling for Large
  Corpus Item Recommendations");
* :class:`MixedNegativeSampler` -- mixed negative sampling, in-batch plus ``k`` items drawn
  from the corpus by any per-draw sampler (Yang et al., WWW 2020, "Mixed Negative Sampling
  for Learning Two-tower Neural Networks in Recommendations");
* :func:`accidental_hits` -- candidates equal to the row's positive or to any known positive
  of the row's anchor.

Cost per batch of B pairs: O(B log B) for the frequency update, O(B·C) for the hit mask (C
columns), plus ``k`` draws of the extra sampler.  State: the streaming estimate, two numbers
(16 bytes) per item.

Device path: torch anchors and items keep everything on their device -- the streaming
estimate moves there on first use (duplicates update it by scatter, all copies writing the
same value, so no ``unique``), the hit mask looks known positives up as sorted keys
(:class:`negkit.samplers._torch.DevicePositives`), the extra items come from the per-draw
sampler's own device path.  No copy to the host, nothing that synchronises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from negkit.samplers._kernels import check_count
from negkit.samplers.base import _as_csr


@dataclass
class BatchNegatives:
    """Candidates shared by the rows of a batch.

    items : ``(C,)`` item ids of the columns; the first ``len(batch)`` are the batch's items.
    log_q : ``(C,)`` log of each column's expected count per batch, to subtract from logits.
    hits : ``(len(batch), C)`` True where the column is an accidental hit for the row (never
        on the row's own label column ``r``).
    """

    items: Any
    log_q: Any
    hits: Any


class StreamingFrequency:
    """Streaming estimate of how often each item appears (Yi et al. 2019, Algorithm 2).

    ``A[i]`` is the last step item ``i`` was seen at, ``B[i]`` the estimated gap between two
    sightings: ``B ← (1 - α) B + α (t - A)``, then ``A ← t``.  The item's probability of being in
    a batch is ``q ≈ 1 / B`` (at most 1).  An item's first sighting at step ``t`` sets
    ``B = t + 1`` (the gap since the start of the stream).  Items are indexed directly (no
    hashing): ``n_items`` entries of 16 bytes.
    """

    def __init__(self, n_items: int, alpha: float = 0.01) -> None:
        self.n_items = check_count(n_items, "n_items")
        a = float(alpha)
        if not 0.0 < a <= 1.0:
            raise ValueError(
                f"alpha (the estimate's learning rate) must lie in (0, 1], got {alpha!r}"
            )
        self.alpha = a
        self.last = np.full(self.n_items, -1, dtype=np.int64)
        self.gap = np.zeros(self.n_items, dtype=np.float64)
        self._step: Any = -1  # an int on the host; a 0-dim int64 tensor on a device

    @property
    def step(self) -> int:
        """The last step recorded (-1 before any); read from the device when the state is there."""
        return int(self._step)

    def state_dict(self) -> dict[str, Any]:
        """Copies of the estimate (host arrays) and its step, for checkpoints
        (:mod:`negkit.samplers.state`)."""
        import torch

        def host(x: Any) -> np.ndarray:
            return x.cpu().numpy().copy() if isinstance(x, torch.Tensor) else np.array(x)

        return {"last": host(self.last), "gap": host(self.gap), "step": int(self._step)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`, on the device the estimate is on now."""
        import torch

        device = self.last.device if isinstance(self.last, torch.Tensor) else None
        last = np.asarray(state["last"], dtype=np.int64)
        gap = np.asarray(state["gap"], dtype=np.float64)
        if last.shape != (self.n_items,) or gap.shape != (self.n_items,):
            raise ValueError(f"the saved estimate has {last.shape[0]} items, not {self.n_items}")
        self.last, self.gap, self._step = last.copy(), gap.copy(), int(state["step"])
        self._on(device)

    def _on(self, device: Any) -> None:
        """Move the state to ``device`` (a torch device) or back to numpy (None).

        On a device the step counter is a device tensor too, advanced in place, so that an
        update captured in a CUDA graph counts every replay.
        """
        import torch

        here = self.last.device if isinstance(self.last, torch.Tensor) else None
        if here == device:
            return
        if device is None:
            self.last, self.gap = self.last.cpu().numpy(), self.gap.cpu().numpy()
            self._step = int(self._step)
        else:
            self.last = torch.as_tensor(self.last).to(device)
            self.gap = torch.as_tensor(self.gap).to(device)
            self._step = torch.tensor(int(self._step), dtype=torch.int64, device=device)

    def update(self, items: Any, step: int | None = None) -> None:
        """Record the items of one batch (duplicates count once) at ``step`` (default: next)."""
        device = _torch_device(items)
        self._on(device)
        if step is not None and int(step) <= self.step:
            raise ValueError(f"steps must increase: got {int(step)} after {self.step}")
        if device is not None:  # every copy of an item reads the old state, writes the same
            import torch

            if step is None:
                self._step.add_(1)  # no host read: capturable
            else:
                self._step.fill_(int(step))
            t = self._step
            ids = items.reshape(-1).long()
            last = self.last[ids]
            gap = (1.0 - self.alpha) * self.gap[ids] + self.alpha * (t - last).to(self.gap.dtype)
            self.gap[ids] = torch.where(last >= 0, gap, (t + 1).to(gap.dtype))
            self.last[ids] = t
            return
        t = self.step + 1 if step is None else int(step)
        ids = np.unique(_check_items(items, self.n_items, "items"))
        seen = self.last[ids] >= 0
        old, new = ids[seen], ids[~seen]
        self.gap[old] = (1.0 - self.alpha) * self.gap[old] + self.alpha * (t - self.last[old])
        self.gap[new] = t + 1.0
        self.last[ids] = t
        self._step = t

    def probability(self, items: Any) -> np.ndarray:
        """``q ≈ min(1, 1 / B)`` per item; items never seen get ``1 / (steps so far + 1)``."""
        device = _torch_device(items)
        self._on(device)
        if device is not None:
            import torch

            ids = items.reshape(-1).long()
            unseen = (self._step + 2).to(self.gap.dtype)
            gap = torch.where(self.last[ids] < 0, unseen, self.gap[ids])
            return (1.0 / gap.clamp(min=1.0)).clamp(max=1.0)
        ids = _check_items(items, self.n_items, "items")
        gap = self.gap[ids]
        unseen = self.last[ids] < 0
        gap = np.where(unseen, self.step + 2.0, gap)
        return np.minimum(1.0, 1.0 / np.maximum(gap, 1.0))


def _check_batch(anchors: Any, items: Any) -> None:
    """One (anchor, item) per pair, and at least one pair (arrays or tensors)."""
    if anchors.shape != items.shape:
        raise ValueError(
            f"anchors and items must have the same length, got {anchors.shape[0]} and "
            f"{items.shape[0]}"
        )
    if anchors.shape[0] == 0:
        raise ValueError("an empty batch has no in-batch negatives")


class BatchSampler:
    """Base of the batch samplers: ``sample_batch(anchors, items, k=None) -> BatchNegatives``.

    positives : optional CSR anchor x item matrix; candidates that are known positives of a
        row's anchor are reported as hits (with ``remove_accidental_hits=True``).
    """

    def __init__(
        self,
        n_items: int,
        *,
        alpha: float = 0.01,
        positives: Any = None,
        remove_accidental_hits: bool = True,
    ) -> None:
        self.n_items = check_count(n_items, "n_items")
        self.frequency = StreamingFrequency(self.n_items, alpha)
        self.positives = _as_csr(positives, self.n_items) if positives is not None else None
        self.remove_accidental_hits = remove_accidental_hits

    def sample_batch(self, anchors: Any, items: Any, k: int | None = None) -> BatchNegatives:
        torch_device = _torch_device(anchors, items)
        if torch_device is not None and _torch_device(anchors) == _torch_device(items):
            return self._sample_batch_device(anchors, items, k)
        a = _check_items(_to_numpy(anchors), None, "anchors")
        it = _check_items(_to_numpy(items), self.n_items, "items")
        _check_batch(a, it)
        self.frequency.update(it)
        cand, q = self._candidates(a, it, k)
        out = BatchNegatives(cand, np.log(q), self.hits_for(a, it, cand))
        if torch_device is not None:
            import torch

            out = BatchNegatives(
                *(
                    torch.from_numpy(np.ascontiguousarray(x)).to(torch_device)
                    for x in (out.items, out.log_q, out.hits)
                )
            )
        return out

    def _candidates(self, anchors: np.ndarray, items: np.ndarray, k: int | None):
        raise NotImplementedError

    def _sample_batch_device(self, anchors: Any, items: Any, k: int | None) -> BatchNegatives:
        import torch

        a = anchors.reshape(-1).long()
        it = items.reshape(-1).long()
        _check_batch(a, it)
        self.frequency.update(it)
        cand, q = self._candidates_device(a, it, k)
        return BatchNegatives(cand, torch.log(q), self.hits_for(a, it, cand))

    def hits_for(self, anchors: Any, items: Any, candidates: Any, offset: int = 0) -> Any:
        """The accidental-hit mask of ``candidates`` for the rows ``(anchors, items)``: a
        column equal to the row's item or a known positive of its anchor, except row ``r``'s
        label column ``offset + r`` (``offset > 0`` when the columns were gathered from several
        ranks, this rank's own starting there).  All False without ``remove_accidental_hits``.
        Torch in, torch out on the same device (nothing synchronises); else numpy."""
        if _torch_device(anchors, items, candidates) is None:
            a, it = np.asarray(anchors).reshape(-1), np.asarray(items).reshape(-1)
            cand = np.asarray(candidates).reshape(-1)
            if not self.remove_accidental_hits:
                return np.zeros((a.shape[0], cand.shape[0]), dtype=bool)
            return accidental_hits(a, it, cand, self.positives, offset)
        import torch

        a, it, cand = anchors.reshape(-1), items.reshape(-1), candidates.reshape(-1)
        hits = it[:, None] == cand[None, :]
        if not self.remove_accidental_hits:
            return torch.zeros_like(hits)
        if self.positives is not None:
            hits |= self._device_positives(a.device).pair_hits(a, cand)
        if offset == 0:
            hits.fill_diagonal_(False)  # a row's own positive (a kernel: no host scalar copied)
        else:
            rows = torch.arange(min(len(it), len(cand) - offset), device=hits.device)
            hits[rows, rows + offset] = False
        return hits

    #: the device draw is a pure function of device tensors (see ``Sampler.graph_safe``)
    graph_safe = True

    def device_generators(self, device: Any) -> list:
        """The torch generators drawn with on ``device`` (none: the batch is the draw)."""
        return []

    def _device_positives(self, device: Any) -> Any:
        from negkit.samplers._torch import DevicePositives

        cached = getattr(self, "_positives_t", None)
        if cached is None or cached.keys.device != device:
            cached = DevicePositives(self.positives, self.n_items, device)
            self._positives_t = cached
        return cached

    def _candidates_device(self, anchors: Any, items: Any, k: int | None):
        raise NotImplementedError


class InBatchSampler(BatchSampler):
    """The batch's own items as negatives; ``log q`` by :class:`StreamingFrequency` (Yi 2019).

    Each column's ``q`` is the estimated probability that its item is in a batch; ``k`` is
    ignored (the batch size sets the number of negatives).
    """

    def _candidates(self, anchors, items, k):
        return items, self.frequency.probability(items)

    _candidates_device = _candidates


class MixedNegativeSampler(BatchSampler):
    """In-batch negatives plus ``k`` corpus items shared by the batch (Yang et al. 2020).

    sampler : the per-draw sampler of the extra items (a name or a Sampler; default
        ``"uniform"``; e.g. ``"unigram"`` fitted with ``counts=``), fitted here unless it
        already is.  ``fit`` : keyword arguments for that fit.
    Each column's ``q`` is the expected number of times its item is a candidate per batch:
    ``q(j) = q_batch(j) + k · p_sampler(j)``.
    """

    def __init__(
        self,
        n_items: int,
        k: int = 64,
        sampler: Any = "uniform",
        *,
        seed: int | None = None,
        fit: dict | None = None,
        alpha: float = 0.01,
        positives: Any = None,
        remove_accidental_hits: bool = True,
    ) -> None:
        super().__init__(
            n_items, alpha=alpha, positives=positives, remove_accidental_hits=remove_accidental_hits
        )
        from negkit.samplers.registry import get

        self.k = check_count(k, "k")
        self.sampler = get(sampler) if isinstance(sampler, str) else sampler
        if getattr(self.sampler, "score_aware", False):
            raise ValueError(
                f"the extra negatives are shared by the whole batch: {self.sampler.name!r} scores "
                "per anchor; use a static sampler (uniform, unigram)"
            )
        if getattr(self.sampler, "exclude_positives", False):
            raise ValueError(
                "the extra negatives are shared by the whole batch, drawn for no one anchor: an "
                "extra sampler with exclude_positives=True would exclude one user's positives "
                "for all; the hit mask removes each row's positives (positives=)"
            )
        if isinstance(sampler, str):
            self.sampler.set_params(seed=seed)
        if not hasattr(self.sampler, "n_items_"):
            self.sampler.fit(**({"n_items": self.n_items} if fit is None else fit))
        if self.sampler.n_items_ != self.n_items:
            raise ValueError(
                f"the extra sampler has {self.sampler.n_items_} items, "
                f"the batch sampler {self.n_items}"
            )

    @property
    def graph_safe(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.sampler, "graph_safe", False))

    def device_generators(self, device: Any) -> list:
        return self.sampler.device_generators(device)

    def _candidates(self, anchors, items, k):
        k = self.k if k is None else check_count(k, "k")
        extra = self.sampler.sample(np.zeros(1, dtype=np.int64), k).reshape(-1)
        cand = np.concatenate([items, extra])
        p = self.sampler.proba(cand[None, :]).reshape(-1)
        return cand, self.frequency.probability(cand) + k * p

    def _candidates_device(self, anchors, items, k):
        import torch

        k = self.k if k is None else check_count(k, "k")
        zero = torch.zeros(1, dtype=torch.int64, device=items.device)
        extra = self.sampler.sample(zero, k).reshape(-1)
        cand = torch.cat([items, extra])
        q = getattr(self, "_q_t", None)
        if q is None or q.device != items.device:  # the sampler's static law, on the device
            q = torch.as_tensor(self.sampler.proba(np.arange(self.n_items)), device=items.device)
            self._q_t = q
        return cand, self.frequency.probability(cand) + k * q[cand]


def accidental_hits(anchors: Any, items: Any, candidates: Any, positives: Any = None,
                    offset: int = 0) -> np.ndarray:  # fmt: skip
    """``(len(items), C)`` mask: candidate equals the row's positive or is a positive of its anchor.

    The row's own label column ``offset + r`` (in-batch layout; ``offset`` where the columns
    were gathered from several ranks) is never a hit.
    """
    a = np.asarray(anchors, dtype=np.int64).reshape(-1)
    it = np.asarray(items, dtype=np.int64).reshape(-1)
    cand = np.asarray(candidates, dtype=np.int64).reshape(-1)
    hits = it[:, None] == cand[None, :]
    if positives is not None:
        p = sp.csr_matrix(positives)
        if a.size and a.max() >= p.shape[0]:
            raise ValueError(
                f"anchor id {a.max()} is out of range of positives ({p.shape[0]} rows)"
            )
        hits |= p[a][:, cand].toarray() != 0
    n = max(0, min(it.shape[0], cand.shape[0] - offset))
    hits[np.arange(n), np.arange(n) + offset] = False
    return hits


def _torch_device(*xs: Any):
    for x in xs:
        if type(x).__module__.startswith("torch"):
            return x.device
    return None


def _to_numpy(x: Any) -> np.ndarray:
    if type(x).__module__.startswith("torch"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _check_items(x: Any, n: int | None, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {x.shape}")
    if x.size and not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"{what} must be integer ids, got dtype {x.dtype}")
    x = x.astype(np.int64)
    if x.size and x.min() < 0:
        raise ValueError(f"{what} must be non-negative ids, got {x.min()}")
    if n is not None and x.size and x.max() >= n:
        raise ValueError(f"{what} id {x.max()} is out of range (there are {n} items)")
    return x
