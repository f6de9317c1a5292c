"""Negative samplers behind one contract (see :mod:`negkit.samplers.base`).

>>> import numpy as np, negkit.samplers as ns
>>> s = ns.get("unigram", alpha=0.75, seed=0).fit(counts=np.array([10, 5, 1]))
>>> s.sample(np.arange(4), 5).shape
(4, 5)
"""

from negkit.samplers import (  # noqa: F401  (register)
    adaptive,
    ahns,
    dns,
    mcns,
    rank,
    softmax,
    srns,
    uniform,
    unigram,
    warp,
)
from negkit.samplers.adaptive import AdaptiveSampler
from negkit.samplers.ahns import AHNSSampler
from negkit.samplers.base import Sampler, excluding
from negkit.samplers.batch import (
    BatchNegatives,
    BatchSampler,
    InBatchSampler,
    MixedNegativeSampler,
    StreamingFrequency,
    accidental_hits,
)
from negkit.samplers.dns import DNSSampler
from negkit.samplers.mcns import MCNSSampler
from negkit.samplers.pool import candidate_pool
from negkit.samplers.rank import RankSampler
from negkit.samplers.registry import available, get, get_class, register
from negkit.samplers.softmax import SoftmaxSampler
from negkit.samplers.srns import SRNSSampler
from negkit.samplers.tools import calibrate, importance_weights
from negkit.samplers.uniform import UniformSampler
from negkit.samplers.unigram import DegreeSampler, UnigramSampler
from negkit.samplers.warp import WARPSampler, warp_weight

__all__ = [
    "Sampler",
    "UniformSampler",
    "UnigramSampler",
    "DegreeSampler",
    "AdaptiveSampler",
    "AHNSSampler",
    "DNSSampler",
    "MCNSSampler",
    "RankSampler",
    "SoftmaxSampler",
    "SRNSSampler",
    "WARPSampler",
    "BatchNegatives",
    "BatchSampler",
    "InBatchSampler",
    "MixedNegativeSampler",
    "StreamingFrequency",
    "accidental_hits",
    "available",
    "calibrate",
    "candidate_pool",
    "excluding",
    "get",
    "get_class",
    "importance_weights",
    "register",
    "warp_weight",
]
