"""Experiment 3 of docs/contrastive.md: peak memory of corpus mining and of the memory queue.

Each case runs in a fresh Python process (so each peak is its own) and reports the process'
peak resident set size (``ru_maxrss``) and its RSS after the imports:

* ``mine``: ``mine_hard_negatives`` over N synthetic 128-d vectors (default 1,000,000, float32,
  512 MB by themselves) for Q queries, band [100, 500), 4 negatives each, exact chunked search;
* ``queue``: InfoNCE steps with a ``CrossBatchMemory`` of 65,536 keys of 128 floats (chunked
  logsumexp, forward and backward), batch 256;
* ``queue_naive``: the same loss with the 65,536 keys passed as explicit negatives (the full
  B × queue score matrix kept for the backward), for comparison.

    python bench/contrastive_memory.py --out docs/contrastive/memory.json

One torch thread per case.  The budget asked for is 2 GB peak per case.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case(name: str, a) -> dict:
    import torch

    torch.set_num_threads(1)
    import negkit.contrastive as nc

    base = _rss_mb()
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    if name == "mine":
        corpus = torch.randn(a.n, a.dim, generator=g)
        queries = corpus[: a.queries] + 0.1 * torch.randn(a.queries, a.dim, generator=g)
        pos = torch.arange(a.queries)
        m = nc.mine_hard_negatives(
            queries, corpus, pos, range_min=100, range_max=500, num_negatives=4,
            sampling="random", seed=0, query_chunk=a.query_chunk, corpus_chunk=a.corpus_chunk,
        )  # fmt: skip
        extra = {"triples": len(m), "corpus_mb": corpus.numel() * 4 / 2**20,
                 "full_score_matrix_mb": a.queries * a.n * 4 / 2**20}  # fmt: skip
    else:
        mem = nc.CrossBatchMemory(dim=a.dim, size=a.queue, chunk_size=a.chunk)
        mem.enqueue(torch.nn.functional.normalize(torch.randn(a.queue, a.dim, generator=g), dim=1))
        enc = torch.nn.Linear(a.dim, a.dim)
        opt = torch.optim.SGD(enc.parameters(), lr=0.1)
        loss_fn = nc.InfoNCELoss(0.07)
        for _ in range(a.steps):
            x = torch.randn(a.batch, a.dim, generator=g)
            q, k = enc(x), enc(x + 0.1 * torch.randn(a.batch, a.dim, generator=g))
            if name == "queue":
                loss = loss_fn(q, k, memory=mem)
            else:
                loss = loss_fn(q, k, mem.keys)
            opt.zero_grad()
            loss.backward()
            opt.step()
            mem.enqueue(torch.nn.functional.normalize(k.detach(), dim=1))
        extra = {"queue_mb": mem.nbytes() / 2**20, "loss": float(loss)}
    return {"case": name, "seconds": time.perf_counter() - t0, "rss_after_imports_mb": base,
            "peak_rss_mb": _peak_mb(), **extra}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", default=None, help="run one case in this process")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--query-chunk", type=int, default=256)
    p.add_argument("--corpus-chunk", type=int, default=65536)
    p.add_argument("--queue", type=int, default=65536)
    p.add_argument("--chunk", type=int, default=8192)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    if a.case:
        print(json.dumps(case(a.case, a)))
        return
    argv = [x for x in sys.argv[1:]]
    if "--out" in argv:
        i = argv.index("--out")
        del argv[i : i + 2]
    rows = []
    for name in ("mine", "queue", "queue_naive"):
        r = subprocess.run([sys.executable, __file__, "--case", name, *argv],
                           capture_output=True, text=True, check=True)  # fmt: skip
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"settings": vars(a), "cases": rows}, f, indent=1)


if __name__ == "__main__":
    main()
