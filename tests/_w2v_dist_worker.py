"""One rank of the data-parallel compiled-engine and checkpoint tests, started as torchrun
would (RANK, WORLD_SIZE, MASTER_*).  ``python _w2v_dist_worker.py OUT MODE``:

* ``resume``: skip-gram on a small synthetic corpus, 3 epochs straight; then the same run cut
  after epoch 1 (its checkpoint) and resumed from the file; the same for DeepWalk on a small
  random graph, for torch MF and LightGCN on planted interactions, and for KG training
  (nscaching, whose caches are per-rank state, and dns); rank 0 saves the final
  tables to ``OUT/resume.npz``; each rank saves its tables after one table sync
  (:func:`sync_runs`), after overlapped exchanges (:func:`overlap_runs`) and at the end of
  the straight skip-gram runs to ``OUT/syncR.npz``; rank 0 saves one data-parallel KG step
  (:func:`kg_step`) to ``OUT/kg_step.npz``;
* ``quality``: skip-gram on the first :data:`SLICE_LINES` lines of the shared corpus; rank 0
  writes the WordSim-353 Spearman to ``OUT/quality.json`` (nothing without the data);
* ``all``: both;
* ``kg_odd``: :func:`kg_odd_batches`; rank 0 saves its parameters and losses to
  ``OUT/kg_odd.npz``.
"""

from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

import numpy as np

from negkit import Word2Vec
from negkit.rec import distributed

SLICE_LINES = 40_000
QUALITY = dict(sg=1, vector_size=50, window=5, negative=5, sample=1e-4, min_count=5, epochs=3,
               workers=1, seed=0, alpha=0.025, progress=False, compute_loss=False,
               sync_words=20_000)  # fmt: skip


def synthetic_corpus(n_sent: int = 400, seed: int = 0) -> list[list[str]]:
    """Sentences of words from 8 topics of 12 words each (words of a topic co-occur)."""
    rng = np.random.default_rng(seed)
    return [[f"t{t}w{w}" for w in rng.integers(0, 12, 10)] for t in rng.integers(0, 8, n_sent)]


class Stop(Exception):
    """Cuts a run after its first epoch (the checkpoint is written before callbacks run)."""


def _stop(model, rec):
    raise Stop


#: the sync (and sampler) settings of the skip-gram resume runs: name -> Word2Vec options
SYNC_VARIANTS = {
    "": {},
    "overlap_": {"sync_overlap": True},
    "overlap_bf16_": {"sync_overlap": True, "sync_wire": "bfloat16"},
    "bf16_": {"sync_wire": "bfloat16"},
    "srns_": {"sampler": "srns"},  # a sampler with per-rank memory, saved with the model
    # frequent rows every sync, the rest in turn: waiting, and overlapped
    "tiers_": {"sync_head": 0.25, "sync_tail_every": 3},
    "tiers_overlap_": {"sync_head": 0.25, "sync_tail_every": 3, "sync_overlap": True},
}


def resume_runs(ctx, out: Path) -> dict[str, np.ndarray]:
    runs = {}
    for prefix, sync_opts in SYNC_VARIANTS.items():
        for k, v in _resume_run(ctx, out, sync_opts).items():
            runs[prefix + k] = v
    return runs


def _resume_run(ctx, out: Path, sync_opts: dict) -> dict[str, np.ndarray]:
    corpus = synthetic_corpus()
    opts = dict(sg=1, vector_size=16, window=3, negative=3, min_count=1, epochs=3, workers=1,
                seed=4, progress=False, chunk_words=300, sync_words=500, dist=ctx,
                **sync_opts)  # fmt: skip
    straight = Word2Vec(**opts).fit(corpus)
    ckpt = out / "w2v.ckpt.npz"
    try:
        Word2Vec(**opts, checkpoint=ckpt, callbacks=[_stop]).fit(corpus)
    except Stop:
        pass
    distributed.barrier(ctx)
    resumed = Word2Vec.load(ckpt, dist=ctx)
    assert resumed.epochs_trained_ == 1
    resumed.resume(corpus)
    distributed.barrier(ctx)  # every rank has read the checkpoint before the next run writes
    return {
        "straight_syn0": straight.wv.vectors, "straight_syn1": straight.syn1neg,
        "resumed_syn0": resumed.wv.vectors, "resumed_syn1": resumed.syn1neg,
    }  # fmt: skip


def table_deltas(rank: int, rows: np.ndarray) -> np.ndarray:
    """The change rank ``rank`` makes to ``rows`` of a 10 x 3 table in :func:`sync_runs`."""
    out = np.zeros((10, 3), dtype=np.float32)
    out[rows] = (rank + 1) * np.arange(1, 4, dtype=np.float32) + rows[:, None]
    return out


def sync_runs(ctx) -> dict[str, np.ndarray]:
    """One :class:`TableSync` step for each mode, with few rows touched (sent as rows) and many
    (sent whole): the tables every rank holds afterwards."""
    from negkit.word2vec.dist_sync import TableSync

    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    out = {}
    for mode in ("sum", "mean"):
        for name, rows in (("few", [[1, 4], [4, 7]]), ("many", [[0, 2, 3, 5, 6, 8], [8, 9]])):
            table = base.copy()
            sync = TableSync(ctx, [table], mode)
            table += table_deltas(ctx.rank, np.array(rows[ctx.rank]))
            sync.sync()
            out[f"sync_{mode}_{name}_rank{ctx.rank}"] = table.copy()
    return out


def overlap_runs(ctx) -> dict[str, np.ndarray]:
    """Overlapped exchanges of a 10 x 3 table (:meth:`TableSync.exchange`), each mode and
    wire: each rank adds ``table_deltas`` (few rows) and exchanges, then adds the change
    again with other rows (many) and exchanges, then flushes; the tables every rank holds
    after the second exchange and after the flush, and the counts each exchange returned."""
    from negkit.word2vec.dist_sync import TableSync

    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    rows = {"few": [[1, 4], [4, 7]], "many": [[0, 2, 3, 5, 6, 8], [8, 9]]}
    out = {}
    for mode in ("sum", "mean"):
        for wire in ("float32", "bfloat16"):
            table = base.copy()
            sync = TableSync(ctx, [table], mode, overlap=True, wire=wire)
            table += table_deltas(ctx.rank, np.array(rows["few"][ctx.rank]))
            first = sync.exchange(10 + ctx.rank, True)
            assert first is None, first
            table += table_deltas(ctx.rank, np.array(rows["many"][ctx.rank])) * OVERLAP_SCALE
            counts = sync.exchange(5, ctx.rank == 0)
            key = f"overlap_{mode}_{wire}_rank{ctx.rank}"
            out[key + "_second"] = table.copy()
            sync.flush()
            out[key + "_flushed"] = table.copy()
            out[key + "_counts"] = np.array(counts)
    return out


def bf16_sync_runs(ctx) -> dict[str, np.ndarray]:
    """Synchronous bfloat16 merges (:meth:`TableSync.merge`) of the changes of
    :func:`overlap_runs`, each mode: the tables after the first merge and after the second
    merge and the flush."""
    from negkit.word2vec.dist_sync import TableSync

    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    rows = {"few": [[1, 4], [4, 7]], "many": [[0, 2, 3, 5, 6, 8], [8, 9]]}
    out = {}
    for mode in ("sum", "mean"):
        table = base.copy()
        sync = TableSync(ctx, [table], mode, wire="bfloat16")
        table += table_deltas(ctx.rank, np.array(rows["few"][ctx.rank]))
        sync.merge()
        key = f"bf16sync_{mode}_rank{ctx.rank}"
        out[key + "_first"] = table.copy()
        table += table_deltas(ctx.rank, np.array(rows["many"][ctx.rank])) * OVERLAP_SCALE
        sync.merge()
        sync.flush()
        out[key + "_flushed"] = table.copy()
    return out


#: how :func:`tier_runs` syncs: (overlap, wire, the call that syncs)
TIER_WAYS = {
    "sync_f32": (False, "float32", "sync"),
    "merge_bf16": (False, "bfloat16", "merge"),
    "overlap_f32": (True, "float32", "exchange"),
    "overlap_bf16": (True, "bfloat16", "exchange"),
}


def tier_runs(ctx) -> dict[str, np.ndarray]:
    """Frequent rows every sync, the rest in turn (``head=0.2``, ``tail_every=4``) on a
    10 x 3 table: rows 0-1 every sync, rows 2-9 in blocks of two.  Each rank changes every
    row (``table_deltas``), syncs, changes every row again (twice the change), syncs, and
    flushes; the tables after each step, for every way of :data:`TIER_WAYS`."""
    from negkit.word2vec.dist_sync import TableSync

    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    every = np.arange(10)
    out = {}
    for name, (overlap, wire, call) in TIER_WAYS.items():
        table = base.copy()
        sync = TableSync(ctx, [table], "sum", overlap=overlap, wire=wire, head=0.2, tail_every=4)
        key = f"tiers_{name}_rank{ctx.rank}"
        for step in (1, 2):
            table += step * table_deltas(ctx.rank, every)
            getattr(sync, call)(*((3, True) if call == "exchange" else ()))
            out[f"{key}_{step}"] = table.copy()
        sync.flush()
        out[f"{key}_flushed"] = table.copy()
    return out


#: scales the second change of :func:`overlap_runs`: not a bfloat16 number, so that its
#: rounding on the wire shows, and is made good by the flush
OVERLAP_SCALE = np.float32(1 + 2**-12)


class ShiftKG:
    """Deterministic KG negatives: the tail replaced by ``t + 1 .. t + k`` (mod entities)."""

    seed = 0

    def fit(self, *, triples, n_entities, n_relations, model, device):
        self.n = n_entities

    def sample(self, batch, k):
        import torch

        tails = (batch[:, 2:3] + 1 + torch.arange(k)) % self.n
        return batch[:, :1].expand(-1, k), tails

    def weights(self, neg):
        return None

    def update(self, batch):
        pass


def kg_data(n: int = 24, seed: int = 3):
    """``n`` random triples over 12 entities and 2 relations (the first ones also valid and
    test)."""
    from negkit.kg.triples import KGTriples

    rng = np.random.default_rng(seed)
    t = np.stack([rng.integers(0, 12, n), rng.integers(0, 2, n), rng.integers(0, 12, n)], 1)
    return KGTriples(train=t, valid=t[:2], test=t[2:4], entities=[f"e{i}" for i in range(12)],
                     relations=["r0", "r1"])  # fmt: skip


def kg_step(ctx) -> dict[str, np.ndarray]:
    """One epoch of one batch of all 24 triples (each rank its half), TransE and DistMult."""
    from negkit.kg.train import KGSettings, train_kg

    out = {}
    for model in ("transe", "distmult"):
        settings = KGSettings(model=model, dim=6, n_negs=3, batch_size=24, epochs=1, lr=0.05,
                              reg=0.01)  # fmt: skip
        res = train_kg(kg_data(), settings, ShiftKG(), seed=1, dist_ctx=ctx)
        for name, p in res["model"].named_parameters():
            out[f"kg_{model}_{name}"] = p.detach().numpy().copy()
    return out


def kg_odd_batches(ctx) -> dict[str, np.ndarray]:
    """Two epochs of 25 triples in batches of 25 and of 10 (10, 10, 5): batches of odd size,
    split 13 / 12 and 3 / 2 between two ranks; TransE and DistMult, with regularisation."""
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


def graph_resume_runs(ctx, out: Path) -> dict[str, np.ndarray]:
    """DeepWalk on a small random graph, 3 epochs straight, and cut after epoch 1 then run
    again on its checkpoint (which resumes it)."""
    import scipy.sparse as sp

    from negkit.graph.embed import GraphEmbedSettings, run

    a = sp.random(60, 60, density=0.08, format="csr", random_state=2)
    adj = ((a + a.T) > 0).astype(np.float64)
    settings = GraphEmbedSettings(dim=8, walk_length=12, num_walks=4, window=3, epochs=3,
                                  chunk_walks=16, sync_words=400)  # fmt: skip
    straight = run(adj, settings, seed=5, dist_ctx=ctx).vectors
    ckpt = out / "graph.ckpt.npz"
    try:
        run(adj, settings, seed=5, dist_ctx=ctx, checkpoint=ckpt, on_epoch=lambda *a: _stop(0, 0))
    except Stop:
        pass
    distributed.barrier(ctx)
    epochs = []
    resumed = run(adj, settings, seed=5, dist_ctx=ctx, checkpoint=ckpt,
                  on_epoch=lambda e, v, rec: epochs.append(e)).vectors  # fmt: skip
    assert epochs == [1, 2], epochs  # it did resume after epoch 1 (0-based 0)
    return {"graph_straight": straight, "graph_resumed": resumed}


def rec_resume_runs(ctx, out: Path) -> dict[str, np.ndarray]:
    """Torch MF and LightGCN (rns, evaluated every epoch), 3 epochs straight, and cut after
    epoch 1 then run again on its checkpoint."""
    from negkit.rec.synthetic import planted_interactions
    from negkit.rec.train import RecSettings, run

    data = planted_interactions(
        n_users=60, n_items=40, n_groups=3, per_user=8, n_valid=0, n_test=2, seed=1
    )
    runs = {}
    for model in ("mf", "lightgcn"):
        ckpt = str(out / f"{model}.ckpt.pt")
        opts = dict(data=data, model=model, engine="torch", epochs=3, dim=8, n_layers=2,
                    batch_size=64 // ctx.world_size, threads=1, eval_every=1, lr=0.01)  # fmt: skip
        straight = run(RecSettings(**opts), "rns", seed=2, dist_ctx=ctx)
        try:
            run(RecSettings(**opts, checkpoint=ckpt), "rns", seed=2, dist_ctx=ctx,
                on_epoch=lambda row: _stop(0, 0))  # fmt: skip
        except Stop:
            pass
        distributed.barrier(ctx)
        epochs = []
        resumed = run(RecSettings(**opts, checkpoint=ckpt), "rns", seed=2, dist_ctx=ctx,
                      on_epoch=lambda row, seen=epochs: seen.append(row["epoch"]))  # fmt: skip
        assert epochs == [2, 3], epochs  # it did resume after epoch 1
        assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3]
        for side in ("user", "item"):
            runs[f"{model}_{side}_straight"] = straight[f"{side}_embeddings"]
            runs[f"{model}_{side}_resumed"] = resumed[f"{side}_embeddings"]
    return runs


def kg_resume_runs(ctx, out: Path) -> dict[str, np.ndarray]:
    """Data-parallel KG training (RotatE with nscaching, DistMult with dns), 3 epochs
    straight, and cut after epoch 1 then run again on its checkpoint."""
    import negkit.samplers as ns
    from negkit.kg.train import KGSettings, train_kg

    runs = {}
    for model, name in (("rotate", "nscaching"), ("distmult", "dns")):
        ckpt = out / f"kg_{model}.ckpt.pt"
        settings = KGSettings(model=model, dim=6, n_negs=3, batch_size=12, epochs=3, lr=0.05,
                              threads=1)  # fmt: skip

        def go(settings=settings, name=name, **kw):
            return train_kg(kg_data(), settings, ns.get_kg(name, seed=4 + ctx.rank), seed=1,
                            dist_ctx=ctx, **kw)  # fmt: skip

        straight = go()["model"]
        try:
            go(checkpoint=ckpt, on_epoch=lambda rec: _stop(0, 0))
        except Stop:
            pass
        distributed.barrier(ctx)
        epochs = []
        resumed = go(checkpoint=ckpt, on_epoch=lambda rec, seen=epochs: seen.append(rec["epoch"]))
        assert epochs == [2, 3], epochs  # it did resume after epoch 1
        for p_name, p in straight.named_parameters():
            runs[f"kg_{model}_{p_name}_straight"] = p.detach().numpy().copy()
            r = dict(resumed["model"].named_parameters())[p_name]
            runs[f"kg_{model}_{p_name}_resumed"] = r.detach().numpy().copy()
    return runs


def corpus_slice(data: Path, lines: int = SLICE_LINES) -> list[list[str]]:
    with lzma.open(data / "text_corpus_en" / "en_corpus_5m.txt.xz", "rt", encoding="utf-8") as f:
        return [line.split() for _, line in zip(range(lines), f)]


def quality_run(ctx, data: Path) -> float:
    """WordSim-353 Spearman of skip-gram on the corpus slice (every rank returns it)."""
    from negkit.data import registry
    from negkit.eval.words import word_similarity

    model = Word2Vec(**QUALITY, dist=ctx).fit(corpus_slice(data))
    return word_similarity(model.wv, registry.load("wordsim353"))["spearman"]


def main() -> int:
    import os

    out, mode = Path(sys.argv[1]), sys.argv[2]
    ctx = distributed.init("cpu", timeout=60)
    try:
        if mode in ("resume", "all"):
            runs = {**resume_runs(ctx, out), **graph_resume_runs(ctx, out),
                    **rec_resume_runs(ctx, out), **kg_resume_runs(ctx, out)}  # fmt: skip
            if ctx.is_main:
                np.savez(out / "resume.npz", **runs)
            finals = {k: v for k, v in runs.items() if "straight_syn" in k}  # each rank's own
            np.savez(out / f"sync{ctx.rank}.npz", **sync_runs(ctx), **overlap_runs(ctx),
                     **bf16_sync_runs(ctx), **tier_runs(ctx), **finals)  # fmt: skip
            kg = kg_step(ctx)
            if ctx.is_main:
                np.savez(out / "kg_step.npz", **kg)
        if mode == "kg_odd":
            got = kg_odd_batches(ctx)
            if ctx.is_main:
                np.savez(out / "kg_odd.npz", **got)
        if mode in ("quality", "all"):
            data = Path(os.environ.get("NEGKIT_DATA", ""))
            if (data / "text_corpus_en").is_dir():
                ws = quality_run(ctx, data)
                if ctx.is_main:
                    (out / "quality.json").write_text(json.dumps({"ws353": ws}))
        distributed.barrier(ctx)
    finally:
        distributed.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
