"""negkit.Word2Vec: kernels against hand-computed updates, schedule, planted structure, I/O."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from negkit import Word2Vec
from negkit._rng import make_contexts
from negkit.samplers.base import per_draw_pair
from negkit.word2vec.kernels_common import (
    N_BINS,
    N_STATS,
    NEG_SCORE_BINS,
    current_alpha,
    keep_probabilities,
    subsample,
)
from negkit.word2vec.kernels_sg import sg_chunk
from negkit.word2vec.kernels_shared import sg_shared_chunk


@njit(nogil=True)
def draw_fixed(state, anchor, pos, vec, ctx):
    return state[0]


#: The skip-gram kernels draw a pair's negatives at once (``Sampler.pair_kernel``).
pair_fixed = per_draw_pair(draw_fixed)


def planted_corpus(n_sent: int = 1500, seed: int = 0) -> list[list[str]]:
    """Two topics of 8 words each; a sentence uses words of one topic only."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    return [list(rng.choice(topics[rng.integers(2)], size=10)) for _ in range(n_sent)]


def group_gap(model: Word2Vec) -> float:
    """Mean cosine within a topic minus mean cosine across topics."""
    u = model.wv.get_normed_vectors()
    idx = model.wv.key_to_index
    a = u[[idx[f"a{i}"] for i in range(8)]]
    b = u[[idx[f"b{i}"] for i in range(8)]]
    off = ~np.eye(8, dtype=bool)
    within = np.concatenate([(a @ a.T)[off], (b @ b.T)[off]]).mean()
    return float(within - (a @ b.T).mean())


SMALL = dict(vector_size=16, window=3, negative=3, min_count=1, sample=0, epochs=3, progress=False)


# ----------------------------------------------------------------- formulas
def test_keep_probability_formula_and_draws():
    counts = np.array([9000, 900, 90, 10])
    sample = 1e-3
    t = sample * counts.sum()
    expected = np.minimum((np.sqrt(counts / t) + 1) * t / counts, 1.0)
    p = keep_probabilities(counts, sample)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[-1] == 1.0 and p[0] < 0.2
    assert np.all(keep_probabilities(counts, 0) == 1.0)
    # empirical keep rate of word 0 over 200k occurrences: binomial test
    tokens = np.zeros(200_000, dtype=np.int32)
    out = np.empty_like(tokens)
    kept = subsample(tokens, 0, tokens.size, p, make_contexts(5, 1)[0], out)
    assert stats.binomtest(int(kept), tokens.size, p[0]).pvalue > 1e-3


def test_linear_lr_schedule():
    assert current_alpha(0.025, 0.0001, 0.0, 1000.0) == 0.025
    assert current_alpha(0.025, 0.0001, 500.0, 1000.0) == pytest.approx(0.025 - 0.0249 * 0.5)
    assert current_alpha(0.025, 0.0001, 2000.0, 1000.0) == 0.0001
    m = Word2Vec(**{**SMALL, "epochs": 4}, workers=1, alpha=0.05, min_alpha=0.01).fit(
        planted_corpus(200)
    )
    np.testing.assert_allclose([r["lr"] for r in m.training_log_], [0.04, 0.03, 0.02, 0.01])


# ------------------------------------------------------------------ kernels
def _tables(v: int, d: int):
    return np.zeros((v, d), np.float32), np.zeros((v, d), np.float32)


def test_saturated_negative_gets_full_gradient():
    """word2vec.c rule: a negative scored above 6 gets g = -alpha (gensim would skip it)."""
    syn0, syn1 = _tables(3, 4)
    syn0[0] = [3, 0, 0, 0]
    syn0[1] = [0, 1, 0, 0]
    syn1[2] = [3, 0, 0, 0]  # score of negative 2 for input 0: 9 > 6
    syn1[1] = [3, 0, 0, 0]  # score of positive 1 for input 0: 9 > 6 -> no gradient
    tokens = np.array([0, 1], np.int32)
    offsets = np.array([0, 2], np.int64)
    # window 1, no shrinking: pairs (input 1 -> centre 0) then (input 0 -> centre 1)
    s0, s1 = syn0.copy(), syn1.copy()
    alpha = 0.1
    st = np.zeros(N_STATS)
    hist = np.zeros(N_BINS, np.int64)
    sg_chunk(
        syn0,
        syn1,
        tokens,
        offsets,
        0,
        1,
        np.ones(3),
        1,
        1,
        False,
        alpha,
        alpha,
        0.0,
        1.0,
        pair_fixed,
        (np.int64(2),),
        make_contexts(0, 1)[0],
        st,
        hist,
        True,
        np.zeros(0, np.float32),  # no NCE shift: negative sampling
    )
    # pair 1: input 1 predicts 0; scores 0 (positive) and 0 (negative 2: syn1[2].syn0[1] = 0)
    e, n = s0[1].copy(), np.zeros(4, np.float32)
    g_pos, g_neg = (1 - 0.5) * alpha, (0 - 0.5) * alpha
    n += g_pos * s1[0]
    s1[0] += g_pos * e
    n += g_neg * s1[2]
    s1[2] += g_neg * e
    s0[1] += n
    # pair 2: input 0 predicts 1: positive score 9 -> g = 0; negative saturated -> g = -alpha
    e, n = s0[0].copy(), np.zeros(4, np.float32)
    f_neg = float(s1[2] @ e)
    assert f_neg > 6
    n += -alpha * s1[2]
    s1[2] += -alpha * e
    s0[0] += n
    # tolerance: the 2048-entry sigmoid table (|error| < 0.0015) times alpha times |x|;
    # a skipped saturated pair would be off by alpha * 3 = 0.3
    np.testing.assert_allclose(syn0, s0, atol=1e-3)
    np.testing.assert_allclose(syn1, s1, atol=1e-3)
    assert st[3] == 2 and hist.sum() == 2  # two negatives, both in the histogram


def test_shared_negative_window_is_the_matrix_update():
    rng = np.random.default_rng(1)
    v, d = 6, 5
    syn0 = rng.normal(0, 0.5, (v, d)).astype(np.float32)
    syn1 = rng.normal(0, 0.5, (v, d)).astype(np.float32)
    tokens = np.array([1, 2, 3], np.int32)  # one window around centre 2 only matters below
    offsets = np.array([0, 3], np.int64)
    s0, s1 = syn0.astype(np.float64), syn1.astype(np.float64)
    alpha = 0.05
    # reference: for each centre in order, X = inputs, Y = [centre, 5, 5] (negative=2, fixed draw)
    for i in range(3):
        ctx_ids = [tokens[j] for j in range(max(0, i - 1), min(3, i + 2)) if j != i]
        outs = [tokens[i], 5, 5]
        x, y = s0[ctx_ids], s1[outs]
        sig = 1 / (1 + np.exp(-(x @ y.T)))
        g = (np.array([1.0, 0.0, 0.0]) - sig) * alpha
        d_in, d_out = g @ y, g.T @ x
        np.add.at(s1, outs, d_out)
        np.add.at(s0, ctx_ids, d_in)
    sg_shared_chunk(syn0, syn1, tokens, offsets, 0, 1, np.ones(v), 1, 2, False, alpha, alpha,
                    0.0, 1.0,
                    pair_fixed, (np.int64(5),), make_contexts(0, 1)[0],
                    np.zeros(N_STATS), np.zeros(N_BINS, np.int64), False, False)  # fmt: skip
    # the kernel's sigmoid is a 2048-entry table: agreement to its resolution
    np.testing.assert_allclose(syn0, s0, atol=5e-4)
    np.testing.assert_allclose(syn1, s1, atol=5e-4)


# ------------------------------------------------------------- behaviour
@pytest.mark.parametrize(
    "mode",
    [dict(sg=1), dict(sg=1, shared_negatives=True), dict(sg=0), dict(sg=0, cbow_mean=0)],
    ids=["sg", "sg-shared", "cbow-mean", "cbow-sum"],
)
def test_planted_topics_are_learned(mode):
    corpus = planted_corpus()
    m = Word2Vec(**SMALL, **mode, workers=2, seed=3).fit(corpus)
    untrained = Word2Vec(**SMALL, **mode, workers=1, seed=3).build_vocab(corpus)
    assert abs(group_gap(untrained)) < 0.1  # -0.04 / 0.05 for seeds 3 / 4
    # seeded runs give 0.24-0.26 (cbow-sum); two Hogwild threads on a loaded 2-core CI
    # machine gave 0.196 once, so the bar sits between that spread and the untrained one
    assert group_gap(m) > 0.15, group_gap(m)
    # a topic word's nearest neighbours are from its own topic
    top = [w for w, _ in m.wv.most_similar("a0", topn=5)]
    assert sum(w.startswith("a") for w in top) >= 4, top


def test_seeded_single_thread_runs_repeat_exactly():
    corpus = planted_corpus(300)
    a = Word2Vec(**{**SMALL, "sample": 1e-2}, sg=1, workers=1, seed=11).fit(corpus)
    b = Word2Vec(**{**SMALL, "sample": 1e-2}, sg=1, workers=1, seed=11).fit(corpus)
    c = Word2Vec(**{**SMALL, "sample": 1e-2}, sg=1, workers=1, seed=12).fit(corpus)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_every_sampler_trains():
    from negkit import samplers

    corpus = planted_corpus(300)
    for name in samplers.available():
        if "lengths" in samplers.get_class(name).fit_extras:
            continue  # span negatives for NER: anchors are sentences, not words
        if name in ("exposure", "exposure_subsample"):  # a corpus has no impressions
            with pytest.raises(ValueError, match=f"sampler '{name}' draws from impressions"):
                Word2Vec(**SMALL, sampler=name).fit(corpus)
            continue
        # band re-ranks the learning tables (without refresh_every it is refused: see
        # test_contrastive_samplers)
        smp = samplers.get(name, refresh_every=2000) if name == "band" else name
        m = Word2Vec(**{**SMALL, "epochs": 1}, sg=1, workers=2, sampler=smp).fit(corpus)
        rec = m.training_log_[-1]
        assert rec["n_negatives"] > 0 and np.isfinite(rec["loss"]), name
        assert np.all(np.isfinite(m.wv.vectors)), name


def test_epoch_records_and_callbacks(caplog):
    seen = []
    m = Word2Vec(**SMALL, sg=1, workers=2, callbacks=[lambda model, rec: seen.append(rec)])
    with caplog.at_level("INFO", logger="negkit.word2vec"):
        m.fit(planted_corpus(300))
    assert "epoch 3/3: loss" in caplog.text and "raw words/s" in caplog.text
    assert seen == m.training_log_ and len(seen) == 3
    rec = seen[0]
    for key in ("epoch", "seconds", "words_per_s", "effective_words", "loss", "lr",
                "neg_sigmoid_mean",
                "neg_score_hist", "neg_score_bins", "n_negatives", "sampler_seconds"):  # fmt: skip
        assert key in rec, key
    assert rec["effective_words"] == 3000  # sample=0 keeps every word
    assert sum(rec["neg_score_hist"]) == rec["n_negatives"]
    assert rec["neg_score_bins"] == list(NEG_SCORE_BINS)
    # negatives equal to the positive are skipped, so at most negative x pairs
    assert 0.5 * 3 * rec["pairs"] < rec["n_negatives"] <= 3 * rec["pairs"]
    assert 0 < rec["neg_sigmoid_mean"] < 1 and rec["sampler_seconds"] >= 0
    assert seen[-1]["loss"] < seen[0]["loss"]
    quiet = Word2Vec(**SMALL, sg=1, workers=1, compute_loss=False)
    quiet.fit(planted_corpus(100))
    assert all(np.isnan(r["loss"]) for r in quiet.training_log_)  # not measured, not 0


def test_train_arrays_matches_fit():
    corpus = planted_corpus(300)
    a = Word2Vec(**SMALL, sg=1, workers=1, seed=5).fit(corpus)
    b = Word2Vec(**SMALL, sg=1, workers=1, seed=5)
    b.build_vocab_from_freq(dict(zip(a.wv.index_to_key, a.vocab_.counts.tolist())))
    idx = b.wv.key_to_index
    tokens = np.array([idx[w] for s in corpus for w in s], np.int32)
    offsets = np.arange(0, tokens.size + 1, 10, dtype=np.int64)
    half = offsets.size // 2  # two pieces, re-iterated every epoch
    pieces = [(tokens[: offsets[half]], offsets[: half + 1]),
              (tokens[offsets[half]:], offsets[half:] - offsets[half])]  # fmt: skip
    b.train_arrays(pieces)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        b.train_arrays([(np.array([0, 99], np.int32), np.array([0, 2]))])


def test_save_load_resume(tmp_path):
    corpus = planted_corpus(300)
    full = Word2Vec(**{**SMALL, "sample": 1e-2}, sg=1, workers=1, seed=9).fit(corpus)

    class Stop(Exception):
        pass

    def stop_after_first(model, rec):
        model.save(tmp_path / "ckpt.npz")
        raise Stop

    part = Word2Vec(
        **{**SMALL, "sample": 1e-2}, sg=1, workers=1, seed=9, callbacks=[stop_after_first]
    )
    with pytest.raises(Stop):
        part.fit(corpus)
    resumed = Word2Vec.load(tmp_path / "ckpt.npz")
    assert resumed.epochs_trained_ == 1 and len(resumed.training_log_) == 1
    resumed.resume(corpus)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, full.syn1neg)
    assert [r["lr"] for r in resumed.training_log_] == [r["lr"] for r in full.training_log_]
    with pytest.raises(RuntimeError, match="nothing to resume"):
        resumed.resume(corpus)
    resumed.train(corpus, epochs=1)  # further training works
    assert resumed.epochs_trained_ == 4


def test_bad_input(tmp_path, caplog):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        Word2Vec(**SMALL).fit(empty)
    with pytest.raises(ValueError, match="min_count=5"):
        Word2Vec(**{**SMALL, "min_count": 5}).fit([["a", "b"], ["c"]])
    with pytest.raises(RuntimeError, match="vocabulary first"):
        Word2Vec(**SMALL).train([["a"]])
    with pytest.raises(ValueError, match="sg=1"):
        Word2Vec(sg=0, shared_negatives=True)
    with pytest.raises(ValueError, match="vector_size"):
        Word2Vec(vector_size=0)
    m = Word2Vec(**SMALL, workers=1).fit(planted_corpus(100))
    with pytest.raises(KeyError, match="not in vocabulary"):
        m.wv["zebra"]
    with pytest.raises(KeyError, match="not in vocabulary"):
        m.wv.most_similar("zebra")
    # one very long line: trained whole, nothing truncated
    long_line = tmp_path / "long.txt"
    long_line.write_text(" ".join(["x", "y", "z"] * 30_000) + "\n")
    m = Word2Vec(**{**SMALL, "epochs": 1}, workers=2).fit(long_line)
    assert m.training_log_[0]["raw_words"] == 90_000 == m.training_log_[0]["effective_words"]


def test_gensim_style_calls(tmp_path):
    import gzip

    corpus = planted_corpus(200)
    m = Word2Vec(sentences=corpus, **SMALL, workers=1, seed=2)  # trains at once, as gensim
    assert m.epochs_trained_ == 3 and len(m.wv) == 16
    g = Word2Vec(**SMALL, workers=1, seed=2)
    g.build_vocab(corpus_iterable=corpus)
    g.train(corpus_iterable=corpus, total_examples=len(corpus), epochs=3, report_delay=1.0)
    np.testing.assert_array_equal(g.wv.vectors, m.wv.vectors)
    with pytest.raises(TypeError, match="callbacks"):
        g.train(corpus, callbacks=[print])
    p = tmp_path / "c.txt.gz"
    with gzip.open(p, "wt") as f:
        f.write("\n".join(" ".join(s) for s in corpus) + "\n")
    f_model = Word2Vec(corpus_file=p, **SMALL, workers=1, seed=2)
    np.testing.assert_array_equal(f_model.wv.vectors, m.wv.vectors)  # same tokens, same run
