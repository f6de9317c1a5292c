"""The CoNLL NER reader and the registered WNUT-17 set."""

from __future__ import annotations

import io

import pytest

from negkit.data import registry
from negkit.data.conll import bio_spans, read_conll
from negkit.data.errors import DataFormatError


def _read(text: str, **kw):
    f = io.StringIO(text)
    f.name = "mem.conll"
    return read_conll(f, **kw)


def test_sentences_tags_and_spans():
    d = _read("Empire\tB-location\nState\tI-location\nis\tO\n\t\nBob\tB-person\n.\tO\n\n")
    assert d.tokens == [["Empire", "State", "is"], ["Bob", "."]]
    assert d.spans == [[(0, 1, "location")], [(0, 0, "person")]]
    assert d.types == ["location", "person"]
    assert d.counts()["entities"] == 2 and d.counts()["tokens"] == 5


def test_bio_chunks_as_conlleval():
    tags = ["I-person", "I-person", "B-person", "I-group", "O", "I-group"]
    assert bio_spans(tags) == [(0, 1, "person"), (2, 2, "person"), (3, 3, "group"),
                               (5, 5, "group")]  # fmt: skip


@pytest.mark.parametrize(
    "text,line,problem",
    [
        ("a\tO\nb\tO\textra\n", 2, "expected 2 fields"),
        ("a\tO\nb\n", 2, "expected 2 fields"),
        ("a\tX-person\n", 1, "is not O, B-<type> or I-<type>"),
        ("a\tO\n\nb\tB-corporation,B-group\n", 3, "candidate tags"),
        ("a\tB-\n", 1, "is not O"),
        ("\tO\n", 1, "empty token"),
    ],
)
def test_malformed_lines_name_file_line_and_problem(text, line, problem):
    with pytest.raises(DataFormatError, match=problem) as e:
        _read(text)
    assert e.value.line == line and str(e.value).startswith(f"mem.conll:{line}:")


def test_empty_file_and_whitespace_separated():
    with pytest.raises(DataFormatError, match="no sentence"):
        _read("\n\t\n")
    d = _read("New York B-location\nYork I-location\n", sep=None)
    assert d.tokens == [["New", "York"]] and d.spans == [[(0, 1, "location")]]


def test_wnut17_is_registered():
    ds = registry.get("wnut_17")
    assert ds.name == "wnut17" and ds.kind == "ner" and "CC BY 4.0" in ds.licence
    assert len(ds.remotes) == 3 and all(r.sha256 for r in ds.remotes)


def test_wnut17_counts_match_the_manifest(real_data):
    info = registry.info("wnut17")
    assert [info[s]["sentences"] for s in ("train", "dev", "test")] == [3394, 1009, 1287]
    assert [info[s]["tokens"] for s in ("train", "dev", "test")] == [62730, 15733, 23394]
    assert [info[s]["entities"] for s in ("train", "dev", "test")] == [1975, 836, 1079]
    assert info["train"]["entity_types"]["person"] == 660
    with pytest.raises(ValueError, match="splits"):
        registry.load("wnut17", split="valid")


def test_a_docstart_line_ends_the_sentence_and_the_entity_before_it():
    text = "EU\tB-ORG\n-DOCSTART-\tO\nBlackburn\tI-ORG\nsaid\tO\n\n-DOCSTART-\tO\n\nHi\tO\n"
    d = read_conll(io.StringIO(text))
    assert d.tokens == [["EU"], ["Blackburn", "said"], ["Hi"]]
    assert d.spans == [[(0, 0, "ORG")], [(0, 0, "ORG")], []]
    assert d.counts()["entities"] == 2


def test_a_byte_order_mark_is_not_part_of_the_first_token(tmp_path):
    p = tmp_path / "bom.conll"
    p.write_text("EU\tB-ORG\nrejects\tO\n", encoding="utf-8-sig")
    assert read_conll(p).tokens == [["EU", "rejects"]]
    q = tmp_path / "bom2003.txt"  # CoNLL-2003 layout: the marker opens the file
    q.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n", encoding="utf-8-sig")
    d = read_conll(q, sep=None)
    assert d.tokens == [["EU"]] and d.spans == [[(0, 0, "ORG")]]
    with open(p, encoding="utf-8") as f:  # an open text file keeps the mark: dropped too
        assert read_conll(f).tokens == [["EU", "rejects"]]


def test_wnut17_compressed_copies_count_as_present_and_load(tmp_path, monkeypatch):
    import gzip

    folder = tmp_path / "ner" / "wnut17"
    folder.mkdir(parents=True)
    for f in ("wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated"):
        with gzip.open(folder / f"{f}.gz", "wt", encoding="utf-8") as out:
            out.write("New\tB-location\nYork\tI-location\n\nhi\tO\n")
    monkeypatch.setenv("NEGKIT_DATA", str(tmp_path))
    assert registry.get("wnut17").missing() == []  # `negkit data list`: present
    d = registry.load("wnut17", split="dev")
    assert d.tokens == [["New", "York"], ["hi"]] and d.spans[0] == [(0, 1, "location")]
    assert registry.info("wnut17")["test"]["entities"] == 1
