"""Data-parallel KG training on gloo, 2 processes on 127.0.0.1: steps on batches whose size
is not a multiple of the number of ranks equal the one-process steps."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch.distributed")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _w2v_dist_worker  # noqa: E402
from test_rec_distributed import run_two_ranks  # noqa: E402

from negkit.rec import distributed  # noqa: E402


def test_odd_batches_on_two_ranks_equal_one_process(tmp_path):
    """A batch of 25 triples goes 13 / 12 to the two ranks.  Each rank's loss is the mean
    over its rows, and averaging the two means weighed a row of rank 0 1/26 and one of rank
    1 1/24 instead of 1/25 each: the two-rank run drifted from the one-process run, silently.
    Weighted by their shares of the batch, the ranks' parameters and logged losses equal
    the one-process ones (up to float summation order)."""
    run_two_ranks([str(HERE / "_w2v_dist_worker.py"), str(tmp_path), "kg_odd"], tmp_path)
    two = np.load(tmp_path / "kg_odd.npz")
    one = _w2v_dist_worker.kg_odd_batches(distributed.local())
    assert sorted(two.files) == sorted(one) and len(one) == 12
    for key, value in one.items():
        np.testing.assert_allclose(two[key], value, atol=1e-5, rtol=0, err_msg=key)


def test_cli_on_two_ranks_says_so_in_metrics(tmp_path):
    """``negkit kg train --nproc 2``: metrics.json did not say that two ranks trained (nor
    could it be told from the settings, which are the same); it holds ``world_size``."""
    import json
    import subprocess

    from test_kg_cli import tiny_kg

    data = tiny_kg(tmp_path / "tiny")
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "negkit", "kg", "train", "--data", str(data), "--dim", "4",
           "--epochs", "1", "--n-negs", "2", "--batch-size", "25", "--threads", "1",
           "--nproc", "2", "--out", str(out)]  # fmt: skip
    src = str(Path(distributed.__file__).parents[2])  # this checkout's negkit
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["world_size"] == 2 and "seed=0" in m["sampler"]
