"""Device plumbing of negkit.contrastive: nothing is created off the inputs' device.

Every piece runs with torch's default device set to ``meta``: a tensor made without
``device=`` (a CPU-only tensor on a GPU run) then lands on ``meta`` and the call fails, as
it would cost a host round trip, or fail, on a GPU.  The results must equal those of a plain
run and sit on the inputs' device.  On torch CPU here; on CUDA too when a GPU is present.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from negkit.contrastive import (  # noqa: E402
    BatchHardMiner,
    BatchSemiHardMiner,
    CrossBatchMemory,
    DebiasedContrastiveLoss,
    DistanceWeightedMiner,
    HardNegativeContrastiveLoss,
    InfoNCELoss,
    MultiSimilarityMiner,
    NTXentLoss,
    TripletMarginLoss,
    chunked_topk,
    mine_hard_negatives,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]

g = torch.Generator().manual_seed(0)
A, P = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
NEG, NEG3 = torch.randn(5, 8, generator=g), torch.randn(6, 4, 8, generator=g)
LABELS = torch.tensor([0, 0, 1, 1, 2, 2])


def guarded(fn, *args):
    """``fn(*args)`` with the default device set to ``meta`` (inputs made before)."""
    with torch.device("meta"):
        return fn(*args)


def loss_and_grad(loss_fn, device, *extra):
    a = A.to(device).requires_grad_()
    loss = loss_fn(a, P.to(device), *(x.to(device) for x in extra))
    loss.backward()
    assert loss.device.type == device and a.grad.device.type == device
    return loss.item(), a.grad.cpu()


LOSSES = {
    "infonce": lambda a, p, n: InfoNCELoss(0.1)(
        a, p, n, log_q=np.full(11, -2.0), hits=[[False] * 10 + [True]] * 6
    ),
    "ntxent": lambda a, p: NTXentLoss(0.5)(a, p),
    "debiased": lambda a, p, n: DebiasedContrastiveLoss(0.1, 0.5)(a, p, n),
    "hard": lambda a, p: HardNegativeContrastiveLoss(2.0, 0.1, 0.5)(a, p),
    "triplet": lambda a, p: TripletMarginLoss(1.0)(torch.cat([a, p]), ([0, 1], [6, 7], [8, 2])),
}
EXTRA = {"infonce": (NEG,), "debiased": (NEG3,)}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_stay_on_the_inputs_device(name, device):
    fn, extra = LOSSES[name], EXTRA.get(name, ())
    want, want_grad = loss_and_grad(fn, "cpu", *extra)
    got, got_grad = guarded(loss_and_grad, fn, device, *extra)
    assert got == pytest.approx(want, rel=1e-5)
    assert torch.allclose(got_grad, want_grad, rtol=1e-4, atol=1e-6)


def _queue_loss(device):
    mem = CrossBatchMemory(8, size=12, chunk_size=5, device=device)
    mem.enqueue(NEG.to(device))  # ids default to -1
    mem.enqueue(NEG3[0].to(device), ids=[0, 1, 2, 3])  # ids as a list
    assert mem.keys.device.type == mem.ids.device.type == device
    return loss_and_grad(
        lambda a, p: InfoNCELoss(0.2)(a, p, memory=mem, ids=[0, 1, 2, 3, 4, 5]), device
    )


@pytest.mark.parametrize("device", DEVICES)
def test_memory_queue_stays_on_the_inputs_device(device):
    want, want_grad = _queue_loss("cpu")
    got, got_grad = guarded(_queue_loss, device)
    assert got == pytest.approx(want, rel=1e-5)
    assert torch.allclose(got_grad, want_grad, rtol=1e-4, atol=1e-6)


MINERS = {
    "batch_hard": BatchHardMiner(normalize=True),
    "semi_hard": BatchSemiHardMiner(margin=1.0, select="hardest"),
    "multi_similarity": MultiSimilarityMiner(0.3),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(MINERS) + ["distance_weighted"])
def test_miners_stay_on_the_inputs_device(name, device):
    def run(dev):
        miner = MINERS.get(name) or DistanceWeightedMiner(nonzero_loss_cutoff=None, seed=4)
        out = miner(A.to(dev), LABELS.tolist())  # labels as a list
        assert all(t.device.type == dev and t.dtype == torch.long for t in out)
        return [t.tolist() for t in out]

    got = guarded(run, device)
    assert len(got[0]) > 0
    if name != "distance_weighted" or device == "cpu":  # seeded draws differ across devices
        assert got == run("cpu")
    if name == "distance_weighted":  # one draw per positive pair, of another label
        a, _, n = got
        assert len(a) == 6 and all(LABELS[i] != LABELS[j] for i, j in zip(a, n))


def _mine(device):
    rng = np.random.default_rng(1)
    c = np.repeat(rng.standard_normal((40, 6)).astype(np.float32), 2, axis=0)
    pos = rng.integers(0, 80, 10)
    q = torch.from_numpy(c[pos] + 0.2 * rng.standard_normal((10, 6)).astype(np.float32))
    tc = torch.from_numpy(c).to(device)
    tables = [
        mine_hard_negatives(
            q.to(device), tc, torch.from_numpy(pos).to(device), range_max=12,
            num_negatives=3, absolute_margin=0.05, exclude=[[int(p) ^ 1] for p in pos],
            query_chunk=4, corpus_chunk=7,
        ),
        mine_hard_negatives(
            q.to(device), tc, pos, range_min=2, range_max=20, num_negatives=4,
            sampling="random", seed=0, normalize=True,
            corpus_keys=torch.arange(80, device=device) // 2,
        ),
    ]  # fmt: skip
    s, i = chunked_topk(q, c, 9, query_chunk=3, corpus_chunk=11, device=device)
    return [t.to_dict() for t in tables] + [{"s": s, "i": i}]


@pytest.mark.parametrize("device", DEVICES)
def test_mining_stays_on_the_inputs_device(device):
    got, want = guarded(_mine, device), _mine("cpu")
    for g_, w in zip(got, want):
        for col in w:
            if col in ("s", "score", "positive_score"):
                assert np.allclose(g_[col], w[col], atol=1e-5)
            else:
                assert np.array_equal(g_[col], w[col])
    assert len(got[0]["query"]) > 0 and len(got[1]["query"]) > 0
