"""Sampler studies: train one model per (sampler, seed), evaluate every epoch, report.

* :mod:`negkit.study.family` — the :class:`Family` protocol a model family implements;
* :mod:`negkit.study.runner` — :func:`run_study`, resumable, interruptible;
* :mod:`negkit.study.log` — the ``metrics.jsonl`` log;
* :mod:`negkit.study.summary` — mean ± std over seeds;
* :mod:`negkit.study.plots` and :mod:`negkit.study.report` — PNGs, ``report.md``, ``report.html``.

``negkit compare`` and ``negkit demo`` are thin command-line fronts to these.
"""

from negkit.study.family import Family, StopRun
from negkit.study.runner import StudyResult, run_study

__all__ = ["Family", "StopRun", "StudyResult", "run_study"]
