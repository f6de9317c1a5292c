"""negkit.Word2Vec against gensim 4 where it promises gensim's behaviour (vocabulary, subsampling,
gensim's attributes and arguments)."""

from __future__ import annotations

import numpy as np
import pytest

from negkit import Word2Vec
from negkit.word2vec.kernels_common import keep_probabilities

QUIET = dict(vector_size=4, min_count=1, workers=1, progress=False)
SKEWED = [["a"] * 50 + ["b"] * 20 + ["c"] * 5 + ["d"]]


def test_sample_of_one_or_more_is_a_count_threshold():
    """gensim: ``sample >= 1`` downsamples words above about ``sample`` occurrences, with
    ``t = int(sample * (3 + sqrt 5) / 2)``; read as a fraction of 76 tokens it kept them all."""
    counts = np.array([50, 20, 5, 1])
    t = 7  # int(3 * 2.618...)
    expected = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    np.testing.assert_allclose(keep_probabilities(counts, 3.0), expected, rtol=1e-12)
    assert keep_probabilities(counts, 3.0)[0] == pytest.approx(0.5142, abs=1e-4)
    gensim = pytest.importorskip("gensim.models")
    for sample in (1e-2, 1.0, 3.0, 12.0):
        g = gensim.Word2Vec(vector_size=4, min_count=1, sample=sample, workers=1)
        g.build_vocab(SKEWED)
        ours = Word2Vec(**QUIET, sample=sample).build_vocab(SKEWED)
        assert ours.wv.index_to_key == g.wv.index_to_key
        theirs = [g.wv.get_vecattr(k, "sample_int") / 2**32 for k in g.wv.index_to_key]
        np.testing.assert_allclose(ours.keep_prob_, theirs, atol=1e-6)


def test_hs_is_refused_and_hs_0_accepted():
    with pytest.raises(ValueError, match=r"hs=1 \(hierarchical softmax\) is not implemented"):
        Word2Vec(**QUIET, hs=1)
    assert Word2Vec(**QUIET, hs=0, negative=5).hs == 0


def test_corpus_count_and_total_words_for_gensims_train_call():
    corpus = [["a", "b", "c"], ["a", "x"], ["b", "a", "c", "a"]]  # x: below min_count
    m = Word2Vec(vector_size=4, min_count=2, workers=1, progress=False, epochs=1)
    m.build_vocab(corpus)
    assert (m.corpus_count, m.corpus_total_words) == (3, 9)  # x counted, as gensim
    # gensim's usual call
    m.train(corpus, total_examples=m.corpus_count, total_words=m.corpus_total_words, epochs=1)
    assert m.epochs_trained_ == 1
    gensim = pytest.importorskip("gensim.models")
    g = gensim.Word2Vec(vector_size=4, min_count=2, workers=1)
    g.build_vocab(corpus)
    assert (m.corpus_count, m.corpus_total_words) == (g.corpus_count, g.corpus_total_words)
    f = Word2Vec(**QUIET).build_vocab_from_freq({"a": 3, "b": 2})
    assert (f.corpus_count, f.corpus_total_words) == (0, 5)
    f = Word2Vec(**QUIET).build_vocab_from_freq({"a": 3, "b": 2}, corpus_count=7)
    g = gensim.Word2Vec(vector_size=4, min_count=1, workers=1)
    g.build_vocab_from_freq({"a": 3, "b": 2}, corpus_count=7)
    assert f.corpus_count == g.corpus_count == 7
    with pytest.raises(NotImplementedError, match="update=True"):
        f.build_vocab_from_freq({"a": 3}, update=True)


@pytest.mark.parametrize("ns_exponent", [0.75, 0.0, -0.5])
def test_noise_law_is_gensims_cum_table(ns_exponent):
    """q(w) ∝ count(w) ** ns_exponent, negative exponents too (gensim: rare words drawn more;
    the unigram sampler refused them)."""
    corpus = [["a"] * 9 + ["b"] * 4 + ["c"]]
    m = Word2Vec(**QUIET, ns_exponent=ns_exponent).build_vocab(corpus)
    q = np.asarray(m.sampler_.distribution())
    counts = np.array([9.0, 4.0, 1.0])
    np.testing.assert_allclose(q, counts**ns_exponent / (counts**ns_exponent).sum(), rtol=1e-12)
    gensim = pytest.importorskip("gensim.models")
    g = gensim.Word2Vec(vector_size=4, min_count=1, workers=1, ns_exponent=ns_exponent)
    g.build_vocab(corpus)
    cum = g.cum_table.astype(np.float64)
    np.testing.assert_allclose(q, np.diff(cum, prepend=0.0) / cum[-1], atol=1e-8)


def test_train_start_and_end_alpha_and_epochs_as_gensim():
    """gensim's train(start_alpha=, end_alpha=, epochs=) sets the model's alpha, min_alpha and
    epochs; start_alpha / end_alpha were refused as unknown arguments."""
    corpus = [["a", "b", "c", "d"], ["b", "c", "a"]] * 20
    m = Word2Vec(**QUIET, sample=0, epochs=5).build_vocab(corpus)
    m.train(corpus, total_examples=m.corpus_count, epochs=2, start_alpha=0.05, end_alpha=0.01)
    assert (m.alpha, m.min_alpha, m.epochs) == (0.05, 0.01, 2)
    # the epoch records' lr: linear from 0.05 to 0.01 over the 2 epochs
    assert [r["lr"] for r in m.training_log_] == pytest.approx([0.03, 0.01])
    gensim = pytest.importorskip("gensim.models")
    g = gensim.Word2Vec(vector_size=4, min_count=1, workers=1, sample=0, epochs=5)
    g.build_vocab(corpus)
    g.train(corpus, total_examples=g.corpus_count, epochs=2, start_alpha=0.05, end_alpha=0.01)
    assert (g.alpha, g.min_alpha, g.epochs) == (m.alpha, m.min_alpha, m.epochs)
    with pytest.raises(ValueError, match="start_alpha must be a finite number >= 0"):
        m.train(corpus, start_alpha=-1.0)


def test_min_count_0_keeps_every_word_as_gensim(tmp_path):
    corpus = [["a", "b", "a"], ["c"]]
    m = Word2Vec(**{**QUIET, "min_count": 0}).build_vocab(corpus)
    assert m.wv.index_to_key == ["a", "b", "c"]
    m.save(tmp_path / "m.npz")
    assert Word2Vec.load(tmp_path / "m.npz").wv.index_to_key == ["a", "b", "c"]
    gensim = pytest.importorskip("gensim.models")
    g = gensim.Word2Vec(vector_size=4, min_count=0, workers=1)
    g.build_vocab(corpus)
    assert sorted(g.wv.index_to_key) == sorted(m.wv.index_to_key)
    with pytest.raises(ValueError, match="min_count must be an integer >= 0"):
        Word2Vec(**{**QUIET, "min_count": -1})


def test_gensim_callbacks_and_latest_training_loss():
    """gensim's CallbackAny2Vec objects get their hooks with the model (they were called as
    fn(model, record) and failed: not callable); get_latest_training_loss sums this call's
    epoch losses, as gensim's running_training_loss."""
    cb_mod = pytest.importorskip("gensim.models.callbacks")

    class Recorder(cb_mod.CallbackAny2Vec):
        def __init__(self):
            self.calls = []

        def on_train_begin(self, model):
            self.calls.append(("train_begin", model.epochs_trained_))

        def on_epoch_begin(self, model):
            self.calls.append(("epoch_begin", model.epochs_trained_))

        def on_epoch_end(self, model):
            self.calls.append(("epoch_end", model.get_latest_training_loss()))

        def on_train_end(self, model):
            self.calls.append(("train_end", model.epochs_trained_))

    rec = Recorder()
    plain = []
    corpus = [["a", "b", "c", "d"], ["b", "c", "a"]] * 20
    m = Word2Vec(**QUIET, sample=0, epochs=2, callbacks=[rec, lambda mo, r: plain.append(r)])
    m.fit(corpus)
    losses = [r["loss_sum"] for r in m.training_log_]
    assert all(x > 0 for x in losses) and len(plain) == 2
    assert [c[0] for c in rec.calls] == [
        "train_begin", "epoch_begin", "epoch_end", "epoch_begin", "epoch_end", "train_end"
    ]  # fmt: skip
    assert rec.calls[2][1] == pytest.approx(losses[0])
    assert rec.calls[4][1] == pytest.approx(losses[0] + losses[1])
    assert (rec.calls[0][1], rec.calls[5][1]) == (0, 2)
    m.train(corpus, epochs=1)  # a new train call starts from 0, as gensim's
    assert m.get_latest_training_loss() == pytest.approx(m.training_log_[-1]["loss_sum"])
    m.compute_loss = False
    m.train(corpus, epochs=1)
    assert m.get_latest_training_loss() == 0.0


def test_build_vocab_takes_gensims_bookkeeping_arguments():
    corpus = [["a", "b", "a"], ["c", "a"]]
    m = Word2Vec(**QUIET).build_vocab(corpus, progress_per=1, keep_raw_vocab=True)
    assert m.wv.index_to_key == ["a", "b", "c"]
    with pytest.raises(NotImplementedError, match="trim_rule is not supported"):
        Word2Vec(**QUIET).build_vocab(corpus, trim_rule=lambda word, count, min_count: 1)


def test_gensim_options_without_an_equivalent_are_refused_by_name():
    Word2Vec(**QUIET, max_final_vocab=None, sorted_vocab=1, null_word=0, trim_rule=None)
    for kw, match in [
        ({"max_final_vocab": 100}, "max_final_vocab is not supported"),
        ({"sorted_vocab": 0}, "sorted_vocab=0 is not supported"),
        ({"null_word": 1}, "null_word=1"),
        ({"trim_rule": print}, "trim_rule is not supported"),
    ]:
        with pytest.raises(NotImplementedError, match=match):
            Word2Vec(**QUIET, **kw)


def test_sample_none_is_no_subsampling_as_gensim():
    m = Word2Vec(**QUIET, sample=None).build_vocab(SKEWED)
    assert m.sample == 0.0 and np.all(m.keep_prob_ == 1.0)
    m.sample = None  # set between build_vocab and train, as gensim users do
    m.train(SKEWED, epochs=1)
    assert m.sample == 0.0
