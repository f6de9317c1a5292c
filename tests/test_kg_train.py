"""Best-epoch selection of KG training, with the validation MRR of each epoch forced."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _kg_threads import one_torch_thread  # noqa: F401

import negkit.kg.train as kg_train
from negkit.cli import main
from negkit.kg.best import BestEpoch
from negkit.kg.train import KGSettings, train_kg
from negkit.kg.triples import KGTriples

NAMES = [f"e{i}" for i in range(12)]


def tiny_triples():
    rng = np.random.default_rng(0)
    return np.stack([rng.integers(0, 12, 60), rng.integers(0, 2, 60), rng.integers(0, 12, 60)], 1)


def tiny_kg():
    t = tiny_triples()
    return KGTriples(t, t[:4], t[4:8], NAMES, ["r0", "r1"])


class ForcedValidation:
    """Stands in for ``link_prediction`` during training: returns the next MRR of ``mrrs`` and
    keeps a copy of the parameters it was shown, by evaluation."""

    def __init__(self, mrrs):
        self.mrrs = list(mrrs)
        self.params = []

    def __call__(self, model, triples, all_true, batch_size=32):
        self.params.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        return {"mrr": self.mrrs[len(self.params) - 1], "hits@1": 0.0}


def settings(**kw):
    base = dict(model="rotate", dim=4, n_negs=2, batch_size=20, lr=0.05, epochs=4, eval_every=1)
    return KGSettings(**{**base, **kw})


def same(state, model):
    return all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_the_best_epoch_is_restored_and_reported(monkeypatch):
    fake = ForcedValidation([0.2, 0.5, 0.3, 0.4])
    monkeypatch.setattr(kg_train, "link_prediction", fake)
    out = train_kg(tiny_kg(), settings(), "kg_uniform", seed=0)
    assert len(fake.params) == 4
    assert same(fake.params[1], out["model"])  # epoch 2's parameters
    assert not same(fake.params[3], out["model"])  # training went on after epoch 2
    assert out["best_epoch"] == out["model_epoch"] == 2
    assert out["best_metrics"] == {"mrr": 0.5, "hits@1": 0.0}
    assert [r["metrics"]["mrr"] for r in out["history"]] == [0.2, 0.5, 0.3, 0.4]
    # the settings record what ran: RotatE's default γ and the selection eval_every turned on
    assert out["settings"]["gamma"] == 6.0 and out["settings"]["keep_best"] is True


def test_the_last_epoch_is_evaluated_too_and_can_win(monkeypatch):
    # eval every 2 of 5 epochs: evaluated after epochs 2 and 4, and 5 (the last) for selection
    fake = ForcedValidation([0.1, 0.3, 0.35])
    monkeypatch.setattr(kg_train, "link_prediction", fake)
    out = train_kg(tiny_kg(), settings(epochs=5, eval_every=2), "kg_uniform", seed=0)
    assert [r["epoch"] for r in out["history"] if "metrics" in r] == [2, 4, 5]
    assert out["model_epoch"] == 5 and same(fake.params[2], out["model"])


def test_without_keep_best_the_last_epoch_is_kept(monkeypatch):
    fake = ForcedValidation([0.2, 0.5, 0.3, 0.4])
    monkeypatch.setattr(kg_train, "link_prediction", fake)
    out = train_kg(tiny_kg(), settings(keep_best=False), "kg_uniform", seed=0)
    assert same(fake.params[3], out["model"])
    assert out["model_epoch"] == 4 and out["best_epoch"] is None


def test_ties_keep_the_earlier_epoch(monkeypatch):
    fake = ForcedValidation([0.4, 0.4, 0.1, 0.4])
    monkeypatch.setattr(kg_train, "link_prediction", fake)
    out = train_kg(tiny_kg(), settings(), "kg_uniform", seed=0)
    assert out["model_epoch"] == 1 and same(fake.params[0], out["model"])


def test_selection_is_off_without_validation():
    assert not settings(eval_every=0).keeps_best()
    assert not settings(eval_split="test").keeps_best()  # never select on test by default
    assert settings().keeps_best()
    with pytest.raises(ValueError, match="keep_best needs a validation run"):
        settings(eval_every=0, keep_best=True).check()
    with pytest.raises(ValueError, match="selects the epoch on validation triples"):
        settings(eval_split="test", keep_best=True).check()
    with pytest.raises(ValueError, match="eval_every must be >= 0"):
        settings(eval_every=-1).check()
    with pytest.raises(ValueError, match=r"eval_max must be >= 1 \(or None: every triple\), got 0"):
        settings(eval_max=0).check()


def test_loss_options_of_another_loss_are_refused():
    with pytest.raises(ValueError, match=r"sampler takes its own: self_adversarial:alpha=A"):
        settings(alpha=0.5).check()  # the logistic loss has no temperature
    settings(alpha=0.5, loss="self_adversarial").check()
    with pytest.raises(ValueError, match="margin is loss 'margin''s, not 'logistic''s"):
        settings(margin=2.0).check()
    settings(margin=2.0, loss="margin").check()


def test_an_unknown_or_capitalised_model_name_is_a_clear_error():
    """``KGSettings(model="TransE")`` (make_model takes any case) and ``model="transh"``
    failed with a bare ``KeyError: 'TransE'`` from the default-margin table."""
    for name in ("TransE", "transh"):
        with pytest.raises(ValueError, match=f"unknown KG model '{name}'; known: transe"):
            train_kg(tiny_kg(), settings(model=name, epochs=1, eval_every=0), "kg_uniform")


def test_a_negative_or_infinite_regularisation_weight_is_refused():
    """``reg=-0.1`` (``--reg -0.1``) trained with a reward for large entity rows instead of a
    penalty, silently; now refused, as NaN and infinity."""
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
            settings(reg=bad).check()
    settings(reg=0.0).check()
    settings(reg=0.01).check()


def test_best_epoch_refuses_nan_and_restoring_nothing():
    best = BestEpoch()
    model = torch.nn.Linear(2, 1)
    assert not best.offer(1, {"mrr": float("nan")}, model)
    with pytest.raises(RuntimeError, match="nothing to restore"):
        best.restore(model)
    with pytest.raises(KeyError, match="no 'mrr'"):
        best.offer(2, {"hits@1": 0.1}, model)


def write_folder(folder):
    t = tiny_triples()
    folder.mkdir()
    for name, part in (("train", t), ("valid", t[:4]), ("test", t[4:8])):
        rows = (f"{NAMES[h]}\tr{r}\t{NAMES[tl]}\n" for h, r, tl in part)
        (folder / f"{name}.txt").write_text("".join(rows))
    return folder


@pytest.mark.parametrize("flag, epoch", [([], 2), (["--no-keep-best"], 3)])
def test_cli_saves_tests_and_reports_the_selected_epoch(tmp_path, monkeypatch, capsys, flag,
                                                        epoch):  # fmt: skip
    fake = ForcedValidation([0.2, 0.6, 0.1])
    monkeypatch.setattr(kg_train, "link_prediction", fake)
    out = tmp_path / "out"
    rc = main(["kg", "train", "--data", str(write_folder(tmp_path / "kg")), "--model", "rotate",
               "--sampler", "kg_uniform", "--dim", "4", "--n-negs", "2", "--batch-size", "20",
               "--epochs", "3", "--eval-every", "1", "--lr", "0.05", "--lr-schedule", "cosine",
               "--lr-min", "0.01", "--out", str(out), *flag])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["model_epoch"] == epoch
    assert m["best_epoch"] == (2 if not flag else None)
    assert [r["lr"] for r in m["history"]] == pytest.approx([0.05, 0.04, 0.02])
    saved = np.load(out / "entity_embeddings.npy")
    assert np.array_equal(saved, fake.params[epoch - 1]["entity"].numpy())
    assert ("tested the parameters of epoch 2" in capsys.readouterr().out) == (not flag)


def test_cli_refuses_a_bad_schedule(tmp_path, capsys):
    data = str(write_folder(tmp_path / "kg"))
    assert main(["kg", "train", "--data", data, "--lr-schedule", "cosine", "--lr", "0.01",
                 "--lr-min", "0.1", "--out", str(tmp_path / "o")]) == 1  # fmt: skip
    assert "lr_min must be in [0, lr)" in capsys.readouterr().err
    # an option the schedule does not read is refused, even at its default value
    for schedule, opts, named in (
        ("step", ["--lr-min", "0.001"], "--lr-min (read by cosine only)"),
        ("cosine", ["--lr-step-at=0.5", "--lr-step-factor", "0.5"],
         "--lr-step-at (read by step only), --lr-step-factor (read by step only)"),
        ("constant", ["--lr-min", "0"], "--lr-min (read by cosine only)"),
    ):  # fmt: skip
        assert main(["kg", "train", "--data", data, "--lr-schedule", schedule, *opts,
                     "--out", str(tmp_path / "o")]) == 1  # fmt: skip
        assert f"--lr-schedule {schedule} does not read {named}" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit):
        main(["kg", "train", "--data", data, "--lr-schedule", "linear", "--out", "o"])
    assert "invalid choice: 'linear'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "device",
    ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                          reason="no CUDA device"))],
)  # fmt: skip
@pytest.mark.parametrize("model", ["transe", "distmult", "complex", "rotate"])
def test_training_and_filtered_evaluation_stay_on_the_device(model, device):
    """Two epochs with self-adversarial negatives and exact filtering, validation every epoch:
    the parameters live on ``device``, the loss falls, every metric is a finite share."""
    import negkit.samplers as ns

    s = KGSettings(model=model, dim=8, n_negs=4, batch_size=16, epochs=2, lr=0.05, threads=1,
                   eval_every=1, device=device)  # fmt: skip
    out = train_kg(tiny_kg(), s, ns.get_kg("self_adversarial", alpha=0.5, seed=0), seed=0)
    assert all(p.device.type == device for p in out["model"].parameters())
    assert out["history"][-1]["loss"] < out["history"][0]["loss"]
    m = out["history"][-1]["metrics"]
    assert all(0.0 < m[k] <= 1.0 for k in ("mrr", "hits@10"))


def test_a_sampler_object_is_seeded_by_each_run_not_by_the_first():
    from negkit.samplers.kg_base import get_kg

    mine = get_kg("kg_uniform")  # seed None: each run gives it its own
    train_kg(tiny_kg(), settings(epochs=1, eval_every=0), mine, seed=0)
    again = train_kg(tiny_kg(), settings(epochs=1, eval_every=0), mine, seed=1)["model"]
    fresh = train_kg(tiny_kg(), settings(epochs=1, eval_every=0), get_kg("kg_uniform"), seed=1)
    assert same(fresh["model"].state_dict(), again) and mine.seed is None
