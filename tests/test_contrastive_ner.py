"""Span NER with sampled negatives (Li et al. 2021): metric, annotation removal, training."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from negkit.contrastive.ner import drop_annotations, span_f1, train_span_ner  # noqa: E402
from negkit.data.conll import NERData, bio_spans  # noqa: E402


def test_span_f1_by_hand():
    gold = [[(0, 1, "loc"), (3, 3, "per")], [(2, 2, "org")]]
    pred = [[(0, 1, "loc"), (3, 3, "org")], [(2, 2, "org"), (4, 5, "per")]]
    m = span_f1(gold, pred)
    # tp = 2 (loc, org in sentence 2); 4 predicted, 3 gold
    assert (m["tp"], m["predicted"], m["gold"]) == (2, 4, 3)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    with pytest.raises(ValueError, match="sentences"):
        span_f1(gold, pred[:1])


def _toy(n=40):
    names = ["alice", "bob", "carol", "dave", "erin"]
    places = ["paris", "rome", "oslo", "lima"]
    tokens, tags = [], []
    for i in range(n):
        a, p = names[i % 5], places[i % 4]
        tokens.append([a, "lives", "in", p, "now", "."])
        tags.append(["B-per", "O", "O", "B-loc", "O", "O"])
    return NERData(tokens, tags)


def test_drop_annotations_removes_a_share_of_entities():
    d = _toy(10)  # 20 entities
    half = drop_annotations(d, 0.5, seed=1)
    assert sum(len(s) for s in half.spans) == 10
    assert all(bio_spans(t) == s for t, s in zip(half.tags, half.spans))
    assert half.tokens == d.tokens
    assert drop_annotations(d, 0.0, 0).spans == d.spans
    with pytest.raises(ValueError, match="rho"):
        drop_annotations(d, 1.5, 0)


def test_training_spans_per_epoch_and_learning():
    d = _toy(40)
    allr = train_span_ner(d, negatives="all", max_width=3, epochs=1, seed=0)
    # every span of width <= 3 in a 6-token sentence: 6 + 5 + 4 = 15
    assert allr.log[0]["spans"] == 40 * 15
    lam = 0.35
    small = {"word_dim": 16, "char_filters": 8, "hidden": 16, "dropout": 0.0}
    res = train_span_ner(
        d, negatives="sampled", lam=lam, max_width=3, epochs=15, lr=1e-2, seed=0, model_kw=small
    )
    k = math.ceil(lam * 6)  # 3 drawn per sentence, duplicates removed, plus 2 gold
    assert 40 * (2 + 1) <= res.log[0]["spans"] <= 40 * (2 + k)
    assert res.log[-1]["loss"] < res.log[0]["loss"]
    assert res.evaluate(d)["f1"] > 0.9
    with pytest.raises(ValueError, match="negatives"):
        train_span_ner(d, negatives="some")


def test_gold_types_outside_labels_are_refused_not_trained_as_o():
    d = _toy(4)
    kept = d.types[:1]
    with pytest.raises(ValueError, match=r"gold spans of type\(s\) \['.+'\] are not in labels="):
        train_span_ner(d, negatives="all", max_width=3, epochs=1, labels=kept)
    res = train_span_ner(d, negatives="all", max_width=3, epochs=1, labels=[*d.types, "EXTRA"])
    assert res.labels == ["O", *d.types, "EXTRA"]  # a type without gold spans is fine


def test_predict_with_empty_sentences():
    d = _toy(6)
    res = train_span_ner(d, negatives="all", max_width=3, epochs=1, seed=0)
    # a batch of empty sentences only raised "cannot reshape tensor of 0 elements"
    assert res.predict(NERData([[], []], [[], []])) == [[], []]
    mixed = NERData([[], *d.tokens[:2], []], [[], *d.tags[:2], []])
    got = res.predict(mixed, batch_size=1)
    assert len(got) == 4 and got[0] == [] and got[3] == []
    assert got[1:3] == res.predict(NERData(d.tokens[:2], d.tags[:2]))
