"""KG models and losses against hand-computed scores."""

from __future__ import annotations

import math

import pytest
import torch
from _kg_threads import one_torch_thread  # noqa: F401

from negkit.kg.losses import kg_loss, logistic, margin_ranking, self_adversarial
from negkit.kg.models import MODELS, make_model
from negkit.samplers.kg_weights import self_adversarial_weights


def _set(model, ent, rel):
    with torch.no_grad():
        model.entity.copy_(torch.tensor(ent, dtype=torch.float32))
        model.relation.copy_(torch.tensor(rel, dtype=torch.float32))
    return model


def _s(model, h, r, t):
    return float(model.score(torch.tensor(h), torch.tensor(r), torch.tensor(t)).detach())


def test_transe_hand_computed():
    m = _set(make_model("transe", 2, 1, 2, gamma=3.0), [[1, 2], [0, 5]], [[1, 1]])
    # h + r - t = (1+1-0, 2+1-5) = (2, -2): L1 4, L2 sqrt(8)
    assert _s(m, 0, 0, 1) == pytest.approx(3.0 - 4.0)
    m2 = _set(make_model("transe", 2, 1, 2, gamma=3.0, p=2), [[1, 2], [0, 5]], [[1, 1]])
    assert _s(m2, 0, 0, 1) == pytest.approx(3.0 - math.sqrt(8.0))


def test_distmult_hand_computed():
    m = _set(make_model("distmult", 2, 1, 2), [[1, 2], [3, -1]], [[2, 0.5]])
    assert _s(m, 0, 0, 1) == pytest.approx(1 * 2 * 3 + 2 * 0.5 * -1)  # 5


def test_complex_hand_computed():
    # d = 1: h = 1 + 2i, r = 0 + 1i, t = 3 - 1i; h r conj(t) = (-2 + i)(3 + i) = -7 + i
    m = _set(make_model("complex", 2, 1, 1), [[1, 2], [3, -1]], [[0, 1]])
    assert _s(m, 0, 0, 1) == pytest.approx(-7.0)
    assert _s(m, 1, 0, 0) == pytest.approx(((3 - 1j) * 1j * (1 - 2j)).real)  # asymmetric


def test_rotate_hand_computed():
    # d = 1: h = 1 (real), rotation by π/2 gives i; t = 0 + 1i -> distance 0; t = 1 -> sqrt 2
    m = make_model("rotate", 3, 1, 1, gamma=6.0)
    _set(m, [[1, 0], [0, 1], [1, 0]], [[math.pi / 2]])
    assert _s(m, 0, 0, 1) == pytest.approx(6.0, abs=1e-5)
    assert _s(m, 0, 0, 2) == pytest.approx(6.0 - math.sqrt(2.0), abs=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_all_matches_score_and_broadcasts(name):
    torch.manual_seed(0)
    m = make_model(name, 7, 3, 4, **({"gamma": 2.0} if name in ("transe", "rotate") else {}))
    h, r, t = torch.tensor([0, 3, 6]), torch.tensor([0, 2, 1]), torch.tensor([5, 1, 2])
    ents = torch.arange(7)
    tails = m.score_all(h, r, "tail")
    heads = m.score_all(t, r, "head")
    assert tails.shape == heads.shape == (3, 7)
    torch.testing.assert_close(tails, m.score(h[:, None], r[:, None], ents[None, :]))
    torch.testing.assert_close(heads, m.score(ents[None, :], r[:, None], t[:, None]))
    with torch.no_grad():  # the compiled CPU kernels (RotatE, TransE) give the same scores
        torch.testing.assert_close(m.score_all(h, r, "tail"), tails.detach())
        torch.testing.assert_close(m.score_all(t, r, "head"), heads.detach())
    with pytest.raises(ValueError, match="side"):
        m.score_all(h, r, "both")


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown KG model 'transh'"):
        make_model("transh", 2, 1, 2)


def test_losses_hand_computed():
    pos = torch.tensor([1.0])
    neg = torch.tensor([[0.5, -1.0]])
    sp = lambda x: math.log1p(math.exp(x))  # softplus
    # margin 1: max(0, 1 - 1 + 0.5) = 0.5 and max(0, 1 - 1 - 1) = 0, mean over k
    assert float(margin_ranking(pos, neg, margin=1.0)) == pytest.approx(0.25)
    expect = 0.5 * (sp(-1.0) + 0.5 * (sp(0.5) + sp(-1.0)))
    assert float(logistic(pos, neg)) == pytest.approx(expect)
    w = [math.exp(0.5 * 2) / (math.exp(1.0) + math.exp(-2.0)), 0.0]
    w[1] = 1 - w[0]
    torch.testing.assert_close(self_adversarial_weights(neg, 2.0), torch.tensor([w]))
    expect_sa = 0.5 * (sp(-1.0) + w[0] * sp(0.5) + w[1] * sp(-1.0))
    assert float(self_adversarial(pos, neg, alpha=2.0)) == pytest.approx(expect_sa, rel=1e-6)
    assert float(kg_loss("self_adversarial", pos, neg, alpha=0.0)) == pytest.approx(expect)


def test_self_adversarial_weights_carry_no_gradient():
    neg = torch.tensor([[0.5, -1.0]], requires_grad=True)
    pos = torch.tensor([1.0], requires_grad=True)
    self_adversarial(pos, neg, alpha=1.0).backward()
    w = self_adversarial_weights(neg, 1.0)
    # d/ds_j of 0.5 w_j softplus(s_j) with w constant = 0.5 w_j sigma(s_j)
    torch.testing.assert_close(neg.grad, 0.5 * w * torch.sigmoid(neg.detach()))
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        self_adversarial_weights(neg, -1.0)
    with pytest.raises(ValueError, match="unknown KG loss"):
        kg_loss("hinge", pos, neg)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_corrupted_matches_score(name):
    torch.manual_seed(1)
    m = make_model(name, 9, 2, 3)
    batch = torch.tensor([[0, 1, 5], [7, 0, 2]])
    ent = torch.tensor([[3, 4, 8], [1, 0, 6]])
    head = torch.tensor([[True, False, True], [False, False, True]])
    h = torch.where(head, ent, batch[:, :1])
    t = torch.where(head, batch[:, 2:], ent)
    torch.testing.assert_close(m.score_corrupted(batch, ent, head), m.score(h, batch[:, 1:2], t))


def test_rotate_distance_gradient():
    from negkit.kg.models import _RotatEDistance

    torch.manual_seed(2)
    q = torch.randn(3, 1, 6, dtype=torch.float64, requires_grad=True)
    c = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_RotatEDistance.apply, (q, c))
