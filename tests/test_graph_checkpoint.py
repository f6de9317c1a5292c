"""Walk methods' checkpoints on one process: a cut run resumes to the straight run's vectors,
also when the merges' settings (which one process never uses) changed in between, as they do
when a file from before those options is resumed; other settings are refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from negkit.graph.embed import GraphEmbedSettings, run


class _Cut(Exception):
    pass


def _graph() -> sp.csr_matrix:
    n = 40
    rows = np.r_[np.arange(n), np.arange(n)]
    cols = np.r_[(np.arange(n) + 1) % n, (np.arange(n) * 7 + 3) % n]  # a ring and chords
    a = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n)).tocsr()
    return ((a + a.T) > 0).astype(np.float32).tocsr()


SETTINGS = GraphEmbedSettings(
    dim=8, walk_length=10, num_walks=3, window=3, epochs=2,
    sync_words=5_000, sync_overlap=False, sync_wire="float32",
)  # fmt: skip


def _cut_after_first_epoch(epoch, vectors, record):
    if epoch == 0:
        raise _Cut


def test_a_cut_run_resumes_to_the_straight_run_whatever_the_merge_settings(tmp_path):
    straight = run(_graph(), SETTINGS, seed=0).vectors
    ckpt = tmp_path / "dw.ckpt.npz"
    with pytest.raises(_Cut):
        run(_graph(), SETTINGS, seed=0, checkpoint=ckpt, on_epoch=_cut_after_first_epoch)
    assert ckpt.exists()
    now = replace(SETTINGS, sync_words=20_000, sync_overlap=True, sync_wire="bfloat16")
    resumed = run(_graph(), now, seed=0, checkpoint=ckpt).vectors
    np.testing.assert_array_equal(resumed, straight)


def test_a_checkpoint_of_other_settings_is_refused(tmp_path):
    ckpt = tmp_path / "dw.ckpt.npz"
    run(_graph(), SETTINGS, seed=0, checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"other settings \(window\)"):
        run(_graph(), replace(SETTINGS, window=4), seed=0, checkpoint=ckpt)
