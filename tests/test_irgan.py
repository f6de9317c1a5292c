"""IRGAN: the generator sampler's law on both paths, its parameters, and the trainer's game."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from _sampler_stats import chi2_pvalue

import negkit.samplers as ns
from negkit._rng import make_contexts

rng = np.random.default_rng(18)
OUT = rng.standard_normal((12, 4)).astype(np.float32)
INP = rng.standard_normal((3, 4)).astype(np.float32)
# anchor 1 holds two positives (its second and last item by score: rejection seldom fails 64
# times in a row, so the law is the renormalised one); anchors 0 and 2 hold none
_ORDER1 = np.argsort(-(OUT @ INP[1]))
_ROW1 = sorted({int(_ORDER1[1]), int(_ORDER1[-1])})
POS = sp.csr_matrix((np.ones(len(_ROW1)), ([1] * len(_ROW1), _ROW1)), shape=(3, 12))


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    w = np.exp(z - z.max())
    return w / w.sum()


def fitted(tau=0.7, **params):
    return ns.get("irgan", tau=tau, seed=3, **params).fit(output=OUT, input=INP, positives=POS)


@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_distribution_is_the_softmax_over_every_item(tau):
    s = fitted(tau)
    np.testing.assert_allclose(s.distribution(1), softmax(OUT @ INP[1] / tau), rtol=1e-5)
    np.testing.assert_allclose(s.distribution(anchor_vector=INP[2]), softmax(OUT @ INP[2] / tau),
                               rtol=1e-5)  # fmt: skip
    assert ns.get_class("irgan") is ns.IRGANSampler and s.score_aware and s.device_path


@pytest.mark.parametrize("tau", [0.3, 2.0])
def test_numba_pair_kernel_draws_follow_the_law(tau):
    s = fitted(tau)
    draws = s.sample(np.full(1000, 1), 50)  # a pair's k draws share one pass (pair kernel)
    assert chi2_pvalue(draws, s.distribution(1)) > 1e-3


def test_numba_per_draw_kernel_follows_the_law():
    s = fitted(0.5)
    draw, state = s.kernel()
    ctx = make_contexts(5, 1)[0]
    vec = np.ascontiguousarray(INP[2])
    draws = np.array([draw(state, 2, -1, vec, ctx) for _ in range(20000)])
    assert chi2_pvalue(draws, s.distribution(2)) > 1e-3


def test_torch_path_draws_follow_the_law():
    s = fitted(0.5)
    anchors = torch.full((1000,), 1, dtype=torch.int64)
    draws = s.sample(anchors, 50)
    assert isinstance(draws, torch.Tensor) and draws.shape == (1000, 50)
    assert chi2_pvalue(draws.numpy(), s.distribution(1)) > 1e-3


@pytest.mark.parametrize("on_torch", [False, True])
def test_exclusion_renormalises_over_the_non_positives(on_torch):
    s = fitted(0.5, exclude_positives=True)
    q = s.proba(np.arange(12), anchors=[1])
    assert q[POS[1].indices].sum() == 0 and abs(q.sum() - 1) < 1e-9
    anchors = torch.full((1000,), 1) if on_torch else np.full(1000, 1)
    draws = s.sample(anchors, 40)
    draws = draws.numpy() if on_torch else draws
    assert chi2_pvalue(draws, q) > 1e-3


@pytest.mark.parametrize("tau", [0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_temperature_is_refused(tau):
    with pytest.raises((ValueError, TypeError), match="tau"):
        ns.get("irgan", tau=tau).fit(output=OUT, input=INP)


def test_the_sampler_needs_the_generator_tables():
    with pytest.raises(ValueError, match="score-aware"):
        ns.get("irgan").fit(n_items=12)
    s = ns.get("irgan").fit(output=OUT)
    with pytest.raises(ValueError, match="anchor_vector"):
        s.distribution(0)
    with pytest.raises(ValueError, match="dims"):
        s.sample(np.zeros(3, dtype=np.int64), 2, anchor_vectors=np.ones((3, 5), np.float32))


# ----------------------------------------------------------------------------- the trainer
@pytest.mark.parametrize(
    "params,match",
    [({"tau": 0}, "tau"), ({"tau": -1}, "tau"), ({"reward": "exp"}, "reward"),
     ({"sample_lambda": 1.0}, "sample_lambda"), ({"g_samples": 0}, "g_samples"),
     ({"d_lr": 0}, "d_lr"), ({"reg": -1}, "reg"), ({"dim": 0}, "dim")],
)  # fmt: skip
def test_trainer_refuses_bad_parameters(params, match):
    from negkit.rec.irgan import IRGAN

    with pytest.raises(ValueError, match=match):
        IRGAN(**params)


def test_trainer_refuses_init_tables_of_the_wrong_shape():
    from negkit.rec.irgan import IRGAN

    train = sp.csr_matrix(np.eye(4, 6, dtype=np.float32))
    with pytest.raises(ValueError, match="dim \\+ 1"):
        IRGAN(dim=3).fit(train, init=(np.zeros((4, 3), np.float32), np.zeros((6, 3), np.float32)))


@pytest.fixture(scope="module")
def planted():
    from negkit.rec.synthetic import planted_interactions

    torch.set_num_threads(1)
    return planted_interactions(n_users=150, n_items=100, seed=0)


def _expected_reward(m):
    with torch.no_grad():
        p = torch.softmax(m.g_user_ @ m.g_item_.T / m.tau, 1)
        r = 2 * (torch.sigmoid(m.d_user_ @ m.d_item_.T) - 0.5)
        return float((p * r).sum(1).mean())


def test_the_game_trains_both_players(planted):
    """From an untrained start, the discriminator learns to rank held-out positives (its
    negatives come from the generator, through the registry sampler), and the generator's
    REINFORCE steps raise its expected reward under the discriminator."""
    from negkit.rec.irgan import IRGAN

    d = planted
    seen = []
    m = IRGAN(dim=8, pretrain_epochs=0, rounds=3, d_epochs=2, g_epochs=0, d_lr=0.02, g_lr=0.05,
              sample_lambda=0.0, seed=0)  # fmt: skip
    m.fit(d.train, on_round=lambda r, g: seen.append(
        g.evaluate(d.test, exclude=[d.train], ks=(5,))["discriminator"]["ndcg@5"]))  # fmt: skip
    assert m.sampler_.output_ is not None and len(seen) == 4
    assert seen[-1] > 2 * seen[0] + 0.02, seen  # random start: ~0.03
    before = _expected_reward(m)
    m.g_epoch()
    m.g_epoch()
    assert _expected_reward(m) > before + 0.005
    assert np.isfinite(m.history_[-1]["d_loss"])


def test_pretraining_starts_both_players_from_bpr(planted):
    from negkit.eval.rec import evaluate_ranking
    from negkit.rec.irgan import IRGAN

    d = planted
    m = IRGAN(dim=8, pretrain_epochs=15, rounds=1, d_epochs=1, g_epochs=1, seed=0,
              reward="log1pexp")  # fmt: skip
    start = []
    m.fit(d.train, on_round=lambda r, g: start.append(g.generator_tables()) if r == 0 else None)
    (gu, gi) = start[0]
    du, di = m.discriminator_tables()
    assert gu.shape == (150, 9) and np.all(gu[:, -1] == 1) and np.all(du[:, -1] == 1)
    ndcg = evaluate_ranking(gu, gi, d.test, exclude=[d.train], ks=[5])["ndcg@5"]
    assert ndcg > 0.1  # BPR on the planted blocks ranks well from round 0


def test_other_trainers_draw_from_the_irgan_sampler(planted):
    """The generator is an ordinary score-aware sampler: BPR-MF (numba engine) and the torch
    trainer take it on their own tables."""
    from negkit.eval.rec import evaluate_ranking
    from negkit.rec.mf_bpr import BPRMF
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import PairBatches, TorchTrainer

    d = planted
    mf = BPRMF(dim=8, epochs=10, threads=1, seed=0).init(*d.train.shape)
    s = ns.get("irgan", exclude_positives=True, seed=0)
    mf.fit(d.train, s.fit(positives=d.train, output=mf.item_table_, input=mf.user_table_))
    r = evaluate_ranking(mf.user_embeddings(), mf.item_embeddings(), d.test, exclude=[d.train])
    assert r["ndcg@20"] > 0.2  # random: ~0.05
    m = MF(*d.train.shape, dim=8)
    t = ns.get("irgan", seed=0).fit(
        output=m.item.weight.detach().numpy(), input=m.user.weight.detach().numpy()
    )
    stats = TorchTrainer(m, t, d.train, lr=0.01, sampler_on_device=True).train_epoch(
        PairBatches(d.train, batch_size=512)
    )
    assert np.isfinite(stats["loss"])
