"""Experiment 1 of docs/contrastive.md: span NER on WNUT-17 with missing annotations.

Li, Liu & Shi (ICLR 2021) remove a fraction ρ of the training entities and compare a span
model trained on every non-gold span as "O" (vanilla) with the same model trained on the
gold spans plus ⌈λ n⌉ sampled non-gold spans per sentence (negative sampling).  This script
does that on WNUT-17 (train → test; no model selection: the last epoch is scored) and writes
one JSON line per run, then a table (markdown) and a plot of test micro-F1 against ρ.

    python bench/ner_unlabeled.py --rhos 0,0.3,0.5,0.7 --seeds 0,1,2 --epochs 5 \\
        --workers 2 --out docs/contrastive/ner

Seed s removes the same annotations for both models (``drop_annotations(train, ρ, s)``) and
seeds their initialisation and sampling.  Each run uses one torch thread; runs already in the
JSON-lines file are skipped (resume).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run_one(cfg: dict) -> dict:
    import torch

    torch.set_num_threads(1)
    from negkit.contrastive.ner import drop_annotations, train_span_ner
    from negkit.data import registry

    train = registry.load("wnut17", split="train")
    test = registry.load("wnut17", split="test")
    labels = train.types
    noisy = drop_annotations(train, cfg["rho"], cfg["seed"])
    t0 = time.perf_counter()
    res = train_span_ner(noisy, negatives=cfg["negatives"], lam=cfg["lam"], epochs=cfg["epochs"],
                         lr=cfg["lr"], seed=cfg["seed"], max_width=cfg["max_width"],
                         labels=labels)  # fmt: skip
    m = res.evaluate(test)
    return {**cfg, **m, "train_seconds": time.perf_counter() - t0,
            "train_entities": sum(len(s) for s in noisy.spans), "log": res.log}  # fmt: skip


def report(rows: list[dict], out: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rhos = sorted({r["rho"] for r in rows})
    lines = ["| ρ | vanilla F1 (mean ± sd) | negative sampling F1 (mean ± sd) | seeds |",
             "|---|---|---|---|"]  # fmt: skip
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for neg, name in (("all", "vanilla (all non-gold spans as O)"),
                      ("sampled", "negative sampling (Li et al. 2021)")):  # fmt: skip
        mean, sd = [], []
        for rho in rhos:
            f = [100 * r["f1"] for r in rows if r["rho"] == rho and r["negatives"] == neg]
            mean.append(np.mean(f) if f else np.nan)
            sd.append(np.std(f) if f else np.nan)
        ax.errorbar(rhos, mean, yerr=sd, marker="o", capsize=3, label=name)
    for rho in rhos:
        cells = []
        for neg in ("all", "sampled"):
            f = [100 * r["f1"] for r in rows if r["rho"] == rho and r["negatives"] == neg]
            cells.append(f"{np.mean(f):.1f} ± {np.std(f):.1f}" if f else "—")
        n = len({r["seed"] for r in rows if r["rho"] == rho})
        lines.append(f"| {rho} | {cells[0]} | {cells[1]} | {n} |")
    ax.set_xlabel("ρ (share of training entities removed)")
    ax.set_ylabel("test span micro-F1 (%)")
    ax.set_title("WNUT-17, span NER")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "ner_f1_vs_rho.png", dpi=120)
    table = "\n".join(lines)
    (out / "ner_table.md").write_text(table + "\n")
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rhos", default="0,0.3,0.5,0.7")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lam", type=float, default=0.35)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--max-width", type=int, default=6)
    p.add_argument("--negatives", default="all,sampled", help="models: all (vanilla), sampled")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="docs/contrastive/ner")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "runs.jsonl"
    done = []
    if log.exists():
        done = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    key = lambda r: (r["rho"], r["seed"], r["negatives"])  # noqa: E731
    have = {key(r) for r in done}
    cfgs = [dict(rho=float(rho), seed=int(s), negatives=neg, lam=a.lam, epochs=a.epochs,
                 lr=a.lr, max_width=a.max_width)
            for rho in a.rhos.split(",") for s in a.seeds.split(",")
            for neg in a.negatives.split(",")]  # fmt: skip
    todo = [c for c in cfgs if key(c) not in have]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        for r in ex.map(run_one, todo):
            done.append(r)
            with open(log, "a") as f:
                f.write(json.dumps(r) + "\n")
            print(f"rho={r['rho']} seed={r['seed']} {r['negatives']:8s} F1={100 * r['f1']:.1f} "
                  f"({r['train_seconds']:.0f} s)", flush=True)  # fmt: skip
    print(f"{len(todo)} runs in {time.perf_counter() - t0:.0f} s, pid {os.getpid()}")
    print(report(done, out))


if __name__ == "__main__":
    main()
