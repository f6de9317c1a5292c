"""``negkit.KeyedVectors``: word vectors with gensim's lookup and similarity API.

Cosine similarity ``cos(u, v) = u.v / (|u| |v|)``.  ``most_similar`` follows gensim
4 exactly: the mean of the unit vectors of the ``positive`` words (weight +1) and
``negative`` words (weight -1), itself normalised, ranked against every vector by
cosine, the query words excluded (Mikolov et al. 2013's 3CosAdd for analogies).
Computations are done in float32, in gensim's order, so scores agree with gensim.

The word2vec formats (word2vec.c): a header ``"<count> <dim>\\n"``, then per word
either ``word v1 ... vd\\n`` (text) or ``word `` followed by ``d`` little-endian
float32 and ``\\n`` (binary).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from os import PathLike
from typing import Any

import numpy as np

from negkit.data.errors import DataFormatError
from negkit.data.lines import open_binary, strict_int

logger = logging.getLogger(__name__)

Key = str | int


#: Largest vector size a word2vec file may announce (a damaged header must not allocate TBs).
MAX_DIM = 1 << 20


class KeyedVectors:
    """Vectors ``vectors[i]`` for the keys ``index_to_key[i]`` (most frequent first, usually).

    ``vectors`` is kept by reference: a :class:`negkit.Word2Vec` model's ``wv`` sees
    training updates live, and ``norms`` is computed from them at every query (gensim caches
    it until ``fill_norms(force=True)``; here :meth:`fill_norms` has nothing to do).  Unknown
    keys raise ``KeyError`` naming the key; an int is a key, never a row number (gensim
    takes an int that is not a key as the row: ``kv[3]``, ``3 in kv``).
    """

    def __init__(
        self, vectors: np.ndarray, index_to_key: Sequence[str], counts: Any = None
    ) -> None:
        vectors = np.asarray(vectors)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D, got shape {vectors.shape}")
        if vectors.dtype != np.float32:
            vectors = vectors.astype(np.float32)
        if len(index_to_key) != vectors.shape[0]:
            raise ValueError(f"{len(index_to_key)} keys for {vectors.shape[0]} vectors")
        self.vectors = vectors
        self.index_to_key = list(index_to_key)
        self.key_to_index = {k: i for i, k in enumerate(self.index_to_key)}
        if len(self.key_to_index) != len(self.index_to_key):
            raise ValueError("index_to_key has duplicate keys")
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)
        if self.counts is not None and self.counts.shape != (len(self.index_to_key),):
            raise ValueError(f"{self.counts.shape[0]} counts for {len(self.index_to_key)} keys")

    # ---------------------------------------------------------------- lookup
    @property
    def vector_size(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, key: Any) -> bool:
        return key in self.key_to_index

    def get_index(self, key: Key, default: int | None = None) -> int:
        """The row of ``key``; ``default`` (when given) for an unknown key, else ``KeyError``."""
        i = self.key_to_index.get(key)  # type: ignore[arg-type]
        if i is None:
            if default is not None:
                return default
            raise KeyError(f"word {key!r} not in vocabulary ({len(self)} words)")
        return i

    def has_index_for(self, key: Key) -> bool:
        """``key in self`` (gensim's name)."""
        return key in self.key_to_index

    def get_vector(self, key: Key, norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (a copy when ``norm``: divided by its length, as gensim)."""
        v = self.vectors[self.get_index(key)]
        if norm:
            return v / np.linalg.norm(v).astype(np.float32)
        return v

    def __getitem__(self, key: Key | Iterable[Key]) -> np.ndarray:
        if isinstance(key, (str, int, np.integer)):
            return self.get_vector(key)  # type: ignore[arg-type]
        return np.vstack([self.get_vector(k) for k in key])

    @property
    def norms(self) -> np.ndarray:
        """Length of every vector (float32), computed from the live vectors."""
        return np.linalg.norm(self.vectors, axis=1)

    def fill_norms(self, force: bool = False) -> None:
        """gensim's cache refresh; nothing to do here: ``norms`` is always computed live."""

    def get_vecattr(self, key: Key, attr: str) -> Any:
        """gensim's per-key attribute; only ``"count"`` (the word's corpus count) is kept."""
        if attr != "count":
            raise KeyError(f"attribute {attr!r} is not kept (only 'count')")
        if self.counts is None:
            raise KeyError("these vectors have no counts (loaded without fvocab?)")
        return int(self.counts[self.get_index(key)])

    def get_normed_vectors(self) -> np.ndarray:
        return self.vectors / self.norms[..., np.newaxis]

    # ----------------------------------------------------------- similarity
    def similarity(self, w1: Key, w2: Key) -> float:
        """Cosine similarity of two words (0 when one vector is zero, as gensim)."""
        return float(np.dot(_unit(self.get_vector(w1)), _unit(self.get_vector(w2))))

    def distance(self, w1: Key, w2: Key) -> float:
        """Cosine distance ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    @staticmethod
    def cosine_similarities(vector_1: np.ndarray, vectors_all: np.ndarray) -> np.ndarray:
        """Cosine of ``vector_1`` with every row of ``vectors_all``."""
        vectors_all = np.asarray(vectors_all)
        dots = np.dot(vectors_all, vector_1)
        return dots / (np.linalg.norm(vector_1) * np.linalg.norm(vectors_all, axis=1))

    def distances(self, word_or_vector: Any, other_words: Sequence[Key] = ()) -> np.ndarray:
        """Cosine distances from a word (or a vector) to ``other_words`` (default: every word,
        itself included), as gensim."""
        vec = (
            np.asarray(word_or_vector)
            if isinstance(word_or_vector, np.ndarray)
            else self.get_vector(word_or_vector)
        )
        if len(other_words) == 0:
            others = self.vectors
        else:
            others = self.vectors[[self.get_index(w) for w in other_words]]
        return 1 - self.cosine_similarities(vec, others)

    def n_similarity(self, ws1: Sequence[Key], ws2: Sequence[Key]) -> float:
        """Cosine between the means of the raw vectors of two word lists (as gensim: the
        vectors are not made unit length before the mean, and unknown words are skipped)."""
        if not (len(ws1) and len(ws2)):
            raise ZeroDivisionError("At least one of the passed lists is empty.")
        m1 = self.get_mean_vector(ws1, pre_normalize=False)
        m2 = self.get_mean_vector(ws2, pre_normalize=False)
        return float(np.dot(m1 / np.linalg.norm(m1), m2 / np.linalg.norm(m2)))

    def doesnt_match(self, words: Sequence[Key]) -> Key:
        """The word of ``words`` farthest from the normalised mean of their unit vectors
        (unknown words are ignored with a warning, as gensim)."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            logger.warning("doesnt_match: ignoring unknown words %s", set(words) - set(used))
        if not used:
            raise ValueError("cannot select a word from an empty list")
        vecs = np.vstack([self.get_vector(w, norm=True) for w in used]).astype(np.float32)
        mean = self.get_mean_vector(vecs, post_normalize=True)
        return sorted(zip(np.dot(vecs, mean).tolist(), used), reverse=True)[-1][1]

    def closer_than(self, key1: Key, key2: Key) -> list[Key]:
        """Every word closer to ``key1`` (by cosine) than ``key2`` is, ``key1`` left out."""
        d = self.distances(key1)
        i1, i2 = self.get_index(key1), self.get_index(key2)
        return [self.index_to_key[i] for i in np.flatnonzero(d < d[i2]) if i != i1]

    def rank(self, key1: Key, key2: Key) -> int:
        """1 + the number of words closer to ``key1`` than ``key2`` is."""
        return len(self.closer_than(key1, key2)) + 1

    def similar_by_word(
        self, word: Key, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> Any:
        """``most_similar(positive=[word], ...)``."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def similar_by_vector(
        self, vector: np.ndarray, topn: int | None = 10, restrict_vocab: int | None = None
    ) -> Any:
        """``most_similar(positive=[vector], ...)`` (no word is left out)."""
        return self.most_similar(positive=[vector], topn=topn, restrict_vocab=restrict_vocab)

    def _eval_lookup(self, restrict_vocab: int, case_insensitive: bool) -> tuple:
        """gensim's word matching in its evaluations: ``(keys, fold, index)``, the first
        ``restrict_vocab`` keys, the case fold (upper-casing with ``case_insensitive``) and
        each folded key's row, the most frequent variant winning."""
        keys = self.index_to_key[:restrict_vocab]
        fold = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
        return keys, fold, {fold(keys[i]): i for i in range(len(keys) - 1, -1, -1)}

    def evaluate_word_pairs(
        self,
        pairs: str | PathLike,
        delimiter: str = "\t",
        encoding: str = "utf8",
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[Any, Any, float]:
        """gensim's word-pair evaluation: ``(pearson, spearman, oov_ratio)`` (scipy results,
        ``oov_ratio`` in percent) over the lines ``word1<delimiter>word2<delimiter>score``.

        gensim's rules: lines starting with ``#`` and lines that are not exactly three fields
        with a numeric score are skipped; words are matched among the first
        ``restrict_vocab`` keys (upper-cased with ``case_insensitive``, the most frequent
        variant winning); a pair with an unknown word is left out, or scored 0 with
        ``dummy4unknown`` (then ``oov_ratio`` is over all pairs scored).
        :func:`negkit.eval.words.word_similarity` is the tolerant reader (any whitespace).
        """
        from scipy import stats

        _, fold, ok = self._eval_lookup(restrict_vocab, case_insensitive)
        gold: list[float] = []
        model: list[float] = []
        oov = 0
        with open_binary(pairs) as f:
            for raw in f:
                line = raw.decode(encoding)
                if not line or line.startswith("#"):
                    continue
                fields = line.split(delimiter)
                if len(fields) != 3:
                    continue
                try:
                    score = float(fields[2])
                except ValueError:
                    continue
                a, b = fold(fields[0]), fold(fields[1])
                if a not in ok or b not in ok:
                    oov += 1
                    if dummy4unknown:
                        gold.append(score)
                        model.append(0.0)
                    continue
                va, vb = self.vectors[ok[a]], self.vectors[ok[b]]
                gold.append(score)
                model.append(float(np.dot(va / np.linalg.norm(va), vb / np.linalg.norm(vb))))
        if not gold:
            raise ValueError(
                f"no valid similarity judgements in {pairs}: wrong format or all out of vocabulary"
            )
        spearman = stats.spearmanr(gold, model)
        pearson = stats.pearsonr(gold, model)
        oov_ratio = 100.0 * oov / (len(gold) if dummy4unknown else len(gold) + oov)
        return pearson, spearman, oov_ratio

    def evaluate_word_analogies(
        self,
        analogies: str | PathLike,
        restrict_vocab: int = 300000,
        case_insensitive: bool = True,
        dummy4unknown: bool = False,
    ) -> tuple[float, list[dict[str, Any]]]:
        """gensim's analogy evaluation (3CosAdd): ``(score, sections)``, each section a dict
        ``{"section", "correct": [(a, b, c, d), ...], "incorrect": [...]}``, the last one
        ``"Total accuracy"``; ``score`` is its accuracy.

        gensim's rules: a section starts at a line ``": name"``; lines that are not four
        words are skipped; words are matched among the first ``restrict_vocab`` keys
        (upper-cased with ``case_insensitive``); a question with an unknown word is left out,
        or counted incorrect with ``dummy4unknown``; the answer is the best of the top 5
        that is not a question word.  :func:`negkit.eval.words.word_analogy` gives the same
        accuracy in a summary dict (and 3CosMul).
        """
        from negkit.eval.words import _answer

        keys, fold, ok = self._eval_lookup(restrict_vocab, case_insensitive)
        sections: list[dict[str, Any]] = []
        asked: list[tuple[dict[str, Any], tuple]] = []  # (section, quad) in file order
        with open_binary(analogies) as f:
            for lineno, raw in enumerate(f, 1):
                line = raw.decode("utf-8")
                if line.startswith(": "):
                    sections.append({"section": line.lstrip(": ").strip(), "correct": [],
                                     "incorrect": []})  # fmt: skip
                    continue
                if not sections:
                    raise DataFormatError(analogies, lineno, "a question before any ': section'")
                words = [fold(w) for w in line.split()]
                if len(words) != 4:
                    continue
                asked.append((sections[-1], tuple(words)))
        known = [(sec, q) for sec, q in asked if all(w in ok for w in q)]
        end = len(keys)
        vecs = np.asarray(self.vectors[:end], dtype=np.float32)
        quads = [(ok[q[0]], ok[q[1]], ok[q[2]], *q) for _, q in known]
        right = _answer(quads, vecs, np.linalg.norm(vecs, axis=1), [fold(k) for k in keys],
                        "3cosadd") if quads else []  # fmt: skip
        verdict = {id(q): bool(r) for (_, q), r in zip(known, right)}
        for sec, q in asked:
            if id(q) in verdict:
                sec["correct" if verdict[id(q)] else "incorrect"].append(q)
            elif dummy4unknown:
                sec["incorrect"].append(q)
        total = {
            "section": "Total accuracy",
            "correct": [q for s in sections for q in s["correct"]],
            "incorrect": [q for s in sections for q in s["incorrect"]],
        }
        n = len(total["correct"]) + len(total["incorrect"])
        sections.append(total)
        return (len(total["correct"]) / n if n else 0.0), sections

    def get_mean_vector(
        self,
        keys: Sequence[Any],
        weights: Any = None,
        pre_normalize: bool = True,
        post_normalize: bool = False,
        ignore_missing: bool = True,
    ) -> np.ndarray:
        """Weighted mean of the vectors of ``keys`` (gensim 4's signature and defaults).

        Each word's vector is made unit length first (``pre_normalize``); raw arrays among
        ``keys`` are taken as given.  The sum of ``weight * vector`` is divided by the sum of
        ``|weight|`` and, with ``post_normalize``, made unit length.  Unknown words are skipped
        (``ignore_missing``, gensim's default) or raise ``KeyError``.  ``most_similar`` uses
        ``post_normalize=True, ignore_missing=False``.
        """
        if len(keys) == 0:
            raise ValueError(
                "cannot compute a mean of no words: give at least one positive or negative"
            )
        weights = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(keys),):
            raise ValueError(f"{len(keys)} keys but weights of shape {weights.shape}")
        mean = np.zeros(self.vector_size, dtype=np.float32)
        total = 0.0
        for w, key in zip(weights, keys):
            if isinstance(key, np.ndarray):
                vec = np.asarray(key, dtype=np.float32)
            elif key in self.key_to_index or not ignore_missing:
                vec = self.get_vector(key, pre_normalize)
            else:
                continue
            mean += w * vec
            total += abs(w)
        if total > 0:
            mean = mean / total
        if not post_normalize:
            return mean.astype(np.float32)
        n = np.linalg.norm(mean)
        return (mean / n).astype(np.float32) if n > 0 else mean.astype(np.float32)

    def most_similar(
        self,
        positive: Any = None,
        negative: Any = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words nearest by cosine to the mean of ``positive`` minus ``negative`` words.

        ``positive`` / ``negative``: a word, a vector, or a list of words / vectors /
        ``(word, weight)`` pairs.  Only the first ``restrict_vocab`` words are ranked.
        ``topn=None`` returns the array of all similarities, ``topn < 1`` an empty list (gensim).
        """
        if isinstance(topn, (int, np.integer)) and topn < 1:
            return []
        positive = _as_list(positive)
        negative = _as_list(negative)
        keys: list[Any] = []
        weight = np.concatenate((np.ones(len(positive)), -np.ones(len(negative))))
        for i, item in enumerate(positive + negative):
            if isinstance(item, tuple) and len(item) == 2 and not isinstance(item[1], str):
                keys.append(item[0])
                weight[i] = item[1]
            else:
                keys.append(item)
        mean = self.get_mean_vector(keys, weight, post_normalize=True, ignore_missing=False)
        query = {
            self.key_to_index[k]
            for k in keys
            if not isinstance(k, np.ndarray) and k in self.key_to_index
        }
        end = len(self) if not restrict_vocab else min(int(restrict_vocab), len(self))
        dists = np.dot(self.vectors[:end], mean) / self.norms[:end]
        if not topn:
            return dists
        best = _top(dists, int(topn) + len(query))
        return [(self.index_to_key[i], float(dists[i])) for i in best if i not in query][
            : int(topn)
        ]

    def most_similar_cosmul(
        self,
        positive: Any = None,
        negative: Any = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """3CosMul (Levy & Goldberg 2014): prod (1+cos(x,p))/2 / (prod (1+cos(x,n))/2 + 1e-6).

        As gensim 4: ``positive`` / ``negative`` hold words or raw vectors (taken as given, not
        normalised), at least one positive is needed, ``topn=None`` returns the array of all
        scores and ``topn < 1`` an empty list.  ``restrict_vocab`` ranks only the first words
        (gensim 4.4 accepts it here but ranks every word).
        """
        if isinstance(topn, (int, np.integer)) and topn < 1:
            return []
        positive = _as_list(positive)
        negative = _as_list(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word or vector")
        end = len(self) if not restrict_vocab else min(int(restrict_vocab), len(self))
        vecs, norms = self.vectors[:end], self.norms[:end]

        def unit(k: Any) -> np.ndarray:
            return (
                np.asarray(k, np.float32) if isinstance(k, np.ndarray) else self.get_vector(k, True)
            )

        pos = [((1 + np.dot(vecs, unit(k)) / norms) / 2) for k in positive]
        neg = [((1 + np.dot(vecs, unit(k)) / norms) / 2) for k in negative]
        dists = np.prod(pos, axis=0) / (np.prod(neg, axis=0) + 0.000001)
        if not topn:
            return dists
        query = {
            self.key_to_index[k]
            for k in positive + negative
            if not isinstance(k, np.ndarray) and k in self.key_to_index
        }
        best = _top(dists, int(topn) + len(query))
        return [(self.index_to_key[i], float(dists[i])) for i in best if i not in query][
            : int(topn)
        ]

    # ------------------------------------------------------------ word2vec format
    def save_word2vec_format(
        self, path: str | PathLike, fvocab: str | PathLike | None = None, binary: bool = False
    ) -> None:
        """Write the word2vec text or binary format (readable by word2vec.c and gensim).

        gensim's argument order: ``fvocab`` (a path) also writes ``word count`` lines, one per
        word in index order (word2vec.c's ``-save-vocab``); it needs ``counts``.
        """
        _check_fvocab_binary(fvocab, binary)
        if fvocab is not None and self.counts is None:
            raise ValueError("fvocab: these vectors have no word counts to write")
        for k in self.index_to_key:
            if not isinstance(k, str) or not k or any(c.isspace() for c in k):
                raise ValueError(
                    f"key {k!r} cannot be written in word2vec format (empty or has whitespace)"
                )
        n, d = self.vectors.shape
        if not np.isfinite(self.vectors).all():
            raise ValueError(
                f"not writing {path}: the vectors hold NaN or Inf (did training diverge?)"
            )
        vecs = np.ascontiguousarray(self.vectors, dtype="<f4")
        if fvocab is not None:
            with open(fvocab, "wb") as f:
                for k, c in zip(self.index_to_key, self.counts.tolist()):  # type: ignore[union-attr]
                    f.write(f"{k} {c}\n".encode())
        with open(path, "wb") as f:
            f.write(f"{n} {d}\n".encode())
            if binary:
                for k, row in zip(self.index_to_key, vecs):
                    f.write(k.encode("utf-8") + b" " + row.tobytes() + b"\n")
            else:
                fmt = " ".join(["%.9g"] * d)
                for k, row in zip(self.index_to_key, vecs):
                    f.write((k + " " + fmt % tuple(row.tolist()) + "\n").encode("utf-8"))

    @classmethod
    def load_word2vec_format(
        cls,
        path: str | PathLike,
        fvocab: str | PathLike | None = None,
        binary: bool = False,
        limit: int | None = None,
        unicode_errors: str = "strict",
    ) -> KeyedVectors:
        """Read word2vec text or binary format (also .gz/.bz2/.xz); errors name file and line.

        gensim's argument order and meaning: ``fvocab`` reads ``word count`` lines into
        ``counts`` (every word must be there; gensim leaves a missing one without a count),
        ``limit`` reads only the first ``limit`` vectors, ``unicode_errors`` is how words
        that are not UTF-8 are decoded (``"strict"``: an error; ``"ignore"``, ``"replace"``).
        """
        _check_fvocab_binary(fvocab, binary)
        counts = None if fvocab is None else _read_fvocab(fvocab)
        with open_binary(path) as f:
            header = f.readline()
            try:
                n, d = (strict_int(x.decode("ascii")) for x in header.split())
            except (ValueError, UnicodeDecodeError):
                raise DataFormatError(
                    path, 1, f"header must be '<count> <dim>', got {header[:60]!r}"
                ) from None
            if n < 0 or d < 1:
                raise DataFormatError(path, 1, f"bad header counts {n} x {d}")
            if d > MAX_DIM:
                raise DataFormatError(path, 1, f"vector size {d} is beyond {MAX_DIM}")
            if limit:
                n = min(n, int(limit))
            keys: list[str] = []
            vecs = np.empty((min(n, 4096), d), dtype=np.float32)  # grown as rows arrive
            for i in range(n):
                if i == vecs.shape[0]:
                    vecs = np.concatenate([vecs, np.empty((min(i, n - i), d), np.float32)])
                if binary:
                    keys.append(_read_binary_word(f, path, i, unicode_errors))
                    raw = f.read(4 * d)
                    if len(raw) != 4 * d:
                        raise DataFormatError(
                            path, 0, f"vector {i + 1} ({keys[-1]!r}) is cut short"
                        )
                    vecs[i] = np.frombuffer(raw, dtype="<f4")
                else:
                    line = f.readline()
                    lineno = i + 2
                    if not line:
                        raise DataFormatError(path, lineno, f"file ends after {i} of {n} vectors")
                    try:
                        parts = line.rstrip().decode("utf-8", unicode_errors).split(" ")
                    except UnicodeDecodeError:
                        raise DataFormatError(path, lineno, "not UTF-8") from None
                    if len(parts) != d + 1:
                        raise DataFormatError(
                            path,
                            lineno,
                            f"expected a word and {d} numbers, got {len(parts)} fields",
                        )
                    keys.append(parts[0])
                    try:
                        vecs[i] = np.array(parts[1:], dtype=np.float32)
                    except ValueError:
                        raise DataFormatError(
                            path, lineno, "a vector entry is not a number"
                        ) from None
        if len(set(keys)) != len(keys):
            raise DataFormatError(path, 0, "duplicate words")
        if counts is not None:
            missing = [k for k in keys if k not in counts]
            if missing:
                raise DataFormatError(
                    fvocab, 0, f"{len(missing)} words have no count, e.g. {missing[0]!r}"
                )
            return cls(vecs[:n], keys, [counts[k] for k in keys])
        return cls(vecs[:n], keys)

    def __repr__(self) -> str:
        return f"KeyedVectors<{len(self)} keys, vector_size={self.vector_size}>"


def _check_fvocab_binary(fvocab: Any, binary: Any) -> None:
    """gensim's order is ``(path, fvocab, binary)``: a bool second argument is a mistake."""
    if isinstance(fvocab, (bool, np.bool_)):
        raise TypeError(
            "fvocab is a path (gensim's order: path, fvocab, binary): pass binary=True / False"
        )
    if not isinstance(binary, (bool, int, np.integer)):
        raise TypeError(f"binary must be a bool, got {binary!r}")


def _read_fvocab(path: Any) -> dict[str, int]:
    """``word count`` lines (word2vec.c's ``-save-vocab``, gensim's ``fvocab``)."""
    counts: dict[str, int] = {}
    with open_binary(path) as f:
        for lineno, line in enumerate(f, 1):
            try:
                parts = line.decode("utf-8").split()
            except UnicodeDecodeError:
                raise DataFormatError(path, lineno, "not UTF-8") from None
            if not parts:
                continue
            if len(parts) != 2:
                raise DataFormatError(
                    path, lineno, f"expected 'word count', got {len(parts)} fields"
                )
            try:
                counts[parts[0]] = strict_int(parts[1])
            except ValueError:
                raise DataFormatError(
                    path, lineno, f"count {parts[1]!r} is not an integer"
                ) from None
    return counts


def _read_binary_word(f: Any, path: Any, i: int, errors: str = "strict") -> str:
    chars = bytearray()
    while True:
        c = f.read(1)
        if not c:
            raise DataFormatError(path, 0, f"file ends inside word {i + 1}")
        if c == b" ":
            break
        if c != b"\n" or chars:  # skip the newline that ends the previous vector
            chars += c
    try:
        return chars.decode("utf-8", errors)
    except UnicodeDecodeError:
        raise DataFormatError(
            path, 0, f"word {i + 1} is not UTF-8: {bytes(chars)[:40]!r}"
        ) from None


def _unit(v: np.ndarray) -> np.ndarray:
    """``v`` made unit length; a zero vector stays zero (gensim's ``matutils.unitvec``)."""
    n = np.linalg.norm(v)
    return v / n.astype(v.dtype) if n > 0 else v


def _as_list(x: Any) -> list[Any]:
    """A query as a list (gensim's rules: a 2-D array is a list of vectors)."""
    if x is None:
        return []
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return list(x)
    if isinstance(x, (str, int, np.integer, np.ndarray)):
        return [x]
    return list(x)


def _top(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries, largest first (as gensim's matutils.argsort)."""
    neg = -x
    if k >= neg.size:
        return np.argsort(neg)[:k]
    part = np.argpartition(neg, k)[:k]
    return part.take(np.argsort(neg.take(part)))
