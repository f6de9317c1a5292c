"""Samplers by name: ``negkit.samplers.get(name, **params)``."""

from __future__ import annotations

import copy
from typing import Any

_REGISTRY: dict[str, type] = {}


class SamplerParamError(TypeError, ValueError):
    """A parameter the sampler does not take: a TypeError, and a ValueError (a user's input,
    reported in one line by the command line)."""


_CANONICAL: dict[str, str] = {}


def register(name: str, aliases: tuple[str, ...] = ()):
    """Class decorator: make a sampler available under ``name`` (and ``aliases``)."""

    def deco(cls):
        cls.name = name
        for key in (name, *aliases):
            key = key.lower()
            if key in _REGISTRY and _REGISTRY[key] is not cls:
                raise ValueError(
                    f"sampler name {key!r} is already taken by {_REGISTRY[key].__name__}"
                )
            _REGISTRY[key] = cls
            _CANONICAL[key] = name
        return cls

    return deco


def get(name: Any, **params: Any):
    """Return a new sampler by name, configured by ``params``; a sampler object passes through."""
    from negkit.samplers.base import Sampler

    if isinstance(name, Sampler):
        if params:
            name.set_params(**params)
        return name
    if not isinstance(name, str):
        raise TypeError(f"a sampler is given by name or as a Sampler object, got {name!r}")
    cls = _REGISTRY.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown sampler {name!r}; available: {', '.join(available())}")
    try:
        return cls(**params)
    except TypeError as e:
        raise SamplerParamError(f"sampler {name!r}: {e}") from None


def fresh(sampler: Any, **params: Any):
    """A new, unfitted sampler: by name as :func:`get`, or a copy of a Sampler object's settings.

    Trainers that fit a sampler on their own tables (:class:`negkit.Word2Vec`,
    :class:`negkit.graph.line.LINE`) fit this copy, never the caller's object: one object can
    configure several models, and fitting the second one leaves the first one's draws alone.
    """
    from negkit.samplers.base import Sampler

    if not isinstance(sampler, Sampler):
        return get(sampler, **params)
    settings = {**sampler.get_params(), **params}
    try:
        return type(sampler)(**settings)
    except TypeError:  # a subclass whose constructor does not take its settings back:
        out = copy.copy(sampler)  # fit() then rebinds what it builds on the copy alone
        return out.set_params(**params) if params else out


def available() -> list[str]:
    """Canonical names of the registered samplers."""
    return sorted(set(_CANONICAL.values()))


def get_class(name: str) -> type:
    cls = _REGISTRY.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown sampler {name!r}; available: {', '.join(available())}")
    return cls
