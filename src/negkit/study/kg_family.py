"""The knowledge-graph family of a study: a KG embedding per sampler, scored by link prediction.

Each run is :func:`negkit.kg.train.train_kg` (RotatE by default, Sun et al. 2019) with the
run's KG sampler (:mod:`negkit.samplers.kg_base`: ``kg_uniform``, ``bernoulli``, ``typed``,
``self_adversarial``, ``nscaching``, ``dns``, ``adaptive``), filtering training triples
exactly.  After every epoch: filtered MRR and Hits@1/3/10 over head and tail prediction
(Bordes et al. 2013) on ``eval_max`` triples of the validation split (a sample drawn with the
run's seed: the same for every sampler of a seed, another for each seed, so the std over seeds
includes the sampling of those triples), and the
false-negative rate the sampler leaves (the share of its negatives that are valid or test
triples; train_kg measures it on the negatives drawn for the epoch's first batch only).
``train_seconds`` and ``sampler_seconds`` are cumulative; the latter is the measured wall time
of the sampler's ``sample`` and ``update`` calls in training (``sampler_timing = "inline"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from negkit.study.spec import parse_spec, warm_key

#: Fields of train_kg's epoch record kept as they are (``sampler_seconds`` is summed, see
#: :meth:`KGFamily.train`).
_RECORD_KEYS = ("loss", "train_seconds", "false_negative_rate", "metrics",
                "eval_seconds")  # fmt: skip


class KGFamily:
    """KG embedding runs for :func:`negkit.study.run_study`."""

    name = "kg"
    #: train_kg times every ``sample`` and ``update`` call of the sampler in training
    sampler_timing = "inline"

    def __init__(self, data: Any, *, model: str = "rotate", dim: int = 32, n_negs: int = 16,
                 batch_size: int = 1024, lr: float = 0.005, loss: str = "logistic",
                 gamma: float | None = None, threads: int = 1, device: str = "cpu",
                 eval_max: int | None = 500) -> None:  # fmt: skip
        self.data = data
        self.params = {"model": model, "dim": dim, "n_negs": n_negs, "batch_size": batch_size,
                       "lr": lr, "loss": loss, "gamma": gamma, "threads": threads,
                       "device": device}  # fmt: skip
        self.eval_max = eval_max
        self._kg: Any = None
        self._warm: set[tuple] = set()  # warm_key of the samplers compiled

    def settings(self) -> dict[str, Any]:
        name = getattr(self.data, "name", None) or str(self.data)
        return {"data": name, "eval_max": self.eval_max, "eval_split": "valid", **self.params}

    def metric_names(self) -> list[str]:
        return ["mrr", "hits@1", "hits@3", "hits@10"]

    def make_sampler(self, name: str, **params: Any) -> Any:
        """A KG sampler by name (the study checks names with this before any run)."""
        from negkit.samplers.kg_base import get_kg

        return get_kg(name, **params)

    def prepare(self) -> None:
        from negkit.cli.kg import load_data

        self._kg = self.data if hasattr(self.data, "train") else load_data(str(self.data))

    def _warm_up(self, name: str, params: dict) -> None:
        """Compile a numba-backed sampler on a tiny graph, outside any timing."""
        if warm_key(name, params) in self._warm:
            return
        from negkit.kg.models import make_model
        from negkit.samplers.kg_base import get_kg

        tiny = np.array([[0, 0, 1], [1, 0, 2], [2, 0, 3]])
        model = make_model(self.params["model"], 4, 1, self.params["dim"])
        s = get_kg(name, **params).fit(triples=tiny, n_entities=4, n_relations=1, model=model)
        s.sample(tiny, 2)
        self._warm.add(warm_key(name, params))

    def train(self, sampler: str, seed: int, epochs: int,
              on_epoch: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
        from negkit.kg.train import KGSettings, train_kg
        from negkit.samplers.kg_base import get_kg

        if self._kg is None:
            self.prepare()
        name, params = parse_spec(sampler)
        params.setdefault("filter", "exact")
        self._warm_up(name, dict(params))
        params["seed"] = seed
        settings = KGSettings(epochs=epochs, eval_every=1, eval_max=self.eval_max,
                              **self.params)  # fmt: skip

        sampler_total = [0.0]

        def callback(rec: dict[str, Any]) -> None:
            # train_kg's sampler_seconds is the epoch's (timed around every draw and update);
            # a study record's is cumulative, as its train_seconds, so that the report's share
            # (last sampler_seconds / last train_seconds) is of the whole run
            sampler_total[0] += float(rec.get("sampler_seconds") or 0.0)
            on_epoch({"epoch": rec["epoch"], **{k: rec.get(k) for k in _RECORD_KEYS},
                      "sampler_seconds": sampler_total[0], "eval_split": "valid"})  # fmt: skip

        train_kg(self._kg, settings, get_kg(name, **params), seed=seed, on_epoch=callback)
