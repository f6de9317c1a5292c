"""Contrastive learning, retrieval and NER negatives (PyTorch; CPU or GPU).

Losses (:mod:`~negkit.contrastive.losses`): :class:`InfoNCELoss` (logQ, accidental hits,
memory queue), :class:`NTXentLoss`, :class:`DebiasedContrastiveLoss` (Chuang et al. 2020),
:class:`HardNegativeContrastiveLoss` (Robinson et al. 2021), :class:`TripletMarginLoss`.
Miners (:mod:`~negkit.contrastive.miners`): :class:`BatchHardMiner`,
:class:`BatchSemiHardMiner`, :class:`DistanceWeightedMiner` (Wu et al. 2017),
:class:`MultiSimilarityMiner`; :class:`CrossBatchMemory`, a MoCo queue with chunked,
bounded memory.  Corpus mining (:mod:`~negkit.contrastive.mining`):
:func:`mine_hard_negatives` (rank band, margins, de-duplication, top/random, a
:class:`MinedNegatives` table) and :class:`HardNegativeRefresher` (ANCE).  The registry
samplers ``band``, ``queue`` and ``span`` live in :mod:`negkit.samplers`; the span NER model
in :mod:`negkit.contrastive.ner`.
"""

from negkit.contrastive.losses import (
    DebiasedContrastiveLoss,
    HardNegativeContrastiveLoss,
    InfoNCELoss,
    NTXentLoss,
    TripletMarginLoss,
)
from negkit.contrastive.memory import CrossBatchMemory
from negkit.contrastive.miners import (
    BatchHardMiner,
    BatchSemiHardMiner,
    DistanceWeightedMiner,
    MultiSimilarityMiner,
    distance_weighted_law,
)
from negkit.contrastive.mining import (
    HardNegativeRefresher,
    MinedNegatives,
    chunked_topk,
    mine_hard_negatives,
)

__all__ = [
    "InfoNCELoss",
    "NTXentLoss",
    "DebiasedContrastiveLoss",
    "HardNegativeContrastiveLoss",
    "TripletMarginLoss",
    "BatchHardMiner",
    "BatchSemiHardMiner",
    "DistanceWeightedMiner",
    "MultiSimilarityMiner",
    "distance_weighted_law",
    "CrossBatchMemory",
    "mine_hard_negatives",
    "chunked_topk",
    "MinedNegatives",
    "HardNegativeRefresher",
]
