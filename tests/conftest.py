"""Shared test settings: real data comes from ``NEGKIT_DATA`` (default ``../shared/data``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]
_SHARED = _REPO.parent / "shared" / "data"
if "NEGKIT_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["NEGKIT_DATA"] = str(_SHARED)


def shared_data() -> Path | None:
    """The real-data folder, or None when it is absent."""
    p = Path(os.environ.get("NEGKIT_DATA", ""))
    return p if os.environ.get("NEGKIT_DATA") and (p / "MANIFEST.md").is_file() else None


@pytest.fixture
def real_data() -> Path:
    """Path of the shared data sets; skips the test with a reason when they are absent."""
    p = shared_data()
    if p is None:
        pytest.skip("real data absent: set NEGKIT_DATA to the shared data folder (../shared/data)")
    return p
