"""The word2vec family of a study: skip-gram with negative sampling, evaluated every epoch.

Every run trains :class:`negkit.Word2Vec` (Mikolov et al. 2013, SGNS) with the
same settings and its own seed and sampler; after each epoch the word vectors
are scored on the similarity sets (Spearman ρ between cosine and human score,
pairs with an unknown word skipped) and on the analogy questions (3CosAdd
accuracy among the ``analogy_restrict`` most frequent words, as word2vec's
``compute-accuracy``; unanswerable questions count as wrong).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from negkit.study.spec import parse_spec

log = logging.getLogger(__name__)


def metric_key(path: Path) -> str:
    """``EN-WS-353-ALL.txt`` -> ``en-ws-353-all_spearman``."""
    return Path(path).name.split(".")[0].lower() + "_spearman"


class Word2VecFamily:
    """Skip-gram word2vec runs for :func:`negkit.study.run_study`."""

    name = "word2vec"

    def __init__(
        self,
        corpus: str | PathLike,
        similarity: Sequence[str | PathLike] = (),
        analogy: str | PathLike | None = None,
        *,
        dim: int = 100,
        window: int = 5,
        negative: int = 5,
        min_count: int = 5,
        sample: float = 1e-3,
        lr: float = 0.025,
        workers: int = 2,
        analogy_restrict: int = 30000,
        max_lines: int | None = None,
    ) -> None:
        self.corpus = Path(corpus)
        self.similarity = [Path(p) for p in similarity]
        self.analogy = Path(analogy) if analogy else None
        keys = [metric_key(p) for p in self.similarity]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two similarity sets have the same name: {keys}")
        self.params = dict(
            dim=dim,
            window=window,
            negative=negative,
            min_count=min_count,
            sample=sample,
            lr=lr,
            workers=workers,
        )
        self.analogy_restrict = analogy_restrict
        self.max_lines = max_lines
        self._sentences: Any = None

    # ------------------------------------------------------------------ protocol
    def settings(self) -> dict[str, Any]:
        return {
            "corpus": str(self.corpus),
            "max_lines": self.max_lines,
            "similarity": [str(p) for p in self.similarity],
            "analogy": str(self.analogy) if self.analogy else None,
            "analogy_restrict": self.analogy_restrict,
            **self.params,
        }

    def metric_names(self) -> list[str]:
        names = [metric_key(p) for p in self.similarity]
        if self.analogy:
            names += ["analogy", "analogy_semantic", "analogy_syntactic"]
        return names

    def prepare(self) -> None:
        """Read the evaluation sets (so that a bad file fails before training) and the corpus."""
        from negkit.data.word_eval import read_analogies, read_similarity

        for p in self.similarity:
            read_similarity(p)
        if self.analogy:
            read_analogies(self.analogy)
        self._sentences = self._load_corpus()

    def train(
        self, sampler: str, seed: int, epochs: int, on_epoch: Callable[[dict[str, Any]], None]
    ) -> None:
        from negkit import Word2Vec, samplers

        if self._sentences is None:
            self.prepare()
        name, params = parse_spec(sampler)
        smp = samplers.get(name, **params)
        totals = {"train_seconds": 0.0, "sampler_seconds": 0.0}

        def callback(model: Any, record: dict[str, Any]) -> None:
            totals["train_seconds"] += float(record.get("seconds", 0.0))
            totals["sampler_seconds"] += float(record.get("sampler_seconds") or 0.0)
            t = time.perf_counter()
            metrics = self.evaluate(model.wv)
            out = {
                k: record.get(k)
                for k in (
                    "epoch",
                    "loss",
                    "lr",
                    "words_per_s",
                    "effective_words",
                    "n_negatives",
                    "neg_sigmoid_mean",
                    "neg_score_hist",
                )
            }
            out["neg_score_bins"] = record.get(
                "neg_score_bins", getattr(model, "neg_score_bins", None)
            )
            out.update(totals, eval_seconds=time.perf_counter() - t, metrics=metrics)
            on_epoch(out)

        p = self.params
        Word2Vec(
            self._sentences,
            vector_size=p["dim"],
            window=p["window"],
            negative=p["negative"],
            min_count=p["min_count"],
            sample=p["sample"],
            alpha=p["lr"],
            workers=p["workers"],
            sg=1,
            epochs=epochs,
            seed=seed,
            sampler=smp,
            callbacks=[callback],
        )

    # --------------------------------------------------------------- evaluation
    def evaluate(self, kv: Any) -> dict[str, float]:
        from negkit.eval.words import word_analogy, word_similarity

        out: dict[str, float] = {}
        for p in self.similarity:
            r = word_similarity(kv, p)
            out[metric_key(p)] = _get(r, "spearman")
        if self.analogy:
            r = word_analogy(kv, self.analogy, restrict_vocab=self.analogy_restrict)
            out["analogy"] = _get(r, "overall")
            out["analogy_semantic"] = _get(r, "semantic")
            out["analogy_syntactic"] = _get(r, "syntactic")
        return out

    def _load_corpus(self) -> Any:
        if self.max_lines is None:
            return str(self.corpus)
        from negkit.data.text import iter_sentences

        return list(itertools.islice(iter_sentences(self.corpus), self.max_lines))


def _get(result: Any, key: str) -> float:
    v = result[key] if isinstance(result, dict) else getattr(result, key)
    if isinstance(v, dict):  # e.g. {"accuracy": ..., "correct": ..., "total": ...}
        v = v.get("accuracy", v.get("value"))
    return float(v) if v is not None else float("nan")
