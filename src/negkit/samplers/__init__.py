"""Negative samplers behind one contract (see :mod:`negkit.samplers.base`).

Per-draw samplers, by name (``get(name, **params)``; each module's docstring gives the paper,
the formula, the cost per draw and the state):

=========  ===================================================  ==================
name       what                                                 fit with
=========  ===================================================  ==================
uniform    q = 1/|I|                                            n_items=
unigram    q ∝ count^α, alias method (word2vec, PNS)            counts=
degree     q ∝ degree^α (LINE, DeepWalk)                        counts= / positives=
adaptive   dimension ∝ |v_f| σ_f, geometric rank (Chen 2018)    output=
rank       geometric rank among M scored candidates (LambdaFM)  output=
dns        best of M uniform candidates (Zhang 2013)            output=
softmax    softmax(s/τ) among M candidates                      output=
ahns       candidate nearest β(s_pos+α)^(p+1) (Lai 2024)        output=
srns       per-anchor memory, score + w·std (Ding 2020)         output=, n_anchors=
mcns       Metropolis-Hastings to exp(α s) (Yang 2020)          output=, positives=
warp       uniform until a margin violation (Weston 2011)       output=
band       uniform in an earlier model's rank band (ANCE, EBR)  output=, input=
queue      uniform over a FIFO queue of recent items (MoCo)     n_items=, then push()
span       uniform non-gold spans of a sentence (Li 2021, NER)  lengths=, positives=
exposure   shown-not-clicked at ``rate``, else uniform          exposures=, positives=
gibbs      Gibbs over 2 item partitions, limit softmax(s/τ)     output=
irgan      IRGAN generator, softmax(s/τ) over all items (2017)  output=, input=
=========  ===================================================  ==================

Exposure-aware (:mod:`negkit.samplers.exposure`): ``exposure_subsample`` keeps a real
negative with probability min(1, sqrt(t / f_i)) (Real-Negative Subsampling; ``exposures=,
positives=``); ``exposure_groups`` draws uniformly from the rarely shown items at ``p_low``,
else by unigram from the often shown (``counts=`` or ``exposures=``).

Every one takes ``exclude_positives=True`` (with ``fit(positives=)``) and ``seed=``.  Given
torch tensors, uniform, unigram/degree, dns, softmax, rank, ahns, warp, srns, irgan and adaptive
(``dims="exact"``) draw on their device with torch ops (``device_path``; see
:mod:`negkit.samplers.base`); the others draw on the host and return tensors on the anchors'
device.  Batch
samplers for the tensor engine (:mod:`negkit.samplers.batch`): in-batch with logQ, mixed
negatives, accidental hits.  Candidate pools for MixGCF: :mod:`negkit.samplers.pool`.
Tools: :func:`calibrate`, :func:`importance_weights`, :func:`snis_weights`, :func:`warp_weight`.

Knowledge-graph samplers corrupt a triple's head or tail, on the batch's device, with exact or
Bloom filtering of known triples (:mod:`negkit.samplers.kg_base`; ``get_kg(name, **params)``):
``kg_uniform``, ``bernoulli``, ``typed`` (:mod:`~negkit.samplers.kg_corrupt`), ``nscaching``
(:mod:`~negkit.samplers.kg_nscaching`), ``dns`` and ``adaptive`` (the per-draw samplers on the
model's query vectors, :mod:`~negkit.samplers.kg_scored`), ``self_adversarial`` (uniform draws
weighted softmax(α s), :mod:`~negkit.samplers.kg_weights`); ``available_kg()`` lists them.

>>> import numpy as np, negkit.samplers as ns
>>> s = ns.get("unigram", alpha=0.75, seed=0).fit(counts=np.array([10, 5, 1]))
>>> s.sample(np.arange(4), 5).shape
(4, 5)
"""

from negkit.samplers import (  # noqa: F401  (register)
    adaptive,
    ahns,
    band,
    dns,
    exposure,
    gibbs,
    irgan,
    mcns,
    queue,
    rank,
    softmax,
    span,
    srns,
    uniform,
    unigram,
    warp,
)
from negkit.samplers.adaptive import AdaptiveSampler
from negkit.samplers.ahns import AHNSSampler
from negkit.samplers.band import BandSampler
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
from negkit.samplers.exposure import (
    ExposureGroupSampler,
    ExposureSampler,
    ExposureSubsampleSampler,
)
from negkit.samplers.gibbs import GibbsSampler
from negkit.samplers.irgan import IRGANSampler
from negkit.samplers.mcns import MCNSSampler
from negkit.samplers.pool import candidate_pool
from negkit.samplers.queue import QueueSampler
from negkit.samplers.rank import RankSampler
from negkit.samplers.registry import available, get, get_class, register
from negkit.samplers.softmax import SoftmaxSampler
from negkit.samplers.span import SpanSampler, span_code, span_decode
from negkit.samplers.srns import SRNSSampler
from negkit.samplers.tools import calibrate, importance_weights, snis_weights
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
    "ExposureSampler",
    "ExposureSubsampleSampler",
    "ExposureGroupSampler",
    "GibbsSampler",
    "IRGANSampler",
    "MCNSSampler",
    "RankSampler",
    "SoftmaxSampler",
    "SRNSSampler",
    "WARPSampler",
    "BandSampler",
    "QueueSampler",
    "SpanSampler",
    "span_code",
    "span_decode",
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
    "snis_weights",
    "register",
    "warp_weight",
]

_KG_NAMES = ("KGSampler", "available_kg", "false_negative_rate", "get_kg")


def __getattr__(name: str):
    if name in _KG_NAMES:  # the KG samplers need torch: imported on first use
        from negkit.samplers import kg_base

        return getattr(kg_base, name)
    raise AttributeError(f"module 'negkit.samplers' has no attribute {name!r}")
