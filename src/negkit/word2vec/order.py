"""The order in which an epoch's chunks are trained, and the learning-rate progress of each.

SGD assumes its examples come in random order; a corpus stored by source (the shared one:
Wikipedia, then Brown, then movie reviews, ..., then inaugural addresses) read front to back
ends every epoch, and the whole run at its lowest learning rates, on the sources stored last.
Bottou (2012, "Stochastic Gradient Descent Tricks") advises shuffling the examples for this
reason.  With ``shuffle`` the chunks (whole sentences, about ``chunk_words`` raw words, the
unit a worker takes) come in a fresh random order every epoch; the sentences inside a chunk
keep theirs.  word2vec.c and gensim's corpus_file mode mix sources part-way: each of their
``T`` threads reads its own ``1/T`` of the file, side by side.

The order is a function of ``(seed, epoch, piece)`` only (its own generator, not the
workers' random contexts), so seeded single-threaded runs and ``resume`` repeat exactly.
"""

from __future__ import annotations

import numpy as np


def chunk_order(n_chunks: int, shuffle: bool, seed: int, epoch: int, piece: int) -> np.ndarray:
    """Indices of the ``n_chunks`` chunks in training order: shuffled, or ``0..n-1``."""
    if not shuffle or n_chunks <= 1:
        return np.arange(n_chunks, dtype=np.int64)
    rng = np.random.default_rng([seed, epoch, piece, 0x5F3759DF])
    return rng.permutation(n_chunks).astype(np.int64)


def words_before(sizes: np.ndarray, jobs: np.ndarray) -> np.ndarray:
    """Raw words of the chunks trained before each job of ``jobs`` (chunk ``sizes`` in words).

    The learning rate of a job decays with this count (word2vec's linear schedule over the
    words trained so far, whatever order they come in).
    """
    in_order = np.asarray(sizes, dtype=np.int64)[jobs]
    return np.concatenate([[0], np.cumsum(in_order)[:-1]]).astype(np.int64)
