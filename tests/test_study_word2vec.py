"""``negkit compare word2vec`` end to end, with the real trainer, on a tiny corpus written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from negkit.cli import main
from negkit.study import run_study
from negkit.study.log import read_records
from negkit.study.word2vec_family import Word2VecFamily

TOPICS = [[f"{t}{i}" for i in range(8)] for t in ("sea", "sky", "cat", "car")]


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(3000):
        words = TOPICS[rng.integers(4)]
        lines.append(" ".join(rng.choice(words, size=10)))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n")
    sim = tmp_path / "sim.txt"
    pairs = [(a[i], a[i + 1], 9.0) for a in TOPICS for i in range(0, 6, 2)]
    pairs += [(TOPICS[0][i], TOPICS[2][i], 1.0) for i in range(4)] + [("sea0", "unknownword", 5.0)]
    sim.write_text("".join(f"{a}\t{b}\t{s}\n" for a, b, s in pairs))
    ana = tmp_path / "ana.txt"
    ana.write_text(
        ": topics\nsea0 sea1 sky0 sky1\ncat0 cat1 car0 car1\n: gram-none\nsea2 sea3 car2 car3\n"
    )
    return corpus, sim, ana


def test_runner_with_word2vec_logs_metrics_and_diagnostics(tiny, tmp_path):
    corpus, sim, ana = tiny
    fam = Word2VecFamily(
        corpus,
        [sim],
        ana,
        dim=16,
        window=3,
        negative=3,
        min_count=1,
        workers=1,
        analogy_restrict=1000,
    )
    fam.progress = False
    res = run_study(fam, ["uniform", "unigram"], [0, 1], 2, tmp_path / "out", progress=False)
    assert not res.interrupted
    epochs = [r for r in read_records(tmp_path / "out" / "metrics.jsonl") if r["type"] == "epoch"]
    assert len(epochs) == 8
    for r in epochs:
        assert set(r["metrics"]) == {
            "sim_spearman",
            "analogy",
            "analogy_semantic",
            "analogy_syntactic",
        }
        assert -1 <= r["metrics"]["sim_spearman"] <= 1
        assert 0 < r["neg_sigmoid_mean"] < 1
        assert len(r["neg_score_bins"]) == len(r["neg_score_hist"]) + 1
        assert sum(r["neg_score_hist"]) == r["n_negatives"] > 0
        assert r["train_seconds"] > 0 and r["sampler_seconds"] >= 0
    # the per-run clock accumulates over epochs
    by_run = {}
    for r in epochs:
        by_run.setdefault(r["run"], []).append(r["train_seconds"])
    assert all(b > a for a, b in by_run.values())
    # topic structure is learnt: every related pair (gold 9) above every unrelated one (gold 1),
    # which with tied gold scores gives exactly this Spearman
    gold = [9.0] * 12 + [1.0] * 4
    perfect = stats.spearmanr(gold, np.r_[np.arange(12) + 100.0, np.arange(4)])[0]
    last = [r for r in epochs if r["epoch"] == 2]
    assert [r["metrics"]["sim_spearman"] for r in last] == pytest.approx([perfect] * 4)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| uniform | 0,1 |" in md and "| unigram | 0,1 |" in md
    for png in ("quality_vs_epoch.png", "neg_sigmoid.png", "neg_scores.png", "cost.png"):
        assert (tmp_path / "out" / png).stat().st_size > 1000


def test_compare_cli_runs_resumes_and_records_the_command(tiny, tmp_path, capsys):
    corpus, sim, ana = tiny
    out = tmp_path / "cli"
    argv = [
        "compare",
        "word2vec",
        "--corpus",
        str(corpus),
        "--sim",
        str(sim),
        "--analogy",
        str(ana),
        "--samplers",
        "uniform",
        "--epochs",
        "1",
        "--seeds",
        "2",
        "--dim",
        "8",
        "--min-count",
        "1",
        "--workers",
        "1",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert "2 run(s) finished" in capsys.readouterr().out
    study = json.loads((out / "study.json").read_text())
    assert study["seeds"] == [0, 1] and study["settings"]["dim"] == 8
    assert study["command"].startswith("negkit compare word2vec --corpus ")
    assert "--min-count 1" in study["command"] and "--seeds 2" in study["command"]
    n_lines = len((out / "metrics.jsonl").read_text().splitlines())
    assert main(argv) == 0  # every run finished: nothing is trained again
    assert len((out / "metrics.jsonl").read_text().splitlines()) == n_lines
    assert main(argv[:-3] + ["--dim", "9", "--out", str(out)]) == 1
    assert "different settings" in capsys.readouterr().err


def test_the_rerun_command_gives_back_every_number_exactly(tmp_path):
    """Numbers were written with ``:g`` (6 significant digits): lr 0.0123456789 reran as
    0.0123457, and --analogy-restrict 1000000 as ``1e+06``, which the rerun refused."""
    import shlex

    from negkit.cli import build_parser
    from negkit.cli.compare import word2vec_command

    argv = ["compare", "word2vec", "--corpus", "c.txt", "--out", str(tmp_path / "o"),
            "--lr", "0.0123456789", "--sample", "1.23456789e-5", "--time-budget", "1234567.5",
            "--analogy-restrict", "1000000", "--samplers", "adaptive:lam=0.5"]  # fmt: skip
    args = build_parser().parse_args(argv)
    command = word2vec_command(args, [tmp_path / "sim.txt"], None)
    again = build_parser().parse_args(shlex.split(command)[1:])
    for key in ("lr", "sample", "time_budget", "analogy_restrict", "samplers", "dim", "epochs"):
        assert getattr(again, key) == getattr(args, key), key
    assert again.lr == 0.0123456789 and again.analogy_restrict == 1_000_000


def test_the_rec_rerun_command_gives_back_lr_reg_and_min_rating_exactly(tmp_path, monkeypatch):
    import shlex

    import negkit.cli.compare as compare
    from negkit.cli import build_parser

    log = tmp_path / "log.csv"
    log.write_text("user,item,rating\na,x,5\n")
    argv = ["compare", "rec", "--data", str(log), "--out", str(tmp_path / "o"),
            "--lr", "0.0123456789", "--reg", "0.00123456789",
            "--min-rating", "3.5000001"]  # fmt: skip
    commands = []
    monkeypatch.setattr(compare, "load_data_arg", lambda args: None)
    monkeypatch.setattr(compare, "finish", lambda args, fam, command, *a: commands.append(command))
    args = build_parser().parse_args(argv)
    compare.run_rec(args)
    again = build_parser().parse_args(shlex.split(commands[0])[1:])
    for key in ("lr", "reg", "min_rating", "split", "split_seed", "k", "dim"):
        assert getattr(again, key) == getattr(args, key), key


def test_each_sampler_spec_is_compiled_before_its_first_run_s_clock(tiny, tmp_path, monkeypatch):
    """Warm-ups were kept by sampler name: ``adaptive:dims=snapshot`` (another draw function
    than ``adaptive``'s) compiled in its first epoch, ~3 s counted as training (0.003 s for
    the epoch itself on this corpus)."""
    import negkit.study.word2vec_family as wf

    corpus, _, _ = tiny
    fam = Word2VecFamily(corpus, [], None, dim=8, min_count=1, workers=1)
    fam.progress = False
    order = []
    real_warm, real_model = Word2VecFamily._warm_up, Word2VecFamily._model
    monkeypatch.setattr(wf.Word2VecFamily, "_warm_up",
                        lambda self, name, params: (order.append(("warm", params)),
                                                    real_warm(self, name, params)))  # fmt: skip

    def model(self, seed, epochs, smp, callbacks, progress):
        if callbacks:  # a run's model, not a warm-up's
            order.append(("run", smp.dims))
        return real_model(self, seed, epochs, smp, callbacks, progress)

    monkeypatch.setattr(wf.Word2VecFamily, "_model", model)
    specs = ["adaptive", "adaptive:dims=snapshot", "adaptive:lam=3"]
    run_study(fam, specs, [0, 1], 1, tmp_path / "o", progress=False, report=False)
    assert order == [
        ("warm", {}), ("run", "exact"),
        ("warm", {"dims": "snapshot"}), ("run", "snapshot"),
        ("warm", {"lam": 3}), ("run", "exact"),
        ("run", "exact"), ("run", "snapshot"), ("run", "exact"),  # seed 1: compiled already
    ]  # fmt: skip
