"""Counter-free random numbers for compiled loops.

Every compiled loop in negkit draws from an explicit per-thread *context*: a
``uint64`` array of length :data:`CTX_LEN`.  Passing it by argument (instead of
numba's hidden global generator) is what makes seeded single-threaded runs
repeat exactly and lets threads draw without sharing state.

Slots of a context array:

``ctx[0]``  xorshift64* state (never 0);
``ctx[1]``  trials used by the last draw (WARP's rank estimate; 1 otherwise);
``ctx[2]``  draws made through this context (samplers use it to schedule refreshes);
``ctx[3]``  pair serial: a loop that draws several negatives for one anchor vector bumps it
           (:func:`next_pair`) before the first of them, promising that ``anchor`` and
           ``vec`` stay unchanged until the next bump; samplers may then reuse work done
           for that vector (the adaptive sampler's envelope).  0: no promise;
``ctx[4:]`` scratch (:data:`CTX_SCRATCH_LEN` words): per-thread memory a sampler may keep between
           draws, e.g. the adaptive sampler's envelope of the pair's vector.  Whatever a
           sampler keeps there must carry its own validity key (owner, inputs), since
           contexts are shared by every sampler a thread uses; zero means empty.

The generator is xorshift64* (Vigna 2016, "An experimental exploration of
Marsaglia's xorshift generators, scrambled"): 3 shifts and one multiply a draw.
Seeds are expanded with splitmix64 so that nearby seeds give unrelated streams.
"""

from __future__ import annotations

import numpy as np

from negkit._jit import kernel

CTX_RNG, CTX_TRIALS, CTX_DRAWS, CTX_PAIR = 0, 1, 2, 3
#: First word, and number of words, of a context's scratch area.
CTX_SCRATCH, CTX_SCRATCH_LEN = 4, 60
#: Words in a context: 512 bytes, so threads' contexts never share a cache line.
CTX_LEN = CTX_SCRATCH + CTX_SCRATCH_LEN

_MULT = np.uint64(2685821657736338717)
_INV_2_53 = 1.0 / 9007199254740992.0


def _splitmix64(x: int) -> tuple[int, int]:
    mask = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & mask
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return x, z ^ (z >> 31)


def make_contexts(seed: int | None, n: int = 1) -> np.ndarray:
    """Return ``n`` independent contexts, shape ``(n, CTX_LEN)``, seeded from ``seed``.

    ``seed=None`` draws a seed from the operating system.
    """
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    ctx = np.zeros((n, CTX_LEN), dtype=np.uint64)
    x = int(seed)
    for i in range(n):
        x, z = _splitmix64(x)
        ctx[i, CTX_RNG] = z or 0x9E3779B97F4A7C15
        ctx[i, CTX_TRIALS] = 1
    return ctx


@kernel(inline="always")
def xorshift_step(x):
    """One step of the generator on a state held in a variable: ``(new state, 64 bits)``.

    For loops that draw an unknown number of times (rejection): they read ``ctx[0]`` once,
    step a local state and store it back once.  Numba gives LLVM no type-based alias
    information, so ``ctx[0]`` written at every draw stays a store per iteration, and the
    load after a mispredicted loop exit then waits on it (measured: +15 ns a draw).
    """
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    return x, x * _MULT


@kernel(inline="always")
def next_u64(ctx):
    """Advance the generator in ``ctx`` and return 64 random bits."""
    x, r = xorshift_step(ctx[0])
    ctx[0] = x
    return r


@kernel(inline="always")
def next_pair(ctx):
    """Start a new pair: the next draws share one (anchor, vec), unchanged until the next call."""
    ctx[CTX_PAIR] += np.uint64(1)


@kernel(inline="always")
def rand_float(ctx):
    """Uniform float64 in [0, 1) with 53 random bits."""
    return (next_u64(ctx) >> np.uint64(11)) * _INV_2_53


@kernel(inline="always")
def rand_int(ctx, n):
    """Uniform integer in [0, n), by Lemire's multiply-shift on 32 high bits.

    Exact for n < 2**32 up to a bias below n / 2**32 (< 1e-4 for a vocabulary of
    400k), which no test at 10**6 draws can see.
    """
    hi = next_u64(ctx) >> np.uint64(32)
    return np.int64((hi * np.uint64(n)) >> np.uint64(32))
