"""Text corpus and word-evaluation readers: tiny files written here, plus the shared corpus."""

from __future__ import annotations

import gzip
import logging
import lzma

import numpy as np
import pytest

from negkit.data.errors import DataFormatError
from negkit.data.text import build_vocab, corpus_counts, encode, iter_sentences, open_text
from negkit.data.word_eval import read_analogies, read_similarity

CORPUS = "b a c a\n\nd a b\nb e\n"  # counts: a 3, b 3, c 1, d 1, e 1


@pytest.mark.parametrize(
    "suffix,opener", [(".txt", open), (".txt.gz", gzip.open), (".txt.xz", lzma.open)]
)
def test_compressed_and_plain_read_the_same(tmp_path, suffix, opener):
    p = tmp_path / f"c{suffix}"
    with opener(p, "wt", encoding="utf-8") as f:
        f.write(CORPUS)
    assert list(iter_sentences(p)) == [["b", "a", "c", "a"], ["d", "a", "b"], ["b", "e"]]
    assert corpus_counts(p) == {"tokens": 9, "vocab": 5, "lines": 4}


def test_a_byte_order_mark_is_not_part_of_the_first_word(tmp_path):
    p = tmp_path / "notepad.txt"
    p.write_text(CORPUS, encoding="utf-8-sig")
    assert list(iter_sentences(p)) == [["b", "a", "c", "a"], ["d", "a", "b"], ["b", "e"]]
    assert build_vocab(p, min_count=1).counts.tolist() == [3, 3, 1, 1, 1]  # b, a, c, d, e


def test_vocab_sorted_by_count_ties_first_seen(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text(CORPUS)
    v = build_vocab(p, min_count=1)
    assert v.index_to_key == ["b", "a", "c", "d", "e"]  # b and a tie at 3: b seen first
    assert v.counts.tolist() == [3, 3, 1, 1, 1]
    assert v.key_to_index == {"b": 0, "a": 1, "c": 2, "d": 3, "e": 4}
    assert (v.total_words, v.raw_types) == (9, 5)
    v2 = build_vocab(p, min_count=2)
    assert v2.index_to_key == ["b", "a"] and v2.total_words == 9
    assert build_vocab(p, min_count=1, max_vocab_size=3).index_to_key == ["b", "a", "c"]


def test_encode_drops_oov_and_counts_it(tmp_path, caplog):
    p = tmp_path / "c.txt"
    p.write_text(CORPUS)
    v = build_vocab(p, min_count=2)
    with caplog.at_level(logging.INFO, logger="negkit.data.text"):
        tokens, offsets = encode(p, v)
    assert tokens.dtype == np.int32 and offsets.dtype == np.int64
    # sentences: [b a a] [a b] [b]
    assert tokens.tolist() == [0, 1, 1, 1, 0, 0]
    assert offsets.tolist() == [0, 3, 5, 6]
    assert "3 of 9 tokens are out of vocabulary" in caplog.text


def test_iterable_of_token_lists_and_long_lines(tmp_path):
    sents = [["x"] * 50_000 + ["y"], ["y", "x"]]
    v = build_vocab(sents, min_count=1)
    tokens, offsets = encode(sents, v)
    assert offsets.tolist() == [0, 50_001, 50_003]  # no truncation of the long sentence
    p = tmp_path / "long.txt"
    p.write_text(" ".join(["w"] * 200_000) + "\n")
    assert next(iter(iter_sentences(p))) == ["w"] * 200_000
    with pytest.raises(TypeError, match="is a string"):
        build_vocab(["a b c"], min_count=1)


def test_bad_corpus_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="empty"):
        build_vocab(empty, min_count=1)
    p = tmp_path / "c.txt"
    p.write_text(CORPUS)
    with pytest.raises(ValueError, match="min_count=4"):
        build_vocab(p, min_count=4)
    with pytest.raises(ValueError, match="min_count must be"):
        build_vocab(p, min_count=0)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: not UTF-8"):
        list(iter_sentences(bad))
    with open_text(p) as f:
        assert f.readline() == "b a c a\n"
    with pytest.raises(FileNotFoundError):
        build_vocab(tmp_path / "missing.txt")


def test_read_similarity_tabs_spaces_comments_crlf(tmp_path):
    p = tmp_path / "sim.txt"
    p.write_bytes(b"# header\r\nold\tnew\t1.58\r\ntiger cat 7.35 extra\r\n\r\n")
    assert read_similarity(p) == [("old", "new", 1.58), ("tiger", "cat", 7.35)]
    bad = tmp_path / "bad.txt"
    bad.write_text("a\tb\t1\na\tb\thigh\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: score 'high' is not a number"):
        read_similarity(bad)
    short = tmp_path / "short.txt"
    short.write_text("a b\n")
    with pytest.raises(DataFormatError, match=r"short\.txt:1: expected"):
        read_similarity(short)
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n")
    with pytest.raises(DataFormatError, match="empty"):
        read_similarity(empty)


def test_read_analogies_google_and_msr(tmp_path):
    g = tmp_path / "google.txt"
    g.write_text(
        ": capitals\nAthens Greece Baghdad Iraq\n"
        ": gram1\ngood better bad worse\nbig bigger small smaller\n"
    )
    assert read_analogies(g) == [
        ("capitals", [("Athens", "Greece", "Baghdad", "Iraq")]),
        ("gram1", [("good", "better", "bad", "worse"), ("big", "bigger", "small", "smaller")]),
    ]
    m = tmp_path / "msr.txt"
    m.write_text("good better rough rougher\n")
    assert read_analogies(m) == [("msr", [("good", "better", "rough", "rougher")])]
    bad = tmp_path / "bad.txt"
    bad.write_text(": s\na b c\n")
    with pytest.raises(DataFormatError, match=r"bad\.txt:2: expected 4 words"):
        read_analogies(bad)


def test_real_corpus_and_eval_files(real_data):
    counts = corpus_counts(real_data / "text_corpus_en" / "en_corpus_5m.txt.xz")
    assert counts == {"tokens": 5_313_608, "vocab": 93_407, "lines": 243_092}
    we = real_data / "word_eval"
    assert len(read_similarity(we / "wordsim353" / "EN-WS-353-ALL.txt")) == 353
    assert len(read_similarity(we / "simlex999" / "simlex999_gensim.txt")) == 999
    sections = read_analogies(we / "google_analogy" / "questions-words.txt")
    assert len(sections) == 14 and sum(len(q) for _, q in sections) == 19_544
