"""``report.md`` and ``report.html`` of a study, with their PNG figures.

Both are built from the same pieces: the final-metrics table (mean ± std over
seeds, wall time, the sampler's share of it), the figures, the runs that did
not finish, and what is needed to rerun (command, versions, seeds, settings).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from negkit.study import plots
from negkit.study.summary import SamplerSummary, fmt_mean_std, summarise

#: What an epoch record's ``loss`` is, by family (the loss figure's label).
LOSS_LABELS = {
    "word2vec": "training loss per pair (SGNS: -log σ(pos) - Σ log σ(-neg))",
    "graph": "training loss per pair (SGNS on the walks)",
    "rec": "training loss per pair (BPR: -log σ(x_ui - x_uj))",
    "kg": "training loss per batch (the run's KG loss, weighted as its sampler weights it)",
}
#: What ``neg_sigmoid_mean`` is, by family, where it is not σ(u·v) of the training draws:
#: (axis label, what the figure's heading adds).
SIGMA_LABELS = {
    "rec": (
        "mean σ(x_uj - x_ui) of probe negatives (BPR)",
        "BPR's gradient factor σ(x_uj - x_ui), of negatives drawn again after each epoch for "
        "a fixed set of probe users, not of the training draws",
    ),
}
SIGMA_DEFAULT = ("mean σ(u·v) of drawn negatives (gradient per negative)", "")


def _table(
    summaries: list[SamplerSummary],
    metrics: list[str],
    inline: bool = False,
    sigma: str = "mean σ(score) of negatives",
) -> tuple[list[str], list[list[str]]]:
    has_share = any(math.isfinite(s.sampler_share[0]) for s in summaries)
    has_above = any(math.isfinite(s.share_above_uniform[0]) for s in summaries)
    has_fn = any(math.isfinite(s.false_negative_final[0]) for s in summaries)
    head = ["sampler", "seeds"] + [plots.metric_label(m) for m in metrics]
    head += ["train time / run (s)"]
    head += ["share above uniform's time"] if has_above else []
    how = "timed in training" if inline else "estimated apart"
    head += [f"share drawing negatives, {how}"] if has_share else []
    head += [f"{sigma}, last epoch"]
    head += ["false-negative rate, last epoch"] if has_fn else []
    best = {}
    for m in metrics:
        vals = [s.final[m][0] for s in summaries if math.isfinite(s.final[m][0])]
        best[m] = max(vals) if vals else None
    rows = []
    for s in summaries:
        row = [s.sampler, ",".join(map(str, s.seeds)) or "none finished"]
        for m in metrics:
            cell = fmt_mean_std(*s.final[m])
            n = s.final_n.get(m, len(s.seeds))
            if 0 < n < len(s.seeds):  # the others' value is missing or NaN
                cell += f" ({n} of {len(s.seeds)} seeds)"
            row.append(f"**{cell}**" if best[m] is not None and s.final[m][0] == best[m] else cell)
        row.append(fmt_mean_std(*s.train_seconds, digits=1))
        if has_above:
            row.append(_percent(s.share_above_uniform))
        if has_share:
            sh = s.sampler_share
            row.append(_share(sh))
        row.append(fmt_mean_std(*s.neg_sigmoid_final))
        if has_fn:
            row.append(fmt_mean_std(*s.false_negative_final, digits=4))
        rows.append(row)
    return head, rows


def _percent(sh: tuple[float, float]) -> str:
    if not math.isfinite(sh[0]):
        return "n/a"
    return f"{100 * sh[0]:.1f}%" + (f" ± {100 * sh[1]:.1f}" if math.isfinite(sh[1]) else "")


def _share(sh: tuple[float, float]) -> str:
    """The trainer's estimate of the time share spent drawing negatives.

    Trainers estimate it as (time per draw, measured apart) x draws / threads; an
    estimate above the whole training time says that measurement failed.
    """
    if not math.isfinite(sh[0]):
        return "n/a"
    if sh[0] > 1.0:
        return "unreliable (estimate > 100%)"
    return _percent(sh)


#: Baselines the other samplers are compared with, in order of preference.
REFERENCES = ("unigram", "degree", "popularity", "pns")


def _reference(summaries: list[SamplerSummary]) -> SamplerSummary | None:
    from negkit.study.spec import plain_name

    for name in REFERENCES:  # the first reference listed that has finished runs
        for s in summaries:
            if s.seeds and plain_name(s.sampler) == plain_name(name):
                return s
    return None


def _delta_table(summaries: list[SamplerSummary], metrics: list[str]):
    """Each sampler minus the reference: mean difference ± its standard error, time ratio."""
    ref = _reference(summaries)
    if ref is None:
        return None, [], []
    head = ["sampler"] + [plots.metric_label(m) for m in metrics] + ["train time vs reference"]
    rows = []
    for s in summaries:
        if s is ref or not s.seeds:
            continue
        row = [s.sampler]
        for m in metrics:
            (a, sa), (b, sb) = s.final[m], ref.final[m]
            if not (math.isfinite(a) and math.isfinite(b)):
                row.append("n/a")
                continue
            n_s, n_ref = s.final_n.get(m, len(s.seeds)), ref.final_n.get(m, len(ref.seeds))
            se = math.sqrt(sa**2 / n_s + sb**2 / n_ref)
            row.append(f"{a - b:+.3f}" + (f" ± {se:.3f}" if math.isfinite(se) else ""))
        t, tr = s.train_seconds[0], ref.train_seconds[0]
        row.append(f"×{t / tr:.2f}" if math.isfinite(t) and tr > 0 else "n/a")
        rows.append(row)
    return ref.sampler, head, rows


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table's lines: header, rule, rows."""
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    esc = html.escape
    out = ["<table><tr>"] + [f"<th>{esc(c)}</th>" for c in head] + ["</tr>"]
    for r in rows:
        cells = []
        for c in r:
            bold = c.startswith("**")
            c = esc(c.strip("*"))
            cells.append(f"<td><b>{c}</b></td>" if bold else f"<td>{c}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _figures(
    out: Path, runs, samplers, metrics, summaries, family: str = ""
) -> list[tuple[str, Path]]:
    sigma, about = SIGMA_LABELS.get(family, SIGMA_DEFAULT)
    loss = LOSS_LABELS.get(family, "training loss")
    figs = [
        (
            "Quality against epoch",
            plots.plot_quality(runs, samplers, metrics, out / "quality_vs_epoch.png"),
        ),
        (
            "Quality against training wall-clock time",
            plots.plot_quality(
                runs, samplers, metrics, out / "quality_vs_seconds.png", x="seconds"
            ),
        ),
        (
            "Mean σ(score) of the negatives: the gradient each negative gives (gradient "
            "vanishing)" + (f"; here {about}" if about else ""),
            plots.plot_record_curve(
                runs,
                samplers,
                "neg_sigmoid_mean",
                out / "neg_sigmoid.png",
                sigma,
                "Gradient magnitude per negative over training",
            ),
        ),
        (
            "Score distribution of the negatives drawn",
            plots.plot_score_hist(runs, samplers, out / "neg_scores.png"),
        ),
        (
            "False negatives: drawn items that are test positives",
            plots.plot_record_curve(
                runs,
                samplers,
                "false_negative_rate",
                out / "false_negatives.png",
                "share of drawn negatives that are test positives",
                "False-negative rate over training",
            ),
        ),
        (
            f"Training loss: {loss}",
            plots.plot_record_curve(
                runs,
                samplers,
                "loss",
                out / "loss.png",
                loss,
                "Training loss",
            ),
        ),
        ("Cost", plots.plot_cost(summaries, out / "cost.png")),
    ]
    return [(t, p) for t, p in figs if p is not None]


def _unfinished(runs: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for rid, r in sorted(runs.items()):
        if r["status"] != "finished":
            end = r.get("end", {})
            why = end.get("error") or end.get("reason") or "still running or killed"
            lines.append(f"{rid}: {r['status']} after {len(r['epochs'])} epoch(s) ({why})")
    return lines


def write_report(out: Path, meta: dict[str, Any], runs: dict[str, dict[str, Any]]) -> list[Path]:
    """Write ``out/report.md``, ``out/report.html`` and the PNGs; return their paths."""
    out = Path(out)
    samplers, metrics = list(meta["samplers"]), list(meta["metrics"])
    summaries = summarise(runs, samplers, metrics)
    inline = meta.get("sampler_timing") == "inline"
    family = str(meta.get("family", ""))
    sigma = SIGMA_LABELS[family][0] if family in SIGMA_LABELS else "mean σ(score) of negatives"
    head, rows = _table(summaries, metrics, inline, sigma)
    figs = _figures(out, runs, samplers, metrics, summaries, family)
    n_done = sum(r["status"] == "finished" for r in runs.values())
    n_all = len(samplers) * len(meta["seeds"])
    status = f"{n_done} of {n_all} runs finished."
    if meta.get("stopped"):
        status += (
            f" The study stopped early: {meta['stopped']}. Run the same command again to finish it."
        )
    unfinished = _unfinished(runs)
    rerun = {
        k: meta.get(k)
        for k in (
            "family",
            "samplers",
            "seeds",
            "epochs",
            "settings",
            "time_budget",
            "versions",
            "first_started",
            "started",
        )
    }
    demo = str(meta.get("command") or "").startswith("negkit demo")
    title = f"negkit {'demo' if demo else 'compare ' + meta['family']}: sampler study"
    caption = (
        "Final metrics after the last epoch (not the best epoch's), mean ± sample standard "
        "deviation (n - 1 in the denominator; none for a single seed) over the finished seeds; "
        "the best mean in bold (every metric here is better higher). Train time excludes "
        "evaluation and is per run, summed over its epochs."
    )
    splits = sorted({
        str(r["epochs"][-1]["eval_split"])
        for r in runs.values()
        if r["status"] == "finished" and r["epochs"] and r["epochs"][-1].get("eval_split")
    })  # fmt: skip
    if splits:
        what = {"valid": "validation", "test": "test"}
        caption += f" Metrics on the {' and '.join(what.get(x, x) for x in splits)} split"
        caption += "s (they differ by run)." if len(splits) > 1 else "."
    if any(math.isfinite(s.share_above_uniform[0]) for s in summaries):
        caption += (
            " Share above uniform's time: (t - t_uniform) / t with t_uniform the uniform run of"
            " the same seed, whose draws cost a few ns: what drawing this sampler's negatives"
            " adds, cache misses and refreshes included."
        )
    if any(math.isfinite(s.sampler_share[0]) for s in summaries) and inline:
        caption += (
            " Share timed in training: the wall time of the sampler's calls (drawing, and"
            " updating its state) during training, over the training time."
        )
    elif any(math.isfinite(s.sampler_share[0]) for s in summaries):
        caption += (
            " Share estimated apart: the trainer's time per draw, timed after each epoch"
            " outside training, x draws / threads (it misses the cache misses that training"
            " adds, and is noisy on a loaded machine)."
        )

    md = [
        f"# {title}",
        "",
        status,
        "",
        caption,
        "",
        *_md_table(head, rows),
    ]
    ref, dhead, drows = _delta_table(summaries, metrics)
    delta_caption = (
        f"Difference to {ref} (final epoch): mean of the sampler minus mean of {ref}, "
        "± the standard error of that difference (sqrt(s1²/n1 + s2²/n2)); train time as a ratio."
    )
    if drows:
        md += [
            "",
            f"## Against {ref}",
            "",
            delta_caption,
            "",
            *_md_table(dhead, drows),
        ]
    if unfinished:
        md += ["", "## Runs that did not finish", ""] + [f"* {u}" for u in unfinished]
    md += ["", "## Figures", ""]
    for t, p in figs:
        md += [f"### {t}", "", f"![{t}]({p.name})", ""]
    md += [
        "## Rerun",
        "",
        "```",
        meta.get("command", ""),
        "```",
        "",
        "```json",
        json.dumps(rerun, indent=2),
        "```",
        "",
        "Per-epoch records: `metrics.jsonl` (one JSON object a line).",
    ]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    esc = html.escape
    h = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
        "pre{background:#f4f4f4;padding:8px;overflow-x:auto}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(status)}</p>",
        f"<p>{esc(caption)}</p>",
    ]
    h.append(_html_table(head, rows))
    if drows:
        h += [
            f"<h2>Against {esc(ref)}</h2>",
            f"<p>{esc(delta_caption)}</p>",
            _html_table(dhead, drows),
        ]
    if unfinished:
        h += (
            ["<h2>Runs that did not finish</h2><ul>"]
            + [f"<li>{esc(u)}</li>" for u in unfinished]
            + ["</ul>"]
        )
    h.append("<h2>Figures</h2>")
    for t, p in figs:
        h.append(f"<h3>{esc(t)}</h3><img src='{esc(p.name)}' alt='{esc(t)}'>")
    h += [
        "<h2>Rerun</h2>",
        f"<pre>{esc(meta.get('command', ''))}</pre>",
        f"<pre>{esc(json.dumps(rerun, indent=2))}</pre>",
        "<p>Per-epoch records: <code>metrics.jsonl</code>.</p></body></html>",
    ]
    (out / "report.html").write_text("\n".join(h) + "\n", encoding="utf-8")
    return [out / "report.md", out / "report.html"] + [p for _, p in figs]
