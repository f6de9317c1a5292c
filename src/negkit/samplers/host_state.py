"""A host sampler's mutable state as plain numpy arrays and JSON, for ``.npz`` checkpoints.

The numpy-only counterpart of :mod:`negkit.samplers.state` (which pickles torch objects for
the tensor engine's checkpoints): :class:`negkit.Word2Vec` and the graph walks save their
models to ``.npz`` files without pickles.  :func:`host_state` copies the arrays a fitted
sampler holds (its own random context, SRNS's memory, MCNS's chains, the adaptive sampler's
orders, σ and generation) and the state of its numpy generators; the tables it reads by
reference (the model's, the known positives) are left out.  :func:`set_host_state` writes
them back into a sampler fitted with the same settings on the same vocabulary, arrays of
unchanged shape in place.  Together they let a resumed run draw what the straight run drew.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["host_state", "set_host_state", "state_kept"]

#: the tables a sampler reads by reference: the model's, and the known positives
_NOT_STATE = frozenset({"output_", "input_", "positives_", "model_", "known_", "device_"})


def host_state(sampler: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, generators)``: copies of the sampler's arrays, and its numpy generators'
    states (JSON-able), keyed by attribute name."""
    wait = getattr(sampler, "wait", None)
    if callable(wait):  # a background rebuild (adaptive) must land first
        wait()
    arrays: dict[str, np.ndarray] = {}
    generators: dict[str, Any] = {}
    for key, v in vars(sampler).items():
        if key in _NOT_STATE:
            continue
        if isinstance(v, np.ndarray) and v.dtype != object:
            arrays[key] = v.copy()
        elif isinstance(v, np.random.Generator):
            generators[key] = v.bit_generator.state
    return arrays, generators


def set_host_state(sampler: Any, arrays: dict[str, np.ndarray], generators: dict[str, Any]) -> None:
    """Restore :func:`host_state` into ``sampler`` (fitted with the same settings)."""
    wait = getattr(sampler, "wait", None)
    if callable(wait):
        wait()
    for key, v in arrays.items():
        cur = getattr(sampler, key, None)
        if isinstance(cur, np.ndarray) and cur.shape == v.shape and cur.dtype == v.dtype:
            cur[...] = v  # in place: kernels built by fit() keep reading the same buffers
        else:
            setattr(sampler, key, np.array(v))
    for key, st in generators.items():
        cur = getattr(sampler, key, None)
        gen = cur if isinstance(cur, np.random.Generator) else np.random.default_rng()
        gen.bit_generator.state = st
        setattr(sampler, key, gen)


@contextmanager
def state_kept(sampler: Any, *, moving: tuple[str, ...] = ()) -> Iterator[None]:
    """Draws made inside the block leave the sampler's state as it was (SRNS's memory and
    visits, MCNS's chains, ...: a measurement or a probe must not change the run's next
    draws); the attributes named in ``moving`` keep what the block did to them."""
    arrays, generators = host_state(sampler)
    for key in moving:
        arrays.pop(key, None)
        generators.pop(key, None)
    try:
        yield
    finally:
        set_host_state(sampler, arrays, generators)
