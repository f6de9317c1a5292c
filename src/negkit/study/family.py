"""What a model family must provide to be studied (``negkit compare <family>``).

A family loads its data once (:meth:`Family.prepare`), then trains one model per
``(sampler, seed)`` with identical settings, calling ``on_epoch(record)`` after
every epoch with the epoch's training log and its evaluation.  The record keys
the runner and the report read are:

``epoch`` (1-based), ``train_seconds`` (cumulative training wall time, evaluation
excluded), ``sampler_seconds`` (cumulative time spent drawing negatives, where the
trainer measures it), ``eval_seconds``, ``loss``, ``neg_sigmoid_mean`` (mean
sigma(score) of the negatives drawn: the gradient magnitude per negative),
``neg_score_hist`` / ``neg_score_bins`` (histogram of those scores),
``false_negative_rate`` (recommenders: share of drawn items that are test
positives), ``eval_split`` (``"valid"`` or ``"test"``: the split ``metrics`` are of, where
the family evaluates on one; the report names it), and ``metrics`` (``{name: value}``,
higher is better).
Missing keys are allowed: the report leaves out what no run recorded.

``sampler_seconds`` is an estimate made apart (time per draw, measured outside training,
x draws / threads) unless the family sets ``sampler_timing = "inline"``: the wall time of the
sampler's calls inside training (KG's); the report names which.

Optional hooks, read by the runner before the first run: ``make_sampler(name, **params)``
(a family with its own registry, as KG's) and ``check_sampler(sampler)`` (raise a ValueError
for a sampler the family's trainer would refuse, as the recommenders' ``exposure_groups``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


class StopRun(Exception):
    """Raised from ``on_epoch`` to stop the current run (time budget reached)."""


@runtime_checkable
class Family(Protocol):
    #: Family name as on the command line (``word2vec``, ``rec``, ``graph``).
    name: str

    def settings(self) -> dict[str, Any]:
        """JSON-serialisable settings shared by every run (checked on resume)."""
        ...

    def metric_names(self) -> list[str]:
        """Evaluation metrics, in report order; the first is the primary one."""
        ...

    def prepare(self) -> None:
        """Load and index the data once, before the first run."""
        ...

    def train(
        self, sampler: str, seed: int, epochs: int, on_epoch: Callable[[dict[str, Any]], None]
    ) -> None:
        """Train one model; call ``on_epoch(record)`` after every epoch (it may raise StopRun)."""
        ...
