"""The study's ``metrics.jsonl``: one JSON object a line, appended and flushed as it goes.

Record types (key ``type``): ``run_start``, ``epoch`` (one per epoch of a run,
the family's record plus ``run``, ``sampler``, ``seed``, ``attempt``,
``wall_seconds``), ``run_end`` (``status``: ``finished`` or ``interrupted``).
A run started again after an interruption gets a new ``attempt``; readers keep
the records of each run's finished attempt (else its last one).
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def run_id(sampler: str, seed: int) -> str:
    return f"{sampler}-seed{seed}"


def _clean(x: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "tolist"):  # numpy scalars and arrays
        return _clean(x.tolist())
    return x


class MetricsLog:
    """Append-only JSONL writer; every record is flushed to disk at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        torn = False  # a process killed mid-write left a last line without its newline
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as f:
                f.seek(-1, 2)
                torn = f.read(1) != b"\n"
        self._f = open(self.path, "a", encoding="utf-8")
        if torn:  # end it, or the first new record would be glued to it and lost with it
            self._f.write("\n")
            self._f.flush()

    def write(self, record: dict[str, Any]) -> None:
        self._f.write(json.dumps(_clean(record), sort_keys=False) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_records(path: Path) -> list[dict[str, Any]]:
    """All records of ``path``; a torn last line (killed mid-write) is skipped with a warning."""
    path = Path(path)
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    bad = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                bad += 1
                log.warning("%s:%d: skipped an unreadable record (%s)", path, lineno, e)
                continue
            if not isinstance(rec, dict) or "type" not in rec:
                bad += 1
                log.warning("%s:%d: skipped a record without a 'type'", path, lineno)
                continue
            records.append(rec)
    if bad:
        log.warning("%s: %d record(s) skipped", path, bad)
    return records


def runs_from_records(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{run: {"sampler", "seed", "status", "epochs": [epoch records]}}``.

    For each run, the finished attempt is kept when there is one, else the last.
    """
    attempts: dict[str, dict[str, dict[str, Any]]] = {}
    order: dict[str, list[str]] = {}
    for rec in records:
        run, att = rec.get("run"), rec.get("attempt")
        if run is None or att is None:
            continue
        a = attempts.setdefault(run, {}).get(att)
        if a is None:
            a = {
                "sampler": rec.get("sampler"),
                "seed": rec.get("seed"),
                "status": "running",
                "epochs": [],
            }
            attempts[run][att] = a
            order.setdefault(run, []).append(att)
        if rec["type"] == "epoch":
            a["epochs"].append(rec)
        elif rec["type"] == "run_end":
            a["status"] = rec.get("status", "interrupted")
            a["end"] = rec
    runs: dict[str, dict[str, Any]] = {}
    for run, atts in order.items():
        finished = [t for t in atts if attempts[run][t]["status"] == "finished"]
        runs[run] = attempts[run][finished[-1] if finished else atts[-1]]
    return runs


def finished_runs(path: Path) -> set[str]:
    return {
        r for r, v in runs_from_records(read_records(path)).items() if v["status"] == "finished"
    }
