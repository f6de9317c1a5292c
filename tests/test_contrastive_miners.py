"""negkit.contrastive miners: hand-checked triplets, and the distance-weighted law by chi-square;
on torch CPU, and on CUDA when a GPU is present (the ``[cuda]`` variants)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

torch = pytest.importorskip("torch")

from _sampler_stats import chi2_pvalue  # noqa: E402

from negkit.contrastive import (  # noqa: E402
    BatchHardMiner,
    BatchSemiHardMiner,
    DistanceWeightedMiner,
    MultiSimilarityMiner,
    distance_weighted_law,
)

# points on a line: 0, 1, 3, 3.5, 10 with labels 0, 0, 1, 1, 0
X = torch.tensor([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.5, 0.0], [10.0, 0.0]])
Y = torch.tensor([0, 0, 1, 1, 0])
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]
device = pytest.mark.parametrize("device", DEVICES)


def _set(*idx):
    return sorted(zip(*(i.tolist() for i in idx)))


def mined(miner, emb, labels, device):
    """Run ``miner`` on ``device``; every index tensor it returns must be there, as int64."""
    out = miner(emb.to(device), torch.as_tensor(labels).to(device))
    for t in out:
        assert t.device.type == device and t.dtype == torch.long
    return out


@device
def test_batch_hard_by_hand(device):
    a, p, n = mined(BatchHardMiner(), X, Y, device)
    # anchor 0: farthest positive 4 (d 10), nearest negative 2 (d 3)
    # anchor 1: positives 0 (1), 4 (9) -> 4; negatives 2 (2), 3 (2.5) -> 2
    # anchor 2: positive 3; negatives 0 (3), 1 (2), 4 (7) -> 1
    # anchor 3: positive 2; negatives 0 (3.5), 1 (2.5), 4 (6.5) -> 1
    # anchor 4: positives 0 (10), 1 (9) -> 0; negatives 2 (7), 3 (6.5) -> 3
    assert _set(a, p, n) == [(0, 4, 2), (1, 4, 2), (2, 3, 1), (3, 2, 1), (4, 0, 3)]


@device
def test_batch_hard_skips_anchors_without_positive(device):
    a, p, n = mined(BatchHardMiner(), X[:3], torch.tensor([0, 1, 2]), device)
    assert a.numel() == 0


@device
def test_semi_hard_by_hand(device):
    # margin 1.5: d(a,p) < d(a,n) < d(a,p) + 1.5 holds only for (1, 0, 2): 1 < 2 < 2.5
    # ((1, 0, 3) has d(1,3) = 2.5, not < 2.5)
    assert _set(*mined(BatchSemiHardMiner(margin=1.5), X, Y, device)) == [(1, 0, 2)]
    # margin 3: (0,1): n with 1 < d < 4 -> 2 (3), 3 (3.5); (1,0): 2 (2), 3 (2.5);
    # (2,3): 0.5 < d < 3.5 -> 0 (3), 1 (2); (3,2): 1 (2.5)
    want = [(0, 1, 2), (0, 1, 3), (1, 0, 2), (1, 0, 3), (2, 3, 0), (2, 3, 1), (3, 2, 1)]
    assert _set(*mined(BatchSemiHardMiner(margin=3.0), X, Y, device)) == want
    hardest = mined(BatchSemiHardMiner(margin=3.0, select="hardest"), X, Y, device)
    assert _set(*hardest) == [(0, 1, 2), (1, 0, 2), (2, 3, 1), (3, 2, 1)]
    with pytest.raises(ValueError, match="margin"):
        BatchSemiHardMiner(margin=0)


@device
def test_multi_similarity_by_rule(device):
    ang = torch.tensor([0.0, 0.3, 0.5, 1.2, 2.5, 2.6])
    emb = torch.stack([torch.cos(ang), torch.sin(ang)], 1)
    lab = torch.tensor([0, 0, 1, 1, 0, 1])
    eps = 0.1
    a1, p, a2, n = mined(MultiSimilarityMiner(epsilon=eps), emb, lab, device)
    s = (emb @ emb.T).numpy()
    lab_ = lab.numpy()
    want_pos, want_neg = [], []
    for a in range(6):
        ps = [j for j in range(6) if j != a and lab_[j] == lab_[a]]
        ns = [j for j in range(6) if lab_[j] != lab_[a]]
        want_neg += [(a, j) for j in ns if s[a, j] > min(s[a, ps]) - eps]
        want_pos += [(a, j) for j in ps if s[a, j] < max(s[a, ns]) + eps]
    assert _set(a1, p) == sorted(want_pos)
    assert _set(a2, n) == sorted(want_neg)
    # the rule keeps something, and not everything, in this example
    assert 0 < len(want_neg) < 18


def test_miner_bad_labels():
    with pytest.raises(ValueError, match="one label per row"):
        BatchHardMiner()(X, torch.tensor([0, 1]))
    # a NaN margin or epsilon mined nothing, silently
    with pytest.raises(ValueError, match="margin must be positive"):
        BatchSemiHardMiner(margin=float("nan"))
    with pytest.raises(ValueError, match="epsilon must be a finite number"):
        MultiSimilarityMiner(epsilon=float("nan"))
    for bad in (float("nan"), 0.0, -1.0):  # every distance fails d < cutoff: nothing mined
        with pytest.raises(ValueError, match="nonzero_loss_cutoff must be positive"):
            DistanceWeightedMiner(nonzero_loss_cutoff=bad)


@pytest.mark.parametrize(
    "miner",
    [BatchHardMiner(), BatchSemiHardMiner(), DistanceWeightedMiner(seed=0), MultiSimilarityMiner()],
)
def test_miners_on_an_empty_batch(miner):
    # batch-hard and multi-similarity raised IndexError from argmax()/min() on an empty batch
    out = miner(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long))
    assert len(out) in (3, 4) and all(t.numel() == 0 and t.dtype == torch.long for t in out)


def _law(emb: np.ndarray, lab: np.ndarray, cutoff: float, nz: float, lam=None) -> np.ndarray:
    """The law, straight from Wu et al. (2017) in numpy."""
    x = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    n = x.shape[1]
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    dc = np.clip(d, cutoff, 2 - 1e-6)
    z = 2.0 ** (n - 2) * special.beta((n - 1) / 2, (n - 1) / 2)
    q = dc ** (n - 2) * (1 - dc**2 / 4) ** ((n - 3) / 2) / z
    w = 1.0 / q if lam is None else np.minimum(lam, 1.0 / q)
    w = w * ((lab[:, None] != lab[None]) & (d < nz))
    return w / w.sum(1, keepdims=True)


def test_distance_weighted_sphere_density():
    # q(d) is the density of the distance between two uniform points on the sphere in R^n:
    # d^2 / 4 ~ Beta((n-1)/2, (n-1)/2), so q(d) = beta_pdf(d^2/4) * d/2
    n = 6
    rng = np.random.default_rng(0)
    u = rng.standard_normal((4000, n))
    v = rng.standard_normal((4000, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    d = np.linalg.norm(u - v, axis=1)
    h = (n - 1) / 2
    assert stats.kstest(d**2 / 4, stats.beta(h, h).cdf).pvalue > 1e-3
    grid = np.linspace(0.05, 1.95, 39)
    q = np.exp(-distance_weighted_law(torch.tensor(grid), n, cutoff=0.0).numpy())
    assert np.allclose(q, stats.beta(h, h).pdf(grid**2 / 4) * grid / 2, rtol=1e-6)
    assert integrate.quad(lambda t: stats.beta(h, h).pdf(t * t / 4) * t / 2, 0, 2)[0] == (
        pytest.approx(1.0, rel=1e-6)
    )


@device
@pytest.mark.parametrize("lam", [None, 1.2])
def test_distance_weighted_draws_follow_the_law(lam, device):
    rng = np.random.default_rng(3)
    emb = rng.standard_normal((10, 5)).astype(np.float32)
    lab = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    miner = DistanceWeightedMiner(cutoff=0.5, nonzero_loss_cutoff=1.9, lam=lam, seed=0)
    e, y = torch.from_numpy(emb).to(device), torch.from_numpy(lab).to(device)
    prob = miner.probabilities(e, y)
    assert prob.device.type == device
    prob = prob.cpu().numpy()
    want = _law(emb.astype(np.float64), lab, 0.5, 1.9, lam)
    assert np.allclose(prob, want, atol=1e-6)
    if lam is not None:  # the cap bites in this example: some weights are equal to λ
        assert np.isclose(prob[0], prob[0].max()).sum() >= 2
    draws = []
    for _ in range(400):
        a, _, n = mined(miner, e, y, device)
        draws.append(n[a == 0].cpu().numpy())
    draws = np.concatenate(draws)
    assert chi2_pvalue(draws, want[0]) > 1e-3
    assert not np.isin(draws, [0, 1, 2]).any()  # never a positive


@device
def test_distance_weighted_cutoffs(device):
    # two classes far apart: with nonzero_loss_cutoff small, no negative is eligible
    emb = torch.tensor([[1.0, 0, 0], [0.99, 0.1, 0], [-1.0, 0, 0], [-0.99, -0.1, 0]])
    lab = torch.tensor([0, 0, 1, 1])
    miner = DistanceWeightedMiner(nonzero_loss_cutoff=1.0, seed=0)
    a, p, n = mined(miner, emb, lab, device)
    assert a.numel() == 0
    assert (miner.probabilities(emb.to(device), lab.to(device)) == 0).all()
    with pytest.raises(ValueError, match="dim >= 3"):
        distance_weighted_law(torch.ones(2), 2)


@device
def test_distance_weighted_seeds_its_own_generator(device):
    rng = np.random.default_rng(5)
    emb = torch.from_numpy(rng.standard_normal((12, 4)).astype(np.float32))
    lab = torch.arange(12) % 3
    a = [mined(DistanceWeightedMiner(seed=9), emb, lab, device)[2].tolist() for _ in range(2)]
    assert a[0] == a[1]  # the same seed, the same draws
    # without a seed the miner seeds its own generator, not torch's global one
    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    mined(DistanceWeightedMiner(), emb, lab, device)
    assert torch.equal(torch.rand(3), want)


@device
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_miners_take_half_precision_embeddings(dtype, device):
    # torch.cdist has no float16/bfloat16 kernel on the CPU: the miners raised
    # '"cdist" not implemented for Half'; now they mine as in float32 (X is exact in both)
    assert _set(*mined(BatchHardMiner(), X.to(dtype), Y, device)) == _set(
        *mined(BatchHardMiner(), X, Y, device)
    )
    semi = BatchSemiHardMiner(margin=3.0)
    assert _set(*mined(semi, X.to(dtype), Y, device)) == _set(*mined(semi, X, Y, device))
    rng = np.random.default_rng(3)
    emb = torch.from_numpy(rng.standard_normal((10, 5)).astype(np.float32)).to(dtype)
    lab = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    dw = DistanceWeightedMiner(nonzero_loss_cutoff=1.9, seed=0)
    prob = dw.probabilities(emb.to(device), lab.to(device)).cpu()
    want = dw.probabilities(emb.float().to(device), lab.to(device)).cpu()
    assert torch.allclose(prob, want, atol=1e-6)
    a, p, n = mined(dw, emb, lab, device)
    assert a.numel() > 0 and (lab[a] != lab[n]).all()
    ms = MultiSimilarityMiner(0.1)
    assert [t.tolist() for t in mined(ms, emb, lab, device)] == [
        t.tolist() for t in mined(ms, emb.float(), lab, device)
    ]
