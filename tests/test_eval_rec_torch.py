"""Device full ranking (torch.topk, chunked) agrees with the CPU evaluator on the same
embeddings, for every metric; on torch CPU here, and on CUDA when a GPU is present."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.eval.rec import evaluate_ranking

torch = pytest.importorskip("torch")
from negkit.eval.rec_torch import DeviceRanking, evaluate_ranking_torch  # noqa: E402

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]


def _split(n_users=300, n_items=500, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items))
    train = sp.csr_matrix(dense < 0.05)
    valid = sp.csr_matrix((dense >= 0.05) & (dense < 0.06))
    dense[7] = 1.0  # a user without test items is not evaluated
    test = sp.csr_matrix((dense >= 0.06) & (dense < 0.08))
    return train, valid, test


@pytest.mark.parametrize("device", DEVICES)
def test_device_ranking_matches_the_cpu_evaluator(device):
    train, valid, test = _split()
    rng = np.random.default_rng(1)
    U = rng.standard_normal((300, 16)).astype(np.float32)
    V = rng.standard_normal((500, 16)).astype(np.float32)
    ks = (5, 20, 50)
    cpu = evaluate_ranking(U, V, test, exclude=[train, valid], ks=ks, chunk_size=64)
    rank = DeviceRanking(test, [train, valid, None], ks=ks, chunk_size=100, device=device)
    got = rank(torch.as_tensor(U, device=device), torch.as_tensor(V, device=device))
    assert got.keys() == cpu.keys() and got["n_users"] == cpu["n_users"] == 299
    for name, value in cpu.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name
    assert 0 < got["recall@20"] < got["recall@50"]  # not trivially zero
    # a second call on other embeddings reuses the structure
    U2 = -U
    cpu2 = evaluate_ranking(U2, V, test, exclude=[train, valid], ks=ks)
    got2 = rank(torch.as_tensor(U2, device=device), torch.as_tensor(V, device=device))
    assert all(got2[n] == pytest.approx(v, abs=1e-6) for n, v in cpu2.items())


def test_device_ranking_hand_computed_values_and_errors():
    # every user ranks items 0 > 1 > 2 > 3 > 4; item 0 is a training item of user 0
    U = torch.tensor([[1.0], [1.0]])
    V = torch.tensor([[5.0], [4.0], [3.0], [2.0], [1.0]])
    train = sp.csr_matrix(([1.0], ([0], [0])), shape=(2, 5))
    test = sp.csr_matrix((np.ones(3), ([0, 0, 1], [2, 4, 0])), shape=(2, 5))
    r = evaluate_ranking_torch(U, V, test, exclude=[train], ks=[2])
    ndcg0 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert r["recall@2"] == pytest.approx(0.75) and r["precision@2"] == pytest.approx(0.5)
    assert r["ndcg@2"] == pytest.approx((ndcg0 + 1) / 2) and r["mrr"] == pytest.approx(0.75)
    assert r["hitrate@2"] == 1.0 and r["n_users"] == 2
    with pytest.raises(ValueError, match="NaN"):
        evaluate_ranking_torch(U * float("nan"), V, test)
    with pytest.raises(ValueError, match="cut-offs"):
        DeviceRanking(test, ks=[0])


@pytest.mark.parametrize("device", DEVICES)
def test_tied_scores_rank_as_on_the_cpu(device):
    # few distinct scores: ties everywhere, at the K-th place too; the CPU ranks the lower
    # item id first, the device must too (torch.topk alone orders ties as it likes)
    rng = np.random.default_rng(5)
    U = rng.integers(-1, 2, (60, 3)).astype(np.float32)
    V = rng.integers(-1, 2, (40, 3)).astype(np.float32)
    dense = rng.random((60, 40))
    dense[3, :35] = 0.0  # user 3: 35+ training items, fewer unmasked items than K = 10
    train = sp.csr_matrix(dense < 0.2)
    test = sp.csr_matrix(dense >= 0.9)
    for ks in ((1, 3, 10), (1, 3, 10, 50)):  # K = 50 is more than the 40 items
        cpu = evaluate_ranking(U, V, test, exclude=[train], ks=ks, chunk_size=7)
        for chunk in (1, 13, 100):
            rank = DeviceRanking(test, [train], ks=ks, chunk_size=chunk, device=device)
            got = rank(torch.as_tensor(U, device=device), torch.as_tensor(V, device=device))
            for name, value in cpu.items():
                assert got[name] == pytest.approx(value, abs=1e-12), (ks, chunk, name)
    # a model scoring every item the same: the test item, the last of 10, ranks 10th
    same = evaluate_ranking_torch(
        torch.zeros(1, 2, device=device),
        torch.zeros(10, 2, device=device),
        sp.csr_matrix(([1.0], ([0], [9])), shape=(1, 10)),
        ks=[5],
    )
    assert same["recall@5"] == 0.0 and same["mrr"] == pytest.approx(0.1)
