"""KG training checkpoints: a run cut after an epoch and resumed from its file repeats the
straight run exactly, for every KG sampler (their generators, caches and orders are saved);
a file of other settings, or not a checkpoint, is refused with a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import negkit.samplers as ns
from negkit.kg.train import KGSettings, train_kg
from negkit.kg.triples import KGTriples
from negkit.samplers.state import sampler_state, set_sampler_state


class Stop(Exception):
    pass


def small_kg() -> KGTriples:
    rng = np.random.default_rng(3)
    t = np.stack([rng.integers(0, 30, 200), rng.integers(0, 3, 200), rng.integers(0, 30, 200)])
    t = np.unique(t.T, axis=0)
    return KGTriples(train=t, valid=t[:5], test=t[5:10], entities=[f"e{i}" for i in range(30)],
                     relations=["a", "b", "c"])  # fmt: skip


def settings(model: str, epochs: int = 4) -> KGSettings:
    return KGSettings(model=model, dim=8, n_negs=4, batch_size=32, epochs=epochs, lr=0.01,
                      threads=1)  # fmt: skip


def cut_after(epoch: int):
    def on_epoch(rec):
        if rec["epoch"] == epoch:
            raise Stop

    return on_epoch


@pytest.mark.parametrize(
    "sampler, model",
    [("kg_uniform", "transe"), ("bernoulli", "rotate"), ("typed", "transe"),
     ("self_adversarial", "rotate"), ("nscaching", "distmult"), ("dns", "distmult"),
     ("adaptive", "complex")],
)  # fmt: skip
def test_resumed_run_repeats_the_straight_run(tmp_path, sampler, model):
    data, ckpt = small_kg(), tmp_path / "kg.ckpt.pt"
    straight = train_kg(data, settings(model), ns.get_kg(sampler, seed=1), seed=2)
    with pytest.raises(Stop):
        train_kg(data, settings(model), ns.get_kg(sampler, seed=1), seed=2, checkpoint=ckpt,
                 on_epoch=cut_after(2))  # fmt: skip
    seen: list[int] = []
    resumed = train_kg(data, settings(model), ns.get_kg(sampler, seed=1), seed=2,
                       checkpoint=ckpt, on_epoch=lambda rec: seen.append(rec["epoch"]))  # fmt: skip
    assert seen == [3, 4]  # it resumed after epoch 2 instead of starting again
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3, 4]
    assert [r["loss"] for r in resumed["history"]] == [r["loss"] for r in straight["history"]]
    for (name, a), b in zip(straight["model"].named_parameters(),
                            resumed["model"].parameters()):  # fmt: skip
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


def test_a_checkpoint_of_other_settings_or_no_checkpoint_is_refused(tmp_path):
    data, ckpt = small_kg(), tmp_path / "kg.ckpt.pt"
    train_kg(data, settings("transe", 1), ns.get_kg("kg_uniform", seed=1), checkpoint=ckpt)
    other = settings("transe", 1)
    other.lr = 0.02
    with pytest.raises(ValueError, match=r"other settings \(lr\)"):
        train_kg(data, other, ns.get_kg("kg_uniform", seed=1), checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"other settings \(sampler\)"):
        train_kg(data, settings("transe", 1), ns.get_kg("kg_uniform", seed=9), checkpoint=ckpt)
    free = settings("transe", 1)  # the evaluation's batch may change on resume
    free.eval_batch, free.threads = 7, 2
    assert len(train_kg(data, free, ns.get_kg("kg_uniform", seed=1),
                        checkpoint=ckpt)["history"]) == 1  # fmt: skip
    other_data = small_kg()  # same entities and relations, another validation split
    other_data.valid = other_data.valid[:3]
    with pytest.raises(ValueError, match=r"other settings \(data: other triples\)"):
        train_kg(other_data, settings("transe", 1), ns.get_kg("kg_uniform", seed=1),
                 checkpoint=ckpt)  # fmt: skip
    blob = torch.load(ckpt, weights_only=False)
    assert len(blob["settings"].pop("data")) == 64  # a file from before the fingerprint
    torch.save(blob, ckpt)
    assert len(train_kg(data, settings("transe", 1), ns.get_kg("kg_uniform", seed=1),
                        checkpoint=ckpt)["history"]) == 1  # fmt: skip
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something else"}, bad)
    with pytest.raises(ValueError, match="not a negkit KG checkpoint"):
        train_kg(data, settings("transe", 1), ns.get_kg("kg_uniform", seed=1), checkpoint=bad)


def test_sampler_state_round_trip_restores_the_draws():
    """NSCaching's caches and generator: draws after a restore equal the draws after the
    capture, and differ from the draws that continue without it."""
    data = small_kg()
    train = torch.as_tensor(data.train)
    from negkit.kg.models import make_model

    s = ns.get_kg("nscaching", seed=3)
    s.fit(triples=train, n_entities=30, n_relations=3, model=make_model("distmult", 30, 3, 8),
          device="cpu")  # fmt: skip
    s.sample(train[:16], 4)
    s.update(train[:16])
    state = sampler_state(s)
    first = s.sample(train[16:32], 4)
    s.update(train[16:32])
    moved = s.sample(train[16:32], 4)
    set_sampler_state(s, state)
    again = s.sample(train[16:32], 4)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, moved))


def test_resume_keeps_the_best_epoch_and_the_schedule(tmp_path):
    """With validation every epoch (best-epoch selection on) and a step schedule, a run cut
    after epoch 3 and resumed returns the same best epoch, metrics and parameters, and the
    same per-epoch learning rates, as the straight run."""
    data, ckpt = small_kg(), tmp_path / "kg.ckpt.pt"

    def s() -> KGSettings:
        out = settings("distmult", epochs=6)  # lr 0.2: validation MRR peaks at epoch 2
        out.eval_every, out.lr_schedule, out.lr = 1, "step", 0.2
        return out

    straight = train_kg(data, s(), ns.get_kg("kg_uniform", seed=1), seed=2)
    assert straight["best_epoch"] == 2  # before the cut: the resumed run must carry it
    with pytest.raises(Stop):
        train_kg(data, s(), ns.get_kg("kg_uniform", seed=1), seed=2, checkpoint=ckpt,
                 on_epoch=cut_after(3))  # fmt: skip
    resumed = train_kg(data, s(), ns.get_kg("kg_uniform", seed=1), seed=2, checkpoint=ckpt)
    assert resumed["best_epoch"] == straight["best_epoch"]
    assert resumed["best_metrics"] == straight["best_metrics"]
    assert [r["lr"] for r in resumed["history"]] == pytest.approx([0.2] * 3 + [0.02] * 3)
    assert [r["lr"] for r in resumed["history"]] == [r["lr"] for r in straight["history"]]
    for a, b in zip(straight["model"].parameters(), resumed["model"].parameters()):
        torch.testing.assert_close(b, a, rtol=0, atol=0)


def test_max_seconds_stops_after_the_epoch_that_passes_it():
    s = settings("transe", epochs=5)
    s.max_seconds = 1e-9  # any epoch passes it
    out = train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1), seed=2)
    assert [r["epoch"] for r in out["history"]] == [1]
    assert out["stopped_by"] == "max_seconds=1e-09 after epoch 1" and out["model_epoch"] == 1
    s.max_seconds = -1.0
    with pytest.raises(ValueError, match="max_seconds must be non-negative"):
        train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1))


def test_a_rerun_of_a_run_its_budget_stopped_stays_stopped(tmp_path):
    """The budget counts training time over every run of a checkpoint: the same command
    again trained one more epoch each time; a larger budget trains on."""
    s = settings("transe", epochs=5)
    s.max_seconds = 1e-9
    path = tmp_path / "kg.ckpt"
    first = train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1), seed=2, checkpoint=path)
    again = train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1), seed=2, checkpoint=path)
    assert [r["epoch"] for r in again["history"]] == [1] == [r["epoch"] for r in first["history"]]
    assert again["stopped_by"] == "max_seconds=1e-09 spent by epoch 1 (an earlier run)"
    assert again["model_epoch"] == 1
    s.max_seconds = 0.0  # no budget: trains the remaining epochs
    rest = train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1), seed=2, checkpoint=path)
    assert [r["epoch"] for r in rest["history"]] == [1, 2, 3, 4, 5] and rest["stopped_by"] is None


def test_the_epoch_a_time_limit_stops_at_is_evaluated_and_can_be_the_best():
    """With best-epoch selection and validation every 3 epochs, a run the time limit stops
    after epoch 1 still evaluates epoch 1 and keeps it, as a full run keeps its last."""
    s = settings("transe", epochs=5)
    s.eval_every, s.max_seconds = 3, 1e-9
    out = train_kg(small_kg(), s, ns.get_kg("kg_uniform", seed=1), seed=2)
    assert [r["epoch"] for r in out["history"]] == [1] and "metrics" in out["history"][0]
    assert out["best_epoch"] == out["model_epoch"] == 1
    assert out["best_metrics"] == out["history"][0]["metrics"]
