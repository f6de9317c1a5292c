"""The recommender family of a study: matrix factorisation with BPR, evaluated every epoch.

Each run is :func:`negkit.rec.train.run` (Rendle et al. 2009, BPR-MF; the compiled
engine for MF + BPR on CPU) with ``eval_every=1``: full-ranking Recall@K and
NDCG@K on the validation split when the data has one, else on the test split.
A sampler named without its settings gets the recommender defaults ``rec train``
gives it (:data:`negkit.rec.train.REC_SAMPLER_DEFAULTS`: adaptive's λ = 0.2·|I|).

Diagnostics after every epoch, from ``n_probe`` users drawn at random (with a
fixed generator) and ``k_probe`` negatives each drawn by the run's sampler with
the live tables:

* ``false_negative_rate``: the share of drawn items that are the user's *test*
  positives (items the model should rank high but is pushed down on);
* ``neg_sigmoid_mean``: BPR's gradient factor σ(x_uj − x_ui) of those draws,
  against a random training positive i of the user (the gradient each BPR
  negative gives), and ``neg_score_hist``: the histogram of their scores u·v_j.

To score the draws the study fits every sampler with the model's tables
(``output=`` items, ``input=`` users), which samplers that ignore scores do not
read.  Scores are exact for MF on CPU, where those tables are the live ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from negkit.samplers.host_state import state_kept
from negkit.study.spec import parse_spec, warm_key

SCORE_BINS = np.linspace(-8.0, 8.0, 33)


class RecFamily:
    """BPR-MF runs for :func:`negkit.study.run_study`."""

    name = "rec"

    def __init__(self, data: Any, *, dim: int = 64, lr: float | None = None,
                 reg: float | None = None, threads: int = 2, k: int = 20,
                 n_probe: int = 2000, k_probe: int = 5,
                 data_options: dict[str, Any] | None = None) -> None:  # fmt: skip
        """``data_options``: how ``data`` was made when it is not a name or folder (a log
        file's path, reading options and split), part of :meth:`settings`: a study resumed
        in the same folder on another split of the same file is refused, not mixed in."""
        self.data = data
        self.data_options = dict(data_options) if data_options else None
        self.params = {"dim": dim, "lr": lr, "reg": reg, "threads": threads, "k": k}
        self.n_probe, self.k_probe = n_probe, k_probe
        self._data: Any = None
        self._warm: set[tuple] = set()  # warm_key of the samplers compiled

    def settings(self) -> dict[str, Any]:
        name = getattr(self.data, "name", None) or str(self.data)
        from negkit.rec.train import REC_SAMPLER_DEFAULTS

        opts = {"data_options": self.data_options} if self.data_options else {}
        return {"data": name, **opts, "model": "mf", "loss": "bpr", **self.params,
                "n_probe": self.n_probe, "k_probe": self.k_probe,
                "sampler_defaults": REC_SAMPLER_DEFAULTS}  # fmt: skip

    def metric_names(self) -> list[str]:
        k = self.params["k"]
        return [f"recall@{k}", f"ndcg@{k}"]

    def prepare(self) -> None:
        from negkit.rec.train import load_data

        self._data = load_data(self.data)

    def check_sampler(self, sampler: Any) -> None:
        """What a recommender run refuses, refused before the study's first run."""
        from negkit.rec.train import check_rec_sampler

        check_rec_sampler(sampler)

    def train(self, sampler: str, seed: int, epochs: int,
              on_epoch: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
        import negkit.samplers as ns
        from negkit.rec.train import RecSettings, rec_sampler_params, run

        if self._data is None:
            self.prepare()
        data = self._data
        name, params = parse_spec(sampler)
        # the recommender defaults rec train gives a sampler by name (adaptive: λ = 0.2 |I|);
        # the object handed to run() below is taken as built, with word2vec's λ = 0.01 |I|
        params = rec_sampler_params(name, params)
        smp = ns.get(name, **params)
        smp.score_aware = True  # instance flag: fit() gets the live tables, see module doc
        p = self.params
        settings = RecSettings(
            data=data, model="mf", engine="numba", dim=p["dim"], epochs=epochs, lr=p["lr"],
            reg=p["reg"], threads=p["threads"], eval_every=1, patience=0, ks=(p["k"],),
            metric=f"recall@{p['k']}",
        )  # fmt: skip
        probe_rng = np.random.default_rng(12345 + seed)
        has_train = np.flatnonzero(np.diff(data.train.indptr) > 0)
        users = probe_rng.choice(has_train, size=min(self.n_probe, has_train.size), replace=False)
        totals = {"train_seconds": 0.0}

        def callback(row: dict[str, Any]) -> None:
            totals["train_seconds"] += float(row.get("seconds", 0.0))
            t = time.perf_counter()
            rec = {"epoch": row["epoch"], "loss": row.get("loss"), **totals}
            rec["metrics"] = {m: _metric(row, m) for m in self.metric_names()}
            rec["eval_split"] = "valid" if data.valid is not None else "test"
            rec.update(self.probe(smp, users, data.test))
            rec["eval_seconds"] = time.perf_counter() - t
            on_epoch(rec)

        if warm_key(name, params) not in self._warm:
            self._warm_up(name, params, settings)
        run(settings, smp, seed=seed, on_epoch=callback)

    def _warm_up(self, name: str, params: dict[str, Any], settings: Any) -> None:
        """Compile the training kernel for this sampler on 50 users, outside any timing."""
        from dataclasses import replace

        import negkit.samplers as ns
        from negkit.data.interactions import Interactions
        from negkit.rec.train import run

        d = self._data
        small = Interactions(train=d.train[:50], test=d.test[:50], name="warm-up")
        smp = ns.get(name, **params)
        smp.score_aware = True
        run(replace(settings, data=small, epochs=1, eval_every=0), smp, seed=0)
        self._warm.add(warm_key(name, params))

    def probe(self, smp: Any, users: np.ndarray, test: Any) -> dict[str, Any]:
        """False-negative rate and score statistics of ``k_probe`` draws for each of ``users``.

        ``neg_sigmoid_mean`` is BPR's gradient factor σ(x_uj − x_ui) (Rendle et al.
        2009), with ``i`` a training positive of the user drawn at random (fixed
        generator); without known positives, σ(x_uj).  The histogram is of x_uj = u·v_j.
        """
        # the probe's draws must not change what the run's next draws are: SRNS counts them as
        # visits and updates its memory, MCNS moves its chains; put that state back (the
        # sampler's own generator, which training does not use, moves on)
        with state_kept(smp, moving=("_ctx",)):
            items = smp.sample(users, self.k_probe)
        rows = np.repeat(users, self.k_probe)
        flat = items.reshape(-1)
        hit = np.asarray(test[rows, flat]).reshape(-1) != 0
        out: dict[str, Any] = {"false_negative_rate": float(hit.mean()),
                               "n_negatives": int(flat.size)}  # fmt: skip
        if smp.input_ is None or smp.output_ is None:
            return out
        u = smp.input_[rows]
        s = np.einsum("ij,ij->i", u, smp.output_[flat]).astype(np.float64)
        margin = s
        pos = smp.positives_
        if pos is not None:
            deg = np.diff(pos.indptr)[rows]
            ok = deg > 0
            pick = np.random.default_rng(0).random(rows.size)
            at = pos.indptr[rows] + np.minimum(
                (pick * deg).astype(np.int64), np.maximum(deg - 1, 0)
            )
            s_pos = np.einsum("ij,ij->i", u, smp.output_[pos.indices[np.where(ok, at, 0)]])
            margin = np.where(ok, s - s_pos, s)
        out["neg_sigmoid_mean"] = float(np.mean(1.0 / (1.0 + np.exp(-margin))))
        clipped = np.clip(s, SCORE_BINS[0], SCORE_BINS[-1])
        out["neg_score_hist"] = np.histogram(clipped, SCORE_BINS)[0].tolist()
        out["neg_score_bins"] = SCORE_BINS.tolist()
        return out


def _metric(row: dict[str, Any], name: str) -> float:
    """The row's ``valid_`` or ``test_`` value of ``name`` (an epoch's row holds one split's:
    the validation split when the data has one)."""
    for split in ("valid", "test"):
        v = row.get(f"{split}_{name}")
        if v is not None:
            return float(v)
    return float("nan")
