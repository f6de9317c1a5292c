"""Recommender models on PyTorch: MF and LightGCN.

Both are ``nn.Module``s whose :meth:`propagate` returns the final user and item
tables, so that ``score(u, i) = users[u] . items[i]``, and whose
:meth:`ego` returns the raw (layer-0) rows that the L2 penalty acts on.  They
hold no global state and can be wrapped by ``DistributedDataParallel`` as is.

LightGCN (He et al., SIGIR 2020), with ``A = [[0, R], [R^T, 0]]`` and
``A_hat = D^{-1/2} A D^{-1/2}``:

    E^(l+1) = A_hat E^(l),    E = 1/(L+1) * sum_{l=0..L} E^(l)

(symmetric-normalised propagation, mean over layers, no feature transform and
no non-linearity).

``A_hat`` is stored once, as a torch CSR tensor on the model's device; since it is
symmetric, the backward of ``A_hat @ E`` is ``A_hat @ grad`` with the same tensor
(:class:`_SymmetricSpMM`), so no transpose is ever built.  On CPU, scipy's CSR kernel
is several times faster than torch's and is used instead (``propagation="auto"``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

__all__ = ["MF", "LightGCN", "normalized_adjacency"]


def normalized_adjacency(train: sp.spmatrix) -> sp.csr_matrix:
    """``D^{-1/2} A D^{-1/2}`` of the user-item bipartite graph (users first), float32 CSR.

    Nodes without edges get a zero row (their degree's inverse root is taken as 0).
    """
    R = sp.csr_matrix(train, dtype=np.float32)
    R.data[:] = 1.0
    n_users, n_items = R.shape
    A = sp.bmat([[None, R], [R.T, None]], format="csr", dtype=np.float32)
    deg = np.asarray(A.sum(axis=1)).ravel()
    inv = np.zeros_like(deg)
    nz = deg > 0
    inv[nz] = deg[nz] ** -0.5
    D = sp.diags(inv)
    out = (D @ A @ D).tocsr().astype(np.float32)
    out.sort_indices()
    return out


def _to_torch_csr(m: sp.csr_matrix, device: torch.device | str) -> torch.Tensor:
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(np.int64)),
            torch.from_numpy(m.indices.astype(np.int64)),
            torch.from_numpy(m.data.astype(np.float32)),
            size=m.shape,
            check_invariants=False,
        ).to(device)


class _SymmetricSpMM(torch.autograd.Function):
    """``A @ x`` for a symmetric torch CSR ``A``; backward ``A @ grad``, the same tensor."""

    @staticmethod
    def forward(ctx, adj, x):
        ctx.adj = adj
        return adj @ x

    @staticmethod
    def backward(ctx, grad):
        return None, ctx.adj @ grad.contiguous()


class _ScipySpMM(torch.autograd.Function):
    """``A @ x`` for a scipy CSR ``A`` and a CPU tensor ``x``; backward ``A^T @ grad``.

    On CPU, scipy's CSR kernel is several times faster than ``torch.sparse.mm``.
    """

    @staticmethod
    def forward(ctx, adj, adj_t, x):
        ctx.adj_t = adj_t
        return torch.from_numpy(adj @ x.detach().contiguous().numpy())

    @staticmethod
    def backward(ctx, grad):
        return None, None, torch.from_numpy(ctx.adj_t @ grad.contiguous().numpy())


class MF(nn.Module):
    """Matrix factorisation: ``score(u, i) = p_u . q_i`` (Koren et al. 2009)."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, init_std: float = 0.1):
        super().__init__()
        if n_users < 1 or n_items < 1 or dim < 1:
            raise ValueError(
                f"MF needs positive sizes, got {n_users} users, {n_items} items, dim {dim}"
            )
        self.n_users, self.n_items = n_users, n_items
        self.user = nn.Embedding(n_users, dim)
        self.item = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user.weight, std=init_std)
        nn.init.normal_(self.item.weight, std=init_std)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per-layer (users, items) tables; MF has the single layer 0."""
        return [(self.user.weight, self.item.weight)]

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user.weight, self.item.weight

    def ego(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user.weight, self.item.weight

    def forward(self, per_layer: bool = False) -> Any:
        """:meth:`propagate`, or :meth:`layers` with ``per_layer`` (what DDP wraps)."""
        return self.layers() if per_layer else self.propagate()


class LightGCN(MF):
    """LightGCN: ``n_layers`` rounds of ``A_hat`` propagation, averaged with the ego layer."""

    def __init__(
        self,
        train: sp.spmatrix,
        dim: int = 64,
        n_layers: int = 3,
        init_std: float = 0.1,
        device: torch.device | str = "cpu",
        propagation: str = "auto",
    ):
        n_users, n_items = train.shape
        super().__init__(n_users, n_items, dim, init_std)
        if n_layers < 0:
            raise ValueError(f"n_layers must be non-negative, got {n_layers}")
        if propagation not in ("auto", "scipy", "torch"):
            raise ValueError(f"propagation must be auto, scipy or torch, got {propagation!r}")
        self.n_layers = n_layers
        self.propagation = propagation
        adj = normalized_adjacency(train)
        self._adj = adj  # symmetric, so it is its own transpose
        self.register_buffer("graph", _to_torch_csr(adj, device), persistent=False)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        e = torch.cat([self.user.weight, self.item.weight], dim=0)
        out = [e]
        scipy_ok = e.device.type == "cpu" and e.dtype == torch.float32
        use_scipy = self.propagation == "scipy" or (self.propagation == "auto" and scipy_ok)
        for _ in range(self.n_layers):
            if use_scipy:
                e = _ScipySpMM.apply(self._adj, self._adj, e)
            else:
                e = _SymmetricSpMM.apply(self.graph, e)
            out.append(e)
        return [(x[: self.n_users], x[self.n_users :]) for x in out]

    def propagate(self) -> tuple[torch.Tensor, torch.Tensor]:
        per_layer = self.layers()
        users = torch.stack([u for u, _ in per_layer], dim=0).mean(dim=0)
        items = torch.stack([i for _, i in per_layer], dim=0).mean(dim=0)
        return users, items
