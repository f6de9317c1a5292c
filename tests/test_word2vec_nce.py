"""NCE on the skip-gram engine: a known conditional law recovered, self-normalised."""

from __future__ import annotations

import numpy as np
import pytest

from negkit import Word2Vec

P_STAR = np.array([[0.40, 0.25, 0.15, 0.10, 0.05, 0.05], [0.05, 0.05, 0.10, 0.15, 0.25, 0.40]])


def _corpus(n: int = 3000, seed: int = 0) -> list[list[str]]:
    """Two-word sentences ``[a, t]``: anchor a, then t ~ P_STAR[a] (window 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for a in range(2):
        for t in rng.choice(6, size=n, p=P_STAR[a]):
            out.append([f"a{a}", f"t{t}"])
    rng.shuffle(out)
    return out


def _learnt(nce: bool) -> np.ndarray:
    m = Word2Vec(vector_size=16, window=1, min_count=1, sample=0, sg=1, negative=5,
                 epochs=15, workers=1, seed=3, alpha=0.05, nce=nce, compute_loss=False)  # fmt: skip
    m.fit(_corpus())
    ix = m.wv.key_to_index
    a = m.wv.vectors[[ix["a0"], ix["a1"]]]
    t = m.syn1neg[[ix[f"t{j}"] for j in range(6)]]
    return np.exp(a @ t.T)


def test_nce_recovers_the_conditional_law_without_normalising():
    p = _learnt(nce=True)  # measured: rows sum to 1.002, 0.994; largest error 0.018
    assert np.allclose(p.sum(axis=1), 1.0, atol=0.1)
    assert np.abs(p - P_STAR).max() < 0.05
    # negative sampling estimates p / (k q), not p: its rows sum to 2.85 here
    sgns = _learnt(nce=False)
    assert np.abs(sgns.sum(axis=1) - 1.0).max() > 0.3


def test_nce_needs_skip_gram_per_pair_and_a_known_q():
    with pytest.raises(ValueError, match="skip-gram"):
        Word2Vec(sg=0, nce=True)
    with pytest.raises(ValueError, match="skip-gram"):
        Word2Vec(sg=1, shared_negatives=True, nce=True)
    m = Word2Vec(vector_size=8, window=1, min_count=1, sg=1, nce=True, sampler="dns", epochs=1)
    with pytest.raises(ValueError, match="does not depend on the anchor"):
        m.fit(_corpus(50))
