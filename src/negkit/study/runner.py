"""Run a sampler study: one model per (sampler, seed), identical settings, evaluated every epoch.

Runs go seed by seed (every sampler for the first seed, then the next seed), so
that a study cut short still compares all samplers.  Every epoch is appended to
``DIR/metrics.jsonl`` and flushed at once.  Ctrl-C or the time budget stops the
study after the current epoch; what finished is kept and the report is still
written from it.  Run again with the same ``DIR`` and finished runs are skipped.
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from negkit.study.family import Family, StopRun
from negkit.study.log import MetricsLog, read_records, run_id, runs_from_records
from negkit.study.spec import check_distinct, parse_spec

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"
METRICS_FILE = "metrics.jsonl"


@dataclass
class StudyResult:
    out: Path
    runs: dict[str, dict[str, Any]]
    #: "" when every run finished; else why the study stopped early.
    stopped: str = ""
    report_files: list[Path] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return bool(self.stopped)


def versions() -> dict[str, str]:
    """Versions needed to rerun: Python, negkit and the numeric stack."""
    import numba
    import numpy

    from negkit._version import __version__

    v = {
        "negkit": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }
    if "torch" in sys.modules:
        v["torch"] = sys.modules["torch"].__version__
    return v


def _check_samplers(samplers: Sequence[str], family: Any = None) -> list[str]:
    from negkit import samplers as ns
    from negkit.samplers.band import check_trained_tables

    make = getattr(family, "make_sampler", None) or ns.get  # a family may name its own
    check = getattr(family, "check_sampler", None)  # and refuse what its trainer refuses
    what = f"negkit compare {getattr(family, 'name', '')}".strip()

    if not samplers:
        raise ValueError("no samplers given")
    check_distinct(samplers)  # by name or alias, as the command line's --samplers
    names = []
    for s in samplers:
        name, params = parse_spec(s)
        try:  # unknown names and parameters fail here, before any training
            obj = make(name, **params)
        except TypeError as e:
            raise ValueError(str(e)) from None
        if getattr(obj, "needs_impressions", False):  # no study reads an impression table
            raise ValueError(f"sampler {name!r} draws from impressions (fit(exposures=)), "
                             f"which {what} does not read")  # fmt: skip
        if "lengths" in getattr(obj, "fit_extras", ()):  # nor sentence lengths
            raise ValueError(f"sampler {name!r} draws spans of sentences (fit(lengths=), "
                             f"span NER: negkit.contrastive.train_span_ner), which {what} "
                             "does not read")  # fmt: skip
        check_trained_tables(obj, what)  # every study trains its tables from scratch
        if check is not None:
            check(obj)
        names.append(s.strip().lower())
    if len(set(names)) != len(names):
        raise ValueError(f"a sampler is listed twice: {', '.join(samplers)}")
    return names


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("no seeds given")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    return seeds


def _write_study_file(out: Path, meta: dict[str, Any], resume: bool) -> None:
    path = out / STUDY_FILE
    if resume and not path.exists():  # runs recorded, but no settings to check them against
        raise ValueError(
            f"{out} holds recorded runs ({METRICS_FILE}) but no {STUDY_FILE} to check their "
            "settings against: use another --out, or --fresh to start over"
        )
    if path.exists() and resume:
        old = json.loads(path.read_text(encoding="utf-8"))
        for key in ("family", "epochs", "settings"):
            if old.get(key) != meta[key]:
                raise ValueError(
                    f"{out} holds a study with different {key} "
                    f"({old.get(key)!r}, now {meta[key]!r}): "
                    "use another --out, or --fresh to start over"
                )
        meta["first_started"] = old.get("first_started", old.get("started"))
    else:
        meta["first_started"] = meta["started"]
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def run_study(
    family: Family,
    samplers: Sequence[str],
    seeds: Sequence[int],
    epochs: int,
    out: str | Path,
    *,
    time_budget: float | None = None,
    resume: bool = True,
    command: str | None = None,
    progress: bool = True,
    report: bool = True,
    dist_ctx: Any = None,
) -> StudyResult:
    """Train and evaluate every (sampler, seed); write ``metrics.jsonl`` and the report.

    time_budget : seconds for the whole study; checked after every epoch, so a
        run can overshoot it by one epoch.  The run in progress is then dropped
        (kept in the log as ``interrupted``) and no further run starts; a run whose
        last epoch passes the budget is kept as finished.
    resume : skip runs that ``out/metrics.jsonl`` records as finished; with
        False, an existing log is moved aside to ``metrics.jsonl.old``.
    dist_ctx : a :class:`negkit.rec.distributed.Context` of several ranks, for a family that
        trains data-parallel: every rank calls this; rank 0 alone reads and writes ``out``,
        and its decisions (the runs to do, a stop) are broadcast to the others.
    """
    main = dist_ctx is None or dist_ctx.is_main
    samplers = _check_samplers(samplers, family)
    seeds = _check_seeds(seeds)
    if isinstance(epochs, bool) or int(epochs) < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    if time_budget is not None and time_budget <= 0:
        raise ValueError(f"time budget must be positive, got {time_budget}")
    out = Path(out)
    if main:
        out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / METRICS_FILE
    if main and not resume and metrics_path.exists():
        metrics_path.replace(out / (METRICS_FILE + ".old"))
    meta = {
        "family": family.name,
        "epochs": int(epochs),
        "settings": family.settings(),
        "samplers": samplers,
        "seeds": seeds,
        "time_budget": time_budget,
        "command": command or " ".join(sys.argv),
        "versions": versions(),
        "metrics": family.metric_names(),
        "sampler_timing": getattr(family, "sampler_timing", "apart"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    done: set[str] = set()
    if main:
        recorded = runs_from_records(read_records(metrics_path))
        # a study that recorded no run (e.g. its data failed to load) is no study to keep
        _write_study_file(out, meta, resume and bool(recorded))
        done = {r for r, v in recorded.items() if v["status"] == "finished"}
    if dist_ctx is not None and dist_ctx.distributed:
        done = _from_rank0(dist_ctx, done)
    todo = [(s, seed) for seed in seeds for s in samplers if run_id(s, seed) not in done]
    for s, seed in [(s, seed) for seed in seeds for s in samplers if run_id(s, seed) in done]:
        log.info("skipping %s: finished in an earlier invocation", run_id(s, seed))

    stopped = ""
    t0 = time.perf_counter()
    if todo:
        family.prepare()
    bar = _progress(len(todo) * int(epochs), progress and main)
    with MetricsLog(metrics_path) if main else _NullLog() as mlog:
        for sampler, seed in todo:
            if _over(time_budget, t0, dist_ctx):
                stopped = f"time budget of {time_budget:g} s reached"
                break
            stopped = _one_run(
                family, sampler, seed, int(epochs), mlog, bar, t0, time_budget, dist_ctx
            )
            if stopped:
                break
    if bar is not None:
        bar.close()
    if stopped and main:
        log.warning("study stopped early: %s; finished runs are kept in %s", stopped, metrics_path)
    if not main:
        return StudyResult(out=out, runs={}, stopped=stopped)
    runs = runs_from_records(read_records(metrics_path))
    wanted = {run_id(s, seed) for seed in seeds for s in samplers}
    runs = {k: v for k, v in runs.items() if k in wanted}
    result = StudyResult(out=out, runs=runs, stopped=stopped)
    if report:
        from negkit.study.report import write_report

        meta["stopped"] = stopped
        result.report_files = write_report(out, meta, runs)
    return result


def _progress(total: int, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compare", unit="epoch", dynamic_ncols=True)


class _NullLog:
    """The metrics log of ranks other than 0: writes nothing."""

    def write(self, record: dict[str, Any]) -> None:
        pass

    def __enter__(self) -> _NullLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _from_rank0(ctx: Any, done: set[str]) -> set[str]:
    """Rank 0's set of finished runs, on every rank."""
    import torch.distributed as dist

    from negkit.rec.distributed import guarded

    box = [sorted(done)]
    guarded(ctx, "broadcast (finished runs)", dist.broadcast_object_list, box, 0)
    return set(box[0])


def _over(time_budget: float | None, t0: float, ctx: Any) -> bool:
    """Whether the time budget is spent, as rank 0 sees it."""
    over = time_budget is not None and time.perf_counter() - t0 >= time_budget
    if ctx is not None and ctx.distributed:
        from negkit.rec.distributed import broadcast_flag

        over = broadcast_flag(ctx, over)
    return over


def _one_run(family, sampler, seed, epochs, mlog, bar, t0, time_budget, dist_ctx=None) -> str:
    """Train one run; return why the study must stop ("" to go on)."""
    rid = run_id(sampler, seed)
    attempt = uuid.uuid4().hex[:12]
    base = {"run": rid, "sampler": sampler, "seed": seed, "attempt": attempt}
    mlog.write({"type": "run_start", **base, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    if bar is not None:
        bar.set_postfix_str(rid)
    start = time.perf_counter()
    n_epochs = 0

    def on_epoch(record: dict[str, Any]) -> None:
        nonlocal n_epochs
        n_epochs += 1
        mlog.write({"type": "epoch", **base, **record, "wall_seconds": time.perf_counter() - start})
        if bar is not None:
            primary = next(iter(record.get("metrics", {}).items()), None)
            bar.set_postfix_str(rid + (f" {primary[0]}={primary[1]:.3f}" if primary else ""))
            bar.update(1)
        # a run whose last epoch ends past the budget is finished, not dropped: the study
        # stops before the next run instead (the check at the top of run_study's loop)
        if n_epochs < epochs and _over(time_budget, t0, dist_ctx):
            raise StopRun(f"time budget of {time_budget:g} s reached")

    status, why, error = "finished", "", None
    try:
        family.train(sampler, seed, epochs, on_epoch)
    except StopRun as e:
        status, why = "interrupted", str(e) or "stopped"
    except KeyboardInterrupt:
        status, why = "interrupted", "interrupted by the user (Ctrl-C)"
    except Exception as e:  # a broken sampler must not kill an unattended study
        status, error = "failed", f"{type(e).__name__}: {e}"
        log.error("run %s failed:\n%s", rid, traceback.format_exc())
    if status == "finished" and n_epochs < epochs:
        status, error = "failed", f"the trainer reported {n_epochs} of {epochs} epochs"
    mlog.write(
        {
            "type": "run_end",
            **base,
            "status": status,
            "epochs_done": n_epochs,
            "wall_seconds": time.perf_counter() - start,
            "error": error,
            "reason": why,
        }
    )
    if bar is not None and status != "finished":
        bar.update(epochs - n_epochs)
    return why
