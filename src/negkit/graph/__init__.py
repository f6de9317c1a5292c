"""Graph embeddings: DeepWalk, node2vec and LINE on the shared sampler library.

* :mod:`negkit.graph.walks` — parallel first- and second-order random walks;
* :mod:`negkit.graph.line` — LINE, first and second order, with any sampler;
* :mod:`negkit.graph.embed` — one entry point, :func:`negkit.graph.embed.run`.
"""

from negkit.graph.adjacency import Adjacency, as_adjacency
from negkit.graph.walks import RandomWalks

__all__ = ["Adjacency", "RandomWalks", "as_adjacency"]
