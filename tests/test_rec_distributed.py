"""Data-parallel tensor engine on gloo, 2 processes on 127.0.0.1: two data-parallel steps (DDP,
or MF's row-sparse exchange) equal the single-process steps on the concatenated batches; MF
and LightGCN on two ranks reach the one-process Recall@20 on ml-100k; a killed rank stops the
other, which writes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.rec import distributed
from negkit.rec.synthetic import planted_interactions
from negkit.rec.torch_train import PairBatches

pytest.importorskip("torch.distributed")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _dist_worker  # noqa: E402


def _env(rank: int, world: int, port: int) -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(distributed.__file__).parents[2])
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    env.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    return env


def _start(cmd: list[str], world: int, logs: Path) -> list[subprocess.Popen]:
    port = distributed.free_port()
    procs = []
    for rank in range(world):
        err = open(logs / f"rank{rank}.log", "w")
        procs.append(subprocess.Popen(cmd, env=_env(rank, world, port), stdout=err, stderr=err))
        err.close()
    return procs


def _reap(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def run_two_ranks(args: list[str], out: Path) -> Path:
    """Run ``python args...`` as ranks 0 and 1 (logs in ``out``); both must exit 0."""
    procs = _start([sys.executable, *args], 2, out)
    try:
        codes = [p.wait(timeout=240) for p in procs]
    finally:
        _reap(procs)
    logs = "".join((out / f"rank{r}.log").read_text() for r in range(2))
    assert codes == [0, 0], logs
    return out


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Both ranks of ``_dist_worker.py`` run once: the DDP step, then the ml-100k runs."""
    out = tmp_path_factory.mktemp("ranks")
    return run_two_ranks([str(HERE / "_dist_worker.py"), str(out)], out)


def test_ddp_step_equals_single_process_step_on_concatenated_batch(ranks):
    train = _dist_worker.data().train
    single = _dist_worker.step(train, distributed.local(), _dist_worker.batches(train))
    before = {
        f"{m}.{p}": t.detach().numpy()
        for m, model in _dist_worker.models(train).items()
        for p, t in model.named_parameters()
    }
    ddp = np.load(ranks / "params.npz")
    assert sorted(ddp.files) == sorted(single)
    for key, value in single.items():
        assert np.abs(value - before[key]).max() > 1e-3  # the step moved the parameters
        np.testing.assert_allclose(ddp[key], value, atol=1e-5, rtol=0, err_msg=key)
    for table in ("user.weight", "item.weight"):  # row-sparse exchange == DDP's dense one
        np.testing.assert_allclose(ddp[f"mf.{table}"], ddp[f"mf_ddp.{table}"], atol=1e-6, rtol=0)


def test_pair_batches_shards_are_disjoint_and_equal_in_steps():
    train = sp.random(7, 5, density=0.6, format="csr", random_state=0)
    shards = [PairBatches(train, 2, seed=1, rank=r, world_size=3) for r in range(3)]
    for s in shards:
        s.set_epoch(4)
    pairs = [[(int(u), int(i)) for us, its in s for u, i in zip(us, its)] for s in shards]
    assert len({len(list(iter(s))) for s in shards}) == 1 == len({len(s) for s in shards})
    assert [len(s) for s in shards] == [len(list(iter(s))) for s in shards]
    every = {(int(u), int(i)) for u, i in zip(*train.nonzero())}
    assert set().union(*map(set, pairs)) == every  # all pairs, padded by at most 2 repeats
    assert sum(map(len, pairs)) - train.nnz == -train.nnz % 3


def test_two_ranks_reach_the_one_process_recall_on_ml100k(ranks):
    if not (ranks / "quality.json").exists():
        pytest.skip("ml-100k is not in NEGKIT_DATA")
    two = json.loads((ranks / "quality.json").read_text())
    one = _dist_worker.quality_runs(distributed.local())
    assert sorted(two) == sorted(one) == ["lightgcn", "mf", "mf-numba", "mf-numba-bf16-overlap"]
    for model in one:  # seeds 0 and 1 differ by ~0.005 here (numba MF: 0.003); random ~0.01
        assert one[model] > 0.1 and two[model] > 0.1, (one, two)
        assert abs(two[model] - one[model]) < 0.02, (model, one, two)


@pytest.mark.parametrize("run", ["mf-numba", "mf-numba-bf16-overlap"])
def test_numba_mf_ranks_end_with_the_same_tables(ranks, run):
    """The compiled engine's merges leave every rank with the same tables (rank 0 writes),
    also after bfloat16 and overlapped merges, which differ across ranks until settled."""
    if not (ranks / "quality.json").exists():
        pytest.skip("ml-100k is not in NEGKIT_DATA")
    r0, r1 = (np.load(ranks / f"{run}-{r}.npz") for r in (0, 1))
    for side in ("user", "item"):
        np.testing.assert_array_equal(r0[side], r1[side])
    assert r0["user"][:, :-1].std() > 0.01  # trained factors (the last column is the 1s)


def test_nproc_two_trains_the_cpu_default_engine_and_rank_zero_writes(tmp_path):
    """``rec train --nproc 2`` on CPU trains what one process would (the numba engine for
    BPR-MF), data-parallel, and writes the usual outputs once."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "negkit", "rec", "train", "--nproc", "2", "--threads", "1"]
    cmd += ["--data", str(_log_csv(tmp_path / "log.csv")), "--epochs", "3", "--dim", "8"]
    cmd += ["--sync-pairs", "200", "--sync-wire", "bfloat16", "--sync-overlap"]
    cmd += ["--no-progress", "--out", str(out)]
    env = _env(0, 1, 0)
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["engine"] == "numba" and metrics["settings"]["world_size"] == 2
    assert metrics["settings"]["sync_pairs"] == 200 and len(metrics["history"]) == 3
    assert metrics["settings"]["sync_wire"] == "bfloat16" and metrics["settings"]["sync_overlap"]
    assert 0.0 <= metrics["test"]["recall@20"] <= 1.0
    assert np.load(out / "item_embeddings.npy").shape == (60, 9)


def _log_csv(path: Path) -> Path:
    d = planted_interactions(
        n_users=120, n_items=60, n_groups=4, per_user=14, n_valid=0, n_test=3, seed=1
    )
    r = sp.coo_matrix(d.train + d.test)
    path.write_text("user,item\n" + "".join(f"u{a},i{b}\n" for a, b in zip(r.row, r.col)))
    return path


def test_a_failed_collective_names_the_rank_and_the_timeout():
    ctx = distributed.Context(rank=1, world_size=2, timeout=7)

    def broken():
        raise RuntimeError("Connection reset by peer")

    with pytest.raises(distributed.DistributedError, match=r"rank 1 of 2: barrier .* 7 s.*reset"):
        distributed.guarded(ctx, "barrier", broken)
    assert distributed.guarded(ctx, "barrier", lambda: 3) == 3


def _children(pid: int) -> dict[int, str]:
    """{pid: RANK} of the processes whose parent is ``pid`` (Linux /proc)."""
    out = {}
    for d in Path("/proc").iterdir():
        try:
            if (
                not d.name.isdigit()
                or int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) != pid
            ):
                continue
            env = dict(w.split("=", 1) for w in (d / "environ").read_text().split("\0") if "=" in w)
        except OSError:
            continue
        out[int(d.name)] = env.get("RANK", "")
    return out


def kill_rank_one(cmd: list[str], log: Path, ready: str) -> tuple[int, float, str, dict]:
    """Start a 2-rank ``--nproc 2`` command, SIGKILL rank 1 once ``ready`` is in the log:
    ``(exit code, seconds the launcher took to exit after the kill, log text, {rank: pid})``.
    The launcher and any rank left behind are killed at the end (their own session)."""
    with open(log, "w") as f:
        env = _env(0, 1, 0)
        for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
            env.pop(key)
        launcher = subprocess.Popen(cmd, env=env, stdout=f, stderr=f, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while ready not in log.read_text():  # rank 0 trains, so rank 1 does too
            assert launcher.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        ranks = {r: pid for pid, r in _children(launcher.pid).items()}
        assert sorted(ranks) == ["0", "1"], ranks
        os.kill(ranks["1"], signal.SIGKILL)
        t0 = time.monotonic()
        code = launcher.wait(timeout=60)
        waited = time.monotonic() - t0
    finally:
        try:
            os.killpg(launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        launcher.wait(timeout=30)
    return code, waited, log.read_text(), ranks


def test_killed_rank_stops_the_other_within_the_timeout_and_nothing_is_written(tmp_path):
    """``--nproc 2``: kill rank 1 mid-training; the launcher stops rank 0 (or rank 0 fails on
    its next collective), exits 1 within the timeout naming rank 1, and nothing is written."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs Linux /proc to find the ranks")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "negkit", "rec", "train", "--nproc", "2"]
    cmd += ["--data", str(_log_csv(tmp_path / "log.csv")), "--engine", "torch"]
    cmd += ["--epochs", "100000", "--eval-every", "1", "--threads", "1", "--dist-timeout", "10"]
    cmd += ["--no-progress", "--out", str(out)]
    code, waited, text, ranks = kill_rank_one(cmd, tmp_path / "launcher.log", "epoch 1 ")
    assert code == 1 and waited < 25, (code, waited, text)  # the launcher stopped rank 0
    report = text.split("negkit FAILED", 1)[1]  # the launcher's: each failed rank, and how
    ranks_named = [r.split()[0] for r in report.split("rank      : ")[1:]]
    assert sorted(ranks_named) == ["0", "1"] and "Signal 9 (SIGKILL)" in report, text
    assert not out.exists() or not any(out.iterdir())
    gone = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in ranks.values()):
        assert time.monotonic() < gone, "a rank outlived the launcher"
        time.sleep(0.1)


def test_gathered_negatives_want_the_in_batch_or_mixed_sampler():
    from negkit.rec.train import RecSettings, run

    data = planted_interactions(
        n_users=30, n_items=20, n_groups=2, per_user=6, n_valid=0, n_test=2, seed=0
    )
    with pytest.raises(ValueError, match="in-batch and mixed samplers only"):
        run(RecSettings(data=data, engine="torch", epochs=1, gather_negatives=True), "rns")
    with pytest.raises(ValueError, match="in-batch and mixed samplers only"):
        run(RecSettings(data=data, epochs=1, gather_negatives=True), "mixgcf")
    with pytest.raises(ValueError, match="in-batch and mixed samplers only"):  # the numba engine
        run(RecSettings(data=data, epochs=1, gather_negatives=True), "rns")
