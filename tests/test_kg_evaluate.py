"""Filtered link prediction against a hand-computed example."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _kg_threads import one_torch_thread  # noqa: F401

from negkit.kg.best import BestEpoch
from negkit.kg.evaluate import TrueAnswers, filtered_ranks, link_prediction
from negkit.kg.models import make_model


def _distmult():
    m = make_model("distmult", 4, 1, 1)
    with torch.no_grad():
        m.entity.copy_(torch.tensor([[1.0], [2.0], [3.0], [-1.0]]))
        m.relation.copy_(torch.tensor([[1.0]]))
    return m


def test_filtered_metrics_by_hand():
    # s(h, r, t) = e_h e_t with e = (1, 2, 3, -1).
    # (0, 0, 1) tail: scores e_t = (1, 2, 3, -1); entity 2 beats the answer but (0, 0, 2) is
    #   true -> rank 1 (raw: 2).  head: scores 2 e_h = (2, 4, 6, -2); entities 1 and 2 beat
    #   it, (2, 0, 1) is true -> rank 2 (raw: 3).
    # (3, 0, 3): tail and head scores -e = (-1, -2, -3, 1): rank 1 both ways.
    test = np.array([[0, 0, 1], [3, 0, 3]])
    true = np.array([[0, 0, 2], [2, 0, 1], *test])
    out = link_prediction(_distmult(), test, true)
    assert out["mrr"] == pytest.approx((1 + 1 / 2 + 1 + 1) / 4)
    assert out["hits@1"] == pytest.approx(3 / 4)
    assert out["hits@3"] == out["hits@10"] == 1.0
    assert out["mrr_tail"] == pytest.approx(1.0)
    assert out["mrr_head"] == pytest.approx((1 / 2 + 1) / 2)
    raw = link_prediction(_distmult(), test, true, filtered=False)
    assert raw["mrr"] == pytest.approx((1 / 2 + 1 / 3 + 1 + 1) / 4)


def test_ties_count_half_and_filtered_ties_do_not():
    scores = torch.tensor([[3.0, 1.0, 3.0, 3.0]])
    none = torch.zeros(1, 4, dtype=torch.bool)
    assert float(filtered_ranks(scores, torch.tensor([0]), none)[0]) == 2.0  # 1 + 2 ties / 2
    mask = torch.tensor([[True, False, True, False]])  # entity 2 is another true answer
    assert float(filtered_ranks(scores, torch.tensor([0]), mask)[0]) == 1.5


def test_true_answer_mask():
    true = np.array([[0, 0, 1], [0, 0, 3], [2, 0, 1], [0, 1, 2]])
    a = TrueAnswers(true, 4, 2)
    m = a.mask(torch.tensor([0, 0, 3]), torch.tensor([0, 1, 0]), "tail")
    assert m.tolist() == [[False, True, False, True], [False, False, True, False], [False] * 4]
    m = a.mask(torch.tensor([1]), torch.tensor([0]), "head")
    assert m.tolist() == [[True, False, True, False]]


def test_nan_scores_give_nan_metrics_not_a_perfect_rank():
    # NaN compares false with everything: counted naively, nothing beats the answer (rank 1,
    # or 0.5 with the ties' -1/2) and a diverged model reports MRR 2 and Hits@1 = 1
    nan = float("nan")
    scores = torch.tensor([[nan, 1.0, 2.0], [3.0, nan, 1.0], [2.0, nan, 1.0]])
    mask = torch.tensor([[False] * 3, [False, True, False], [False] * 3])
    ranks = filtered_ranks(scores, torch.tensor([0, 0, 0]), mask)
    assert torch.isnan(ranks[0])  # the answer scores NaN
    assert float(ranks[1]) == 1.0  # the NaN entity is another true answer: filtered out
    assert torch.isnan(ranks[2])  # a candidate scores NaN: no order
    m = _distmult()
    with torch.no_grad():
        m.entity[2] = float("nan")  # one diverged entity
    test = np.array([[0, 0, 1], [3, 0, 3]])
    out = link_prediction(m, test, test)
    assert all(np.isnan(out[k]) for k in ("mrr", "hits@1", "hits@3", "hits@10", "mrr_head"))
    best = BestEpoch()
    assert not best.offer(1, out, m)  # a diverged epoch is never the best
