"""carve_valid: a validation split carved from a published train split, and its CLI flag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from negkit.cli import main
from negkit.data.carve import carve_valid
from negkit.data.interactions import Interactions
from negkit.rec.synthetic import planted_interactions


@pytest.fixture(scope="module")
def published():
    """Train / test only, as Gowalla or Yelp2018 are published."""
    d = planted_interactions(n_users=60, n_items=40, n_groups=3, per_user=11, n_test=2, seed=4)
    return Interactions(train=d.train, test=d.test, name="tiny")


def test_each_user_gives_round_n_f_training_items_to_valid(published):
    out = carve_valid(published, 0.2, seed=3)
    n = np.diff(published.train.indptr)
    n_valid = np.diff(out.valid.indptr)
    np.testing.assert_array_equal(n_valid, np.minimum(np.floor(n * 0.2 + 0.5), n - 1))
    assert out.train.multiply(out.valid).nnz == 0  # disjoint
    assert (out.train + out.valid != published.train).nnz == 0  # nothing lost or added
    assert (out.test != published.test).nnz == 0  # test untouched
    assert out.name == "tiny+valid0.2s3"
    again, other = carve_valid(published, 0.2, seed=3), carve_valid(published, 0.2, seed=4)
    assert (again.valid != out.valid).nnz == 0 and (other.valid != out.valid).nnz > 0


def test_bad_fractions_and_a_second_carve_are_refused(published):
    for f in (0.0, 1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="must lie in"):
            carve_valid(published, f)
    with pytest.raises(ValueError, match="already has a validation split"):
        carve_valid(carve_valid(published, 0.1), 0.1)


def test_cli_selects_on_the_carved_split(published, tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    for split in ("train", "test"):
        m = getattr(published, split)
        lines = [
            " ".join(map(str, [u, *m.indices[m.indptr[u] : m.indptr[u + 1]]]))
            for u in range(m.shape[0])
        ]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    code = main(["rec", "train", "--data", str(folder), "--model", "mf", "--sampler", "rns",
                 "--dim", "8", "--epochs", "4", "--eval-every", "2", "--threads", "1",
                 "--carve-valid", "0.2", "--carve-seed", "3", "--no-progress",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["monitor"] == "valid" and metrics["valid"] is not None
    assert metrics["settings"]["data"].endswith("+valid0.2s3")
    assert "valid_recall@20" in metrics["history"][1]
