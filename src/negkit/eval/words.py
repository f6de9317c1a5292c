"""Word-embedding evaluation: word-pair similarity and analogies.

* :func:`word_similarity`: Spearman and Pearson correlation between human scores
  and the cosine similarity of the two words' vectors (Finkelstein et al. 2002;
  Hill et al. 2015), over the pairs whose words are both among the first
  ``restrict_vocab`` words; the others are counted as OOV pairs.
* :func:`word_analogy`: a:b :: c:?, answered by 3CosAdd, ``argmax_x cos(x, b - a + c)``
  on unit vectors (Mikolov et al. 2013), or 3CosMul,
  ``argmax_x cos'(x,b) cos'(x,c) / (cos'(x,a) + 1e-6)`` with ``cos' = (1 + cos) / 2``
  (Levy & Goldberg 2014), over the first ``restrict_vocab`` words, the three
  question words excluded.  Questions with a word outside them are skipped and
  reported through ``coverage``.

Both follow gensim's ``evaluate_word_pairs`` / ``evaluate_word_analogies`` rules
(case-insensitive matching, the most frequent case variant wins, the top-5 filter
of question words), so on the same vectors and ``restrict_vocab`` they give the same
numbers; analogies are scored in batches of matrix products instead of one question at a
time.  Defaults differ: :func:`word_analogy` ranks the first 30,000 words (word2vec.c's
``compute-accuracy``), gensim's ``evaluate_word_analogies`` 300,000; neither function has
gensim's ``dummy4unknown`` (pairs and questions with unknown words are left out).
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import Any

import numpy as np
from scipy import stats

from negkit.data.word_eval import read_analogies, read_similarity

logger = logging.getLogger(__name__)

__all__ = ["word_similarity", "word_analogy"]

_BATCH = 512


def _ok_vocab(kv: Any, restrict_vocab: int | None, case_insensitive: bool) -> dict[str, int]:
    keys = kv.index_to_key[:restrict_vocab] if restrict_vocab else kv.index_to_key
    n = len(keys)
    if case_insensitive:  # reversed: the most frequent case variant wins, as gensim
        return {keys[i].upper(): i for i in range(n - 1, -1, -1)}
    return {keys[i]: i for i in range(n - 1, -1, -1)}


def _unit_rows(kv: Any, end: int) -> tuple[np.ndarray, np.ndarray]:
    vecs = np.asarray(kv.vectors[:end], dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1)
    return vecs, norms


def word_similarity(
    kv: Any, path: str | PathLike, restrict_vocab: int = 300000, case_insensitive: bool = True
) -> dict[str, float]:
    """Spearman / Pearson of cosine similarity vs human scores on a word-pair file.

    Returns ``{"spearman", "pearson", "pairs", "oov_pairs", "oov_ratio"}`` (``pairs``: pairs
    used; ``oov_ratio`` in percent, as gensim).
    """
    ok = _ok_vocab(kv, restrict_vocab, case_insensitive)
    vecs, norms = _unit_rows(kv, len(kv.index_to_key))
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    for a, b, score in read_similarity(path):
        if case_insensitive:
            a, b = a.upper(), b.upper()
        ia, ib = ok.get(a), ok.get(b)
        if ia is None or ib is None:
            oov += 1
            continue
        gold.append(score)
        model.append(float(np.dot(vecs[ia] / norms[ia], vecs[ib] / norms[ib])))
    total = len(gold) + oov
    if len(gold) < 2:
        raise ValueError(f"{path}: only {len(gold)} of {total} pairs are in the vocabulary")
    return {
        "spearman": float(stats.spearmanr(gold, model)[0]),
        "pearson": float(stats.pearsonr(gold, model)[0]),
        "pairs": len(gold),
        "oov_pairs": oov,
        "oov_ratio": 100.0 * oov / total,
    }


def word_analogy(
    kv: Any,
    path: str | PathLike,
    restrict_vocab: int = 30000,
    method: str = "3cosadd",
    case_insensitive: bool = True,
) -> dict[str, Any]:
    """Analogy accuracy: overall, per section, semantic vs syntactic (Google ``gram*`` sections).

    Returns ``{"accuracy", "correct", "answered", "questions", "coverage", "sections":
    {name: {"accuracy", "correct", "answered", "questions"}}, "semantic", "syntactic"}``;
    accuracies are fractions of the answered (in-vocabulary) questions, ``nan`` when none.
    """
    method = method.lower()
    if method not in ("3cosadd", "3cosmul"):
        raise ValueError(f"method must be '3cosadd' or '3cosmul', got {method!r}")
    ok = _ok_vocab(kv, restrict_vocab, case_insensitive)
    end = min(len(kv.index_to_key), restrict_vocab) if restrict_vocab else len(kv.index_to_key)
    vecs, norms = _unit_rows(kv, end)
    upper_keys = [k.upper() if case_insensitive else k for k in kv.index_to_key[:end]]
    sections = read_analogies(path)
    quads: list[tuple[int, int, int, str, str, str, str]] = []  # ids of a, b, c; words a, b, c, d
    owner: list[int] = []
    per_section = []
    for s_no, (name, questions) in enumerate(sections):
        n_in = 0
        for q in questions:
            a, b, c, d = (w.upper() for w in q) if case_insensitive else q
            if a in ok and b in ok and c in ok and d in ok:
                quads.append((ok[a], ok[b], ok[c], a, b, c, d))
                owner.append(s_no)
                n_in += 1
        per_section.append([name, 0, n_in, len(questions)])
    correct = _answer(quads, vecs, norms, upper_keys, method)
    for s_no, ok_q in zip(owner, correct):
        per_section[s_no][1] += int(ok_q)
    return _summary(per_section)


def _answer(quads, vecs, norms, upper_keys, method) -> np.ndarray:
    """Whether each question's prediction is its expected word (gensim's top-5 rule)."""
    out = np.zeros(len(quads), dtype=bool)
    unit = vecs / norms[:, np.newaxis]
    for lo in range(0, len(quads), _BATCH):
        batch = quads[lo : lo + _BATCH]
        ia = np.array([q[0] for q in batch])
        ib = np.array([q[1] for q in batch])
        ic = np.array([q[2] for q in batch])
        if method == "3cosadd":
            mean = np.zeros((len(batch), vecs.shape[1]), dtype=np.float32)
            mean += unit[ib]
            mean += unit[ic]
            mean -= unit[ia]
            mean = mean / 3.0
            mean /= np.linalg.norm(mean, axis=1, keepdims=True)
            dists = (mean @ vecs.T) / norms
        else:

            def cos01(idx):
                return (1 + (unit[idx] @ vecs.T) / norms) / 2

            dists = cos01(ib) * cos01(ic) / (cos01(ia) + 0.000001)
        # dists: (batch, vocab)
        k = min(8, dists.shape[1])  # 5 answers + up to 3 question words
        if k < dists.shape[1]:
            tops = np.argpartition(-dists, k, axis=1)[:, :k]
        else:
            tops = np.broadcast_to(np.arange(k), (len(batch), k))
        for r, q in enumerate(batch):
            query = {q[0], q[1], q[2]}
            part = tops[r]
            best = part[np.argsort(-dists[r, part], kind="stable")]
            sims = [i for i in best if i not in query][:5]
            ignore = {q[3], q[4], q[5]}
            predicted = None
            for i in sims:
                predicted = upper_keys[i]
                if predicted not in ignore:
                    break
            out[lo + r] = predicted == q[6]
    return out


def _summary(per_section: list[list[Any]]) -> dict[str, Any]:
    def acc(c: int, n: int) -> float:
        return c / n if n else float("nan")

    sections = {
        name: {"accuracy": acc(c, n), "correct": c, "answered": n, "questions": q}
        for name, c, n, q in per_section
    }
    out: dict[str, Any] = {}
    for group, pick in (
        ("semantic", lambda s: not s.startswith("gram")),
        ("syntactic", lambda s: s.startswith("gram")),
    ):
        c = sum(s[1] for s in per_section if pick(s[0]))
        n = sum(s[2] for s in per_section if pick(s[0]))
        out[group] = acc(c, n)
    c = sum(s[1] for s in per_section)
    n = sum(s[2] for s in per_section)
    q = sum(s[3] for s in per_section)
    out.update(accuracy=acc(c, n), correct=c, answered=n, questions=q,
               coverage=n / q if q else float("nan"), sections=sections)  # fmt: skip
    return out
