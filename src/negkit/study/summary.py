"""Numbers the report shows: final metrics as mean ± std over seeds, and per-epoch curves.

Only finished runs enter the table and the curves; std is the sample standard
deviation (ddof=1) over seeds, undefined (NaN) for a single seed.  A metric that is
missing or NaN in some finished runs is averaged over the others, and the report says
over how many (``SamplerSummary.final_n``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from negkit.study.spec import plain_name


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample std (ddof=1) of the finite values; NaN where undefined."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan


def fmt_mean_std(m: float, s: float, digits: int = 3) -> str:
    if not math.isfinite(m):
        return "n/a"
    return f"{m:.{digits}f}" if not math.isfinite(s) else f"{m:.{digits}f} ± {s:.{digits}f}"


@dataclass
class SamplerSummary:
    sampler: str
    seeds: list[int]
    #: metric -> (mean, std) of the final epoch's value.
    final: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: metric -> how many of ``seeds`` have a finite final value (the ones ``final`` is of).
    final_n: dict[str, int] = field(default_factory=dict)
    train_seconds: tuple[float, float] = (math.nan, math.nan)
    #: sampler_seconds / train_seconds (mean, std), NaN when not measured.
    sampler_share: tuple[float, float] = (math.nan, math.nan)
    #: (t - t_uniform) / t over seeds, t_uniform the same seed's uniform run: the share of
    #: the run that the sampler adds to the cheapest one (NaN without a finished uniform run).
    share_above_uniform: tuple[float, float] = (math.nan, math.nan)
    neg_sigmoid_final: tuple[float, float] = (math.nan, math.nan)
    false_negative_final: tuple[float, float] = (math.nan, math.nan)


def _get(rec: dict[str, Any], key: str) -> float:
    x = rec.get(key)
    return float(x) if isinstance(x, (int, float)) else math.nan


def summarise(
    runs: dict[str, dict[str, Any]], samplers: list[str], metrics: list[str]
) -> list[SamplerSummary]:
    """One :class:`SamplerSummary` per sampler (in ``samplers`` order), finished runs only."""
    uniform = _uniform_seconds(runs)
    out = []
    for s in samplers:
        done = [
            r
            for r in runs.values()
            if r["sampler"] == s and r["status"] == "finished" and r["epochs"]
        ]
        summ = SamplerSummary(sampler=s, seeds=sorted(r["seed"] for r in done))
        last = [r["epochs"][-1] for r in done]
        for m in metrics:
            vals = [_metric(e, m) for e in last]
            summ.final[m] = mean_std(vals)
            summ.final_n[m] = sum(math.isfinite(v) for v in vals)
        secs = [_get(e, "train_seconds") for e in last]
        summ.train_seconds = mean_std(secs)
        summ.sampler_share = mean_std(
            [
                _get(e, "sampler_seconds") / t if t and t > 0 else math.nan
                for e, t in zip(last, secs)
            ]
        )
        summ.share_above_uniform = mean_std(
            [
                (t - uniform[r["seed"]]) / t if r["seed"] in uniform and t > 0 else math.nan
                for r, t in zip(done, secs)
            ]
        )
        summ.neg_sigmoid_final = mean_std([_get(e, "neg_sigmoid_mean") for e in last])
        summ.false_negative_final = mean_std([_get(e, "false_negative_rate") for e in last])
        out.append(summ)
    return out


def _uniform_seconds(runs: dict[str, dict[str, Any]]) -> dict[int, float]:
    """Training seconds of every finished run of the plain uniform sampler (by any of its
    names), by seed.

    Uniform draws cost one random number (a few ns), so the time a sampler's run takes above
    the uniform run of the same seed is what drawing its negatives costs, cache misses and
    refreshes included (unlike the trainer's per-draw estimate, measured apart).
    """
    out = {}
    for r in runs.values():
        if plain_name(r["sampler"]) == "uniform" and r["status"] == "finished" and r["epochs"]:
            t = _get(r["epochs"][-1], "train_seconds")
            if math.isfinite(t):
                out[int(r["seed"])] = t
    return out


def _metric(rec: dict[str, Any], name: str) -> float:
    x = rec.get("metrics", {}).get(name)
    return float(x) if isinstance(x, (int, float)) else math.nan


def curve(runs: dict[str, dict[str, Any]], sampler: str, key: str) -> dict[str, np.ndarray]:
    """Per-epoch mean and std over the sampler's finished runs of ``key``.

    ``key`` is a metric name, or a record field such as ``neg_sigmoid_mean``.
    Returns arrays ``epoch``, ``mean``, ``std`` and ``seconds`` (mean cumulative
    training seconds at that epoch), over the epochs every run reached.
    """
    done = [r for r in runs.values() if r["sampler"] == sampler and r["status"] == "finished"]
    if not done:
        return {
            "epoch": np.zeros(0),
            "mean": np.zeros(0),
            "std": np.zeros(0),
            "seconds": np.zeros(0),
        }
    n = min(len(r["epochs"]) for r in done)
    ep, mu, sd, sec = [], [], [], []
    for i in range(n):
        recs = [r["epochs"][i] for r in done]
        vals = [_metric(e, key) if key in e.get("metrics", {}) else _get(e, key) for e in recs]
        m, s = mean_std(vals)
        ep.append(recs[0].get("epoch", i + 1))
        mu.append(m)
        sd.append(0.0 if not math.isfinite(s) else s)
        sec.append(mean_std([_get(e, "train_seconds") for e in recs])[0])
    return {
        "epoch": np.asarray(ep, float),
        "mean": np.asarray(mu),
        "std": np.asarray(sd),
        "seconds": np.asarray(sec),
    }


def final_histogram(runs: dict[str, dict[str, Any]], sampler: str, epoch_index: int = -1):
    """``(bins, density)`` of the negatives' scores at one epoch, pooled over seeds, or None."""
    bins, total = None, None
    for r in runs.values():
        if r["sampler"] != sampler or r["status"] != "finished" or not r["epochs"]:
            continue
        e = r["epochs"][epoch_index]
        h, b = e.get("neg_score_hist"), e.get("neg_score_bins")
        if h is None or b is None:
            continue
        h = np.asarray(h, dtype=np.float64)
        if bins is None:
            bins, total = np.asarray(b, dtype=np.float64), h.copy()
        elif len(b) == len(bins) and np.allclose(b, bins):
            total += h
    if bins is None or total.sum() <= 0:
        return None
    density = total / (total.sum() * np.diff(bins))
    return bins, density
