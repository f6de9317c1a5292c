"""A whole training step as one CUDA graph: captured once, replayed for every full batch.

A LightGCN step on Gowalla is a few hundred small kernels (propagation, gathers, the
sampler's draw, the loss, backward and Adam).  In eager PyTorch the host spends longer
launching them than the GPU spends running them.  Captured as a CUDA graph
(``torch.cuda.CUDAGraph``; NVIDIA, "CUDA Graphs"), the whole step is one launch: the batch
is copied into two static index tensors and the graph replays.

What makes a step capturable, and how this module keeps it so:

* no host synchronisation and no value-dependent shapes (the device samplers guarantee
  it, ``tests/test_rec_torch.py`` checks it with ``set_sync_debug_mode("error")``);
* Adam with its step counts on the device (``fused=True, capturable=True``);
* every random draw from a generator registered with the graph
  (``register_generator_state``): each replay advances it by the captured offsets, so a
  replay draws what the same eager step would have drawn;
* samplers whose draw is a pure function of device tensors (``Sampler.graph_safe``):
  uniform, unigram, the candidate samplers (dns, rank, softmax, ahns) and the batch
  samplers (in-batch; mixed over a graph-safe sampler), whose step counter lives on the
  device.  Samplers with host-side state between draws (adaptive's rebuild counter, srns)
  run eagerly.

Warm-up steps run eagerly on a side stream (as PyTorch's whole-network capture example);
they are real training steps.  The capture itself runs nothing, so the batch it was built on
is replayed at once.  A batch of another size (the epoch's last) runs eagerly.  If capture
fails, the reason is kept in ``reason`` and the trainer goes on eagerly.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["GraphedStep", "graph_blocker"]

#: Eager steps before the capture (lazy initialisation: cuBLAS / cuSPARSE handles,
#: the optimiser's state, the sampler's device tables and generator).
WARMUP_STEPS = 3


def graph_blocker(trainer: Any) -> str | None:
    """Why ``trainer``'s step cannot be a CUDA graph, or None when it can."""
    if trainer.device.type != "cuda":
        return "not on a CUDA device"
    if trainer.distributed:
        return "distributed (the gradient exchange runs per step)"
    if trainer.row_grads is not None:
        return "row-sparse gradients (their shapes change every step)"
    if trainer.mode in ("sampled", "mixgcf", "batch"):
        if not trainer.on_device:
            return "the sampler draws on the host"
        if not getattr(trainer.sampler, "graph_safe", False):
            return f"{type(trainer.sampler).__name__} keeps host-side state between draws"
    if not trainer.optimizer.param_groups[0].get("capturable", False):
        return "the optimiser is not capturable"
    return None


class GraphedStep:
    """``trainer.step_tensor`` for batches of ``batch_size`` pairs, as a CUDA graph.

    ``__call__(users, pos)`` runs one step and adds ``loss * batch_size`` to ``total`` (a
    float64 device scalar); it returns False, doing nothing, for a batch of another size.
    """

    def __init__(self, trainer: Any, batch_size: int, total: torch.Tensor) -> None:
        self.trainer = trainer
        self.batch_size = int(batch_size)
        self.total = total
        dev = trainer.device
        self.users = torch.zeros(self.batch_size, dtype=torch.int64, device=dev)
        self.pos = torch.zeros(self.batch_size, dtype=torch.int64, device=dev)
        self.stream = torch.cuda.Stream(device=dev)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.warm = 0
        #: why the step runs eagerly (None while capture is pending or done)
        self.reason: str | None = None

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def _body(self) -> None:
        loss = self.trainer.step_tensor(self.users, self.pos)
        self.total.add_(loss.to(torch.float64) * self.batch_size)

    def _generators(self) -> list:
        t = self.trainer
        gens = [t.generator]
        if hasattr(t.sampler, "device_generators"):
            gens += t.sampler.device_generators(t.device)
        return gens

    def _capture(self) -> None:
        graph = torch.cuda.CUDAGraph()
        for gen in self._generators():
            graph.register_generator_state(gen)
        # grads are (re)allocated by the captured backward, in the graph's memory pool
        self.trainer.optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(graph, stream=self.stream):
            self._body()
        self.graph = graph

    def __call__(self, users: torch.Tensor, pos: torch.Tensor) -> bool:
        if len(users) != self.batch_size or self.reason is not None:
            return False
        self.users.copy_(users)
        self.pos.copy_(pos)
        if self.graph is not None:
            self.graph.replay()
            return True
        current = torch.cuda.current_stream(self.trainer.device)
        self.stream.wait_stream(current)
        try:
            with torch.cuda.stream(self.stream):
                if self.warm < WARMUP_STEPS:
                    self.warm += 1
                    self._body()
                else:
                    self._capture()
        except Exception as err:  # noqa: BLE001 - any capture failure: go on eagerly
            self.reason = f"capture failed: {type(err).__name__}: {err}"
            current.wait_stream(self.stream)
            torch.cuda.synchronize(self.trainer.device)
            return False  # the caller runs this batch eagerly
        current.wait_stream(self.stream)
        if self.graph is not None:
            self.graph.replay()  # the capture ran nothing: this batch is the first replay
        return True
