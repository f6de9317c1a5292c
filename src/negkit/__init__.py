"""negkit: negative sampling for embedding learning.

Samplers live in :mod:`negkit.samplers`; trainers in :mod:`negkit.word2vec`,
:mod:`negkit.graph`, :mod:`negkit.rec`, :mod:`negkit.kg` and :mod:`negkit.contrastive`;
data in :mod:`negkit.data`; evaluation in :mod:`negkit.eval`; sampler studies
(``negkit compare``, ``negkit demo``) in :mod:`negkit.study`.
"""

from negkit._version import __version__

__all__ = ["__version__", "Word2Vec", "KeyedVectors"]


def __getattr__(name: str):
    # Lazy, so that ``import negkit`` stays cheap and the CLI starts fast.
    if name == "Word2Vec":
        from negkit.word2vec import Word2Vec

        return Word2Vec
    if name == "KeyedVectors":
        from negkit.keyedvectors import KeyedVectors

        return KeyedVectors
    raise AttributeError(f"module 'negkit' has no attribute {name!r}")
