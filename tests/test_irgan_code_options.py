"""IRGAN's options that follow the authors' code (geek-ai/irgan item_recommendation): each is
checked against a hand computation or against the law it should change."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from negkit.rec.irgan import IRGAN

# two users, three items; user 0 likes item 0, user 1 likes items 0 and 2
TRAIN = sp.csr_matrix(np.array([[1, 0, 0], [1, 0, 1]], dtype=np.float32))
rng = np.random.default_rng(7)
U0 = np.hstack([rng.uniform(-1, 1, (2, 2)), np.ones((2, 1))]).astype(np.float32)
V0 = rng.uniform(-1, 1, (3, 3)).astype(np.float32)


def model(**params):
    base = dict(dim=2, pretrain_epochs=0, rounds=0, seed=0)
    m = IRGAN(**{**base, **params})
    return m.fit(TRAIN, init=(U0, V0))


@pytest.mark.parametrize(
    "params,match",
    [({"d_tau": 0}, "d_tau"), ({"d_tau": -0.2}, "d_tau"), ({"d_tau": float("nan")}, "d_tau"),
     ({"optimizer": "rmsprop"}, "optimizer"), ({"d_loss": "sum"}, "d_loss"),
     ({"d_init": "zeros"}, "d_init"), ({"init_delta": 0}, "init_delta"),
     ({"pretrain_negatives": "hard"}, "pretrain_negatives"), ({"pretrain_dns_m": 0}, "dns_m"),
     ({"g_samples_per_positive": -1}, "g_samples_per_positive"),
     ({"g_samples_per_positive": 1.5}, "g_samples_per_positive"),
     ({"d_resample_every": -1}, "d_resample_every")],
)  # fmt: skip
def test_bad_options_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        IRGAN(**params)


def test_d_tau_sets_the_law_of_the_discriminators_negatives():
    score = U0 @ V0.T
    for d_tau, law_tau in ((None, 1.0), (0.2, 0.2)):
        m = model(tau=1.0, d_tau=d_tau)
        for u in (0, 1):
            z = score[u] / law_tau
            want = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
            np.testing.assert_allclose(m.sampler_.distribution(u), want, rtol=1e-5)


def test_uniform_discriminator_start_leaves_the_generator_alone():
    m = model(d_init="uniform", init_delta=0.05)
    du, di = m.discriminator_tables()
    gu, gi = m.generator_tables()
    np.testing.assert_array_equal(gu, U0)
    np.testing.assert_array_equal(gi, V0)
    assert np.all(np.abs(du[:, :2]) <= 0.05) and np.all(np.abs(di[:, :2]) <= 0.05)
    assert np.all(du[:, 2] == 1) and np.all(di[:, 2] == 0)  # constant 1, zero item biases
    assert np.abs(di[:, :2]).max() > 0.01  # drawn, not zero
    np.testing.assert_array_equal(model().discriminator_tables()[1], V0)  # default: a copy


def test_dns_pretraining_is_bpr_with_the_dns_sampler():
    import negkit.samplers as ns
    from negkit.rec.mf_bpr import BPRMF
    from negkit.rec.synthetic import planted_interactions

    train = planted_interactions(n_users=60, n_items=100, seed=1).train
    m = IRGAN(dim=4, pretrain_epochs=3, pretrain_negatives="dns", pretrain_dns_m=4, seed=2)
    got = m.pretrain(train)
    mf = BPRMF(dim=4, lr=m.pretrain_lr, reg=m.pretrain_reg, epochs=3, threads=1, seed=2)
    mf.init(*train.shape)
    s = ns.get("dns", n_candidates=4, exclude_positives=True, seed=2)
    mf.fit(train, s.fit(n_items=100, positives=train, output=mf.item_table_, input=mf.user_table_))
    np.testing.assert_array_equal(got[1], mf.item_embeddings())
    uniform = IRGAN(dim=4, pretrain_epochs=3, seed=2).pretrain(train)
    assert not np.array_equal(got[1], uniform[1])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("d_loss", ["mean", "code"])
def test_one_sgd_discriminator_step_matches_the_hand_gradient(d_loss):
    """Two users who both like item 0 of two items, positives excluded: every negative is
    item 1, so one SGD step on the batch {(0, 0, 1), (1, 0, 1)} is known by hand."""
    train = sp.csr_matrix(np.array([[1, 0], [1, 0]], dtype=np.float32))
    u0, v0 = U0, V0[:2]
    lr, reg = 0.1, 0.3
    m = IRGAN(
        dim=2,
        pretrain_epochs=0,
        rounds=1,
        d_epochs=1,
        g_epochs=0,
        optimizer="sgd",
        d_loss=d_loss,
        d_lr=lr,
        reg=reg,
        batch_size=2,
        exclude_positives=True,
        seed=0,
    )
    m.fit(train, init=(u0, v0))
    du, di = m.discriminator_tables()
    # hand gradient over the batch {(0, 0, 1), (1, 0, 1)}
    gu, gv = np.zeros_like(u0, dtype=np.float64), np.zeros_like(v0, dtype=np.float64)
    scale = 1.0 if d_loss == "code" else 0.5  # summed rows, or means over the 2 pairs
    for u in (0, 1):
        a, b = _sigmoid(-(u0[u] @ v0[0])), _sigmoid(u0[u] @ v0[1])
        gu[u] += scale * (-a * v0[0] + b * v0[1])
        gv[0] += scale * -a * u0[u]
        gv[1] += scale * b * u0[u]
        if d_loss == "code":  # 2B·reg·(2||u'||² + ||v_i||² + ||v_j||²)/2, B = 2
            gu[u, :2] += 4 * reg * 2 * u0[u, :2]
            gv[0] += 4 * reg * v0[0]
            gv[1] += 4 * reg * v0[1]
        else:  # reg/2 (||u||² + ||v_i||² + ||v_j||²) / B
            gu[u] += reg / 2 * u0[u]
            gv[0] += reg / 2 * v0[0]
            gv[1] += reg / 2 * v0[1]
    gu[:, -1] = 0  # the constant column is not trained
    np.testing.assert_allclose(du, u0 - lr * gu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(di, v0 - lr * gv, rtol=1e-5, atol=1e-6)


def test_generator_draws_two_per_positive_and_averages_per_user(monkeypatch):
    """The draws are replaced by a known matrix; the generator's SGD step must match the hand
    gradient of -1/B Σ_u 1/(c|P_u|) Σ_{s < c|P_u|} r(u, j_s) ∇ log p(j_s | u)."""
    lr, c = 0.5, 2
    m = IRGAN(
        dim=2,
        pretrain_epochs=0,
        rounds=0,
        optimizer="sgd",
        g_lr=lr,
        sample_lambda=0.0,
        g_batch_users=2,
        g_samples_per_positive=c,
        d_init="uniform",
        seed=0,
    )
    m.fit(TRAIN, init=(U0, V0))
    seen = []

    def fake(p, n, replacement, generator):
        seen.append(n)
        return torch.arange(n).remainder(3).repeat(p.shape[0], 1)

    monkeypatch.setattr(torch, "multinomial", fake)
    du, di = (torch.tensor(t, dtype=torch.float64) for t in m.discriminator_tables())
    gu = torch.tensor(U0, dtype=torch.float64, requires_grad=True)
    gi = torch.tensor(V0, dtype=torch.float64, requires_grad=True)
    m.g_epoch()
    assert seen == [c * 2]  # the batch's largest c·|P_u|
    loss = 0
    for u, n_pos in ((0, 1), (1, 2)):
        j = torch.arange(c * n_pos) % 3
        logp = torch.log_softmax(gu[u] @ gi.T, 0)[j]
        r = 2 * (torch.sigmoid(du[u] @ di[j].T) - 0.5)
        loss = loss - (r * logp).mean() / 2
    loss.backward()
    g_u = gu.grad.numpy().copy()
    g_u[:, -1] = 0
    got_u, got_i = m.generator_tables()
    np.testing.assert_allclose(got_u, U0 - lr * g_u, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_i, V0 - lr * gi.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("every,draws", [(0, None), (2, 4), (3, 2)])
def test_negatives_are_redrawn_every_k_discriminator_epochs_of_a_round(every, draws, monkeypatch):
    """2 rounds of 3 discriminator epochs: K = 2 draws at epochs 0 and 2 of each round (the
    count restarts each round, as the code's ``d_epoch % 5``), K = 3 at epoch 0 only; K = 0
    draws at every batch."""
    import negkit.samplers as ns

    calls = []
    sample = ns.IRGANSampler.sample

    def counted(self, anchors, k, *args, **kwargs):
        calls.append(int(anchors.shape[0]))
        return sample(self, anchors, k, *args, **kwargs)

    monkeypatch.setattr(ns.IRGANSampler, "sample", counted)
    m = IRGAN(dim=2, pretrain_epochs=0, rounds=2, d_epochs=3, g_epochs=0, batch_size=1,
              d_resample_every=every, seed=0)  # fmt: skip
    m.fit(TRAIN, init=(U0, V0))
    if draws is None:
        assert calls == [1] * (2 * 3 * TRAIN.nnz)  # one anchor per batch row, every batch
    else:
        assert calls == [TRAIN.nnz] * draws  # every pair at once, no per-batch draws
