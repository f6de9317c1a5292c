"""What numba's on-disk cache saves on a first call: three commands, cold then warm.

Each command runs as a subprocess twice with the same fresh ``NUMBA_CACHE_DIR``: the first
run compiles every kernel (and, where kernels are cached, writes them), the second finds
whatever the first cached.  The workloads are tiny, so the difference is the compile time
that the cache saves; with no cached kernel both runs compile and the difference is noise.

    NEGKIT_DATA=../shared/data python bench/compile_cache.py [--rounds 2]

The commands: ``negkit demo`` on 300 lines for one epoch (uniform, unigram, adaptive),
``negkit rec train`` (numba BPR-MF, dns, ml-100k, 1 epoch) and ``negkit graph embed``
(DeepWalk on karate).  Prints seconds per run and the saving, best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "demo": [
        "demo", "--max-lines", "300", "--epochs", "1", "--fresh", "--no-progress",
        "--out", "{tmp}/demo",
    ],
    "rec train": [
        "rec", "train", "--data", "ml-100k", "--model", "mf", "--engine", "numba",
        "--sampler", "dns", "--epochs", "1", "--threads", "1", "--out", "{tmp}/rec",
        "--no-progress",
    ],
    "graph embed": [
        "graph", "embed", "--graph", "karate", "--method", "deepwalk", "--workers", "1",
        "--out", "{tmp}/vectors.txt",
    ],
}


def timed(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "negkit.cli", *args], env=env, check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    for name, argv in COMMANDS.items():
        cold, warm = [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                env = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/numba"}
                cmd = [a.format(tmp=tmp) for a in argv]
                cold.append(timed(cmd, env))
                warm.append(timed(cmd, env))
        c, w = min(cold), min(warm)
        print(f"{name:12s} cold {c:6.2f} s  warm {w:6.2f} s  cache saves {c - w:5.2f} s")
        print(f"COMPILE {name.replace(' ', '_')} cold_s={c:.2f} warm_s={w:.2f} saved_s={c - w:.2f}")


if __name__ == "__main__":
    main()
