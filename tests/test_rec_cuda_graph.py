"""The training step as a CUDA graph (negkit.rec.cuda_graph): when it is used, when not, and
that replaying it trains as the eager step does.  The replay tests need a CUDA device."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

import negkit.samplers as ns
from negkit.rec.cuda_graph import graph_blocker
from negkit.rec.synthetic import planted_interactions
from negkit.rec.torch_models import MF, LightGCN
from negkit.rec.torch_train import PairBatches, TorchTrainer
from negkit.rec.train import RecSettings, _make_sampler, run

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.fixture(scope="module")
def tiny():
    return planted_interactions(
        n_users=120, n_items=60, n_groups=4, per_user=14, n_valid=2, n_test=3, seed=1
    )


def _fake_trainer(sampler, mode="sampled", on_device=True, capturable=True):
    model = object()
    opt = SimpleNamespace(param_groups=[{"capturable": capturable}])
    return SimpleNamespace(
        device=torch.device("cuda"), net=model, model=model, mode=mode,
        on_device=on_device, sampler=sampler, optimizer=opt, distributed=False, row_grads=None,
    )  # fmt: skip


def test_graph_blocker_names_what_keeps_a_step_eager():
    assert graph_blocker(_fake_trainer(ns.UniformSampler())) is None
    assert graph_blocker(_fake_trainer(ns.DNSSampler())) is None
    assert graph_blocker(_fake_trainer(None, mode="in_batch")) is None
    assert "host-side state" in graph_blocker(_fake_trainer(ns.AdaptiveSampler()))
    assert "host-side state" in graph_blocker(_fake_trainer(ns.SRNSSampler()))
    assert "on the host" in graph_blocker(_fake_trainer(ns.DNSSampler(), on_device=False))
    assert graph_blocker(_fake_trainer(ns.InBatchSampler(10), mode="batch")) is None
    mixed = ns.MixedNegativeSampler(10, k=2)
    assert graph_blocker(_fake_trainer(mixed, mode="batch")) is None
    mixed.sampler = ns.AdaptiveSampler()
    assert "host-side state" in graph_blocker(_fake_trainer(mixed, mode="batch"))
    assert "capturable" in graph_blocker(_fake_trainer(ns.UniformSampler(), capturable=False))
    ddp = _fake_trainer(ns.UniformSampler())
    ddp.distributed = True
    assert "distributed" in graph_blocker(ddp)
    rows = _fake_trainer(ns.UniformSampler())
    rows.row_grads = object()
    assert "row-sparse" in graph_blocker(rows)


def test_device_generators_are_found_whatever_the_device_is_called():
    smp = ns.UniformSampler(seed=0).fit(n_items=10)
    assert smp.device_generators("cpu") == []
    smp.sample(torch.arange(3), 2)
    (gen,) = smp.device_generators("cpu")
    assert smp.device_generators(torch.device("cpu")) == [gen]
    assert gen.device.type == "cpu"


def test_cpu_trainer_runs_eagerly_and_refuses_a_forced_graph(tiny):
    smp = ns.UniformSampler(seed=0, exclude_positives=True).fit(
        n_items=tiny.n_items, positives=tiny.train
    )
    trainer = TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), smp, tiny.train)
    assert not trainer.cuda_graph and trainer.step_mode == "eager (not on a CUDA device)"
    with pytest.raises(ValueError, match="cannot be a CUDA graph: not on a CUDA device"):
        TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), smp, tiny.train, cuda_graph=True)


def test_max_seconds_stops_after_the_first_epoch_past_it(tiny):
    settings = RecSettings(
        data=tiny, model="mf", engine="torch", dim=8, epochs=5, batch_size=256, threads=1,
        max_seconds=1e-9,
    )  # fmt: skip
    result = run(settings, "rns", seed=0)
    assert len(result["history"]) == 1
    assert result["stopped_by"] == "max_seconds=1e-09 after epoch 1"
    assert result["test"]["recall@20"] >= 0.0
    full = run(RecSettings(data=tiny, model="mf", engine="torch", dim=8, epochs=2), "rns")
    assert full["stopped_by"] is None and len(full["history"]) == 2
    with pytest.raises(ValueError, match=r"max_seconds \(--max-minutes x 60\) must be non-neg"):
        run(RecSettings(data=tiny, model="mf", engine="torch", max_seconds=-1.0), "rns")


def _train(tiny, model_name, sampler, graph, epochs=3, **extra):
    settings = RecSettings(data=tiny, model=model_name, device="cuda", dim=16, **extra)
    host = (np.zeros((120, 16), np.float32), np.zeros((60, 16), np.float32))
    smp, mode = _make_sampler(sampler, settings, tiny, host, seed=3)
    torch.manual_seed(0)
    if model_name == "lightgcn":
        net = LightGCN(tiny.train, dim=16, device="cuda")
    else:
        net = MF(tiny.n_users, tiny.n_items, 16)
    trainer = TorchTrainer(
        net, smp, tiny.train, mode=mode, device="cuda", seed=5, lr=0.01, cuda_graph=graph,
        **{k: v for k, v in extra.items() if k in ("tau", "n_negs", "n_candidates")},
    )  # fmt: skip
    batches = PairBatches(tiny.train, batch_size=64, seed=0, device="cuda")
    losses = []
    for epoch in range(epochs):
        batches.set_epoch(epoch)
        losses.append(trainer.train_epoch(batches)["loss"])
    params = [p.detach().cpu().clone() for p in trainer.model.parameters()]
    return trainer, losses, params


@cuda
@pytest.mark.parametrize(
    "model, sampler, extra",
    [
        ("lightgcn", "rns", {}),
        ("lightgcn", "dns", {}),
        ("lightgcn", "pns", {}),
        ("lightgcn", "mixgcf", {"n_candidates": 8}),
        ("mf", "in-batch", {"tau": 0.5}),
        ("mf", "mixed", {"n_negs": 8}),
    ],
)
def test_a_replayed_graph_trains_as_the_eager_step(tiny, model, sampler, extra):
    graphed, g_losses, g_params = _train(tiny, model, sampler, None, **extra)
    assert graphed.step_mode == "cuda graph"
    assert graphed._graphed.captured
    eager, e_losses, e_params = _train(tiny, model, sampler, False, **extra)
    assert eager.step_mode == "eager (turned off)"
    # the same draws, step for step: only the order of float sums may differ
    np.testing.assert_allclose(g_losses, e_losses, rtol=1e-4)
    for g, e in zip(g_params, e_params):
        assert (g - e).abs().max() < 1e-3
        assert torch.isclose(g, e, atol=1e-5).float().mean() > 0.99


@cuda
def test_graph_replays_draw_fresh_negatives_each_step(tiny):
    smp = ns.UniformSampler(seed=0, exclude_positives=True).fit(
        n_items=tiny.n_items, positives=tiny.train
    )
    trainer = TorchTrainer(MF(tiny.n_users, tiny.n_items, 8), smp, tiny.train, device="cuda")
    seen = []
    real = smp.sample

    def spy(*a, **kw):  # runs at capture only: keep the captured output buffer
        out = real(*a, **kw)
        seen.append(out)
        return out

    smp.sample = spy
    batches = PairBatches(tiny.train, batch_size=64, seed=0, device="cuda")
    graphed = trainer._graph_for(64)
    snapshots = []
    for users, pos in batches:
        if len(users) == 64 and graphed(users, pos) and graphed.captured:
            snapshots.append(seen[-1].clone())
    assert len(snapshots) >= 5
    assert len({tuple(s.flatten().tolist()) for s in snapshots}) == len(snapshots)
