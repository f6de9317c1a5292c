"""The triple reader: ids, CRLF and gzip, malformed lines, entities unseen in train."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from negkit.data.errors import DataFormatError
from negkit.kg import read_triples


def _write(tmp_path, train, valid, test, crlf=False, gz=False):
    paths = []
    for name, lines in (("train", train), ("valid", valid), ("test", test)):
        text = ("\r\n" if crlf else "\n").join(lines) + "\n"
        p = tmp_path / (f"{name}.txt.gz" if gz else f"{name}.txt")
        if gz:
            with gzip.open(p, "wb") as f:
                f.write(text.encode())
        else:
            p.write_bytes(text.encode())
        paths.append(p)
    return paths


TRAIN = ["a\tr1\tb", "b\tr2\tc", "00123\tr1\ta"]


def test_ids_in_order_of_first_appearance(tmp_path):
    kg = read_triples(*_write(tmp_path, TRAIN, ["c\tr1\ta"], ["a\tr2\t00123"]))
    assert kg.entities == ["a", "b", "c", "00123"]  # leading zeros kept
    assert kg.relations == ["r1", "r2"]
    np.testing.assert_array_equal(kg.train, [[0, 0, 1], [1, 1, 2], [3, 0, 0]])
    np.testing.assert_array_equal(kg.valid, [[2, 0, 0]])
    np.testing.assert_array_equal(kg.test, [[0, 1, 3]])
    assert kg.unseen == {"valid": {"entities": 0, "triples": 0},
                         "test": {"entities": 0, "triples": 0}}  # fmt: skip


def test_crlf_and_gzip_read_like_plain(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = read_triples(*_write(tmp_path / "a", TRAIN, ["c\tr1\ta"], ["a\tr2\tb"]))
    crlf = read_triples(*_write(tmp_path / "b", TRAIN, ["c\tr1\ta"], ["a\tr2\tb"], True, True))
    assert crlf.entities == plain.entities and crlf.relations == plain.relations
    np.testing.assert_array_equal(crlf.train, plain.train)


@pytest.mark.parametrize(
    "line, problem",
    [("a\tr1", "expected 3 tab-separated fields"), ("a\tr1\tb\tc", "got 4"),
     ("a\t\tb", "empty field"), ("a r1 b", "got 1")],
)  # fmt: skip
def test_malformed_line_names_file_and_line(tmp_path, line, problem):
    paths = _write(tmp_path, [TRAIN[0], line], ["a\tr1\tb"], ["a\tr1\tb"])
    with pytest.raises(DataFormatError, match=problem) as e:
        read_triples(*paths)
    assert e.value.line == 2 and e.value.path.endswith("train.txt")


def test_relation_missing_from_train(tmp_path):
    with pytest.raises(ValueError, match="relations absent from train.*'r9'"):
        read_triples(*_write(tmp_path, TRAIN, ["a\tr9\tb"], ["a\tr1\tb"]))


def test_unseen_entities_counted_kept_dropped_or_refused(tmp_path):
    valid = ["a\tr1\tx", "y\tr1\tx", "a\tr1\tb"]  # x, y unseen: 2 entities, 2 triples
    test = ["z\tr2\ta", "a\tr2\tc"]
    paths = _write(tmp_path, TRAIN, valid, test)
    kept = read_triples(*paths)
    assert kept.unseen == {"valid": {"entities": 2, "triples": 2},
                           "test": {"entities": 1, "triples": 1}}  # fmt: skip
    assert len(kept.valid) == 3 and len(kept.test) == 2 and kept.n_entities == 7
    dropped = read_triples(*paths, unseen="drop")
    assert dropped.unseen == kept.unseen
    np.testing.assert_array_equal(dropped.valid, [[0, 0, 1]])
    np.testing.assert_array_equal(dropped.test, [[0, 1, 2]])
    with pytest.raises(ValueError, match="2 entities absent from train, in 2 of 3 triples"):
        read_triples(*paths, unseen="error")
    with pytest.raises(ValueError, match=r"\(--unseen keep / drop\)"):  # the CLI's words too
        read_triples(*paths, unseen="error")
    with pytest.raises(ValueError, match="unseen must be one of"):
        read_triples(*paths, unseen="ignore")


def test_dropped_triples_are_still_filtered_in_ranking(tmp_path):
    """``unseen="drop"`` removes (a, r, z) from test because z is not in train; it is still a
    true triple, so ranking the valid query (a, r, ?) must not count z above the answer c.
    The triples dropped used to vanish from ``all_true``: z scored above c and c ranked 2."""
    import torch

    from negkit.kg.evaluate import link_prediction
    from negkit.kg.models import make_model

    paths = _write(tmp_path, ["a\tr\tb", "b\tr\tc", "c\tr\ta"], ["a\tr\tc"], ["a\tr\tz"])
    kg = read_triples(*paths, unseen="drop")
    assert kg.entities == ["a", "b", "c", "z"] and len(kg.test) == 0
    model = make_model("distmult", 4, 1, 1)
    with torch.no_grad():  # s(a, r, e) = e's value: z 10 > c 5 > b 0 (b: a train answer)
        model.entity[:, 0] = torch.tensor([1.0, 0.0, 5.0, 10.0])
        model.relation.fill_(1.0)
    m = link_prediction(model, kg.valid, kg.all_true())
    assert m["mrr_tail"] == 1.0
    np.testing.assert_array_equal(kg.dropped, [[0, 0, 3]])
    assert len(read_triples(*paths).dropped) == 0  # kept: in test, not in dropped


def test_empty_file(tmp_path):
    paths = _write(tmp_path, TRAIN, ["a\tr1\tb"], ["a\tr1\tb"])
    paths[1].write_text("\n")
    with pytest.raises(DataFormatError, match="empty"):
        read_triples(*paths)


def test_wn18rr_matches_manifest(real_data):
    from negkit.data import registry

    if registry.get("wn18rr").missing():
        pytest.skip("wn18rr absent from NEGKIT_DATA")
    kg = registry.load("wn18rr")
    assert (kg.n_entities, kg.n_relations) == (40943, 11)
    assert (len(kg.train), len(kg.valid), len(kg.test)) == (86835, 3034, 3134)
    assert kg.unseen["valid"] == {"entities": 198, "triples": 210}
    assert kg.unseen["test"] == {"entities": 209, "triples": 210}
    assert np.unique(kg.train[:, 0]).size <= 40559


def test_fb15k237_crlf_matches_manifest(real_data):
    from negkit.data import registry

    if registry.get("fb15k237").missing():
        pytest.skip("fb15k237 absent from NEGKIT_DATA")
    kg = registry.load("fb15k237")
    assert (kg.n_entities, kg.n_relations) == (14541, 237)
    assert (len(kg.train), len(kg.valid), len(kg.test)) == (272115, 17535, 20466)
    assert not any(e.endswith("\r") for e in kg.entities[:100])
    assert kg.unseen["test"] == {"entities": 29, "triples": 28}
