"""The study runner, log and report, on a toy family whose numbers are known in advance."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

from negkit.study import run_study
from negkit.study.log import read_records, runs_from_records
from negkit.study.summary import fmt_mean_std, mean_std, summarise

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class ToyFamily:
    """Records known values per (sampler, seed, epoch): score = 0.1 epoch + 0.01 seed + bonus."""

    name = "toy"

    def __init__(self, sleep=0.0, fail_on=None, interrupt_at=None, bonus=None, seconds=None):
        self.seconds = seconds or {}  # sampler -> train seconds per epoch (default 2)
        self.sleep = sleep
        self.fail_on = fail_on
        self.interrupt_at = interrupt_at  # (sampler, seed, epoch) where Ctrl-C is "pressed"
        self.bonus = bonus or {"uniform": 0.0, "unigram": 0.05}
        self.trained: list[tuple[str, int]] = []
        self.prepared = 0

    def settings(self):
        return {"dim": 8}

    def metric_names(self):
        return ["score", "other"]

    def prepare(self):
        self.prepared += 1

    def train(self, sampler, seed, epochs, on_epoch):
        self.trained.append((sampler, seed))
        if sampler == self.fail_on:
            raise ValueError("toy failure")
        for ep in range(1, epochs + 1):
            if self.sleep:
                time.sleep(self.sleep)
            if self.interrupt_at == (sampler, seed, ep):
                raise KeyboardInterrupt
            on_epoch(
                {
                    "epoch": ep,
                    "train_seconds": self.seconds.get(sampler, 2.0) * ep,
                    "sampler_seconds": 0.5 * ep,
                    "eval_seconds": 0.1,
                    "loss": 1.0 / ep,
                    "neg_sigmoid_mean": 0.3 / ep,
                    "neg_score_bins": [-2.0, -1.0, 0.0, 1.0, 2.0],
                    "neg_score_hist": [1, 2 + ep, 3, seed + 1],
                    "metrics": {
                        "score": 0.1 * ep + 0.01 * seed + self.bonus[sampler],
                        "other": float(seed),
                    },
                }
            )


def _study(tmp_path, family, **kw):
    kw.setdefault("progress", False)
    return run_study(family, ["uniform", "unigram"], [0, 1], 2, tmp_path / "out", **kw)


def test_log_records_every_epoch_of_every_run(tmp_path):
    fam = ToyFamily()
    res = _study(tmp_path, fam, report=False)
    assert fam.prepared == 1 and not res.interrupted
    # seed by seed, every sampler for seed 0 first
    assert fam.trained == [("uniform", 0), ("unigram", 0), ("uniform", 1), ("unigram", 1)]
    recs = read_records(tmp_path / "out" / "metrics.jsonl")
    kinds = [r["type"] for r in recs]
    assert kinds.count("run_start") == 4 and kinds.count("run_end") == 4
    epochs = [r for r in recs if r["type"] == "epoch"]
    assert len(epochs) == 8
    got = {(r["sampler"], r["seed"], r["epoch"]): r["metrics"]["score"] for r in epochs}
    assert got[("unigram", 1, 2)] == pytest.approx(0.2 + 0.01 + 0.05)
    assert got[("uniform", 0, 1)] == pytest.approx(0.1)
    assert all(r["status"] == "finished" for r in recs if r["type"] == "run_end")
    assert all(r["run"] == f"{r['sampler']}-seed{r['seed']}" for r in epochs)


def test_report_has_table_plots_and_rerun_info(tmp_path):
    res = _study(tmp_path, ToyFamily(), command="negkit compare toy --x 1")
    out = tmp_path / "out"
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    # unigram final score: seeds 0 and 1 -> 0.25, 0.26: mean 0.255, std 0.00707 (ddof=1)
    assert "| unigram | 0,1 | **0.255 ± 0.007** |" in md
    assert "| uniform | 0,1 | 0.205 ± 0.007 |" in md
    # what ± is (0.00707 is the sample std, ddof=1; the population std would be 0.005)
    assert "mean ± sample standard deviation (n - 1 in the denominator" in md
    assert "after the last epoch (not the best epoch's)" in md
    assert "25.0%" in md  # sampler share 0.5 ep / 2 ep
    # against unigram: 0.205 - 0.255, standard error sqrt(2 * 0.00707**2 / 2) = 0.00707
    assert "## Against unigram" in md
    assert "| uniform | -0.050 ± 0.007 | +0.000 ± 0.707 | ×1.00 |" in md
    assert "negkit compare toy --x 1" in md and "negkit compare toy --x 1" in html
    assert '"seeds": [\n    0,\n    1\n  ]' in md and '"numba"' in md
    for name in (
        "quality_vs_epoch.png",
        "quality_vs_seconds.png",
        "neg_sigmoid.png",
        "neg_scores.png",
        "cost.png",
        "loss.png",
    ):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC, name
        assert f"]({name})" in md and f"src='{name}'" in html
    assert not (out / "false_negatives.png").exists()  # no run recorded it
    assert res.report_files[0] == out / "report.md"


def test_share_above_uniform_is_the_time_a_sampler_adds_to_the_uniform_run(tmp_path):
    _study(tmp_path, ToyFamily(seconds={"uniform": 2.0, "unigram": 8.0}))
    runs = runs_from_records(read_records(tmp_path / "out" / "metrics.jsonl"))
    uni, unig = summarise(runs, ["uniform", "unigram"], ["score"])
    assert unig.share_above_uniform[0] == pytest.approx((16 - 4) / 16)  # 2 epochs: 16 s vs 4 s
    assert uni.share_above_uniform[0] == 0.0
    md = (tmp_path / "out" / "report.md").read_text()
    assert "share above uniform's time" in md and "| 16.0 ± 0.0 | 75.0% ± 0.0 |" in md


def test_uniform_and_the_reference_are_found_under_their_aliases(tmp_path):
    """``rns`` is uniform and ``popularity`` unigram: the share above uniform's time and the
    comparison with the reference were left out when the study listed them by alias."""
    fam = ToyFamily(seconds={"rns": 2.0, "popularity": 8.0}, bonus={"rns": 0, "popularity": 0})
    run_study(fam, ["rns", "popularity"], [0, 1], 2, tmp_path / "a", progress=False)
    runs = runs_from_records(read_records(tmp_path / "a" / "metrics.jsonl"))
    uni, unig = summarise(runs, ["rns", "popularity"], ["score"])
    assert uni.share_above_uniform[0] == 0.0
    assert unig.share_above_uniform[0] == pytest.approx((16 - 4) / 16)
    md = (tmp_path / "a" / "report.md").read_text()
    assert "share above uniform's time" in md and "## Against popularity" in md


def test_no_uniform_run_leaves_the_share_above_uniform_out(tmp_path):
    run_study(ToyFamily(), ["unigram"], [0], 1, tmp_path / "o", progress=False)
    runs = runs_from_records(read_records(tmp_path / "o" / "metrics.jsonl"))
    (s,) = summarise(runs, ["unigram"], ["score"])
    assert math.isnan(s.share_above_uniform[0])
    assert "above uniform" not in (tmp_path / "o" / "report.md").read_text()


def test_mean_std_matches_hand_computation():
    m, s = mean_std([1.0, 2.0, 4.0])
    assert m == pytest.approx(7 / 3)
    mu = 7 / 3
    assert s == pytest.approx(math.sqrt(((1 - mu) ** 2 + (2 - mu) ** 2 + (4 - mu) ** 2) / 2))
    m1, s1 = mean_std([3.0])
    assert m1 == 3.0 and math.isnan(s1)
    assert math.isnan(mean_std([])[0])
    assert fmt_mean_std(0.5, float("nan")) == "0.500"
    assert fmt_mean_std(0.5, 0.25, digits=2) == "0.50 ± 0.25"


def test_a_metric_missing_in_some_seeds_says_over_how_many_it_is_averaged(tmp_path):
    """A NaN (null in the log) final metric of one seed was left out of the mean silently,
    while the row listed every finished seed."""

    class SomeNaN(ToyFamily):
        def train(self, sampler, seed, epochs, on_epoch):
            def nan_other(rec):
                if seed == 1:
                    rec["metrics"]["other"] = float("nan")
                on_epoch(rec)

            super().train(sampler, seed, epochs, nan_other)

    _study(tmp_path, SomeNaN())
    runs = runs_from_records(read_records(tmp_path / "out" / "metrics.jsonl"))
    uni, _ = summarise(runs, ["uniform", "unigram"], ["score", "other"])
    assert uni.final_n == {"score": 2, "other": 1} and uni.final["other"][0] == 0.0
    md = (tmp_path / "out" / "report.md").read_text()
    # score: 0.20 and 0.21; other: seed 0's 0.0 alone
    assert "| uniform | 0,1 | 0.205 ± 0.007 | **0.000 (1 of 2 seeds)** |" in md


def test_summary_from_runs(tmp_path):
    _study(tmp_path, ToyFamily(), report=False)
    runs = runs_from_records(read_records(tmp_path / "out" / "metrics.jsonl"))
    uni, unig = summarise(runs, ["uniform", "unigram"], ["score", "other"])
    assert unig.final["score"][0] == pytest.approx(0.255)
    assert unig.final["score"][1] == pytest.approx(np.std([0.25, 0.26], ddof=1))
    assert uni.final["other"] == pytest.approx((0.5, np.std([0.0, 1.0], ddof=1)))
    assert uni.train_seconds == (4.0, 0.0)
    assert uni.sampler_share[0] == pytest.approx(0.25)
    assert uni.neg_sigmoid_final[0] == pytest.approx(0.15)


def test_time_budget_keeps_finished_runs_and_resume_skips_them(tmp_path):
    fam = ToyFamily(sleep=0.5)
    # run 1 ends at ~1.0 s; run 2's first epoch ends at ~1.5 s > budget -> stop there
    res = _study(tmp_path, fam, time_budget=1.25)
    assert res.interrupted and "time budget" in res.stopped
    assert fam.trained == [("uniform", 0), ("unigram", 0)]
    status = {k: v["status"] for k, v in res.runs.items()}
    assert status == {"uniform-seed0": "finished", "unigram-seed0": "interrupted"}
    md = (tmp_path / "out" / "report.md").read_text()
    assert "1 of 4 runs finished" in md and "stopped early" in md
    assert "| uniform | 0 |" in md and "| unigram | none finished |" in md
    assert "unigram-seed0: interrupted after 1 epoch(s)" in md

    fam2 = ToyFamily()
    res2 = _study(tmp_path, fam2)
    assert fam2.trained == [("unigram", 0), ("uniform", 1), ("unigram", 1)]
    assert not res2.interrupted
    assert all(v["status"] == "finished" for v in res2.runs.values()) and len(res2.runs) == 4
    # the finished attempt of unigram-seed0 wins over the interrupted one
    assert len(res2.runs["unigram-seed0"]["epochs"]) == 2
    assert "4 of 4 runs finished" in (tmp_path / "out" / "report.md").read_text()


def test_a_run_whose_last_epoch_passes_the_budget_is_kept_as_finished(tmp_path):
    """The budget was checked after every epoch, the last included: a run that had trained
    all its epochs was dropped as 'interrupted' (and trained again on resume)."""
    fam = ToyFamily(sleep=0.5)
    # uniform-seed0's epoch 2, its last, ends at ~1.0 s > budget: kept, the study stops there
    res = _study(tmp_path, fam, time_budget=0.75, report=False)
    assert res.interrupted and "time budget" in res.stopped
    assert fam.trained == [("uniform", 0)]
    assert {k: v["status"] for k, v in res.runs.items()} == {"uniform-seed0": "finished"}
    fam2 = ToyFamily()
    _study(tmp_path, fam2, report=False)
    assert fam2.trained == [("unigram", 0), ("uniform", 1), ("unigram", 1)]


def test_fresh_retrains_everything(tmp_path):
    _study(tmp_path, ToyFamily(), report=False)
    fam = ToyFamily()
    _study(tmp_path, fam, resume=False, report=False)
    assert len(fam.trained) == 4
    assert (tmp_path / "out" / "metrics.jsonl.old").exists()


def test_ctrl_c_keeps_finished_runs_and_writes_report(tmp_path):
    fam = ToyFamily(interrupt_at=("uniform", 1, 2))
    res = _study(tmp_path, fam, report=False)
    assert "Ctrl-C" in res.stopped
    assert sorted(k for k, v in res.runs.items() if v["status"] == "finished") == [
        "uniform-seed0",
        "unigram-seed0",
    ]
    assert res.runs["uniform-seed1"]["status"] == "interrupted"
    assert len(res.runs["uniform-seed1"]["epochs"]) == 1


def test_failed_run_is_reported_and_the_study_goes_on(tmp_path):
    fam = ToyFamily(fail_on="uniform")
    res = _study(tmp_path, fam, report=False)
    from negkit.study.report import _unfinished

    assert len(fam.trained) == 4
    assert res.runs["uniform-seed0"]["status"] == "failed"
    why = "uniform-seed0: failed after 0 epoch(s) (ValueError: toy failure)"
    assert why in _unfinished(res.runs)


def test_resume_with_other_settings_is_refused(tmp_path):
    _study(tmp_path, ToyFamily(), report=False)
    fam = ToyFamily()
    fam.settings = lambda: {"dim": 16}
    with pytest.raises(ValueError, match="different settings"):
        _study(tmp_path, fam)
    with pytest.raises(ValueError, match="different epochs"):
        run_study(ToyFamily(), ["uniform"], [0], 3, tmp_path / "out", progress=False)
    # runs recorded without their study.json (deleted, or copied alone): not resumed blindly
    (tmp_path / "out" / "study.json").unlink()
    other = ToyFamily()
    other.settings = lambda: {"dim": 16}
    with pytest.raises(ValueError, match="holds recorded runs .* but no study.json"):
        _study(tmp_path, other)
    res = run_study(other, ["uniform"], [0], 2, tmp_path / "out", resume=False, progress=False,
                    report=False)  # fmt: skip
    assert list(res.runs) == ["uniform-seed0"]


def test_a_study_whose_data_failed_to_load_does_not_hold_its_folder(tmp_path):
    broken = ToyFamily()
    broken.settings = lambda: {"dim": 16}

    def no_data():
        raise ValueError("graph x has no node labels to evaluate on")

    broken.prepare = no_data
    with pytest.raises(ValueError, match="no node labels"):
        _study(tmp_path, broken)
    fam = ToyFamily()  # other settings, same folder: nothing was recorded there
    res = _study(tmp_path, fam, report=False)
    assert len(fam.trained) == 4 and len(res.runs) == 4


def test_bad_arguments_fail_before_training(tmp_path):
    fam = ToyFamily()
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        run_study(fam, ["uniform", "nope"], [0], 1, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="listed twice"):
        run_study(fam, ["uniform", "UNIFORM"], [0], 1, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="'uniform' and 'rns' are the same sampler"):
        run_study(fam, ["uniform", "rns"], [0], 1, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="seeds"):
        run_study(fam, ["uniform"], [0, 0], 1, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="epochs"):
        run_study(fam, ["uniform"], [0], 0, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="no parameter 'bogus'|bogus"):
        run_study(fam, ["unigram:bogus=1"], [0], 1, tmp_path / "o", progress=False)
    # samplers no study can feed: impressions, or a band ranked on untrained tables once
    with pytest.raises(ValueError, match="'exposure' draws from impressions"):
        run_study(fam, ["uniform", "exposure"], [0], 1, tmp_path / "o", progress=False)
    with pytest.raises(ValueError, match="'band' fitted by negkit compare toy"):
        run_study(fam, ["uniform", "band"], [0], 1, tmp_path / "o", progress=False)
    run_study(fam, ["band:refresh_every=100"], [0], 1, tmp_path / "b", progress=False)
    assert fam.trained == [("band:refresh_every=100", 0)]
    with pytest.raises(ValueError, match="'span' draws spans of sentences"):  # every run failed
        run_study(fam, ["uniform", "span"], [0], 1, tmp_path / "o", progress=False)


def test_the_command_exits_1_when_a_run_failed(tmp_path, capsys):
    """The study goes on past a failed run and reports the rest, but the command said 0."""
    import argparse

    from negkit.cli.compare import finish

    args = argparse.Namespace(out=tmp_path / "o", samplers="uniform,unigram", seeds=1, epochs=1,
                              time_budget=None, fresh=False, no_progress=True)  # fmt: skip
    assert finish(args, ToyFamily(fail_on="unigram"), "negkit compare toy") == 1
    err = capsys.readouterr().err
    assert "1 run(s) failed (unigram-seed0)" in err and "metrics.jsonl" in err
    args.out = tmp_path / "fine"
    assert finish(args, ToyFamily(), "negkit compare toy") == 0


def test_a_family_refuses_samplers_before_the_first_run(tmp_path):
    from negkit.study.rec_family import RecFamily

    fam = ToyFamily()
    fam.check_sampler = RecFamily.check_sampler.__get__(fam)  # the recommenders' refusals
    with pytest.raises(ValueError, match="'exposure_groups' draws from impressions"):
        run_study(fam, ["uniform", "exposure_groups"], [0], 1, tmp_path / "o", progress=False)
    assert fam.trained == []


def test_torn_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    _study(tmp_path, ToyFamily(), report=False)
    path = tmp_path / "out" / "metrics.jsonl"
    with open(path, "a") as f:
        f.write('{"type": "epoch", "run": "uniform-se')
    recs = read_records(path)
    assert len(recs) == 16
    assert "metrics.jsonl:17: skipped an unreadable record" in caplog.text
    json.loads(path.read_text().splitlines()[0])


def test_a_resumed_study_does_not_glue_its_first_record_to_a_torn_line(tmp_path):
    """A process killed mid-write leaves a line without its newline; the next invocation
    appended its first record (the rerun's run_start) to that line, and lost it with it."""
    fam = ToyFamily(interrupt_at=("unigram", 1, 1))
    _study(tmp_path, fam, report=False)
    path = tmp_path / "out" / "metrics.jsonl"
    with open(path, "a") as f:
        f.write('{"type": "epoch", "run": "unigram-se')  # killed here
    res = _study(tmp_path, ToyFamily(), report=False)
    assert res.runs["unigram-seed1"]["status"] == "finished"
    starts = [r for r in read_records(path) if r["type"] == "run_start"]
    assert [r["run"] for r in starts].count("unigram-seed1") == 2  # the first and the rerun
    assert len(path.read_text().splitlines()) == len(read_records(path)) + 1  # the torn line
