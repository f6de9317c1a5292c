"""Knowledge-graph embedding: triples, models, training and filtered link prediction.

* :mod:`negkit.kg.triples` -- ``(head, relation, tail)`` files to integer arrays;
* :mod:`negkit.kg.models` -- TransE, DistMult, ComplEx, RotatE (PyTorch, CPU or GPU);
* :mod:`negkit.kg.losses` -- margin ranking, logistic, RotatE's self-adversarial loss;
* :mod:`negkit.kg.evaluate` -- filtered MRR and Hits@k over head and tail prediction;
* :mod:`negkit.kg.train` -- the training loop, with any KG sampler of :mod:`negkit.samplers`;
* :mod:`negkit.kg.schedule` -- per-epoch learning rates: constant, step, cosine;
* :mod:`negkit.kg.best` -- best-epoch selection on validation MRR.
"""

from negkit.kg.triples import KGTriples, load_kg_folder, read_triples

__all__ = ["KGTriples", "load_kg_folder", "read_triples"]
