"""The report's PNG figures (matplotlib, Agg canvas; no global backend is changed).

Each function writes one PNG and returns its path, or None when no run recorded
what it plots.  Curves are means over seeds with a ±1 std band.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from negkit.study.summary import SamplerSummary, curve, final_histogram

METRIC_LABELS = {
    "analogy": "analogy accuracy (3CosAdd)",
    "analogy_semantic": "analogy accuracy, semantic",
    "analogy_syntactic": "analogy accuracy, syntactic",
}


def metric_label(name: str) -> str:
    if name in METRIC_LABELS:
        return METRIC_LABELS[name]
    if name.endswith("_spearman"):
        return f"{name[: -len('_spearman')]} Spearman ρ"
    return name


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _colors(samplers: list[str]) -> dict[str, Any]:
    cmap = [
        "tab:blue",
        "tab:orange",
        "tab:green",
        "tab:red",
        "tab:purple",
        "tab:brown",
        "tab:pink",
        "tab:gray",
        "tab:olive",
        "tab:cyan",
    ]
    return {s: cmap[i % len(cmap)] for i, s in enumerate(samplers)}


def _band(ax, x, c, color, label):
    ax.plot(x, c["mean"], marker="o", ms=3, color=color, label=label)
    ax.fill_between(x, c["mean"] - c["std"], c["mean"] + c["std"], color=color, alpha=0.15, lw=0)


def plot_quality(
    runs, samplers: list[str], metrics: list[str], path: Path, x: str = "epoch", title: str = ""
) -> Path | None:
    """Quality against epoch (``x="epoch"``) or cumulative training seconds (``x="seconds"``)."""
    curves = {m: {s: curve(runs, s, m) for s in samplers} for m in metrics}
    metrics = [
        m
        for m in metrics
        if any(len(c["mean"]) and np.isfinite(c["mean"]).any() for c in curves[m].values())
    ]
    if not metrics:
        return None
    ncol = min(3, len(metrics))
    nrow = math.ceil(len(metrics) / ncol)
    fig = Figure(figsize=(4.6 * ncol, 3.4 * nrow))
    colors = _colors(samplers)
    for i, m in enumerate(metrics):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        for s in samplers:
            c = curves[m][s]
            if len(c["mean"]):
                _band(ax, c[x], c, colors[s], s)
        ax.set_xlabel("epoch" if x == "epoch" else "training wall-clock time (s)")
        if x == "epoch":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric_label(m))
        ax.set_title(metric_label(m), fontsize=10)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(title="sampler", fontsize=8)
    fig.suptitle(
        title
        or f"Quality against {'epoch' if x == 'epoch' else 'training time'} (mean ± std over seeds)"
    )
    fig.tight_layout()
    return _save(fig, path)


def plot_record_curve(
    runs, samplers: list[str], key: str, path: Path, ylabel: str, title: str
) -> Path | None:
    """A per-epoch record field (e.g. ``neg_sigmoid_mean``) against epoch."""
    curves = {s: curve(runs, s, key) for s in samplers}
    if not any(len(c["mean"]) and np.isfinite(c["mean"]).any() for c in curves.values()):
        return None
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    colors = _colors(samplers)
    for s, c in curves.items():
        if len(c["mean"]) and np.isfinite(c["mean"]).any():
            _band(ax, c["epoch"], c, colors[s], s)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(title="sampler", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_score_hist(runs, samplers: list[str], path: Path) -> Path | None:
    """Density of the drawn negatives' scores, first epoch (dashed) and last epoch (solid)."""
    colors = _colors(samplers)
    fig = Figure(figsize=(6.8, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    lo, hi = math.inf, -math.inf
    for s in samplers:
        for idx, style in ((0, "--"), (-1, "-")):
            h = final_histogram(runs, s, idx)
            if h is None:
                continue
            bins, dens = h
            ax.stairs(
                dens,
                bins,
                color=colors[s],
                linestyle=style,
                lw=1.4,
                label=f"{s} ({'first' if idx == 0 else 'last'} epoch)",
            )
            used = np.flatnonzero(dens > 1e-3 * dens.max())  # zoom on where the mass is
            lo, hi = min(lo, bins[used[0]]), max(hi, bins[used[-1] + 1])
    if not math.isfinite(lo):
        return None
    ax.set_xlim(lo, hi)
    ax.set_xlabel("score of a drawn negative, u·v (logit)")
    ax.set_ylabel("density (1 / score unit)")
    ax.set_title("Score distribution of the negatives drawn (pooled over seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    fig.tight_layout()
    return _save(fig, path)


def plot_cost(summaries: list[SamplerSummary], path: Path) -> Path | None:
    """Training wall time per run, split into the sampler's cost and the rest.

    The sampler's cost is the time above the uniform run of the same seed when the study has
    one (``share_above_uniform``), else the trainer's estimate (``sampler_share``); a share
    that is missing or outside [0, 1] is drawn as 0.
    """
    rows = [s for s in summaries if math.isfinite(s.train_seconds[0])]
    if not rows:
        return None
    above = any(math.isfinite(s.share_above_uniform[0]) for s in rows)
    fig = Figure(figsize=(6.4, 0.6 * len(rows) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(rows))
    total = np.array([s.train_seconds[0] for s in rows])
    raw = [s.share_above_uniform[0] if above else s.sampler_share[0] for s in rows]
    share = np.array([x if 0 <= x <= 1 else 0.0 for x in raw])
    err = np.array([s.train_seconds[1] if math.isfinite(s.train_seconds[1]) else 0.0 for s in rows])
    label = (
        "time above the uniform run (the sampler's cost)"
        if above
        else "drawing negatives (trainer's estimate)"
    )
    ax.barh(y, total * share, color="tab:red", label=label)
    ax.barh(
        y,
        total * (1 - share),
        left=total * share,
        color="tab:gray",
        xerr=err,
        label="rest of training" + ("" if above else " (all of it where no estimate)"),
    )
    ax.set_yticks(y, [s.sampler for s in rows])
    ax.invert_yaxis()
    ax.set_xlabel("training wall-clock time per run (s), mean ± std over seeds")
    ax.set_title("Cost of each sampler", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return _save(fig, path)
