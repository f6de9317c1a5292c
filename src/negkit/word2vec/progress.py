"""Progress of a training run: a tqdm bar (words/s, lr) and the per-epoch record."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import numpy as np

from negkit.word2vec.kernels_common import (
    NEG_SCORE_BINS,
    ST_EFFECTIVE,
    ST_LOSS,
    ST_NEG_SIG,
    ST_NEGS,
    ST_PAIRS,
    ST_RAW,
)

logger = logging.getLogger("negkit.word2vec")


class Progress:
    """Thread-safe progress bar over raw words; silent when ``enabled`` is False."""

    def __init__(self, total_words: int, enabled: bool | None, desc: str) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._lock = threading.Lock()
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=int(total_words), unit="w", unit_scale=True, desc=desc, mininterval=0.5,
                dynamic_ncols=True, leave=False,
            )  # fmt: skip

    def update(self, words: int, lr: float) -> None:
        if self._bar is None:
            return
        with self._lock:
            self._bar.set_postfix_str(f"lr={lr:.5f}", refresh=False)
            self._bar.update(int(words))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def epoch_record(
    epoch: int, seconds: float, stats: np.ndarray, hist: np.ndarray, lr: float,
    sampler_seconds: float, sampler_name: str,
) -> dict[str, Any]:  # fmt: skip
    """The dict handed to callbacks and kept in ``model.training_log_``.

    ``stats`` and ``hist`` are the per-thread kernel counters summed over threads.
    ``loss`` is the mean loss per positive prediction (skip-gram: per (context,
    centre) pair; CBOW: per window): ``-log s(pos) - sum log s(-neg)``.
    """
    raw = float(stats[ST_RAW])
    pairs = float(stats[ST_PAIRS])
    negs = float(stats[ST_NEGS])
    return {
        "epoch": int(epoch),
        "seconds": float(seconds),
        "raw_words": int(raw),
        "words_per_s": raw / seconds if seconds > 0 else float("nan"),
        "effective_words": int(stats[ST_EFFECTIVE]),
        "pairs": int(pairs),
        "loss": float(stats[ST_LOSS]) / pairs if pairs else float("nan"),
        "loss_sum": float(stats[ST_LOSS]),
        "lr": float(lr),
        "n_negatives": int(negs),
        "neg_sigmoid_mean": float(stats[ST_NEG_SIG]) / negs if negs else float("nan"),
        "neg_score_hist": [int(x) for x in hist],
        "neg_score_bins": [float(x) for x in NEG_SCORE_BINS],
        "sampler": sampler_name,
        "sampler_seconds": float(sampler_seconds),
    }


def log_epoch(rec: dict[str, Any], epochs: int) -> None:
    logger.info(
        "epoch %d/%d: loss %.4f per pair, %.0f raw words/s, %d effective of %d raw words, "
        "lr %.6f, %.2f s (sampler %s ~%.2f s)",
        rec["epoch"], epochs, rec["loss"], rec["words_per_s"], rec["effective_words"],
        rec["raw_words"], rec["lr"], rec["seconds"], rec["sampler"], rec["sampler_seconds"],
    )  # fmt: skip
