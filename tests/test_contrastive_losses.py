"""negkit.contrastive losses against values computed by hand, on torch CPU and on CUDA when a
GPU is present (the ``[cuda]`` variants)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from negkit.contrastive import (  # noqa: E402
    CrossBatchMemory,
    DebiasedContrastiveLoss,
    HardNegativeContrastiveLoss,
    InfoNCELoss,
    NTXentLoss,
    TripletMarginLoss,
)

E = math.e
I2 = torch.eye(2)
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]
device = pytest.mark.parametrize("device", DEVICES)


def on(dev, *xs):
    out = tuple(x.to(dev) for x in xs)
    return out if len(out) > 1 else out[0]


def value(loss, dev):
    """The loss as a float, after checking that it was computed on ``dev``."""
    assert loss.device.type == dev and loss.ndim == 0
    return loss.item()


@device
def test_infonce_identity_batch(device):
    # logits = I (τ = 1): each row -log(e / (e + 1))
    i2 = on(device, I2)
    loss = InfoNCELoss(temperature=1.0)(i2, i2)
    assert value(loss, device) == pytest.approx(math.log(1 + 1 / E), rel=1e-6)


@device
def test_infonce_log_q_and_hits(device):
    i2 = on(device, I2)
    lq = torch.log(torch.tensor([0.5, 0.25]))  # on the CPU: moved to the logits' device
    loss = InfoNCELoss(temperature=1.0)(i2, i2, log_q=lq)
    # row 0: z = [1 - ln .5, 0 - ln .25]; row 1: z = [0 - ln .5, 1 - ln .25]
    z0 = [1 + math.log(2), math.log(4)]
    z1 = [math.log(2), 1 + math.log(4)]
    r0 = -z0[0] + math.log(sum(math.exp(v) for v in z0))
    r1 = -z1[1] + math.log(sum(math.exp(v) for v in z1))
    assert value(loss, device) == pytest.approx((r0 + r1) / 2, rel=1e-6)
    # masking row 0's only negative leaves row 0 with loss 0
    hits = on(device, torch.tensor([[False, True], [False, False]]))
    loss = InfoNCELoss(temperature=1.0)(i2, i2, hits=hits)
    assert value(loss, device) == pytest.approx(math.log(1 + 1 / E) / 2, rel=1e-6)
    # the label column is never masked, even when asked
    loss2 = InfoNCELoss(temperature=1.0)(i2, i2, hits=torch.ones(2, 2, dtype=torch.bool))
    assert value(loss2, device) == pytest.approx(0.0, abs=1e-7)


@device
def test_infonce_extra_negatives_and_temperature(device):
    neg, i2 = on(device, torch.tensor([[-1.0, 0.0]]), I2)
    loss = InfoNCELoss(temperature=0.5)(i2[:1], i2[:1], neg)
    # logits [1/0.5, -1/0.5] = [2, -2]
    assert value(loss, device) == pytest.approx(math.log(1 + math.exp(-4)), rel=1e-5)


@device
def test_infonce_ids_mask_in_batch_copies_of_the_rows_item(device):
    # rows 0 and 2 have the same item (id 7): each is the other's positive, not a negative;
    # ids were only used to skip the memory queue's copies, the in-batch copy stayed a negative
    e0, e1 = [1.0, 0.0], [0.0, 1.0]
    a = on(device, torch.tensor([e0, e1, e0]))
    ids = torch.tensor([7, 8, 7])  # on the CPU: moved to the logits' device
    # logits (τ = 1): rows 0 and 2 [1, 0, 1] less their copy's column; row 1 [0, 1, 0]
    r02 = math.log(1 + 1 / E)
    r1 = math.log(2 + E) - 1
    got = InfoNCELoss(temperature=1.0)(a, a, ids=ids)
    assert value(got, device) == pytest.approx((2 * r02 + r1) / 3, rel=1e-6)
    # the same as marking the copies as hits; ids < 0 (unknown) match nothing
    hits = torch.tensor([[0, 0, 1], [0, 0, 0], [1, 0, 0]], dtype=torch.bool)
    assert InfoNCELoss(1.0)(a, a, hits=hits).item() == pytest.approx(got.item(), rel=1e-6)
    unknown = InfoNCELoss(1.0)(a, a, ids=torch.tensor([-1, 8, -1]))
    assert value(unknown, device) == pytest.approx(InfoNCELoss(1.0)(a, a).item(), rel=1e-6)
    # with extra negatives, only the batch's columns are compared by id
    neg = on(device, torch.tensor([[-1.0, 0.0]]))
    got = InfoNCELoss(temperature=1.0)(a, a, neg, ids=ids)
    want = (2 * math.log(1 + 1 / E + math.exp(-2)) + math.log(2 + E + 1) - 1) / 3
    assert value(got, device) == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="one item id per row"):
        InfoNCELoss()(a, a, ids=torch.tensor([7, 8]))


def test_infonce_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        InfoNCELoss()(I2, torch.eye(3))
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0)
    with pytest.raises(ValueError, match="log_q"):
        InfoNCELoss()(I2, I2, log_q=torch.zeros(3))
    with pytest.raises(ValueError, match="shared negatives"):
        InfoNCELoss()(I2, I2, torch.zeros(2, 2, 2))


@device
def test_ntxent_two_pairs(device):
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], device=device)
    z2 = torch.tensor([[1.0, 0.0], [0.0, -1.0]], device=device)
    # vectors u0=(1,0) u1=(0,1) v0=(1,0) v1=(0,-1); τ = 1
    # u0: pos v0 (1), others u1 (0), v1 (0): -log(e/(e+2)); same for v0
    # u1: pos v1 (-1), others u0 (0), v0 (0): -log(e^-1/(e^-1+2)); same for v1
    a = -math.log(E / (E + 2))
    b = -math.log(math.exp(-1) / (math.exp(-1) + 2))
    assert value(NTXentLoss(1.0)(z1, z2), device) == pytest.approx((2 * a + 2 * b) / 4, rel=1e-6)


def _dcl_row(pos, negs, tau_plus, t, beta=0.0):
    """The paper's formula for one row, in plain Python (pos, negs are cosines)."""
    p = math.exp(pos / t)
    ng = [math.exp(s / t) for s in negs]
    imp = [v**beta for v in ng]
    mean_imp = sum(imp) / len(imp)
    rew = sum(i * v for i, v in zip(imp, ng)) / mean_imp
    n = len(ng)
    g = max((rew - n * tau_plus * p) / (1 - tau_plus), n * math.exp(-1 / t))
    return -math.log(p / (p + g))


@device
def test_debiased_by_hand(device):
    i2 = on(device, I2)
    # rows: pos = 1 (e), one in-batch negative of cosine 0 (1); τ⁺ = 0.1, t = 1
    ng = (1 - 0.1 * E) / 0.9
    want = -math.log(E / (E + ng))
    got = DebiasedContrastiveLoss(tau_plus=0.1, temperature=1.0)(i2, i2)
    assert value(got, device) == pytest.approx(want, rel=1e-6)
    # τ⁺ = 0.5: (1 - 0.5 e) / 0.5 < e^{-1}, so the floor N e^{-1/t} applies
    want = -math.log(E / (E + math.exp(-1)))
    got = DebiasedContrastiveLoss(tau_plus=0.5, temperature=1.0)(i2, i2)
    assert value(got, device) == pytest.approx(want, rel=1e-6)
    # τ⁺ = 0 is plain InfoNCE over the same negatives
    got = DebiasedContrastiveLoss(tau_plus=0.0, temperature=1.0)(i2, i2)
    assert value(got, device) == pytest.approx(math.log(1 + 1 / E), rel=1e-6)


def _three_rows():
    ang = torch.tensor([0.0, 0.7, 2.0], dtype=torch.float64)
    a = torch.stack([torch.cos(ang), torch.sin(ang)], 1)
    p = torch.stack([torch.cos(ang + 0.2), torch.sin(ang + 0.2)], 1)
    return a, p


@device
@pytest.mark.parametrize("beta", [0.0, 1.0, 3.0])
def test_hard_negative_loss_by_formula(beta, device):
    a, p = _three_rows()
    t, tp = 0.5, 0.1
    s = (a @ p.T).tolist()
    want = (
        sum(_dcl_row(s[r][r], [s[r][c] for c in range(3) if c != r], tp, t, beta) for r in range(3))
        / 3
    )
    a, p = on(device, a, p)
    got = HardNegativeContrastiveLoss(beta=beta, tau_plus=tp, temperature=t)(a, p)
    assert value(got, device) == pytest.approx(want, rel=1e-9)
    if beta == 0.0:
        dcl = DebiasedContrastiveLoss(tau_plus=tp, temperature=t)(a, p)
        assert got.item() == pytest.approx(value(dcl, device), rel=1e-12)


def test_hard_negative_loss_weights_hard_ones_more():
    a, p = _three_rows()
    base = HardNegativeContrastiveLoss(beta=0.0, tau_plus=0.0)(a, p).item()
    hard = HardNegativeContrastiveLoss(beta=5.0, tau_plus=0.0)(a, p).item()
    assert hard > base  # up-weighting the closest negatives raises the loss


@device
def test_debiased_extra_negatives_per_row(device):
    a = torch.tensor([[1.0, 0.0]], device=device)
    p = torch.tensor([[1.0, 0.0]], device=device)
    negs = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]], device=device)  # cosines 0 and -1
    got = DebiasedContrastiveLoss(tau_plus=0.0, temperature=1.0, in_batch=False)(a, p, negs)
    assert value(got, device) == pytest.approx(-math.log(E / (E + 1 + math.exp(-1))), rel=1e-6)
    with pytest.raises(ValueError, match="tau_plus"):
        DebiasedContrastiveLoss(tau_plus=1.0)
    with pytest.raises(ValueError, match="no negatives"):
        DebiasedContrastiveLoss(in_batch=True)(a, p)


@device
def test_triplet_margin_by_hand(device):
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]], device=device)
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0]], device=device)
    n = torch.tensor([[0.0, 2.0], [0.0, 1.2]], device=device)
    # d_ap = 1; d_an = 2 -> max(0, 1 - 2 + .5) = 0;  d_an = 1.2 -> 0.3
    assert value(TripletMarginLoss(0.5)(a, p, n), device) == pytest.approx(0.15, rel=1e-6)
    got = TripletMarginLoss(0.5, reduction="sum")(a, p, n)
    assert value(got, device) == pytest.approx(0.3, rel=1e-6)
    got = TripletMarginLoss(0.5, reduction="nonzero")(a, p, n)
    assert value(got, device) == pytest.approx(0.3)
    emb = torch.cat([a[:1], p[:1], n])
    trip = (torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([2, 3]))  # CPU indices
    assert value(TripletMarginLoss(0.5)(emb, trip), device) == pytest.approx(0.15, rel=1e-6)
    # cosine distance: 1 - cos
    c = TripletMarginLoss(0.1, distance="cosine")(
        *on(
            device,
            torch.tensor([[1.0, 0.0]]),
            torch.tensor([[0.0, 1.0]]),
            torch.tensor([[1.0, 1.0]]),
        )
    )
    assert value(c, device) == pytest.approx(1 - (1 - 1 / math.sqrt(2)) + 0.1, rel=1e-6)
    with pytest.raises(ValueError, match="distance"):
        TripletMarginLoss(distance="manhattan")


def test_bad_arguments_get_clear_errors():
    # each of these was accepted (NaN margin: every loss NaN) or failed deep inside torch
    with pytest.raises(ValueError, match="margin must be >= 0 and finite"):
        TripletMarginLoss(margin=float("nan"))
    emb = torch.eye(4)
    lab = torch.tensor([0, 0, 1, 1])
    trip = (torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    with pytest.raises(ValueError, match="pytorch-metric-learning call"):
        TripletMarginLoss()(emb, lab, trip)  # was AttributeError: 'tuple' ... 'shape'
    a = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"negatives must be \(M, 4\) shared or \(3, M, 4\)"):
        DebiasedContrastiveLoss()(a, a, torch.randn(3, 2, 5))  # was einsum's error
    with pytest.raises(ValueError, match=r"negatives must be \(M, 4\)"):
        DebiasedContrastiveLoss()(a, a, torch.randn(2, 5))  # was a matmul shape error


@device
def test_memory_logsumexp_matches_brute_force_and_its_gradient(device):
    g = torch.Generator().manual_seed(0)
    mem = CrossBatchMemory(dim=4, size=10, chunk_size=3, device=device, dtype=torch.float64)
    keys = torch.randn(13, 4, generator=g, dtype=torch.float64)
    mem.enqueue(keys[:6], ids=torch.arange(6))  # CPU keys and ids: moved to the queue
    mem.enqueue(keys[6:].to(device), ids=list(range(6, 13)))  # 13 > 10: three oldest gone
    assert len(mem) == 10 and mem.keys.device.type == mem.ids.device.type == device
    held = {int(i) for i in mem.ids}
    assert held == set(range(3, 13))
    q = torch.randn(5, 4, generator=g, dtype=torch.float64).to(device).requires_grad_()
    ex = torch.tensor([3, 4, 99, 12, 7], device=device)
    lse = mem.logsumexp(q, 0.3, exclude=ex)
    assert lse.device.type == device
    k, ids = mem.keys, mem.ids
    z = (q @ k.T / 0.3).masked_fill(ids[None, :] == ex[:, None], float("-inf"))
    want = torch.logsumexp(z, 1)
    assert torch.allclose(lse, want)
    w = torch.arange(1.0, 6.0, dtype=torch.float64)
    w = w.to(device)
    (gq,) = torch.autograd.grad((lse * w).sum(), q)
    (gw,) = torch.autograd.grad((want * w).sum(), q)
    assert torch.allclose(gq, gw)


@device
@pytest.mark.parametrize("queue_on", ["inputs_device", "cpu_queue"])
def test_infonce_with_memory_equals_explicit_negatives(device, queue_on):
    g = torch.Generator().manual_seed(1)
    q, k = torch.randn(4, 8, generator=g), torch.randn(4, 8, generator=g)
    queue = torch.nn.functional.normalize(torch.randn(20, 8, generator=g), dim=1)
    want = InfoNCELoss(0.2)(q, k, queue).item()  # on the CPU
    # a queue on another device than the queries is read on the queries' device
    mem = CrossBatchMemory(
        dim=8, size=32, chunk_size=7, device=device if queue_on == "inputs_device" else "cpu"
    )
    mem.enqueue(queue.to(device))
    q, k = on(device, q, k)
    q.requires_grad_()
    loss = InfoNCELoss(0.2)(q, k, memory=mem)
    assert value(loss, device) == pytest.approx(want, rel=1e-5)
    loss.backward()
    assert q.grad.device.type == device and torch.isfinite(q.grad).all()


def test_memory_unknown_ids_exclude_nothing():
    # keys enqueued without ids hold id -1; a row whose id is -1 (unknown) skipped all of them
    g = torch.Generator().manual_seed(2)
    mem = CrossBatchMemory(dim=3, size=6, chunk_size=4)
    keys = torch.randn(5, 3, generator=g)
    mem.enqueue(keys[:3])  # ids -1
    mem.enqueue(keys[3:], ids=[4, 9])
    q = torch.randn(3, 3, generator=g)
    lse = mem.logsumexp(q, 0.5, exclude=torch.tensor([-1, 9, -5]))
    z = q @ keys.T / 0.5
    assert lse[0].item() == pytest.approx(torch.logsumexp(z[0], 0).item(), rel=1e-6)
    assert lse[1].item() == pytest.approx(torch.logsumexp(z[1, :4], 0).item(), rel=1e-6)
    assert lse[2].item() == pytest.approx(torch.logsumexp(z[2], 0).item(), rel=1e-6)


def test_memory_bad_input():
    with pytest.raises(ValueError, match="size"):
        CrossBatchMemory(dim=4, size=0)
    mem = CrossBatchMemory(dim=4, size=8)
    with pytest.raises(ValueError, match="keys must be"):
        mem.enqueue(torch.zeros(2, 3))
    assert mem.logsumexp(torch.zeros(2, 4), 0.1).isneginf().all()  # empty queue


@pytest.mark.parametrize("beta", [None, 0.0, 1.0])
def test_debiased_losses_do_not_overflow_at_low_temperature(beta):
    # s/t near 100 at t = 0.01: e^{100} is inf in float32, so the plain formula gave inf
    ang = torch.tensor([0.0, 0.1, 0.2])
    a = torch.stack([torch.cos(ang), torch.sin(ang)], 1)
    p = torch.stack([torch.cos(ang + 0.05), torch.sin(ang + 0.05)], 1)
    s = (a.double() @ p.double().T).tolist()
    t, tp = 0.01, 0.1

    def want(t):
        return (
            sum(
                _dcl_row(s[r][r], [s[r][c] for c in range(3) if c != r], tp, t, beta or 0.0)
                for r in range(3)
            )
            / 3
        )

    def make(t):
        if beta is None:
            return DebiasedContrastiveLoss(tau_plus=tp, temperature=t)
        return HardNegativeContrastiveLoss(beta=beta, tau_plus=tp, temperature=t)

    a.requires_grad_()
    got = make(t)(a, p)
    assert math.isfinite(want(t)) and want(t) > 0.1
    assert got.item() == pytest.approx(want(t), rel=1e-4)
    got.backward()
    assert torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0
    # float16 at t = 0.07: e^{1/0.07} = 1.6e6 is inf in float16
    half = make(0.07)(a.detach().half(), p.half())
    assert half.item() == pytest.approx(want(0.07), rel=1e-2)


def test_losses_take_mixed_float_dtypes():
    # float32 anchors with float16 / float64 keys: `@` raised "expected m1 and m2 to have the
    # same dtype"; now computed in the promoted dtype, equal to the all-float64 loss
    g = torch.Generator().manual_seed(4)
    a, p, n = (torch.randn(s, 8, generator=g) for s in (4, 4, 5))
    a16, p16, n16 = a.half().float(), p.half().float(), n.half().float()  # exact in float16
    for loss in (InfoNCELoss(0.1), DebiasedContrastiveLoss(0.1), HardNegativeContrastiveLoss()):
        want = loss(a16.double(), p16.double(), n16.double()).item()
        assert loss(a16, p16.half(), n16).item() == pytest.approx(want, rel=1e-5)
        assert loss(a16, p16, n16.half()).item() == pytest.approx(want, rel=1e-5)
        got = loss(a16, p16, n16.double())
        assert got.dtype == torch.float64 and got.item() == pytest.approx(want, rel=1e-12)
