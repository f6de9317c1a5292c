"""``negkit compare rec``: the BPR-MF family of a study and its false-negative diagnostic."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import negkit.samplers as ns
from negkit.cli import main
from negkit.study import run_study
from negkit.study.log import read_records
from negkit.study.rec_family import RecFamily


def test_probe_counts_test_positives_among_the_draws():
    # user 0: train item 0, test items 1 and 2; 4 items. Uniform draws exclude the train
    # positive, so they fall on {1, 2, 3}: 2 of 3 are test positives.
    train = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 4))
    test = sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 2])), shape=(1, 4))
    out = np.full((4, 2), 0.5, dtype=np.float32)  # items 1-3 score u.v = 1.0 * 0.5 * 2 = 1
    out[0] = -0.5  # the training positive scores -1: BPR's margin x_uj - x_ui is 2
    inp = np.ones((1, 2), dtype=np.float32)
    smp = ns.get("uniform", seed=3, exclude_positives=True)
    smp.score_aware = True
    smp.fit(n_items=4, positives=train, output=out, input=inp)
    fam = RecFamily("x", k_probe=3000)
    got = fam.probe(smp, np.array([0]), test)
    assert got["n_negatives"] == 3000
    # binomial(3000, 2/3): sd 0.0086, so 5 sd is 0.043
    assert got["false_negative_rate"] == pytest.approx(2 / 3, abs=0.043)
    assert got["neg_sigmoid_mean"] == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-6)
    hist = np.asarray(got["neg_score_hist"])
    assert hist.sum() == 3000 and hist[np.searchsorted(got["neg_score_bins"], 1.0)] == 3000


def test_rec_study_records_metrics_and_false_negatives(tmp_path):
    from negkit.rec.synthetic import planted_interactions

    data = planted_interactions(n_users=120, n_items=60, per_user=12, n_test=3, seed=0)
    fam = RecFamily(data, dim=8, threads=1, k=10, n_probe=100, k_probe=4)
    res = run_study(fam, ["uniform"], [0, 1], 2, tmp_path / "rec", progress=False)
    assert not res.interrupted
    epochs = [r for r in read_records(tmp_path / "rec" / "metrics.jsonl") if r["type"] == "epoch"]
    assert [(r["seed"], r["epoch"]) for r in epochs] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    for r in epochs:
        assert set(r["metrics"]) == {"recall@10", "ndcg@10"}
        assert 0 <= r["metrics"]["recall@10"] <= 1
        assert 0 <= r["false_negative_rate"] <= 1 and r["n_negatives"] == 400
        assert 0 < r["neg_sigmoid_mean"] < 1
    md = (tmp_path / "rec" / "report.md").read_text()
    assert "false-negative rate, last epoch" in md and "recall@10" in md
    assert (tmp_path / "rec" / "false_negatives.png").stat().st_size > 1000


def test_compare_rec_reports_a_missing_data_set(tmp_path, capsys):
    rc = main(
        [
            "compare",
            "rec",
            "--data",
            str(tmp_path / "nowhere"),
            "--samplers",
            "uniform",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
        ]
    )
    assert rc == 1
    assert "negkit compare: error:" in capsys.readouterr().err


def test_compare_refuses_an_out_that_is_a_file(tmp_path, capsys):
    taken = tmp_path / "report"
    taken.write_text("")
    log = tmp_path / "log.csv"
    log.write_text("user,item\na,x\na,y\nb,x\nb,z\n")
    rc = main(["compare", "rec", "--data", str(log), "--samplers", "uniform", "--out",
               str(taken), "--no-progress"])  # fmt: skip
    assert rc == 1
    assert f"negkit compare: error: --out {taken} is a file, not a folder" in (
        capsys.readouterr().err
    )


def test_a_rec_study_on_a_log_file_refuses_to_resume_on_another_split(tmp_path, capsys):
    """A log file's study was known by the file's stem alone: the same --out with another
    --split-seed skipped the finished runs and reported the other split's as its own."""
    rng = np.random.default_rng(0)
    rows = [f"u{u},i{i}" for u in range(30) for i in rng.choice(20, 8, replace=False)]
    log = tmp_path / "log.csv"
    log.write_text("user,item\n" + "\n".join(rows) + "\n")
    out = tmp_path / "o"
    argv = ["compare", "rec", "--data", str(log), "--samplers", "uniform", "--seeds", "1",
            "--epochs", "1", "--dim", "4", "--threads", "1", "--k", "5", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv + ["--split-seed", "1"]) == 1
    assert f"{out} holds a study with different settings" in capsys.readouterr().err
    assert main(argv) == 0  # the same study again: resumed, its run skipped
    assert "1 run(s) finished" in capsys.readouterr().out
    starts = [r for r in read_records(out / "metrics.jsonl") if r["type"] == "run_start"]
    assert len(starts) == 1


@pytest.mark.parametrize("n_valid, key, split", [(0, "test", "test"), (2, "valid", "validation")])
def test_the_rec_report_names_the_split_its_metrics_are_of(tmp_path, n_valid, key, split):
    """Recall and NDCG are of the validation split when the data has one, else of the test
    split; the report did not say which."""
    from negkit.rec.synthetic import planted_interactions

    data = planted_interactions(n_users=60, n_items=40, per_user=10, n_valid=n_valid, n_test=2,
                                seed=0)  # fmt: skip
    fam = RecFamily(data, dim=4, threads=1, k=5, n_probe=20, k_probe=2)
    run_study(fam, ["uniform"], [0], 1, tmp_path / "rec", progress=False)
    (rec,) = [r for r in read_records(tmp_path / "rec" / "metrics.jsonl") if r["type"] == "epoch"]
    assert rec["eval_split"] == key
    assert f"Metrics on the {split} split." in (tmp_path / "rec" / "report.md").read_text()


def test_the_rec_report_labels_its_loss_and_sigma_as_bpr_s(tmp_path):
    """The loss figure said 'training loss per pair (SGNS)' and the σ figure 'σ(u·v) of drawn
    negatives' for every family; a rec run's loss is BPR's and its σ is BPR's gradient factor
    of negatives drawn again after the epoch (the probe), not of the training draws."""
    from negkit.rec.synthetic import planted_interactions

    data = planted_interactions(n_users=60, n_items=40, per_user=10, n_test=2, seed=0)
    fam = RecFamily(data, dim=4, threads=1, k=5, n_probe=20, k_probe=2)
    run_study(fam, ["uniform"], [0], 2, tmp_path / "rec", progress=False)
    md = (tmp_path / "rec" / "report.md").read_text()
    assert "SGNS" not in md and "σ(u·v)" not in md
    assert "### Training loss: training loss per pair (BPR: -log σ(x_ui - x_uj))" in md
    assert "negatives drawn again after each epoch for a fixed set of probe users" in md
    assert "| mean σ(x_uj - x_ui) of probe negatives (BPR), last epoch |" in md


def test_a_rec_study_s_adaptive_takes_rec_train_s_lambda(tmp_path, monkeypatch):
    """The study handed run() a sampler object, which rec train takes as built: its adaptive
    drew with word2vec's λ = 0.01·|I|, not the recommenders' 0.2·|I| of ``rec train
    --sampler adaptive`` (a third of uniform's Recall@20 on Gowalla, REC_SAMPLER_DEFAULTS)."""
    import negkit.rec.train as rt
    from negkit.rec.synthetic import planted_interactions

    used = {}
    real = rt.run

    def spy(settings, smp, **kw):
        if settings.epochs == 2:  # the runs, not the warm-ups
            used[kw["seed"], smp.lam, smp.lam_fraction] = True
        return real(settings, smp, **kw)

    monkeypatch.setattr(rt, "run", spy)
    data = planted_interactions(n_users=60, n_items=40, per_user=10, n_test=2, seed=0)
    fam = RecFamily(data, dim=4, threads=1, k=5, n_probe=20, k_probe=2)
    run_study(fam, ["adaptive", "adaptive:lam=3"], [0], 2, tmp_path / "rec", progress=False)
    assert set(used) == {(0, None, 0.2), (0, 3, 0.01)}  # the user's λ stands
    # a study of the old default is another study: not resumed into
    assert fam.settings()["sampler_defaults"] == {"adaptive": {"lam_fraction": 0.2}}
    # what rec train fits for --sampler adaptive
    tables = (np.zeros((60, 5), np.float32), np.zeros((40, 5), np.float32))
    smp, _ = rt._make_sampler("adaptive", rt.RecSettings(data=data), data, tables)
    assert (smp.lam, smp.lam_fraction) == (None, 0.2)
