"""Run what users run, in their order, then check every sampler that takes a positive.

The samplers whose draw reads the pair's positive ``pos`` (dns, softmax, rank, ahns, warp,
srns, band); a new one goes in :data:`LAW_SAMPLERS`, which ``tests/test_kernel_order.py`` checks
against the registry.

    python tests/_kernel_order.py prime          # step 1: compile the kernels as a benchmark,
                                                 # a trainer and a no-positive caller do
    python tests/_kernel_order.py prime check    # step 2: the same, then check the laws

Priming reaches each sampler's kernels first from the callers that once changed them (issue
#20): a ``fastmath=True`` loop like ``bench/samplers.py`` and the trainers (numba inherits
fastmath into callees that leave it unset), a loop that passes the literal ``-1`` ("no
positive"; numba specialises on literals) and the exclusion wrapper.  The check then draws
through :meth:`Sampler.sample` with the pair's positive given, in the same process, after
whatever a cache directory (``NUMBA_CACHE_DIR``) kept from the first run.

Checked, with the positive ``TOP`` (the item the anchor scores highest):
* dns, softmax, rank, ahns: chi-square against ``distribution(pos=TOP)``;
* warp and band (with a margin): chi-square against their laws, worked out here by hand;
* srns: after warm-up, ``TOP`` only when every memory slot holds it;
* each of them with ``exclude_positives=True``: never an item of the anchor's row.

Exits 1 and names each failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).parent))
from _sampler_stats import chi2_pvalue  # noqa: E402

import negkit.samplers as ns  # noqa: E402
from negkit._rng import make_contexts  # noqa: E402

rng = np.random.default_rng(7)
OUT = rng.standard_normal((6, 3)).astype(np.float32)
VEC = rng.standard_normal(3).astype(np.float32)
TOP = int(np.argmax(OUT @ VEC))
POSITIVES = [TOP, (TOP + 1) % 6]  # the anchor's row when exclusion is on

LAW_SAMPLERS = {
    "dns": {"n_candidates": 3},
    "softmax": {"n_candidates": 3, "tau": 0.5},
    "rank": {"n_candidates": 3, "lam": 1.0},
    "ahns": {"n_candidates": 3},
    "warp": {"max_trials": 3, "margin": 0.5},
    "srns": {"memory": 4, "warmup": 0},
    "band": {"range_min": 0, "range_max": 6, "absolute_margin": 0.5},
}


@njit(nogil=True, fastmath=True)
def _fast_loop(draw_pair, state, anchors, vec, pos, ctx, out):
    for r in range(out.shape[0]):  # anchor and positive typed int64, as sample() types them
        draw_pair(state, anchors[r], pos[r], vec, ctx, out[r])


@njit(nogil=True)
def _no_positive_loop(draw, state, vec, ctx):
    return draw(state, 0, -1, vec, ctx)  # literals: numba specialises on them


def _positives_csr():
    import scipy.sparse as sp

    return sp.csr_matrix((np.ones(len(POSITIVES)), ([0, 0], sorted(POSITIVES))), shape=(1, 6))


def _fit(name, params, **extra):
    s = ns.get(name, seed=11, **params, **extra)
    fit = {"output": OUT, "input": VEC[None, :], "counts": np.arange(1, 7), "n_items": 6}
    if "n_anchors" in s.fit_extras:
        fit["n_anchors"] = 1
    if extra.get("exclude_positives"):
        fit["positives"] = _positives_csr()
    return s.fit(**{k: v for k, v in fit.items() if k in _fit_keys(s)})


def _fit_keys(s):
    import inspect

    keys = set(inspect.signature(s.fit).parameters) | set(s.fit_extras)
    return keys


def prime() -> None:
    ctx = make_contexts(0, 1)[0]
    out = np.empty((4, 3), dtype=np.int64)
    pos = np.full(4, TOP, dtype=np.int64)
    for name, params in LAW_SAMPLERS.items():
        for exclude in (False, True):
            s = _fit(name, params, exclude_positives=exclude)
            draw_pair, state = s.pair_kernel()
            _fast_loop(draw_pair, state, np.zeros(4, np.int64), VEC, pos, ctx, out)
            if not exclude:
                draw, state = s.kernel()
                _no_positive_loop(draw, state, VEC, ctx)


def _warp_law(max_trials: int, margin: float) -> np.ndarray:
    """Uniform trials until ``s(c) > s(pos) - margin``, at most T; else the last one."""
    s = (OUT @ VEC).astype(np.float64)
    viol = s > s[TOP] - margin
    rho = viol.mean()
    q = np.where(viol, (1 - (1 - rho) ** max_trials) / viol.sum(), 0.0)
    if (~viol).any():
        q[~viol] = (1 - rho) ** max_trials / (~viol).sum()
    return q


def _band_law(margin: float) -> np.ndarray:
    """Uniform over the band (every item here) scored at most ``s(pos) - margin``."""
    s = (OUT @ VEC).astype(np.float64)
    keep = s <= s[TOP] - margin
    return keep / keep.sum() if keep.any() else np.full(6, 1 / 6)


def _draw(s, n=2000, k=50):
    return s.sample(
        np.zeros(n, np.int64), k, anchor_vectors=np.tile(VEC, (n, 1)), pos=np.full(n, TOP)
    )


def check() -> list[str]:
    failures = []
    for name, params in LAW_SAMPLERS.items():
        s = _fit(name, params)
        if name == "srns":
            x = np.concatenate([_draw(s, n=1, k=1).ravel() for _ in range(400)])
            share, bound = float(np.mean(x == TOP)), 0.25**4 + 0.02
            if share > bound:
                failures.append(f"srns drew its positive in {share:.3f} of draws (> {bound:.3f})")
            continue
        if name == "warp":
            q = _warp_law(3, 0.5)
        elif name == "band":
            q = _band_law(0.5)
        else:
            q = s.distribution(anchor_vector=VEC, pos=TOP)
        x = _draw(s)
        try:
            p = chi2_pvalue(x, q)
        except AssertionError as e:
            failures.append(f"{name}: {e}")
            continue
        if p < 1e-4:
            share = float(np.mean(x == TOP))
            failures.append(
                f"{name}: chi-square p = {p:.2g}; positive drawn {share:.4f}, law {q[TOP]:.4f}"
            )
    for name, params in LAW_SAMPLERS.items():
        s = _fit(name, params, exclude_positives=True)
        x = _draw(s, n=500, k=20)
        hit = np.isin(x, POSITIVES)
        if hit.any():
            failures.append(f"{name} with exclude_positives drew a positive {hit.sum()} times")
    return failures


if __name__ == "__main__":
    if "prime" in sys.argv[1:]:
        prime()
    if "check" in sys.argv[1:]:
        bad = check()
        hits = sum(
            sum(d.stats.cache_hits.values())
            for mod in (ns.dns, ns.rank, ns.softmax, ns.ahns, ns.warp, ns.srns)
            for d in vars(mod).values()
            if hasattr(d, "stats")
        )
        print(f"cache hits: {hits}", file=sys.stderr)
        print(
            "\n".join(bad)
            if bad
            else f"OK: {len(LAW_SAMPLERS)} samplers, with and without exclusion"
        )
        sys.exit(1 if bad else 0)
