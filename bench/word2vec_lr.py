"""What makes negkit's and gensim's skip-gram differ in quality: schedule, order, init (not CI).

gensim's corpus_file mode (``word2vec_corpusfile.pyx``: ``train_epoch_sg``,
``get_next_alpha``) gives each of its ``workers`` threads 1/workers of the file and
decays the learning rate by that thread's OWN words over the WHOLE corpus's words:

    alpha_t = alpha - (alpha - min_alpha) * (epoch + own_words / corpus_words) / epochs

so with workers=2 an epoch only goes half-way down (epoch e: alpha*(1 - e/E) to
alpha*(1 - (e + 0.5)/E)), and the run ends near 0.1*alpha instead of min_alpha.
word2vec.c, gensim's iterable mode and negkit decay linearly to min_alpha.

This script trains, with the settings of ``bench/word2vec.py`` and the same seeds:

* ``gensim-file``      gensim, corpus_file mode (the bench's peer);
* ``gensim-iter``      gensim, iterable mode (the sentences as a list in memory);
* ``negkit``           negkit defaults (chunks shuffled every epoch; linear decay to
  min_alpha; input vectors uniform on [-1/d, 1/d) as gensim 4's ``prep_vectors``);
* ``negkit-seq``       the corpus read front to back every epoch (``shuffle=False``, the
  default before issue #14); the runs below read it so too, unless they say otherwise;
* ``negkit-w2vc-init`` input vectors from word2vec.c's (u - 0.5)/d, half as wide (negkit's
  init before this study);
* ``negkit-sawtooth``  negkit, each epoch trained by its own ``train(epochs=1)`` call from
  alpha*(1 - e/E) to alpha*(1 - (e + 1/workers)/E): gensim corpus_file's schedule;
* ``negkit-min``       negkit with min_alpha = alpha/10 (linear; same mean rate and end
  rate as the sawtooth for workers=2);
* ``negkit-halves``    negkit defaults, sentences reordered so that its two threads read
  the corpus's two halves side by side, as gensim corpus_file's two threads do;
* ``negkit-like-file`` halves order and sawtooth schedule together;
* ``negkit-shuffled``  runs of ~10k words in a fresh random order every epoch, done outside
  the engine (reordered arrays, one ``train_arrays`` call an epoch);

and prints WS353 (all pairs and the relatedness split), SimLex-999 and Google analogy
(restrict_vocab 30000), all by negkit.eval (``bench/word2vec.py``'s ``evaluate``), per seed
and as means.
Runs go one after the other (never two trainings at once); timings are noisy.

    NEGKIT_DATA=../shared/data python bench/word2vec_lr.py [--seeds 1 2] [--only negkit ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from negkit import KeyedVectors, Word2Vec

_spec = importlib.util.spec_from_file_location(
    "bench_word2vec", Path(__file__).with_name("word2vec.py")
)
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
SETTINGS, evaluate, data_dir = _bench.SETTINGS, _bench.evaluate, _bench.data_dir

ALPHA, MIN_ALPHA = 0.025, 0.0001  # gensim / negkit defaults


def gensim_file(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    from gensim.models import Word2Vec as GensimWord2Vec

    m = GensimWord2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs)
    m.build_vocab(corpus_file=str(corpus))
    m.train(corpus_file=str(corpus), total_words=m.corpus_total_words, epochs=epochs)
    return KeyedVectors(m.wv.vectors, m.wv.index_to_key)


def gensim_iter(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    from gensim.models import Word2Vec as GensimWord2Vec

    m = GensimWord2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs)
    m.build_vocab(corpus_iterable=sentences)
    m.train(corpus_iterable=sentences, total_examples=m.corpus_count, epochs=epochs)
    return KeyedVectors(m.wv.vectors, m.wv.index_to_key)


def negkit_sequential(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """The corpus read front to back every epoch (``shuffle=False``, the default before #14)."""
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    m.train()
    return m


def negkit_default(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """negkit's defaults (chunks shuffled every epoch)."""
    m = Word2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False)
    m.build_vocab(corpus)
    m.train()
    return m


def negkit_min(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    m = Word2Vec(**SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False,
                 min_alpha=ALPHA / 10, shuffle=False)  # fmt: skip
    m.build_vocab(corpus)
    m.train()
    return m


def sawtooth(epoch: int, epochs: int, workers: int) -> tuple[float, float]:
    """gensim corpus_file's (start, end) learning rate of ``epoch`` with ``workers`` threads."""
    span = ALPHA - MIN_ALPHA
    return ALPHA - span * epoch / epochs, ALPHA - span * (epoch + 1.0 / workers) / epochs


def negkit_sawtooth(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    for e in range(epochs):
        m.alpha, m.min_alpha = sawtooth(e, epochs, workers)
        m.train(epochs=1)
    return m


def negkit_w2vc_init(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """negkit with word2vec.c's input init (u - 0.5)/d: half the default [-1/d, 1/d)."""
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    m.wv.vectors *= np.float32(0.5)
    m.train()
    return m


def halves_interleaved(tokens: np.ndarray, offsets: np.ndarray, chunk: int = 10_000):
    """Sentences reordered A0 B0 A1 B1 ...: runs of ~chunk words from the corpus's two halves.

    With workers=2 gensim's corpus_file threads read the file's two halves side by side;
    negkit's threads take consecutive chunks, so this order feeds them the same way.
    """
    n_sent = offsets.size - 1
    mid = int(np.searchsorted(offsets, offsets[-1] / 2))
    runs = []
    for lo, hi in ((0, mid), (mid, n_sent)):
        rel = offsets[lo : hi + 1] - offsets[lo]
        cuts = np.searchsorted(rel, np.arange(chunk, rel[-1], chunk))
        bounds = np.unique(np.concatenate([[0], cuts, [hi - lo]])) + lo
        runs.append(list(zip(bounds[:-1], bounds[1:], strict=True)))
    order = [r for pair in zip(*runs, strict=False) for r in pair]
    order += runs[0][len(runs[1]) :] + runs[1][len(runs[0]) :]
    pieces = [tokens[offsets[a] : offsets[b]] for a, b in order]
    lengths = np.concatenate([np.diff(offsets[a : b + 1]) for a, b in order])
    new_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return np.concatenate(pieces), new_offsets


def negkit_halves(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """negkit defaults on the corpus reordered by ``halves_interleaved`` (gensim-file's order)."""
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    tokens, offsets = halves_interleaved(m._corpus[1], m._corpus[2])  # the encoded corpus
    m.train_arrays([(tokens, offsets)], total_words=int(tokens.size))
    return m


def negkit_like_file(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """gensim-file's order and schedule at once: halves interleaved, sawtooth learning rate."""
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    tokens, offsets = halves_interleaved(m._corpus[1], m._corpus[2])
    for e in range(epochs):
        m.alpha, m.min_alpha = sawtooth(e, epochs, workers)
        m.train_arrays([(tokens, offsets)], epochs=1, total_words=int(tokens.size))
    return m


def chunk_runs(offsets: np.ndarray, chunk: int = 10_000) -> list[tuple[int, int]]:
    """(first, end) sentence of runs of ~chunk words, in corpus order."""
    rel = offsets - offsets[0]
    cuts = np.searchsorted(rel, np.arange(chunk, rel[-1], chunk))
    bounds = np.unique(np.concatenate([[0], cuts, [offsets.size - 1]]))
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def reorder(tokens: np.ndarray, offsets: np.ndarray, order: list[tuple[int, int]]):
    pieces = [tokens[offsets[a] : offsets[b]] for a, b in order]
    lengths = np.concatenate([np.diff(offsets[a : b + 1]) for a, b in order])
    return np.concatenate(pieces), np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def negkit_shuffled(corpus: Path, sentences: list, epochs: int, workers: int, seed: int):
    """Runs of ~10k words in a fresh random order every epoch, linear lr over the run: the
    measurement that led to ``Word2Vec(shuffle=True)``, done here outside the engine."""
    m = Word2Vec(
        **SETTINGS, workers=workers, seed=seed, epochs=epochs, progress=False, shuffle=False
    )
    m.build_vocab(corpus)
    tokens, offsets = m._corpus[1], m._corpus[2]
    runs = chunk_runs(offsets)
    rng = np.random.default_rng(seed)
    span = ALPHA - MIN_ALPHA
    for e in range(epochs):
        order = [runs[i] for i in rng.permutation(len(runs))]
        t, o = reorder(tokens, offsets, order)
        m.alpha, m.min_alpha = ALPHA - span * e / epochs, ALPHA - span * (e + 1) / epochs
        m.train_arrays([(t, o)], epochs=1, total_words=int(t.size))
    return m


def saturated_share(m: Word2Vec) -> float:
    """Percent of negative scores >= MAX_EXP = 6 over training (gensim skips those pairs)."""
    hist = np.sum([r["neg_score_hist"] for r in m.training_log_], axis=0)
    first = int(np.searchsorted(m.training_log_[0]["neg_score_bins"], 6.0))
    return 100.0 * hist[first:].sum() / hist.sum()


RUNS = {
    "gensim-file": gensim_file,
    "gensim-iter": gensim_iter,
    "negkit": negkit_default,
    "negkit-seq": negkit_sequential,
    "negkit-w2vc-init": negkit_w2vc_init,
    "negkit-sawtooth": negkit_sawtooth,
    "negkit-min": negkit_min,
    "negkit-halves": negkit_halves,
    "negkit-like-file": negkit_like_file,
    "negkit-shuffled": negkit_shuffled,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="*", default=None, help="subset of: " + " ".join(RUNS))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    data = data_dir()
    names = args.only or list(RUNS)
    for n in names:
        if n not in RUNS:
            raise SystemExit(f"unknown run {n!r}; choose from {', '.join(RUNS)}")
    print("sawtooth (start, end) lr per epoch:",
          [tuple(round(a, 5) for a in sawtooth(e, args.epochs, args.workers))
           for e in range(args.epochs)])  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="negkit-lr-"))
    try:
        corpus = _bench.decompressed_corpus(data, tmp)
        sentences = []
        if "gensim-iter" in names:
            with open(corpus, encoding="utf-8") as f:
                sentences = [line.split() for line in f]
            sentences = [s for s in sentences if s]
        rows: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for seed in args.seeds:
            for name in names:  # interleaved, so that load changes hit every side alike
                t = time.perf_counter()
                out = RUNS[name](corpus, sentences, args.epochs, args.workers, seed)
                row = {"seconds": time.perf_counter() - t}
                if isinstance(out, Word2Vec):
                    row["neg>=6 %"] = saturated_share(out)
                    out = out.wv
                row.update(evaluate(out, data))
                rows[name].append(row)
                print(f"seed {seed} {name:16s} "
                      + "  ".join(f"{k} {v:.4f}" for k, v in row.items()),
                      flush=True)  # fmt: skip
        print(f"\nmean over seeds {args.seeds}, epochs={args.epochs}, workers={args.workers}")
        print(f"{'':18s}{'WS353':>8s}{'WS-rel':>8s}{'SimLex':>8s}{'analogy%':>10s}"
              f"{'vocab+train s':>14s}{'neg>=6 %':>10s}")  # fmt: skip
        for name, rs in rows.items():
            m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0]}
            sat = f"{m['neg>=6 %']:10.4f}" if "neg>=6 %" in m else f"{'-':>10s}"
            print(f"{name:18s}{m['ws353']:8.4f}{m['ws353_rel']:8.4f}{m['simlex']:8.4f}"
                  f"{m['analogy']:10.2f}{m['seconds']:14.1f}{sat}")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
