"""Graph embeddings: DeepWalk, node2vec, struc2vec and LINE on the shared sampler library.

* :mod:`negkit.graph.walks` — parallel first- and second-order random walks;
* :mod:`negkit.graph.struc2vec` — struc2vec's walks over the multilayer structural graph
  (DTW distances, OPT1-3; the layers in :mod:`negkit.graph.struc2vec_layers`);
* :mod:`negkit.graph.line` — LINE, first and second order, with any sampler;
* :mod:`negkit.graph.embed` — one entry point, :func:`negkit.graph.embed.run`.
"""

from negkit.graph.adjacency import Adjacency, as_adjacency
from negkit.graph.walks import RandomWalks

__all__ = ["Adjacency", "RandomWalks", "as_adjacency"]
