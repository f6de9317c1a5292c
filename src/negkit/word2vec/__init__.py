"""Word embeddings: :class:`Word2Vec` (skip-gram / CBOW with negative sampling, any sampler)."""

from negkit.word2vec.model import Word2Vec

__all__ = ["Word2Vec"]
