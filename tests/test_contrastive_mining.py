"""mine_hard_negatives: band, margins, de-duplication and choice rules on small examples; with
embeddings on torch CPU, and on CUDA when a GPU is present (the ``[cuda]`` variants)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from _sampler_stats import chi2_pvalue  # noqa: E402

from negkit.contrastive import (  # noqa: E402
    HardNegativeRefresher,
    MinedNegatives,
    chunked_topk,
    mine_hard_negatives,
)

# query (1, 0): score = first coordinate.  Item 0 is the positive, item 5 its exact duplicate.
SCORES = [1.0, 0.95, 0.9, 0.85, 0.7, 1.0, 0.5, 0.3]
CORPUS = np.array([[s, 0.0] for s in SCORES], dtype=np.float32)
CORPUS[5] = CORPUS[0]
Q = np.array([[1.0, 0.0]], dtype=np.float32)
POS = np.array([0])
# ranks without the positive: 5 (r0), 1 (r1), 2 (r2), 3 (r3), 4 (r4), 6 (r5), 7 (r6)
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]
device = pytest.mark.parametrize("device", DEVICES)


def mine(device=None, **kw):
    """The example above, as NumPy arrays or (``device``) as torch tensors there."""
    kw.setdefault("range_max", 7)
    if device is None:
        return mine_hard_negatives(Q, CORPUS, POS, **kw)
    q, c, p = (torch.from_numpy(x).to(device) for x in (Q, CORPUS, POS))
    return mine_hard_negatives(q, c, p, **kw)


@device
def test_band_and_top_choice(device):
    m = mine(device, range_min=1, range_max=4, num_negatives=2)
    assert m.negative.tolist() == [1, 2]
    assert m.rank.tolist() == [1, 2]
    assert m.score.tolist() == pytest.approx([0.95, 0.9])
    assert m.positive_score.tolist() == pytest.approx([1.0, 1.0])
    assert m.query.tolist() == [0, 0] and m.positive.tolist() == [0, 0]


@device
def test_exact_duplicate_of_the_positive_is_never_a_negative(device):
    m = mine(device, range_min=0, range_max=3, num_negatives=2)
    assert m.negative.tolist() == [1, 2] and m.stats["dropped_duplicate"] == 1
    m = mine(device, range_min=0, range_max=3, num_negatives=2, dedup=False)
    assert m.negative.tolist() == [5, 1]
    # by key: item 3 has the positive's text although its vector differs
    keys = np.array(["a", "b", "c", "a", "d", "e", "f", "g"])
    m = mine(device, range_min=0, range_max=7, num_negatives=7, corpus_keys=keys)
    assert 3 not in m.negative.tolist() and 5 in m.negative.tolist()
    qk = np.array(["b"])  # the query's own text is not a negative either
    m = mine(device, num_negatives=7, corpus_keys=keys, query_keys=qk)
    assert 1 not in m.negative.tolist() and 3 not in m.negative.tolist()
    # integer keys as a tensor on the device
    int_keys = torch.tensor([0, 1, 2, 0, 4, 5, 6, 7], device=device)
    m = mine(device, num_negatives=7, corpus_keys=int_keys)
    assert 3 not in m.negative.tolist() and 5 in m.negative.tolist()


@device
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_duplicate_of_the_positive_is_never_a_negative(dtype, device):
    # the positive's score (an elementwise product) and its copy's (the search's matmul) are
    # rounded differently in half precision; the 1e-5 tie tolerance missed the copy in about
    # 2 of 5 of these cases, and mined the positive's exact duplicate as a negative
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = torch.from_numpy(rng.standard_normal((50, 64)).astype(np.float32)).to(dtype)
        q = torch.from_numpy(rng.standard_normal((20, 64)).astype(np.float32)).to(dtype)
        pos = rng.integers(0, 49, 20)
        c[49] = c[pos[0]]
        m = mine_hard_negatives(q.to(device), c.to(device), pos, range_max=49, num_negatives=49)
        assert 49 not in m.negative[m.query == 0].tolist()
        assert m.stats["dropped_duplicate"] >= 1
        assert (m.query == 0).sum() == 48  # the 49 other items less the copy


@device
def test_margins(device):
    # absolute: keep s <= 1.0 - 0.12 = 0.88 -> 3 (0.85), 4 (0.7)
    m = mine(device, num_negatives=2, absolute_margin=0.12)
    assert m.negative.tolist() == [3, 4]
    # relative: keep s <= 1.0 * (1 - 0.2) = 0.8 -> 4, 6
    m = mine(device, num_negatives=2, relative_margin=0.2)
    assert m.negative.tolist() == [4, 6]
    assert m.stats["dropped_margin"] == 3  # 1, 2, 3 (5 was dropped as a duplicate first)
    # both: the stricter one wins
    m = mine(device, num_negatives=1, absolute_margin=0.12, relative_margin=0.2)
    assert m.negative.tolist() == [4]
    with pytest.raises(ValueError, match="absolute_margin"):
        mine(absolute_margin=-0.1)


@device
def test_exclude_shifts_ranks(device):
    m = mine(device, range_min=1, range_max=3, num_negatives=2, exclude=[[1]])
    # without 0 and 1: 5 (r0), 2 (r1), 3 (r2)
    assert m.negative.tolist() == [2, 3] and m.rank.tolist() == [1, 2]
    ex = [torch.tensor([1], device=device)]  # id lists as tensors on the device
    m = mine(device, range_min=1, range_max=3, num_negatives=2, exclude=ex)
    assert m.negative.tolist() == [2, 3] and m.rank.tolist() == [1, 2]


def test_rows_without_negative_are_counted():
    m = mine(num_negatives=1, absolute_margin=0.9)  # s <= 0.1: nothing
    assert len(m) == 0 and m.stats["rows_without_negative"] == 1
    assert m.stats["rows_short"] == 1


def test_more_negatives_than_the_band_holds():
    # the band [0, 3) holds 3 candidates: 5 per row were silently cut to 3
    with pytest.raises(ValueError, match=r"num_negatives=5 exceeds the band .*holds 3"):
        mine(range_min=0, range_max=3, num_negatives=5)
    # short rows are counted: survivors of the band [0, 7) are 1, 2, 3, 4, 6, 7 (5 is the
    # duplicate); with a second query whose band is the same, both rows are short of 7
    q2 = np.concatenate([Q, Q])
    m = mine_hard_negatives(q2, CORPUS, np.array([0, 0]), range_max=7, num_negatives=7)
    assert len(m) == 12 and m.stats["rows_short"] == 2 and m.stats["rows_without_negative"] == 0
    assert m.matrix().shape == (2, 6)
    assert m.matrix(k=7)[:, 6].tolist() == [-1, -1]
    m = mine_hard_negatives(q2, CORPUS, np.array([0, 0]), range_max=7, num_negatives=6)
    assert len(m) == 12 and m.stats["rows_short"] == 0


def test_random_choice_is_uniform_over_the_survivors():
    draws = [
        mine(range_min=0, range_max=7, num_negatives=1, sampling="random", seed=s).negative[0]
        for s in range(300)
    ]
    # survivors: 1, 2, 3, 4, 6, 7 (5 is the duplicate)
    p = np.zeros(8)
    p[[1, 2, 3, 4, 6, 7]] = 1 / 6
    assert chi2_pvalue(np.array(draws), p) > 1e-3
    m = mine(num_negatives=4, sampling="random", seed=1)
    assert len(set(m.negative.tolist())) == 4  # without replacement


@device
def test_chunked_search_matches_brute_force(device):
    rng = np.random.default_rng(0)
    c = rng.standard_normal((1000, 8)).astype(np.float32)
    q = rng.standard_normal((50, 8)).astype(np.float32)
    s, i = chunked_topk(q, c, 20, query_chunk=7, corpus_chunk=33, device=device)
    want = torch.topk(torch.from_numpy(q @ c.T), 20, dim=1)
    assert np.allclose(s, want.values.numpy(), atol=1e-5)
    assert (i == want.indices.numpy()).mean() > 0.99  # ties aside
    pos = rng.integers(0, 1000, 50)
    a = mine_hard_negatives(q, c, pos, range_min=5, range_max=40, num_negatives=3)
    tq, tc = torch.from_numpy(q).to(device), torch.from_numpy(c).to(device)
    b = mine_hard_negatives(
        tq, tc, pos, range_min=5, range_max=40, num_negatives=3, query_chunk=9, corpus_chunk=64
    )
    assert a.negative.tolist() == b.negative.tolist()
    assert np.allclose(a.score, b.score, atol=1e-5)
    # ranks against the brute-force order without the positive
    full = np.argsort(-(q @ c.T), axis=1, kind="stable")
    for r in range(50):
        order = [x for x in full[r] if x != pos[r]]
        got = a.negative[a.query == r]
        assert got.tolist() == order[5:8]
    # a corpus smaller than the band
    s, i = chunked_topk(tq[:2], tc[:3], 5)
    assert (i[:, 3:] == -1).all() and np.isneginf(s[:, 3:]).all()


def test_table_matrix_save_load(tmp_path):
    rng = np.random.default_rng(1)
    c = rng.standard_normal((100, 4)).astype(np.float32)
    q = rng.standard_normal((6, 4)).astype(np.float32)
    m = mine_hard_negatives(q, c, np.arange(6), range_max=10, num_negatives=3)
    mat = m.matrix()
    assert mat.shape == (6, 3) and (mat >= 0).all()
    assert mat[2].tolist() == m.negative[m.query == 2].tolist()
    for suffix in (".csv", ".npz"):
        back = MinedNegatives.load(m.save(tmp_path / f"mined{suffix}"))
        for col in ("query", "positive", "negative", "rank"):
            assert getattr(back, col).tolist() == getattr(m, col).tolist()
        assert np.allclose(back.score, m.score, atol=1e-6)
    assert "MinedNegatives(18 triples" in repr(m)
    assert m.matrix(n_queries=8).shape == (8, 3) and (m.matrix(n_queries=8)[6:] == -1).all()
    with pytest.raises(ValueError, match="n_queries=5 is too small"):
        m.matrix(n_queries=5)  # was an IndexError
    with pytest.raises(ValueError, match=".csv or .npz"):
        m.save(tmp_path / "x.txt")


def test_bad_input():
    with pytest.raises(ValueError, match="empty"):
        mine(range_min=3, range_max=3)
    with pytest.raises(ValueError, match="sampling"):
        mine(sampling="best")
    with pytest.raises(ValueError, match="positive ids"):
        mine_hard_negatives(Q, CORPUS, np.array([8]))
    with pytest.raises(ValueError, match="dims"):
        chunked_topk(Q, np.zeros((3, 5), np.float32), 2)
    # was scipy's "negative axis 1 index: -1" from deep inside
    with pytest.raises(ValueError, match=r"exclude ids must lie in \[0, 8\), got -1\.\.-1"):
        mine(exclude=[[-1]])
    with pytest.raises(ValueError, match=r"exclude ids must lie in \[0, 8\), got 2\.\.8"):
        mine(exclude=[[2, 8]])
    # float ids were truncated: 0.5 mined against corpus item 0, 2.7 excluded item 2
    with pytest.raises(TypeError, match="positives must be integer corpus ids, got dtype float64"):
        mine_hard_negatives(Q, CORPUS, POS + 0.5)
    with pytest.raises(TypeError, match="exclude must be integer corpus ids, got dtype float64"):
        mine(exclude=[[2.7]])
    with pytest.raises(TypeError, match="positives must be integer corpus ids, got dtype bool"):
        mine_hard_negatives(Q, CORPUS, POS > 0)
    assert len(mine(exclude=[[]])) == len(mine())  # an empty list: nothing excluded


def test_faiss_backend_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` fails, installed or not
    with pytest.raises(ImportError, match=r"negkit\[faiss\]"):
        mine(backend="faiss")


@device
def test_refresher_reports_the_index_age(device):
    calls = []

    def encode():
        calls.append(1)
        return tuple(torch.from_numpy(x).to(device) for x in (Q, CORPUS, POS))

    r = HardNegativeRefresher(encode, every=3, range_max=7, num_negatives=1)
    ages, refreshed = [], []
    for _ in range(7):
        refreshed.append(r.step())
        ages.append(r.age)
    assert refreshed == [True, False, False, True, False, False, True]
    assert ages == [0, 1, 2, 0, 1, 2, 0]
    assert r.refreshes == len(calls) == 3 and r.negatives.step == 6
    assert r.negatives.negative.tolist() == [1]  # 5 is the positive's duplicate
    with pytest.raises(ValueError, match="every"):
        HardNegativeRefresher(encode, every=0)
    with pytest.raises(ValueError, match="step is set by the refresher"):
        HardNegativeRefresher(encode, every=2, step=5)  # was a TypeError at the first step


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_gives_the_cpu_results():
    from negkit.contrastive import CrossBatchMemory, InfoNCELoss

    rng = np.random.default_rng(2)
    c = torch.from_numpy(rng.standard_normal((500, 8)).astype(np.float32))
    q = torch.from_numpy(rng.standard_normal((20, 8)).astype(np.float32))
    pos = np.arange(20)
    a = mine_hard_negatives(q, c, pos, range_min=3, range_max=30, num_negatives=2)
    b = mine_hard_negatives(q.cuda(), c.cuda(), pos, range_min=3, range_max=30, num_negatives=2)
    assert a.negative.tolist() == b.negative.tolist()
    mem = CrossBatchMemory(8, size=64, chunk_size=10, device="cuda")
    mem.enqueue(torch.nn.functional.normalize(c[:64], dim=1).cuda())
    cpu = InfoNCELoss(0.1)(q, q + 0.1, torch.nn.functional.normalize(c[:64], dim=1))
    gpu = InfoNCELoss(0.1)(q.cuda(), q.cuda() + 0.1, memory=mem)
    assert gpu.item() == pytest.approx(cpu.item(), rel=1e-4)
