"""``negkit compare kg``: the knowledge-graph family of a study."""

from __future__ import annotations

from _kg_threads import one_torch_thread  # noqa: F401
from test_kg_cli import tiny_kg

from negkit.cli import main
from negkit.study.log import read_records


def test_compare_kg_records_filtered_metrics_per_epoch(tmp_path, capsys):
    data = tiny_kg(tmp_path / "tiny")
    out = tmp_path / "study"
    rc = main(["compare", "kg", "--data", str(data), "--samplers",
               "kg_uniform,self_adversarial:alpha=0.5", "--seeds", "1", "--epochs", "2",
               "--model", "distmult", "--dim", "8", "--batch-size", "32", "--eval-max", "10",
               "--out", str(out),
               "--no-progress"])  # fmt: skip
    assert rc == 0
    epochs = [r for r in read_records(out / "metrics.jsonl") if r["type"] == "epoch"]
    assert len(epochs) == 4 and [r["epoch"] for r in epochs[:2]] == [1, 2]
    for r in epochs:
        assert set(r["metrics"]) >= {"mrr", "hits@1", "hits@3", "hits@10"}
        assert 0 < r["metrics"]["mrr"] <= 1 and 0 <= r["false_negative_rate"] <= 1
    report = (out / "report.md").read_text()
    assert "self_adversarial:alpha=0.5" in report and "negkit compare kg" in report


def test_compare_kg_rejects_unknown_sampler_before_training(tmp_path, capsys):
    data = tiny_kg(tmp_path / "tiny")
    rc = main(["compare", "kg", "--data", str(data), "--samplers", "kg_uniform,nope",
               "--out", str(tmp_path / "s"), "--no-progress"])  # fmt: skip
    assert rc == 1 and "unknown KG sampler 'nope'" in capsys.readouterr().err


def test_kg_study_sums_the_sampler_seconds_of_its_epochs(tmp_path, monkeypatch):
    """train_kg's ``sampler_seconds`` is the epoch's; the study's is cumulative, as its
    ``train_seconds``: the report's share is the run's, not the last epoch's over the run."""
    import numpy as np

    import negkit.kg.train as kg_train

    real, raw = kg_train.train_kg, []

    def spy(*args, on_epoch, **kwargs):
        def record(rec):
            raw.append((rec["sampler_seconds"], rec["train_seconds"]))
            on_epoch(rec)

        return real(*args, on_epoch=record, **kwargs)

    monkeypatch.setattr(kg_train, "train_kg", spy)
    data = tiny_kg(tmp_path / "tiny")
    out = tmp_path / "study"
    rc = main(["compare", "kg", "--data", str(data), "--samplers", "kg_uniform", "--seeds", "1",
               "--epochs", "3", "--model", "distmult", "--dim", "8", "--batch-size", "32",
               "--eval-max", "10", "--out", str(out), "--no-progress"])  # fmt: skip
    assert rc == 0 and len(raw) == 3
    epochs = [r for r in read_records(out / "metrics.jsonl") if r["type"] == "epoch"]
    sums = np.cumsum([s for s, _ in raw])
    assert [r["sampler_seconds"] for r in epochs] == list(sums)
    assert [r["train_seconds"] for r in epochs] == [t for _, t in raw]
    share = f"{100 * sums[-1] / raw[-1][1]:.1f}%"
    row = next(line for line in (out / "report.md").read_text().splitlines()
               if line.startswith("| kg_uniform"))  # fmt: skip
    assert share in row
    md = (out / "report.md").read_text()  # measured around each call, not estimated apart
    assert "share drawing negatives, timed in training" in md and "estimated apart" not in md
