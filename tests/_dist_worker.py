"""One rank of the distributed tests, started as torchrun would (RANK, WORLD_SIZE, MASTER_*).

1. two steps of MF (row-sparse gradients, and DDP's dense ones) and of LightGCN (sampled
   negatives), of MF with in-batch negatives gathered from both ranks, and of MF with a
   batch sampler's columns (the batch plus extra items, as mixed negatives) gathered from
   both, each step on this rank's half of a fixed batch; rank 0 saves the parameters to
   ``OUT/params.npz``;
2. when ml-100k is in ``NEGKIT_DATA``: :func:`quality_runs` data-parallel, ``batch_size``
   halved per rank (the same global batch); rank 0 saves Recall@20 to ``OUT/quality.json``,
   and every rank its final numba MF tables to ``OUT/mf-numba[-bf16-overlap]-RANK.npz``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from negkit.rec import distributed
from negkit.rec.synthetic import planted_interactions
from negkit.rec.torch_models import MF, LightGCN
from negkit.rec.torch_train import TorchTrainer
from negkit.samplers.batch import BatchSampler


class ShiftSampler:
    """Deterministic negatives: ``pos + 1 .. pos + k`` (mod the item count)."""

    def __init__(self, n_items: int) -> None:
        self.n_items = n_items

    def sample(self, users, k, anchor_vectors=None, pos=None):
        return (np.asarray(pos)[:, None] + 1 + np.arange(k)[None, :]) % self.n_items


class FixedExtraSampler(BatchSampler):
    """A batch sampler whose columns are the batch's items plus fixed ``extra`` items (as
    mixed negatives, without the draw), every column with ``q = 1``."""

    def __init__(self, n_items, extra, positives) -> None:
        super().__init__(n_items, positives=positives)
        self.extra = list(extra)

    def _candidates_device(self, anchors, items, k):
        cand = torch.cat([items, torch.as_tensor(self.extra, device=items.device)])
        return cand, torch.ones(len(cand), device=items.device)

    def _candidates(self, anchors, items, k):
        cand = np.concatenate([items, np.asarray(self.extra, dtype=np.int64)])
        return cand, np.ones(len(cand))


#: the fixed extra columns of rank 0 and rank 1 (one process: both, after the batch)
EXTRA = ([3, 11, 20], [7, 11, 25])


def data():
    return planted_interactions(
        n_users=40, n_items=30, n_groups=3, per_user=8, n_valid=0, n_test=2, seed=3
    )


def models(train):
    torch.manual_seed(0)
    mf = MF(train.shape[0], train.shape[1], dim=8)
    torch.manual_seed(0)
    mf_ddp = MF(train.shape[0], train.shape[1], dim=8)
    torch.manual_seed(0)
    gcn = LightGCN(train, dim=8, n_layers=2)
    torch.manual_seed(1)
    inbatch = MF(train.shape[0], train.shape[1], dim=8)
    torch.manual_seed(2)
    mixed = MF(train.shape[0], train.shape[1], dim=8)
    return {"mf": mf, "mf_ddp": mf_ddp, "lightgcn": gcn, "inbatch": inbatch, "mixed": mixed}


def batches(train, n: int = 16) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two fixed batches of ``n`` training pairs (different rows, so that the second step
    finds the first step's gradient rows cleared)."""
    rows, cols = train.nonzero()
    out = []
    for seed in (5, 6):
        pick = np.random.default_rng(seed).choice(len(rows), n, replace=False)
        out.append((rows[pick], cols[pick]))
    return out


def step(train, ctx, steps) -> dict[str, np.ndarray]:
    out = {}
    for name, model in models(train).items():
        sampler = ShiftSampler(train.shape[1])
        mode = {"inbatch": "in_batch", "mixed": "batch"}.get(name, "sampled")
        if name == "mixed":  # the batch columns plus extra items, gathered from both ranks
            extra = EXTRA[ctx.rank] if ctx.distributed else EXTRA[0] + EXTRA[1]
            sampler = FixedExtraSampler(train.shape[1], extra, train)
        trainer = TorchTrainer(
            model, sampler, train, mode=mode, n_negs=2, lr=0.05, reg=0.01, dist_ctx=ctx,
            gather_negatives=mode != "sampled", row_grads=False if name == "mf_ddp" else None,
        )  # fmt: skip
        for users, pos in steps:
            trainer.step(users, pos)
        for p, t in model.named_parameters():
            out[f"{name}.{p}"] = t.detach().numpy().copy()
    return out


def quality_runs(ctx, world_size: int = 1, out: Path | None = None) -> dict[str, float]:
    """Test Recall@20 of torch MF and LightGCN on ml-100k after 4 epochs, and of numba MF
    after 20 epochs (merged every 5000 pairs a rank; float32, then bfloat16 overlapped) ({}
    without the data)."""
    from negkit.data import registry
    from negkit.rec.train import RecSettings, load_data, run

    try:
        data = load_data("ml-100k")
    except registry.DataMissingError:
        return {}
    recall = {}
    for model in ("mf", "lightgcn"):
        settings = RecSettings(
            data=data, model=model, engine="torch", epochs=4, lr=1e-2, dim=32, n_layers=2,
            batch_size=2048 // world_size, threads=1,
        )  # fmt: skip
        result = run(settings, "rns", seed=0, dist_ctx=ctx)
        if ctx.is_main:
            recall[model] = result["test"]["recall@20"]
    # the merges as they are by default, then bfloat16 and overlapped (made equal by settle()
    # before the evaluation at epoch 10 and at the end)
    for name, opts in (("mf-numba", {}),
                       ("mf-numba-bf16-overlap", {"sync_wire": "bfloat16", "sync_overlap": True,
                                                  "eval_every": 10})):  # fmt: skip
        settings = RecSettings(data=data, model="mf", engine="numba", epochs=20, dim=32,
                               threads=1, sync_pairs=5000, **opts)  # fmt: skip
        result = run(settings, "rns", seed=0, dist_ctx=ctx)
        if ctx.is_main:
            recall[name] = result["test"]["recall@20"]
        if out is not None:
            np.savez(out / f"{name}-{ctx.rank}.npz", user=result["user_embeddings"],
                     item=result["item_embeddings"])  # fmt: skip
    return recall


def main() -> int:
    ctx = distributed.init("cpu", timeout=30)
    try:
        train = data().train
        mine = []
        for users, pos in batches(train):
            half = len(users) // ctx.world_size
            lo = ctx.rank * half
            mine.append((users[lo : lo + half], pos[lo : lo + half]))
        params = step(train, ctx, mine)
        out = Path(sys.argv[1])
        if ctx.is_main:
            np.savez(out / "params.npz", **params)
        quality = quality_runs(ctx, ctx.world_size, out)
        if ctx.is_main and quality:
            (out / "quality.json").write_text(json.dumps(quality))
        distributed.barrier(ctx)
    finally:
        distributed.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
