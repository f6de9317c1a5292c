"""negkit.KeyedVectors: lookup, cosine queries and the word2vec formats, checked against gensim."""

from __future__ import annotations

import numpy as np
import pytest

from negkit import KeyedVectors
from negkit.data.errors import DataFormatError


def random_kv(n: int = 60, d: int = 8, seed: int = 0) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    keys = [f"w{i}" for i in range(n - 2)] + ["ünï", "Paris"]
    return KeyedVectors(rng.standard_normal((n, d)).astype(np.float32), keys)


def test_lookup_and_similarity_by_hand():
    kv = KeyedVectors(np.array([[1, 0], [1, 1], [0, 2]], np.float32), ["a", "b", "c"])
    assert len(kv) == 3 and "b" in kv and "z" not in kv and kv.vector_size == 2
    np.testing.assert_array_equal(kv["b"], [1, 1])
    np.testing.assert_array_equal(kv[["a", "c"]], [[1, 0], [0, 2]])
    assert kv.similarity("a", "b") == pytest.approx(1 / np.sqrt(2), abs=1e-7)
    assert kv.similarity("a", "c") == pytest.approx(0.0, abs=1e-7)
    # nearest to a: b (cos 0.707) then c (0); the query word itself is excluded
    assert [w for w, _ in kv.most_similar("a")] == ["b", "c"]
    # a - c + b: unit(a) + unit(b) - unit(c) = (1.707, -0.293) -> a first
    assert kv.most_similar(positive=["b"], negative=["c"], topn=1)[0][0] == "a"
    assert [w for w, _ in kv.most_similar("c", restrict_vocab=2)] == ["b", "a"]
    with pytest.raises(KeyError, match="'z' not in vocabulary"):
        kv["z"]
    with pytest.raises(KeyError, match="not in vocabulary"):
        kv.similarity("a", "z")
    with pytest.raises(ValueError, match="no words"):
        kv.most_similar(positive=[])


def test_most_similar_agrees_with_gensim():
    gensim = pytest.importorskip("gensim.models")
    kv = random_kv()
    g = gensim.KeyedVectors(kv.vector_size)
    g.add_vectors(kv.index_to_key, kv.vectors)
    for pos, neg, restrict in [
        (["w1"], [], None),
        (["w1", "w5"], ["w7"], None),
        (["w3"], ["w2"], 30),
    ]:
        ours = kv.most_similar(positive=pos, negative=neg, topn=8, restrict_vocab=restrict)
        theirs = g.most_similar(positive=pos, negative=neg, topn=8, restrict_vocab=restrict)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6)
    ours = kv.most_similar_cosmul(positive=["w1", "w5"], negative=["w7"], topn=8)
    theirs = g.most_similar_cosmul(positive=["w1", "w5"], negative=["w7"], topn=8)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_word2vec_format_round_trip_and_gensim(tmp_path, binary):
    kv = random_kv()
    p = tmp_path / ("v.bin" if binary else "v.txt")
    kv.save_word2vec_format(p, binary=binary)
    back = KeyedVectors.load_word2vec_format(p, binary=binary)
    assert back.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(back.vectors, kv.vectors)  # float32 exact in both formats
    gensim = pytest.importorskip("gensim.models")
    g = gensim.KeyedVectors.load_word2vec_format(str(p), binary=binary)
    assert g.index_to_key == kv.index_to_key
    for a, b in [("w0", "w1"), ("ünï", "Paris"), ("w3", "w40")]:
        assert g.similarity(a, b) == pytest.approx(kv.similarity(a, b), abs=1e-6)
    # and what gensim writes, we read
    q = tmp_path / ("g.bin" if binary else "g.txt")
    g.save_word2vec_format(str(q), binary=binary)
    np.testing.assert_allclose(
        KeyedVectors.load_word2vec_format(q, binary=binary).vectors, kv.vectors, atol=1e-6
    )


def test_bad_word2vec_files(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("2 3\na 1 2 3\nb 1 x 3\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:3: a vector entry is not a number"):
        KeyedVectors.load_word2vec_format(p)
    p.write_text("2 3\na 1 2 3\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:3: file ends after 1 of 2"):
        KeyedVectors.load_word2vec_format(p)
    p.write_text("two three\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:1: header"):
        KeyedVectors.load_word2vec_format(p)
    p.write_text("1 3\na 1 2\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: expected a word and 3 numbers"):
        KeyedVectors.load_word2vec_format(p)
    kv = KeyedVectors(np.zeros((1, 2), np.float32), ["has space"])
    with pytest.raises(ValueError, match="whitespace"):
        kv.save_word2vec_format(tmp_path / "x.txt")
