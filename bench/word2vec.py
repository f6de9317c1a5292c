"""Benchmark: negkit.Word2Vec against gensim on the shared English corpus (not part of CI).

Both sides run skip-gram with the same settings (sg=1, vector_size=100, window=5,
negative=5, sample=1e-4, min_count=5, epochs=5, workers=2); gensim in corpus_file
mode (its fastest), reading the decompressed corpus from a temporary file.  Raw
words/s = corpus tokens (in and out of vocabulary) x epochs / training seconds,
vocabulary building excluded on both sides, numba compilation excluded (a warm-up
fit on a tiny corpus).  Quality: WS353 (all pairs and the relatedness split of Agirre et
al. 2009) and SimLex-999 Spearman, Google analogy
(3CosAdd, restrict_vocab=30000), all computed by negkit.eval on each side's vectors.
The adaptive sampler runs in both dimension modes: ``exact`` (the default, p(f | v) from
the live vector) and ``snapshot`` (p(f | v) from alias tables of the input rows rebuilt with
the orders), on the first ``--adaptive-seeds`` seeds.

    pip install -e .[bench]
    NEGKIT_DATA=../shared/data python bench/word2vec.py [--epochs 5] [--seeds 1 2]
"""

from __future__ import annotations

import argparse
import logging
import lzma
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import negkit.samplers
from negkit import KeyedVectors, Word2Vec
from negkit.eval.words import word_analogy, word_similarity

SETTINGS = dict(sg=1, vector_size=100, window=5, negative=5, sample=1e-4, min_count=5)
#: Adaptive (Chen et al. 2018): orders rebuilt in the background every 4M draws (about
#: 11 |V| ln |V| here; the sampler's default |V| ln |V| rebuilds ~200 times an epoch).
ADAPTIVE = dict(refresh_every=4_000_000, refresh_async=True)
MODES = {
    "negkit": dict(),
    "negkit-shared": dict(shared_negatives=True),
    "negkit-adaptive": dict(sampler="adaptive"),
    "negkit-adapt-snap": dict(sampler="adaptive", dims="snapshot"),
}


def data_dir() -> Path:
    p = Path(os.environ.get("NEGKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    if not (p / "text_corpus_en").is_dir():
        raise SystemExit(f"shared corpus not found under {p}: set NEGKIT_DATA")
    return p


def decompressed_corpus(data: Path, tmp: Path) -> Path:
    """The shared corpus decompressed to ``tmp/corpus.txt`` (gensim's corpus_file reads plain
    text)."""
    corpus = tmp / "corpus.txt"
    with (
        lzma.open(data / "text_corpus_en" / "en_corpus_5m.txt.xz", "rb") as src,
        open(corpus, "wb") as dst,
    ):
        shutil.copyfileobj(src, dst)
    return corpus


def evaluate(kv: KeyedVectors, data: Path) -> dict[str, float]:
    we = data / "word_eval"
    return {
        "ws353": word_similarity(kv, we / "wordsim353" / "EN-WS-353-ALL.txt")["spearman"],
        "ws353_rel": word_similarity(kv, we / "wordsim353" / "EN-WS-353-REL.txt")["spearman"],
        "simlex": word_similarity(kv, we / "simlex999" / "EN-SIMLEX-999.txt")["spearman"],
        "analogy": 100
        * word_analogy(kv, we / "google_analogy" / "questions-words.txt", 30000)["accuracy"],
    }


def run_gensim(
    corpus: Path, epochs: int, workers: int, seed: int
) -> tuple[float, KeyedVectors, float]:
    from gensim.models import Word2Vec as GensimWord2Vec

    m = GensimWord2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs)
    m.build_vocab(corpus_file=str(corpus))
    t = time.perf_counter()
    m.train(corpus_file=str(corpus), total_words=m.corpus_total_words, epochs=epochs)
    dt = time.perf_counter() - t
    return (
        m.corpus_total_words * epochs / dt,
        KeyedVectors(m.wv.vectors, m.wv.index_to_key),
        dt / epochs,
    )


def run_negkit(
    corpus: Path, epochs: int, workers: int, seed: int, extra: dict
) -> tuple[float, KeyedVectors, float]:
    if extra.get("sampler") == "adaptive":
        sampler = negkit.samplers.get("adaptive", dims=extra.get("dims", "exact"), **ADAPTIVE)
        extra = {k: v for k, v in extra.items() if k != "dims"} | {"sampler": sampler}
    warm = [["a", "b", "c", "d"] * 5] * 20
    Word2Vec(**{**SETTINGS, "min_count": 1, "sample": 0}, workers=workers, epochs=1, **extra).fit(
        warm
    )
    m = Word2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, **extra)
    m.build_vocab(corpus)
    t = time.perf_counter()
    m.train()
    dt = time.perf_counter() - t
    epoch_s = float(np.mean([r["seconds"] for r in m.training_log_]))
    return m.vocab_.total_words * epochs / dt, m.wv, epoch_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="*", default=None, help="subset of: gensim " + " ".join(MODES))
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument(
        "--adaptive-seeds", type=int, default=1, help="run adaptive on the first N seeds"
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = data_dir()
    names = args.only or ["gensim", *MODES]
    tmp = Path(tempfile.mkdtemp(prefix="negkit-bench-"))
    try:
        corpus = decompressed_corpus(data, tmp)
        rows: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for seed in args.seeds:
            for name in names:  # interleaved, so that load changes hit every side alike
                adaptive = name.startswith("negkit-adapt")
                if adaptive and seed not in args.seeds[: args.adaptive_seeds]:
                    continue
                if name == "gensim":
                    wps, kv, epoch_s = run_gensim(corpus, args.epochs, args.workers, seed)
                else:
                    wps, kv, epoch_s = run_negkit(
                        corpus, args.epochs, args.workers, seed, MODES[name]
                    )
                row = {"words_per_s": wps, "epoch_s": epoch_s}
                if not args.no_eval:
                    row.update(evaluate(kv, data))
                rows[name].append(row)
                print(
                    f"seed {seed} {name:16s} " + "  ".join(f"{k} {v:,.4g}" for k, v in row.items()),
                    flush=True,
                )
        print(f"\nmean over seeds {args.seeds}, epochs={args.epochs}, workers={args.workers}")
        base = np.mean([r["words_per_s"] for r in rows["gensim"]]) if rows.get("gensim") else None
        header = f"{'':18s}{'raw words/s':>12s}{'vs gensim':>10s}{'epoch s':>9s}"
        if not args.no_eval:
            header += f"{'WS353':>8s}{'WS-rel':>8s}{'SimLex':>8s}{'analogy%':>10s}"
        print(header)
        for name, rs in rows.items():
            m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
            ratio = f"{m['words_per_s'] / base:.2f}x" if base else "-"
            line = f"{name:18s}{m['words_per_s']:12,.0f}{ratio:>10s}{m['epoch_s']:9.2f}"
            if not args.no_eval:
                line += (f"{m['ws353']:8.4f}{m['ws353_rel']:8.4f}{m['simlex']:8.4f}"
                         f"{m['analogy']:10.2f}")  # fmt: skip
            print(line)
        for name, dims in (("negkit-adaptive", "exact"), ("negkit-adapt-snap", "snapshot")):
            if rows.get("negkit") and rows.get(name):
                n = len(rows[name])  # adaptive ran on the first n seeds: pair them alike
                r = np.mean([x["epoch_s"] for x in rows[name]]) / np.mean(
                    [x["epoch_s"] for x in rows["negkit"][:n]]
                )
                print(
                    f"adaptive ({dims} dims) epoch / unigram epoch, seeds {args.seeds[:n]}: {r:.2f}"
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
