"""One entry point for graph embeddings: :func:`run` (DeepWalk, node2vec, struc2vec, LINE).

DeepWalk (Perozzi et al. 2014) and node2vec (Grover & Leskovec 2016) stream the
walk chunks of :class:`negkit.graph.walks.RandomWalks` into the skip-gram engine
of :class:`negkit.Word2Vec` through ``train_arrays`` (node index = vocabulary
index; walks are never turned into strings).  struc2vec (Ribeiro et al. 2017) streams
the walks of :class:`negkit.graph.struc2vec.Struc2VecWalks` across its multilayer graph of
structural distances into the same engine.  LINE (Tang et al. 2015) runs its
own kernel, :class:`negkit.graph.line.LINE`.  Every method takes its noise
distribution from :mod:`negkit.samplers`.

>>> from negkit.graph.embed import GraphEmbedSettings, run
>>> res = run(graph, GraphEmbedSettings(method="node2vec", p=0.25, q=4), sampler="degree", seed=0)
>>> res.vectors.shape, res.timings  # (n_nodes, dim), {"walk_s", "train_s", "total_s"}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from negkit._diverge import TrainingDivergedError
from negkit.graph.adjacency import as_adjacency
from negkit.graph.line import LINE, line_embeddings
from negkit.graph.walks import RandomWalks
from negkit.word2vec.dist_sync import check_tiers

log = logging.getLogger(__name__)

METHODS = ("deepwalk", "node2vec", "struc2vec", "line")
#: Starting learning rate of skip-gram on walks (see GraphEmbedSettings.lr).
WALK_LR = 0.05


@dataclass
class GraphEmbedSettings:
    """Settings of one graph-embedding run (defaults: DeepWalk's / node2vec's papers).

    epochs : skip-gram passes over freshly drawn walks (walk methods), or passes
        over the edge entries (LINE; ``None`` means 1 for walks and 100 for LINE).
    order : LINE's proximity order: 1, 2 or ``"both"`` (concatenated halves).
    sample : skip-gram down-sampling threshold of frequent nodes (0 = off).
    lr : starting learning rate; ``None`` means 0.05 for walks (one pass over the walks:
        on BlogCatalog, DeepWalk's Macro-F1 at 50% rose from 0.211 with 0.025 to 0.240,
        at the same cost) and 0.025 for LINE (the paper's rho_0).
    shared_negatives : walks only: skip-gram with the negatives of a window shared by its
        context words (Ji et al. 2016, see :class:`negkit.Word2Vec`).  On by default: on
        BlogCatalog (d=128, 10 walks of 80, window 10, 2 workers) it trained in 19.6 s
        instead of 31.6 s for Macro-F1 (true-k, 50%) 0.233 instead of 0.244, both above
        PecanPy with gensim (0.217, 57 s in the same run).  ``False`` gives word2vec's
        exact per-pair update.
    sync_words : walks on several processes: raw words each rank trains between merges of
        the tables.  DeepWalk on BlogCatalog, 2 ranks (seed 0; one process: Macro-F1 0.2373):
        20 000 gave 0.2335, 100 000 gave 0.2253 (docs/benchmarks.md).
    sync_overlap, sync_wire : walks on several processes: how the merges travel (see
        :class:`negkit.Word2Vec` and :mod:`negkit.word2vec.dist_sync`).  By default each
        round's change is sent in bfloat16 without waiting and merged after the next round
        (the other ranks' changes one round late, the rounding error carried into the next
        exchange): on BlogCatalog, 2 ranks, seeds 1-3, it took 11.1 s instead of 15.2 s
        with waiting float32 syncs (one process: 18.1 s) at Macro-F1 0.2295 against 0.2272
        (one process: 0.2353).  ``sync_overlap=False`` waits for each merge;
        ``sync_wire="float32"`` sends float32 (only the touched rows when not overlapped).
    sync_head, sync_tail_every : walks on several processes: the rows of the most visited
        ``sync_head`` of the nodes are merged at every exchange, the others in
        ``sync_tail_every`` blocks in turn (:class:`negkit.Word2Vec`).  On BlogCatalog,
        2 ranks, seeds 0-3, the default (1/4, every 4th) took 10.6 s instead of 12.2 s
        with every row every time (one process: 19.2 s), at Macro-F1 0.2289 against
        0.2295 (one process: 0.2361); 1/8 and every 8th took 10.1 s at 0.2260.
    """

    method: str = "deepwalk"
    dim: int = 128
    walk_length: int = 80
    num_walks: int = 10
    window: int = 10
    p: float = 1.0
    q: float = 1.0
    epochs: int | None = None
    negative: int = 5
    workers: int = 1
    lr: float | None = None
    sample: float = 1e-3
    order: int | str = 2
    chunk_walks: int = 2048
    shared_negatives: bool = True
    stay: float = 0.3
    max_layer: int | None = None
    opt2: bool = True
    sync_words: int = 20_000
    sync_overlap: bool = True
    sync_wire: str = "bfloat16"
    sync_head: float = 0.25
    sync_tail_every: int = 4
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> GraphEmbedSettings:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.method in ("deepwalk", "struc2vec") and (self.p != 1.0 or self.q != 1.0):
            kind = "are first order" if self.method == "deepwalk" else "take no p, q"
            raise ValueError(f"{self.method} walks {kind}: use method='node2vec' for p, q != 1")
        for name in ("dim", "walk_length", "num_walks", "window", "negative", "workers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.epochs is not None and (
            not isinstance(self.epochs, (int, np.integer)) or self.epochs < 1
        ):
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not (isinstance(self.stay, (int, float)) and 0 < self.stay <= 1):
            raise ValueError(f"stay must lie in (0, 1], got {self.stay!r}")
        k = self.max_layer
        if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0):
            raise ValueError(f"max_layer must be a non-negative integer or None, got {k!r}")
        check_tiers(self.sync_head, self.sync_tail_every)
        return self


@dataclass
class GraphEmbedResult:
    """Vectors (row i = node i), the graph's original node ids (or None) and timings in seconds."""

    vectors: np.ndarray
    node_ids: np.ndarray | None
    timings: dict[str, float]
    settings: dict[str, Any]


class _TimedWalks:
    """Re-iterable walks in vocabulary ids; adds the time spent drawing walks to ``seconds``."""

    def __init__(self, walks: RandomWalks, to_vocab: np.ndarray) -> None:
        self.walks = walks
        self.to_vocab = to_vocab
        self.seconds = 0.0

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        it = iter(self.walks)
        while True:
            t0 = time.perf_counter()
            try:
                tokens, offsets = next(it)
            except StopIteration:
                self.seconds += time.perf_counter() - t0
                return
            tokens = self.to_vocab[tokens]
            self.seconds += time.perf_counter() - t0
            yield tokens, offsets


def load_graph(spec: Any, *, directed: bool = False):
    """A :class:`negkit.data.graphs.Graph` from a data-set name, a file path or a Graph.

    Files: ``.mat`` (network/group), ``.npz`` (Planetoid), ``.adjlist``; anything
    else is read as an edge list ``src dst [weight]`` (weighted when a third column exists).
    ``directed`` applies to edge and adjacency lists.  A data-set name, a ``.mat`` or
    ``.npz`` file and a Graph say themselves whether they are directed: ``directed=True``
    with one that is undirected is a ValueError (it would be read undirected all the same).
    """
    if not isinstance(spec, (str, Path)):
        return _agreeing(spec, directed, "the graph given")
    from negkit.data import graphs as g
    from negkit.data import registry

    path = Path(spec)
    if not path.exists():
        if str(spec).lower() in [n.lower() for n in registry.names()] or "/" not in str(spec):
            return _agreeing(registry.load(str(spec), kind="graph"), directed,
                             f"data set {spec}")  # fmt: skip
        raise FileNotFoundError(f"graph file {spec} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".gz", ".bz2", ".xz"):  # compressed text: the format is the suffix before
        suffix = Path(path.stem).suffix.lower()
    if suffix == ".mat":
        return _agreeing(g.read_mat(path), directed, f"{spec} (a symmetric .mat network)")
    if suffix == ".npz":
        return _agreeing(g.read_planetoid_npz(path), directed, f"{spec} (a Planetoid .npz)")
    if suffix == ".adjlist":
        return g.read_adjlist(path, directed=directed)
    return g.read_edgelist(path, weighted=_has_third_column(path), directed=directed)


def _agreeing(graph: Any, directed: bool, what: str) -> Any:
    """``graph``, unless ``directed`` asks for a directed graph and it is an undirected one."""
    if directed and getattr(graph, "directed", None) is False:
        raise ValueError(
            f"{what} is undirected and is read as such: directed applies only to edge-list "
            "and .adjlist files"
        )
    return graph


def _has_third_column(path: Path) -> bool:
    """Whether the first edge line of an edge list (compressed or not) has a weight column;
    a header line (``source,target``, as :func:`negkit.data.graphs.read_edgelist` reads one)
    is not an edge: a header naming two columns over weighted rows read them unweighted."""
    from negkit.data.graphs import is_edge_header
    from negkit.data.lines import iter_lines

    first = True
    for _, text in iter_lines(path, comments="#"):
        parts = text.split("#", 1)[0].replace(",", " ").split()
        if first and is_edge_header(parts):
            first = False
            continue
        if parts:
            return len(parts) >= 3
    return False


def run(
    graph: Any,
    settings: GraphEmbedSettings | None = None,
    *,
    sampler: Any = "degree",
    seed: int | None = 0,
    on_epoch: Callable[[int, np.ndarray, dict], Any] | None = None,
    dist_ctx: Any = None,
    checkpoint: str | Path | None = None,
    layers_cache: dict | None = None,
) -> GraphEmbedResult:
    """Embed ``graph`` (name, path, Graph or sparse matrix) as ``settings`` say.

    dist_ctx : walks only: a :class:`negkit.rec.distributed.Context` with several ranks;
        each rank walks every ``world_size``-th chunk of walks and trains on it, the tables
        merged every ``settings.sync_words`` words (see :class:`negkit.Word2Vec`); every
        rank returns the same vectors.
    checkpoint : walks only: the model is saved there after every epoch; when the file
        exists the run resumes from it (same settings and seed: the same result).
    layers_cache : struc2vec: a dict that keeps the multilayer graph across calls on one
        graph (a study's runs; it has no seed), instead of building it in every call.

    sampler : noise distribution, a name or a :class:`negkit.samplers.Sampler`.
    on_epoch : ``on_epoch(epoch, vectors, record)`` after every epoch (0-based epoch; the
        vectors in node order; the trainer's epoch record: for walks, negkit.Word2Vec's
        ``training_log_`` entry, for LINE ``{"epoch", "samples", "seconds"}``, the epoch's
        training wall time without the time spent in ``on_epoch``).
    """
    settings = (settings or GraphEmbedSettings()).check()
    t_start = time.perf_counter()
    g = load_graph(graph)
    adj = as_adjacency(g)
    node_ids = getattr(g, "node_ids", None)
    distributed = dist_ctx is not None and dist_ctx.world_size > 1
    if settings.method == "line" and (distributed or checkpoint is not None):
        raise ValueError("LINE runs on one process, without checkpoints: use a walk method")
    if settings.method == "line":
        vectors = _run_line(adj, settings, sampler, seed, on_epoch)
        walk_s = 0.0
    else:
        vectors, walk_s = _run_walks(adj, settings, sampler, seed, on_epoch, dist_ctx,
                                     checkpoint, layers_cache)  # fmt: skip
    total = time.perf_counter() - t_start
    timings = {"walk_s": walk_s, "train_s": total - walk_s, "total_s": total}
    log.info(
        "%s: %d nodes embedded in %.1f s (walks %.1f s)",
        settings.method,
        adj.n_nodes,
        total,
        walk_s,
    )
    return GraphEmbedResult(np.asarray(vectors), node_ids, timings, asdict(settings))


def _run_line(adj, s: GraphEmbedSettings, sampler: Any, seed, on_epoch) -> np.ndarray:
    lr = 0.025 if s.lr is None else s.lr
    kw = dict(
        negative=s.negative,
        sampler=sampler,
        epochs=s.epochs or 100,
        lr=lr,
        workers=s.workers,
        seed=seed,
        **s.extra,
    )
    if s.order in ("both", "1+2"):
        if on_epoch is not None:
            log.warning("on_epoch is not called for LINE with order='both'")
        return line_embeddings(adj, s.dim, order="both", **kw)
    model = LINE(s.dim, order=int(s.order), **kw)
    cb = None
    clock = [time.perf_counter()]
    if on_epoch is not None:

        def cb(e: int, m: Any) -> None:
            # the epoch's training wall time: from the end of the previous callback (the
            # first epoch's from the start of fit, its setup included), so that what the
            # callback spends (a study's evaluation) is not counted
            seconds = time.perf_counter() - clock[0]
            rec = {"epoch": e + 1, "samples": (e + 1) * adj.n_entries, "seconds": seconds}
            on_epoch(e, m.embeddings_, rec)
            clock[0] = time.perf_counter()

    return model.fit(adj, on_epoch=cb).embeddings_


def _csr(adj):
    import scipy.sparse as sp

    n = adj.n_nodes
    return sp.csr_matrix((np.ones(adj.n_entries), adj.indices, adj.indptr), shape=(n, n))


def _multilayer(adj, max_layer: int | None, opt2: bool, cache: dict | None = None):
    """struc2vec's multilayer graph of ``adj``; with ``cache``, built once for a graph and OPT
    settings.

    The build has no seed and reads only the graph's structure (degrees, not weights), so a
    study's runs on one graph (samplers x seeds) can share it; it costs more than the
    training on the airport networks (docs/benchmarks.md).  The cache keeps one graph, under
    a digest of the CSR, so another graph, or the same one changed, is built afresh.
    """
    import hashlib

    from negkit.graph.struc2vec_layers import multilayer_graph

    if cache is None:
        return multilayer_graph(_csr(adj), max_layer=max_layer, opt2=opt2)[0]
    h = hashlib.blake2b(digest_size=16)
    for a in (adj.indptr, adj.indices):
        h.update(np.ascontiguousarray(a).tobytes())
    key = (adj.n_nodes, h.hexdigest(), max_layer, bool(opt2))
    if key not in cache:
        cache.clear()
        cache[key] = multilayer_graph(_csr(adj), max_layer=max_layer, opt2=opt2)[0]
    return cache[key]


def _run_walks(
    adj,
    s: GraphEmbedSettings,
    sampler: Any,
    seed,
    on_epoch,
    dist_ctx=None,
    checkpoint=None,
    layers_cache: dict | None = None,
) -> tuple[np.ndarray, float]:
    from negkit.word2vec import Word2Vec

    build_s = 0.0  # struc2vec's multilayer graph, counted with the walks
    if s.method == "struc2vec":
        from negkit.graph.struc2vec import Struc2VecWalks

        t0 = time.perf_counter()
        ml = _multilayer(adj, s.max_layer, s.opt2, layers_cache)
        build_s = time.perf_counter() - t0
        log.info("struc2vec: %d layers ready in %.1f s", ml.n_layers, build_s)
        walks: Any = Struc2VecWalks(
            ml,
            walk_length=s.walk_length,
            num_walks=s.num_walks,
            stay=s.stay,
            workers=s.workers,
            chunk_walks=s.chunk_walks,
            seed=seed,
        )
    else:
        walks = RandomWalks(
            adj,
            walk_length=s.walk_length,
            num_walks=s.num_walks,
            p=s.p,
            q=s.q,
            workers=s.workers,
            chunk_walks=s.chunk_walks,
            seed=seed,
        )
    distributed = dist_ctx is not None and dist_ctx.world_size > 1
    if distributed:
        walks.shard(dist_ctx.rank, dist_ctx.world_size)
    epochs = s.epochs or 1
    n = adj.n_nodes
    callbacks = ()
    if on_epoch is not None:
        callbacks = (lambda m, rec: on_epoch(int(rec["epoch"]) - 1, m.wv.vectors[to_vocab], rec),)
    opts = {  # the loss costs a log per pair
        "compute_loss": False,
        "progress": False,
        "shared_negatives": s.shared_negatives,
        **s.extra,
    }
    lr = WALK_LR if s.lr is None else s.lr
    tag = _walk_tag(adj, s, sampler)
    model = Word2Vec(
        vector_size=s.dim,
        window=s.window,
        negative=s.negative,
        sg=1,
        sampler=sampler,
        sample=s.sample,
        alpha=lr,
        workers=s.workers,
        seed=0 if seed is None else seed,
        min_count=1,
        epochs=epochs,
        callbacks=callbacks,
        dist=dist_ctx,
        sync_words=s.sync_words,
        sync_overlap=s.sync_overlap,
        sync_wire=s.sync_wire,
        sync_head=s.sync_head,
        sync_tail_every=s.sync_tail_every,
        checkpoint=checkpoint,
        **opts,
    )
    model.checkpoint_tag = tag
    resume = checkpoint is not None and Path(checkpoint).exists()
    if resume:
        model = _resumed(model, checkpoint, dist_ctx, epochs)
        walks.epoch = model.epochs_trained_  # the walks of the epochs still to run
    else:  # the vocabulary is sorted by count: map node ids to vocabulary ids chunk by chunk
        model.build_vocab_from_freq(([str(i) for i in range(n)], walks.expected_counts()))
    keys = model.wv.index_to_key
    to_vocab = np.empty(n, dtype=np.int32)
    node_of = np.array([int(k) for k in keys], dtype=np.int64)
    to_vocab[node_of] = np.arange(len(keys), dtype=np.int32)
    timed = _TimedWalks(walks, to_vocab)
    try:
        if resume:
            if model.epochs_trained_ < epochs:
                model.resume(chunks=timed)
        else:
            model.train_arrays(timed, epochs=epochs, total_words=walks.expected_tokens(),
                               sharded=distributed)  # fmt: skip
    except TrainingDivergedError as e:  # name the method and its option, not word2vec's alpha
        raise TrainingDivergedError(s.method, e.epoch, e.lr, e.problem) from None
    return model.wv.vectors[to_vocab], timed.seconds + build_s


def _resumed(fresh, checkpoint, dist_ctx, epochs: int):
    """The model saved at ``checkpoint``, after checking it was made with these settings
    (the merges' settings only on several processes: one process never merges, and a file
    from before an option was added has no value for it)."""
    from negkit.word2vec import Word2Vec
    from negkit.word2vec.model import _PARAMS

    model = Word2Vec.load(checkpoint, dist=dist_ctx)
    merges_too = model.dist is not None  # the merges' settings: every sync_* parameter
    params = [k for k in _PARAMS if merges_too or not k.startswith("sync_")]
    differ = [k for k in params if getattr(model, k) != getattr(fresh, k)]
    if (model._schedule or {}).get("epochs") != epochs:
        differ.append("epochs")
    saved, tag = model.checkpoint_tag, fresh.checkpoint_tag
    if saved is not None:
        differ += [k for k in tag if saved.get(k) != tag[k]]
    else:  # files from before the tag
        log.warning("%s records no graph, walk or sampler settings (written before they were):"
                    " they are not checked", checkpoint)  # fmt: skip
    if differ:
        raise ValueError(
            f"checkpoint {checkpoint} was written with other settings ({', '.join(differ)}): "
            "remove it or run with the same ones"
        )
    model.callbacks, model.checkpoint = fresh.callbacks, checkpoint
    model.checkpoint_tag = fresh.checkpoint_tag
    return model


def _walk_tag(adj, s: GraphEmbedSettings, sampler: Any) -> dict[str, Any]:
    """The graph (a checksum of its CSR), the walk settings and the noise sampler: a resumed
    run must match them."""
    import zlib

    from negkit.samplers import get

    crc = 0
    for a in (adj.indptr, adj.indices, adj.weights):
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
    keys = ("method", "walk_length", "num_walks", "p", "q", "stay", "max_layer", "opt2")
    noise = repr(get(sampler) if isinstance(sampler, str) else sampler)
    return {"graph": f"{adj.n_nodes} nodes, crc32 {crc:08x}", "sampler": noise,
            **{k: getattr(s, k) for k in keys}}  # fmt: skip
