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


def gensim_twin(kv: KeyedVectors):
    gensim = pytest.importorskip("gensim.models")
    g = gensim.KeyedVectors(kv.vector_size)
    g.add_vectors(kv.index_to_key, kv.vectors)
    return g


def test_get_mean_vector_has_gensims_defaults():
    """gensim 4: a plain mean of unit vectors (not re-normalised), unknown words skipped."""
    kv = KeyedVectors(np.array([[3, 4], [0, 2]], np.float32), ["a", "b"])
    # unit(a) = (0.6, 0.8), unit(b) = (0, 1): mean (0.3, 0.9), not made unit length
    np.testing.assert_allclose(kv.get_mean_vector(["a", "b"]), [0.3, 0.9], atol=1e-7)
    np.testing.assert_allclose(kv.get_mean_vector(["a", "zz"]), [0.6, 0.8], atol=1e-7)
    np.testing.assert_allclose(
        kv.get_mean_vector(["a", "b"], weights=[1, -3], pre_normalize=False), [0.75, -0.5]
    )
    unit = kv.get_mean_vector(["a", "b"], post_normalize=True)
    np.testing.assert_allclose(unit, np.array([0.3, 0.9]) / np.hypot(0.3, 0.9), atol=1e-7)
    with pytest.raises(KeyError, match="'zz' not in vocabulary"):
        kv.get_mean_vector(["a", "zz"], ignore_missing=False)
    kv = random_kv()
    g = gensim_twin(kv)
    for keys, kw in [
        (["w1", "w2", "nope"], {}),
        (["w1", kv.vectors[7]], {"weights": [2.0, -1.0]}),
        (["w3", "w4"], {"pre_normalize": False, "post_normalize": True}),
    ]:
        np.testing.assert_allclose(
            kv.get_mean_vector(keys, **kw), g.get_mean_vector(keys, **kw), atol=1e-6
        )


def test_topn_edges_and_cosmul_inputs_as_gensim():
    kv = random_kv()
    g = gensim_twin(kv)
    for fn in ("most_similar", "most_similar_cosmul"):
        assert getattr(kv, fn)("w1", topn=0) == getattr(g, fn)("w1", topn=0) == []
        ours = getattr(kv, fn)(positive=["w1", "w2"], negative=["w3"], topn=None)
        theirs = getattr(g, fn)(positive=["w1", "w2"], negative=["w3"], topn=None)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # a raw vector among the positives is used as given (gensim)
    vec = kv.vectors[5] * 3.0
    ours = kv.most_similar_cosmul(positive=["w1", vec], negative=["w7"], topn=5)
    theirs = g.most_similar_cosmul(positive=["w1", vec], negative=["w7"], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)
    with pytest.raises(ValueError, match="at least one positive"):
        kv.most_similar_cosmul(negative=["w1"])
    # a 2-D array is a list of vectors (gensim's _ensure_list)
    rows = kv.vectors[[4, 9]]
    for fn in ("most_similar", "most_similar_cosmul"):
        ours = getattr(kv, fn)(positive=rows, topn=4)
        theirs = getattr(g, fn)(positive=rows, topn=4)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], rtol=1e-5)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_fvocab_and_limit_as_gensim(tmp_path, binary):
    """gensim's (path, fvocab, binary) order: fvocab holds 'word count' lines; limit= reads the
    first vectors.  Both were unknown; a gensim-style positional fvocab was taken as binary."""
    gensim = pytest.importorskip("gensim.models")
    base = random_kv()
    kv = KeyedVectors(base.vectors, base.index_to_key, counts=np.arange(60, 0, -1) * 7)
    p, voc = tmp_path / "v.w2v", tmp_path / "vocab.txt"
    kv.save_word2vec_format(p, voc, binary=binary)
    assert voc.read_text(encoding="utf-8").splitlines()[:2] == ["w0 420", "w1 413"]
    raw = p.read_bytes()
    binary_size = len(b"60 8\n") + sum(len(k.encode()) + 2 + 4 * 8 for k in kv.index_to_key)
    assert raw.startswith(b"60 8\nw0 ") and (len(raw) == binary_size) == binary
    g = gensim.KeyedVectors.load_word2vec_format(str(p), str(voc), binary=binary, limit=25)
    back = KeyedVectors.load_word2vec_format(p, voc, binary=binary, limit=25)
    assert back.index_to_key == g.index_to_key == kv.index_to_key[:25]
    np.testing.assert_array_equal(back.vectors, g.vectors)
    np.testing.assert_array_equal(back.counts, [g.get_vecattr(k, "count") for k in g.index_to_key])
    # what gensim writes with fvocab, we read
    gp, gvoc = tmp_path / "g.w2v", tmp_path / "gvocab.txt"
    g.save_word2vec_format(str(gp), str(gvoc), binary=binary)
    again = KeyedVectors.load_word2vec_format(gp, gvoc, binary=binary)
    np.testing.assert_array_equal(again.counts, back.counts)
    assert KeyedVectors.load_word2vec_format(p, binary=binary, limit=3).index_to_key == [
        "w0",
        "w1",
        "w2",
    ]
    with pytest.raises(TypeError, match="fvocab is a path"):
        KeyedVectors.load_word2vec_format(p, True)
    with pytest.raises(ValueError, match="no word counts"):
        base.save_word2vec_format(p, voc)
    voc.write_text("w0 3\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"24 words have no count, e.g. 'w1'"):
        KeyedVectors.load_word2vec_format(p, voc, binary=binary, limit=25)


def test_counts_and_norms_as_a_gensim_user_reads_them():
    gensim = pytest.importorskip("gensim.models")
    from negkit import Word2Vec

    corpus = [["a", "b", "a", "c"], ["a", "b"]]
    m = Word2Vec(vector_size=4, min_count=1, workers=1, progress=False).build_vocab(corpus)
    g = gensim.Word2Vec(vector_size=4, min_count=1, workers=1)
    g.build_vocab(corpus)
    for w in ("a", "b", "c"):
        assert m.wv.get_vecattr(w, "count") == g.wv.get_vecattr(w, "count")
    with pytest.raises(KeyError, match="only 'count'"):
        m.wv.get_vecattr("a", "sample_int")
    with pytest.raises(KeyError, match="no counts"):
        random_kv().get_vecattr("w1", "count")
    kv = random_kv()
    kv.vectors[3] *= 10.0  # norms follow the vectors; fill_norms is accepted
    kv.fill_norms(force=True)
    assert kv.norms[3] == pytest.approx(float(np.linalg.norm(kv.vectors[3])), rel=1e-6)


def test_distance_rank_and_set_queries_agree_with_gensim(caplog):
    kv = random_kv()
    g = gensim_twin(kv)
    assert kv.distance("w1", "w2") == pytest.approx(g.distance("w1", "w2"), abs=1e-6)
    np.testing.assert_allclose(kv.distances("w3"), g.distances("w3"), atol=1e-6)
    np.testing.assert_allclose(
        kv.distances(kv.vectors[4], ["w1", "Paris"]),
        g.distances(kv.vectors[4], ["w1", "Paris"]),
        atol=1e-6,
    )
    for a, b in [(["w1", "w2"], ["w3"]), (["w5", "ünï", "w9"], ["w2", "w7", "nope"])]:
        assert kv.n_similarity(a, b) == pytest.approx(g.n_similarity(a, b), abs=1e-6)
    words = ["w1", "w2", "w3", "w4", "nope"]
    assert kv.doesnt_match(words) == g.doesnt_match(words)
    assert "nope" in caplog.text
    for a, b in [("w1", "w2"), ("w3", "Paris"), ("w10", "w10")]:
        assert kv.closer_than(a, b) == g.closer_than(a, b)
        assert kv.rank(a, b) == g.rank(a, b)
    for ours, theirs in [
        (kv.similar_by_word("w6", topn=5), g.similar_by_word("w6", topn=5)),
        (kv.similar_by_vector(kv.vectors[6], topn=5), g.similar_by_vector(kv.vectors[6], topn=5)),
    ]:
        assert [w for w, _ in ours] == [w for w, _ in theirs]
    # by hand: a = (1, 0), b = (1, 1), c = (0, 2); n_similarity means raw vectors
    small = KeyedVectors(np.array([[1, 0], [1, 1], [0, 2]], np.float32), ["a", "b", "c"])
    assert small.n_similarity(["a", "c"], ["b"]) == pytest.approx(0.9486833, abs=1e-6)
    assert small.rank("a", "c") == 2 and small.closer_than("a", "c") == ["b"]
    with pytest.raises(ZeroDivisionError, match="empty"):
        small.n_similarity([], ["a"])


@pytest.mark.parametrize("dummy", [False, True])
def test_evaluate_word_pairs_as_gensim(tmp_path, dummy):
    kv = random_kv()
    g = gensim_twin(kv)
    p = tmp_path / "pairs.tsv"
    rows = [
        "# comment",
        "w1\tw2\t3.5",
        "W3\tw4\t1.0",  # upper case: matched case-insensitively
        "w5\tparis\t7.25",
        "w6\tnope\t2.0",  # unknown word
        "w7 w8 4.0",  # not tab-separated: skipped
        "w9\tw10\tx",  # not a number: skipped
        "w11\tw12\t9.0",
        "ünï\tw13\t0.5",
        "w14\tw15\t5.5",
    ]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for kw in ({}, {"case_insensitive": False}, {"restrict_vocab": 12}):
        ours = kv.evaluate_word_pairs(p, dummy4unknown=dummy, **kw)
        theirs = g.evaluate_word_pairs(str(p), dummy4unknown=dummy, **kw)
        np.testing.assert_allclose(ours[0][0], theirs[0][0], atol=1e-6)  # pearson r
        np.testing.assert_allclose(ours[1][0], theirs[1][0], atol=1e-6)  # spearman rho
        assert ours[2] == pytest.approx(theirs[2])
    # by hand: 7 pairs read, 1 unknown (nope); case-sensitive, W3 and paris are unknown too
    assert kv.evaluate_word_pairs(p, dummy4unknown=dummy)[2] == pytest.approx(100 / 7)
    assert kv.evaluate_word_pairs(p, case_insensitive=False)[2] == pytest.approx(300 / 7)


@pytest.mark.parametrize("dummy", [False, True])
def test_evaluate_word_analogies_as_gensim(tmp_path, dummy):
    # y_i = x_i + shift: a:b :: c:d questions that 3CosAdd answers in part
    rng = np.random.default_rng(3)
    base = rng.standard_normal((12, 6)).astype(np.float32)
    shift = rng.standard_normal(6).astype(np.float32) * 2
    keys = [f"x{i}" for i in range(12)] + [f"y{i}" for i in range(12)]
    kv = KeyedVectors(np.vstack([base, base + shift]), keys)
    g = gensim_twin(kv)
    lines = [": capital-ish"]
    lines += [f"x{i} y{i} x{i + 1} y{i + 1}" for i in range(0, 10, 2)]
    lines += ["x0 y0 X3 y3", "x1 y1 nope y2", "bad line"]
    lines += [": gram-other", "y1 x1 y2 x2", "x5 x6 x7 x8", "y9 y8 y7 y6"]
    p = tmp_path / "q.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for kw in ({}, {"case_insensitive": False}, {"restrict_vocab": 18}):
        score, secs = kv.evaluate_word_analogies(p, dummy4unknown=dummy, **kw)
        g_score, g_secs = g.evaluate_word_analogies(str(p), dummy4unknown=dummy, **kw)
        assert score == pytest.approx(g_score)
        assert secs == g_secs
    score, secs = kv.evaluate_word_analogies(p)
    assert [s["section"] for s in secs] == ["capital-ish", "gram-other", "Total accuracy"]
    assert secs[0]["correct"] and 0 < score < 1  # some answered right, some not


def test_similarity_with_a_zero_vector_is_zero_as_gensim():
    """A zero row (padding, a null word) has cosine 0 in gensim's similarity; it was NaN."""
    kv = KeyedVectors(np.array([[1, 0], [0, 0], [3, 4]], np.float32), ["a", "pad", "c"])
    g = gensim_twin(kv)
    assert kv.similarity("a", "pad") == g.similarity("a", "pad") == 0.0
    assert kv.distance("pad", "c") == pytest.approx(g.distance("pad", "c")) == 1.0
    assert kv.similarity("a", "c") == pytest.approx(0.6, abs=1e-7)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_unicode_errors_as_gensim(tmp_path, binary):
    """A word cut inside a UTF-8 character (as truncated vocabularies have): an error by
    default, decoded with gensim's unicode_errors otherwise (the argument was unknown)."""
    gensim = pytest.importorskip("gensim.models")
    bad = "é".encode()[:1]
    p = tmp_path / "v.w2v"
    rows = [(b"ok", [1.0, 2.0]), (b"caf" + bad, [3.0, 4.0])]
    with open(p, "wb") as f:
        f.write(b"2 2\n")
        for w, v in rows:
            if binary:
                f.write(w + b" " + np.array(v, "<f4").tobytes() + b"\n")
            else:
                f.write(w + b" " + " ".join(map(str, v)).encode() + b"\n")
    with pytest.raises(DataFormatError, match="UTF-8"):
        KeyedVectors.load_word2vec_format(p, binary=binary)
    for errors in ("ignore", "replace"):
        ours = KeyedVectors.load_word2vec_format(p, binary=binary, unicode_errors=errors)
        theirs = gensim.KeyedVectors.load_word2vec_format(
            str(p), binary=binary, unicode_errors=errors
        )
        assert ours.index_to_key == theirs.index_to_key
        np.testing.assert_array_equal(ours.vectors, theirs.vectors)


def test_get_index_default_and_has_index_for_as_gensim():
    kv = random_kv()
    g = gensim_twin(kv)
    for key in ("w3", "Paris", "nope"):
        assert kv.get_index(key, -1) == g.get_index(key, -1)
        assert kv.has_index_for(key) == g.has_index_for(key)
    with pytest.raises(KeyError, match="'nope' not in vocabulary"):
        kv.get_index("nope")
    with pytest.raises(ValueError, match="2 counts for 3 keys"):
        KeyedVectors(np.zeros((3, 2), np.float32), ["a", "b", "c"], counts=[5, 4])
