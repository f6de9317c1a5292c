"""Skip-gram with negatives shared across a window (Ji et al. 2016).

Ji, Shen, Kurpad, Sundaram & Anderson (2016), "Parallelizing Word2Vec in Shared
and Distributed Memory": all context words ``c_1..c_B`` of one centre word ``w``
share the same ``K`` noise words, so a window is one small dense problem:

    S = X Y^T,  X = syn0[c_1..c_B] (B x d),  Y = syn1neg[w, n_1..n_K] ((K+1) x d)
    G = (labels - s(S)) * alpha                     (labels: 1 for w, 0 for noise)
    syn0[c_b] += (G Y)_b,  syn1neg[y_j] += (G^T X)_j

with every product computed from the values at the start of the window.  One
noise row is fetched per window instead of one per pair.  The sampler's anchor
is the centre word ``w`` and its vector the mean of the window's input rows
``X`` (the vector the shared noise is scored against; computed only when
``anchor_mean`` is true, i.e. for score-aware samplers).  A noise draw equal to
``w`` is dropped, as in word2vec.c.
"""

from __future__ import annotations

import numpy as np

from negkit._jit import FAST_ALL, kernel
from negkit.word2vec.kernels_common import (
    add_stats,
    current_alpha,
    draw_targets,
    hist_bin,
    pair_loss,
    reduced_window,
    saturated_sigmoid,
    subsample,
)


@kernel(fastmath=FAST_ALL, boundscheck=False)
def sg_shared_chunk(
    syn0, syn1neg, tokens, offsets, s_lo, s_hi, keep_prob, window, negative, shrink,
    alpha0, alpha1, done0, total, draw_pair, state, ctx, stats, hist, compute_loss, anchor_mean,
):  # fmt: skip
    dim = syn0.shape[1]
    buf = np.empty(offsets[s_hi] - offsets[s_lo], dtype=np.int32)
    outs = np.empty(negative + 1, dtype=np.int64)
    ins = np.empty(2 * window, dtype=np.int64)
    xs = np.empty((2 * window, dim), dtype=np.float32)
    ys = np.empty((negative + 1, dim), dtype=np.float32)
    d_in = np.empty((2 * window, dim), dtype=np.float32)
    d_out = np.empty((negative + 1, dim), dtype=np.float32)
    scores = np.empty((2 * window, negative + 1), dtype=np.float32)
    mean = np.empty(dim, dtype=np.float32)  # the anchor vector handed to the sampler
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
            nb = 0
            for c in range(max(0, i - b), min(n, i + b + 1)):
                if c != i:
                    ins[nb] = buf[c]
                    nb += 1
            if nb == 0:
                continue
            if anchor_mean:  # only score-aware samplers read it
                for d in range(dim):
                    mean[d] = 0.0
                for r in range(nb):
                    for d in range(dim):
                        mean[d] += syn0[ins[r], d]
                inv = np.float32(1.0 / nb)
                for d in range(dim):
                    mean[d] *= inv
            no = draw_targets(draw_pair, state, word, word, mean, negative, ctx, outs)
            # gather X and Y, then scores and gradients from the values at the window's start
            for r in range(nb):
                x = ins[r]
                for d in range(dim):
                    xs[r, d] = syn0[x, d]
                    d_in[r, d] = 0.0
            for j in range(no):
                y = outs[j]
                for d in range(dim):
                    ys[j, d] = syn1neg[y, d]
                    d_out[j, d] = 0.0
            for r in range(nb):  # every score first: independent dot products overlap
                for j in range(no):
                    f = np.float32(0.0)
                    for d in range(dim):
                        f += xs[r, d] * ys[j, d]
                    scores[r, j] = f
            for r in range(nb):
                for j in range(no):
                    f = scores[r, j]
                    label = 1 if j == 0 else 0
                    sig = saturated_sigmoid(f)
                    g = (np.float32(label) - sig) * alpha
                    if label == 0:
                        neg_sig += sig
                        n_negs += 1
                        h_loc[hist_bin(f)] += 1
                    if compute_loss:
                        loss += pair_loss(f, label)
                    for d in range(dim):  # one pass: both gradients read the same lane
                        d_in[r, d] += g * ys[j, d]
                        d_out[j, d] += g * xs[r, d]
            # scatter: syn1neg[y_j] += (G^T X)_j, syn0[c_r] += (G Y)_r
            for j in range(no):
                y = outs[j]
                for d in range(dim):
                    syn1neg[y, d] += d_out[j, d]
            for r in range(nb):
                x = ins[r]
                for d in range(dim):
                    syn0[x, d] += d_in[r, d]
            pairs += nb
    add_stats(stats, hist, h_loc, raw, loss, neg_sig, n_negs, pairs, effective, s_hi - s_lo)
    return raw
