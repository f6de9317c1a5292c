"""``negkit.Word2Vec``: skip-gram / CBOW with negative sampling and any sampler.

Mikolov, Chen, Corrado & Dean (2013), "Efficient Estimation of Word Representations
in Vector Space", and Mikolov, Sutskever, Chen, Corrado & Dean (2013), "Distributed
Representations of Words and Phrases and their Compositionality".  Parameter names
and defaults follow gensim 4, so moving from gensim means changing the import.

Engine: the corpus is encoded once into an int32 token stream; each epoch is cut
into chunks of about ``chunk_words`` raw words (whole sentences, never truncated: gensim
trains only the first 10,000 kept words of a longer sentence, and its ``LineSentence`` /
``corpus_file`` cut lines into 10,000-token sentences; here a window may span any length),
shuffled every epoch (``shuffle``, :mod:`.order`), which ``workers`` Python threads
take in turn, each calling a compiled ``nogil``
kernel (:mod:`.kernels_sg`, :mod:`.kernels_shared`, :mod:`.kernels_cbow`) that
updates the shared tables lock-free as word2vec.c does.  Per-thread random contexts
come from ``negkit._rng.make_contexts(seed, workers)``, so a seeded run with
``workers=1`` repeats exactly.  The learning rate decays linearly from ``alpha`` to
``min_alpha`` over all words of the ``train`` call (those of the vocabulary, subsampled
ones included), counted over all threads in the order the chunks are trained; it is
recomputed per sentence, as word2vec.c.  (gensim counts sentences instead when ``train``
is given ``total_examples``, as its constructor and most calls do, and raw words,
out-of-vocabulary ones included, otherwise.  gensim's corpus_file mode counts each
thread's own words against the whole corpus, so with 2 workers each epoch decays only
half-way; not copied: ``bench/word2vec_lr.py`` measured no quality gain from it.)
Input vectors start uniform on ``[-1/d, 1/d)`` as in gensim 4
(:func:`init_input_vectors`), output vectors at zero.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from negkit._atomic import atomic_write
from negkit._diverge import TrainingDivergedError, check_finite
from negkit._rng import make_contexts
from negkit.data.text import Scan, Vocab, encode_scan, scan, vocab_from_scan
from negkit.samplers import Sampler
from negkit.samplers import get as get_sampler
from negkit.samplers.band import check_trained_tables
from negkit.samplers.base import _sample_batch
from negkit.samplers.host_state import host_state, set_host_state, state_kept
from negkit.samplers.registry import fresh as fresh_sampler
from negkit.word2vec.dist_epoch import dist_epoch
from negkit.word2vec.dist_sync import SYNC_MODES, SYNC_WIRES, TableSync, check_tiers
from negkit.word2vec.kernels_cbow import cbow_chunk
from negkit.word2vec.kernels_common import N_BINS, N_STATS, ST_NEGS, keep_probabilities
from negkit.word2vec.kernels_sg import sg_chunk
from negkit.word2vec.kernels_shared import sg_shared_chunk
from negkit.word2vec.order import chunk_order, words_before
from negkit.word2vec.progress import Progress, epoch_record, log_epoch
from negkit.word2vec.threads import run_workers

logger = logging.getLogger("negkit.word2vec")

Corpus = str | PathLike | Iterable[list[str]]
Chunks = Iterable[tuple[np.ndarray, np.ndarray]]

_FORMAT = "negkit.word2vec/1"
#: The sampler names that take ``alpha=ns_exponent``.
_NS_EXPONENT_NAMES = ("unigram", "popularity", "pns")
#: Draws timed after each epoch to estimate the sampler's share of the epoch.
_TIMED_DRAWS = 20_000


class Word2Vec:
    """Word2vec with negative sampling (gensim's names and defaults).

    Extra parameters: ``sampler`` (a name or a :class:`negkit.samplers.Sampler`;
    ``"unigram"`` uses ``alpha=ns_exponent`` (a negative ``ns_exponent``, gensim's rare words
    first, is fitted as ``alpha=1`` on ``count ** ns_exponent``); an object gives the settings,
    and each ``build_vocab`` fits a copy of it, ``sampler_``, so one object can serve several
    models),
    ``shared_negatives`` (skip-gram only: negatives shared across a window, Ji et al. 2016),
    ``nce`` (skip-gram, per-pair negatives: noise-contrastive estimation, Mnih & Teh 2012, the
    logits shifted by ``-log(k q(w))`` with the sampler's own q, so that ``exp(s)`` estimates
    the normalised law), ``callbacks`` (callables ``fn(model, record)`` called after every
    epoch with the dict also appended to ``training_log_``, or gensim ``CallbackAny2Vec``
    objects, whose ``on_train_begin`` / ``on_epoch_begin`` / ``on_epoch_end`` /
    ``on_train_end`` get the model; ``get_latest_training_loss()`` as gensim's; they run in
    every ``train``, where gensim runs the constructor's only in the training it starts),
    ``compute_loss``, ``progress`` (tqdm bar; default: when stderr is a terminal),
    ``chunk_words`` (raw words per kernel call) and ``shuffle`` (train an epoch's chunks in a
    fresh random order, the default; ``False`` reads the corpus front to back, see
    :mod:`negkit.word2vec.order`).

    The vocabulary is sorted by descending count, ties in first-seen order (gensim 4: last
    seen first; :mod:`negkit.data.text`).  ``hs=1`` (hierarchical softmax) is refused.
    ``sample >= 1`` is gensim's count threshold (words above about ``sample`` occurrences
    are downsampled).  ``compute_loss`` defaults to True (gensim: False).
    ``max_vocab_size`` keeps the ``max_vocab_size`` most frequent words of ``count >=
    min_count`` (ties: the first seen).  The name is gensim's, the meaning is not quite: gensim's
    ``max_vocab_size`` prunes rare words while it counts (a memory cap: counts are lost and the
    vocabulary may end smaller), and its ``max_final_vocab`` raises ``min_count`` until the
    vocabulary fits (whole ties dropped); both can keep other words at the cut.

    Data-parallel training (Ji, Shao, Sundaram et al. 2016): ``dist`` (a context from
    :func:`negkit.rec.distributed.init`, under ``torchrun``) makes each rank train its share
    of the corpus and merge the tables with the others every ``sync_words`` raw words of its
    own (``sync_mode``: ``"sum"`` of the ranks' changes or their ``"mean"``; see
    :mod:`.dist_sync`); the tables are the same on every rank after each epoch.
    ``sync_overlap=True`` sends each round's change without waiting and merges it after the
    next round (the other ranks' changes arrive one round late); ``sync_wire="bfloat16"``
    (the default) sends it whole in bfloat16 (half the bytes of float32), the rounding error
    carried into the next sync and settled in float32 at the end of each epoch, where
    ``"float32"`` sends the touched rows exactly (:mod:`.dist_sync`).  On the shared corpus
    (2 ranks, d=100, 2 epochs, seeds 0, 1) bfloat16 took the syncs from 1.5 s to 1.2-1.3 s
    at the same WS353 / SimLex / analogy (0.2936 / 0.1987 / 4.50 against 0.2933 / 0.1988 /
    4.49); overlapping did not pay there (docs/benchmarks.md).  ``sync_head`` (a fraction
    of the rows) and ``sync_tail_every``: the vocabulary is in descending count, so the
    first ``sync_head`` of the rows (the frequent words, which take most updates) are merged
    at every sync and the rest in ``sync_tail_every`` blocks in turn, one block a sync: a
    rare word's rows are merged every ``sync_tail_every`` syncs, its change kept meanwhile
    (:mod:`.dist_sync`); ``sync_head=1`` merges every row every time.  The default (1/8 of
    the rows, the rest every 8th sync) sends 30% of the bytes; on the shared corpus it took
    the syncs from 1.2 s to 0.5 s a rank at WS353 / SimLex / analogy 0.2946 / 0.1974 / 4.40
    (every row every time: 0.2936 / 0.1987 / 4.50; one process: 0.2900 / 0.1937 / 4.23).
    ``checkpoint`` (a path) saves the model after every epoch (rank 0 writes); ``load`` it
    (with ``dist``) and ``resume`` to finish the run as if never stopped.  On 60k lines of
    the shared corpus (sg, d=50, 3 epochs, 2 seeds) two ranks reached WS353 0.154 / 0.156 with
    ``sync_words=100_000`` (the default), 0.194 / 0.202 with 20 000, against 0.163 / 0.161 on
    one process; ``"mean"`` halves the steps and fell to 0.078 / 0.088.  On the whole corpus
    (d=100, 2 epochs, seed 0; one process: WS353 0.242, SimLex 0.198, analogy 3.8%) 100 000
    gave 0.292 / 0.216 / 3.4% and 500 000 gave 0.274 / 0.176 / 2.7%, while the syncs took
    13% and 3% of the time (docs/benchmarks.md).

    Hard negatives are never silenced: on saturated scores (``|f| > 6``) the
    word2vec.c gradient is used (``1 - y`` or ``-y`` times alpha), not gensim's skip.
    """

    def __init__(
        self,
        sentences: Iterable[list[str]] | None = None,
        corpus_file: str | PathLike | None = None,
        vector_size: int = 100,
        alpha: float = 0.025,
        window: int = 5,
        min_count: int = 5,
        max_vocab_size: int | None = None,
        sample: float = 1e-3,
        seed: int = 1,
        workers: int = 3,
        min_alpha: float = 0.0001,
        sg: int = 0,
        hs: int = 0,
        negative: int = 5,
        ns_exponent: float = 0.75,
        cbow_mean: int = 1,
        epochs: int = 5,
        shrink_windows: bool = True,
        sampler: str | Sampler = "unigram",
        callbacks: Sequence[Callable[[Word2Vec, dict], Any]] = (),
        compute_loss: bool = True,
        shared_negatives: bool = False,
        nce: bool = False,
        progress: bool | None = None,
        chunk_words: int = 10_000,
        shuffle: bool = True,
        dist: Any = None,
        sync_words: int = 100_000,
        sync_mode: str = "sum",
        sync_overlap: bool = False,
        sync_wire: str = "bfloat16",
        sync_head: float = 0.125,
        sync_tail_every: int = 8,
        checkpoint: str | PathLike | None = None,
        max_final_vocab: int | None = None,
        sorted_vocab: int = 1,
        null_word: int = 0,
        trim_rule: Any = None,
    ) -> None:
        _refuse_gensim_options(max_final_vocab, sorted_vocab, null_word, trim_rule)
        self.vector_size = _check_int(vector_size, "vector_size", 1)
        self.alpha = _check_float(alpha, "alpha", 0.0)
        self.min_alpha = _check_float(min_alpha, "min_alpha", 0.0)
        self.window = _check_int(window, "window", 1)
        # 0 is gensim's "keep every word", as 1 (a word of a corpus occurs at least once)
        self.min_count = _check_int(min_count, "min_count", 0)
        self.max_vocab_size = (
            None if max_vocab_size is None else _check_int(max_vocab_size, "max_vocab_size", 1)
        )
        self.sample = _check_float(0.0 if sample is None else sample, "sample", 0.0)  # gensim
        self.seed = _check_int(seed, "seed", 0)
        self.workers = _check_int(workers, "workers", 1)
        self.sg = int(bool(sg))
        if hs:
            raise ValueError(
                "hs=1 (hierarchical softmax) is not implemented: negkit trains with negative "
                "sampling only; pass hs=0 and negative >= 1"
            )
        self.hs = 0
        self.negative = _check_int(negative, "negative", 1)
        self.ns_exponent = _check_float(ns_exponent, "ns_exponent", None)
        self.cbow_mean = int(bool(cbow_mean))
        self.epochs = _check_int(epochs, "epochs", 1)
        self.shrink_windows = bool(shrink_windows)
        self.sampler = sampler
        self.callbacks = tuple(callbacks)
        self.compute_loss = bool(compute_loss)
        self.shared_negatives = bool(shared_negatives)
        self.nce = bool(nce)
        self.progress = progress
        self.chunk_words = _check_int(chunk_words, "chunk_words", 1)
        self.shuffle = bool(shuffle)
        self.dist = dist if dist is not None and dist.world_size > 1 else None
        self.sync_words = _check_int(sync_words, "sync_words", 1)
        if sync_mode not in SYNC_MODES:
            raise ValueError(f"sync_mode must be one of {', '.join(SYNC_MODES)}, got {sync_mode!r}")
        self.sync_mode = sync_mode
        self.sync_overlap = bool(sync_overlap)
        if sync_wire not in SYNC_WIRES:
            raise ValueError(f"sync_wire must be one of {', '.join(SYNC_WIRES)}, got {sync_wire!r}")
        self.sync_wire = sync_wire
        check_tiers(sync_head, sync_tail_every)
        self.sync_head = float(sync_head)
        self.sync_tail_every = int(sync_tail_every)
        self.checkpoint = checkpoint
        #: a JSON value saved with the model: what else a caller's run depends on, to compare
        #: on resume (graph walks: the graph and the walk settings)
        self.checkpoint_tag: Any = None
        if self.nce and (not self.sg or self.shared_negatives):
            raise ValueError(
                "nce=True is a skip-gram loss with per-pair negatives: set sg=1, "
                "shared_negatives=False"
            )
        if self.shared_negatives and not self.sg:
            raise ValueError(
                "shared_negatives=True is the skip-gram mode of Ji et al. (2016): set sg=1"
            )
        self.training_log_: list[dict[str, Any]] = []
        self.epochs_trained_ = 0
        self.running_training_loss = 0.0
        self._corpus: tuple[Any, np.ndarray, np.ndarray] | None = None
        self._schedule: dict[str, int] | None = None
        if sentences is not None and corpus_file is not None:
            raise ValueError("give sentences or corpus_file, not both")
        if sentences is not None or corpus_file is not None:
            self.fit(corpus_file if corpus_file is not None else sentences)

    # ------------------------------------------------------------------ vocab
    def build_vocab(
        self,
        corpus: Corpus | None = None,
        corpus_file: str | PathLike | None = None,
        corpus_iterable: Iterable[list[str]] | None = None,
        update: bool = False,
        progress_per: int = 10000,
        keep_raw_vocab: bool = False,
        trim_rule: Any = None,
    ) -> Word2Vec:
        """Count the corpus, keep words with ``count >= min_count`` and initialise the weights.

        ``update=True`` (gensim's growing of a trained vocabulary) is refused: new words would
        need rows, counts and a place in the noise law; build the vocabulary of the whole
        corpus instead.  gensim's ``progress_per`` and ``keep_raw_vocab`` are accepted and
        have nothing to do; a ``trim_rule`` is refused (it would change the vocabulary).

        The encoded corpus is kept, so a following ``train`` on the same corpus
        (same path, size and time of change, or the same list object with as many sentences
        and tokens) does not read it again.
        """
        if update:
            raise NotImplementedError(
                "build_vocab(update=True) is not supported: a vocabulary does not grow after "
                "training; call build_vocab on the whole corpus (old and new sentences) and "
                "train again"
            )
        if trim_rule is not None:
            raise NotImplementedError(
                "trim_rule is not supported: filter the corpus's tokens before build_vocab, or "
                "count them yourself and use build_vocab_from_freq"
            )
        corpus = _one_corpus(corpus, corpus_file, corpus_iterable)
        sc = scan(corpus)
        what = str(corpus) if isinstance(corpus, (str, PathLike)) else "the corpus"
        vocab, remap = vocab_from_scan(sc, max(1, self.min_count), self.max_vocab_size, what)
        self._set_vocab(vocab)
        tokens, offsets = encode_scan(sc, remap)
        self._corpus = (_corpus_key(corpus), tokens, offsets)
        self._corpus_raw_words = int(sc.ids.size)
        return self

    def build_vocab_from_freq(
        self,
        word_freq: dict[str, int] | tuple[Sequence[str], Any],
        keep_raw_vocab: bool = False,
        corpus_count: int | None = None,
        trim_rule: Any = None,
        update: bool = False,
    ) -> Word2Vec:
        """Vocabulary from counts: a dict ``{word: count}`` or ``(keys, counts)``.

        Counts are rounded to integers; words below ``min_count`` are dropped (and the
        number logged).  Use with :meth:`train_arrays`, whose
        token ids index this vocabulary (sorted by descending count, ties in given order).
        gensim's arguments: ``corpus_count`` sets :attr:`corpus_count` (default 0),
        ``keep_raw_vocab`` has nothing to do, ``trim_rule`` and ``update=True`` are refused.
        """
        if update:
            raise NotImplementedError("build_vocab_from_freq(update=True) is not supported")
        if trim_rule is not None:
            raise NotImplementedError("trim_rule is not supported: filter word_freq first")
        n_sent = 0 if corpus_count is None else _check_int(corpus_count, "corpus_count", 0)
        if isinstance(word_freq, dict):
            keys = [str(k) for k in word_freq]
            raw = np.array(list(word_freq.values()), dtype=np.float64)
        else:
            keys_in, counts_in = word_freq
            keys = [str(k) for k in keys_in]
            raw = np.asarray(counts_in, dtype=np.float64).reshape(-1)
            if len(keys) != raw.shape[0]:
                raise ValueError(f"{len(keys)} keys but {raw.shape[0]} counts")
        if not np.all(np.isfinite(raw)) or np.any(raw < 0):
            raise ValueError("word counts must be finite and non-negative")
        counts = np.rint(raw).astype(np.int64)
        if np.any(counts != raw):
            logger.info("build_vocab_from_freq: %d non-integer counts rounded to integers",
                        int(np.sum(counts != raw)))  # fmt: skip
        if len(set(keys)) != len(keys):
            raise ValueError("word_freq has duplicate keys")
        ids = np.arange(len(keys), dtype=np.int32)
        # no sentence was read: corpus_count is the one given, 0 by default (gensim)
        sc = Scan(ids=ids, offsets=np.zeros(n_sent + 1, np.int64), keys=keys, counts=counts,
                  lines=n_sent)  # fmt: skip
        vocab, _ = vocab_from_scan(sc, max(1, self.min_count), self.max_vocab_size, "word_freq")
        self._set_vocab(vocab)
        self._corpus = None
        return self

    def _set_vocab(self, vocab: Vocab) -> None:
        from negkit.keyedvectors import KeyedVectors

        self.vocab_ = vocab
        v, d = len(vocab), self.vector_size
        self.syn1neg = np.zeros((v, d), dtype=np.float32)
        self.wv = KeyedVectors(init_input_vectors(v, d, self.seed), vocab.index_to_key,
                               counts=vocab.counts)  # fmt: skip
        self.keep_prob_ = keep_probabilities(vocab.counts, self.sample)
        self._keep_prob_sample = self.sample
        self.ctxs_ = self._rank_contexts(self.workers)
        self.epochs_trained_ = 0
        self.diverged_ = 0
        self.training_log_ = []
        self._schedule = None
        self._fit_sampler()

    def _fit_sampler(self) -> None:
        s = self.sampler
        counts = self.vocab_.counts
        if isinstance(s, str) and s.lower() in _NS_EXPONENT_NAMES:
            if self.ns_exponent < 0:  # gensim's rare-words-first law: the unigram sampler
                # takes alpha >= 0 only, so it draws by count ** ns_exponent at alpha 1
                counts = np.where(counts > 0, np.maximum(counts, 1) ** self.ns_exponent, 0.0)
                sampler = fresh_sampler(s, alpha=1.0)
            else:
                sampler = fresh_sampler(s, alpha=self.ns_exponent)
        else:  # a Sampler object gives the settings: this model fits its own copy
            sampler = fresh_sampler(s)
        check_trained_tables(sampler, "Word2Vec")
        self._check_anchor_rows(sampler)
        sampler.fit(counts=counts, output=self.syn1neg, input=self.wv.vectors)
        self.sampler_ = sampler
        self._sampler_from = self._sampler_setting()

    def _check_anchor_rows(self, sampler: Any) -> None:
        """The adaptive sampler's ``dims="snapshot"`` picks the dimension from the anchor's
        own input row as of the last refresh; CBOW and the shared-negative mode score with a
        context or window mean instead (the anchor is the centre word), so it would draw from
        another law than the one of the vector scored: refused there."""
        if getattr(sampler, "dims", None) == "snapshot" and (not self.sg or self.shared_negatives):
            mode = "CBOW" if not self.sg else "the shared-negative mode"
            raise ValueError(
                f"the adaptive sampler's dims=\"snapshot\" needs the anchor's own input row as "
                f'the vector: {mode} scores with a mean of context rows; use dims="exact" '
                "(or sg=1 with shared_negatives=False)"
            )

    def _sampler_setting(self) -> tuple:
        """What ``sampler_`` is fitted from: the sampler (name, or class and settings) and,
        for ``"unigram"``, ``ns_exponent``."""
        s = self.sampler
        if not isinstance(s, str):
            return (repr(s), None)
        return (s.lower(), self.ns_exponent if s.lower() in _NS_EXPONENT_NAMES else None)

    def _settings_since_vocab(self) -> None:
        """Settings changed since ``build_vocab`` take effect in the next ``train``: a new
        ``sampler`` (or ``ns_exponent``) is fitted, ``sample`` recomputes the keep
        probabilities.  ``train`` used the ones of ``build_vocab`` and ignored the change."""
        self.sample = _check_float(0.0 if self.sample is None else self.sample, "sample", 0.0)
        if self.sample != self._keep_prob_sample:
            self.keep_prob_ = keep_probabilities(self.vocab_.counts, self.sample)
            self._keep_prob_sample = self.sample
        if self._sampler_setting() != self._sampler_from:
            self._fit_sampler()
        self._check_anchor_rows(self.sampler_)  # sg / shared_negatives may have changed too

    @property
    def syn0(self) -> np.ndarray:
        return self.wv.vectors

    @property
    def corpus_count(self) -> int:
        """Sentences of the corpus of :meth:`build_vocab` (gensim's name, for ``train``'s
        ``total_examples``); empty sentences are not counted (gensim counts those of an
        iterable).  0 after :meth:`build_vocab_from_freq`."""
        self._check_ready()
        return int(self.vocab_.sentences)

    @property
    def corpus_total_words(self) -> int:
        """Raw words of the corpus of :meth:`build_vocab`, in or out of the vocabulary
        (gensim's name, for ``train``'s ``total_words``)."""
        self._check_ready()
        return int(self.vocab_.total_words)

    # ------------------------------------------------------------------- train
    def fit(self, corpus: Corpus) -> Word2Vec:
        """Build the vocabulary on ``corpus`` (a path or token lists) and train; returns self."""
        self.build_vocab(corpus)
        return self.train(corpus)

    def train(
        self,
        corpus: Corpus | None = None,
        corpus_file: str | PathLike | None = None,
        total_examples: int | None = None,
        total_words: int | None = None,
        epochs: int | None = None,
        corpus_iterable: Iterable[list[str]] | None = None,
        start_alpha: float | None = None,
        end_alpha: float | None = None,
        **_gensim_compat: Any,
    ) -> Word2Vec:
        """Train ``epochs`` epochs (default: the constructor's) on ``corpus``.

        The learning rate decays from ``alpha`` to ``min_alpha`` over this call, as in gensim.
        As gensim's ``train``, ``start_alpha`` / ``end_alpha`` replace the model's ``alpha`` /
        ``min_alpha`` (for this and later calls) and a given ``epochs`` becomes the model's.
        ``total_examples`` / ``total_words`` (and gensim's ``word_count``, ``queue_factor``,
        ``report_delay``) are accepted and ignored: the corpus is counted exactly when it is
        encoded.  ``compute_loss``, when given, sets the model's (as gensim's ``train`` does).
        Callbacks go to the constructor.  Settings set on the
        model since :meth:`build_vocab` apply (``sampler``, ``ns_exponent``, ``sample``,
        ``workers``, ``alpha``, ``window``, ``negative``...), except those of the vocabulary
        and the tables (``min_count``, ``max_vocab_size``, ``vector_size``, ``seed``): a new
        ``build_vocab`` applies these.
        """
        unknown = set(_gensim_compat) - _GENSIM_TRAIN_KWARGS
        if unknown:
            raise TypeError(f"train() got unexpected keyword argument(s): {sorted(unknown)}")
        if "compute_loss" in _gensim_compat:  # was accepted and dropped: the losses stayed NaN
            self.compute_loss = bool(_gensim_compat["compute_loss"])
        if start_alpha:  # gensim: `start_alpha or self.alpha`
            self.alpha = _check_float(start_alpha, "start_alpha", 0.0)
        if end_alpha:
            self.min_alpha = _check_float(end_alpha, "end_alpha", 0.0)
        if epochs is not None:
            self.epochs = _check_int(epochs, "epochs", 1)
        corpus = _one_corpus(corpus, corpus_file, corpus_iterable)
        tokens, offsets = self._encoded(corpus)
        return self.train_arrays([(tokens, offsets)], epochs=epochs, total_words=int(tokens.size))

    def resume(self, corpus: Corpus | None = None, chunks: Chunks | None = None) -> Word2Vec:
        """Finish an interrupted ``train`` / ``fit`` (e.g. after :meth:`load`), lr schedule too."""
        sch = self._schedule
        if sch is None or sch["done"] >= sch["epochs"]:
            raise RuntimeError("nothing to resume: no train call was interrupted")
        if chunks is None:
            tokens, offsets = self._encoded(_one_corpus(corpus, None))
            chunks = [(tokens, offsets)]
        self._run(chunks, sch["epochs"], sch["done"], sch["total_words"], sch.get("sharded", False))
        return self

    def train_arrays(
        self,
        chunks: Chunks,
        epochs: int | None = None,
        total_words: int | None = None,
        sharded: bool = False,
    ) -> Word2Vec:
        """Train on already encoded text: a re-iterable of ``(int32 tokens, int64 offsets)``.

        Token ids index the vocabulary (:meth:`build_vocab_from_freq`); ``offsets`` has
        one entry more than the piece has sentences.  ``total_words`` (raw words per
        epoch, for the learning-rate schedule) is counted by one pass when not given.
        Distributed (``dist``): every rank passes the same ``chunks`` and trains its share,
        or with ``sharded=True`` its own pieces, then ``total_words`` (over all ranks) is
        required.
        """
        self._check_ready()
        epochs = self.epochs if epochs is None else _check_int(epochs, "epochs", 1)
        if sharded and self.dist is not None and total_words is None:
            raise ValueError("sharded=True needs total_words: the raw words of all ranks")
        if total_words is None:
            total_words = sum(int(np.asarray(t).size) for t, _ in chunks)
        if total_words <= 0:
            raise ValueError("the corpus has no in-vocabulary token to train on")
        self._schedule = {"epochs": int(epochs), "done": 0, "total_words": int(total_words),
                          "sharded": bool(sharded)}  # fmt: skip
        self._run(chunks, int(epochs), 0, int(total_words), bool(sharded))
        return self

    # ---------------------------------------------------------------- engine
    def _run(
        self, chunks: Chunks, epochs: int, start: int, total_words: int, sharded: bool = False
    ) -> None:
        self._contexts_for_workers()
        self._settings_since_vocab()
        total = float(epochs) * total_words
        bar = Progress(total - start * total_words, self.progress, "word2vec")
        if self.dist is not None:
            self._start_sync()
        if start == 0:
            self.running_training_loss = 0.0
        self._gensim_hook("on_train_begin")
        try:
            for e in range(start, epochs):
                self._gensim_hook("on_epoch_begin")
                if self.dist is None:
                    rec = self._epoch(chunks, e, epochs, total_words, total, bar)
                else:
                    rec = dist_epoch(self, chunks, e, epochs, total_words, bar, sharded)
                if not self.compute_loss:  # not measured: NaN, not a loss of 0
                    rec["loss"] = rec["loss_sum"] = float("nan")
                self._check_diverged(rec)
                self._schedule["done"] = e + 1  # type: ignore[index]
                self.epochs_trained_ += 1
                self.training_log_.append(rec)
                if self.compute_loss:
                    self.running_training_loss += float(rec["loss_sum"])
                log_epoch(rec, epochs)
                if self.checkpoint is not None:
                    self.save(self.checkpoint)
                for cb in self.callbacks:
                    if _is_gensim_callback(cb):
                        cb.on_epoch_end(self)
                    else:
                        cb(self, rec)
        finally:
            bar.close()
        self._gensim_hook("on_train_end")

    def _gensim_hook(self, name: str) -> None:
        """Call ``name(model)`` on gensim-style callbacks (``CallbackAny2Vec``)."""
        for cb in self.callbacks:
            if _is_gensim_callback(cb):
                getattr(cb, name, lambda model: None)(self)

    def get_latest_training_loss(self) -> float:
        """gensim's: the summed pair losses of the current (or last) ``train`` call's epochs
        so far (0.0 without ``compute_loss``).  ``training_log_`` has them per epoch."""
        return float(self.running_training_loss)

    def _contexts_for_workers(self) -> None:
        """One random context per thread of ``workers`` as it is now (gensim lets a caller set
        ``model.workers`` between ``build_vocab`` and ``train``): the threads that had one keep
        theirs, new ones get this seed's next streams.  The extra threads found no context
        before and stopped, their error lost, while the others trained alone."""
        w = self.workers = _check_int(self.workers, "workers", 1)
        if self.ctxs_.shape[0] == w:
            return
        ctxs = self._rank_contexts(w)
        keep = min(w, self.ctxs_.shape[0])
        ctxs[:keep] = self.ctxs_[:keep]
        self.ctxs_ = ctxs

    def _rank_contexts(self, w: int) -> np.ndarray:
        """The random contexts of this rank's ``w`` threads: rows ``rank * w ..`` of the seed's
        ``world_size * w`` streams (every thread of every rank its own)."""
        rank, world = (self.dist.rank, self.dist.world_size) if self.dist else (0, 1)
        return make_contexts(self.seed, w * world)[rank * w : (rank + 1) * w].copy()

    def _start_sync(self) -> None:
        """Rank 0's tables on every rank, then a :class:`TableSync` from them."""
        import torch
        import torch.distributed as tdist

        from negkit.rec.distributed import guarded

        for table in (self.wv.vectors, self.syn1neg):
            guarded(self.dist, "broadcast (tables)", tdist.broadcast, torch.from_numpy(table), 0)
        self._table_sync = TableSync(self.dist, [self.wv.vectors, self.syn1neg], self.sync_mode,
                                     self.sync_overlap, self.sync_wire, self.sync_head,
                                     self.sync_tail_every)  # fmt: skip

    def _check_diverged(self, rec: dict) -> None:
        """Stop with :class:`TrainingDivergedError` on NaN / Inf in the loss or the tables.

        The kernels run under fast-math and cannot see NaN; the tables are checked here,
        once an epoch.  A diverged model keeps ``diverged_`` set and refuses to be saved.
        """
        loss = rec["loss"] if self.compute_loss and rec["pairs"] else None
        try:
            check_finite("word2vec", rec["epoch"], self.alpha, loss=loss, lr_name="alpha",
                         tables={"input vectors": self.wv.vectors,
                                 "output vectors (syn1neg)": self.syn1neg})  # fmt: skip
        except TrainingDivergedError:
            self.diverged_ = int(rec["epoch"])
            raise

    def _kernel_call(self) -> Callable[..., int]:
        """The chunk kernel of this model's mode, with the model's tables and settings bound."""
        fixed = (self.wv.vectors, self.syn1neg)
        conf = (self.keep_prob_, self.window, self.negative, self.shrink_windows,
                self.alpha, self.min_alpha)  # fmt: skip
        loss = self.compute_loss
        if not self.sg:
            kernel, extra = cbow_chunk, (loss, self.cbow_mean)
        elif self.shared_negatives:
            kernel, extra = sg_shared_chunk, (loss, bool(self.sampler_.score_aware))
        else:
            kernel, extra = sg_chunk, (loss, self._nce_shift())

        def call(tokens, offsets, lo, hi, done0, total, draw, state, ctx, stats, hist):
            return kernel(*fixed, tokens, offsets, lo, hi, *conf, done0, total, draw, state, ctx,
                          stats, hist, *extra)  # fmt: skip

        return call

    def _nce_shift(self) -> np.ndarray:
        """``log(k q(w))`` per vocabulary word for NCE (empty: negative sampling)."""
        if not self.nce:
            return np.zeros(0, dtype=np.float32)
        try:
            q = np.asarray(self.sampler_.distribution(), dtype=np.float64)
        except (NotImplementedError, TypeError, ValueError):
            raise ValueError(
                "nce=True needs a sampler whose distribution() does not depend on the anchor "
                "(its log q), e.g. unigram or uniform"
            ) from None
        return np.log(self.negative * np.maximum(q, 1e-30)).astype(np.float32)

    def _draw_kernel(self) -> tuple[Callable[..., Any], tuple]:
        """``(draw, state)`` for CBOW (a draw at a time), ``(draw_pair, state)`` for skip-gram
        (a pair's negatives at a time, see :meth:`negkit.samplers.Sampler.pair_kernel`)."""
        return self.sampler_.pair_kernel() if self.sg else self.sampler_.kernel()

    def _epoch(
        self, chunks: Chunks, e: int, epochs: int, total_words: int, total: float, bar: Progress
    ) -> dict:
        n_thr = self.workers
        stats = np.zeros((n_thr, 16), dtype=np.float64)[:, :N_STATS]  # rows written once per chunk
        hist = np.zeros((n_thr, N_BINS), dtype=np.int64)
        call = self._kernel_call()
        sampler = self.sampler_
        lock = threading.Lock()  # job counter
        refresh_lock = threading.Lock()  # one refresh at a time; others keep training meanwhile
        refresh_seconds = [0.0]
        kernel_state = {"draw_state": self._draw_kernel()}
        alpha_span = self.alpha - self.min_alpha
        done_epoch = 0
        t0 = time.perf_counter()
        last_sample: tuple[np.ndarray, np.ndarray] | None = None
        for piece_no, (tokens, offsets) in enumerate(chunks):
            tokens, offsets = self._check_piece(tokens, offsets, piece_no)
            if tokens.size == 0:
                continue
            last_sample = (tokens, offsets)
            bounds = _chunk_bounds(offsets, self.chunk_words)
            jobs = chunk_order(bounds.size - 1, self.shuffle, self.seed, e, piece_no)
            starts = words_before(np.diff(offsets[bounds]), jobs)
            base = float(e) * total_words + done_epoch
            next_job = [0]

            def worker(t: int, tokens=tokens, offsets=offsets, bounds=bounds, starts=starts,
                       base=base, jobs=jobs,
                       next_job=next_job) -> None:  # fmt: skip
                ctx = self.ctxs_[t]
                while True:
                    with lock:
                        j = next_job[0]
                        next_job[0] += 1
                        draw, state = kernel_state["draw_state"]
                    if j >= jobs.size:
                        return
                    c = jobs[j]
                    done0 = base + float(starts[j])
                    raw = call(tokens, offsets, int(bounds[c]), int(bounds[c + 1]), done0, total,
                               draw, state, ctx, stats[t], hist[t])  # fmt: skip
                    if refresh_lock.acquire(blocking=False):
                        try:
                            tr = time.perf_counter()
                            if sampler.maybe_refresh(self.ctxs_):
                                kernel_state["draw_state"] = self._draw_kernel()
                            refresh_seconds[0] += time.perf_counter() - tr
                        finally:
                            refresh_lock.release()
                    frac = min(1.0, (done0 + raw) / total)
                    bar.update(raw, self.alpha - alpha_span * frac)

            run_workers(worker, n_thr)
            done_epoch += int(tokens.size)
        seconds = time.perf_counter() - t0
        tot_stats = stats.sum(axis=0)
        lr = self.alpha - alpha_span * min(1.0, (e + 1) / epochs)
        s_sec = self._sampler_seconds(last_sample, float(tot_stats[ST_NEGS]), e)
        s_sec += refresh_seconds[0] / n_thr  # a refreshing thread trains nothing meanwhile
        return epoch_record(e + 1, seconds, tot_stats, hist.sum(axis=0), lr, s_sec,
                            getattr(self.sampler_, "name", type(self.sampler_).__name__),
                            )  # fmt: skip

    def _sampler_seconds(
        self, sample: tuple[np.ndarray, np.ndarray] | None, n_neg: float, e: int
    ) -> float:
        """Estimated wall time of the epoch's draws: time per draw x draws / workers.

        The epoch record's ``sampler_seconds`` adds the measured time of the sampler's
        refreshes (``maybe_refresh``) divided by the number of workers.

        The time per draw is measured after the epoch on ``_TIMED_DRAWS`` draws in
        isolation (one compiled loop, a separate random context), for anchors picked
        uniformly from the epoch's token stream with their live input vectors.  It
        ignores the cache misses that training adds around each draw.  The sampler's state
        is put back afterwards: training never sees these draws.
        """
        if sample is None or n_neg <= 0:
            return 0.0
        tokens = sample[0]
        k = max(1, self.negative)
        m = max(1, int(min(_TIMED_DRAWS, max(1.0, n_neg))) // k)  # pairs of k draws
        ctx = make_contexts(self.seed + 7919 * (e + 1), 1)[0]
        rng = np.random.default_rng(self.seed + e)
        anchors = tokens[rng.integers(0, tokens.size, m)].astype(np.int64)
        vecs = np.ascontiguousarray(self.wv.vectors[anchors])
        pos = np.full(m, -1, dtype=np.int64)
        out = np.empty((m, k), dtype=np.int64)
        # the timed draws change what drawing changes (SRNS's memory and its anchors' warm-up
        # visits, MCNS's chains): the sampler's state is put back after them
        draw_pair, state = self.sampler_.pair_kernel()
        with state_kept(self.sampler_):
            _sample_batch(
                draw_pair, state, anchors[:1], pos[:1], vecs[:1], ctx, out[:1]
            )  # compile outside timing
            t = time.perf_counter()
            _sample_batch(draw_pair, state, anchors, pos, vecs, ctx, out)
            per_draw = (time.perf_counter() - t) / (m * k)
        return per_draw * n_neg / self.workers

    def _check_piece(
        self, tokens: Any, offsets: Any, piece_no: int
    ) -> tuple[np.ndarray, np.ndarray]:
        tokens = np.ascontiguousarray(tokens, dtype=np.int32)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        if tokens.ndim != 1 or offsets.ndim != 1 or offsets.size < 1:
            raise ValueError(f"piece {piece_no}: tokens and offsets must be 1-D, offsets non-empty")
        if tokens.size:
            lo, hi = int(tokens.min()), int(tokens.max())
            if lo < 0 or hi >= len(self.vocab_):
                raise ValueError(
                    f"piece {piece_no}: token id {lo if lo < 0 else hi} is outside the vocabulary "
                    f"(0..{len(self.vocab_) - 1})"
                )
        if offsets[0] < 0 or offsets[-1] > tokens.size or np.any(np.diff(offsets) < 0):
            raise ValueError(f"piece {piece_no}: offsets must rise from >= 0 to <= len(tokens)")
        return tokens, offsets

    def _encoded(self, corpus: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_ready()
        if corpus is None:
            if self._corpus is None:
                raise ValueError("train() needs a corpus (none was kept from build_vocab)")
            return self._corpus[1], self._corpus[2]
        key = _corpus_key(corpus)
        if self._corpus is not None and _same_corpus(key, self._corpus[0]):
            return self._corpus[1], self._corpus[2]
        sc = scan(corpus)
        remap = np.array([self.vocab_.key_to_index.get(k, -1) for k in sc.keys], dtype=np.int64)
        tokens, offsets = encode_scan(sc, remap)
        if sc.ids.size - tokens.size:
            logger.info("%d of %d tokens are out of vocabulary and skipped",
                        sc.ids.size - tokens.size,
                        sc.ids.size)  # fmt: skip
        self._corpus = (key, tokens, offsets)
        return tokens, offsets

    def _check_ready(self) -> None:
        if not hasattr(self, "vocab_"):
            raise RuntimeError(
                "build the vocabulary first: build_vocab(corpus) or build_vocab_from_freq(...)"
            )

    # ------------------------------------------------------------- save/load
    def save(self, path: str | PathLike) -> None:
        """Save the whole model (vocabulary, tables, RNG state, the sampler's state, schedule,
        log) to one .npz file.

        Written to a temporary file, then renamed: a crash never leaves half a file.  Under a
        process group (``dist``) every rank calls it (the ranks' random states are gathered)
        and rank 0 writes.
        """
        self._check_ready()
        ctxs = self.ctxs_
        states = [host_state(self.sampler_)]  # what the sampler's draws changed
        if self.dist is not None:
            ctxs = self._gathered_contexts()
            states = self._gathered_sampler_states(states[0])
            if not self.dist.is_main:
                return
        if getattr(self, "diverged_", 0):
            raise ValueError(f"not saving a model that diverged in epoch {self.diverged_}")
        s = self.sampler_
        meta = {
            "format": _FORMAT,
            "params": {k: getattr(self, k) for k in _PARAMS},
            "sampler": {"name": s.name, "params": _jsonable(s.get_params()),
                        "given": self.sampler if isinstance(self.sampler, str) else None},
            "keys": self.vocab_.index_to_key,
            "vocab": {"total_words": self.vocab_.total_words, "raw_types": self.vocab_.raw_types,
                      "sentences": self.vocab_.sentences},
            "epochs_trained": self.epochs_trained_,
            "schedule": self._schedule,
            "training_log": self.training_log_,
            "tag": self.checkpoint_tag,
            "sampler_state": [{"arrays": sorted(a), "generators": g} for a, g in states],
        }  # fmt: skip
        blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        sampler_arrays = {f"sampler.{r}.{k}": v for r, (a, _) in enumerate(states)
                          for k, v in a.items()}  # fmt: skip
        atomic_write(path, lambda f: np.savez(f, meta=blob, syn0=self.wv.vectors,
                                              syn1neg=self.syn1neg, counts=self.vocab_.counts,
                                              ctxs=ctxs, **sampler_arrays))  # fmt: skip

    def _gathered_sampler_states(self, mine: tuple) -> list:
        """Every rank's :func:`host_state` of its sampler, in rank order."""
        import torch.distributed as tdist

        from negkit.rec.distributed import guarded

        parts: list[Any] = [None] * self.dist.world_size
        guarded(self.dist, "all_gather (sampler states)", tdist.all_gather_object, parts, mine)
        return parts

    def _gathered_contexts(self) -> np.ndarray:
        """Every rank's random contexts, in rank order (``world_size * workers`` rows)."""
        import torch
        import torch.distributed as tdist

        from negkit.rec.distributed import guarded

        mine = torch.from_numpy(self.ctxs_.view(np.int64).copy())
        parts = [torch.empty_like(mine) for _ in range(self.dist.world_size)]
        guarded(self.dist, "all_gather (random states)", tdist.all_gather, parts, mine)
        return np.concatenate([p.numpy() for p in parts]).view(np.uint64)

    @classmethod
    def load(cls, path: str | PathLike, dist: Any = None) -> Word2Vec:
        """Load a model written by :meth:`save`; training can go on (``train``) or ``resume``.

        dist : the process group context to go on under (each rank takes its own random
            states when the file was saved by as many ranks).
        """
        with np.load(path, allow_pickle=False) as z:
            try:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            except (KeyError, ValueError) as e:
                raise ValueError(f"{path}: not a negkit Word2Vec file ({e})") from None
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{path}: unknown format {meta.get('format')!r}")
            arrays = {k: z[k] for k in ("syn0", "syn1neg", "counts", "ctxs")}
            states = [
                ({k: z[f"sampler.{r}.{k}"] for k in st["arrays"]}, st["generators"])
                for r, st in enumerate(meta.get("sampler_state") or [])
            ]
        params = dict(meta["params"])
        params.setdefault("sync_wire", "float32")  # files from before the option: as they ran
        params.setdefault("sync_head", 1.0)
        params.setdefault("sync_tail_every", 1)
        sampler_meta = meta["sampler"]
        given = sampler_meta.get("given")  # a name stays a name: it follows ns_exponent
        sampler = (
            given
            if isinstance(given, str)
            else get_sampler(sampler_meta["name"], **sampler_meta["params"])
        )
        model = cls(**params, sampler=sampler, dist=dist)
        keys = meta["keys"]
        vocab = Vocab(keys, {k: i for i, k in enumerate(keys)}, arrays["counts"].astype(np.int64),
                      int(meta["vocab"]["total_words"]), int(meta["vocab"]["raw_types"]),
                      int(meta["vocab"]["sentences"]), max(1, model.min_count))  # fmt: skip
        model._set_vocab(vocab)
        model.wv.vectors[...] = arrays["syn0"]
        model.syn1neg[...] = arrays["syn1neg"]
        ctxs, w = arrays["ctxs"], model.workers
        rank, world = (dist.rank, dist.world_size) if model.dist else (0, 1)
        if ctxs.shape[0] == w * world and ctxs.shape[1:] == model.ctxs_.shape[1:]:
            model.ctxs_[...] = ctxs[rank * w : (rank + 1) * w]
        else:
            logger.warning("%s: random states of %d threads, not %d x %d: fresh ones", path,
                           ctxs.shape[0], world, w)  # fmt: skip
        model._fit_sampler()
        if len(states) == world:
            set_host_state(model.sampler_, *states[rank])
        else:  # a file from before sampler states were saved, or of another number of ranks
            logger.warning("%s: no sampler state for %d rank(s): the sampler starts afresh",
                           path, world)  # fmt: skip
        model.epochs_trained_ = int(meta["epochs_trained"])
        model._schedule = meta["schedule"]
        model.training_log_ = list(meta["training_log"])
        model.checkpoint_tag = meta.get("tag")
        return model

    def __repr__(self) -> str:
        v = len(self.vocab_) if hasattr(self, "vocab_") else 0
        return (f"Word2Vec<vocab={v}, vector_size={self.vector_size}, sg={self.sg}, "
                f"negative={self.negative}, sampler={self.sampler!r}>")  # fmt: skip


def init_input_vectors(n_words: int, dim: int, seed: int) -> np.ndarray:
    """Initial input vectors, float32, uniform on ``[-1/dim, 1/dim)`` (gensim 4).

    gensim 4 (``KeyedVectors.prep_vectors``, iterable and corpus_file modes alike)
    draws ``(2 u - 1) / dim``; word2vec.c draws ``(u - 0.5) / dim``, half as wide.
    With ``syn1neg`` starting at zero, the first updates of the output vectors are
    proportional to these values, so the narrower start learns more slowly: on the
    5.3M-token shared corpus (sg, 5 epochs, ``bench/word2vec_lr.py``, 10 and 6 seeds) it
    cost 0.52 +- 0.09 Google-analogy points against this one (WS353, SimLex: within noise).
    """
    rng = np.random.default_rng(seed)
    u = rng.random((n_words, dim), dtype=np.float32)
    return ((u * np.float32(2.0) - np.float32(1.0)) / np.float32(dim)).astype(np.float32)


_PARAMS = ("vector_size", "alpha", "window", "min_count", "max_vocab_size", "sample", "seed",
           "workers",
           "min_alpha", "sg", "negative", "ns_exponent", "cbow_mean", "epochs", "shrink_windows",
           "compute_loss", "shared_negatives", "nce", "chunk_words", "shuffle", "sync_words",
           "sync_mode", "sync_overlap", "sync_wire", "sync_head", "sync_tail_every")  # fmt: skip


def _chunk_bounds(offsets: np.ndarray, chunk_words: int) -> np.ndarray:
    """Sentence indices cutting ``offsets`` into runs of >= chunk_words words (whole sentences)."""
    n_sent = offsets.size - 1
    if n_sent <= 0:
        return np.zeros(1, dtype=np.int64)
    rel = offsets - offsets[0]
    targets = np.arange(chunk_words, int(rel[-1]), chunk_words)
    cuts = np.searchsorted(rel, targets, side="left")
    cuts = np.unique(np.clip(cuts, 1, n_sent))
    return np.concatenate([[0], cuts[cuts < n_sent], [n_sent]]).astype(np.int64)


#: gensim ``train`` arguments accepted (the engine counts and schedules itself; compute_loss
#: is set on the model).
_GENSIM_TRAIN_KWARGS = {"word_count", "queue_factor", "report_delay", "compute_loss"}


def _one_corpus(*given: Any) -> Any:
    """The one corpus among the ways of passing it (positional, corpus_file, corpus_iterable)."""
    present = [c for c in given if c is not None]
    if len(present) > 1:
        raise ValueError("give one corpus: a path / iterable, corpus_file or corpus_iterable")
    return present[0] if present else None


def _corpus_key(corpus: Any) -> tuple:
    """What identifies a corpus: a file by path, size and mtime; anything else by identity
    and, for a list or tuple, its numbers of sentences and tokens (a list grown or cut
    since it was encoded is encoded again; another iterable is read once only)."""
    if isinstance(corpus, (str, PathLike)):
        p = Path(corpus)
        st = p.stat()
        return ("path", str(p.resolve()), st.st_size, st.st_mtime_ns)
    size = None
    if isinstance(corpus, (list, tuple)):
        size = (len(corpus), sum(len(s) if hasattr(s, "__len__") else -1 for s in corpus))
    return ("object", corpus, size)  # the reference keeps id() from being reused


def _same_corpus(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    return a == b if a[0] == "path" else (a[1] is b[1] and a[2] == b[2])


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if isinstance(v, np.generic):
            v = v.item()
        try:
            json.dumps(v)
        except TypeError:
            raise ValueError(f"sampler parameter {k}={v!r} cannot be saved") from None
        out[k] = v
    return out


def _refuse_gensim_options(max_final_vocab: Any, sorted_vocab: Any, null_word: Any,
                           trim_rule: Any) -> None:  # fmt: skip
    """gensim options negkit does not have: accepted at the value that changes nothing,
    refused with what to do otherwise (not silently ignored)."""
    if max_final_vocab is not None:
        raise NotImplementedError(
            "max_final_vocab is not supported: gensim raises min_count until the vocabulary "
            "fits; set min_count yourself, or max_vocab_size (the most frequent words)"
        )
    if not sorted_vocab:
        raise NotImplementedError("sorted_vocab=0 is not supported: the vocabulary is sorted")
    if null_word:
        raise NotImplementedError("null_word=1 (a padding word for CBOW) is not supported")
    if trim_rule is not None:
        raise NotImplementedError(
            "trim_rule is not supported: filter the corpus's tokens first, or count them "
            "yourself and use build_vocab_from_freq"
        )


def _is_gensim_callback(cb: Any) -> bool:
    """A gensim ``CallbackAny2Vec``-style object: hooks called with the model only."""
    return hasattr(cb, "on_epoch_end") and not isinstance(cb, type)


def _check_int(x: Any, name: str, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    return int(x)


def _check_float(x: Any, name: str, lo: float | None) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {x!r}") from None
    if not math.isfinite(v) or (lo is not None and v < lo):
        raise ValueError(
            f"{name} must be a finite number{'' if lo is None else f' >= {lo}'}, got {x!r}"
        )
    return v
