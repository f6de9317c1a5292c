"""Full-ranking evaluation of recommenders (the LightGCN protocol).

He et al. (2020), "LightGCN: Simplifying and Powering Graph Convolution Network
for Recommendation": every user with at least one test item ranks *all* items by
``score(u, i) = user_emb[u] . item_emb[i]``, with the user's training items (and
validation items, when they exist) removed from the ranking.  With ``R_u`` the
user's test items, ``hit_r`` = 1 when the item at rank ``r`` is in ``R_u``:

* Recall@K    = sum_{r<=K} hit_r / |R_u|
* Precision@K = sum_{r<=K} hit_r / K
* HitRate@K   = 1 if any hit_r (r <= K)
* NDCG@K      = DCG / IDCG, DCG = sum_{r<=K} hit_r / log2(r + 1),
  IDCG = sum_{r<=min(|R_u|, K)} 1 / log2(r + 1)            (binary relevance)
* MRR         = 1 / (rank of the best-ranked test item in the full ranking)

Items of equal score rank the lower item id first, in the top K and in the MRR's full
ranking alike (so a model that scores every item the same gets MRR 1 only when the
user's lowest-id unmasked item is a test item, and then HitRate@1 = 1 too).

Each metric is averaged over the test users.  Scores are computed for
``chunk_size`` users at a time, so the users x items matrix is never whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from negkit._jit import kernel

__all__ = ["evaluate_ranking", "rank_metrics", "METRICS"]

METRICS = ("recall", "ndcg", "precision", "hitrate")


def rank_metrics(
    hits: np.ndarray, n_relevant: np.ndarray, ks: Sequence[int]
) -> dict[str, np.ndarray]:
    """Per-user metrics from the hit matrix of the top ``max(ks)`` ranks.

    hits : bool ``(n_users, max(ks))``, ``hits[u, r]`` when the item at rank ``r + 1`` is relevant.
    n_relevant : ``|R_u|`` of each user (at least 1).
    Returns ``{"recall@K": per-user values, ...}`` for every metric and K.
    """
    hits = np.asarray(hits, dtype=np.float64)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    if np.any(n_rel < 1):
        raise ValueError("every evaluated user needs at least one relevant item")
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    out: dict[str, np.ndarray] = {}
    for k in ks:
        h = hits[:, :k]
        n_hit = h.sum(axis=1)
        dcg = (h * discount[:k]).sum(axis=1)
        ideal = np.cumsum(discount[:k])[np.minimum(n_rel, k).astype(np.int64) - 1]
        out[f"recall@{k}"] = n_hit / n_rel
        out[f"ndcg@{k}"] = dcg / ideal
        out[f"precision@{k}"] = n_hit / k
        out[f"hitrate@{k}"] = (n_hit > 0).astype(np.float64)
    return out


@kernel
def _rank_rows(scores, mask_ptr, mask_idx, rel_ptr, rel_idx, kmax, hits, mrr):
    """Top-``kmax`` hits and reciprocal rank of every row of ``scores`` (masked items removed).

    Ties rank the lower item id first, in the top ``kmax`` and in ``mrr`` alike: ``mrr[r]`` =
    1 / (1 + number of unmasked items ranked before the row's best relevant item, i.e. scoring
    above it, or scoring the same with a lower id).
    """
    n, n_items = scores.shape
    top_s = np.empty(kmax, dtype=np.float32)
    top_i = np.empty(kmax, dtype=np.int64)
    for r in range(n):
        row = scores[r]
        for t in range(mask_ptr[r], mask_ptr[r + 1]):
            row[mask_idx[t]] = -np.inf
        filled = 0
        for i in range(n_items):
            v = row[i]
            if v == -np.inf:
                continue
            if filled == kmax and v <= top_s[kmax - 1]:
                continue
            pos = filled if filled < kmax else kmax - 1
            while pos > 0 and top_s[pos - 1] < v:
                if pos < kmax:
                    top_s[pos] = top_s[pos - 1]
                    top_i[pos] = top_i[pos - 1]
                pos -= 1
            top_s[pos] = v
            top_i[pos] = i
            if filled < kmax:
                filled += 1
        lo = rel_ptr[r]
        hi = rel_ptr[r + 1]
        best = -np.inf
        first = -1  # the best relevant item: the lowest id among those scoring ``best``
        for t in range(lo, hi):  # rel_idx ascending: strict > keeps the lowest id
            if row[rel_idx[t]] > best:
                best = row[rel_idx[t]]
                first = rel_idx[t]
        for p in range(filled):
            x = top_i[p]
            a = lo
            b = hi
            while a < b:
                m = (a + b) >> 1
                if rel_idx[m] < x:
                    a = m + 1
                else:
                    b = m
            hits[r, p] = a < hi and rel_idx[a] == x
        above = 0
        for i in range(n_items):
            v = row[i]
            if v > best or (v == best and i < first and v != -np.inf):
                above += 1
        mrr[r] = 1.0 / (1.0 + above)


def _check_csr(m, n_users: int, n_items: int, what: str) -> sp.csr_matrix:
    """``m``'s non-zero pattern as a 0/1 CSR of ``(n_users, n_items)``: an explicitly stored
    zero is no test item (nor an excluded one), and duplicate entries count once."""
    m = sp.csr_matrix(sp.csr_matrix(m) != 0, dtype=np.float32)
    if m.shape[0] > n_users or m.shape[1] > n_items:
        raise ValueError(
            f"{what} has shape {m.shape} but the embeddings cover {n_users} users x {n_items} items"
        )
    if m.shape != (n_users, n_items):
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_items))
        m.resize((n_users, n_items))
    return m


def ranking_inputs(
    test, exclude, users, n_users: int, n_items: int
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Checked ``test``, the union of the ``exclude`` matrices, and the users to rank (every
    user with a test item when ``users`` is None); clear errors when there is nothing to rank."""
    test = _check_csr(test, n_users, n_items, "test")
    masks = [_check_csr(m, n_users, n_items, "exclude") for m in exclude if m is not None]
    mask = masks[0] if masks else sp.csr_matrix((n_users, n_items), dtype=np.float32)
    for m in masks[1:]:
        mask = mask + m
    n_rel_all = np.diff(test.indptr)
    if users is None:
        users = np.flatnonzero(n_rel_all > 0)
    users = np.asarray(users, dtype=np.int64)
    if users.size == 0:
        raise ValueError("no user has a test item: nothing to evaluate")
    if np.any(n_rel_all[users] == 0):
        raise ValueError("some requested users have no test item")
    return test, mask, users


def evaluate_ranking(
    user_emb: np.ndarray,
    item_emb: np.ndarray,
    test: sp.spmatrix,
    exclude: Iterable[sp.spmatrix | None] = (),
    ks: Sequence[int] = (20,),
    chunk_size: int = 1024,
    users: np.ndarray | None = None,
) -> dict[str, float]:
    """Average full-ranking metrics over the users with test items.

    user_emb, item_emb : ``(n_users, d)`` and ``(n_items, d)``; score = dot product.
    test : users x items matrix of held-out positives.
    exclude : matrices of items removed from each user's ranking (training,
        validation); ``None`` entries are skipped.
    ks : cut-offs; returns ``recall@K``, ``ndcg@K``, ``precision@K``, ``hitrate@K``
        for each, plus ``mrr`` and ``n_users``.
    users : evaluate only these users (default: every user with a test item).
    """
    U = np.asarray(user_emb, dtype=np.float32)
    V = np.asarray(item_emb, dtype=np.float32)
    if U.ndim != 2 or V.ndim != 2 or U.shape[1] != V.shape[1]:
        raise ValueError(f"embeddings must be 2-D with equal widths, got {U.shape} and {V.shape}")
    if not np.all(np.isfinite(U)) or not np.all(np.isfinite(V)):
        raise ValueError("embeddings contain NaN or infinite values (training diverged?)")
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"cut-offs must be positive integers, got {ks}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    n_users, n_items = U.shape[0], V.shape[0]
    test, mask, users = ranking_inputs(test, exclude, users, n_users, n_items)
    n_rel_all = np.diff(test.indptr)
    kmax = min(ks[-1], n_items)
    sums: dict[str, float] = {}
    buf = np.empty((min(chunk_size, users.size), n_items), dtype=np.float32)
    for lo in range(0, users.size, chunk_size):
        batch = users[lo : lo + chunk_size]
        scores = np.matmul(U[batch], V.T, out=buf[: batch.size])
        sub = mask[batch]
        rel = test[batch]
        rel.sort_indices()
        hits = np.zeros((batch.size, ks[-1]), dtype=np.bool_)
        mrr = np.empty(batch.size, dtype=np.float64)
        _rank_rows(
            scores,
            sub.indptr.astype(np.int64),
            sub.indices.astype(np.int64),
            rel.indptr.astype(np.int64),
            rel.indices.astype(np.int64),
            kmax,
            hits,
            mrr,
        )
        per_user = rank_metrics(hits, n_rel_all[batch], ks)
        per_user["mrr"] = mrr
        for name, v in per_user.items():
            sums[name] = sums.get(name, 0.0) + float(v.sum())
    result = {name: s / users.size for name, s in sums.items()}
    result["n_users"] = int(users.size)
    return result
