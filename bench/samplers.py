"""Draws per second of every sampler on a 100k vocabulary with d = 100.

Forms, single-threaded:

* compiled: an njit loop in the shape of the skip-gram trainer's -- for each anchor, read
  its vector ``input[a]`` (as every trainer does) and draw its k = 5 negatives with the
  sampler's pair kernel, ``draw_pair(state, a, pos, vec, ctx, negs)`` (by default k calls of
  ``draw(state, a, pos, vec, ctx)`` after ``next_pair(ctx)``); nothing else;
* sgns: the same loop plus, for each negative, word2vec's update (score ``vec . out[neg]``,
  gradient into ``out[neg]`` and into an accumulator for ``vec``): what a draw costs inside
  real training, for context;
* batch: ``sampler.sample(anchors, 5, anchor_vectors=..., pos=...)``.

Refreshes are not part of the draw loops (trainers call ``maybe_refresh`` between chunks);
a refreshing sampler's rebuild (adaptive) is timed on its own and reported as seconds per
refresh and as nanoseconds per draw amortised over its period (default ``|V| ln |V|``), with
the ratio to unigram once that amortised cost is added to the draw.

Samplers are named as on the command line of ``negkit study`` (``name:key=value``); the
adaptive sampler is measured in both dimension modes, ``adaptive`` (dims="exact", the
default, valid for any anchor vector) and ``adaptive:dims=snapshot`` (the anchor's own input
row, as in skip-gram, MF and LINE).

The last lines read ``SAMPLER <spec> draws_per_s=<compiled> ratio_to_unigram=<...>
ratio_with_refresh=<...>`` (the draw-only compiled loop).  Timings are noisy on a shared
machine: each sampler's loop is timed alternately with unigram's (best of ``--repeat``
each), and the ratio is taken between those paired timings, so that both see the same load.

Usage: python bench/samplers.py [--items 100000] [--dim 100] [--seconds 0.3] [--repeat 3]
       [--only SPEC ...]
"""

from __future__ import annotations

import argparse
import math
import time
from functools import partial

import numpy as np
from numba import njit

import negkit.samplers as ns
from negkit._rng import make_contexts
from negkit.study.spec import parse_spec

K = 5


@njit(nogil=True, fastmath=True)
def draw_loop(draw_pair, state, inp, out, anchors, pos, k, ctx):
    acc = 0
    negs = np.empty(k, dtype=np.int64)
    for i in range(anchors.shape[0]):
        a = anchors[i]
        vec = inp[a]
        acc += vec.sum() > 0  # a trainer reads the anchor's vector: every sampler pays the fetch
        draw_pair(state, a, pos[i], vec, ctx, negs)
        for j in range(k):
            acc += negs[j]
    return acc


@njit(nogil=True, fastmath=True)
def sgns_loop(draw_pair, state, inp, out, anchors, pos, k, ctx):
    d = inp.shape[1]
    neu1e = np.zeros(d, dtype=np.float32)
    negs = np.empty(k, dtype=np.int64)
    acc = 0
    for i in range(anchors.shape[0]):
        a = anchors[i]
        vec = inp[a]
        neu1e[:] = 0.0
        draw_pair(state, a, pos[i], vec, ctx, negs)
        for j in range(k):
            c = negs[j]
            acc += c
            row = out[c]
            s = np.float32(0.0)
            for f in range(d):
                s += vec[f] * row[f]
            g = np.float32(-0.025) / (np.float32(1.0) + np.exp(-s))
            for f in range(d):
                neu1e[f] += g * row[f]
                row[f] += g * vec[f]
        for f in range(d):
            vec[f] += neu1e[f]
    return acc


def best_seconds(run, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - t)
    return best


def paired_best(run_a, run_b, repeat: int) -> tuple[float, float]:
    """Best times of two runs taken alternately, so that both see the same machine load."""
    best_a = best_b = math.inf
    for _ in range(repeat):
        best_a = min(best_a, best_seconds(run_a, 1))
        best_b = min(best_b, best_seconds(run_b, 1))
    return best_a, best_b


def loop_run(loop, s, inp, out, rng, seconds: float):
    """``(run, n_draws)``: ``loop`` over enough anchors for about ``seconds``."""
    n = out.shape[0]
    draw, state = s.pair_kernel()
    ctx = make_contexts(1, 1)[0]
    probe = rng.integers(0, n, 200)
    loop(draw, state, inp, out, probe, probe, K, ctx)  # compile
    per_draw = best_seconds(partial(loop, draw, state, inp, out, probe, probe, K, ctx), 1) / 1000
    m = max(200, int(seconds / max(per_draw, 1e-9) / K))
    anchors, pos = rng.integers(0, n, m), rng.integers(0, n, m)
    return partial(loop, draw, state, inp, out, anchors, pos, K, ctx), m * K


def measure(s, ref, inp, out, rng, seconds: float, repeat: int) -> dict[str, float]:
    """Draws per second of ``s`` in the three forms; ``ratio``: compiled, against ``ref``
    (unigram) timed alternately with it."""
    rates: dict[str, float] = {}
    for form, loop in (("compiled", draw_loop), ("sgns", sgns_loop)):
        run, n_draws = loop_run(loop, s, inp, out, rng, seconds)
        ref_run, ref_draws = loop_run(loop, ref, inp, out, rng, seconds)
        t, t_ref = paired_best(run, ref_run, repeat)
        rates[form] = n_draws / t
        rates[form + "_ratio"] = (n_draws / t) / (ref_draws / t_ref)
    m = max(200, int(seconds * rates["compiled"] / K))
    anchors, pos = rng.integers(0, out.shape[0], m), rng.integers(0, out.shape[0], m)
    run = partial(s.sample, anchors, K, anchor_vectors=inp[anchors], pos=pos)
    run()
    rates["batch"] = m * K / best_seconds(run, repeat)
    return rates


def tables(n: int, d: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """The benchmark's tables: ``(rng, output, input, counts)``, Gaussian rows (scale 0.1) and
    Zipf(1.5) counts, from seed 0; ``rng`` then draws the anchors."""
    rng = np.random.default_rng(0)
    out = (rng.standard_normal((n, d)) * 0.1).astype(np.float32)
    inp = (rng.standard_normal((n, d)) * 0.1).astype(np.float32)
    return rng, out, inp, rng.zipf(1.5, n).astype(np.float64)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=0.3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="samplers to measure (unigram always is)")
    args = ap.parse_args(argv)
    n, d = args.items, args.dim
    rng, out, inp, counts = tables(n, d)
    fits = {"uniform": {"n_items": n}, "unigram": {"counts": counts}, "degree": {"counts": counts}}
    print(f"# vocabulary {n}, d={d}, k={K} draws per anchor vector, single thread")
    specs = ns.available() if not args.only else ["unigram", *args.only]
    if not args.only and "adaptive" in specs:
        specs.insert(specs.index("adaptive") + 1, "adaptive:dims=snapshot")
    ref = ns.get("unigram", seed=0).fit(counts=counts)
    results: dict[str, dict[str, float]] = {}
    for spec in dict.fromkeys(specs):
        name, params = parse_spec(spec)
        s = ns.get(name, seed=0, **params)
        fit = fits.get(name, {"output": out, "input": inp})
        t = time.perf_counter()
        s.fit(**fit)
        fit_s = time.perf_counter() - t
        r = measure(s, ref, inp, out, rng, args.seconds, args.repeat)
        results[spec] = r
        extra = ""
        r["with_refresh"] = r["compiled_ratio"]
        every = getattr(s, "refresh_every_", None)
        if every:
            rebuild = best_seconds(s.refresh, args.repeat)
            amort = rebuild / every * 1e9
            ref_ns = r["compiled_ratio"] * 1e9 / r["compiled"]  # unigram, same pairing
            r["with_refresh"] = ref_ns / (1e9 / r["compiled"] + amort)
            extra = (
                f" refresh {rebuild:.3f}s = {amort:.1f} ns/draw over {every} draws"
                f" (x{r['with_refresh']:.3f} unigram with it)"
            )
        print(
            f"{spec:9s} compiled {r['compiled'] / 1e6:9.3f} M/s ({1e9 / r['compiled']:8.1f} ns,"
            f" x{r['compiled_ratio']:.3f} unigram)  sgns {r['sgns'] / 1e6:7.3f} M/s"
            f" ({1e9 / r['sgns']:7.1f} ns, x{r['sgns_ratio']:.3f})"
            f"  batch {r['batch'] / 1e6:8.3f} M/s  fit {fit_s:.2f}s{extra}",
            flush=True,
        )
    for spec, r in results.items():
        print(
            f"SAMPLER {spec} draws_per_s={r['compiled']:.1f} "
            f"ratio_to_unigram={r['compiled_ratio']:.4f} ratio_with_refresh={r['with_refresh']:.4f}"
        )


if __name__ == "__main__":
    main()
