"""``negkit kg train`` end to end on a tiny synthetic knowledge graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _kg_threads import one_torch_thread  # noqa: F401

from negkit.cli import main


def tiny_kg(folder):
    """40 entities in 4 clusters: ``same`` links 3 entities of a cluster, ``next`` maps an
    entity to its peer in the next cluster.  Learnable, so MRR rises far above chance."""
    rng = np.random.default_rng(0)
    rows = set()
    for h in range(40):
        c = h // 10
        for t in rng.choice(range(c * 10, c * 10 + 10), 3, replace=False):
            rows.add((f"e{h}", "same", f"e{t}"))
        rows.add((f"e{h}", "next", f"e{((c + 1) % 4) * 10 + h % 10}"))
    rows = sorted(rows)
    rng.shuffle(rows)
    n = len(rows)
    folder.mkdir(exist_ok=True)
    for name, part in (("train", rows[: n - 20]), ("valid", rows[n - 20 : n - 10]),
                       ("test", rows[n - 10 :])):  # fmt: skip
        (folder / f"{name}.txt").write_text("".join("\t".join(r) + "\n" for r in part))
    return folder


RUNS = [("rotate", "self_adversarial:alpha=0.5"), ("distmult", "nscaching:cache_size=5:n_random=5")]


@pytest.mark.parametrize("model, sampler", RUNS)
def test_kg_train_end_to_end(tmp_path, capsys, model, sampler):
    data = tiny_kg(tmp_path / "tiny")
    out = tmp_path / "out"
    rc = main(["kg", "train", "--data", str(data), "--model", model, "--sampler", sampler,
               "--dim", "16", "--epochs", "25", "--lr", "0.05", "--n-negs", "8",
               "--batch-size", "32", "--eval-every", "20", "--out", str(out)])  # fmt: skip
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    # chance: the mean of 1/rank over 40 entities is 0.107
    assert m["test"]["mrr"] > 0.25 and m["test"]["n_triples"] == 10
    assert len(m["history"]) == 25 and "metrics" in m["history"][19]
    assert m["history"][-1]["loss"] < m["history"][0]["loss"]
    assert np.load(out / "entity_embeddings.npy").shape == (40, 32 if model == "rotate" else 16)
    assert (out / "entities.txt").read_text().count("\n") == 40
    assert "mrr=" in capsys.readouterr().out


def test_kg_train_errors(tmp_path, capsys):
    data = tiny_kg(tmp_path / "tiny")
    assert main(["kg", "train", "--data", str(data), "--sampler", "nope", "--out",
                 str(tmp_path / "o")]) == 1  # fmt: skip
    assert "unknown KG sampler 'nope'" in capsys.readouterr().err
    assert main(["kg", "train", "--data", "ml-100k", "--out", str(tmp_path / "o")]) == 1
    assert "ml-100k is not a knowledge graph (its kind: interactions)" in capsys.readouterr().err
    out = ["--out", str(tmp_path / "o")]
    assert main(["kg", "train", "--data", str(data), "--test-max", "0", *out]) == 1
    assert "--test-max must be at least 1, got 0" in capsys.readouterr().err


def test_kg_train_checkpoint_resumes_a_cut_run(tmp_path, capsys):
    """A run whose checkpoint holds epoch 3 of 3 (written by a straight run) is not trained
    again: rerun, it resumes past the last epoch and writes the same embeddings."""
    data = tiny_kg(tmp_path / "tiny")
    ckpt = tmp_path / "run.ckpt.pt"
    args = ["kg", "train", "--data", str(data), "--model", "transe", "--dim", "8", "--epochs",
            "3", "--n-negs", "4", "--batch-size", "32", "--threads", "1", "--checkpoint",
            str(ckpt)]  # fmt: skip
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert ckpt.is_file() and not list(tmp_path.glob(".*.tmp"))
    capsys.readouterr()
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    assert "epoch " not in capsys.readouterr().err  # nothing left to train
    a, b = (np.load(tmp_path / d / "entity_embeddings.npy") for d in "ab")
    np.testing.assert_array_equal(a, b)
    longer = [("4" if a == "3" else a) for a in args]  # --epochs 4, all else the same
    assert main(longer + ["--out", str(tmp_path / "c")]) == 1
    assert "other settings (epochs)" in capsys.readouterr().err


def test_kg_train_checkpoint_in_a_new_folder_and_not_a_folder(tmp_path, capsys):
    data = tiny_kg(tmp_path / "tiny")
    args = ["kg", "train", "--data", str(data), "--model", "transe", "--dim", "4", "--epochs",
            "1", "--n-negs", "2", "--batch-size", "32", "--threads", "1",
            "--out", str(tmp_path / "o")]  # fmt: skip
    ckpt = tmp_path / "new" / "run.ckpt.pt"
    assert main([*args, "--checkpoint", str(ckpt)]) == 0  # its folder is made
    assert ckpt.is_file()
    assert main([*args, "--checkpoint", str(tmp_path)]) == 1
    assert f"--checkpoint {tmp_path} is a folder, not a file" in capsys.readouterr().err


def test_a_test_split_emptied_by_unseen_drop_is_refused_before_training(tmp_path, capsys):
    """Every test triple holds an entity absent from train: with --unseen drop nothing is
    left to test.  That used to train, then stop with torch's "torch.cat(): expected a
    non-empty list of Tensors"; now a one-line error before any epoch, and nothing written."""
    from negkit.kg.evaluate import link_prediction
    from negkit.kg.models import make_model
    from negkit.kg.train import KGSettings, train_kg
    from negkit.kg.triples import KGTriples

    data = tmp_path / "kg"
    data.mkdir()
    (data / "train.txt").write_text("a\tr\tb\nb\tr\tc\nc\tr\ta\n")
    (data / "valid.txt").write_text("a\tr\tc\n")
    (data / "test.txt").write_text("a\tr\tz\nz\tr\tb\n")
    out = tmp_path / "o"
    args = ["kg", "train", "--data", str(data), "--dim", "4", "--epochs", "1", "--out", str(out)]
    assert main([*args, "--unseen", "drop"]) == 1
    err = capsys.readouterr().err
    assert "the test split holds no triples to rank (--unseen drop removed all 2 of its " \
           "triples)" in err and "epoch 1" not in err  # fmt: skip
    assert not out.exists()
    assert main(args) == 0  # kept (the standard protocol): they are ranked
    with pytest.raises(ValueError, match="no triples to rank"):
        link_prediction(make_model("distmult", 3, 1, 2), np.empty((0, 3)), np.zeros((1, 3)))
    t = np.array([[0, 0, 1], [1, 0, 2]])
    empty_valid = KGTriples(t, t[:0], t, ["a", "b", "c"], ["r"])
    with pytest.raises(ValueError, match="the valid split holds no triples: nothing to eval"):
        train_kg(empty_valid, KGSettings(dim=2, epochs=1, eval_every=1), "kg_uniform")


def test_metrics_name_the_unseen_policy_and_eval_max_alone_is_refused(tmp_path, capsys):
    """metrics.json said which triples held unseen entities but not whether they were kept
    or dropped (--unseen); and --eval-max without --eval-every was recorded in the settings
    although nothing was validated.  Now the policy is written and the lone option refused."""
    data = tiny_kg(tmp_path / "tiny")
    args = ["kg", "train", "--data", str(data), "--dim", "4", "--epochs", "1", "--n-negs", "2"]
    assert main([*args, "--eval-max", "5", "--out", str(tmp_path / "a")]) == 1
    assert "--eval-max is the size of the validation sample of --eval-every" in (
        capsys.readouterr().err)  # fmt: skip
    assert not (tmp_path / "a").exists()
    assert main([*args, "--eval-max", "5", "--eval-every", "1", "--out", str(tmp_path / "b")]) == 0
    m = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert m["settings"]["eval_max"] == 5 and "metrics" in m["history"][0]
    assert m["data"]["unseen_policy"] == "keep"
    assert main([*args, "--unseen", "drop", "--out", str(tmp_path / "c")]) == 0
    assert json.loads((tmp_path / "c" / "metrics.json").read_text())["data"]["unseen_policy"] == (
        "drop")  # fmt: skip


def test_spec_seed_differs_per_rank_and_a_second_filter_is_refused(tmp_path, capsys):
    """``--sampler kg_uniform:seed=5 --nproc 2`` seeded both ranks 5: the same draws (sides
    and entities) on each rank's rows.  A spec's seed is now offset by the rank as --seed is.
    ``--sampler kg_uniform:filter=bloom --filter none`` ran Bloom filtering and ignored
    --filter; giving both is refused."""
    from negkit.cli.kg import make_sampler

    assert [make_sampler("kg_uniform:seed=5", "exact", 0, r).seed for r in (0, 1)] == [5, 6]
    assert [make_sampler("kg_uniform", "exact", 3, r).seed for r in (0, 1)] == [3, 4]
    assert make_sampler("kg_uniform:filter=bloom", "exact", 0).filter == "bloom"
    data = tiny_kg(tmp_path / "tiny")
    args = ["kg", "train", "--data", str(data), "--dim", "4", "--epochs", "1", "--n-negs", "2",
            "--sampler", "kg_uniform:filter=bloom", "--out", str(tmp_path / "o")]  # fmt: skip
    assert main([*args, "--filter", "none"]) == 1
    assert "--sampler kg_uniform:filter=bloom sets its filter and --filter none is given " \
           "too: give one" in capsys.readouterr().err  # fmt: skip
    assert main(args) == 0
    assert "filter='bloom'" in json.loads((tmp_path / "o" / "metrics.json").read_text())["sampler"]
