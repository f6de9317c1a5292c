"""Negative samplers behind one contract (see :mod:`negkit.samplers.base`).

>>> import numpy as np, negkit.samplers as ns
>>> s = ns.get("unigram", alpha=0.75, seed=0).fit(counts=np.array([10, 5, 1]))
>>> s.sample(np.arange(4), 5).shape
(4, 5)
"""

from negkit.samplers import uniform, unigram  # noqa: F401  (register)
from negkit.samplers.base import Sampler, excluding
from negkit.samplers.registry import available, get, get_class, register
from negkit.samplers.tools import calibrate
from negkit.samplers.uniform import UniformSampler
from negkit.samplers.unigram import DegreeSampler, UnigramSampler

__all__ = [
    "Sampler",
    "UniformSampler",
    "UnigramSampler",
    "DegreeSampler",
    "available",
    "calibrate",
    "excluding",
    "get",
    "get_class",
    "register",
]
