"""``--nproc N``: what the user reads when ranks fail (``negkit.cli._launch``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

from negkit.cli._launch import _failure_report


def _failed(*codes: int) -> ChildFailedError:
    """Ranks 0, 1, ... ended with ``codes``; rank 0 failed first."""
    fails = {
        r: ProcessFailure(r, 100 + r, c, "/nonexistent/error.json") for r, c in enumerate(codes)
    }
    for r, f in fails.items():
        f.timestamp = r  # the first failure is the earliest
    return ChildFailedError("negkit", fails)


def test_one_line_when_the_ranks_stopped_on_negkit_s_own_error():
    assert _failure_report(_failed(1, 1), 2) == "negkit: ranks 0, 1 of 2 stopped on the error above"
    assert _failure_report(_failed(1, -15), 2) == (
        "negkit: rank 0 of 2 stopped on the error above; the launcher stopped rank 1"
    )


def test_the_launcher_s_report_when_a_rank_crashed_or_was_killed():
    for codes in [(-9, -15), (1, -9), (1, 2), (-15, 1)]:  # first failure not ours, or a crash
        text = _failure_report(_failed(*codes), 2)
        assert "negkit FAILED" in text and "rank      : 1" in text, (codes, text)


def test_an_error_on_two_ranks_is_printed_per_rank_with_one_summary(tmp_path: Path):
    """A data error found after launch (a graph without labels): each rank's message says
    which rank it is, one line sums up, and no launcher report or warning is printed."""
    edges = tmp_path / "g.txt"
    edges.write_text("0 1\n1 2\n2 0\n2 3\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "WORLD_SIZE")}
    env["PYTHONPATH"] = str(Path(__file__).parents[1] / "src")
    cmd = [sys.executable, "-m", "negkit", "compare", "graph", "--data", str(edges)]
    cmd += ["--samplers", "degree", "--nproc", "2", "--workers", "1", "--seeds", "1"]
    cmd += ["--epochs", "1", "--out", str(tmp_path / "study")]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    err = done.stderr
    assert done.returncode == 1, err
    assert re.search(r"negkit compare: error \(rank [01] of 2\): graph .* no node labels", err)
    assert "of 2 stopped on the error above" in err
    assert "negkit FAILED" not in err and "OMP_NUM_THREADS" not in err, err
    assert err.strip().splitlines()[-1].startswith("negkit: rank"), err
