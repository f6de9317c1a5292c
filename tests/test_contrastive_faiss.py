"""backend="faiss" gives exact search's neighbours, scores and mined negatives (ties aside).

Skipped where faiss is not installed (CI does not install it): ``pip install 'negkit[faiss]'``.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("faiss")

from negkit.contrastive import chunked_topk, mine_hard_negatives  # noqa: E402
from negkit.contrastive.search import CorpusSearch  # noqa: E402

TOL = 1e-5
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]


def assert_same_topk(got, want, q, c, tol=TOL):
    """The two ``(scores, ids)`` agree: the same scores, each the id's true score, and the same
    ids except for order among (near-)ties; at the cut, any of the tied items may be kept."""
    (sg, ig), (sw, iw) = got, want
    ref = np.asarray(q, np.float64) @ np.asarray(c, np.float64).T
    assert np.array_equal(ig < 0, iw < 0)
    assert np.allclose(sg, sw, rtol=tol, atol=tol)
    for s, i in ((sg, ig), (sw, iw)):
        rows, cols = np.nonzero(i >= 0)
        assert np.allclose(s[rows, cols], ref[rows, i[rows, cols]], rtol=tol, atol=tol)
    for r in range(ig.shape[0]):
        ok = iw[r] >= 0
        s, a, b = sw[r][ok], ig[r][ok], iw[r][ok]
        cut = np.flatnonzero(np.diff(s) < -tol * (1 + np.abs(s[1:]))) + 1  # breaks between runs
        runs = np.split(np.arange(s.shape[0]), cut)
        complete = runs[:-1] if s.shape[0] < ref.shape[1] else runs
        for run in complete:
            assert set(a[run].tolist()) == set(b[run].tolist())
        last = runs[-1]  # the run at the cut: members may differ, but each must be tied
        assert np.allclose(ref[r, a[last]], s[last[0]], rtol=tol, atol=tol)


def _random(n=1500, nq=60, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((nq, d)).astype(np.float32),
        rng.standard_normal((n, d)).astype(np.float32),
    )


@pytest.mark.parametrize("k", [1, 17, 200, 1600])  # 1600 > the corpus: padded with -1 / -inf
def test_topk_matches_exact_search_on_random_data(k):
    q, c = _random()
    want = chunked_topk(q, c, k, query_chunk=25, corpus_chunk=97)
    got = chunked_topk(q, c, k, query_chunk=25, backend="faiss")
    assert_same_topk(got, want, q, c)
    if k < 1500:  # random data has no ties: the very same ids, in the same order
        assert np.array_equal(got[1], want[1])
    else:
        assert (got[1][:, 1500:] == -1).all() and np.isneginf(got[0][:, 1500:]).all()


def test_topk_with_ties_and_duplicates():
    rng = np.random.default_rng(1)
    # coordinates in {-1, 0, 1}: many exact ties among distinct vectors, plus exact copies
    base = rng.integers(-1, 2, (150, 5)).astype(np.float32)
    c = np.concatenate([base, base[:40], base[:40]])
    q = rng.integers(-1, 2, (40, 5)).astype(np.float32)
    for k in (1, 7, 30, 400):
        want = chunked_topk(q, c, k, corpus_chunk=33)
        got = chunked_topk(q, c, k, backend="faiss")
        assert_same_topk(got, want, q, c)
    # integer scores are exact in float32: both give exactly the same scores
    s_f, i_f = chunked_topk(q, c, 30, backend="faiss")
    s_e, _ = chunked_topk(q, c, 30)
    assert np.array_equal(s_f, s_e) and np.array_equal(s_f, np.round(s_f))
    # every item tied with a query's best one (copies included) comes first, whatever the order
    for r in range(q.shape[0]):
        best = np.flatnonzero(q[r] @ c.T == s_f[r, 0])
        if best.size <= 30:
            assert sorted(i_f[r][s_f[r] == s_f[r, 0]].tolist()) == best.tolist()


def test_inputs_of_any_float_dtype_layout_and_device_type():
    q, c = _random(n=300, nq=10, d=8)
    want = chunked_topk(q, c, 20, backend="faiss")
    tq, tc = torch.from_numpy(q), torch.from_numpy(c)
    for qq, cc in (
        (q.astype(np.float64), c.astype(np.float64)),
        (tq, tc.T.contiguous().T),  # a non-contiguous corpus
        (np.asfortranarray(q), np.asfortranarray(c)),
        (tq.double(), tc.double()),
    ):
        assert_same_topk(chunked_topk(qq, cc, 20, backend="faiss"), want, q, c)
    # bfloat16 tensors: faiss searches their float32 values
    bq, bc = tq.bfloat16(), tc.bfloat16()
    got = chunked_topk(bq, bc, 20, backend="faiss")
    want = chunked_topk(bq.float(), bc.float(), 20)
    assert_same_topk(got, want, bq.double().numpy(), bc.double().numpy())


def test_faiss_checks_its_inputs_like_exact_search():
    q, c = _random(n=50, nq=3, d=8)
    with pytest.raises(ValueError, match="dims"):
        chunked_topk(q, c[:, :5], 3, backend="faiss")
    with pytest.raises(TypeError, match="floating point"):
        chunked_topk(q.astype(np.int64), c, 3, backend="faiss")
    with pytest.raises(ValueError, match="2-D"):
        chunked_topk(q[0], c, 3, backend="faiss")
    with pytest.raises(ValueError, match="backend"):
        chunked_topk(q, c, 3, backend="annoy")
    s, i = CorpusSearch(c[:0], backend="faiss").topk(q, 4)  # an empty corpus finds nothing
    assert (i == -1).all() and np.isneginf(s).all()
    assert CorpusSearch(c, backend="faiss").device == torch.device("cpu")


MINING = [
    dict(range_min=0, range_max=10, num_negatives=3),
    dict(range_min=20, range_max=120, num_negatives=5, query_chunk=17, corpus_chunk=101),
    dict(range_min=0, range_max=50, num_negatives=4, absolute_margin=0.5),
    dict(range_min=0, range_max=300, num_negatives=4, relative_margin=0.3, normalize=True),
    dict(range_min=5, range_max=60, num_negatives=6, sampling="random", seed=7),
    dict(range_min=0, range_max=40, num_negatives=2, exclude="random"),
]


def _same_table(a, b, group=None):
    assert a.stats == b.stats
    for col in ("query", "positive", "rank"):
        assert getattr(a, col).tolist() == getattr(b, col).tolist()
    if group is None:
        assert a.negative.tolist() == b.negative.tolist()
    else:  # tied items are exact copies: the same group at every rank
        assert group[a.negative].tolist() == group[b.negative].tolist()
    assert np.allclose(a.score, b.score, rtol=TOL, atol=TOL)
    assert np.allclose(a.positive_score, b.positive_score, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kw", MINING, ids=lambda kw: "-".join(f"{k}" for k in kw))
def test_mining_matches_exact_search(kw, device):
    q, c = _random(n=1200, nq=80, d=10, seed=2)
    rng = np.random.default_rng(3)
    pos = rng.integers(0, 1200, 80)
    # queries near their positive, so margins and the band bite on real competitors
    q = (c[pos] + 0.7 * q).astype(np.float32)
    kw = dict(kw)
    if kw.get("exclude") == "random":
        kw["exclude"] = [rng.integers(0, 1200, rng.integers(0, 25)).tolist() for _ in range(80)]
    tq, tc = torch.from_numpy(q).to(device), torch.from_numpy(c).to(device)
    want = mine_hard_negatives(q, c, pos, **kw)
    got = mine_hard_negatives(tq, tc, torch.from_numpy(pos).to(device), backend="faiss", **kw)
    assert len(want) > 0
    _same_table(got, want)
    if kw.get("absolute_margin") or kw.get("relative_margin"):
        assert want.stats["dropped_margin"] > 0


@pytest.mark.parametrize("device", DEVICES)
def test_mining_with_duplicates_matches_exact_search(device):
    rng = np.random.default_rng(4)
    base = rng.standard_normal((300, 8)).astype(np.float32)
    c = np.repeat(base, 3, axis=0)  # items 3g, 3g+1, 3g+2 are copies of group g
    group = np.arange(900) // 3
    pos = rng.integers(0, 900, 120)
    q = (c[pos] + 0.3 * rng.standard_normal((120, 8))).astype(np.float32)
    tq, tc = torch.from_numpy(q).to(device), torch.from_numpy(c).to(device)
    for kw in (
        dict(range_min=0, range_max=12, num_negatives=5),
        dict(range_min=3, range_max=30, num_negatives=4, absolute_margin=0.2),
        dict(range_min=0, range_max=12, num_negatives=5, corpus_keys=group),
        dict(range_min=0, range_max=12, num_negatives=6, dedup=False),
    ):
        want = mine_hard_negatives(q, c, pos, **kw)
        got = mine_hard_negatives(tq, tc, pos, backend="faiss", **kw)
        _same_table(got, want, group)
        if kw.get("dedup", True):  # the positive's copies are never negatives
            assert want.stats["dropped_duplicate"] > 0
            assert not (group[got.negative] == group[got.positive]).any()
        else:
            assert (group[got.negative] == group[got.positive]).any()
