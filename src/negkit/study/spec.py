"""Sampler specs on the command line: ``name`` or ``name:key=value:key=value``.

``adaptive:lam=0.5:refresh_every=100000`` is the adaptive sampler with those
settings; values are read as int, float, bool (true/false) or left as text.
"""

from __future__ import annotations

from typing import Any


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"adaptive:lam=0.5"`` -> ``("adaptive", {"lam": 0.5})``."""
    parts = spec.strip().split(":")
    name, params = parts[0].strip().lower(), {}
    if not name:
        raise ValueError(f"sampler spec {spec!r} has no name")
    for p in parts[1:]:
        key, eq, val = p.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"sampler spec {spec!r}: expected key=value after ':', got {p!r}")
        params[key.strip()] = _value(val.strip())
    return name, params


def parse_spec_list(text: str) -> list[str]:
    """Split a comma-separated list of specs, dropping blanks."""
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise ValueError("--samplers is empty")
    return specs
