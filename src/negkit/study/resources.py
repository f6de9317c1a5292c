"""Paths of the demo data: the evaluation sets shipped inside the package (``negkit/_resources``,
see SOURCES.md) and the demo corpus, built on first use (:mod:`negkit.study.demo_corpus`)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SIMILARITY_SETS = ("wordsim353.txt", "simlex999.txt")
ANALOGY_SET = "questions-words.txt"


def resource_dir() -> Path:
    """The folder of the shipped files (a real directory: the package is installed unzipped)."""
    return Path(str(resources.files("negkit") / "_resources"))


def resource(name: str) -> Path:
    p = resource_dir() / name
    if not p.is_file():
        raise FileNotFoundError(
            f"negkit's shipped file {name} is missing from {p.parent}: reinstall negkit"
        )
    return p


def demo_corpus() -> Path:
    from negkit.study.demo_corpus import demo_corpus as build_or_find

    return build_or_find()


def similarity_sets() -> list[Path]:
    return [resource(n) for n in SIMILARITY_SETS]


def analogy_set() -> Path:
    return resource(ANALOGY_SET)
