"""Plots of the contrastive experiments 2 and 3 from their JSON results (not part of CI).

Reads what ``bench/retrieval_hard.py`` and ``bench/contrastive_memory.py`` wrote and draws:

* ``retrieval.png``: Recall@20 and NDCG@20 of the three trainings, and the false-negative
  rate of the mined tables (with and without the margin);
* ``memory.png``: each case's peak resident set against the 2 GB bound, with the size of
  what a naive version would hold (the full score matrix; the queue's full score table).

    python bench/contrastive_plots.py [--dir docs/contrastive]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def retrieval(res: dict, out: Path) -> None:
    plt = _plt()
    runs, mining = res["runs"], res["mining"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = list(runs)
    x = range(len(names))
    for i, metric in enumerate(("recall@20", "ndcg@20")):
        a.bar([j + 0.38 * i for j in x], [runs[n][metric] for n in names], 0.38, label=metric)
    a.set_xticks([j + 0.19 for j in x], names)
    a.set_title("test metrics (Gowalla, first 5,000 users)")
    a.legend(loc="lower center")
    tables = list(mining)
    b.bar(tables, [100 * mining[t]["false_negative_rate"] for t in tables], color="tab:red")
    b.set_ylabel("% of mined negatives that are test positives")
    b.set_title("false negatives among mined negatives")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def memory(res: dict, out: Path) -> None:
    plt = _plt()
    cases = res["cases"]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    names = [c["case"] for c in cases]
    ax.bar(names, [c["peak_rss_mb"] for c in cases], label="peak RSS (measured)")
    ax.axhline(2048, color="tab:red", linestyle="--", label="2 GB bound")
    full = next((c["full_score_matrix_mb"] for c in cases if "full_score_matrix_mb" in c), None)
    if full is not None:
        ax.bar(["mine: full score matrix"], [full], color="lightgray",
               label="what unchunked mining would hold")  # fmt: skip
    ax.set_ylabel("MB")
    ax.set_title("memory of mining 1M x 128 and of a 65,536-key queue")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("docs/contrastive"))
    args = ap.parse_args()
    retrieval(json.loads((args.dir / "retrieval.json").read_text()), args.dir / "retrieval.png")
    memory(json.loads((args.dir / "memory.json").read_text()), args.dir / "memory.png")
    print(f"wrote {args.dir / 'retrieval.png'} and {args.dir / 'memory.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
