"""Data-parallel compiled engine on gloo, 2 processes on 127.0.0.1: checkpoint-and-resume
repeats a straight run (skip-gram, with and without overlapped syncs, and DeepWalk); the
table syncs and overlapped exchanges against hand-computed merges; two ranks reach the
one-process WordSim-353 on a slice of the shared corpus; a killed rank stops the other,
which writes nothing."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch.distributed")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _w2v_dist_worker  # noqa: E402
from test_rec_distributed import kill_rank_one, run_two_ranks  # noqa: E402

from negkit import Word2Vec  # noqa: E402
from negkit.rec import distributed  # noqa: E402


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks of ``_w2v_dist_worker.py all``: the resume runs, then the quality run."""
    out = tmp_path_factory.mktemp("w2v_ranks")
    return run_two_ranks([str(HERE / "_w2v_dist_worker.py"), str(out), "all"], out)


@pytest.mark.parametrize(
    "what",
    [f"{v}straight_syn{t}" for v in _w2v_dist_worker.SYNC_VARIANTS for t in (0, 1)]
    + ["graph_straight"]
    + [f"{m}_{side}_straight" for m in ("mf", "lightgcn") for side in ("user", "item")]
    + [f"kg_{m}_{t}_straight" for m in ("rotate", "distmult") for t in ("entity", "relation")],
)
def test_resumed_run_repeats_the_straight_run(ranks, what):
    z = np.load(ranks / "resume.npz")
    straight, resumed = z[what], z[what.replace("straight", "resumed")]
    assert np.abs(straight).max() > 1e-3  # trained, not the initial zeros
    np.testing.assert_array_equal(resumed, straight)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("touched", ["few", "many"])
def test_table_sync_adds_or_averages_every_rank_s_changes(ranks, mode, touched):
    """Rows touched on some rank become base + the sum (or mean) of the ranks' changes, on
    every rank; the others stay; few touched rows go as rows, many as the whole table."""
    rows = {"few": [[1, 4], [4, 7]], "many": [[0, 2, 3, 5, 6, 8], [8, 9]]}[touched]
    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    change = sum(_w2v_dist_worker.table_deltas(r, np.array(rows[r])) for r in range(2))
    want = base + (change if mode == "sum" else change / 2)
    for r in range(2):
        got = np.load(ranks / f"sync{r}.npz")[f"sync_{mode}_{touched}_rank{r}"]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize("variant", list(_w2v_dist_worker.SYNC_VARIANTS))
def test_every_rank_ends_with_the_same_tables(ranks, variant):
    for t in (0, 1):
        key = f"{variant}straight_syn{t}"
        tables = [np.load(ranks / f"sync{r}.npz")[key] for r in range(2)]
        np.testing.assert_array_equal(tables[0], tables[1], err_msg=key)


def _two_exchanges(mode: str) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The worker's two exchanges by hand: the table after the first merge, each rank's
    second change, and the table once both are merged (``mode`` "sum" or "mean")."""
    rows = {"few": [[1, 4], [4, 7]], "many": [[0, 2, 3, 5, 6, 8], [8, 9]]}
    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    div = 1 if mode == "sum" else 2
    first = [_w2v_dist_worker.table_deltas(r, np.array(rows["few"][r])) for r in range(2)]
    second = [_w2v_dist_worker.table_deltas(r, np.array(rows["many"][r]))
              * _w2v_dist_worker.OVERLAP_SCALE for r in range(2)]  # fmt: skip
    merged = base + (first[0] + first[1]) / div
    return merged, second, merged + (second[0] + second[1]) / div


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("wire", ["float32", "bfloat16"])
def test_overlapped_exchange_merges_every_rank_s_change_one_exchange_late(ranks, mode, wire):
    """``sync_overlap``: an exchange merges the change sent at the one before (the sum, or
    mean, of both ranks' changes), keeping this rank's own change since; the flush merges
    the rest, so both ranks end equal, the bfloat16 rounding made good; the counts of the
    first exchange come back at the second."""
    merged, second, flushed = _two_exchanges(mode)
    for r in range(2):
        got = np.load(ranks / f"sync{r}.npz")
        key = f"overlap_{mode}_{wire}_rank{r}"
        np.testing.assert_allclose(got[key + "_second"], merged + second[r], rtol=0, atol=1e-6)
        np.testing.assert_allclose(got[key + "_flushed"], flushed, rtol=0, atol=1e-6)
        assert got[key + "_counts"].tolist() == [21, 2]
    tables = [np.load(ranks / f"sync{r}.npz")[f"overlap_{mode}_{wire}_rank{r}_flushed"]
              for r in range(2)]  # fmt: skip
    np.testing.assert_array_equal(tables[0], tables[1])


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_synchronous_bfloat16_merge_keeps_the_rounding_error_for_later(ranks, mode):
    """``sync_wire="bfloat16"`` without overlap: a merge adds both ranks' changes at once
    (exact here: small integers are bfloat16 numbers); the second change is not, and what
    its rounding left out arrives with the flush: both ranks end equal, at the exact sum."""
    merged, second, flushed = _two_exchanges(mode)
    got = [np.load(ranks / f"sync{r}.npz") for r in range(2)]
    for r in range(2):
        key = f"bf16sync_{mode}_rank{r}"
        np.testing.assert_array_equal(got[r][key + "_first"], merged)
        np.testing.assert_allclose(got[r][key + "_flushed"], flushed, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(got[0][f"bf16sync_{mode}_rank0_flushed"],
                                  got[1][f"bf16sync_{mode}_rank1_flushed"])  # fmt: skip


def _tier_expected(overlap: bool) -> tuple[list, list, np.ndarray]:
    """:func:`_w2v_dist_worker.tier_runs` by hand: each rank's table after the first and the
    second sync, and the table after the flush.  Waiting: sync 1 merges rows 0-3 (the head
    and tail block 0), sync 2 rows 0-1 and 4-5 (block 1); the rest keeps each rank's own
    change.  Overlapped: an exchange merges the rows the exchange before sent, so after the
    first nothing is merged, and after the second rows 0-3 hold the ranks' first changes
    and this rank's second one."""
    base = np.arange(30, dtype=np.float32).reshape(10, 3)
    c = [_w2v_dist_worker.table_deltas(r, np.arange(10)) for r in range(2)]
    first, second = [], []
    for r in range(2):
        own1, own2 = base + c[r], base + 3 * c[r]  # the rank's changes only: c, then 2c
        if overlap:
            one = own1
            two = own2.copy()
            two[0:4] = base[0:4] + (c[0] + c[1])[0:4] + 2 * c[r][0:4]
        else:
            one = own1.copy()
            one[0:4] = base[0:4] + (c[0] + c[1])[0:4]
            two = own2.copy()
            two[[0, 1, 4, 5]] = (base + 3 * (c[0] + c[1]))[[0, 1, 4, 5]]
            two[2:4] = base[2:4] + (c[0] + c[1])[2:4] + 2 * c[r][2:4]
        first.append(one)
        second.append(two)
    return first, second, base + 3 * (c[0] + c[1])


@pytest.mark.parametrize("way", list(_w2v_dist_worker.TIER_WAYS))
def test_rare_rows_are_merged_in_turn_and_the_flush_merges_the_rest(ranks, way):
    """``head`` / ``tail_every``: the head rows at every sync, one tail block a sync, each
    rank's unsent change kept (never dropped); after the flush both ranks hold the exact sum
    of all changes (bfloat16 included: these changes are bfloat16 numbers)."""
    first, second, flushed = _tier_expected(_w2v_dist_worker.TIER_WAYS[way][0])
    for r in range(2):
        got = np.load(ranks / f"sync{r}.npz")
        key = f"tiers_{way}_rank{r}"
        np.testing.assert_array_equal(got[key + "_1"], first[r])
        np.testing.assert_array_equal(got[key + "_2"], second[r])
        np.testing.assert_array_equal(got[key + "_flushed"], flushed)


def test_kg_step_on_two_ranks_equals_one_process_step_on_the_whole_batch(ranks):
    import torch

    from negkit.kg.models import make_model
    from negkit.kg.train import DEFAULT_GAMMA

    one = _w2v_dist_worker.kg_step(distributed.local())
    two = np.load(ranks / "kg_step.npz")
    assert sorted(two.files) == sorted(one) and len(one) == 4
    for key, value in one.items():
        model, name = key.split("_")[1:]
        torch.manual_seed(1)  # train_kg's initialisation
        init = make_model(model, 12, 2, 6, gamma=DEFAULT_GAMMA[model])
        assert np.abs(value - getattr(init, name).detach().numpy()).max() > 1e-3  # it moved
        np.testing.assert_allclose(two[key], value, atol=1e-5, rtol=0, err_msg=key)


def test_two_ranks_differ_from_one_but_reach_its_wordsim(ranks):
    if not (ranks / "quality.json").exists():
        pytest.skip("the shared corpus is not in NEGKIT_DATA")
    two = json.loads((ranks / "quality.json").read_text())["ws353"]
    one = _w2v_dist_worker.quality_run(distributed.local(), Path(os.environ["NEGKIT_DATA"]))
    # one process, seeds 0 / 1: 0.142 / 0.151; two ranks: 0.182 / 0.174 (the summed updates
    # of frequent rows act as a larger step); untrained vectors score about 0
    assert one > 0.1 and two > one - 0.02, (one, two)


def test_distributed_settings_are_checked():
    ctx = distributed.Context(rank=0, world_size=2)
    with pytest.raises(ValueError, match="sync_mode must be one of sum, mean"):
        Word2Vec(dist=ctx, sync_mode="median")
    with pytest.raises(ValueError, match="sync_words must be an integer >= 1"):
        Word2Vec(dist=ctx, sync_words=0)
    with pytest.raises(ValueError, match="sync_wire must be one of float32, bfloat16"):
        Word2Vec(dist=ctx, sync_overlap=True, sync_wire="float16")
    for bad in (1.5, -0.1, "0.5", True):
        with pytest.raises(ValueError, match="sync_head must be a fraction of the rows in"):
            Word2Vec(dist=ctx, sync_head=bad, sync_tail_every=4)
    for bad in (0, 2.0, "4", True):
        with pytest.raises(ValueError, match="sync_tail_every must be an integer >= 1"):
            Word2Vec(dist=ctx, sync_head=0.1, sync_tail_every=bad)
    model = Word2Vec(dist=ctx, min_count=1).build_vocab_from_freq({"a": 3, "b": 2})
    with pytest.raises(ValueError, match="sharded=True needs total_words"):
        model.train_arrays([], sharded=True)
    from negkit.graph.embed import GraphEmbedSettings, run

    with pytest.raises(ValueError, match="LINE runs on one process"):
        run(np.eye(3), GraphEmbedSettings(method="line"), dist_ctx=ctx)


@pytest.mark.parametrize(("n", "head", "every"), [(10, 0.2, 4), (103, 0.1, 8), (7, 0.0, 3),
                                                  (5, 1.0, 4), (3, 0.5, 8)])  # fmt: skip
def test_each_rare_row_is_merged_once_every_tail_every_syncs(n, head, every):
    """Over any ``every`` consecutive syncs the head rows are merged at each and every
    other row exactly once; a flush merges every row."""
    from negkit.word2vec.dist_sync import TableSync

    sync = TableSync(distributed.Context(rank=0, world_size=2), [np.zeros((n, 2), np.float32)],
                     head=head, tail_every=every)  # fmt: skip
    n_head = round(head * n)
    for start in range(2 * every):
        hits = np.zeros(n, dtype=int)
        for k in range(every):
            sync._round = start + k
            for a, b in sync._spans(0):
                hits[a:b] += 1
        assert (hits[:n_head] == every).all()
        assert (hits[n_head:] == 1).all(), hits
    assert sync._spans(0, everything=True) == [(0, n)]


def test_killed_rank_stops_graph_embed_within_the_timeout_and_nothing_is_written(tmp_path):
    """``negkit graph embed --nproc 2``: kill rank 1 after its first epoch; the launcher exits
    1 within the timeout naming the ranks, and neither vectors nor checkpoint are left."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs Linux /proc to find the ranks")
    import scipy.sparse as sp

    a = sp.random(300, 300, density=0.03, format="coo", random_state=0)
    edges = tmp_path / "g.edgelist"
    edges.write_text("".join(f"{i} {j}\n" for i, j in zip(a.row, a.col) if i != j))
    out = tmp_path / "v.txt"
    cmd = [sys.executable, "-m", "negkit", "graph", "embed", "--graph", str(edges), "--nproc", "2"]
    cmd += ["--epochs", "100000", "--dim", "8", "--num-walks", "2", "--walk-length", "10"]
    cmd += ["--dist-timeout", "10", "--out", str(out)]
    code, waited, text, ranks = kill_rank_one(cmd, tmp_path / "launcher.log", "epoch 2/100000")
    assert code == 1 and waited < 25, (code, waited, text)
    report = text.split("negkit FAILED", 1)[1]
    assert "Signal 9 (SIGKILL)" in report and "rank      : 1" in report, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.edgelist", "launcher.log"]
    gone = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in ranks.values()):
        assert time.monotonic() < gone, "a rank outlived the launcher"
        time.sleep(0.1)


def test_a_file_saved_before_the_sync_options_loads_with_float32_syncs(tmp_path):
    """Files written before ``sync_overlap`` / ``sync_wire`` existed ran float32 syncs: they
    resume with those, not with today's default."""
    import json

    corpus = [["a", "b", "c", "a"], ["b", "c", "a", "b"]] * 5
    model = Word2Vec(corpus, vector_size=4, min_count=1, epochs=1, workers=1, progress=False)
    assert model.sync_wire == "bfloat16" and not model.sync_overlap
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    del meta["params"]["sync_wire"], meta["params"]["sync_overlap"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, **arrays)
    old = Word2Vec.load(path)
    assert old.sync_wire == "float32" and not old.sync_overlap
    np.testing.assert_array_equal(old.wv.vectors, model.wv.vectors)
