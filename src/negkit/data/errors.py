"""Errors of the data layer: every message names the file, the line and the problem."""

from __future__ import annotations

from os import PathLike


class DataFormatError(ValueError):
    """A data file is malformed: ``<path>:<line>: <problem>`` (line 0 means the whole file)."""

    def __init__(self, path: str | PathLike, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = int(line)
        self.problem = problem
        where = f"{self.path}:{self.line}" if self.line > 0 else self.path
        super().__init__(f"{where}: {problem}")


class DataMissingError(FileNotFoundError):
    """A known data set (or one of its files) is not on disk; says how to fetch it."""

    def __init__(self, name: str, where: str | PathLike, detail: str = "") -> None:
        self.name = name
        self.where = str(where)
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"data set {name!r} is not in {self.where}{extra}: "
            f"run `negkit data fetch {name}` (or set NEGKIT_DATA to a folder that has it)"
        )


__all__ = ["DataFormatError", "DataMissingError"]
