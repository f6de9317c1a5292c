"""Text corpora: one sentence per line, whitespace-separated tokens.

``.gz`` / ``.bz2`` / ``.xz`` files are read transparently (by magic bytes).  Lines
are decoded as strict UTF-8 one at a time, so a bad byte is reported with its
file and line.  Long lines are never truncated (gensim's ``LineSentence`` cuts
at 10,000 tokens; here a sentence is whatever one line holds).

The vocabulary follows gensim / word2vec: words with ``count >= min_count``,
sorted by descending count (ties: first seen first; gensim 4 puts ties last seen first,
word2vec.c in qsort's order, so the order of equal counts, and which of them a
``max_vocab_size`` cut keeps, differ from gensim's).  The corpus is encoded once
into an int32 token stream plus int64 sentence offsets; the trainers never see
strings again.
"""

from __future__ import annotations

import io
import logging
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from negkit.data.errors import DataFormatError
from negkit.data.lines import decode_line, open_binary

logger = logging.getLogger(__name__)

#: A corpus: a file path (one sentence a line) or an iterable of token lists.
Corpus = str | PathLike | Iterable[list[str]]

__all__ = [
    "open_text",
    "iter_sentences",
    "Vocab",
    "build_vocab",
    "encode",
    "scan",
    "corpus_counts",
]


class _StrictUtf8Lines(io.TextIOBase):
    """Read-only text stream over a (decompressed) binary file, strict UTF-8 per line."""

    def __init__(self, path: str | PathLike) -> None:
        self._path = str(path)
        self._raw = open_binary(path)
        self._lineno = 0

    def readable(self) -> bool:
        return True

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._path

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raw = self._raw.readline()
        if not raw:
            return ""
        self._lineno += 1
        return decode_line(raw, self._path, self._lineno)

    def read(self, size: int | None = -1) -> str:
        return "".join(iter(self.readline, ""))

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: str | PathLike) -> TextIO:
    """Open a (possibly compressed) text file; decoding errors name the file and line."""
    return _StrictUtf8Lines(path)  # type: ignore[return-value]


def _is_path(source: Any) -> bool:
    return isinstance(source, (str, PathLike))


def iter_sentences(source: str | PathLike | Iterable[list[str]]) -> Iterator[list[str]]:
    """Yield token lists: from a path (streamed, one sentence a line) or an iterable of token lists.

    Empty lines give no sentence.  A plain string inside an iterable (a sentence not
    split into tokens) is an error, not a list of characters.
    """
    if _is_path(source):
        with open_text(source) as f:
            for line in f:
                toks = line.split()
                if toks:
                    yield toks
        return
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("a corpus is a path or an iterable of token lists, not bytes")
    for i, sent in enumerate(source):
        if isinstance(sent, str):
            raise TypeError(
                f"sentence {i} is a string, not a list of tokens: split it first "
                f"(e.g. [line.split() for line in lines]) or pass the file path"
            )
        if sent:
            yield list(sent)


@dataclass
class Vocab:
    """A corpus vocabulary, most frequent word first.

    ``total_words`` counts every raw token seen (in or out of the vocabulary);
    ``raw_types`` the distinct words seen before ``min_count`` / ``max_vocab_size``.
    """

    index_to_key: list[str]
    key_to_index: dict[str, int]
    counts: np.ndarray
    total_words: int
    raw_types: int
    sentences: int = 0
    min_count: int = 1
    dropped_types: int = field(default=0)

    def __len__(self) -> int:
        return len(self.index_to_key)

    @property
    def retained_words(self) -> int:
        """Tokens of in-vocabulary words."""
        return int(self.counts.sum())


@dataclass
class Scan:
    """One pass over a corpus: every token as a provisional id (first-seen order)."""

    ids: np.ndarray  # int32 provisional ids, first-seen order
    offsets: np.ndarray  # int64 sentence offsets into ids, len = sentences + 1
    keys: list[str]  # provisional id -> word
    counts: np.ndarray  # int64 count per provisional id
    lines: int  # lines read (sentences + empty lines) for a path; sentences otherwise


def scan(source: str | PathLike | Iterable[list[str]]) -> Scan:
    """Read a corpus once into provisional int32 ids (first-seen order) and sentence offsets."""
    table: defaultdict[str, int] = defaultdict()
    table.default_factory = table.__len__  # unseen word -> next id
    lookup = table.__getitem__
    ids = array("q")
    ends = array("q")
    lines = 0
    if _is_path(source):
        with open_text(source) as f:
            for line in f:
                lines += 1
                toks = line.split()
                if toks:
                    ids.extend(map(lookup, toks))
                    ends.append(len(ids))
    else:
        for sent in iter_sentences(source):
            lines += 1
            ids.extend(map(lookup, sent))
            ends.append(len(ids))
    arr = np.frombuffer(ids, dtype=np.int64) if len(ids) else np.zeros(0, np.int64)
    if arr.size and len(table) > np.iinfo(np.int32).max:
        raise ValueError(f"{len(table)} distinct words do not fit int32 ids")
    offsets = np.zeros(len(ends) + 1, dtype=np.int64)
    if len(ends):
        offsets[1:] = np.frombuffer(ends, dtype=np.int64)
    counts = np.bincount(arr, minlength=len(table)).astype(np.int64)
    return Scan(arr.astype(np.int32), offsets, list(table.keys()), counts, lines)


def _describe(source: Any) -> str:
    return str(source) if _is_path(source) else "the corpus"


def vocab_from_scan(
    sc: Scan, min_count: int = 5, max_vocab_size: int | None = None, what: str = "the corpus"
) -> tuple[Vocab, np.ndarray]:
    """Vocabulary from a :func:`scan`, plus the map provisional id -> vocab index (-1 = dropped)."""
    if isinstance(min_count, bool) or int(min_count) != min_count or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    total = int(sc.counts.sum())
    if total == 0:
        raise ValueError(f"{what} is empty: no tokens to build a vocabulary from")
    keep = np.flatnonzero(sc.counts >= min_count)
    if keep.size == 0:
        raise ValueError(
            f"no word of {what} occurs at least min_count={min_count} times "
            f"(most frequent: {int(sc.counts.max())} times); lower min_count"
        )
    order = keep[np.argsort(-sc.counts[keep], kind="stable")]  # ties keep first-seen order
    if max_vocab_size is not None:
        if int(max_vocab_size) < 1:
            raise ValueError(f"max_vocab_size must be >= 1 or None, got {max_vocab_size!r}")
        order = order[: int(max_vocab_size)]
    remap = np.full(len(sc.keys), -1, dtype=np.int64)
    remap[order] = np.arange(order.size)
    keys = [sc.keys[i] for i in order]
    vocab = Vocab(
        index_to_key=keys,
        key_to_index={k: i for i, k in enumerate(keys)},
        counts=sc.counts[order].astype(np.int64),
        total_words=total,
        raw_types=len(sc.keys),
        sentences=int(sc.offsets.size - 1),
        min_count=int(min_count),
        dropped_types=len(sc.keys) - int(order.size),
    )
    dropped = total - vocab.retained_words
    logger.info(
        "vocabulary of %s: %d of %d word types kept (min_count=%d%s); %d of %d tokens (%.1f%%) "
        "are out of vocabulary",
        what, len(vocab), vocab.raw_types, min_count,
        f", max_vocab_size={max_vocab_size}" if max_vocab_size else "",
        dropped, total, 100.0 * dropped / total,
    )  # fmt: skip
    return vocab, remap


def encode_scan(sc: Scan, remap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token stream in vocabulary-index space from a scan (out-of-vocabulary tokens dropped)."""
    mapped = remap[sc.ids]
    keep = mapped >= 0
    tokens = mapped[keep].astype(np.int32)
    kept_before = np.zeros(keep.size + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    offsets = kept_before[sc.offsets]
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    offsets = np.concatenate([offsets[nonempty], offsets[-1:]]).astype(np.int64)
    return tokens, offsets


def build_vocab(source: Corpus, min_count: int = 5, max_vocab_size: int | None = None) -> Vocab:
    """Vocabulary of words with ``count >= min_count`` (at most ``max_vocab_size`` most frequent).

    Sorted by descending count, ties in first-seen order.  Errors on an empty corpus and
    when no word reaches ``min_count``.
    """
    vocab, _ = vocab_from_scan(scan(source), min_count, max_vocab_size, _describe(source))
    return vocab


def encode(source: Corpus, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Encode a corpus as ``(int32 tokens, int64 sentence offsets)`` in ``vocab`` index space.

    Out-of-vocabulary tokens are dropped and their number logged; sentences left empty
    are dropped too.  ``offsets`` has one entry more than there are sentences.
    """
    sc = scan(source)
    remap = np.array([vocab.key_to_index.get(k, -1) for k in sc.keys], dtype=np.int64)
    tokens, offsets = encode_scan(sc, remap)
    dropped = int(sc.ids.size) - int(tokens.size)
    if dropped:
        logger.info("encode %s: %d of %d tokens are out of vocabulary and were dropped",
                    _describe(source), dropped, sc.ids.size)  # fmt: skip
    return tokens, offsets


def corpus_counts(path: str | PathLike) -> dict[str, int]:
    """``{"tokens": raw tokens, "vocab": distinct words, "lines": lines}`` of a corpus file."""
    p = Path(path)
    sc = scan(p)
    if sc.ids.size == 0:
        raise DataFormatError(p, 0, "the corpus is empty (no token)")
    return {"tokens": int(sc.ids.size), "vocab": len(sc.keys), "lines": int(sc.lines)}
