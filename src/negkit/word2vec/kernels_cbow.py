"""CBOW with negative sampling (Mikolov et al. 2013, word2vec.c; gensim's scaling).

The context words' input vectors are summed (``cbow_mean=0``) or averaged
(``cbow_mean=1``) into ``h``, which predicts the centre word ``w`` against
``negative`` noise words.  The error ``e`` is added to every context row; with
a sum it is divided by the number of context words first (as gensim does).  The
sampler's anchor is ``w`` with vector ``h``.
"""

from __future__ import annotations

import numpy as np

from negkit._jit import FAST_ALL, kernel
from negkit._rng import next_pair
from negkit.word2vec.kernels_common import (
    add_stats,
    current_alpha,
    hist_bin,
    pair_loss,
    reduced_window,
    saturated_sigmoid,
    subsample,
)


@kernel(fastmath=FAST_ALL, boundscheck=False)
def cbow_chunk(
    syn0, syn1neg, tokens, offsets, s_lo, s_hi, keep_prob, window, negative, shrink,
    alpha0, alpha1, done0, total, draw, state, ctx, stats, hist, compute_loss, cbow_mean,
):  # fmt: skip
    dim = syn0.shape[1]
    buf = np.empty(offsets[s_hi] - offsets[s_lo], dtype=np.int32)
    h = np.empty(dim, dtype=np.float32)
    err = np.empty(dim, dtype=np.float32)
    # thread-local counters (no false sharing with other threads' rows)
    loss = 0.0
    neg_sig = 0.0
    n_negs = 0
    pairs = 0
    effective = 0
    h_loc = np.zeros(hist.shape[0], dtype=np.int64)
    raw = 0
    for s in range(s_lo, s_hi):
        lo = offsets[s]
        hi = offsets[s + 1]
        alpha = np.float32(current_alpha(alpha0, alpha1, done0 + raw, total))
        raw += hi - lo
        n = subsample(tokens, lo, hi, keep_prob, ctx, buf)
        effective += n
        for i in range(n):
            word = buf[i]
            b = reduced_window(window, shrink, ctx)
            c0 = max(0, i - b)
            c1 = min(n, i + b + 1)
            cw = c1 - c0 - 1
            if cw <= 0:
                continue
            for d in range(dim):
                h[d] = 0.0
                err[d] = 0.0
            for c in range(c0, c1):
                if c != i:
                    x = buf[c]
                    for d in range(dim):
                        h[d] += syn0[x, d]
            inv = np.float32(1.0 / cw)
            if cbow_mean:
                for d in range(dim):
                    h[d] *= inv
            next_pair(ctx)  # h is unchanged during the window's draws
            for k in range(negative + 1):
                if k == 0:
                    target = word
                    label = 1
                else:
                    target = draw(state, word, word, h, ctx)
                    if target == word:
                        continue
                    label = 0
                f = np.float32(0.0)
                for d in range(dim):
                    f += h[d] * syn1neg[target, d]
                sig = saturated_sigmoid(f)
                g = (np.float32(label) - sig) * alpha
                if label == 0:
                    neg_sig += sig
                    n_negs += 1
                    h_loc[hist_bin(f)] += 1
                if compute_loss:
                    loss += pair_loss(f, label)
                for d in range(dim):
                    err[d] += g * syn1neg[target, d]
                for d in range(dim):
                    syn1neg[target, d] += g * h[d]
            if not cbow_mean:
                for d in range(dim):
                    err[d] *= inv
            for c in range(c0, c1):
                if c != i:
                    x = buf[c]
                    for d in range(dim):
                        syn0[x, d] += err[d]
            pairs += 1
    add_stats(stats, hist, h_loc, raw, loss, neg_sig, n_negs, pairs, effective, s_hi - s_lo)
    return raw
