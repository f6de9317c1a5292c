"""PyTorch engine: LightGCN propagation against the dense formula, every training mode on a
tiny data set on CPU (and on CUDA when present), MixGCF shapes, losses, bad settings."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from negkit.rec import losses
from negkit.rec.mixgcf import mixgcf_negatives
from negkit.rec.synthetic import planted_interactions
from negkit.rec.torch_models import LightGCN, normalized_adjacency
from negkit.rec.torch_train import PairBatches
from negkit.rec.train import RecSettings, run


@pytest.fixture(scope="module")
def tiny():
    return planted_interactions(
        n_users=120, n_items=60, n_groups=4, per_user=14, n_valid=2, n_test=3, seed=1
    )


def test_lightgcn_propagation_equals_dense_formula():
    R = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    n_u, n_i = R.shape
    A = np.zeros((n_u + n_i, n_u + n_i))
    A[:n_u, n_u:] = R.toarray()
    A[n_u:, :n_u] = R.toarray().T
    deg = A.sum(1)
    inv = np.zeros_like(deg)
    inv[deg > 0] = deg[deg > 0] ** -0.5  # item 3 has no edge: zero row
    A_hat = inv[:, None] * A * inv[None, :]
    np.testing.assert_allclose(normalized_adjacency(R).toarray(), A_hat, rtol=1e-6)
    torch.manual_seed(0)
    model = LightGCN(R, dim=5, n_layers=3)
    E0 = torch.cat([model.user.weight, model.item.weight]).detach().double().numpy()
    layers = [E0]
    for _ in range(3):
        layers.append(A_hat @ layers[-1])
    expected = np.mean(layers, axis=0)
    users, items = model.propagate()
    np.testing.assert_allclose(users.detach().numpy(), expected[:n_u], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(items.detach().numpy(), expected[n_u:], rtol=1e-5, atol=1e-6)
    # gradients of the CPU (scipy) propagation equal those of the dense formula
    ((users**2).sum() + (items**3).sum()).backward()
    E = torch.cat([model.user.weight, model.item.weight]).detach().double().requires_grad_(True)
    Ah = torch.from_numpy(A_hat)
    out, x = [E], E
    for _ in range(3):
        x = Ah @ x
        out.append(x)
    mean = torch.stack(out).mean(0)
    ((mean[:n_u] ** 2).sum() + (mean[n_u:] ** 3).sum()).backward()
    got = torch.cat([model.user.weight.grad, model.item.weight.grad]).double()
    np.testing.assert_allclose(got.numpy(), E.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_lightgcn_torch_csr_propagation_equals_scipy_and_reuses_it_backward(tiny):
    torch.manual_seed(0)
    a = LightGCN(tiny.train, dim=8, n_layers=3, propagation="scipy")
    b = LightGCN(tiny.train, dim=8, n_layers=3, propagation="torch")
    b.load_state_dict(a.state_dict())
    assert b.graph.layout == torch.sparse_csr
    outs = []
    for m in (a, b):
        u, i = m.propagate()
        ((u**2).sum() + (i**3).sum()).backward()
        outs.append((u.detach(), i.detach(), m.user.weight.grad, m.item.weight.grad))
    for x, y in zip(*outs):
        np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="propagation"):
        LightGCN(tiny.train, propagation="dense")


def test_device_pair_batches_cover_each_pair_once_and_repeat_by_epoch(tiny):
    b = PairBatches(tiny.train, batch_size=100, seed=3, device="cpu")
    b.set_epoch(1)
    first = [(u.clone(), i.clone()) for u, i in b]
    assert all(isinstance(u, torch.Tensor) and u.dtype == torch.int64 for u, _ in first)
    pairs = torch.cat([torch.stack(x, 1) for x in first]).numpy()
    assert len(pairs) == tiny.train.nnz and len(first) == len(b)
    assert len({tuple(p) for p in pairs}) == tiny.train.nnz
    assert np.all(np.asarray(tiny.train[pairs[:, 0], pairs[:, 1]]).ravel() > 0)
    b.set_epoch(1)
    assert all(torch.equal(u, v) for (u, _), (v, _) in zip(first, b))
    b.set_epoch(2)
    assert not torch.equal(first[0][0], next(iter(b))[0])


def test_pair_batches_cover_each_pair_once_and_shard_disjointly(tiny):
    full = PairBatches(tiny.train, batch_size=64, seed=3)
    full.set_epoch(2)
    pairs = np.concatenate([np.stack(b, 1) for b in full])
    assert len(pairs) == tiny.train.nnz and len(full) == -(-tiny.train.nnz // 64)
    assert len({tuple(p) for p in pairs}) == tiny.train.nnz
    shards = []
    for rank in range(3):
        b = PairBatches(tiny.train, batch_size=64, seed=3, rank=rank, world_size=3)
        b.set_epoch(2)
        shards.append(np.concatenate([np.stack(x, 1) for x in b]))
    assert sum(len(s) for s in shards) == tiny.train.nnz
    assert {tuple(p) for s in shards for p in s} == {tuple(p) for p in pairs}


def test_losses_match_their_formulas():
    pos = torch.tensor([2.0, -1.0])
    neg = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
    sp_ = torch.nn.functional.softplus
    assert losses.bpr(pos, neg) == pytest.approx(float(sp_(neg - pos[:, None]).mean()))
    assert losses.bce(pos, neg) == pytest.approx(float((sp_(-pos) + sp_(neg).sum(1)).mean()))
    log_q = torch.log(torch.tensor([[0.5, 0.25], [0.25, 0.5]]))
    logits = torch.cat([pos[:, None], neg - log_q], 1)
    expected = float((torch.logsumexp(logits, 1) - pos).mean())
    assert losses.sampled_softmax(pos, neg, log_q) == pytest.approx(expected, rel=1e-6)
    # in-batch: a duplicate of the row's own positive is masked, not a negative
    u = torch.eye(3)
    items = torch.eye(3)
    ids = torch.tensor([4, 4, 7])
    out = losses.in_batch_softmax(u, items, None, 1.0, ids)
    logit = torch.eye(3)
    logit[0, 1] = logit[1, 0] = float("-inf")
    ref = torch.nn.functional.cross_entropy(logit, torch.arange(3))
    assert float(out) == pytest.approx(float(ref))


def test_in_batch_softmax_with_tau_and_log_q_matches_the_formula_and_its_gradient():
    """One addmm (tau on the rows, log q as its bias) and an in-place mask: the loss and both
    gradients are those of logits = u v^T / tau - log q with duplicates of the own positive
    masked, written out; with columns gathered from other ranks (offset) too."""
    g = torch.Generator().manual_seed(0)
    u0, v0 = torch.randn(4, 3, generator=g), torch.randn(6, 3, generator=g)
    log_q = torch.log(torch.tensor([0.1, 0.3, 0.1, 0.2, 0.2, 0.1]))
    ids = torch.tensor([5, 8, 5, 9, 8, 2])
    for offset in (0, 2):
        u, v = u0.clone().requires_grad_(), v0.clone().requires_grad_()
        losses.in_batch_softmax(u, v, log_q, 0.5, ids, offset=offset).backward()
        ru, rv = u0.clone().requires_grad_(), v0.clone().requires_grad_()
        logit = ru @ rv.T / 0.5 - log_q[None, :]
        target = torch.arange(4) + offset
        own = ids[target]
        mask = torch.stack([(ids == own[b]) & (torch.arange(6) != target[b]) for b in range(4)])
        ref = torch.nn.functional.cross_entropy(logit.masked_fill(mask, float("-inf")), target)
        ref.backward()
        out = losses.in_batch_softmax(u0, v0, log_q, 0.5, ids, offset=offset)
        assert float(out) == pytest.approx(float(ref), rel=1e-6)
        assert torch.allclose(u.grad, ru.grad, atol=1e-6) and torch.allclose(
            v.grad, rv.grad, atol=1e-6
        )
    plain = losses.column_logits(u0, v0, None, 1.0)
    assert torch.equal(plain, u0 @ v0.T)


def test_mixgcf_negative_mixes_positive_and_candidates():
    torch.manual_seed(0)
    items = torch.randn(10, 4)
    users = torch.randn(3, 4)
    layers = [(users, items), (users * 0.5, items * 0.5)]
    u = torch.tensor([0, 1, 2])
    p = torch.tensor([1, 2, 3])
    cand = torch.tensor([[4, 5, 6], [7, 8, 9], [0, 4, 5]])
    e = mixgcf_negatives(layers, u, p, cand)
    assert e.shape == (3, 4) and torch.isfinite(e).all()
    # with M = 1 candidate each layer's pick is a convex mix of e_p and e_n
    one = mixgcf_negatives([(users, items)], u, p, cand[:, :1], torch.Generator().manual_seed(1))
    a = (one - items[cand[:, 0]]) / (items[p] - items[cand[:, 0]])
    assert torch.all((a >= -1e-5) & (a <= 1 + 1e-5))
    assert torch.allclose(a, a[:, :1].expand_as(a), atol=1e-4)  # one alpha per row
    with pytest.raises(ValueError, match="candidates"):
        mixgcf_negatives(layers, u, p, cand[0])


def test_mixgcf_mixes_every_candidate_with_one_alpha_a_layer():
    """Eq. 6 of MixGCF: ``a^(l)`` is drawn per pair and layer and shared by the candidates, so
    the hop mixing keeps, at every layer, the candidate of the highest raw score
    ``e_u . e_m^(l)`` (``a s_p + (1 - a) s_m`` is increasing in ``s_m``), mixed with the
    positive by ``a`` in [0, 1].  One ``a`` per candidate favoured those that drew a large
    ``a`` instead."""
    g = torch.Generator().manual_seed(0)
    B, M, d, n = 300, 8, 6, 50
    items = torch.randn(n, d, generator=g)
    users = torch.randn(B, d, generator=g)
    layers = [(users, items), (users * 0.7, torch.randn(n, d, generator=g))]
    u = torch.arange(B)
    p = torch.zeros(B, dtype=torch.long)
    cand = torch.randint(1, n, (B, M), generator=g)
    _, kept = mixgcf_negatives(layers, u, p, cand, torch.Generator().manual_seed(1), per_layer=True)
    pooled = torch.stack([x for x, _ in layers]).mean(0)
    for layer, (_, table) in enumerate(layers):
        e_m = table[cand]  # (B, M, d)
        best = (e_m * pooled[:, None, :]).sum(-1).argmax(1)
        e_best = e_m[torch.arange(B), best]
        diff = table[p] - e_best  # kept = e_best + a * diff
        a = ((kept[layer] - e_best) * diff).sum(-1) / diff.pow(2).sum(-1)
        torch.testing.assert_close(kept[layer], e_best + a[:, None] * diff, atol=1e-5, rtol=1e-5)
        assert ((a >= -1e-5) & (a <= 1 + 1e-5)).all()


def test_mixgcf_step_penalises_the_synthetic_negative_s_layer_0(tiny):
    """MixGCF's L2 acts on the user's, the positive's and the synthetic negative's ego rows
    (``a e_p + (1 - a) e_m`` at layer 0, the authors' code), not on the mean of the M
    candidates' rows (|mean|^2 is about 1/M of the rows' norm: an M times weaker penalty)."""
    import negkit.samplers as ns
    from negkit.rec.torch_models import LightGCN
    from negkit.rec.torch_train import TorchTrainer

    torch.manual_seed(0)
    model = LightGCN(tiny.train, dim=8, n_layers=2)
    smp = ns.get("uniform", exclude_positives=True, seed=0)
    smp.fit(n_items=tiny.n_items, positives=tiny.train)
    reg = 50.0  # the penalty dominates the loss
    tr = TorchTrainer(model, smp, tiny.train, mode="mixgcf", n_candidates=6, reg=reg, lr=1e-9)
    u = torch.tensor([0, 1, 2, 3])
    p = torch.tensor([int(tiny.train[i].indices[0]) for i in range(4)])
    cand = torch.tensor([[j for j in range(60) if tiny.train[i, j] == 0][:6] for i in range(4)])
    tr._draw = lambda *a, **k: cand
    gen = torch.Generator().manual_seed(7)
    tr.generator.set_state(gen.get_state())
    with torch.no_grad():
        layers = model.layers()
        users_all = torch.stack([a for a, _ in layers]).mean(0)
        items_all = torch.stack([b for _, b in layers]).mean(0)
        e_n, kept = mixgcf_negatives(layers, u, p, cand, gen, per_layer=True)
        e_u = users_all[u]
        bpr = torch.nn.functional.softplus((e_u * e_n).sum(-1) - (e_u * items_all[p]).sum(-1))
        ego_u, ego_i = model.ego()
        sq = ego_u[u].pow(2).sum() + ego_i[p].pow(2).sum() + kept[0].pow(2).sum()
        expected = bpr.mean() + reg / 2 * sq / 4
        assert kept.shape == (3, 4, 8)
        cand_mean = ego_i[cand].mean(1).pow(2).sum()
        old = bpr.mean() + reg / 2 * (sq - kept[0].pow(2).sum() + cand_mean) / 4
    assert abs(float(old) - float(expected)) > 1e-3  # the test tells the two apart
    assert tr.step(u, p) == pytest.approx(float(expected), rel=1e-5)


def test_the_logq_correction_follows_a_queue_s_changing_law(tiny, monkeypatch):
    """The queue sampler's law moves with every push (each pair's positive): the sampled
    softmax's log q is the law the batch's draws came from, read before them, not the first
    batch's law cached for the whole run."""
    import negkit.samplers as ns
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer

    s = ns.get("queue", size=64, seed=0)  # no exclusion: the law is the queue's alone
    s.fit(n_items=tiny.n_items, positives=tiny.train)
    tr = TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), s, tiny.train, loss="softmax", n_negs=4)
    seen = []

    def softmax(pos, neg, log_q=None, tau=1.0):
        seen.append(log_q.detach().clone())
        return losses.sampled_softmax(pos, neg, log_q, tau)

    monkeypatch.setitem(losses.LOSSES, "softmax", softmax)
    draws = []
    real_draw = tr._draw
    monkeypatch.setattr(tr, "_draw", lambda *a: draws.append(real_draw(*a)) or draws[-1])
    batches = PairBatches(tiny.train, 100, seed=0)
    for step, (u, p) in enumerate(batches):
        law = np.log(np.maximum(s.distribution(), 1e-30))  # before the batch's draws
        tr.step(u, p)
        np.testing.assert_allclose(seen[-1].numpy(), law[draws[-1].numpy()], rtol=1e-6)
        if step == 3:
            break
    assert not np.allclose(seen[0].numpy(), seen[-1].numpy())  # the law did move


@pytest.mark.parametrize("loss", ["softmax", "nce"])
def test_the_logq_correction_is_the_law_renormalised_over_the_user_s_non_positives(
    tiny, monkeypatch, loss
):
    """A recommender's sampler excludes the user's positives, so its draws follow
    ``q(i) / (1 - q(P_u))``: the log q handed to the loss is the sampler's own
    ``proba(item | user)``, not the unexcluded law (off by ``-log(1 - q(P_u))``, ~0.4 for a
    tenth of ml-100k's users under pns)."""
    import negkit.samplers as ns
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer

    s = ns.get("pns", exclude_positives=True, seed=0).fit(n_items=60, positives=tiny.train)
    tr = TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), s, tiny.train, loss=loss, n_negs=5)
    seen = {}
    real = losses.LOSSES[loss]

    def spy(pos, neg, log_q=None, tau=1.0, **kw):
        seen.update(log_q=log_q.clone(), **{k: v.clone() for k, v in kw.items()})
        return real(pos, neg, log_q, tau, **kw)

    monkeypatch.setitem(losses.LOSSES, loss, spy)
    draws = []
    real_draw = tr._draw
    monkeypatch.setattr(tr, "_draw", lambda *a: draws.append(real_draw(*a)) or draws[-1])
    u, p = next(iter(PairBatches(tiny.train, 64, seed=0)))
    tr.step(u, p)
    neg = draws[-1].numpy()
    want = np.log(s.proba(neg, anchors=u))
    np.testing.assert_allclose(seen["log_q"].numpy(), want, rtol=1e-5, atol=1e-5)
    q = s.distribution()
    mass = np.array([q[tiny.train[x].indices].sum() for x in u])
    assert mass.min() > 0.05  # the renormalisation is not negligible here
    if loss == "nce":  # the positive's q by the same formula
        np.testing.assert_allclose(
            seen["log_q_pos"].numpy(), np.log(q[p]) - np.log(1 - mass), rtol=1e-5, atol=1e-5
        )


def _settings(tiny, **kw):
    base = dict(data=tiny, dim=16, epochs=25, lr=0.02, reg=1e-4, batch_size=256, threads=1)
    base.update(kw)
    return RecSettings(**base)


def _random_recall(tiny):
    rng = np.random.default_rng(0)
    from negkit.eval.rec import evaluate_ranking

    return evaluate_ranking(
        rng.standard_normal((120, 16)).astype(np.float32),
        rng.standard_normal((60, 16)).astype(np.float32),
        tiny.test,
        exclude=[tiny.train, tiny.valid],
    )["recall@20"]


@pytest.mark.parametrize(
    "model, sampler, extra",
    [
        ("lightgcn", "rns", {}),
        ("mf", "rns", {"engine": "torch", "loss": "bce", "n_negs": 4}),
        ("mf", "pns", {"engine": "torch", "loss": "softmax", "n_negs": 8}),
        ("mf", "pns", {"engine": "torch", "loss": "nce", "n_negs": 8}),
        ("mf", "rns", {"engine": "torch", "loss": "snis", "n_negs": 8}),
        ("lightgcn", "in-batch", {"tau": 0.5}),
        ("mf", "mixed", {"n_negs": 8, "tau": 0.5}),
        ("lightgcn", "mixgcf", {"n_candidates": 8}),
    ],
)
def test_torch_modes_learn_on_cpu(tiny, model, sampler, extra):
    result = run(_settings(tiny, model=model, **extra), sampler, seed=0)
    assert result["settings"]["engine"] == "torch"
    U, V = result["user_embeddings"], result["item_embeddings"]
    assert U.shape == (120, 16) and V.shape == (60, 16) and U.dtype == np.float32
    hist = result["history"]
    assert len(hist) == 25 and hist[-1]["loss"] < hist[0]["loss"]
    assert result["test"]["recall@20"] > 1.5 * _random_recall(tiny)


def test_score_aware_sampler_reads_propagated_tables(tiny):
    import negkit.samplers as ns

    name = "dns" if "dns" in ns.available() else None
    if name is None:
        pytest.skip("the dns sampler is not in negkit.samplers yet")
    result = run(_settings(tiny, model="lightgcn", epochs=5), name, seed=0)
    assert np.isfinite(result["test"]["recall@20"])


@pytest.mark.parametrize("name", ["dns", "srns", "mcns"])  # mcns: the host path
def test_score_aware_samplers_draw_from_the_live_device_tables(tiny, name):
    import negkit.samplers as ns
    from negkit.rec.torch_train import TorchTrainer

    torch.manual_seed(0)
    model = LightGCN(tiny.train, dim=8, n_layers=2)
    host = (np.zeros((120, 8), np.float32), np.zeros((60, 8), np.float32))
    s = ns.get(name, seed=0, exclude_positives=True)
    s.fit(n_items=60, positives=tiny.train, output=host[1], input=host[0])
    assert not TorchTrainer(model, s, tiny.train).on_device  # CPU default: compiled host kernels
    trainer = TorchTrainer(model, s, tiny.train, lr=0.01, sampler_on_device=s.device_path)
    trainer.user_table, trainer.item_table = host
    assert trainer.on_device == s.device_path
    u = torch.arange(0, 120, 3)
    p = torch.as_tensor([tiny.train[x].indices[0] for x in u.numpy()])
    assert torch.isfinite(trainer.step_tensor(u, p))
    if s.device_path:  # the propagated tables were handed over, the host buffers never filled
        assert not host[1].any() and s._live_tables["output"].shape == (60, 8)
    else:
        assert host[1].any()


def test_early_stopping_keeps_the_best_validation_epoch(tiny):
    result = run(_settings(tiny, model="mf", engine="torch", epochs=40, lr=0.05,
                           eval_every=2, patience=2), "rns", seed=0)  # fmt: skip
    evals = [r for r in result["history"] if "valid_recall@20" in r]
    best = max(evals, key=lambda r: r["valid_recall@20"])
    assert result["monitor"] == "valid" and result["best_epoch"] == best["epoch"]
    assert result["valid"]["recall@20"] == pytest.approx(best["valid_recall@20"])
    if len(result["history"]) < 40:  # stopped: the last `patience` evaluations did not improve
        assert all(r["valid_recall@20"] <= best["valid_recall@20"] for r in evals[-2:])


def test_bad_settings_raise(tiny):
    with pytest.raises(ValueError, match="model"):
        run(_settings(tiny, model="ncf"), "rns")
    with pytest.raises(ValueError, match="numba engine"):
        run(_settings(tiny, model="lightgcn", engine="numba"), "rns")
    with pytest.raises(ValueError, match="unknown sampler"):
        run(_settings(tiny, model="lightgcn"), "no-such-sampler")
    with pytest.raises(ValueError, match="loss"):
        run(_settings(tiny, model="lightgcn", loss="hinge"), "rns")
    with pytest.raises(ValueError, match=r"patience counts evaluations: set eval_every"):
        run(_settings(tiny, model="mf", patience=3, epochs=1), "rns")
    for name in ("exposure", "exposure_groups", "exposure_subsample"):  # no impressions here
        with pytest.raises(ValueError, match=f"sampler '{name}' draws from impressions"):
            run(_settings(tiny, model="mf", epochs=1), name)
    with pytest.raises(ValueError, match="lr_final is the numba engine's"):
        run(_settings(tiny, model="mf", engine="torch", lr_final=0.5, epochs=1), "rns")
    with pytest.raises(ValueError, match="never draws a training positive"):
        run(_settings(tiny, epochs=1, sampler_params={"exclude_positives": False}), "rns")
    for model, engine in (("lightgcn", "auto"), ("mf", "torch")):  # warp's weight: numba only
        with pytest.raises(ValueError, match="only the compiled engine applies"):
            run(_settings(tiny, model=model, engine=engine, epochs=1), "warp")
    with pytest.raises(ValueError, match="anchor-free"):  # NCE needs the noise's log q
        run(_settings(tiny, model="mf", engine="torch", loss="nce", epochs=1), "dns")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            run(_settings(tiny, model="lightgcn", device="cuda"), "rns")


def test_batch_modes_refuse_the_settings_they_would_ignore(tiny):
    with pytest.raises(ValueError, match="sampled softmax, not 'bce'"):
        run(_settings(tiny, epochs=1, loss="bce"), "in-batch")
    with pytest.raises(ValueError, match="n_negs does not apply to in-batch"):
        run(_settings(tiny, epochs=1, n_negs=5), "in-batch")
    with pytest.raises(ValueError, match="mixgcf trains with the BPR loss, not 'softmax'"):
        run(_settings(tiny, epochs=1, loss="softmax"), "mixgcf")
    with pytest.raises(ValueError, match=r"extra items is n_negs \(--n-negs\), not k"):
        run(_settings(tiny, epochs=1, sampler_params={"k": 64}), "mixed")
    assert run(_settings(tiny, epochs=1), "mixed")["settings"]["loss"] == "softmax"
    # mixgcf makes one synthetic negative a pair: n_negs=5 trained exactly as n_negs=1 did,
    # and metrics.json said 5
    with pytest.raises(ValueError, match="n_negs does not apply to mixgcf"):
        run(_settings(tiny, epochs=1, n_negs=5), "mixgcf")
    # tau is read by the softmax losses only; bpr / bce trained as with tau=1
    torch_mf = {"engine": "torch"}
    for sampler, extra in (("rns", torch_mf), ("rns", {**torch_mf, "loss": "bce"}), ("mixgcf", {})):
        with pytest.raises(ValueError, match="tau is the softmax losses' temperature"):
            run(_settings(tiny, epochs=1, tau=0.5, **extra), sampler)


def test_gathering_negatives_on_one_process_is_the_plain_in_batch_run(tiny):
    """On one process every rank's batch is its own: --gather-negatives used to switch the
    logQ from the sampler's streaming estimate to the training frequency (another run)."""
    kw = dict(epochs=2, dim=8, batch_size=64)
    plain = run(_settings(tiny, **kw), "in-batch", seed=0)
    gathered = run(_settings(tiny, **kw, gather_negatives=True), "in-batch", seed=0)
    np.testing.assert_array_equal(gathered["user_embeddings"], plain["user_embeddings"])


def test_the_trainer_refuses_what_mixgcf_and_the_pairwise_losses_ignore(tiny):
    import negkit.samplers as ns
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer

    smp = ns.get("uniform", exclude_positives=True, seed=0)
    smp.fit(n_items=tiny.n_items, positives=tiny.train)
    model = MF(tiny.n_users, tiny.n_items, 8)
    with pytest.raises(ValueError, match="one synthetic negative a pair"):
        TorchTrainer(model, smp, tiny.train, mode="mixgcf", n_negs=4)
    with pytest.raises(ValueError, match="one synthetic negative a pair"):
        TorchTrainer(model, smp, tiny.train, mode="mixgcf", loss="softmax")
    with pytest.raises(ValueError, match="'bce' does not read it"):
        TorchTrainer(model, smp, tiny.train, loss="bce", tau=0.2)
    TorchTrainer(model, smp, tiny.train, loss="softmax", tau=0.2)  # read: accepted


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_lightgcn_on_gpu(tiny):
    result = run(_settings(tiny, model="lightgcn", device="cuda"), "rns", seed=0)
    assert result["test"]["recall@20"] > 1.5 * _random_recall(tiny)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize(
    "model, sampler, extra",
    [
        ("lightgcn", "rns", {}),
        ("lightgcn", "dns", {}),
        ("lightgcn", "mixgcf", {"n_candidates": 8}),
        ("mf", "in-batch", {"tau": 0.5}),
        ("mf", "mixed", {"n_negs": 8}),
    ],
)
def test_a_cuda_training_step_never_synchronises(tiny, model, sampler, extra):
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer
    from negkit.rec.train import _make_sampler

    settings = _settings(tiny, model=model, device="cuda", **extra)
    host = (np.zeros((120, 16), np.float32), np.zeros((60, 16), np.float32))
    smp, mode = _make_sampler(sampler, settings, tiny, host, seed=0)
    net = LightGCN(tiny.train, dim=16, device="cuda") if model == "lightgcn" else MF(120, 60, 16)
    trainer = TorchTrainer(net, smp, tiny.train, mode=mode, device="cuda", **{
        k: v for k, v in extra.items() if k in ("tau", "n_negs", "n_candidates")})  # fmt: skip
    batches = PairBatches(tiny.train, batch_size=64, seed=0, device="cuda")
    it = iter(batches)
    trainer.step_tensor(*next(it))  # the first step builds the device state
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            loss = trainer.step_tensor(*next(it))
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.isfinite(loss)


def test_batch_sampler_device_and_host_paths_give_the_same_step(tiny):
    import negkit.samplers as ns
    from negkit.rec.torch_models import MF
    from negkit.rec.torch_train import TorchTrainer

    u = torch.arange(0, 120, 2)
    p = torch.as_tensor([tiny.train[x].indices[-1] for x in u.numpy()])
    losses_, weights = [], []
    for on_device in (False, True):
        torch.manual_seed(0)
        smp = ns.InBatchSampler(60, positives=tiny.train)
        trainer = TorchTrainer(MF(120, 60, 8), smp, tiny.train, mode="batch",
                               sampler_on_device=on_device)  # fmt: skip
        assert trainer.on_device == on_device
        losses_.append([float(trainer.step_tensor(u, p)) for _ in range(3)])
        weights.append(trainer.model.item.weight.detach().clone())
    np.testing.assert_allclose(losses_[0], losses_[1], rtol=1e-5)
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


def test_recommenders_give_the_adaptive_sampler_a_flatter_rank_law(tiny):
    from negkit.rec.train import REC_SAMPLER_DEFAULTS, _make_sampler

    settings = _settings(tiny, model="mf")
    tables = (np.zeros((120, 16), np.float32), np.zeros((60, 16), np.float32))
    smp, _ = _make_sampler("aobpr", settings, tiny, tables)
    assert smp.lam_fraction == REC_SAMPLER_DEFAULTS["adaptive"]["lam_fraction"] == 0.2
    assert smp.lam_ == pytest.approx(0.2 * 60)
    pool, _ = _make_sampler(  # MixGCF's candidate pool drawn by the adaptive sampler
        "mixgcf", _settings(tiny, model="lightgcn", sampler_params={"base": "adaptive"}),
        tiny, tables,
    )  # fmt: skip
    assert pool.lam_fraction == 0.2
    for given in ({"lam_fraction": 0.05}, {"lam": 3.0}):
        mine = _settings(tiny, model="mf", sampler_params=given)
        smp, _ = _make_sampler("adaptive", mine, tiny, tables)
        assert smp.get_params() | given == smp.get_params()  # the user's value stands
        assert smp.lam_fraction == given.get("lam_fraction", 0.01)


def test_lightgcn_fits_its_sampler_on_the_model_s_first_tables(tiny, monkeypatch):
    """The host tables a score-aware sampler is fitted on (and builds its state from) are the
    model's propagated tables at the start, not zeros until a refresh."""
    import copy

    from negkit.samplers.adaptive import AdaptiveSampler

    first, fitted_on = [], []
    init, fit = LightGCN.__init__, AdaptiveSampler._fit

    def record_init(self, *a, **kw):
        init(self, *a, **kw)
        first.append(copy.deepcopy(self.state_dict()))

    def record_fit(self, **kw):
        fitted_on.append((self.input_.copy(), self.output_.copy()))
        return fit(self, **kw)

    monkeypatch.setattr(LightGCN, "__init__", record_init)
    monkeypatch.setattr(AdaptiveSampler, "_fit", record_fit)
    run(_settings(tiny, model="lightgcn", epochs=1), "adaptive", seed=0)
    model = LightGCN(tiny.train, dim=16)
    model.load_state_dict(first[0])
    with torch.no_grad():
        want = model.propagate()
    for got, table in zip(fitted_on[0], want):
        np.testing.assert_allclose(got, table.numpy(), rtol=1e-6, atol=1e-7)


def test_the_epoch_the_time_limit_ends_is_evaluated(tiny):
    import time

    def slow_epoch_2(row):
        if row["epoch"] == 2:
            time.sleep(1.2)

    result = run(_settings(tiny, model="mf", engine="torch", epochs=10, eval_every=2,
                           max_seconds=1.0), "rns", seed=0, on_epoch=slow_epoch_2)  # fmt: skip
    assert result["stopped_by"] == "max_seconds=1 after epoch 3"
    assert [("valid_recall@20" in r) for r in result["history"]] == [False, True, True]


def test_a_sampler_object_is_seeded_by_each_run_not_by_the_first(tiny):
    import negkit.samplers as ns

    def items(smp, seed):
        return run(_settings(tiny, model="mf", engine="torch", epochs=1), smp, seed=seed)[
            "item_embeddings"
        ]

    mine = ns.get("unigram")  # seed None: each run gives it its own
    items(mine, 0)
    np.testing.assert_array_equal(items(mine, 1), items(ns.get("unigram"), 1))
    assert mine.seed is None
