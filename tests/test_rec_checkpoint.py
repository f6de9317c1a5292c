"""Tensor-engine checkpoints on one process: a run cut after epoch 2 and resumed from its
file repeats the straight run exactly, for samplers whose state goes beyond a random
context (the adaptive sampler's orders and draw counters, SRNS's memory) as for uniform
negatives; a file of other settings, another sampler or seed is refused; where it runs and
for how long may change."""

from __future__ import annotations

import numpy as np
import pytest

from negkit.rec.synthetic import planted_interactions
from negkit.rec.train import RecSettings, run


class Stop(Exception):
    pass


def cut_after_2(row):
    if row["epoch"] == 2:
        raise Stop


DATA = planted_interactions(
    n_users=60, n_items=40, n_groups=3, per_user=8, n_valid=0, n_test=2, seed=1
)


def opts(sampler: str, model: str) -> dict:
    params = {"refresh_every": 50} if sampler == "adaptive" else {}  # several rebuilds an epoch
    return dict(data=DATA, model=model, engine="torch", epochs=4, dim=8, n_layers=2,
                batch_size=64, threads=1, eval_every=1, lr=0.01,
                sampler_params=params)  # fmt: skip


@pytest.mark.parametrize("model", ["mf", "lightgcn"])
# in-batch / mixed: their streaming frequency estimate (the logQ) was not saved, so a resumed
# run corrected with an empty one
@pytest.mark.parametrize("sampler", ["rns", "adaptive", "srns", "in-batch", "mixed"])
def test_resumed_run_repeats_the_straight_run(tmp_path, sampler, model):
    ckpt = str(tmp_path / "rec.ckpt.pt")
    straight = run(RecSettings(**opts(sampler, model)), sampler, seed=2)
    with pytest.raises(Stop):
        run(RecSettings(**opts(sampler, model), checkpoint=ckpt), sampler, seed=2,
            on_epoch=cut_after_2)  # fmt: skip
    seen: list[int] = []
    resumed = run(RecSettings(**opts(sampler, model), checkpoint=ckpt), sampler, seed=2,
                  on_epoch=lambda row: seen.append(row["epoch"]))  # fmt: skip
    assert seen == [3, 4]
    for side in ("user", "item"):
        np.testing.assert_array_equal(resumed[f"{side}_embeddings"], straight[f"{side}_embeddings"])


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    ckpt = str(tmp_path / "rec.ckpt.pt")
    run(RecSettings(**{**opts("rns", "mf"), "epochs": 1}, checkpoint=ckpt), "rns", seed=2)
    with pytest.raises(ValueError, match=r"other settings \(.*lr"):
        run(RecSettings(**{**opts("rns", "mf"), "epochs": 1, "lr": 0.02}, checkpoint=ckpt),
            "rns", seed=2)  # fmt: skip


@pytest.mark.parametrize(
    "change, named",
    [({"sampler": "dns"}, "sampler"), ({"seed": 3}, "seed"),
     ({"n_candidates": 8}, "n_candidates"), ({"reg": 0.5}, "reg")],
)  # fmt: skip
def test_a_cut_run_resumed_with_another_sampler_seed_or_sampler_setting_is_refused(
    tmp_path, change, named
):
    """The rest of a run must not go on under another law or seed than its start."""
    ckpt = str(tmp_path / "rec.ckpt.pt")
    with pytest.raises(Stop):
        run(RecSettings(**opts("rns", "mf"), checkpoint=ckpt), "rns", seed=2, on_epoch=cut_after_2)
    settings = {k: v for k, v in change.items() if k not in ("sampler", "seed")}
    with pytest.raises(ValueError, match=rf"other settings \({named}\)"):
        run(RecSettings(**{**opts("rns", "mf"), **settings}, checkpoint=ckpt),
            change.get("sampler", "rns"), seed=change.get("seed", 2))  # fmt: skip


def test_a_checkpoint_resumes_under_another_time_limit_and_eval_chunk(tmp_path):
    ckpt = str(tmp_path / "rec.ckpt.pt")
    straight = run(RecSettings(**opts("rns", "mf")), "rns", seed=2)
    with pytest.raises(Stop):
        run(RecSettings(**opts("rns", "mf"), checkpoint=ckpt), "rns", seed=2, on_epoch=cut_after_2)
    other = {**opts("rns", "mf"), "max_seconds": 3600.0, "eval_chunk": 7}
    resumed = run(RecSettings(**other, checkpoint=ckpt), "rns", seed=2)
    np.testing.assert_array_equal(resumed["item_embeddings"], straight["item_embeddings"])


def test_a_checkpoint_picks_the_torch_engine_and_numba_refuses_one(tmp_path):
    ckpt = str(tmp_path / "rec.ckpt.pt")
    auto = {**opts("rns", "mf"), "engine": "auto", "epochs": 1}
    assert RecSettings(**auto).engine_name("rns") == "numba"
    assert RecSettings(**auto, checkpoint=ckpt).engine_name("rns") == "torch"
    with pytest.raises(ValueError, match="checkpoints are written by the torch engine"):
        run(RecSettings(**{**auto, "engine": "numba"}, checkpoint=ckpt), "rns", seed=2)


def test_a_run_cut_by_the_time_limit_resumes_from_its_checkpoint(tmp_path):
    ckpt = str(tmp_path / "rec.ckpt.pt")
    straight = run(RecSettings(**opts("rns", "mf")), "rns", seed=2)
    cut = run(RecSettings(**opts("rns", "mf"), checkpoint=ckpt, max_seconds=1e-9), "rns", seed=2)
    assert cut["stopped_by"] == "max_seconds=1e-09 after epoch 1"
    seen: list[int] = []
    resumed = run(RecSettings(**opts("rns", "mf"), checkpoint=ckpt), "rns", seed=2,
                  on_epoch=lambda row: seen.append(row["epoch"]))  # fmt: skip
    assert seen == [2, 3, 4]
    np.testing.assert_array_equal(resumed["item_embeddings"], straight["item_embeddings"])


def test_the_cli_makes_the_checkpoint_folder_and_refuses_a_folder(tmp_path, capsys):
    from negkit.cli import main

    log = tmp_path / "log.csv"
    log.write_text("user,item\n" + "".join(f"u{u},i{(u + j) % 9}\n" for u in range(9)
                                           for j in range(3)))  # fmt: skip
    args = ["rec", "train", "--data", str(log), "--epochs", "1", "--dim", "4", "--threads", "1",
            "--no-progress", "--out", str(tmp_path / "o")]  # fmt: skip
    ckpt = tmp_path / "new" / "rec.ckpt.pt"
    assert main([*args, "--checkpoint", str(ckpt)]) == 0
    assert ckpt.is_file()
    assert main([*args, "--checkpoint", str(tmp_path)]) == 1
    assert f"--checkpoint {tmp_path} is a folder, not a file" in capsys.readouterr().err
