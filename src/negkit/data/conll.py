"""CoNLL-style NER files: one ``token<TAB>tag`` per line, sentences separated by blank lines.

:func:`read_conll` reads such a file into a :class:`NERData` (tokens, BIO tags, and entity
spans).  Any whitespace-only line separates sentences (WNUT-17's training file uses lines
holding a single tab), and so does a ``-DOCSTART-`` line (CoNLL-2003's document marker,
dropped): no sentence or entity runs across documents.  With ``sep=None`` fields are split
on any whitespace, and the token is the first field and the tag the last.  Every malformed
line raises :class:`~negkit.data.errors.DataFormatError` naming the file, the line and the
problem: a line with the wrong number of fields, an empty token, a tag that is not ``O``,
``B-type`` or ``I-type``, or comma-joined candidate tags (``emerging.test.conll``: use the
annotated file).

Spans follow conlleval: a chunk starts at ``B-x``, or at ``I-x`` after ``O`` or another type.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from os import PathLike

from negkit.data.errors import DataFormatError
from negkit.data.lines import open_binary

__all__ = ["NERData", "read_conll", "bio_spans"]


@dataclass
class NERData:
    """Sentences of an NER split: ``tokens[s]``, ``tags[s]`` (BIO) and ``spans[s]``, a list of
    ``(start, end, type)`` with ``end`` inclusive."""

    tokens: list[list[str]]
    tags: list[list[str]]
    spans: list[list[tuple[int, int, str]]] = field(default_factory=list)
    path: str = ""

    def __post_init__(self) -> None:
        if not self.spans:
            self.spans = [bio_spans(t) for t in self.tags]

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def types(self) -> list[str]:
        return sorted({t for ss in self.spans for (_, _, t) in ss})

    def counts(self) -> dict:
        ent: dict[str, int] = {}
        for ss in self.spans:
            for _, _, t in ss:
                ent[t] = ent.get(t, 0) + 1
        return {
            "sentences": len(self.tokens),
            "tokens": sum(len(t) for t in self.tokens),
            "entities": sum(ent.values()),
            "entity_types": dict(sorted(ent.items())),
            "sentences_with_entity": sum(1 for ss in self.spans if ss),
        }


def bio_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Entity chunks of a BIO tag sequence, as conlleval finds them: ``(start, end, type)``."""
    out: list[tuple[int, int, str]] = []
    start, typ = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if tag == "O" or tag.startswith("B-") or (tag.startswith("I-") and tag[2:] != typ):
            if start >= 0:
                out.append((start, i - 1, typ))
                start, typ = -1, ""
            if tag != "O":
                start, typ = i, tag[2:]
    return out


def _check_tag(tag: str, path: str, line: int) -> None:
    if tag == "O":
        return
    if "," in tag:
        raise DataFormatError(
            path, line, f"tag {tag!r} joins candidate tags with commas; this reader takes one "
            "gold tag per token (for WNUT-17, use emerging.test.annotated)",
        )  # fmt: skip
    if len(tag) < 3 or tag[:2] not in ("B-", "I-"):
        raise DataFormatError(path, line, f"tag {tag!r} is not O, B-<type> or I-<type>")


def read_conll(
    source: str | PathLike | io.TextIOBase, *, sep: str | None = "\t", encoding: str = "utf-8"
) -> NERData:
    """Read a CoNLL-style NER file (path or open text file); see the module for the rules."""
    if isinstance(source, (str, PathLike)):
        with open_binary(source) as f:  # gzip / bzip2 / xz too
            return _read(_decoded(f, str(source), encoding), str(source), sep)
    return _read(enumerate(source, start=1), getattr(source, "name", "<stream>"), sep)


def _decoded(f, path: str, encoding: str):
    """``(line number, text)``; undecodable bytes are a :class:`DataFormatError` there."""
    for no, raw in enumerate(f, start=1):
        try:
            yield no, raw.decode(encoding)
        except UnicodeDecodeError as e:
            raise DataFormatError(
                path, no, f"not {encoding}: byte {raw[e.start : e.start + 1]!r} at column "
                f"{e.start + 1}",
            ) from None  # fmt: skip


def _read(lines, path: str, sep: str | None) -> NERData:
    tokens: list[list[str]] = []
    tags: list[list[str]] = []
    cur_t: list[str] = []
    cur_g: list[str] = []
    for no, raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if no == 1:  # a UTF-8 byte-order mark (Excel, Notepad) is no part of the first token
            line = line.removeprefix("\ufeff")
        if not line.strip() or line.startswith("-DOCSTART-"):  # a document ends a sentence too
            if cur_t:
                tokens.append(cur_t)
                tags.append(cur_g)
                cur_t, cur_g = [], []
            continue
        fields = line.split(sep) if sep is not None else line.split()
        if sep is not None and len(fields) != 2:
            raise DataFormatError(
                path, no, f"expected 2 fields (token{repr(sep)[1:-1]}tag), found {len(fields)}: "
                f"{line[:60]!r}",
            )  # fmt: skip
        if sep is None and len(fields) < 2:
            raise DataFormatError(path, no, f"expected a token and a tag, found {line[:60]!r}")
        token, tag = fields[0], fields[-1].strip()
        if not token.strip():
            raise DataFormatError(path, no, "empty token")
        _check_tag(tag, path, no)
        cur_t.append(token)
        cur_g.append(tag)
    if cur_t:
        tokens.append(cur_t)
        tags.append(cur_g)
    if not tokens:
        raise DataFormatError(path, 0, "no sentence found")
    return NERData(tokens, tags, path=path)
