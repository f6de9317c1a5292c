"""A sampler's mutable state, for checkpoints: what it changes while it draws.

:func:`sampler_state` walks a fitted sampler's attributes (and those of a sampler it wraps)
and copies what drawing changes: torch and numpy generators, tensors and arrays (random
contexts and draw counters, the adaptive sampler's orders, SRNS's memory, NSCaching's caches),
parts with a ``state_dict`` / ``load_state_dict`` of their own (the batch samplers' streaming
frequency estimate), and dictionaries of these (the per-device caches of the torch paths).
Configuration (numbers, names) is rebuilt by ``fit``, and the tables a sampler reads by
reference (the model's, the known positives) are left out.  :func:`set_sampler_state` writes
a state back into a sampler fitted with the same settings, arrays and tensors of unchanged
shape in place, so compiled kernels and closures built by ``fit`` keep reading the same
buffers.  Together they let a resumed run draw exactly what a straight run drew.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["sampler_state", "set_sampler_state"]

#: attributes that are not the sampler's own state: the live model and its tables, the
#: known triples / positives (rebuilt by ``fit``), the device
NOT_STATE = frozenset({"model_", "known_", "device_", "output_", "input_"})


def _encode(v: Any) -> tuple | None:
    if isinstance(v, torch.Generator):
        return ("torch_generator", str(v.device), v.get_state())
    if isinstance(v, np.random.Generator):
        return ("numpy_generator", v.bit_generator.state)
    if isinstance(v, torch.Tensor):
        return ("tensor", v.detach().clone())
    if isinstance(v, np.ndarray):
        return ("array", v.copy())
    if isinstance(v, dict):
        items = {k: _encode(x) for k, x in v.items()}
        return ("dict", {k: x for k, x in items.items() if x is not None})
    if hasattr(v, "sample") and hasattr(v, "__dict__"):  # a wrapped sampler
        return ("sampler", sampler_state(v))
    if callable(getattr(v, "state_dict", None)) and callable(getattr(v, "load_state_dict", None)):
        if not isinstance(
            v, torch.nn.Module
        ):  # a part with its own state (batch.StreamingFrequency)
            return ("stateful", v.state_dict())
    return None


def _decode(tagged: tuple, cur: Any) -> Any:
    """The value to hold, written into ``cur`` in place where it can be."""
    kind, *rest = tagged
    if kind == "torch_generator":
        dev, st = rest
        gen = cur if isinstance(cur, torch.Generator) else torch.Generator(device=dev)
        gen.set_state(st)
        return gen
    if kind == "numpy_generator":
        gen = cur if isinstance(cur, np.random.Generator) else np.random.default_rng()
        gen.bit_generator.state = rest[0]
        return gen
    if kind in ("tensor", "array"):
        v = rest[0]
        same = cur is not None and type(cur) is type(v) and cur.shape == v.shape
        if same and cur.dtype == v.dtype:
            cur[...] = v.to(cur.device) if kind == "tensor" else v
            return cur
        return v.clone() if kind == "tensor" else v.copy()
    if kind == "dict":
        out = cur if isinstance(cur, dict) else {}
        for k, x in rest[0].items():
            out[k] = _decode(x, out.get(k))
        return out
    if kind == "stateful":
        cur.load_state_dict(rest[0])
        return cur
    set_sampler_state(cur, rest[0])
    return cur


def sampler_state(sampler: Any) -> dict[str, Any]:
    """The mutable state of ``sampler`` (and of the sampler it wraps), as copies."""
    wait = getattr(sampler, "wait", None)
    if callable(wait):  # a background rebuild (adaptive) must land first
        wait()
    out = {}
    for key, v in vars(sampler).items():
        if key in NOT_STATE:
            continue
        tagged = _encode(v)
        if tagged is not None and not (tagged[0] == "dict" and not tagged[1] and v):
            out[key] = tagged  # (a dict of nothing copyable is configuration)
    return out


def set_sampler_state(sampler: Any, state: dict[str, Any]) -> None:
    """Restore :func:`sampler_state` into a sampler fitted with the same settings."""
    wait = getattr(sampler, "wait", None)
    if callable(wait):
        wait()
    for key, tagged in state.items():
        setattr(sampler, key, _decode(tagged, getattr(sampler, key, None)))
