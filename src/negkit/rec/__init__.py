"""Recommenders on the shared sampler library.

* :class:`negkit.rec.mf_bpr.BPRMF` — BPR-MF on the compiled CPU engine
  (numba, Hogwild threads);
* :mod:`negkit.rec.torch_models` — MF and LightGCN on PyTorch (CPU or CUDA);
* :mod:`negkit.rec.mixgcf` — MixGCF hard negatives for LightGCN;
* :mod:`negkit.rec.irgan` — IRGAN's minimax trainer (generator and discriminator MF);
* :mod:`negkit.rec.distributed` — ``torch.distributed`` for every family (``init()``);
* :func:`negkit.rec.train.run` — one training run with evaluation and early stopping.
"""
