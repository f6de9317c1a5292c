"""The registry samplers of issue #17: band, queue and span, under the sampler contract."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns
from negkit.samplers import span_code, span_decode

rng = np.random.default_rng(5)
OUT = rng.standard_normal((30, 4)).astype(np.float32)
INP = rng.standard_normal((5, 4)).astype(np.float32)
POS = sp.csr_matrix((np.ones(4), ([0, 0, 1, 3], [2, 7, 0, 29])), shape=(5, 30))


def _band(a, lo, hi):
    s = OUT @ INP[a]
    order = [i for i in np.argsort(-s, kind="stable") if POS[a, i] == 0]
    return order[lo:hi]


def test_band_holds_the_ranks_without_positives():
    s = ns.get("band", range_min=3, range_max=10, seed=0).fit(output=OUT, input=INP, positives=POS)
    for a in range(5):
        want = np.zeros(30)
        want[_band(a, 3, 10)] = 1 / 7
        np.testing.assert_allclose(s.distribution(a), want)
    draws = s.sample(np.zeros(4000, dtype=np.int64), 1).ravel()
    assert chi2_pvalue(draws, s.distribution(0)) > 1e-3


def test_band_margin_at_draw_time():
    s = ns.get("band", range_max=20, absolute_margin=0.5, seed=1)
    s.fit(output=OUT, input=INP, positives=POS)
    a = np.zeros(3000, dtype=np.int64)
    best = int(np.argmax(OUT @ INP[0]))  # a positive that scores high
    pos = np.full(3000, best)
    draws = s.sample(a, 1, pos=pos).ravel()
    sp_ = OUT[best] @ INP[0]
    scores = OUT[draws] @ INP[0]
    band = set(_band(0, 0, 20))
    survivors = [i for i in band if OUT[i] @ INP[0] <= sp_ - 0.5]
    assert 0 < len(survivors) < len(band)
    assert set(np.unique(draws)) == set(survivors)
    assert (scores <= sp_ - 0.5 + 1e-5).all()
    # a margin no band item meets: uniform over every item instead
    s.set_params(absolute_margin=100.0)
    d = s.sample(a, 1, pos=pos).ravel()
    assert len(np.unique(d)) > 20


def test_band_refresh_follows_the_live_tables():
    out = OUT.copy()
    s = ns.get("band", range_max=1, seed=0).fit(output=out, input=INP)
    top = int(s.band_ids_[s.band_indptr_[0]])
    out[top] = -10 * INP[0]  # the old top is now the worst
    s.refresh()
    assert int(s.band_ids_[s.band_indptr_[0]]) != top and s.refreshes_ == 2
    with pytest.raises(ValueError, match="empty"):
        ns.get("band", range_min=5, range_max=5).fit(output=OUT, input=INP)
    with pytest.raises(ValueError, match="input"):
        ns.get("band").fit(output=OUT)


def test_trainers_refuse_a_band_that_would_rank_their_untrained_tables_once():
    """rec runs and Word2Vec fit their samplers on the tables they start from (random, or
    zero): ``band`` there must re-rank as the tables learn (``refresh_every``)."""
    from negkit import Word2Vec
    from negkit.rec.synthetic import planted_interactions
    from negkit.rec.train import RecSettings, run

    data = planted_interactions(n_users=30, n_items=20, n_groups=2, per_user=5, n_test=1, seed=0)
    with pytest.raises(ValueError, match="would rank its untrained tables once"):
        run(RecSettings(data=data, epochs=1, dim=4, threads=1), "band")
    with pytest.raises(ValueError, match="would rank its untrained tables once"):
        Word2Vec(vector_size=4, min_count=1, sampler="band").fit([["a", "b", "c"]] * 5)
    params = {"refresh_every": 50, "range_max": 5}  # re-ranked as it learns: trains
    res = run(RecSettings(data=data, epochs=2, dim=4, threads=1, sampler_params=params), "band")
    assert 0.0 <= res["test"]["recall@20"] <= 1.0


def test_queue_draws_follow_its_contents():
    q = ns.get("queue", size=6, auto_push=False, seed=0).fit(n_items=10)
    q.push([1, 1, 2, 3])
    q.push(np.array([4, 5, 9]))  # 7 > 6: the oldest 1 is gone
    assert q.queued().tolist() == [1, 2, 3, 4, 5, 9]
    want = np.bincount([1, 2, 3, 4, 5, 9], minlength=10) / 6
    np.testing.assert_allclose(q.distribution(), want)
    assert chi2_pvalue(q.sample(np.zeros(3000, dtype=np.int64), 1), want) > 1e-3
    with pytest.raises(ValueError, match="lie in"):
        q.push([10])


def test_queue_auto_push_keeps_the_recent_positives():
    q = ns.get("queue", size=4, seed=0).fit(n_items=10)
    assert q.distribution()[0] == pytest.approx(0.1)  # empty: uniform
    q.sample(np.zeros(6, dtype=np.int64), 1, pos=np.array([1, 2, 3, 4, 5, 6]))
    assert q.queued().tolist() == [3, 4, 5, 6]
    d = q.sample(np.zeros(200, dtype=np.int64), 1).ravel()  # pos -1: nothing pushed
    assert set(np.unique(d)) <= {3, 4, 5, 6} and q.queued().tolist() == [3, 4, 5, 6]


def test_span_codes_round_trip():
    c = span_code([0, 2, 5], [0, 4, 6], 4)
    st, en = span_decode(c, 4)
    assert st.tolist() == [0, 2, 5] and en.tolist() == [0, 4, 6]
    with pytest.raises(ValueError, match="widths"):
        span_code([0], [4], 4)


def test_span_sampler_uniform_over_non_gold_spans():
    mw = 3
    lengths = np.array([5, 1, 4])
    gold = [span_code([0, 2], [1, 2], mw), span_code([0], [0], mw), np.zeros(0, np.int64)]
    rows = np.repeat(np.arange(3), [len(g) for g in gold])
    pos = sp.csr_matrix((np.ones(rows.size), (rows, np.concatenate(gold))), shape=(3, 15))
    s = ns.get("span", max_width=mw, seed=2).fit(lengths=lengths, positives=pos)
    # sentence 0: 5 + 4 + 3 = 12 spans of width <= 3, 2 of them gold
    p = s.distribution(0)
    assert (p > 0).sum() == 10 and p[gold[0]].sum() == 0
    draws = s.sample(np.zeros(3000, dtype=np.int64), 1).ravel()
    assert chi2_pvalue(draws, p) > 1e-3
    st, en = span_decode(draws, mw)
    assert (en < 5).all() and (en - st < mw).all()
    # a one-token sentence whose only span is gold has no negative
    assert (s.sample(np.ones(5, dtype=np.int64), 2) == -1).all()
    assert chi2_pvalue(s.sample(np.full(2000, 2), 1), s.distribution(2)) > 1e-3


def test_span_sampler_bad_input():
    with pytest.raises(ValueError, match="lengths"):
        ns.get("span").fit(n_items=4)
    bad = sp.csr_matrix(([1.0], ([0], [span_code(1, 3, 4)])), shape=(1, 12))
    with pytest.raises(ValueError, match="gold span ends at token 3"):
        ns.get("span", max_width=4).fit(lengths=[3], positives=bad)
    s = ns.get("span", max_width=2, seed=0).fit(lengths=np.array([3, 4]))
    # a sentence beyond the fitted ones drew -1 ("no span"), and -1 read the last sentence
    with pytest.raises(ValueError, match=r"anchor id 2 is out of range: SpanSampler was fitted "
                       r"for 2 anchors \(the sentences of lengths=\)"):  # fmt: skip
        s.sample(np.array([0, 2]), 1)
    with pytest.raises(ValueError, match="anchor id 5 is out of range"):
        s.proba(np.array([[0]]), anchors=[5])
    for bad_sentence in (2, -1):
        with pytest.raises(ValueError, match=f"sentence {bad_sentence} is out of range: 2 fitted"):
            s.distribution(anchor=bad_sentence)


def test_compare_rec_runs_the_band_sampler(tmp_path):
    from negkit.rec.synthetic import planted_interactions
    from negkit.study import run_study
    from negkit.study.log import read_records
    from negkit.study.rec_family import RecFamily

    data = planted_interactions(n_users=60, n_items=40, per_user=8, n_test=2, seed=0)
    fam = RecFamily(data, dim=8, threads=1, k=10, n_probe=30, k_probe=4)
    specs = ["band:range_min=2:range_max=12:refresh_every=500"]
    res = run_study(fam, specs, [0], 1, tmp_path / "rec", progress=False)
    assert not res.interrupted
    recs = [r for r in read_records(tmp_path / "rec" / "metrics.jsonl") if r["type"] == "epoch"]
    assert {r["sampler"] for r in recs} == set(specs)
    assert all(0 <= r["metrics"]["recall@10"] <= 1 for r in recs)
