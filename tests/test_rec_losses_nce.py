"""NCE and self-normalised importance sampling: hand-computed values, recovery of a softmax."""

from __future__ import annotations

import math

import pytest
import torch

from negkit.rec import losses


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small tensors: one thread runs these fits in 0.2 s, two contend for 5 s on a busy box."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_nce_and_snis_match_hand_computed_values():
    pos = torch.tensor([1.0])
    neg = torch.tensor([[0.0, 2.0]])
    lq = torch.log(torch.tensor([[0.25, 0.5]]))
    lq_pos = torch.log(torch.tensor([0.25]))
    # Δ = s - log(k q): positive 1 - log(0.5); negatives 0 - log(0.5), 2 - log(1)
    sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
    want = sp(-(1 - math.log(0.5))) + sp(-math.log(0.5)) + sp(2.0)
    assert losses.nce(pos, neg, lq, 1.0, log_q_pos=lq_pos).item() == pytest.approx(want, rel=1e-6)
    # SNIS: -1 + log((e^0/0.25 + e^2/0.5) / 2)
    want = -1 + math.log((4 + 2 * math.exp(2)) / 2)
    assert losses.snis_softmax(pos, neg, lq).item() == pytest.approx(want, rel=1e-6)
    assert set(losses.LOG_Q_LOSSES) <= set(losses.LOSSES)


def test_losses_that_need_log_q_say_so():
    pos, neg = torch.zeros(2), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="log q"):
        losses.nce(pos, neg, None)
    with pytest.raises(ValueError, match="log_q_pos"):
        losses.nce(pos, neg, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="shape"):
        losses.snis_softmax(pos, neg, torch.zeros(2, 2))


def _fit(loss: str, k: int, steps: int = 150, seed: int = 0, b: int = 256, told_q=None):
    """Free logits s(c, i) fitted on draws of a known softmax p*(i | c), noise q known."""
    g = torch.Generator().manual_seed(seed)
    true = torch.tensor([[2.0, 1.0, 0.5, 0.0, -0.5, -1.0, 0.0, 1.5], [0.0] * 4 + [1.0] * 4])
    p_star = torch.softmax(true, dim=1)
    q = torch.tensor([4.0, 3, 2, 1, 1, 2, 3, 4])
    q = q / q.sum()
    s = torch.zeros(2, 8, requires_grad=True)
    opt = torch.optim.Adam([s], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 - 0.95 * t / steps)
    cum_p, cum_q = p_star.cumsum(1), q.cumsum(0)
    log_q = torch.log(q if told_q is None else told_q)  # what the loss is told about the noise
    for _ in range(steps):
        c = torch.randint(0, 2, (b,), generator=g)
        i = torch.searchsorted(cum_p[c], torch.rand(b, 1, generator=g)).squeeze(1).clamp(max=7)
        j = torch.searchsorted(cum_q, torch.rand(b, k, generator=g)).clamp(max=7)
        pos, neg = s[c, i], s[c[:, None], j]
        lq = log_q[j]
        if loss == "nce":
            out = losses.nce(pos, neg, lq, log_q_pos=log_q[i])
        else:
            out = losses.snis_softmax(pos, neg, lq)
        opt.zero_grad()
        out.backward()
        opt.step()
        sched.step()
    return s.detach(), p_star


def test_nce_with_many_noise_samples_recovers_the_softmax_self_normalised():
    s, p_star = _fit("nce", k=64)
    # NCE's exp(s) is the law itself: no normalisation applied here (measured: sums 1.05,
    # 1.02; largest error 0.020)
    assert torch.allclose(s.exp().sum(dim=1), torch.ones(2), atol=0.1)
    assert (s.exp() - p_star).abs().max() < 0.04
    # told the wrong noise law (uniform instead of q), NCE learns p* q_told / q instead
    wrong, _ = _fit("nce", k=64, told_q=torch.full((8,), 1 / 8))
    assert (wrong.exp() - p_star).abs().max() > 0.1


def test_snis_recovers_the_softmax_up_to_a_constant():
    s, p_star = _fit("snis", k=64)
    assert (torch.softmax(s, dim=1) - p_star).abs().max() < 0.03


def test_snis_weights_are_the_gradient_of_the_snis_loss():
    import numpy as np

    from negkit.samplers import snis_weights

    g = torch.Generator().manual_seed(1)
    neg = torch.randn(3, 5, generator=g, dtype=torch.float64, requires_grad=True)
    lq = torch.log(torch.rand(3, 5, generator=g, dtype=torch.float64) + 0.1)
    losses.snis_softmax(torch.zeros(3, dtype=torch.float64), neg, lq, 0.5).backward()
    w = snis_weights(neg.detach().numpy(), lq.numpy(), tau=0.5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(neg.grad.numpy(), w / 0.5 / 3, rtol=1e-10)
    with pytest.raises(ValueError, match="same shape"):
        snis_weights(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="tau"):
        snis_weights(np.zeros(2), np.zeros(2), tau=0)
