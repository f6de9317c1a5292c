"""The sampler contract shared by every family.

A sampler is configured by its constructor (settings only, scikit-learn style),
fitted on what it needs by keyword, and then drawn from in two forms that share
one implementation:

* **per draw, inside compiled loops**: :meth:`Sampler.kernel` returns
  ``(draw, state)`` where ``draw`` is a numba function
  ``draw(state, anchor, pos, vec, ctx) -> int64``.  ``anchor`` is the anchor's
  id (word, node, user), ``pos`` the positive item of the pair (``-1`` when
  there is none), ``vec`` the anchor's live input vector (float32, may be empty
  for samplers that read no embeddings) and ``ctx`` the thread's context array
  (see :mod:`negkit._rng`).  Training kernels take ``draw`` as an argument, so
  numba compiles one specialised loop per sampler and makes no Python call per
  draw.
* **per pair, inside compiled loops**: :meth:`Sampler.pair_kernel` returns
  ``(draw_pair, state)``; ``draw_pair(state, anchor, pos, vec, ctx, out)`` fills ``out``
  with ``len(out)`` draws for one pair (one ``vec``, unchanged meanwhile).  By default it
  calls ``draw`` ``len(out)`` times; a sampler with work to share between a pair's draws
  (the adaptive sampler's p(f | v)) does it once, and saves a call per draw.
* **in batch**: :meth:`Sampler.sample` runs that same ``draw_pair`` in a compiled
  loop over the ``len(anchors)`` pairs, k draws each, and returns an ``int64`` array of shape
  ``(len(anchors), k)``; torch tensors in, torch tensors out.
* **on the device**: given torch anchors, a sampler with a device path (``device_path``)
  draws the same law with torch ops on the anchors' device (:meth:`Sampler._sample_torch`,
  in the sampler's own file beside its kernel; shared parts in :mod:`negkit.samplers._torch`):
  no copy to the host, no Python loop over anchors, nothing that synchronises.  Known
  positives are excluded there too.  Score-aware samplers score with the live torch tables
  given to :meth:`Sampler.use_tables` (by reference), or with their numpy tables (shared
  memory on CPU).  Samplers without a device path copy to the host and back.

Score-aware samplers hold the model's embedding tables *by reference*
(``fit(output=..., input=...)``), so they always score with the live values.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from negkit._jit import kernel
from negkit._rng import CTX_DRAWS, make_contexts, next_pair, rand_int
from negkit.samplers._kernels import check_flag

#: Rejection tries before exclusion falls back to an exact uniform draw over the complement.
EXCLUDE_TRIES = 64


class Sampler:
    """Base class of every negative sampler.

    Subclasses set :attr:`name`, implement :meth:`_fit` and :meth:`_kernel`, and,
    where the distribution is known in closed form, :meth:`distribution`.

    Parameters common to all samplers
    ---------------------------------
    seed : int or None
        Seed of the sampler's own generator, used by :meth:`sample`.  Trainers
        seed their per-thread contexts themselves.
    exclude_positives : bool
        Never return an item in the anchor's row of ``positives=`` (by rejection,
        then an exact uniform draw over the anchor's non-positives after
        ``EXCLUDE_TRIES`` rejections).  The law of a draw is therefore the mixture
        ``q(i) (1 - m^T) / (1 - m) + m^T / (|I| - |P_a|)`` over the non-positives ``i``, with
        ``m`` the law's mass on the anchor's positives ``P_a`` and ``T`` the tries
        (``EXCLUDE_TRIES`` on the host, :attr:`device_tries` on the device): the plain
        renormalisation ``q / (1 - m)`` only when ``m^T`` is negligible.  :meth:`proba`
        returns that mixture.
    """

    name: ClassVar[str] = ""
    #: True when :meth:`_sample_torch` draws on the anchors' device (else the host path).
    device_path: ClassVar[bool] = False
    #: Rejection tries per slot of the device path's exclusion before the exact complement
    #: draw; the host's :data:`EXCLUDE_TRIES` where draws are cheap (the same law exactly).
    device_tries: ClassVar[int] = EXCLUDE_TRIES
    #: True when a device draw is a pure function of device tensors and the sampler's torch
    #: generator (no host-side counter or rebuild between draws), so a training step that
    #: draws can be captured once as a CUDA graph and replayed (:mod:`negkit.rec.cuda_graph`).
    graph_safe: ClassVar[bool] = False
    #: True when draws depend on embeddings passed to ``fit(output=..., input=...)``.
    score_aware: ClassVar[bool] = False
    #: True when a draw reads the pair's positive ``pos`` (to avoid it, or to score against it).
    uses_positive: ClassVar[bool] = False
    #: Extra keywords that this sampler's ``fit`` accepts (e.g. ``n_anchors``).
    fit_extras: ClassVar[tuple[str, ...]] = ()
    _FIT_KEYS: ClassVar[tuple[str, ...]] = ("counts", "n_items", "positives", "output", "input")

    def __init__(self, *, seed: int | None = None, exclude_positives: bool = False) -> None:
        self.seed = seed
        self.exclude_positives = check_flag("exclude_positives", exclude_positives)

    # ----------------------------------------------------------------- settings
    @classmethod
    def _param_names(cls) -> list[str]:
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in klass.__dict__:
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    if p.name not in names:
                        names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor settings, as in scikit-learn."""
        return {n: getattr(self, n) for n in self._param_names()}

    def set_params(self, **params: Any) -> Sampler:
        valid = set(self._param_names())
        for k, v in params.items():
            if k not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {k!r}; valid: {sorted(valid)}"
                )
            if isinstance(getattr(self, k, None), (bool, np.bool_)):  # a flag stays a flag
                v = check_flag(k, v)
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---------------------------------------------------------------- fitting
    def fit(
        self,
        *,
        counts: Any = None,
        n_items: int | None = None,
        positives: Any = None,
        output: np.ndarray | None = None,
        input: np.ndarray | None = None,
        **extra: Any,
    ) -> Sampler:
        """Fit on what the sampler needs, by keyword.

        counts : item frequencies (frequency-based samplers; also gives ``n_items``).
        n_items : the number of items (uniform sampling).
        positives : CSR anchor x item matrix of known positives (exclusion, and
            samplers that need them).
        output, input : the model's output (item / context) and input (anchor)
            embedding tables, kept by reference, for score-aware samplers.
        """
        unknown = sorted(set(extra) - set(self.fit_extras))
        if unknown:
            takes = ", ".join(f"{k}=" for k in self._FIT_KEYS + self.fit_extras)
            raise TypeError(
                f"{type(self).__name__}.fit got unexpected keyword(s) {unknown}; takes {takes}"
            )
        if counts is not None:
            counts = np.asarray(counts, dtype=np.float64)
            if counts.ndim != 1:
                raise ValueError(f"counts must be one-dimensional, got shape {counts.shape}")
            if counts.size == 0:
                raise ValueError("counts is empty: a sampler needs a non-empty vocabulary")
            if not np.all(np.isfinite(counts)) or np.any(counts < 0):
                raise ValueError("counts must be finite and non-negative")
        n = _infer_n_items(n_items, counts, positives, output)
        if n is None:
            raise ValueError(
                f"{type(self).__name__}.fit needs n_items=, counts= or output= "
                "to know the vocabulary"
            )
        if n < 1:
            raise ValueError("an empty vocabulary (n_items=0) has no negatives to draw")
        self.n_items_ = int(n)
        self.positives_ = _as_csr(positives, self.n_items_) if positives is not None else None
        if self.exclude_positives:
            if self.positives_ is None:
                raise ValueError(
                    "exclude_positives=True needs fit(positives=CSR anchor x item matrix)"
                )
            _check_not_full(self.positives_, self.n_items_)
        if output is not None:
            output = _check_table(output, "output")
            if output.shape[0] != self.n_items_:
                raise ValueError(
                    f"output has {output.shape[0]} rows but there are {self.n_items_} items"
                )
        if input is not None:
            input = _check_table(input, "input")
        if self.score_aware and output is None:
            raise ValueError(
                f"{type(self).__name__} is score-aware: "
                "fit(output=item embedding table) is required"
            )
        self.output_ = output
        self.input_ = input
        self._ctx = make_contexts(self.seed, 1)[0]
        self._fit(counts=counts, positives=self.positives_, **extra)
        self._kernel_cache: tuple | None = None
        self._device_state: dict[Any, Any] = {}
        self._live_tables: dict[str, Any] = {}
        return self

    def use_tables(self, *, output: Any = None, input: Any = None) -> Sampler:
        """Score the device path with these live torch tables, held by reference (no copy).

        A trainer on the GPU calls it with the model's current (propagated) tables; shapes
        must match the numpy tables given to :meth:`fit`.
        """
        self._check_fitted()
        for what, t in (("output", output), ("input", input)):
            if t is None:
                continue
            ref = getattr(self, f"{what}_", None)
            if what == "output" and t.shape[0] != self.n_items_:
                raise ValueError(
                    f"output has {t.shape[0]} rows but there are {self.n_items_} items"
                )
            if ref is not None and t.shape[1] != ref.shape[1]:
                raise ValueError(f"{what} has {t.shape[1]} dims, the fitted table {ref.shape[1]}")
            self._live_tables[what] = t.detach()
        return self

    def _fit(
        self, *, counts: np.ndarray | None, positives: sp.csr_matrix | None, **extra: Any
    ) -> None:
        """Build the sampler's state.  Override."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(...) first")

    # ------------------------------------------------------------ compiled form
    def _kernel(self) -> tuple[Any, tuple]:
        """Return ``(draw, state)`` without exclusion.  Override."""
        raise NotImplementedError

    def kernel(self) -> tuple[Any, tuple]:
        """``(draw, state)`` for compiled loops, exclusion included when asked for."""
        self._check_fitted()
        draw, state = self._kernel()
        if self.exclude_positives:
            p = self.positives_
            state = (
                state,
                p.indptr.astype(np.int64),
                p.indices.astype(np.int64),
                np.int64(self.n_items_),
            )
            draw = excluding(draw)
        return draw, state

    def _pair_kernel(self) -> Any:
        """A ``draw_pair`` of this sampler's own (state as in :meth:`_kernel`), or None.

        Override when a pair's draws share work; it must draw from the same law as ``draw``."""
        return None

    def pair_kernel(self) -> tuple[Any, tuple]:
        """``(draw_pair, state)``: ``draw_pair(state, anchor, pos, vec, ctx, out)`` makes
        ``len(out)`` draws for one pair into ``out`` (see the module docstring)."""
        draw, state = self.kernel()
        own = None if self.exclude_positives else self._pair_kernel()
        return (own if own is not None else per_draw_pair(draw)), state

    def refresh(self) -> None:
        """Rebuild state that goes stale as the model trains (no-op for static samplers)."""

    #: Draws between two refreshes; ``None`` for samplers that never refresh.
    refresh_every: int | None = None

    def draws_since_refresh(self, ctxs: np.ndarray) -> int:
        return int(np.asarray(ctxs)[..., CTX_DRAWS].sum())

    def maybe_refresh(self, ctxs: np.ndarray) -> bool:
        """Refresh when the contexts ``ctxs`` have made ``refresh_every`` draws since the last one.

        Trainers call this between chunks; it resets the draw counters it read.
        """
        every = self.refresh_every
        if every is None:
            return False
        ctxs = np.asarray(ctxs)
        if self.draws_since_refresh(ctxs) < every:
            return False
        self.refresh()
        ctxs[..., CTX_DRAWS] = 0
        return True

    # --------------------------------------------------------------- batch form
    def sample(
        self,
        anchors: Any,
        k: int,
        *,
        anchor_vectors: Any = None,
        pos: Any = None,
        return_proba: bool = False,
    ) -> Any:
        """Draw ``k`` negatives for each anchor: int64 array ``(len(anchors), k)``.

        anchor_vectors : the anchors' vectors for score-aware samplers; defaults to
            ``input[anchors]`` when the sampler was fitted with ``input=``.
        pos : the positive item of each anchor's pair, for samplers that use it.
        return_proba : also return ``q(item | anchor)`` of every draw (where known).
        Numpy arrays and torch tensors are accepted; torch in gives torch out, on
        the anchors' device.
        """
        self._check_fitted()
        torch_device = None
        if type(anchors).__module__.startswith("torch") and self.device_path:
            return self._sample_device(anchors, k, anchor_vectors, pos, return_proba)
        if type(anchors).__module__.startswith("torch"):
            torch_device = anchors.device
            anchors = anchors.detach().cpu().numpy()
            if anchor_vectors is not None and type(anchor_vectors).__module__.startswith("torch"):
                anchor_vectors = anchor_vectors.detach().cpu().numpy()
            if pos is not None and type(pos).__module__.startswith("torch"):
                pos = pos.detach().cpu().numpy()
        k = _check_k(k)
        anchors = np.ascontiguousarray(anchors, dtype=np.int64).reshape(-1)
        n = anchors.shape[0]
        if n and (anchors.min() < 0):
            raise ValueError("anchors must be non-negative ids")
        self._check_anchor_range(anchors)
        vecs = self._anchor_vectors(anchors, anchor_vectors)
        if pos is None:
            pos = np.full(n, -1, dtype=np.int64)
        else:
            pos = np.ascontiguousarray(pos, dtype=np.int64).reshape(-1)
            if pos.shape[0] != n:
                raise ValueError(f"pos has {pos.shape[0]} entries for {n} anchors")
            if n and pos.max() >= self.n_items_:
                raise ValueError(
                    f"pos item {pos.max()} is out of range (there are {self.n_items_} items)"
                )
        draw_pair, state = self.pair_kernel()
        out = np.empty((n, k), dtype=np.int64)
        _sample_batch(draw_pair, state, anchors, pos, vecs, self._ctx, out)
        result: Any = out
        proba = (
            self.proba(out, anchors=anchors, anchor_vectors=vecs, pos=pos) if return_proba else None
        )
        if torch_device is not None:
            import torch

            result = torch.from_numpy(out).to(torch_device)
            if proba is not None:
                proba = torch.from_numpy(proba).to(torch_device)
        return (result, proba) if return_proba else result

    # ----------------------------------------------------------- device form
    def _sample_torch(self, anchors: Any, k: int, pos: Any, vecs: Any, gen: Any) -> Any:
        """``(n, k)`` int64 draws on the anchors' device, before exclusion.  Override.

        anchors, pos : ``(n,)`` int64 tensors (``pos`` -1: no positive); vecs : ``(n, d)``
        float32 anchor vectors (``(n, 0)`` for samplers that read none); gen : the sampler's
        torch generator on that device.  Torch ops only: no host copy, no loop over anchors.
        """
        raise NotImplementedError

    def _device(self, key: str, device: Any, build: Any) -> Any:
        """Per-device state (generator, positives, tables), built once by ``build()``."""
        cache = self._device_state.setdefault(str(device), {})
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def device_generators(self, device: Any) -> list:
        """The torch generators this sampler has drawn with on ``device`` (for CUDA graphs)."""
        import torch

        dev = torch.device(device)
        if dev.type == "cuda" and dev.index is None:  # states are keyed by the tensors' "cuda:0"
            dev = torch.device("cuda", torch.cuda.current_device())
        return [
            g
            for state in self._device_state.values()
            for g in state.values()
            if isinstance(g, torch.Generator) and g.device == dev
        ]

    def _table(self, what: str, device: Any) -> Any:
        """The live ``output``/``input`` table as a tensor on ``device``, or None."""
        import torch

        t = self._live_tables.get(what)
        if t is not None and t.device == device:
            return t
        arr = getattr(self, f"{what}_", None)
        if arr is None:
            return None
        if device.type == "cpu":
            return torch.from_numpy(arr)  # shares the numpy table's memory: live
        return torch.from_numpy(arr).to(device)  # a copy per call: use_tables() avoids it

    def _sample_device(
        self, anchors: Any, k: int, anchor_vectors: Any, pos: Any, return_proba: bool
    ) -> Any:
        import torch

        from negkit.samplers import _torch as nt

        k = _check_k(k)
        dev = anchors.device
        anchors = anchors.reshape(-1).to(torch.int64)
        n = anchors.shape[0]
        if pos is None:
            pos = torch.full((n,), -1, dtype=torch.int64, device=dev)
        else:
            pos = torch.as_tensor(pos, device=dev).reshape(-1).to(torch.int64)
            if pos.shape[0] != n:
                raise ValueError(f"pos has {pos.shape[0]} entries for {n} anchors")
        vecs = self._device_vectors(anchors, anchor_vectors)
        gen = self._device("generator", dev, lambda: nt.generator(self.seed, dev))

        def draw(m: int) -> Any:
            return self._sample_torch(anchors, m, pos, vecs, gen)

        if self.exclude_positives:
            positives = self._device(
                "positives", dev, lambda: nt.DevicePositives(self.positives_, self.n_items_, dev)
            )
            out = nt.exclude(draw, positives, anchors, k, self.device_tries, gen)
        else:
            out = draw(k)
        if not return_proba:
            return out
        return out, self._proba_device(out, anchors, vecs, pos)

    def _proba_device(self, items: Any, anchors: Any, vecs: Any, pos: Any = None) -> Any:
        """``q(item | anchor)`` of device draws: on the device for static laws (the law as a
        table, mixed with the complement draw by each anchor's positive mass as
        :meth:`proba`, with the device's :attr:`device_tries`), else on the host."""
        import torch

        if not self.score_aware and not self._law_uses_positive():
            try:
                dev = items.device
                q, norm, fallback = self._device(
                    "static_law", dev, lambda: tuple(t.to(dev) for t in self._static_law())
                )
            except NotImplementedError:
                q = None
            if q is not None:
                if not self.exclude_positives:
                    return q[items]
                a = anchors.clamp(max=norm.shape[0] - 1)
                m = (1.0 - norm[a]).clamp(min=0.0, max=1.0)
                inside = anchors < norm.shape[0]
                tries = int(self.device_tries)
                return excluded_mixture(q[items], m, norm[a], fallback[a], inside, tries)
        host_vecs = vecs.detach().cpu().numpy() if self.score_aware else None
        q = self.proba(
            items.detach().cpu().numpy(),
            anchors=anchors.detach().cpu().numpy(),
            anchor_vectors=host_vecs,
            pos=None if pos is None else pos.detach().cpu().numpy(),
            tries=int(self.device_tries),
        )
        return torch.from_numpy(q).to(items.device)

    def _law_uses_positive(self) -> bool:
        """Whether :meth:`distribution` takes the pair's positive (``pos=``)."""
        return "pos" in inspect.signature(self.distribution).parameters

    def _static_law(self) -> tuple:
        """``(q, norm, fallback)`` as tensors for :meth:`_proba_device` (built once a device)."""
        import torch

        q = np.asarray(self.distribution(), dtype=np.float64)
        norm = np.ones(1)
        fallback = np.zeros(1)
        if self.exclude_positives:
            p = self.positives_
            norm = 1.0 - positive_mass(q, p)
            fallback = 1.0 / (self.n_items_ - np.diff(p.indptr))
        return tuple(torch.from_numpy(x) for x in (q, norm, fallback))

    def _device_vectors(self, anchors: Any, anchor_vectors: Any) -> Any:
        import torch

        dev = anchors.device
        n = anchors.shape[0]
        if anchor_vectors is not None:
            v = torch.as_tensor(anchor_vectors, device=dev).to(torch.float32)
            if v.ndim != 2 or v.shape[0] != n:
                raise ValueError(
                    f"anchor_vectors must have shape (len(anchors), dim), got {tuple(v.shape)}"
                )
        elif self.score_aware:
            table = self._table("input", dev)
            if table is None:
                raise ValueError(
                    f"{type(self).__name__} scores anchors: pass anchor_vectors= or fit(input=...)"
                )
            v = table[anchors]
        else:
            return torch.zeros((n, 0), dtype=torch.float32, device=dev)
        out = getattr(self, "output_", None)
        if self.score_aware and out is not None and v.shape[1] != out.shape[1]:
            raise ValueError(
                f"anchor vectors have {v.shape[1]} dims but the output table has {out.shape[1]}"
            )
        return v

    def _anchor_vectors(self, anchors: np.ndarray, anchor_vectors: Any) -> np.ndarray:
        n = anchors.shape[0]
        if anchor_vectors is not None:
            vecs = np.ascontiguousarray(anchor_vectors, dtype=np.float32)
            if vecs.ndim != 2 or vecs.shape[0] != n:
                raise ValueError(
                    f"anchor_vectors must have shape (len(anchors), dim), got {vecs.shape}"
                )
            self._check_dim(vecs)
            return vecs
        if self.score_aware:
            if self.input_ is None:
                raise ValueError(
                    f"{type(self).__name__} scores anchors: pass anchor_vectors= or fit(input=...)"
                )
            if n and anchors.max() >= self.input_.shape[0]:
                raise ValueError(f"anchor id {anchors.max()} is out of range of the input table")
            return self._check_dim(np.ascontiguousarray(self.input_[anchors], dtype=np.float32))
        return np.zeros((n, 0), dtype=np.float32)

    def _check_dim(self, vecs: np.ndarray) -> np.ndarray:
        out = getattr(self, "output_", None)
        if self.score_aware and out is not None and vecs.shape[1] != out.shape[1]:
            raise ValueError(
                f"anchor vectors have {vecs.shape[1]} dims but the output table has {out.shape[1]}"
            )
        return vecs

    # ------------------------------------------------------------ probabilities
    def distribution(
        self, anchor: int | None = None, anchor_vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact probability of every item for one anchor (before exclusion), where known."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form distribution")

    #: what the fitted anchors are, for :meth:`n_anchors`'s refusals
    _anchors_are = "fitted anchors"

    def n_anchors(self) -> int | None:
        """How many anchors the fitted state knows, where an anchor beyond them has no
        meaning (a span sampler's sentences), else None: any anchor id is valid, and one
        beyond the rows of ``positives`` has no positive to exclude.  The host paths refuse
        anchors beyond it (the device path, which never synchronises with the host, does not
        check)."""
        return None

    def _check_anchor_range(self, anchors: np.ndarray) -> None:
        limit = self.n_anchors()
        if limit is not None and anchors.size and anchors.max() >= limit:
            raise ValueError(
                f"anchor id {anchors.max()} is out of range: {type(self).__name__} was fitted "
                f"for {limit} anchors ({self._anchors_are})"
            )

    def proba(
        self,
        items: Any,
        anchors: Any = None,
        anchor_vectors: Any = None,
        *,
        pos: Any = None,
        tries: int = EXCLUDE_TRIES,
    ) -> np.ndarray:
        """``q(item | anchor)`` of every entry of ``items``, same shape.

        items : ``(n, k)``, row ``r`` drawn for ``anchors[r]``; or ``(n,)`` with ``n`` anchors
            (one item each); or ``(k,)`` / a scalar for one anchor (``anchors`` None or one id).
        anchors : ids (``n`` of them, or one for every row), or None: no anchor, so no
            exclusion, and score-aware samplers need ``anchor_vectors``.
        anchor_vectors : ``(n, d)`` (or ``(d,)`` for every row) for score-aware samplers;
            defaults to ``input[anchors]``.
        pos : the pair's positive of each row (``n`` of them, or one for every row; ``-1``:
            none), for samplers whose law depends on it (``distribution(..., pos=)``: dns,
            softmax, rank, ahns); ignored by the others.  ``sample(..., return_proba=True)``
            passes the ``pos`` it drew with.
        tries : the rejection tries of the path that drew (``EXCLUDE_TRIES`` on the host,
            :attr:`device_tries` on the device).
        Includes what exclusion of positives implies: the rejection's renormalisation mixed
        with the uniform complement draw that follows ``tries`` rejections (see the class
        docstring).  Raises NotImplementedError for samplers whose distribution has no
        closed form.
        """
        self._check_fitted()
        items = np.asarray(items, dtype=np.int64)
        a = None if anchors is None else np.asarray(anchors, dtype=np.int64).reshape(-1)
        if items.ndim == 1 and a is not None and a.shape[0] == items.shape[0] > 1:
            rows = items.reshape(-1, 1)  # one item per anchor
        elif items.ndim <= 1:
            rows = items.reshape(1, -1)  # every item for one anchor
        elif items.ndim == 2:
            rows = items
        else:
            raise ValueError(f"items must be 0-, 1- or 2-dimensional, got shape {items.shape}")
        n = rows.shape[0]
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_items_):
            raise ValueError(
                f"items must be ids in [0, {self.n_items_}), got {rows.min()}..{rows.max()}"
            )
        if a is None:
            a = np.full(n, -1, dtype=np.int64)
        elif a.shape[0] == 1:
            a = np.repeat(a, n)
        elif a.shape[0] != n:
            raise ValueError(f"anchors has {a.shape[0]} entries for {n} rows of items")
        self._check_anchor_range(a[a >= 0])
        takes_pos = self._law_uses_positive()
        if pos is None or not takes_pos:
            pr = np.full(n, -1, dtype=np.int64)
        else:
            pr = np.asarray(pos, dtype=np.int64).reshape(-1)
            if pr.shape[0] == 1:
                pr = np.repeat(pr, n)
            elif pr.shape[0] != n:
                raise ValueError(f"pos has {pr.shape[0]} entries for {n} rows of items")
            if pr.size and pr.max() >= self.n_items_:
                raise ValueError(
                    f"pos item {pr.max()} is out of range (there are {self.n_items_} items)"
                )
        if isinstance(tries, bool) or not isinstance(tries, (int, np.integer)) or tries < 0:
            raise ValueError(f"tries must be an integer >= 0, got {tries!r}")
        vecs = None
        if self.score_aware:
            if anchor_vectors is not None:
                v = np.asarray(anchor_vectors, dtype=np.float32)
                vecs = self._anchor_vectors(
                    a, np.broadcast_to(v.reshape(-1, v.shape[-1]), (n, v.shape[-1]))
                )
            elif np.any(a < 0):
                raise ValueError(f"{type(self).__name__}.proba needs anchors or anchor_vectors=")
            else:
                vecs = self._anchor_vectors(a, None)
        out = np.empty(rows.shape, dtype=np.float64)
        cache: dict[tuple[int, int], np.ndarray] = {}
        for r in range(n):
            anchor, p_r = int(a[r]), int(pr[r])
            p = None if self.score_aware else cache.get((anchor, p_r))
            if p is None:
                args = (None if anchor < 0 else anchor, None if vecs is None else vecs[r])
                p = self.distribution(*args, pos=p_r) if p_r >= 0 else self.distribution(*args)
                p = self._exclusion_renorm(p, anchor, int(tries))
                if not self.score_aware:
                    cache[(anchor, p_r)] = p
            out[r] = p[rows[r]]
        return out.reshape(items.shape)

    def _exclusion_renorm(self, p: np.ndarray, anchor: int, tries: int = EXCLUDE_TRIES):
        """The law of a draw under exclusion: the first of ``tries`` draws of ``p`` that is no
        positive, else (probability ``m^tries``, ``m`` the mass on positives) a uniform draw
        over the anchor's non-positives."""
        if not self.exclude_positives or anchor < 0 or anchor >= self.positives_.shape[0]:
            return p
        row = self.positives_.indices[
            self.positives_.indptr[anchor] : self.positives_.indptr[anchor + 1]
        ]
        uniform = np.ones_like(p, dtype=np.float64)
        uniform[row] = 0.0
        uniform /= uniform.sum()
        q = np.asarray(p, dtype=np.float64).copy()
        total = q.sum()
        q[row] = 0.0
        kept = q.sum()
        if kept <= 0 or total <= 0:  # all mass on positives: the complement draw only
            return uniform
        fail = (1.0 - min(kept / total, 1.0)) ** tries
        return q / kept * (1.0 - fail) + fail * uniform


# ---------------------------------------------------------------------- helpers
def excluded_mixture(q: Any, m: Any, kept: Any, uniform: Any, inside: Any, tries: int) -> Any:
    """Torch: the law of device draws under exclusion (the class docstring's mixture), for
    ``q`` ``(n, k)`` the law of the items drawn, ``m`` ``(n,)`` its mass on each anchor's
    positives, ``kept`` ``(n,)`` the mass left (``1 - m``), ``uniform`` ``(n,)`` one over the
    anchor's non-positives and ``inside`` ``(n,)`` whether the anchor has known positives: the
    first of ``tries`` draws that is no positive, else the uniform complement draw; the
    complement alone where nothing is kept, ``q`` itself for anchors without positives."""
    import torch

    fail = m**tries
    scale = torch.where(kept > 0, (1.0 - fail) / kept.clamp(min=1e-300), 0.0)
    mixed = q * scale[:, None] + (fail * uniform)[:, None]
    mixed = torch.where((kept > 0)[:, None], mixed, uniform[:, None])
    return torch.where(inside[:, None], mixed, q)


def positive_mass(q: np.ndarray, positives: sp.csr_matrix) -> np.ndarray:
    """``q(P_a)`` for every anchor ``a``: the mass a static law ``q`` puts on the anchor's
    positives (rows of the CSR ``positives``; 0 for a row without any)."""
    mass = np.add.reduceat(np.append(q[positives.indices], 0.0), positives.indptr[:-1])
    return mass * (np.diff(positives.indptr) > 0)


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an integer, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return int(k)


def _infer_n_items(n_items: Any, counts: Any, positives: Any, output: Any) -> int | None:
    if n_items is not None:
        if isinstance(n_items, bool) or not isinstance(n_items, (int, np.integer)):
            raise TypeError(f"n_items must be an integer, got {n_items!r}")
        if counts is not None and len(counts) != n_items:
            raise ValueError(f"n_items={n_items} but counts has {len(counts)} entries")
        return int(n_items)
    if counts is not None:
        return len(counts)
    if output is not None:
        return int(np.shape(output)[0])
    if positives is not None:
        return int(positives.shape[1])
    return None


def _as_csr(positives: Any, n_items: int) -> sp.csr_matrix:
    m = sp.csr_matrix(positives)
    if m.shape[1] > n_items:
        raise ValueError(f"positives has {m.shape[1]} item columns but there are {n_items} items")
    if m.shape[1] < n_items:
        m = sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n_items))
    m.sum_duplicates()
    m.sort_indices()
    return m


def _check_not_full(pos: sp.csr_matrix, n_items: int) -> None:
    nnz = np.diff(pos.indptr)
    full = np.flatnonzero(nnz >= n_items)
    if full.size:
        raise ValueError(
            f"anchor {int(full[0])} has every one of the {n_items} items as a positive: "
            "no negative can be drawn for it"
            + (f" ({full.size} such anchors)" if full.size > 1 else "")
        )


def _check_table(t: Any, what: str) -> np.ndarray:
    if type(t).__module__.startswith("torch"):
        raise TypeError(
            f"{what}= must be a numpy array; for a torch tensor pass tensor.detach().numpy() "
            "(a CPU tensor shares its memory, so the sampler still reads live values)"
        )
    t = np.asarray(t)
    if t.ndim != 2:
        raise ValueError(f"{what} embedding table must be 2-D, got shape {t.shape}")
    if t.dtype != np.float32:
        raise TypeError(
            f"{what} embedding table must be float32 (it is read live, not copied), got {t.dtype}"
        )
    return t


@kernel(inline="always")
def _row_contains(indices, lo, hi, x):
    while lo < hi:  # binary search in a sorted CSR row
        mid = (lo + hi) >> 1
        v = indices[mid]
        if v == x:
            return True
        if v < x:
            lo = mid + 1
        else:
            hi = mid
    return False


@kernel
def _uniform_complement(indices, lo, hi, n, ctx):
    """Uniform draw among the items not in the sorted row ``indices[lo:hi]``."""
    j = rand_int(ctx, n - (hi - lo))
    # the j-th non-positive: skip every positive at or below the running candidate
    x = j
    for t in range(lo, hi):
        if indices[t] <= x:
            x += 1
        else:
            break
    return x


_EXCLUDING: dict[Any, Any] = {}


def excluding(draw: Any) -> Any:
    """Wrap a draw function so that it never returns one of the anchor's positives.

    The wrapped state is ``(base_state, indptr, indices, n_items)``.
    """
    wrapped = _EXCLUDING.get(draw)
    if wrapped is not None:
        return wrapped

    # Arrays are read as state[i] in place, never unpacked into variables that live across
    # branches: numba would otherwise wrap every call in atomic reference-count updates.
    @kernel
    def draw_excluding(state, anchor, pos, vec, ctx):
        if anchor < 0 or anchor + 1 >= state[1].shape[0]:
            return draw(state[0], anchor, pos, vec, ctx)
        lo = state[1][anchor]
        hi = state[1][anchor + 1]
        for _ in range(EXCLUDE_TRIES):
            x = draw(state[0], anchor, pos, vec, ctx)
            if not _row_contains(state[2], lo, hi, x):
                return x
        return _uniform_complement(state[2], lo, hi, state[3], ctx)

    _EXCLUDING[draw] = draw_excluding
    return draw_excluding


_PER_DRAW_PAIR: dict[Any, Any] = {}


def per_draw_pair(draw: Any) -> Any:
    """The default ``draw_pair``: marks the pair (:func:`negkit._rng.next_pair`), then calls
    ``draw`` once per slot of ``out``."""
    pair = _PER_DRAW_PAIR.get(draw)
    if pair is None:

        @kernel(inline="always")
        def pair(state, anchor, pos, vec, ctx, out):
            next_pair(ctx)
            for j in range(out.shape[0]):
                out[j] = draw(state, anchor, pos, vec, ctx)

        _PER_DRAW_PAIR[draw] = pair
    return pair


@kernel
def _sample_batch(draw_pair, state, anchors, pos, vecs, ctx, out):
    """Row r of ``out``: the k draws of the pair ``(anchors[r], vecs[r])``."""
    for r in range(out.shape[0]):
        draw_pair(state, anchors[r], pos[r], vecs[r], ctx, out[r])
