"""Hard-negative mining over a corpus, with false negatives under control.

:func:`mine_hard_negatives` does what sentence-transformers' ``mine_hard_negatives`` does
(Reimers & Gurevych), on embeddings rather than texts: for every (query, positive) row it
ranks the corpus by ``score = query·item`` (cosine with ``normalize=True``), keeps a rank band
``[range_min, range_max)`` -- e.g. ranks 100 to 500 of an earlier model, as in Facebook's
embedding-based retrieval (Huang et al., KDD 2020) -- drops likely false negatives, and picks
``num_negatives`` per row.

* **Ranks** are 0-based positions in the descending score order of the corpus *without* the
  row's own positive and its ``exclude`` items (e.g. every training positive of a user).
  De-duplication and the margins act *inside* the band, after ranking, so ``[range_min,
  range_max)`` keeps its meaning whatever the filters.  This differs from
  sentence-transformers, which removes margin failures *before* cutting the band (its
  ``range_min`` skips the first ``range_min`` surviving candidates, and its band always
  holds ``range_max - range_min`` survivors when there are enough).
* **Margins** against the positive's score ``s⁺``: ``absolute_margin=m`` keeps a candidate
  only if ``s ≤ s⁺ - m``; ``relative_margin=r`` only if ``s ≤ s⁺ (1 - r)`` (as
  sentence-transformers: meant for positive scores -- when ``s⁺ < 0`` the bound ``s⁺ (1 - r)``
  lies *above* ``s⁺`` and keeps candidates scored higher than the positive; add an
  ``absolute_margin`` to guard against that).
* **De-duplication**: a candidate that is an exact duplicate of the positive -- the same
  ``corpus_keys`` entry (e.g. its text), or, without keys, the same vector -- is never a
  negative; nor one whose key equals the query's (``query_keys``).
* **Choice**: ``sampling="top"`` takes the best-ranked survivors, ``"random"`` draws
  uniformly among them (without replacement, seeded).

Search is exact, in chunks of ``query_chunk`` queries × ``corpus_chunk`` items with a running
top-k, so memory is ``O(query_chunk · (corpus_chunk + k))`` scores beyond the inputs, whatever
the corpus size; on the inputs' device (CPU or GPU).  ``backend="faiss"`` uses a flat (also
exact) inner-product faiss index on the CPU instead, built once per call
(``pip install negkit[faiss]``); see :mod:`negkit.contrastive.search`.  Items of equal score
(e.g. duplicate vectors) have no fixed order among themselves, so which of them falls on a
band's edge may differ between backends, devices and chunk sizes.

The result is a :class:`MinedNegatives` table (one row per mined triple, with rank and
scores) that can be inspected, saved and loaded.  :class:`HardNegativeRefresher` re-mines
every N steps during training (ANCE: Xiong et al., ICLR 2021) and reports the index's age.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from negkit.contrastive.search import (
    CorpusSearch,
    as_tensor,
    chunked_topk,
    positive_int,
    to_numpy,
)

__all__ = ["MinedNegatives", "mine_hard_negatives", "chunked_topk", "HardNegativeRefresher"]

_COLUMNS = ("query", "positive", "negative", "rank", "score", "positive_score")


@dataclass
class MinedNegatives:
    """Mined triples, one row each: ``query`` (row of the queries), ``positive`` and
    ``negative`` (corpus ids), ``rank`` of the negative (0-based, see the module), ``score``
    and ``positive_score``.  ``stats`` counts what the filters dropped; ``step`` is the
    training step at which the index was built (for :class:`HardNegativeRefresher`)."""

    query: np.ndarray
    positive: np.ndarray
    negative: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    positive_score: np.ndarray
    stats: dict = field(default_factory=dict)
    step: int = 0

    def __len__(self) -> int:
        return int(self.query.shape[0])

    def to_dict(self) -> dict[str, np.ndarray]:
        return {c: getattr(self, c) for c in _COLUMNS}

    def to_pandas(self):
        """The table as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas needs pandas: pip install pandas") from e
        return pd.DataFrame(self.to_dict())

    def matrix(self, n_queries: int | None = None, k: int | None = None) -> np.ndarray:
        """``(n_queries, k)`` int64 negatives per query row, ``-1`` where fewer were mined."""
        nq = int(self.query.max()) + 1 if n_queries is None and len(self) else (n_queries or 0)
        if len(self) and int(self.query.max()) >= nq:
            raise ValueError(
                f"the table has query rows up to {int(self.query.max())}: n_queries={nq} "
                "is too small"
            )
        counts = np.bincount(self.query, minlength=nq) if len(self) else np.zeros(nq, np.int64)
        k = int(counts.max()) if k is None and counts.size else (k or 0)
        out = np.full((nq, k), -1, dtype=np.int64)
        order = np.argsort(self.query, kind="stable")
        q = self.query[order]
        slot = np.arange(q.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
        ok = slot < k
        out[q[ok], slot[ok]] = self.negative[order][ok]
        return out

    def save(self, path: str | Path) -> Path:
        """Write the table: ``.csv`` (a header, one triple a line) or ``.npz``.  ``.npz``
        keeps :attr:`step`, ``.csv`` does not (it loads with ``step=0``); neither keeps
        :attr:`stats`."""
        path = Path(path)
        if path.suffix == ".npz":
            np.savez(path, **self.to_dict(), step=np.int64(self.step))
        elif path.suffix == ".csv":
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(_COLUMNS)
                for row in zip(*(getattr(self, c).tolist() for c in _COLUMNS)):
                    w.writerow(row)
        else:
            raise ValueError(f"save to .csv or .npz, got {path.name!r}")
        return path

    @classmethod
    def load(cls, path: str | Path) -> MinedNegatives:
        path = Path(path)
        if path.suffix == ".npz":
            z = np.load(path)
            return cls(**{c: z[c] for c in _COLUMNS}, step=int(z["step"]))
        if path.suffix == ".csv":
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
            if not rows or tuple(rows[0]) != _COLUMNS:
                raise ValueError(f"{path}: the header must be {','.join(_COLUMNS)}")
            cols = list(zip(*rows[1:])) if len(rows) > 1 else [()] * len(_COLUMNS)
            kw = {}
            for c, v in zip(_COLUMNS, cols):
                dt = np.float32 if "score" in c else np.int64
                kw[c] = np.asarray([float(x) for x in v], dtype=dt)
            return cls(**kw)
        raise ValueError(f"load from .csv or .npz, got {path.name!r}")

    def __repr__(self) -> str:
        head = ", ".join(
            f"({q}, {p}, {n}, r={r})"
            for q, p, n, r in zip(
                self.query[:3].tolist(),
                self.positive[:3].tolist(),
                self.negative[:3].tolist(),
                self.rank[:3].tolist(),
            )
        )
        return f"MinedNegatives({len(self)} triples: {head}{', ...' if len(self) > 3 else ''})"


def _check_margin(m: float | None, what: str) -> float | None:
    if m is None:
        return None
    m = float(m)
    if not np.isfinite(m) or m < 0:
        raise ValueError(f"{what} must be a non-negative number, got {m!r}")
    return m


def mine_hard_negatives(
    queries: Any,
    corpus: Any,
    positives: Any,
    *,
    exclude: Any = None,
    range_min: int = 0,
    range_max: int = 100,
    num_negatives: int = 1,
    sampling: str = "top",
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    corpus_keys: Any = None,
    query_keys: Any = None,
    dedup: bool = True,
    normalize: bool = False,
    backend: str = "exact",
    query_chunk: int = 512,
    corpus_chunk: int = 32768,
    device: Any = None,
    seed: int | None = None,
    step: int = 0,
) -> MinedNegatives:
    """Mine ``num_negatives`` hard negatives per (query, positive) row (see the module).

    queries : ``(Q, d)`` embeddings; corpus : ``(N, d)``; positives : ``(Q,)`` corpus ids, the
        positive of each query row.  exclude : optional CSR ``Q × N`` (or a list of id lists)
        of other known positives of each row, never ranked nor mined.
    Returns a :class:`MinedNegatives` table; ``stats`` counts the band's candidates and those
    dropped by de-duplication and by the margins.  ``num_negatives`` may not exceed the band's
    width ``range_max - range_min`` (``ValueError``).  A row for which fewer candidates survive
    (a corpus smaller than the band, duplicates, margins) gets fewer triples, never padding:
    ``stats["rows_short"]`` counts the rows with fewer than ``num_negatives`` (those with none
    included, also counted in ``rows_without_negative``), and :meth:`MinedNegatives.matrix`
    pads such rows with ``-1``.  (sentence-transformers drops those rows from its n-tuple
    output instead: select on the counts to do the same.)
    """
    if sampling not in ("top", "random"):
        raise ValueError(f"sampling must be 'top' or 'random', got {sampling!r}")
    for v, what in ((range_min, "range_min"), (range_max, "range_max")):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{what} must be a non-negative integer, got {v!r}")
    if range_max <= range_min:
        raise ValueError(f"the band [range_min, range_max) = [{range_min}, {range_max}) is empty")
    if isinstance(num_negatives, bool) or not isinstance(num_negatives, int) or num_negatives < 1:
        raise ValueError(f"num_negatives must be a positive integer, got {num_negatives!r}")
    if num_negatives > range_max - range_min:
        raise ValueError(
            f"num_negatives={num_negatives} exceeds the band [range_min, range_max) = "
            f"[{range_min}, {range_max}), which holds {range_max - range_min} candidates per row"
        )
    absolute_margin = _check_margin(absolute_margin, "absolute_margin")
    relative_margin = _check_margin(relative_margin, "relative_margin")
    positive_int(query_chunk, "query_chunk")
    positive_int(corpus_chunk, "corpus_chunk")
    q = as_tensor(queries, device)
    c = as_tensor(corpus, q.device)
    if normalize:
        q = torch.nn.functional.normalize(q.float(), dim=1)
        c = torch.nn.functional.normalize(c.float(), dim=1)
    nq, n = q.shape[0], c.shape[0]
    pos = _ids(positives, "positives").reshape(-1)
    if pos.shape[0] != nq:
        raise ValueError(f"positives has {pos.shape[0]} ids for {nq} queries")
    if nq and (pos.min() < 0 or pos.max() >= n):
        raise ValueError(f"positive ids must lie in [0, {n}), got {pos.min()}..{pos.max()}")
    excl = _exclusion(exclude, pos, nq, n)
    ck = None if corpus_keys is None else to_numpy(corpus_keys)
    qk = None if query_keys is None else to_numpy(query_keys)
    if ck is not None and ck.shape[0] != n:
        raise ValueError(f"corpus_keys has {ck.shape[0]} entries for {n} corpus items")
    if qk is not None and (ck is None or qk.shape[0] != nq):
        raise ValueError("query_keys needs corpus_keys and one key per query")
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {col: [] for col in _COLUMNS}
    stats = dict(
        rows=nq,
        band=0,
        dropped_duplicate=0,
        dropped_margin=0,
        rows_without_negative=0,
        rows_short=0,
    )
    search = CorpusSearch(c, backend=backend, corpus_chunk=corpus_chunk)  # built once
    for lo in range(0, nq, query_chunk):
        hi = min(nq, lo + query_chunk)
        ex = excl[lo:hi]
        n_ex = np.diff(ex.indptr)
        k = range_max + (int(n_ex.max()) if n_ex.size else 0)
        s, ids = search.topk(q[lo:hi], k)
        # drop excluded ids (the positive and `exclude`), then keep the band of what is left
        rows = np.repeat(np.arange(hi - lo), np.diff(ex.indptr))
        bad = np.zeros(ids.shape, dtype=bool)
        if rows.size:
            key = rows.astype(np.int64) * (n + 1) + ex.indices
            cand_key = np.arange(hi - lo)[:, None] * (n + 1) + ids
            bad = np.isin(cand_key, key)
        bad |= ids < 0
        order = np.argsort(bad, axis=1, kind="stable")  # kept ones first, in score order
        ids = np.take_along_axis(ids, order, 1)[:, range_min:range_max]
        s = np.take_along_axis(s, order, 1)[:, range_min:range_max]
        valid = ~np.take_along_axis(bad, order, 1)[:, range_min:range_max]
        ranks = np.broadcast_to(np.arange(range_min, range_min + ids.shape[1]), ids.shape)
        p = pos[lo:hi]
        with torch.no_grad():
            sp_ = (q[lo:hi].to(c.dtype) * c[torch.as_tensor(p, device=c.device)]).sum(1)
        s_pos = sp_.float().cpu().numpy()
        stats["band"] += int(valid.sum())
        keep = valid.copy()
        if dedup:
            dup = _duplicates(ids, p, s, s_pos, q[lo:hi], c, ck, qk, lo, hi) & keep
            stats["dropped_duplicate"] += int(dup.sum())
            keep &= ~dup
        if absolute_margin is not None or relative_margin is not None:
            thr = np.full(s_pos.shape, np.inf, dtype=np.float64)
            if absolute_margin is not None:
                thr = np.minimum(thr, s_pos - absolute_margin)
            if relative_margin is not None:
                thr = np.minimum(thr, s_pos * (1.0 - relative_margin))
            fail = keep & (s > thr[:, None])
            stats["dropped_margin"] += int(fail.sum())
            keep &= ~fail
        if sampling == "top":
            pri = np.where(keep, -ranks.astype(np.float64), -np.inf)
        else:
            pri = np.where(keep, rng.random(keep.shape), -np.inf)
        pick = np.argsort(-pri, axis=1, kind="stable")[:, :num_negatives]
        chosen = np.take_along_axis(keep, pick, 1)
        r, j = np.nonzero(chosen)
        col = pick[r, j]
        stats["rows_without_negative"] += int((~chosen.any(1)).sum())
        stats["rows_short"] += int((chosen.sum(1) < num_negatives).sum())
        out["query"].append(lo + r)
        out["positive"].append(p[r])
        out["negative"].append(ids[r, col])
        out["rank"].append(ranks[r, col])
        out["score"].append(s[r, col])
        out["positive_score"].append(s_pos[r])
    cols = {
        c_: (np.concatenate(v) if v else np.zeros(0)).astype(
            np.float32 if "score" in c_ else np.int64, copy=False
        )
        for c_, v in out.items()
    }
    stats.update(
        range_min=range_min,
        range_max=range_max,
        sampling=sampling,
        absolute_margin=absolute_margin,
        relative_margin=relative_margin,
    )
    return MinedNegatives(**cols, stats=stats, step=step)


def _ids(x: Any, what: str) -> np.ndarray:
    """``x`` as int64 corpus ids; a ``TypeError`` for floats or booleans (0.5 would have been
    truncated to item 0)."""
    a = np.asarray(to_numpy(x))
    if a.size and (a.dtype == bool or not np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{what} must be integer corpus ids, got dtype {a.dtype}")
    return a.astype(np.int64)


def _exclusion(exclude: Any, pos: np.ndarray, nq: int, n: int) -> sp.csr_matrix:
    """CSR ``Q × N``: each row's positive plus its ``exclude`` items."""
    own = sp.csr_matrix((np.ones(nq, dtype=np.int8), (np.arange(nq), pos)), shape=(nq, n))
    if exclude is None:
        return own
    if isinstance(exclude, (list, tuple)):
        if len(exclude) != nq:
            raise ValueError(f"exclude has {len(exclude)} lists for {nq} queries")
        r = np.repeat(np.arange(nq), [len(e) for e in exclude])
        cidx = np.concatenate([_ids(e, "exclude").reshape(-1) for e in exclude]) if nq else r
        if cidx.size and (cidx.min() < 0 or cidx.max() >= n):
            raise ValueError(f"exclude ids must lie in [0, {n}), got {cidx.min()}..{cidx.max()}")
        exclude = sp.csr_matrix((np.ones(r.size, dtype=np.int8), (r, cidx)), shape=(nq, n))
    m = sp.csr_matrix(exclude)
    if m.shape != (nq, n):
        raise ValueError(f"exclude must be {nq} x {n} (queries x corpus), got {m.shape}")
    m = (m != 0).astype(np.int8) + own
    m.data[:] = 1
    m.sort_indices()
    return m


def _duplicates(ids, pos, s, s_pos, q, c, ck, qk, lo, hi) -> np.ndarray:
    """Candidates that are duplicates of the row's positive (or of the query, by key)."""
    safe = np.maximum(ids, 0)
    if ck is not None:
        dup = ck[safe] == ck[pos][:, None]
        if qk is not None:
            dup |= ck[safe] == qk[lo:hi][:, None]
        return dup
    # same vector as the positive: the score must tie first, then the vectors are compared.
    # The search's score of a copy and s_pos come from different products, so they may differ
    # by the rounding of a dot product in c's dtype: up to ~d·eps·|q|·|c⁺| (float16: 1e-3 of
    # it, which a fixed 1e-5 tolerance missed), hence the tolerance in c's precision.
    with torch.no_grad():
        qn = torch.linalg.vector_norm(q.float(), dim=1)
        cn = torch.linalg.vector_norm(c[torch.as_tensor(pos, device=c.device)].float(), dim=1)
        scale = (qn * cn).cpu().numpy().astype(np.float64)
    eps = max(float(torch.finfo(c.dtype).eps), float(np.finfo(np.float32).eps))
    tol = 1e-5 * (1.0 + np.abs(s_pos)) + 16 * eps * scale
    tie = np.abs(s - s_pos[:, None]) <= tol[:, None]
    dup = np.zeros(ids.shape, dtype=bool)
    r, j = np.nonzero(tie & (ids >= 0))
    if r.size:
        dev = c.device
        a = c[torch.as_tensor(ids[r, j], device=dev)]
        b = c[torch.as_tensor(pos[r], device=dev)]
        dup[r, j] = torch.all(a == b, dim=1).cpu().numpy()
    return dup


class HardNegativeRefresher:
    """Re-mine hard negatives every ``every`` training steps (ANCE, Xiong et al., ICLR 2021).

    ``encode()`` returns ``(queries, corpus, positives)`` from the *current* model; the negatives
    are mined with ``mine_kwargs`` (see :func:`mine_hard_negatives`).  Call :meth:`step` at the
    start of every training step: it re-mines when the negatives in use were mined ``every``
    steps ago (and at the first step), and returns whether it did.  :attr:`age` is how many
    steps old the negatives in use are at the current step (0 right after a refresh, at most
    ``every - 1``); :attr:`refreshes` counts the refreshes; ``negatives.step`` is the step at
    which they were mined.
    """

    def __init__(self, encode: Callable[[], tuple], every: int, **mine_kwargs: Any) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive number of steps, got {every!r}")
        if "step" in mine_kwargs:
            raise ValueError("step is set by the refresher (the current training step)")
        self.encode = encode
        self.every = every
        self.mine_kwargs = mine_kwargs
        self.current = -1  # the current training step
        self.refreshes = 0
        self.negatives: MinedNegatives | None = None

    @property
    def age(self) -> int:
        if self.negatives is None:
            raise RuntimeError("no negatives mined yet: call step() or refresh() first")
        return self.current - self.negatives.step

    def refresh(self) -> MinedNegatives:
        """Re-encode with the current model and mine again, stamped with the current step."""
        queries, corpus, positives = self.encode()
        self.negatives = mine_hard_negatives(
            queries, corpus, positives, step=max(self.current, 0), **self.mine_kwargs
        )
        self.refreshes += 1
        return self.negatives

    def step(self) -> bool:
        """Start one training step; re-mine when the negatives are ``every`` steps old."""
        self.current += 1
        if self.negatives is None or self.age >= self.every:
            self.refresh()
            return True
        return False
