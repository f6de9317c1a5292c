"""Word-evaluation files: similarity pairs and analogy questions.

* Similarity (WordSim-353, SimLex-999, MEN, ...): ``word1 word2 score`` per line,
  tab- or space-separated (extra columns ignored), ``#`` comments, CRLF stripped.
* Analogies: ``a b c d`` per line meaning a:b :: c:d, grouped by ``: section``
  headers (Google, Mikolov et al. 2013).  MSR-style files (Mikolov, Yih & Zweig
  2013) may have no header: their questions go to one section named after the file.

Every error names the file, the line and the problem.
"""

from __future__ import annotations

import logging
import math
from os import PathLike
from pathlib import Path

from negkit.data.errors import DataFormatError
from negkit.data.lines import iter_lines

logger = logging.getLogger(__name__)

__all__ = ["read_similarity", "read_analogies"]


def read_similarity(path: str | PathLike) -> list[tuple[str, str, float]]:
    """Read ``(word1, word2, score)`` ; split on tabs when the line has one, else spaces."""
    out: list[tuple[str, str, float]] = []
    for lineno, text in iter_lines(path, comments="#"):
        fields = text.split("\t") if "\t" in text else text.split()
        fields = [f.strip() for f in fields]
        if len(fields) < 3:
            raise DataFormatError(
                path, lineno, f"expected 'word1 word2 score', got {len(fields)} field(s): {text!r}"
            )
        a, b, raw = fields[0], fields[1], fields[2]
        if not a or not b:
            raise DataFormatError(path, lineno, f"empty word in {text!r}")
        try:
            score = float(raw)
        except ValueError:
            raise DataFormatError(path, lineno, f"score {raw!r} is not a number") from None
        if not math.isfinite(score):
            raise DataFormatError(path, lineno, f"score {raw!r} is not finite")
        out.append((a, b, score))
    return out


def read_analogies(path: str | PathLike) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """Read analogy questions as ``[(section, [(a, b, c, d), ...]), ...]`` in file order."""
    sections: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    current: list[tuple[str, str, str, str]] | None = None
    headless = 0
    for lineno, text in iter_lines(path):
        if text.startswith(":"):
            name = text[1:].strip()
            if not name:
                raise DataFormatError(path, lineno, "section header ':' has no name")
            current = []
            sections.append((name, current))
            continue
        words = text.split()
        if len(words) != 4:
            raise DataFormatError(
                path, lineno, f"expected 4 words 'a b c d' (a:b :: c:d), got {len(words)}: {text!r}"
            )
        if current is None:  # MSR style: no header
            current = []
            sections.append((Path(path).stem, current))
            headless += 1
        current.append((words[0], words[1], words[2], words[3]))
    if headless:
        logger.info("%s has no ': section' header: questions go to %r", path, sections[0][0])
    empty = [name for name, qs in sections if not qs]
    if empty:
        logger.warning("%s: %d empty section(s): %s", path, len(empty), ", ".join(empty))
    return sections
