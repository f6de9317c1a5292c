"""Walk methods' checkpoints on one process: a cut run resumes to the straight run's vectors,
also when the merges' settings (which one process never uses) changed in between; a file of
other word2vec or walk settings, another sampler or another graph is refused; a file that
does not record them (written before they were) resumes with a warning."""

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


@pytest.mark.parametrize(
    "change, sampler, named",
    [({"window": 4}, "degree", "window"),
     ({"method": "node2vec", "p": 0.25, "q": 4.0}, "degree", "method, p, q"),
     ({"walk_length": 20}, "degree", "walk_length"),
     ({}, "uniform", "sampler")],
)  # fmt: skip
def test_a_cut_run_resumed_with_other_walks_sampler_or_settings_is_refused(
    tmp_path, change, sampler, named
):
    """The epochs still to run must not take other walks or another noise law than the
    epochs saved (word2vec's settings, the walks' and the sampler are all checked)."""
    ckpt = tmp_path / "dw.ckpt.npz"
    with pytest.raises(_Cut):
        run(_graph(), SETTINGS, seed=0, checkpoint=ckpt, on_epoch=_cut_after_first_epoch)
    with pytest.raises(ValueError, match=rf"other settings \({named}\)"):
        run(_graph(), replace(SETTINGS, **change), sampler=sampler, seed=0, checkpoint=ckpt)


def test_a_checkpoint_of_another_graph_is_refused(tmp_path):
    ckpt = tmp_path / "dw.ckpt.npz"
    with pytest.raises(_Cut):
        run(_graph(), SETTINGS, seed=0, checkpoint=ckpt, on_epoch=_cut_after_first_epoch)
    other = _graph().tolil()
    other[0, 20] = other[20, 0] = 1.0
    other = other.tocsr()
    with pytest.raises(ValueError, match=r"other settings \(graph\)"):
        run(other, SETTINGS, seed=0, checkpoint=ckpt)


def test_a_model_file_without_the_walks_record_resumes_with_a_warning(tmp_path, caplog):
    from negkit.word2vec import Word2Vec

    straight = run(_graph(), SETTINGS, seed=0).vectors
    ckpt = tmp_path / "dw.ckpt.npz"
    with pytest.raises(_Cut):
        run(_graph(), SETTINGS, seed=0, checkpoint=ckpt, on_epoch=_cut_after_first_epoch)
    model = Word2Vec.load(ckpt)
    model.checkpoint_tag = None  # as a file written before the record
    model.save(ckpt)
    with caplog.at_level("WARNING", logger="negkit.graph.embed"):
        resumed = run(_graph(), SETTINGS, seed=0, checkpoint=ckpt).vectors
    assert "records no graph, walk or sampler settings" in caplog.text
    np.testing.assert_array_equal(resumed, straight)
