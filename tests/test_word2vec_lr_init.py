"""Word2vec start: input vectors uniform on [-1/d, 1/d) as gensim 4, output vectors zero."""

from __future__ import annotations

import numpy as np
from scipy import stats

from negkit import Word2Vec
from negkit.word2vec.model import init_input_vectors


def test_init_is_uniform_on_plus_minus_one_over_dim():
    d = 50
    x = init_input_vectors(400, d, seed=3)
    assert x.shape == (400, d) and x.dtype == np.float32
    assert x.min() >= -1.0 / d and x.max() <= 1.0 / d
    # Kolmogorov-Smirnov against U(-1/d, 1/d) on 20k values; word2vec.c's (u - 0.5)/d fails it
    assert stats.kstest(x.ravel(), stats.uniform(loc=-1.0 / d, scale=2.0 / d).cdf).pvalue > 1e-3
    # every dimension and every word is spread alike (no constant column or row)
    assert np.all(x.std(axis=0) > 0.4 / d) and np.all(x.std(axis=1) > 0.3 / d)


def test_init_repeats_per_seed_and_differs_between_seeds():
    a = init_input_vectors(30, 8, seed=1)
    np.testing.assert_array_equal(a, init_input_vectors(30, 8, seed=1))
    assert not np.array_equal(a, init_input_vectors(30, 8, seed=2))


def test_model_starts_from_this_init():
    freq = {f"w{i}": 100 - i for i in range(60)}
    m = Word2Vec(vector_size=16, min_count=1, seed=7, workers=1).build_vocab_from_freq(freq)
    np.testing.assert_array_equal(m.wv.vectors, init_input_vectors(60, 16, seed=7))
    assert m.syn1neg.shape == (60, 16) and not m.syn1neg.any()
