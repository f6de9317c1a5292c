"""Learning-rate schedules of KG training against hand-computed values, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _kg_threads import one_torch_thread  # noqa: F401

from negkit.kg.schedule import lr_at, step_epoch
from negkit.kg.train import KGSettings, train_kg
from negkit.kg.triples import KGTriples


def rates(name, epochs, lr, **kw):
    return [lr_at(name, e, epochs, lr, **kw) for e in range(epochs)]


def test_constant():
    assert rates("constant", 3, 0.01) == [0.01, 0.01, 0.01]


def test_step_defaults_drop_tenfold_after_half():
    assert rates("step", 10, 0.01) == pytest.approx([0.01] * 5 + [0.001] * 5)
    # 7 epochs: ⌊3.5⌋ = 3 epochs at lr, then 4 at lr / 10
    assert rates("step", 7, 1.0) == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.1])


def test_step_settings():
    # ⌊0.3 · 7⌋ = 2
    assert rates("step", 7, 2.0, step_at=0.3, step_factor=0.5) == pytest.approx(
        [2, 2, 1, 1, 1, 1, 1]
    )
    assert step_epoch(1, 0.5) == 1  # a one-epoch run never drops
    assert step_epoch(100, 0.29) == 29  # not 28 from 0.29 · 100 = 28.999...


def test_cosine_to_zero_and_to_a_floor():
    # lr (1 + cos(π e / 4)) / 2: cos(π/4) = 0.70710678
    assert rates("cosine", 4, 1.0) == pytest.approx([1.0, 0.85355339, 0.5, 0.14644661])
    # floor 0.2: 0.2 + 0.8 · the above
    assert rates("cosine", 4, 1.0, lr_min=0.2) == pytest.approx([1.0, 0.88284271, 0.6, 0.31715729])


@pytest.mark.parametrize(
    "args, kw, message",
    [
        (("linear", 0, 5, 0.1), {}, "unknown lr schedule 'linear'; known: constant, step, cosine"),
        (("constant", 0, 5, 0.0), {}, "lr must be a positive number"),
        (("constant", 0, 5, float("nan")), {}, "lr must be a positive number"),
        (("step", 0, 5, 0.1), {"step_at": 1.0}, "step_at must be in (0, 1)"),
        (("step", 0, 5, 0.1), {"step_at": 0.0}, "step_at must be in (0, 1)"),
        (("step", 0, 5, 0.1), {"step_factor": 1.5}, "step_factor must be in (0, 1)"),
        (("cosine", 0, 5, 0.1), {"lr_min": 0.1}, "lr_min must be in [0, lr)"),
        (("cosine", 0, 5, 0.1), {"lr_min": -1e-3}, "lr_min must be in [0, lr)"),
        (("constant", 5, 5, 0.1), {}, "epoch must be in [0, 5), got 5"),
    ],
)
def test_errors(args, kw, message):
    with pytest.raises(ValueError) as err:
        lr_at(*args, **kw)
    assert message in str(err.value)


def test_settings_check_the_schedule():
    with pytest.raises(ValueError, match="unknown lr schedule 'cos'"):
        KGSettings(lr_schedule="cos").check()
    with pytest.raises(ValueError, match="lr_min must be in"):
        KGSettings(lr_schedule="cosine", lr=1e-3, lr_min=1e-2).check()
    KGSettings(lr_schedule="step", lr_step_at=0.3).check()


@pytest.mark.parametrize(
    "schedule, kw, unread",
    [
        ("step", {"lr_min": 5e-4}, "lr_min"),
        ("constant", {"lr_min": 5e-4, "lr_step_factor": 0.5}, "step_factor, lr_min"),
        ("cosine", {"lr_step_at": 0.3}, "step_at"),
    ],
)
def test_a_setting_the_schedule_does_not_read_is_refused(schedule, kw, unread):
    with pytest.raises(ValueError, match=f"lr schedule '{schedule}' does not read {unread} "):
        KGSettings(lr_schedule=schedule, **kw).check()
    with pytest.raises(ValueError, match="is read by"):
        lr_at(schedule, 0, 5, 1e-3, **{k.replace("lr_step", "step"): v for k, v in kw.items()})


def _tiny_kg():
    rng = np.random.default_rng(0)
    train = np.stack([rng.integers(0, 12, 60), rng.integers(0, 2, 60), rng.integers(0, 12, 60)], 1)
    names = [f"e{i}" for i in range(12)]
    return KGTriples(train, train[:4], train[4:8], names, ["r0", "r1"])


def test_the_optimiser_steps_with_each_epochs_rate(monkeypatch):
    seen = []

    class Recording(torch.optim.Adam):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["lr"])
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "Adam", Recording)
    s = KGSettings(model="transe", dim=4, n_negs=2, batch_size=30, lr=0.1, epochs=4,
                   lr_schedule="step", lr_step_at=0.5, lr_step_factor=0.1)  # fmt: skip
    out = train_kg(_tiny_kg(), s, "kg_uniform", seed=0)
    assert [r["lr"] for r in out["history"]] == pytest.approx([0.1, 0.1, 0.01, 0.01])
    # 60 triples in batches of 30: two steps an epoch
    assert seen == pytest.approx([0.1] * 4 + [0.01] * 4)
