"""The real data sets in ``$NEGKIT_DATA`` (../shared/data): counts from issue 2 and MANIFEST.md."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negkit.cli import main
from negkit.data import registry

EXPECTED = {
    "gowalla": {"users": 29_858, "items": 40_981, "train": 810_128, "test": 217_242},
    "blogcatalog": {"nodes": 10_312, "edges": 333_983, "labels": 39},
    "cora": {"nodes": 2_708, "edges": 5_278, "labels": 7},
    "ml-100k": {"users": 943, "items": 1_682, "ratings": 100_000},
    "ml-1m_lightgcnpp": {
        "users": 6_039,
        "items": 3_628,
        "train": 590_733,
        "valid": 80_897,
        "test": 164_848,
    },  # fmt: skip
    "pubmed": {"nodes": 19_717, "edges": 44_324, "labels": 3},
    "citeseer": {"nodes": 3_327, "edges": 4_552, "labels": 6},
    "ppi": {"nodes": 3_890, "edges": 37_845, "self_loops": 894, "labels": 50},
    "wikipedia_pos": {"nodes": 4_777, "edges": 92_295, "self_loops": 222, "labels": 40},
    "simlex999": {"pairs": 999},
    "google_analogy": {"sections": 14, "questions": 19_544},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_info_counts(real_data, name, capsys):
    assert main(["-q", "data", "info", name]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {k: got[k] for k in EXPECTED[name]} == EXPECTED[name]


def test_corpus_tokens(real_data):
    got = registry.info("corpus")
    assert got["tokens"] == 5_313_608 and got["vocab"] == 93_407


def test_partial_lightgcn_set_says_train_is_missing(real_data):
    got = registry.info("amazon-book")
    assert got["test"] == 603_378 and got["missing"] == ["train.txt"]
    with pytest.raises(FileNotFoundError, match="negkit data fetch amazon-book"):
        registry.load("amazon-book")


def test_yelp2018_is_complete(real_data):
    got = registry.info("yelp2018")
    assert {k: got[k] for k in ("users", "items", "train", "test")} == {
        "users": 31_668,
        "items": 38_048,
        "train": 1_237_259,
        "test": 324_147,
    }  # MANIFEST.md's checked counts
    d = registry.load("yelp2018")
    assert d.train.nnz == 1_237_259 and d.train.multiply(d.test).nnz == 0


def test_gowalla_split_is_disjoint(real_data):
    d = registry.load("gowalla")
    assert d.train.multiply(d.test).nnz == 0
    assert np.all(np.diff(d.train.indptr) > 0)  # every user has training items


def test_movielens_leave_one_out(real_data):
    d = registry.load("ml-100k", split="loo", seed=0)
    assert d.counts() == {
        "users": 943,
        "items": 1682,
        "train": 100_000 - 2 * 943,
        "valid": 943,
        "test": 943,
    }  # every user has >= 20 ratings
    np.testing.assert_array_equal(np.diff(d.test.indptr), 1)
    assert d.user_ids[0] == 1 and d.item_ids[-1] == 1682


def test_planetoid_split_and_features(real_data):
    g = registry.load("cora")
    assert [len(g.split[k]) for k in ("train", "val", "test")] == [140, 500, 1000]
    assert g.features.shape == (2708, 1433)
    np.testing.assert_array_equal(np.asarray(g.labels.sum(axis=1)).ravel(), 1)


def test_word_eval_paths(real_data):
    assert registry.load("wordsim353").name == "EN-WS-353-ALL.txt"
    assert registry.info("wordsim353") == {"pairs": 353}


def test_movielens_grouplens_split(real_data):
    d = registry.load("ml-100k", split="u1")
    assert d.counts() == {"users": 943, "items": 1682, "train": 80_000, "test": 20_000}
    assert d.train.multiply(d.test).nnz == 0
    with pytest.raises(ValueError, match="split must be"):
        registry.load("ml-100k", split="u9")
