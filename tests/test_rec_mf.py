"""BPR-MF on the compiled engine: learns planted structure, never trains on a positive as a
negative, repeats exactly when seeded with one thread, rejects bad settings."""

from __future__ import annotations

import numpy as np
import pytest
from _recording import RecordingSampler

import negkit.samplers as ns
from negkit.eval.rec import evaluate_ranking
from negkit.rec.distributed import Context
from negkit.rec.mf_bpr import BPRMF, user_ranks
from negkit.rec.synthetic import planted_interactions


@pytest.fixture(scope="module")
def planted():
    return planted_interactions(n_users=300, n_items=200, n_groups=5, per_user=20, seed=0)


def _recall(U, V, data, k=10):
    return evaluate_ranking(U, V, data.test, exclude=[data.train], ks=[k])[f"recall@{k}"]


def test_mf_bpr_beats_random_by_a_clear_margin(planted):
    rng = np.random.default_rng(0)
    random_recall = _recall(
        rng.standard_normal((300, 8)).astype(np.float32),
        rng.standard_normal((200, 8)).astype(np.float32),
        planted,
    )
    sampler = ns.get("rns", exclude_positives=True).fit(n_items=200, positives=planted.train)
    mf = BPRMF(dim=16, lr=0.05, reg=0.001, epochs=60, threads=2, seed=0).fit(planted.train, sampler)
    trained = _recall(mf.user_embeddings(), mf.item_embeddings(), planted)
    # planted blocks: 40 items per group, so a model that found the blocks gets ~10/36 * 0.8
    assert random_recall < 0.1
    assert trained > 3 * random_recall and trained > 0.15
    assert mf.history_[-1]["loss"] < mf.history_[0]["loss"]


def test_negatives_are_never_training_positives(planted):
    train = planted.train
    # a popularity sampler favours exactly the items users already have
    inner = ns.get("pns", alpha=1.0, exclude_positives=True).fit(
        n_items=train.shape[1], positives=train
    )
    rec = RecordingSampler(inner, capacity=3 * train.nnz)
    BPRMF(dim=8, epochs=3, threads=1, seed=1).fit(train, rec)
    n = int(rec.count[0])
    assert n == 3 * train.nnz
    dense = train.toarray() > 0
    assert not dense[rec.users[:n], rec.negs[:n]].any()


def test_seeded_single_thread_runs_repeat_exactly(planted):
    def once():
        s = ns.get("rns", exclude_positives=True).fit(n_items=200, positives=planted.train)
        return BPRMF(dim=8, epochs=3, threads=1, seed=7).fit(planted.train, s)

    a, b = once(), once()
    np.testing.assert_array_equal(a.user_embeddings(), b.user_embeddings())
    np.testing.assert_array_equal(a.item_embeddings(), b.item_embeddings())


def test_exported_embeddings_fold_in_the_item_bias(planted):
    s = ns.get("rns", exclude_positives=True).fit(n_items=200, positives=planted.train)
    mf = BPRMF(dim=4, epochs=2, threads=1, seed=0).fit(planted.train, s)
    U, V = mf.user_embeddings(), mf.item_embeddings()
    assert U.dtype == V.dtype == np.float32 and U.shape == (300, 5) and V.shape == (200, 5)
    expected = mf.user_factors_ @ mf.item_factors_.T + mf.item_bias_[None, :]
    np.testing.assert_allclose(U @ V.T, expected, rtol=1e-5, atol=1e-6)
    assert np.abs(mf.item_bias_).sum() > 0


@pytest.mark.parametrize(
    "bad, match",
    [({"dim": 0}, "dim"), ({"lr": 0.0}, "lr"), ({"reg": -1.0}, "reg"), ({"threads": 0}, "threads"),
     ({"sync_pairs": 0}, "sync_pairs must be at least 1"),
     ({"sync_mode": "max"}, "sync_mode must be 'sum' or 'mean'"),
     ({"sync_wire": "float16"}, "sync_wire must be 'float32' or 'bfloat16'"),
     ({"seed": None, "dist": Context(rank=0, world_size=2)}, "a distributed run needs a seed")],
)  # fmt: skip
def test_bad_settings_raise(planted, bad, match):
    s = ns.get("rns").fit(n_items=200)
    with pytest.raises(ValueError, match=match):
        BPRMF(**bad).fit(planted.train, s)


def test_empty_training_matrix_raises():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="no interactions"):
        BPRMF(epochs=1).fit(sp.csr_matrix((3, 4)), ns.get("rns").fit(n_items=4))


def test_real_data_ml1m_mf_learns(real_data):
    from negkit.data.interactions import load_lightgcn_split

    data = load_lightgcn_split(real_data / "recsys" / "ml-1m_lightgcnpp")
    s = ns.get("rns", exclude_positives=True).fit(n_items=data.n_items, positives=data.train)
    mf = BPRMF(dim=32, lr=0.05, epochs=5, threads=2, seed=0).fit(data.train, s)
    r = evaluate_ranking(
        mf.user_embeddings(), mf.item_embeddings(), data.test, exclude=[data.train, data.valid]
    )
    # 5 epochs already find the popular films: far above the random ~20/3,628 hit rate
    assert r["recall@20"] > 0.05 and r["n_users"] > 5000


def test_score_aware_samplers_rank_by_the_model_score_with_its_item_bias(planted):
    mf = BPRMF(dim=8, seed=0).init(300, 200)
    mf.item_bias_[7] = 50.0  # a view into item_table_: the model now scores item 7 highest
    model_scores = mf.user_embeddings() @ mf.item_embeddings().T
    np.testing.assert_allclose(mf.user_table_ @ mf.item_table_.T, model_scores, rtol=1e-6)
    s = ns.get("dns", n_candidates=64, seed=0).fit(
        n_items=200, output=mf.item_table_, input=mf.user_table_
    )
    users = np.repeat(np.arange(300), 4)
    negs = s.sample(users, 1, anchor_vectors=mf.user_table_[users]).ravel()
    # item 7 is among 64 uniform candidates with probability 1 - (199/200)^64 = 0.2744, and
    # then wins; on the factors alone it would win about 1/64 of those times (sd here 0.0129)
    assert abs((negs == 7).mean() - (1 - (199 / 200) ** 64)) < 4 * 0.0129
    wrong = ns.get("dns", seed=0).fit(
        n_items=200, positives=planted.train, output=mf.item_factors_, input=mf.user_factors_
    )
    with pytest.raises(ValueError, match="tables of width 8, not this model's 16"):
        mf.fit(planted.train, wrong)


def test_warp_rank_weight_skips_pairs_without_a_violator(planted):
    def fitted(margin):
        mf = BPRMF(dim=8, epochs=1, threads=1, seed=0, item_bias=False).init(300, 200)
        s = ns.get("warp", margin=margin, max_trials=5, exclude_positives=True, seed=0)
        s.fit(n_items=200, positives=planted.train, output=mf.item_table_, input=mf.user_table_)
        before = mf.item_factors_.copy(), mf.user_factors_.copy()
        mf.fit(planted.train, s)
        return before, mf

    # no item can beat s(pos) - margin with margin -1e9: trials = 0, weight 0, no update at all
    (V0, U0), mf = fitted(-1e9)
    np.testing.assert_array_equal(mf.item_factors_, V0)
    np.testing.assert_array_equal(mf.user_factors_, U0)
    # every first draw violates with margin +1e9: trials = 1, weight Phi(199) ~ 5.9: updates
    (V0, U0), mf = fitted(1e9)
    assert np.abs(mf.item_factors_ - V0).max() > 0


def test_warp_trials_count_negatives_only_when_positives_are_excluded():
    """One user, 100 items: its 50 positives all beat ``s(pos) - margin``, and of the 50
    negatives only item 99 does.  WARP samples negatives: ``N`` ~ Geometric(1/50), mean 50,
    and the draw is item 99.  A drawn positive used to restart the trial count (mean ~2: a rank
    estimate 25 times too high), and when the rejection tries ran out a random non-violator came
    back with a positive's trial count (a weighted update on a non-violator)."""
    import scipy.sparse as sp

    from negkit._rng import CTX_TRIALS, make_contexts

    n = 100
    V = np.full((n, 1), -5.0, dtype=np.float32)
    V[:50, 0] = V[99, 0] = 5.0
    positives = sp.csr_matrix((np.ones(50), (np.zeros(50, int), np.arange(50))), shape=(1, n))
    s = ns.get("warp", margin=1.0, max_trials=1000, exclude_positives=True, seed=0)
    s.fit(n_items=n, positives=positives, output=V, input=np.ones((1, 1), np.float32))
    draw, state = s.kernel()
    ctx = make_contexts(0, 1)[0]
    vec = np.ones(1, dtype=np.float32)
    got, trials = [], []
    for _ in range(4000):
        got.append(draw(state, 0, 0, vec, ctx))
        trials.append(int(ctx[CTX_TRIALS]))
    assert set(got) == {99}
    assert 45 < np.mean(trials) < 55  # the mean of 4000 Geometric(1/50) draws: 50 +- 0.8


class _MergeLog:
    """Stands in for ``TableSync`` on one process: records when the tables would merge."""

    events: list[str] = []

    def __init__(self, ctx, tables, mode, overlap=False, wire="float32"):
        self.seconds, self.parts = 0.0, {}

    def merge(self):
        self.events.append("merge")

    def exchange(self, words, active):
        self.events.append("exchange")

    def flush(self):
        self.events.append("flush")

    def sync(self, everything=False):
        self.events.append("users" if everything else "sync")


@pytest.mark.parametrize(
    "share, overlap, expected",
    [(2.0, False, ["", "merge", "", "merge", "flush users"]),  # every 2nd epoch; settled at
     (1.0, False, ["merge"] * 4 + ["merge users"]),  # the end (users: only then)
     (0.34, False, ["merge merge merge"] * 4 + ["merge merge merge users"]),  # 3 chunks
     (1.0, True, ["exchange"] * 4 + ["exchange flush users"])],  # overlapped
)  # fmt: skip
def test_merges_come_every_sync_pairs_pairs_of_a_rank(monkeypatch, planted, share, overlap,
                                                      expected):  # fmt: skip
    """Where the merges fall, ``sync_pairs`` given as a fraction of a rank's share of an
    epoch: hand-counted for 5 epochs on 2 ranks (this process plays rank 0); the user
    table is merged only when the tables are settled, at the end."""
    import negkit.rec.distributed as dist
    import negkit.word2vec.dist_sync as dist_sync

    monkeypatch.setattr(dist_sync, "TableSync", _MergeLog)
    monkeypatch.setattr(dist, "all_sum", lambda ctx, x, what: np.asarray(x))
    _MergeLog.events = []
    users = planted.train.tocoo().row
    shard = np.bincount(user_ranks(users, planted.train.shape[0], 2)[users]).max()
    mf = BPRMF(dim=4, epochs=5, threads=1, seed=0, dist=Context(rank=0, world_size=2),
               sync_pairs=int(share * shard), sync_overlap=overlap)  # fmt: skip
    mf.fit(planted.train, ns.get("rns").fit(n_items=200),
           on_epoch=lambda e, row: _MergeLog.events.append("|"))  # fmt: skip
    epochs, now = [], []
    for event in _MergeLog.events:
        if event == "|":
            epochs.append(" ".join(now))
            now = []
        else:
            now.append(event)
    assert epochs == expected and now == []


def test_users_are_dealt_to_ranks_by_their_number_of_pairs():
    """Users in descending count dealt 0, 1, 1, 0, ...: counts 5, 1, 3, 2 -> users 0 and 1
    to rank 0 (6 pairs), 2 and 3 to rank 1 (5); with 3 ranks 0, 2, 3 go to 0, 1, 2 and user
    1 back to rank 2."""
    users = np.repeat([0, 1, 2, 3], [5, 1, 3, 2])
    assert user_ranks(users, 4, 2).tolist() == [0, 0, 1, 1]
    assert user_ranks(users, 4, 3).tolist() == [0, 2, 1, 2]
    rng = np.random.default_rng(0)
    many = rng.zipf(1.8, 20_000) % 3_000  # heavy-tailed users
    for world in (2, 3, 8):
        owner = user_ranks(many, 3_000, world)
        shares = np.bincount(owner[many], minlength=world)
        assert shares.max() - shares.min() <= np.bincount(many).max()


def test_a_rank_trains_only_its_own_users_rows(monkeypatch, planted):
    """On two ranks (this process plays rank 0, no merges), the user rows of rank 1's users
    stay as initialised and rank 0's move: a user's row changes on its rank only."""
    import negkit.rec.distributed as dist
    import negkit.word2vec.dist_sync as dist_sync

    monkeypatch.setattr(dist_sync, "TableSync", _MergeLog)
    monkeypatch.setattr(dist, "all_sum", lambda ctx, x, what: np.asarray(x))
    mf = BPRMF(dim=4, epochs=2, threads=1, seed=0, dist=Context(rank=0, world_size=2))
    n_users, n_items = planted.train.shape
    start = mf.init(n_users, n_items).user_factors_.copy()
    mf.fit(planted.train, ns.get("rns").fit(n_items=n_items))
    owner = user_ranks(planted.train.tocoo().row, n_users, 2)
    moved = np.abs(mf.user_factors_ - start).max(axis=1) > 0
    assert moved[owner == 0].all() and not moved[owner == 1].any()
