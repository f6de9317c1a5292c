"""Shared base of the samplers that score M uniform candidates (dns, softmax, rank, ahns).

Each draw takes ``M`` candidates i.i.d. uniform over the items (with replacement), scores
them with the live model, ``s(i) = vec . output[i]`` (float32, as the trainers do), and picks
one by a rule of the subclass.  Cost per draw: O(M d).  State: the output table, by reference.

MixGCF (Huang et al. KDD 2021) and other samplers that *synthesise* a negative from a pool
use the same candidates without a rule: ``get("uniform").fit(n_items=n).sample(users, M)``
(or :func:`negkit.samplers.pool.candidate_pool`) returns the ``(len(users), M)`` pool, with
``q`` from ``return_proba=True``; the model mixes and selects in its own tensor code.

A candidate equal to the pair's positive ``pos`` scores ``-inf`` (:func:`cand_score`): the
positive, which a trained model scores high, would otherwise be the "hardest negative" and be
returned over and over.  So ``pos`` is chosen only when every candidate is ``pos``
(probability ``|I|^-M``), and the exact laws below take ``pos=`` the same way.

The exact distribution of a rule over i.i.d. candidates is computable on a tiny vocabulary by
enumerating the ``n^M`` candidate tuples (:func:`enumerate_rule`), which the tests use.

Device path (:meth:`CandidateSampler._device_candidates`): the ``(n, k, M)`` candidate ids and
their scores in one batched gather and ``bmm``; each subclass applies its rule along the last
axis in its own file.

Draw kernels that keep their candidates use :func:`stack_i64` / :func:`stack_f32`: scratch of
:data:`STACK_SLOTS` entries in the calling function's stack frame, so a draw allocates nothing
and every thread has its own (no shared state, no lock).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from negkit._jit import FAST_FINITE_SAFE, kernel
from negkit.samplers._kernels import check_count, dot
from negkit.samplers.base import Sampler

#: Largest ``n^M`` that :func:`enumerate_rule` accepts.
MAX_ENUMERATION = 200_000

#: Entries of the per-draw stack scratch; kernels with more candidates use the heap.
STACK_SLOTS = 64


def _stack_buffer(dtype: types.Type):
    def typer(typingctx):
        def codegen(context, builder, signature, args):
            ty = context.get_value_type(dtype)
            return cgutils.alloca_once(builder, ty, size=STACK_SLOTS)  # entry block: fixed size

        return types.CPointer(dtype)(), codegen

    return intrinsic(typer)


#: ``carray(stack_i64(), STACK_SLOTS)``: uninitialised int64 scratch in the caller's frame.
stack_i64 = _stack_buffer(types.int64)
#: ``carray(stack_f32(), STACK_SLOTS)``: uninitialised float32 scratch in the caller's frame.
stack_f32 = _stack_buffer(types.float32)


@kernel(inline="always")
def rank_select(scores, size, r, top):
    """Index ``j < size`` of rank ``r`` when ``scores[:size]`` are sorted descending, stably.

    Equal scores keep index order (as a stable argsort of ``-scores``).  Keeps the best
    ``r + 1`` indices, sorted, in ``top``: O(size + insertions * r), no allocation.
    """
    k = r + 1
    filled = 0
    for j in range(size):
        s = scores[j]
        if filled == k:
            if not s > scores[top[k - 1]]:  # ties and NaN stay behind
                continue
            filled -= 1
        p = filled
        while p > 0 and scores[top[p - 1]] < s:
            top[p] = top[p - 1]
            p -= 1
        top[p] = j
        filled += 1
    return top[r]


@kernel
def all_scores(output, vec):
    """``output @ vec`` in float32, summed in the same order as the draw kernels."""
    n = output.shape[0]
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        out[i] = dot(output, i, vec)
    return out


@kernel(fastmath=FAST_FINITE_SAFE, _nrt=False)
def cand_score(output, c, vec, pos):
    """The candidate's score ``vec . output[c]``, or ``-inf`` when it is the positive."""
    if c == pos:
        return np.float32(-np.inf)
    return dot(output, c, vec)


def masked_scores(scores: np.ndarray, pos: int | None) -> np.ndarray:
    """``scores`` as float64 with the positive's set to ``-inf`` (for the exact laws)."""
    s = np.asarray(scores, dtype=np.float64).copy()
    if pos is not None and pos >= 0:
        s[pos] = -np.inf
    return s


def best_of_m(key: np.ndarray, m: int) -> np.ndarray:
    """Exact law of the candidate with the largest ``key`` among ``m`` i.i.d. uniform ones.

    With items sorted by key (ascending) and ``L`` items strictly below a tie group of size
    ``g``, the group wins with probability ``((L + g)^m - L^m) / n^m`` (Zhang et al. 2013 for
    DNS), shared equally by its members.  The kernels keep the first of equal keys, so ties
    are symmetric among items.
    """
    key = np.asarray(key, dtype=np.float64)
    n = key.shape[0]
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    below = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.float64)
    group = ((below + counts) / n) ** m - (below / n) ** m
    return group[inverse] / counts[inverse]


def enumerate_rule(n: int, m: int, rule: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Exact law of an item picked by ``rule`` from ``m`` i.i.d. uniform candidates.

    ``rule(tuples)`` gets an int array ``(T, m)`` of candidate tuples and returns ``(T, m)``
    probabilities of choosing each position.  Enumerates all ``n^m`` tuples.
    """
    if n**m > MAX_ENUMERATION:
        raise NotImplementedError(f"exact distribution needs n^M <= {MAX_ENUMERATION}, got {n}^{m}")
    tuples = np.array(list(itertools.product(range(n), repeat=m)), dtype=np.int64).reshape(-1, m)
    choice = rule(tuples)
    q = np.zeros(n, dtype=np.float64)
    np.add.at(q, tuples.ravel(), choice.ravel())
    return q / tuples.shape[0]


class CandidateSampler(Sampler):
    """Base class: picks one of ``n_candidates`` uniform candidates by a score rule."""

    score_aware = True
    uses_positive = True
    device_path = True
    graph_safe = True
    #: Each try scores M candidates, so the device path rejects a positive pick 4 times (not
    #: the host's 64) before the complement draw; the laws differ only after 4 rejections.
    device_tries = 4

    def __init__(
        self, n_candidates: int = 32, *, seed: int | None = None, exclude_positives: bool = False
    ):
        super().__init__(seed=seed, exclude_positives=exclude_positives)
        self.n_candidates = n_candidates

    def _fit(self, *, counts, positives, **extra: Any) -> None:
        self.m_ = check_count(self.n_candidates, "n_candidates (M)")
        self._check_rule()

    def _check_rule(self) -> None:
        """Validate the subclass's parameters.  Override."""

    def _device_candidates(self, anchors, k, pos, vecs, gen):
        """``(ids, scores)``, both ``(n, k, M)``: M uniform candidates a slot and their live
        scores (``-inf`` for the pair's positive), on the anchors' device."""
        from negkit.samplers._torch import candidate_scores, randint

        output = self._table("output", anchors.device)
        ids = randint(self.n_items_, (anchors.shape[0], k, self.m_), gen, anchors.device)
        return ids, candidate_scores(output, ids, vecs, pos)

    def _scores(self, anchor, anchor_vector) -> np.ndarray:
        if anchor_vector is None:
            if anchor is None or self.input_ is None:
                raise ValueError(
                    f"{type(self).__name__}.distribution needs anchor_vector= "
                    "(or fit(input=) and anchor)"
                )
            anchor_vector = self.input_[anchor]
        v = np.ascontiguousarray(anchor_vector, dtype=np.float32).reshape(-1)
        if v.shape[0] != self.output_.shape[1]:
            raise ValueError(
                f"anchor_vector has {v.shape[0]} dims, the output table {self.output_.shape[1]}"
            )
        return all_scores(self.output_, v), v
