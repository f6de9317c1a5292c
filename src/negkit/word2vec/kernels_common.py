"""Pieces shared by the word2vec kernels: gradient, loss, diagnostics, subsampling.

Gradient on saturated scores (word2vec.c, Mikolov et al. 2013): with
``sigma(f) = 1 / (1 + exp(-f))`` and ``MAX_EXP = 6``, the update of a pair with
label ``y`` is ``g = (y - s) * alpha`` where ``s = 1`` when ``f > 6``, ``0`` when
``f < -6`` and ``sigma(f)`` otherwise.  So a negative scored above 6 gets the full
gradient ``-alpha`` (word2vec.c), instead of none as in gensim, which skips every
pair with ``|f| >= 6``: hard-negative samplers would be silenced there.

Per-thread ``stats`` (float64) slots are listed by the ``ST_*`` constants;
``hist`` counts negative scores over ``N_BINS`` equal bins of [HIST_LO, HIST_HI]
(outside values go to the end bins).
"""

from __future__ import annotations

import numpy as np

from negkit._jit import kernel
from negkit._rng import rand_float, rand_int

MAX_EXP = 6.0
N_BINS = 40
HIST_LO, HIST_HI = -10.0, 10.0
#: Bin edges of ``neg_score_hist``.
NEG_SCORE_BINS = np.linspace(HIST_LO, HIST_HI, N_BINS + 1)

ST_LOSS, ST_PAIRS, ST_NEG_SIG, ST_NEGS, ST_EFFECTIVE, ST_RAW, ST_SENTENCES = range(7)
N_STATS = 7


#: Table resolution of sigmoid and log-sigmoid on [-MAX_EXP, MAX_EXP] (word2vec.c uses 1000).
TABLE_SIZE = 2048
_GRID = ((np.arange(TABLE_SIZE, dtype=np.float64) + 0.5) / TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-_GRID))).astype(np.float32)
#: log(1 + exp(x)) = -log sigma(-x), the loss of a pair whose signed score is -x.
SOFTPLUS_TABLE = np.log1p(np.exp(_GRID)).astype(np.float32)
_SCALE = TABLE_SIZE / (2.0 * MAX_EXP)


@kernel(inline="always")
def saturated_sigmoid(f):
    """word2vec.c's sigmoid: exactly 1 above MAX_EXP, 0 below -MAX_EXP, a table lookup between."""
    if f >= MAX_EXP:
        return np.float32(1.0)
    if f <= -MAX_EXP:
        return np.float32(0.0)
    return SIGMOID_TABLE[int((f + MAX_EXP) * _SCALE)]


@kernel(inline="always")
def pair_loss(f, label):
    """-log sigma(f) for a positive (label 1), -log sigma(-f) for a negative (table; linear tails).

    Outside [-MAX_EXP, MAX_EXP] softplus(x) is taken as max(x, 0), off by < 0.0025.
    """
    x = -f if label == 1 else f
    if x >= MAX_EXP:
        return x
    if x <= -MAX_EXP:
        return 0.0
    return SOFTPLUS_TABLE[int((x + MAX_EXP) * _SCALE)]


@kernel(inline="always")
def hist_bin(f):
    b = int((f - HIST_LO) * (N_BINS / (HIST_HI - HIST_LO)))
    if b < 0:
        return 0
    if b >= N_BINS:
        return N_BINS - 1
    return b


@kernel(inline="always")
def add_stats(stats, hist, h_loc, raw, loss, neg_sig, n_negs, pairs, effective, sentences):
    """Add a chunk's thread-local counters to the thread's ``stats`` row and ``hist``."""
    stats[ST_RAW] += raw
    stats[ST_LOSS] += loss
    stats[ST_NEG_SIG] += neg_sig
    stats[ST_NEGS] += n_negs
    stats[ST_PAIRS] += pairs
    stats[ST_EFFECTIVE] += effective
    for k in range(h_loc.shape[0]):
        hist[k] += h_loc[k]
    stats[ST_SENTENCES] += sentences


@kernel(inline="always")
def draw_targets(draw_pair, state, anchor, word, vec, negative, ctx, targets):
    """``targets[0] = word`` (the positive), then ``negative`` draws for ``(anchor, vec)`` by
    the sampler's ``draw_pair`` (:meth:`negkit.samplers.Sampler.pair_kernel`); a draw equal
    to ``word`` is skipped (word2vec.c).  Returns how many targets were filled.

    The caller keeps ``vec`` unchanged until it has them all.
    """
    targets[0] = word
    draw_pair(state, anchor, word, vec, ctx, targets[1 : negative + 1])
    nt = 1
    for j in range(1, negative + 1):
        t = targets[j]
        if t != word:
            targets[nt] = t
            nt += 1
    return nt


@kernel
def subsample(tokens, lo, hi, keep_prob, ctx, out):
    """Copy ``tokens[lo:hi]`` into ``out`` keeping each word w with probability keep_prob[w].

    Returns the number kept.  A keep probability >= 1 draws no random number, as in gensim.
    """
    n = 0
    for i in range(lo, hi):
        w = tokens[i]
        p = keep_prob[w]
        if p < 1.0 and p < rand_float(ctx):
            continue
        out[n] = w
        n += 1
    return n


@kernel(inline="always")
def reduced_window(window, shrink, ctx):
    """word2vec's shrinking window: an effective half-width uniform in 1..window."""
    if shrink:
        return window - rand_int(ctx, window)
    return window


@kernel(inline="always")
def current_alpha(alpha0, alpha1, done, total):
    """Linear decay from alpha0 to alpha1 over ``total`` raw words (word2vec / gensim)."""
    if total <= 0:
        return alpha0
    frac = done / total
    if frac > 1.0:
        frac = 1.0
    a = alpha0 - (alpha0 - alpha1) * frac
    return a if a > alpha1 else alpha1


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec's keep probability of each word, float64, clipped to 1.

    With ``t = sample * total`` (total = retained tokens), a word of count ``c``
    is kept with probability ``(sqrt(c / t) + 1) * t / c`` (word2vec.c, gensim);
    ``sample <= 0`` keeps everything.  ``sample >= 1`` is gensim's count threshold:
    ``t = int(sample * (3 + sqrt 5) / 2)``, so words of more than about ``sample``
    occurrences are downsampled (read as a fraction it would keep every word).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones(counts.shape[0], dtype=np.float64)
    t = sample * counts.sum() if sample < 1.0 else float(int(sample * (3 + np.sqrt(5)) / 2))
    with np.errstate(divide="ignore"):
        p = (np.sqrt(counts / t) + 1.0) * t / counts
    p[~np.isfinite(p)] = 1.0
    return np.minimum(p, 1.0)
