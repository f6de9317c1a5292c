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

import numpy as np

from negkit.study.spec import parse_spec, warm_key

log = logging.getLogger(__name__)


#: Fields of Word2Vec's epoch record kept in the study log.
_RECORD_KEYS = (
    "epoch",
    "loss",
    "lr",
    "words_per_s",
    "raw_words",
    "effective_words",
    "pairs",
    "n_negatives",
    "neg_sigmoid_mean",
    "neg_score_hist",
    "neg_score_bins",
)


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
        dist: Any = None,
        sync_words: int = 100_000,
    ) -> None:
        self.corpus = Path(corpus)
        #: several ranks: every run trains data-parallel, rank 0 alone evaluates
        self.dist = dist if dist is not None and dist.world_size > 1 else None
        self.sync_words = sync_words
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
        #: Word2Vec's own progress bar (None: when stderr is a terminal).
        self.progress: bool | None = None
        self._data: Any = None
        self._warm: set[tuple] = set()  # warm_key of the samplers compiled

    # ------------------------------------------------------------------ protocol
    def settings(self) -> dict[str, Any]:
        return {
            "corpus": str(self.corpus),
            "max_lines": self.max_lines,
            "similarity": [str(p) for p in self.similarity],
            "analogy": str(self.analogy) if self.analogy else None,
            "analogy_restrict": self.analogy_restrict,
            **self.params,
            **(self._ranks() if self.dist else {}),
        }

    def _ranks(self) -> dict[str, Any]:
        """Several ranks: their number and how they merge (``negkit.Word2Vec``'s defaults,
        which a resumed study must share with its recorded runs)."""
        from negkit import Word2Vec
        from negkit.word2vec.dist_sync import MERGE_OPTIONS

        merge = Word2Vec()
        return {"ranks": self.dist.world_size, "sync_words": self.sync_words,
                **{k: getattr(merge, k) for k in ("sync_mode", *MERGE_OPTIONS)}}  # fmt: skip

    def metric_names(self) -> list[str]:
        names = [metric_key(p) for p in self.similarity]
        if self.analogy:
            names += ["analogy", "analogy_semantic", "analogy_syntactic"]
        return names

    def prepare(self) -> None:
        """Read the evaluation sets (a bad file fails before training), scan and encode the corpus.

        The corpus is read once; every run trains on the same encoded arrays.
        """
        from negkit.data.text import encode_scan, scan, vocab_from_scan
        from negkit.data.word_eval import read_analogies, read_similarity

        for p in self.similarity:
            read_similarity(p)
        if self.analogy:
            read_analogies(self.analogy)
        source: Any = self.corpus
        if self.max_lines is not None:
            from negkit.data.text import iter_sentences

            source = list(itertools.islice(iter_sentences(self.corpus), self.max_lines))
        sc = scan(source)
        vocab, remap = vocab_from_scan(sc, self.params["min_count"], None, str(self.corpus))
        tokens, offsets = encode_scan(sc, remap)
        self._data = (vocab.index_to_key, vocab.counts, tokens, offsets)
        log.info(
            "corpus %s: %d tokens in vocabulary, %d words", self.corpus, tokens.size, len(vocab)
        )

    def train(
        self, sampler: str, seed: int, epochs: int, on_epoch: Callable[[dict[str, Any]], None]
    ) -> None:
        from negkit import samplers

        if self._data is None:
            self.prepare()
        keys, counts, tokens, offsets = self._data
        name, params = parse_spec(sampler)
        smp = samplers.get(name, **params)
        totals = {"train_seconds": 0.0, "sampler_seconds": 0.0}

        def callback(model: Any, record: dict[str, Any]) -> None:
            totals["train_seconds"] += float(record.get("seconds", 0.0))
            totals["sampler_seconds"] += float(record.get("sampler_seconds") or 0.0)
            t = time.perf_counter()
            metrics = self.evaluate(model.wv) if self.dist is None or self.dist.is_main else {}
            out = {k: record.get(k) for k in _RECORD_KEYS}
            out.update(totals, eval_seconds=time.perf_counter() - t, metrics=metrics)
            on_epoch(out)

        if warm_key(name, params) not in self._warm:
            self._warm_up(name, params)
        model = self._model(seed, epochs, smp, [callback], self.progress)
        model.build_vocab_from_freq((keys, counts))
        model.train_arrays([(tokens, offsets)], epochs=epochs, total_words=int(tokens.size))

    def _model(self, seed: int, epochs: int, smp: Any, callbacks: list, progress: Any) -> Any:
        from negkit import Word2Vec

        p = self.params
        return Word2Vec(
            vector_size=p["dim"], window=p["window"], negative=p["negative"],
            min_count=p["min_count"], sample=p["sample"], alpha=p["lr"], workers=p["workers"],
            sg=1, epochs=epochs, seed=seed, sampler=smp, callbacks=callbacks, progress=progress,
            dist=self.dist, sync_words=self.sync_words,
        )  # fmt: skip

    def _warm_up(self, name: str, params: dict[str, Any]) -> None:
        """Compile the training kernel for this sampler on a few sentences, outside any timing.

        numba specialises the kernel per sampler (``draw`` is an argument), and the
        compile time would otherwise count as the first run's first epoch.
        """
        from negkit import samplers

        keys, counts, tokens, offsets = self._data
        n = int(min(tokens.size, 2000))  # one pseudo-sentence of the first tokens
        model = self._model(0, 1, samplers.get(name, **params), [], False)
        model.build_vocab_from_freq((keys, counts))
        model.train_arrays([(tokens[:n], np.array([0, n], dtype=np.int64))], epochs=1)
        self._warm.add(warm_key(name, params))

    # --------------------------------------------------------------- evaluation
    def evaluate(self, kv: Any) -> dict[str, float]:
        from negkit.eval.words import word_analogy, word_similarity

        out: dict[str, float] = {}
        for p in self.similarity:
            r = word_similarity(kv, p)
            out[metric_key(p)] = _get(r, "spearman")
        if self.analogy:
            r = word_analogy(kv, self.analogy, restrict_vocab=self.analogy_restrict)
            out["analogy"] = _get(r, "accuracy")
            out["analogy_semantic"] = _get(r, "semantic")
            out["analogy_syntactic"] = _get(r, "syntactic")
        return out


def _get(result: Any, key: str) -> float:
    v = result[key] if isinstance(result, dict) else getattr(result, key)
    if isinstance(v, dict):  # e.g. {"accuracy": ..., "correct": ..., "total": ...}
        v = v.get("accuracy", v.get("value"))
    return float(v) if v is not None else float("nan")
