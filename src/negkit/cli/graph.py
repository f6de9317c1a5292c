"""``negkit graph``: embed graphs (DeepWalk, node2vec, struc2vec, LINE) and evaluate node vectors.

* ``negkit graph embed --graph NAME|PATH --method deepwalk|node2vec|struc2vec|line ... --out v.txt``
* ``negkit graph eval --graph NAME|PATH --vectors v.txt [--task classify|planetoid]``
* ``negkit graph linkpred --graph NAME|PATH --method ...`` (split, embed the rest, ROC-AUC)
"""

from __future__ import annotations

import argparse
import json
import logging

from negkit._atomic import check_target
from negkit.cli._launch import (
    add_dist_args,
    add_merge_args,
    add_tier_args,
    run_distributed,
    unread_options,
)

log = logging.getLogger(__name__)


def _ratios(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"ratios must be numbers separated by commas: {text!r}"
        ) from None
    if not vals or any(not 0 < v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"ratios must lie in (0, 1): {text!r}")
    return vals


def _order(text: str):
    if text in ("1", "2"):
        return int(text)
    if text in ("both", "1+2"):
        return "both"
    raise argparse.ArgumentTypeError(f"order must be 1, 2 or both, got {text!r}")


def _add_embed_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--graph", required=True, help="data-set name (negkit data list) or graph file")
    p.add_argument(
        "--directed",
        action="store_true",
        help="read an edge/adjacency list as directed (default: undirected); a data set, "
        ".mat or .npz file says itself, and an undirected one is refused with --directed",
    )
    p.add_argument(
        "--method", choices=("deepwalk", "node2vec", "struc2vec", "line"), default="deepwalk"
    )
    p.add_argument(
        "--sampler",
        default="degree",
        help="noise distribution, a name from negkit.samplers (default: degree^0.75)",
    )
    p.add_argument(
        "--sampler-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sampler setting, e.g. alpha=0.5 (repeatable)",
    )
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--walk-length", type=int, default=80)
    p.add_argument("--num-walks", type=int, default=10)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--p", type=float, default=1.0, help="node2vec return parameter")
    p.add_argument("--q", type=float, default=1.0, help="node2vec in-out parameter")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="skip-gram passes (walks, default 1) or edge passes (LINE, default 100)",
    )
    p.add_argument("--negative", type=int, default=5)
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help="starting learning rate (default 0.05 for walks, 0.025 for LINE)",
    )
    p.add_argument("--sample", type=float, default=1e-3, help="down-sampling of frequent nodes")
    p.add_argument(
        "--per-pair",
        action="store_true",
        help="walks: word2vec's exact per-pair update instead of negatives shared across a "
        "window (Ji et al. 2016; the default, faster at about the same quality)",
    )
    p.add_argument(
        "--stay", type=float, default=0.3, help="struc2vec: probability of a step in the layer"
    )
    p.add_argument(
        "--max-layer",
        type=int,
        default=None,
        help="struc2vec: deepest layer (OPT3's k*; default: up to the diameter)",
    )
    p.add_argument(
        "--all-pairs",
        action="store_true",
        help="struc2vec: compare every pair of nodes (no OPT2; O(n^2))",
    )
    p.add_argument("--order", type=_order, default=2, help="LINE order: 1, 2 or both")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "graph", help="graph embeddings: DeepWalk, node2vec, struc2vec, LINE"
    )
    sub = parser.add_subparsers(dest="graph_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    emb = sub.add_parser("embed", help="embed a graph and write word2vec text vectors")
    _add_embed_options(emb)
    emb.add_argument("--out", required=True, help="output file (word2vec text format)")
    add_dist_args(emb, "walk methods", sync_words=20_000)
    add_merge_args(emb, "walk methods", wire="bfloat16", overlap=True, step="round")
    add_tier_args(emb, "walk methods", head=0.25, every=4)  # GraphEmbedSettings' defaults
    emb.add_argument(
        "--checkpoint",
        default=None,
        help="walk methods: save the model here after every epoch; if the file exists, "
        "resume from it (same settings)",
    )
    emb.set_defaults(func=cmd_embed)

    ev = sub.add_parser("eval", help="node classification with saved vectors")
    ev.add_argument("--graph", required=True, help="data-set name or graph file with labels")
    ev.add_argument("--vectors", required=True, help="word2vec text file keyed by node id: "
                    "one vector for every node of the graph, and no other key")  # fmt: skip
    ev.add_argument(
        "--task",
        choices=("classify", "planetoid"),
        default=None,
        help="multi-label classification (default) or the Planetoid split's accuracy",
    )
    ev.add_argument(
        "--ratios",
        type=_ratios,
        default=None,
        help="training ratios, e.g. 0.1,0.5,0.9 (default 0.1..0.9)",
    )
    ev.add_argument("--repeats", type=int, default=1, help="random splits averaged per ratio")
    ev.add_argument(
        "--solver",
        default="liblinear",
        help="LogisticRegression solver (liblinear as in DeepWalk's scoring, or lbfgs)",
    )
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.set_defaults(func=cmd_eval)

    lp = sub.add_parser("linkpred", help="link prediction: hold out edges, embed the rest, AUC")
    _add_embed_options(lp)
    lp.add_argument("--test-fraction", type=float, default=0.5)
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_linkpred)


def _settings(args):
    from negkit.graph.embed import GraphEmbedSettings

    return GraphEmbedSettings(
        method=args.method,
        dim=args.dim,
        walk_length=args.walk_length,
        num_walks=args.num_walks,
        window=args.window,
        p=args.p,
        q=args.q,
        epochs=args.epochs,
        negative=args.negative,
        workers=args.workers,
        lr=args.lr,
        sample=args.sample,
        order=args.order,
        shared_negatives=not args.per_pair,
        stay=args.stay,
        max_layer=args.max_layer,
        opt2=not args.all_pairs,
    )


def _sampler(args):
    import negkit.samplers as ns

    params = {}
    for kv in args.sampler_param:
        if "=" not in kv:
            raise ValueError(f"--sampler-param expects KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v
    return ns.get(args.sampler, **params)


#: the options that only some methods read: given to another, they would be ignored
_METHOD_OPTIONS = {
    "--walk-length": ("deepwalk", "node2vec", "struc2vec"),
    "--num-walks": ("deepwalk", "node2vec", "struc2vec"),
    "--window": ("deepwalk", "node2vec", "struc2vec"),
    "--per-pair": ("deepwalk", "node2vec", "struc2vec"),
    "--p": ("node2vec",),
    "--q": ("node2vec",),
    "--stay": ("struc2vec",),
    "--max-layer": ("struc2vec",),
    "--all-pairs": ("struc2vec",),
    "--order": ("line",),
}


def _check_method_options(args) -> None:
    """Options given on the command line that ``--method`` does not read are refused, and
    LINE on several processes."""
    unread = unread_options(args, {o: args.method in m for o, m in _METHOD_OPTIONS.items()})
    if unread:
        raise ValueError(f"--method {args.method} does not read {', '.join(unread)}")
    if args.method == "line" and getattr(args, "nproc", 1) > 1:
        raise ValueError("LINE runs on one process, without checkpoints: use a walk method")


def cmd_embed(args) -> int:
    from negkit.word2vec.dist_sync import check_tiers

    _check_method_options(args)  # before any rank starts
    check_tiers(args.sync_head, args.sync_tail_every)
    return run_distributed(args, _embed)


def _embed(args, ctx) -> int:
    from negkit.graph.embed import load_graph, run
    from negkit.graph.vectors_io import node_keys, save_vectors

    check_target(args.out, folder=False)
    if args.checkpoint is not None:
        check_target(args.checkpoint, folder=False, what="--checkpoint")
    graph = load_graph(args.graph, directed=args.directed)
    settings = _settings(args)
    settings.sync_words = args.sync_words
    settings.sync_wire, settings.sync_overlap = args.sync_wire, args.sync_overlap
    settings.sync_head, settings.sync_tail_every = args.sync_head, args.sync_tail_every
    res = run(graph, settings, sampler=_sampler(args), seed=args.seed, dist_ctx=ctx,
              checkpoint=args.checkpoint)  # fmt: skip
    if not ctx.is_main:
        return 0
    save_vectors(args.out, res.vectors, node_keys(res.vectors.shape[0], res.node_ids))
    t = res.timings
    print(
        f"wrote {res.vectors.shape[0]} vectors of dim {res.vectors.shape[1]} to {args.out} "
        f"(walks {t['walk_s']:.1f} s, training {t['train_s']:.1f} s, total {t['total_s']:.1f} s)"
    )
    return 0


def cmd_eval(args) -> int:
    from negkit.eval.graph import DEFAULT_RATIOS, node_classification, planetoid_accuracy
    from negkit.graph.embed import load_graph
    from negkit.graph.vectors_io import align, load_vectors

    graph = load_graph(args.graph)
    if getattr(graph, "labels", None) is None:
        raise ValueError(f"graph {args.graph} has no labels to classify")
    keys, vecs = load_vectors(args.vectors)
    x = align(keys, vecs, graph.adj.shape[0], getattr(graph, "node_ids", None))
    task = args.task or "classify"
    if task == "planetoid":
        split = getattr(graph, "split", None)
        if not split:
            raise ValueError(f"graph {args.graph} has no Planetoid train/test split")
        acc = planetoid_accuracy(x, graph.labels, split["train"], split["test"])
        out = {
            "task": "planetoid",
            "train": len(split["train"]),
            "test": len(split["test"]),
            "accuracy": acc,
        }
        print(
            json.dumps(out)
            if args.json
            else f"Planetoid split accuracy: {acc:.4f} ({len(split['train'])} train, "
            f"{len(split['test'])} test nodes)"
        )
        return 0
    res = node_classification(
        x,
        graph.labels,
        args.ratios or DEFAULT_RATIOS,
        repeats=args.repeats,
        seed=args.seed,
        solver=args.solver,
    )
    if args.json:
        print(json.dumps(res))
        return 0
    print("ratio  micro-F1(true-k)  macro-F1(true-k)  micro-F1(plain)  macro-F1(plain)")
    for r in res:
        print(
            f"{r['ratio']:<6.2f} {r['micro_f1_true_k']:<17.4f} {r['macro_f1_true_k']:<17.4f} "
            f"{r['micro_f1_plain']:<16.4f} {r['macro_f1_plain']:.4f}"
        )
    print(
        "true-k: each test node gets its true number of labels (DeepWalk/node2vec protocol); "
        "plain: labels with probability >= 0.5"
    )
    return 0


def cmd_linkpred(args) -> int:
    """Hold out edges of the graph read undirected (a directed one with a warning), embed the
    rest (weights kept) and score."""
    import numpy as np
    import scipy.sparse as sp

    from negkit.eval.graph import link_prediction_auc, link_prediction_split
    from negkit.graph.embed import load_graph, run

    _check_method_options(args)
    if args.directed:
        raise ValueError("linkpred holds out undirected edges and embeds an undirected graph: "
                         "--directed is not read")  # fmt: skip
    graph = load_graph(args.graph)
    if getattr(graph, "directed", False):
        log.warning(
            "%s is a directed graph: link prediction holds out and scores its edges as "
            "undirected pairs (u-v stands for u->v, v->u or both)",
            args.graph,
        )
    split = link_prediction_split(graph, args.test_fraction, seed=args.seed)
    train = split.train_adj
    if getattr(graph, "weighted", False):  # the kept edges keep their weights
        w = sp.csr_matrix(graph.adj, dtype=np.float64)
        train = train.multiply(w.maximum(w.T)).tocsr()
    res = run(train, _settings(args), sampler=_sampler(args), seed=args.seed)
    auc = link_prediction_auc(res.vectors, split)
    out = {
        "task": "link_prediction",
        "graph": str(args.graph),
        "method": args.method,
        "test_edges": len(split.test_pos),
        "auc": auc,
        **res.timings,
    }
    print(
        json.dumps(out)
        if args.json
        else f"link prediction ({args.method}, Hadamard + logistic regression): ROC-AUC {auc:.4f} "
        f"on {len(split.test_pos)} held-out edges and as many non-edges"
    )
    return 0
