"""Row-sparse gradients (negkit.rec.row_grads): the optimiser sees the dense gradient, only the
rows a step read are non-zero, and training equals the dense-gradient path step for step.
The two-rank exchange is tested in test_rec_distributed.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negkit.samplers as ns
from negkit.rec.row_grads import RowGrads
from negkit.rec.synthetic import planted_interactions
from negkit.rec.torch_models import MF, LightGCN
from negkit.rec.torch_train import TorchTrainer


@pytest.fixture(scope="module")
def tiny():
    return planted_interactions(
        n_users=50, n_items=40, n_groups=4, per_user=10, n_valid=0, n_test=2, seed=2
    )


def test_gradient_is_the_dense_one_and_last_steps_rows_are_cleared():
    w = torch.nn.Parameter(torch.zeros(5, 2))
    rg = RowGrads([w])
    out = torch.nn.functional.embedding(torch.tensor([1, 3, 1]), w, sparse=True)
    (out * torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    rg.reduce()
    expect = np.zeros((5, 2), np.float32)
    expect[1] = [6.0, 8.0]  # rows 1 read twice: the two gradients summed
    expect[3] = [3.0, 4.0]
    np.testing.assert_array_equal(w.grad.numpy(), expect)
    w.grad = None
    torch.nn.functional.embedding(torch.tensor([0]), w, sparse=True).sum().backward()
    rg.reduce()
    expect[:] = 0.0
    expect[0] = [1.0, 1.0]  # rows 1 and 3 of the first step are gone
    np.testing.assert_array_equal(w.grad.numpy(), expect)


def test_a_dense_gradient_passes_through_and_a_missing_one_is_an_error():
    a = torch.nn.Parameter(torch.ones(3, 2))
    b = torch.nn.Parameter(torch.ones(4, 2))
    rg = RowGrads([a, b])
    (a * 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="parameter 1 of shape \\(4, 2\\) has no gradient"):
        rg.reduce()
    b.grad = torch.full((4, 2), 3.0)
    rg.reduce()
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 2), 2.0, np.float32))
    np.testing.assert_array_equal(b.grad.numpy(), np.full((4, 2), 3.0, np.float32))


def _train(tiny, mode, row_grads, sampler, **kw):
    torch.manual_seed(0)
    model = MF(tiny.n_users, tiny.n_items, dim=8)
    trainer = TorchTrainer(
        model, sampler, tiny.train, mode=mode, lr=0.05, reg=0.01, seed=3, row_grads=row_grads,
        **kw,
    )  # fmt: skip
    rows, cols = tiny.train.nonzero()
    rng = np.random.default_rng(1)
    for _ in range(4):  # different rows each step
        pick = rng.choice(len(rows), 32, replace=False)
        trainer.step(rows[pick], cols[pick])
    return trainer, {k: v.detach().numpy().copy() for k, v in model.named_parameters()}


@pytest.mark.parametrize(
    "mode,make,kw",
    [
        ("sampled", lambda d: ns.UniformSampler(seed=0), {"n_negs": 3}),
        ("sampled", lambda d: ns.UniformSampler(seed=0), {"loss": "softmax", "n_negs": 4}),
        ("batch", lambda d: ns.MixedNegativeSampler(d.n_items, k=5, seed=0), {}),
        ("in_batch", lambda d: None, {}),
    ],
    ids=["bpr", "sampled-softmax", "mixed", "in-batch"],
)
def test_row_gradients_train_as_the_dense_gradients(tiny, mode, make, kw):
    def fitted():
        smp = make(tiny)
        if smp is not None and hasattr(smp, "fit"):
            smp.fit(n_items=tiny.n_items, positives=tiny.train)
        return smp

    rows_t, rows = _train(tiny, mode, True, fitted(), **kw)
    dense_t, dense = _train(tiny, mode, False, fitted(), **kw)
    assert rows_t.row_grads is not None and dense_t.row_grads is None
    torch.manual_seed(0)
    start = MF(tiny.n_users, tiny.n_items, dim=8).user.weight.detach().numpy()
    assert np.abs(rows["user.weight"] - start).max() > 1e-3  # the steps moved the tables
    for key in dense:
        np.testing.assert_allclose(rows[key], dense[key], atol=1e-6, rtol=0, err_msg=key)


def test_row_gradients_are_the_cpu_default_for_mf_only(tiny):
    smp = ns.UniformSampler(seed=0).fit(n_items=tiny.n_items)
    mf = TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), smp, tiny.train)
    assert mf.row_grads is not None
    gcn = TorchTrainer(LightGCN(tiny.train, dim=8, n_layers=1), smp, tiny.train)
    assert gcn.row_grads is None
    with pytest.raises(ValueError, match="row_grads needs a model without propagation"):
        TorchTrainer(LightGCN(tiny.train, dim=8, n_layers=1), smp, tiny.train, row_grads=True)
    with pytest.raises(ValueError, match="not mixgcf"):
        TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), smp, tiny.train, mode="mixgcf",
                     row_grads=True)  # fmt: skip
