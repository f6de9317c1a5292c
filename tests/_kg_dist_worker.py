"""One rank of ``tests/test_kg_distributed.py``, started as torchrun would (RANK, WORLD_SIZE,
MASTER_*).  ``python _kg_dist_worker.py OUT``: :func:`kg_odd_batches` on this rank; rank 0
saves the parameters and the per-epoch losses to ``OUT/kg_odd.npz``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from negkit.rec import distributed


def kg_odd_batches(ctx) -> dict[str, np.ndarray]:
    """Two epochs of 25 triples in batches of 25 and of 10 (10, 10, 5): batches of odd size,
    split 13 / 12 and 3 / 2 between two ranks; TransE and DistMult, with regularisation."""
    from _w2v_dist_worker import ShiftKG, kg_data

    from negkit.kg.train import KGSettings, train_kg

    out = {}
    for model in ("transe", "distmult"):
        for bs in (25, 10):
            settings = KGSettings(model=model, dim=6, n_negs=3, batch_size=bs, epochs=2,
                                  lr=0.05, reg=0.01)  # fmt: skip
            res = train_kg(kg_data(25, 5), settings, ShiftKG(), seed=1, dist_ctx=ctx)
            for name, p in res["model"].named_parameters():
                out[f"{model}_{bs}_{name}"] = p.detach().numpy().copy()
            out[f"{model}_{bs}_loss"] = np.array([r["loss"] for r in res["history"]])
    return out


def main() -> int:
    out = Path(sys.argv[1])
    ctx = distributed.init("cpu", timeout=60)
    try:
        got = kg_odd_batches(ctx)
        if ctx.is_main:
            np.savez(out / "kg_odd.npz", **got)
        distributed.barrier(ctx)
    finally:
        distributed.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
