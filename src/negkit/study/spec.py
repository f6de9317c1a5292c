"""Sampler specs on the command line: ``name`` or ``name:key=value:key=value``.

``adaptive:lam=0.5:refresh_every=100000`` is the adaptive sampler with those
settings; values are read as int, float, bool (true/false) or left as text.  A number
in exponent form with an integer value (``1e5``) is an int: counts such as
``refresh_every`` refuse the float 100000.0 (when the run fits the sampler, mid-study).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return text
    if "e" in low and math.isfinite(x) and x == int(x):  # 1e5: a count written short
        return int(x)
    return x


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"adaptive:lam=0.5"`` -> ``("adaptive", {"lam": 0.5})``."""
    parts = spec.strip().split(":")
    name, params = parts[0].strip().lower(), {}
    if not name:
        raise ValueError(f"sampler spec {spec!r} has no name")
    for p in parts[1:]:
        key, eq, val = p.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"sampler spec {spec!r}: expected key=value after ':', got {p!r}")
        if not val.strip():  # else '' reached the sampler, which fails only when fitted
            raise ValueError(f"sampler spec {spec!r}: {key!r} has no value")
        if key in params:  # else the last one won, under a name that lists both
            raise ValueError(f"sampler spec {spec!r}: {key!r} is given twice")
        params[key] = _value(val.strip())
    return name, params


def warm_key(name: str, params: dict[str, Any]) -> tuple:
    """What a family's warm-up is kept under: the sampler's name *and* settings, which can
    change its compiled kernel (``adaptive:dims=snapshot`` draws with another function than
    ``adaptive``); by name alone, such a spec compiled in its first run's first epoch,
    counted as training time."""
    return (name, tuple(sorted(params.items())))


def parse_spec_list(text: str) -> list[str]:
    """Split a comma-separated list of specs, dropping blanks; the same sampler listed twice
    is refused (:func:`check_distinct`)."""
    specs = [s.strip() for s in text.split(",") if s.strip()]
    if not specs:
        raise ValueError("--samplers is empty")
    check_distinct(specs)
    return specs


def _canonical(spec: str) -> tuple[str, dict[str, Any]]:
    """:func:`parse_spec` with the sampler's canonical name (``rns`` -> ``uniform``)."""
    import negkit.samplers  # noqa: F401  (registers the samplers and their aliases)
    from negkit.samplers.registry import _CANONICAL

    name, params = parse_spec(spec)
    return _CANONICAL.get(name, name), params


def plain_name(spec: str) -> str | None:
    """The canonical sampler name of a spec without settings (``rns`` -> ``uniform``), else
    None: whether a run is the plain sampler a report compares the others with."""
    name, params = _canonical(spec)
    return None if params else name


def check_distinct(specs: Sequence[str]) -> None:
    """Two specs of the same sampler (names or aliases) with the same settings are refused:
    they would train one sampler twice under two names."""
    seen: dict[tuple, str] = {}
    for spec in specs:
        key = warm_key(*_canonical(spec))
        if key in seen:
            raise ValueError(
                f"{seen[key]!r} and {spec!r} are the same sampler with the same settings, "
                "listed twice: list it once"
            )
        seen[key] = spec
