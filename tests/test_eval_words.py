"""negkit.eval.words against gensim's evaluate_word_pairs / evaluate_word_analogies."""

from __future__ import annotations

import numpy as np
import pytest

from negkit import KeyedVectors
from negkit.eval.words import word_analogy, word_similarity

gensim_models = pytest.importorskip("gensim.models")


def planted(seed: int = 0, noise: float = 0.35):
    """Vectors with capital = country + offset (+ noise), plural = noun + offset, case variants."""
    rng = np.random.default_rng(seed)
    d = 12
    keys: list[str] = []
    vecs: list[np.ndarray] = []

    def add(k: str, v: np.ndarray) -> None:
        keys.append(k)
        vecs.append(v.astype(np.float32))

    off_cap, off_pl = rng.normal(0, 1, d), rng.normal(0, 1, d)
    for i in range(10):
        base = rng.normal(0, 1, d)
        add(f"country{i}", base)
        add(f"capital{i}", base + off_cap + rng.normal(0, noise, d))
    for i in range(10):
        base = rng.normal(0, 1, d)
        add(f"noun{i}", base)
        add(f"noun{i}s", base + off_pl + rng.normal(0, noise, d))
    add("Athens", rng.normal(0, 1, d))  # more frequent case variant of "athens"
    add("athens", rng.normal(0, 1, d))
    for i in range(20):
        add(f"filler{i}", rng.normal(0, 1, d))
    return KeyedVectors(np.vstack(vecs), keys)


def write_analogies(path) -> None:
    lines = [": capital-world"]
    for i in range(10):
        for j in range(10):
            if i != j:
                lines.append(f"country{i} capital{i} country{j} capital{j}")
    lines.append("country1 capital1 ATHENS capital3")  # case variant, wrong
    lines.append("country1 capital1 unknown capital3")  # OOV
    lines.append(": gram8-plural")
    for i in range(10):
        for j in range(10):
            if i != j:
                lines.append(f"noun{i} noun{i}s noun{j} noun{j}s")
    path.write_text("\n".join(lines) + "\n")


def write_pairs(path, kv: KeyedVectors, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    lines = ["# word1\tword2\tscore"]
    for _ in range(60):
        a, b = rng.choice(len(kv) - 20, 2, replace=False)
        score = 5 + 4 * kv.similarity(kv.index_to_key[a], kv.index_to_key[b]) + rng.normal(0, 1)
        lines.append(f"{kv.index_to_key[a]}\t{kv.index_to_key[b]}\t{score:.2f}")
    lines += ["ATHENS\tcountry1\t3.0", "nosuchword\tcountry2\t5.0", "capital1\tcountry1\t9.1"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())


def as_gensim(kv: KeyedVectors):
    g = gensim_models.KeyedVectors(kv.vector_size)
    g.add_vectors(kv.index_to_key, kv.vectors)
    return g


def test_word_similarity_matches_gensim(tmp_path):
    kv = planted()
    p = tmp_path / "pairs.txt"
    write_pairs(p, kv)
    ours = word_similarity(kv, p)
    pearson, spearman, oov_ratio = as_gensim(kv).evaluate_word_pairs(str(p))
    assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert ours["oov_ratio"] == pytest.approx(oov_ratio, abs=1e-9)
    assert ours["oov_pairs"] == 1 and ours["pairs"] == 62
    assert ours["spearman"] > 0.5  # the planted scores follow cosine similarity


@pytest.mark.parametrize("restrict", [300000, 30])
def test_word_analogy_matches_gensim(tmp_path, restrict):
    kv = planted()
    p = tmp_path / "questions.txt"
    write_analogies(p)
    ours = word_analogy(kv, p, restrict_vocab=restrict)
    score, sections = as_gensim(kv).evaluate_word_analogies(str(p), restrict_vocab=restrict)
    assert ours["accuracy"] == pytest.approx(score, abs=1e-6)
    by_name = {s["section"]: s for s in sections}
    for name, sec in ours["sections"].items():
        assert sec["correct"] == len(by_name[name]["correct"]), name
        assert sec["answered"] == len(by_name[name]["correct"]) + len(by_name[name]["incorrect"])
    if restrict == 300000:
        assert 0.3 < ours["accuracy"] < 1.0  # planted offsets with noise: many but not all right
        assert ours["coverage"] == pytest.approx(181 / 182)
        assert ours["semantic"] == ours["sections"]["capital-world"]["accuracy"]
        assert ours["syntactic"] == ours["sections"]["gram8-plural"]["accuracy"]


def test_word_analogy_3cosmul_matches_gensim_cosmul(tmp_path):
    kv = planted(seed=3)
    p = tmp_path / "questions.txt"
    write_analogies(p)
    ours = word_analogy(kv, p, restrict_vocab=len(kv), method="3cosmul", case_insensitive=False)
    g = as_gensim(kv)
    correct = answered = 0
    for line in p.read_text().splitlines():
        if line.startswith(":"):
            continue
        a, b, c, d = line.split()
        if not all(w in g.key_to_index for w in (a, b, c, d)):
            continue
        answered += 1
        sims = g.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
        predicted = next((w for w, _ in sims if w not in (a, b, c)), sims[-1][0])
        correct += predicted == d
    assert (ours["correct"], ours["answered"]) == (correct, answered)
    with pytest.raises(ValueError, match="3cosadd"):
        word_analogy(kv, p, method="cosine")


def test_real_eval_files_match_gensim(real_data):
    """Random vectors over the real corpus vocabulary's head: same numbers as gensim."""
    from negkit.data.word_eval import read_similarity

    we = real_data / "word_eval"
    files = ("wordsim353/EN-WS-353-ALL.txt", "simlex999/EN-SIMLEX-999.txt")
    pairs = [p for f in files for p in read_similarity(we / f)]
    words = sorted({w.lower() for a, b, _ in pairs for w in (a, b)})
    rng = np.random.default_rng(0)
    kv = KeyedVectors(rng.standard_normal((len(words), 20)).astype(np.float32), words)
    g = as_gensim(kv)
    for f in files:
        ours = word_similarity(kv, we / f)
        pearson, spearman, oov = g.evaluate_word_pairs(str(we / f))
        assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
        assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
        assert ours["oov_ratio"] == pytest.approx(oov, abs=1e-9)
