"""The graph family of a study: DeepWalk / node2vec / struc2vec / LINE, evaluated every epoch.

Each run is :func:`negkit.graph.embed.run` (Perozzi et al. 2014; Grover & Leskovec
2016; Ribeiro et al. 2017; Tang et al. 2015) with the run's sampler as noise distribution.
After each epoch the node vectors are scored by multi-label node classification
(one-vs-rest logistic regression on ``train_ratio`` of the labelled nodes,
Micro- and Macro-F1 with the true number of labels per node, as DeepWalk; with one label a
node, as the airport networks' activity classes, Micro-F1 is the accuracy).  struc2vec's
multilayer graph is built once for all the study's runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from negkit.study.spec import parse_spec, warm_key

_RECORD_KEYS = ("loss", "words_per_s", "n_negatives", "neg_sigmoid_mean", "neg_score_hist",
                "neg_score_bins")  # fmt: skip


class GraphFamily:
    """Graph-embedding runs for :func:`negkit.study.run_study`."""

    name = "graph"

    def __init__(self, graph: Any, *, method: str = "deepwalk", dim: int = 128,
                 walk_length: int = 80, num_walks: int = 10, window: int = 10,
                 negative: int = 5, workers: int = 2,
                 train_ratio: float = 0.5, dist: Any = None,
                 sync_words: int = 20_000, p: float = 1.0, q: float = 1.0,
                 stay: float = 0.3, max_layer: int | None = None,
                 opt2: bool = True) -> None:  # fmt: skip
        if not 0 < train_ratio < 1:
            raise ValueError(f"train_ratio must lie in (0, 1), got {train_ratio}")
        if method != "node2vec" and (p != 1.0 or q != 1.0):
            raise ValueError(f"p and q are node2vec's walk parameters, not {method}'s")
        if method != "struc2vec" and (stay != 0.3 or max_layer is not None or not opt2):
            raise ValueError(f"stay, max_layer and opt2 are struc2vec's settings, not {method}'s")
        self.graph = graph
        self.params = {"method": method, "dim": dim, "walk_length": walk_length,
                       "num_walks": num_walks, "window": window, "negative": negative,
                       "workers": workers}  # fmt: skip
        if method == "node2vec":  # p = q = 1 walks as DeepWalk does
            self.params.update(p=float(p), q=float(q))
        if method == "struc2vec":
            self.params.update(stay=float(stay), max_layer=max_layer, opt2=bool(opt2))
        from negkit.graph.embed import GraphEmbedSettings

        GraphEmbedSettings(**self.params).check()  # bad settings fail before any run
        self.train_ratio = train_ratio
        #: several ranks: every run trains data-parallel, rank 0 alone evaluates
        self.dist = dist if dist is not None and dist.world_size > 1 else None
        self.sync_words = sync_words
        self._graph: Any = None
        self._warm: set[tuple] = set()  # warm_key of the samplers compiled
        self._layers: dict = {}  # struc2vec's multilayer graph, shared by the runs

    def settings(self) -> dict[str, Any]:
        name = getattr(self.graph, "name", None) or str(self.graph)
        ranks = {}
        if self.dist:  # and how the ranks merge (a resumed study must share them)
            from negkit.graph.embed import GraphEmbedSettings
            from negkit.word2vec.dist_sync import MERGE_OPTIONS

            merge = GraphEmbedSettings()
            ranks = {"ranks": self.dist.world_size, "sync_words": self.sync_words,
                     **{k: getattr(merge, k) for k in MERGE_OPTIONS}}  # fmt: skip
        return {"graph": name, "train_ratio": self.train_ratio, **self.params, **ranks}

    def metric_names(self) -> list[str]:
        return ["micro_f1", "macro_f1"]

    def prepare(self) -> None:
        from negkit.graph.embed import load_graph

        g = load_graph(self.graph)
        if getattr(g, "labels", None) is None:
            raise ValueError(f"graph {self.settings()['graph']} has no node labels to evaluate on")
        self._graph = g

    def train(self, sampler: str, seed: int, epochs: int,
              on_epoch: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
        import negkit.samplers as ns
        from negkit.graph.embed import GraphEmbedSettings, run

        if self._graph is None:
            self.prepare()
        name, params = parse_spec(sampler)
        settings = GraphEmbedSettings(epochs=epochs, sync_words=self.sync_words, **self.params)
        main = self.dist is None or self.dist.is_main
        totals = {"train_seconds": 0.0, "sampler_seconds": 0.0}

        def callback(epoch: int, vectors: Any, record: dict[str, Any]) -> None:
            totals["train_seconds"] += float(record.get("seconds", 0.0))
            totals["sampler_seconds"] += float(record.get("sampler_seconds") or 0.0)
            t = time.perf_counter()
            out = {"epoch": epoch + 1, **{k: record.get(k) for k in _RECORD_KEYS}, **totals}
            out["metrics"] = self.evaluate(vectors) if main else {}
            out["eval_seconds"] = time.perf_counter() - t
            on_epoch(out)

        if warm_key(name, params) not in self._warm:  # compile its kernel outside any timing
            from dataclasses import replace

            tiny = replace(settings, epochs=1, num_walks=1, walk_length=5)
            run(self._graph, tiny, sampler=ns.get(name, **params), seed=0,
                layers_cache=self._layers)  # fmt: skip
            self._warm.add(warm_key(name, params))
        run(self._graph, settings, sampler=ns.get(name, **params), seed=seed, on_epoch=callback,
            dist_ctx=self.dist, layers_cache=self._layers)  # fmt: skip

    def evaluate(self, vectors: Any) -> dict[str, float]:
        from negkit.eval.graph import node_classification

        r = node_classification(vectors, self._graph.labels, (self.train_ratio,), seed=0)[0]
        return {"micro_f1": float(r["micro_f1_true_k"]), "macro_f1": float(r["macro_f1_true_k"])}
