"""LINE: learns a planted two-community graph with several noise samplers; seeding; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numba import njit

import negkit.samplers as ns
from negkit._rng import rand_int
from negkit.graph.line import LINE, line_embeddings


def _planted(n=120, seed=0):
    rng = np.random.default_rng(seed)
    lab = np.arange(n) < n // 2
    same = np.equal.outer(lab, lab)
    a = np.triu(rng.random((n, n)) < np.where(same, 0.15, 0.01), 1)
    return sp.csr_matrix((a | a.T).astype(np.float64)), lab


def _separation(emb, lab):
    e = emb - emb.mean(0)  # second-order vectors share a large common direction
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    c = e @ e.T
    same = np.equal.outer(lab, lab)
    np.fill_diagonal(same, False)
    cross = ~np.equal.outer(lab, lab)
    # share of (same-community, cross-community) pairs ranked the right way, per node
    wins = [np.mean(c[i, same[i]][:, None] > c[i, cross[i]][None, :]) for i in range(len(lab))]
    return float(np.mean(wins))


@pytest.mark.parametrize(
    "order,sampler",
    [
        (1, "degree"),
        (2, "degree"),
        (1, "uniform"),
        (2, ns.get("degree", alpha=0.0, exclude_positives=True)),
    ],
)
def test_line_separates_planted_communities(order, sampler):
    a, lab = _planted()
    epochs = 30 if order == 1 else 100  # second order needs more samples (its context starts at 0)
    model = LINE(16, order=order, epochs=epochs, sampler=sampler, workers=2, seed=1).fit(a)
    assert model.embeddings_.shape == (120, 16)
    # chance is 0.5; the random initial vectors give about that
    assert _separation(model.embeddings_, lab) > 0.8


def test_line_initial_vectors_do_not_separate():
    """The check above can fail: before training, the separation is at chance."""
    a, lab = _planted()
    seen = []
    LINE(16, order=1, epochs=1, lr=1e-9, seed=1).fit(a, on_epoch=lambda e, m: seen.append(e))
    emb = LINE(16, order=1, epochs=1, lr=1e-9, seed=1).fit(a).embeddings_
    assert seen == [0]
    assert abs(_separation(emb, lab) - 0.5) < 0.1


def test_line_both_orders_and_seeded_repeat():
    a, lab = _planted()
    e1 = line_embeddings(a, 16, order="both", epochs=5, seed=3)
    e2 = line_embeddings(a, 16, order="both", epochs=5, seed=3)
    assert e1.shape == (120, 16)
    np.testing.assert_allclose(np.linalg.norm(e1[:, :8], axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(e1, e2), "single-thread seeded runs must repeat exactly"
    e3 = line_embeddings(a, 16, order="both", epochs=5, seed=4)
    assert not np.array_equal(e1, e3)


def test_line_bad_input():
    with pytest.raises(ValueError, match="order"):
        LINE(8, order=3)
    with pytest.raises(ValueError, match="negative"):
        LINE(8, negative=0)
    with pytest.raises(ValueError, match="edge"):
        LINE(8).fit(sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="unknown sampler"):
        LINE(8, sampler="nope").fit(_planted()[0])


class _HardestOfThree(ns.Sampler):
    """A DNS-like score-aware sampler for the test: the best-scored of 3 uniform candidates."""

    score_aware = True

    def _kernel(self):
        return _draw_hardest, (self.output_, np.int64(self.n_items_))


@njit(nogil=True)
def _draw_hardest(state, anchor, pos, vec, ctx):
    out, n = state
    best, best_score = -1, -np.inf
    for _ in range(3):
        c = rand_int(ctx, n)
        s = 0.0
        for k in range(vec.shape[0]):
            s += out[c, k] * vec[k]
        if s > best_score:
            best, best_score = c, s
    return best


def test_line_with_a_score_aware_sampler_reads_live_tables():
    a, lab = _planted()
    model = LINE(16, order=2, epochs=100, sampler=_HardestOfThree(), seed=1).fit(a)
    assert model.sampler_.output_ is model.context_  # by reference, not a copy
    assert model.sampler_.input_ is model.embeddings_
    assert _separation(model.embeddings_, lab) > 0.8


@pytest.mark.parametrize("name", ["adaptive", "dns", "mcns"])
def test_line_with_the_library_score_aware_samplers(name):
    if name not in ns.available():
        pytest.skip(f"sampler {name!r} is not in this version of negkit.samplers")
    a, lab = _planted()
    model = LINE(16, order=2, epochs=100, sampler=name, seed=1).fit(a)
    assert _separation(model.embeddings_, lab) > 0.8
