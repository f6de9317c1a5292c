"""Rebuild negkit's shipped demo data from the shared data folder.

Usage::

    NEGKIT_DATA=/work/shared/data python bench/make_demo_corpus.py [--max-tokens N]

Takes from ``$NEGKIT_DATA/text_corpus_en/en_corpus_5m.txt.xz`` only the sources
whose licence allows redistribution (public domain, or CC BY 4.0 with credit),
by the line ranges of ``sources.tsv``, and writes them xz-compressed to
``src/negkit/_resources/demo_corpus.txt.xz``.  Copies the permissively
licensed evaluation sets next to it.  ``SOURCES.md`` (written by hand) credits
every file.  The output is deterministic: same input, same bytes.
"""

from __future__ import annotations

import argparse
import lzma
import os
import sys
from pathlib import Path

#: Source id in sources.tsv -> licence (see the shared MANIFEST.md, section 2).
LICENSED_SOURCES = {
    "genesis_en": "public domain",
    "inaugural": "public domain",
    "state_union": "public domain",
    "movie_reviews": "CC BY 4.0, (c) 2004 Bo Pang and Lillian Lee",
}

#: Evaluation files: shared path -> shipped name (licences in SOURCES.md).
EVAL_FILES = {
    "word_eval/wordsim353/EN-WS-353-ALL.txt": "wordsim353.txt",
    "word_eval/simlex999/EN-SIMLEX-999.txt": "simlex999.txt",
    "word_eval/google_analogy/questions-words.txt": "questions-words.txt",
}

RESOURCES = Path(__file__).resolve().parents[1] / "src" / "negkit" / "_resources"


def read_ranges(sources_tsv: Path) -> dict[str, tuple[int, int]]:
    """``{source: (first_line, last_line)}``, 1-based and inclusive."""
    ranges: dict[str, tuple[int, int]] = {}
    with open(sources_tsv, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header[:3] != ["source", "first_line", "last_line"]:
            raise ValueError(f"{sources_tsv}: unexpected header {header}")
        for lineno, line in enumerate(f, start=2):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                raise ValueError(f"{sources_tsv}:{lineno}: expected >= 3 tab-separated fields")
            ranges[parts[0]] = (int(parts[1]), int(parts[2]))
    missing = set(LICENSED_SOURCES) - set(ranges)
    if missing:
        raise ValueError(f"{sources_tsv}: sources {sorted(missing)} not listed")
    return ranges


def select_lines(corpus_xz: Path, ranges: dict[str, tuple[int, int]], max_tokens: int | None):
    """Yield the lines of the licensed sources, in corpus order, up to ``max_tokens``.

    With a cap, every source contributes the same share of its own tokens, so
    the subset keeps the mix of sources.
    """
    wanted = sorted(ranges[s] for s in LICENSED_SOURCES)
    total = 0
    kept: list[str] = []
    with lzma.open(corpus_xz, "rt", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if any(lo <= lineno <= hi for lo, hi in wanted):
                kept.append(line)
                total += len(line.split())
    if max_tokens is None or total <= max_tokens:
        return kept, total
    # keep every k-th line so that each source shrinks by the same factor
    ratio = max_tokens / total
    out, acc, n = [], 0.0, 0
    for line in kept:
        acc += ratio
        if acc >= 1.0:
            acc -= 1.0
            out.append(line)
            n += len(line.split())
    return out, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("NEGKIT_DATA"), help="shared data folder")
    ap.add_argument("--max-tokens", type=int, default=None, help="cap on the corpus size")
    ap.add_argument("--out", type=Path, default=RESOURCES)
    args = ap.parse_args(argv)
    if not args.data:
        ap.error("set NEGKIT_DATA or pass --data")
    data = Path(args.data)
    corpus_dir = data / "text_corpus_en"
    ranges = read_ranges(corpus_dir / "sources.tsv")
    lines, n_tokens = select_lines(corpus_dir / "en_corpus_5m.txt.xz", ranges, args.max_tokens)
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "demo_corpus.txt.xz"
    with lzma.open(target, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as f:
        f.writelines(lines)
    print(f"{target}: {len(lines)} lines, {n_tokens} tokens, {target.stat().st_size} bytes")
    for src, name in EVAL_FILES.items():
        dst = args.out / name
        with open(data / src, encoding="utf-8") as fi, open(dst, "w", encoding="utf-8") as fo:
            fo.write(fi.read().replace("\r\n", "\n"))  # normalise CRLF line endings
        print(f"{dst}: {dst.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
