"""Multi-step user workflows, in the order users run them: nothing of one call may leak into
the next (a sampler object shared by two models, a model fitted twice, a checkpoint resumed)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _recording import RecordingSampler
from scipy import stats

import negkit.samplers as ns
from negkit import Word2Vec

SMALL = dict(vector_size=8, window=2, negative=3, min_count=1, sample=0, epochs=1, workers=1,
             seed=1, progress=False)  # fmt: skip


def _chi2_p(draws: np.ndarray, law: np.ndarray) -> float:
    obs = np.bincount(draws.reshape(-1), minlength=law.size)
    if obs.size > law.size:  # a draw outside the law's support
        return 0.0
    return float(stats.chisquare(obs, law * obs.sum()).pvalue)


def test_one_sampler_object_for_two_word2vec_models_keeps_each_models_law():
    """A Sampler object passed to two models: fitting the second (another vocabulary) must not
    refit the first model's sampler, which must still draw unigram^0.75 over its own words."""
    smp = ns.get("unigram", alpha=0.75, seed=0)
    first = [["a"] * 8 + ["b"] * 4 + ["c"] * 2 + ["d", "e", "f"]] * 20
    second = [["x", "y", "y"]] * 20
    m1 = Word2Vec(**SMALL, sg=1, sampler=smp)
    m1.build_vocab(first)
    m2 = Word2Vec(**SMALL, sg=1, sampler=smp)
    m2.build_vocab(second)
    assert m1.sampler_.n_items_ == len(m1.wv) == 6 and m2.sampler_.n_items_ == 2
    law = m1.vocab_.counts.astype(float) ** 0.75
    draws = m1.sampler_.sample(np.zeros(20_000, dtype=np.int64), 1)
    assert _chi2_p(draws, law / law.sum()) > 1e-4
    m1.train(first)  # trains on its own vocabulary's noise
    assert m1.training_log_[-1]["n_negatives"] > 0


def test_one_score_aware_sampler_object_scores_each_models_own_tables():
    smp = ns.get("adaptive", refresh_every=1000)
    corpus = [["a", "b", "c", "d"] * 3] * 30
    m1 = Word2Vec(**SMALL, sg=1, sampler=smp)
    m1.build_vocab(corpus)
    m2 = Word2Vec(**SMALL, sg=1, sampler=smp)
    m2.build_vocab(corpus)
    assert m1.sampler_.output_ is m1.syn1neg and m1.sampler_.input_ is m1.wv.vectors
    assert m2.sampler_.output_ is m2.syn1neg


def test_one_sampler_object_for_two_line_models_keeps_each_graphs_law():
    from negkit.graph.line import LINE

    smp = ns.get("degree", alpha=1.0, seed=0)
    star = sp.csr_matrix(([1.0] * 6, ([0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0])), shape=(4, 4))
    pair = sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), shape=(2, 2))
    g1 = LINE(4, order=2, epochs=1, sampler=smp, workers=1, seed=0).fit(star)
    LINE(4, order=2, epochs=1, sampler=smp, workers=1, seed=0).fit(pair)
    assert g1.sampler_.n_items_ == 4
    draws = g1.sampler_.sample(np.zeros(20_000, dtype=np.int64), 1)
    assert _chi2_p(draws, np.array([3.0, 1, 1, 1]) / 6) > 1e-4  # degree^1 of the star


def _log(n_users: int, n_items: int, nnz: int = 300, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    r = sp.csr_matrix(
        (np.ones(nnz), (rng.integers(0, n_users, nnz), rng.integers(0, n_items, nnz))),
        shape=(n_users, n_items),
    )
    r.data[:] = 1.0
    return r


def test_bprmf_refuses_a_sampler_fitted_on_another_catalogue():
    """A sampler fitted on a 20-item log, then used on a 40-item one: it never drew items
    20..39 (the old code trained on silently; one fitted on more items read past the table)."""
    from negkit.rec.mf_bpr import BPRMF

    old, new = _log(30, 20), _log(30, 40)
    smp = ns.get("uniform", exclude_positives=True, seed=0).fit(n_items=20, positives=old)
    with pytest.raises(ValueError, match="fitted on 20 items, the training matrix has 40"):
        BPRMF(dim=4, epochs=1, threads=1).fit(new, smp)
    more_users = sp.vstack([new, new[:5]]).tocsr()
    smp.fit(n_items=40, positives=new)  # 30 users: the 5 new ones would keep their positives
    with pytest.raises(ValueError, match="positives of 30 users, the training matrix has 35"):
        BPRMF(dim=4, epochs=1, threads=1).fit(more_users, smp)


def test_bprmf_refuses_a_score_aware_sampler_on_tables_that_fit_replaces():
    """init(), a DNS sampler on the model's tables, then fit() on a log with more users: fit
    re-initialises the tables, and the old code let DNS score the old, frozen item table."""
    from negkit.rec.mf_bpr import BPRMF

    train = _log(30, 40)
    mf = BPRMF(dim=4, epochs=1, threads=1, seed=0).init(30, 40)
    grown = sp.vstack([train, train[:5]]).tocsr()
    dns = ns.get("dns", exclude_positives=True, seed=0)
    dns.fit(n_items=40, positives=grown, output=mf.item_table_, input=mf.user_table_)
    with pytest.raises(ValueError, match="another output table than this model's live"):
        mf.fit(grown, dns)
    other = BPRMF(dim=4, epochs=1, threads=1, seed=1).init(35, 40)  # another model's tables
    dns.fit(n_items=40, positives=grown, output=other.item_table_, input=other.user_table_)
    with pytest.raises(ValueError, match="another output table"):
        BPRMF(dim=4, epochs=1, threads=1, seed=0).init(35, 40).fit(grown, dns)
    # the documented order: init, the sampler on the live tables, fit; a second fit goes on
    mf = BPRMF(dim=4, epochs=3, threads=1, seed=0).init(35, 40)
    dns.fit(n_items=40, positives=grown, output=mf.item_table_, input=mf.user_table_)
    mf.fit(grown, dns)
    tables, after_first = mf.item_table_, mf.item_table_.copy()
    mf.fit(grown, dns)  # the same tables, trained on (DNS still scores them)
    assert mf.item_table_ is tables and not np.array_equal(tables, after_first)


@pytest.mark.parametrize("name", ["srns", "mcns"])
def test_word2vec_resume_goes_on_with_the_samplers_memory(tmp_path, name):
    """fit, stopped after epoch 1 (checkpoint), load, resume: the same tables as the straight
    run.  SRNS's memory and MCNS's chains are what the draws so far built; the old checkpoint
    left them out, so the resumed run drew from emptied memories and ended elsewhere."""
    rng = np.random.default_rng(0)
    corpus = [list(rng.choice(list("abcdefgh"), 8)) for _ in range(150)]
    kw = dict(SMALL, epochs=3, sg=1, seed=3, chunk_words=400, sampler=name)
    straight = Word2Vec(**kw).fit(corpus)

    class Stop(Exception):
        pass

    def stop(model, rec):
        model.save(tmp_path / "w2v.npz")
        raise Stop

    with pytest.raises(Stop):
        Word2Vec(**kw, callbacks=[stop]).fit(corpus)
    resumed = Word2Vec.load(tmp_path / "w2v.npz").resume(corpus)
    np.testing.assert_array_equal(resumed.wv.vectors, straight.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, straight.syn1neg)


class _RefreshFails(ns.UniformSampler):
    def maybe_refresh(self, ctxs) -> bool:  # called by a worker thread after each chunk
        raise RuntimeError("the refresh failed")


def test_an_error_in_a_training_thread_stops_train():
    """workers=2: a sampler whose refresh raises in a worker thread.  The old engine printed
    the thread's traceback and went on: fit returned a model trained on a few chunks, its
    epochs counted as done."""
    corpus = [["a", "b", "c", "d"] * 4] * 100
    model = Word2Vec(**dict(SMALL, workers=2, chunk_words=50), sg=1, sampler=_RefreshFails())
    with pytest.raises(RuntimeError, match="the refresh failed"):
        model.fit(corpus)
    assert model.epochs_trained_ == 0


def test_workers_set_between_build_vocab_and_train_are_honoured():
    """gensim style: build_vocab, then ``model.workers = 3``, then train.  The old engine had
    made one random context per worker at build_vocab: threads 1 and 2 found none and died,
    and thread 0 trained alone."""
    from negkit._rng import CTX_RNG, make_contexts

    corpus = [["a", "b", "c", "d", "e"] * 4] * 200
    model = Word2Vec(**dict(SMALL, workers=1, chunk_words=40), sg=1)
    model.build_vocab(corpus)
    model.workers = 3
    model.train(corpus)
    # a context for each of the 3 threads (a thread without one would now raise in train);
    # thread 0 kept its own, advanced by the training
    assert model.ctxs_.shape[0] == 3
    assert model.ctxs_[0, CTX_RNG] != make_contexts(SMALL["seed"], 1)[0, CTX_RNG]
    model.workers = 0
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        model.train(corpus)


def test_settings_changed_between_build_vocab_and_train_take_effect():
    """build_vocab, then ``model.sampler = ...`` / ``ns_exponent`` / ``sample``, then train:
    the old engine trained with the sampler and keep probabilities of build_vocab."""
    corpus = [["a"] * 30 + ["b", "c", "d", "e"]] * 50
    model = Word2Vec(**dict(SMALL, sample=0), sg=1)
    model.build_vocab(corpus)
    model.sampler = "uniform"
    model.sample = 1e-3  # "a" is 88% of the tokens: most of its occurrences are dropped
    model.train(corpus)
    rec = model.training_log_[-1]
    assert rec["sampler"] == "uniform" and model.sampler_.name == "uniform"
    assert rec["effective_words"] < 0.5 * rec["raw_words"]
    model.sampler, model.ns_exponent = "unigram", 0.0  # unigram^0: uniform over the words
    model.train(corpus)
    draws = model.sampler_.sample(np.zeros(20_000, dtype=np.int64), 1)
    assert model.sampler_.alpha == 0.0 and _chi2_p(draws, np.full(5, 0.2)) > 1e-4


def test_train_again_on_a_list_grown_since_build_vocab_reads_the_new_sentences():
    """build_vocab(sents); train(sents); sents.extend(more); train(sents): the old engine
    recognised the list by identity and trained the second time on the encoding of the first
    (the new sentences silently left out)."""
    sents = [["a", "b", "c", "d"]] * 50
    model = Word2Vec(**SMALL)
    model.build_vocab(sents)
    model.train(sents)
    assert model.training_log_[-1]["raw_words"] == 200
    sents.extend([["d", "c", "b", "a", "zz"]] * 50)  # "zz" is out of the vocabulary
    model.train(sents)
    assert model.training_log_[-1]["raw_words"] == 400
    del sents[:50]
    model.train(sents)
    assert model.training_log_[-1]["raw_words"] == 200


def test_build_vocab_update_is_refused_with_what_to_do():
    model = Word2Vec(**SMALL).fit([["a", "b", "c"]] * 10)
    vectors = model.wv.vectors.copy()
    with pytest.raises(NotImplementedError, match=r"update=True\) is not supported"):
        model.build_vocab([["d", "e"]] * 10, update=True)
    np.testing.assert_array_equal(model.wv.vectors, vectors)  # the trained model is untouched


@pytest.mark.parametrize("engine", ["numba", "torch"])
def test_rec_train_metrics_record_the_sampler_settings_that_ran(tmp_path, engine):
    """``negkit rec train --sampler adaptive`` runs the adaptive sampler with the recommender
    default λ = 0.2 |I|, positives excluded and the run's seed; metrics.json said only
    ``"sampler": "adaptive"`` and ``"sampler_params": {}``, which reads as the sampler's own
    defaults (λ = 0.01 |I|)."""
    import json

    from negkit.cli import main
    from negkit.rec.synthetic import planted_interactions

    if engine == "torch":
        pytest.importorskip("torch")
    data = planted_interactions(n_users=40, n_items=30, n_groups=2, per_user=6, seed=1)
    folder = tmp_path / "tiny"
    folder.mkdir()
    for split in ("train", "test"):
        m = getattr(data, split)
        rows = [[u, *m.indices[m.indptr[u] : m.indptr[u + 1]]] for u in range(m.shape[0])]
        (folder / f"{split}.txt").write_text(
            "".join(" ".join(map(str, r)) + "\n" for r in rows if len(r) > 1)
        )
    out = tmp_path / "out"
    code = main(["rec", "train", "--data", str(folder), "--sampler", "adaptive", "--engine",
                 engine, "--dim", "4", "--epochs", "1", "--threads", "1", "--seed", "7",
                 "--no-progress", "--out", str(out)])  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    got = metrics["sampler_settings"]
    assert got["lam_fraction"] == 0.2 and got["lam"] is None
    assert got["exclude_positives"] is True and got["seed"] == 7


def test_torch_trainer_refuses_a_sampler_fitted_on_another_catalogue():
    """The tensor engine's trainer, given a sampler fitted on 20 of the 40 items: it never
    drew items 20..39, and the old trainer trained on with it."""
    pytest.importorskip("torch")
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer

    train = _log(30, 40)
    smp = ns.get("uniform", exclude_positives=True, seed=0).fit(n_items=20, positives=train[:, :20])
    with pytest.raises(ValueError, match="fitted on 20 items, the training matrix has 40"):
        TorchTrainer(MF(30, 40, 4), smp, train)
    smp.fit(n_items=40, positives=train[:25])
    with pytest.raises(ValueError, match="positives of 25 users, the training matrix has 30"):
        TorchTrainer(MF(30, 40, 4), smp, train)
    smp.fit(n_items=40, positives=train)
    TorchTrainer(MF(30, 40, 4), smp, train)  # fitted on this data: accepted
    in_batch = ns.InBatchSampler(20, positives=train[:, :20])  # built for another catalogue
    with pytest.raises(ValueError, match="fitted on 20 items, the training matrix has 40"):
        TorchTrainer(MF(30, 40, 4), in_batch, train, mode="in_batch")
    TorchTrainer(MF(30, 40, 4), ns.InBatchSampler(40, positives=train), train, mode="in_batch")


def test_a_loaded_model_given_a_sampler_name_follows_ns_exponent_as_before_saving(tmp_path):
    """sampler="unigram" takes alpha=ns_exponent.  The old load rebuilt it as an object fixed
    at the saved alpha, so ``ns_exponent`` set on the loaded model was ignored."""
    model = Word2Vec(**SMALL).fit([["a"] * 9 + ["b", "c"]] * 10)
    model.save(tmp_path / "m.npz")
    loaded = Word2Vec.load(tmp_path / "m.npz")
    assert loaded.sampler == "unigram" and loaded.sampler_.alpha == 0.75
    loaded.ns_exponent = 0.0
    loaded.train([["a"] * 9 + ["b", "c"]] * 10)
    assert loaded.sampler_.alpha == 0.0
    draws = loaded.sampler_.sample(np.zeros(20_000, dtype=np.int64), 1)
    assert _chi2_p(draws, np.full(3, 1 / 3)) > 1e-4


@pytest.mark.parametrize("name", ["srns", "mcns"])
def test_the_epoch_records_sampler_timing_leaves_the_samplers_state_alone(name):
    """After each epoch the engine times draws for ``sampler_seconds``.  Those draws went
    through the live sampler: SRNS counted them as visits (its anchors' warm-up used up by
    the timing) and replaced memory, MCNS moved its chains.  A run must end with the state its
    training draws left: the same as a run whose timing is skipped."""
    rng = np.random.default_rng(0)
    corpus = [list(rng.choice(list("abcdefgh"), 8)) for _ in range(100)]
    kw = dict(SMALL, epochs=2, sg=1, sampler=name)
    timed = Word2Vec(**kw).fit(corpus)

    class Untimed(Word2Vec):
        def _sampler_seconds(self, sample, n_neg, e):
            return 0.0

    untimed = Untimed(**kw).fit(corpus)
    state = ("_visits", "_mem") if name == "srns" else ("_chains",)
    for key in state:
        np.testing.assert_array_equal(getattr(timed.sampler_, key), getattr(untimed.sampler_, key))
    np.testing.assert_array_equal(timed.wv.vectors, untimed.wv.vectors)
    if name == "srns":  # one visit per training draw: negative draws per pair
        assert timed.sampler_._visits.sum() == sum(r["pairs"] for r in timed.training_log_) * 3


@pytest.mark.parametrize("name", ["srns", "mcns"])
def test_the_rec_studys_probe_leaves_the_samplers_state_alone(name):
    """``negkit compare rec`` probes the run's sampler after every epoch (false negatives,
    scores).  The probe's draws went through the live sampler: SRNS counted them as visits and
    replaced memory, MCNS moved its chains, so the probe changed the next epoch's draws."""
    from negkit.rec.mf_bpr import BPRMF
    from negkit.study.rec_family import RecFamily

    train = _log(30, 40)
    mf = BPRMF(dim=4, seed=0).init(30, 40)
    extra = {"n_anchors": 30}
    smp = ns.get(name, exclude_positives=True, seed=0).fit(
        n_items=40, positives=train, output=mf.item_table_, input=mf.user_table_, **extra
    )
    smp.sample(np.arange(30), 2)  # some state to keep
    state = ("_visits", "_mem", "_mean", "_var") if name == "srns" else ("_chains",)
    before = {k: getattr(smp, k).copy() for k in state}
    out = RecFamily(None, k_probe=5).probe(smp, np.arange(30), _log(30, 40, seed=1))
    assert out["n_negatives"] == 150
    for k in state:
        np.testing.assert_array_equal(getattr(smp, k), before[k])


def test_train_compute_loss_as_gensim_sets_it():
    """gensim style: ``Word2Vec(compute_loss=False)``, then ``train(..., compute_loss=True)``
    to see the loss; the old train accepted the keyword and dropped it (losses stayed NaN)."""
    corpus = [["a", "b", "c", "d"]] * 30
    model = Word2Vec(**dict(SMALL, compute_loss=False))
    model.build_vocab(corpus)
    model.train(corpus, total_examples=30, epochs=1, compute_loss=True)
    assert model.compute_loss and np.isfinite(model.training_log_[-1]["loss"])
    model.train(corpus, epochs=1, compute_loss=False)
    assert np.isnan(model.training_log_[-1]["loss"])


def test_bprmf_fit_again_draws_on_instead_of_repeating_the_first_fits_negatives():
    """fit, then fit again (training goes on from the tables): the old second fit restarted
    the seed's random streams, so it shuffled the pairs and drew the negatives of the first
    fit over again, the same (user, item, negative) triples in the same order."""
    from negkit.rec.mf_bpr import BPRMF

    train = _log(30, 40)
    inner = ns.get("uniform", exclude_positives=True).fit(n_items=40, positives=train)
    mf = BPRMF(dim=4, epochs=1, threads=1, seed=0)
    first, second = RecordingSampler(inner, train.nnz), RecordingSampler(inner, train.nnz)
    mf.fit(train, first)
    mf.fit(train, second)
    assert first.count[0] == second.count[0] == train.nnz
    assert np.mean(first.negs == second.negs) < 0.2  # independent draws: about 1/39 agree
    again = RecordingSampler(inner, train.nnz)  # a new model of the same seed repeats the first fit
    BPRMF(dim=4, epochs=1, threads=1, seed=0).fit(train, again)
    np.testing.assert_array_equal(again.negs, first.negs)


@pytest.mark.parametrize("mode", [dict(sg=0), dict(sg=1, shared_negatives=True)])
def test_adaptive_snapshot_dims_are_refused_where_the_scored_vector_is_a_mean(mode):
    """dims="snapshot" draws p(f | v) from the anchor's own input row; CBOW and the shared
    negatives score with a mean of context rows (the anchor is the centre word), so the draws
    followed another law than the scored vector's.  The old engine trained with it silently
    (graph walks train in the shared mode by default)."""
    smp = ns.get("adaptive", dims="snapshot")
    corpus = [["a", "b", "c", "d"] * 3] * 20
    with pytest.raises(ValueError, match='dims="snapshot" needs the anchor\'s own input row'):
        Word2Vec(**SMALL, **mode, sampler=smp).fit(corpus)
    model = Word2Vec(**SMALL, sg=1, sampler=smp).fit(corpus)  # per-pair skip-gram: its case
    model.shared_negatives = mode.get("shared_negatives", False)
    model.sg = mode["sg"]
    with pytest.raises(ValueError, match='dims="snapshot"'):  # switched after build_vocab
        model.train(corpus)
