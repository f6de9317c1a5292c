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
