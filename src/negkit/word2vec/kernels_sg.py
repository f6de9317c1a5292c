"""Skip-gram with negative sampling, exact per pair (Mikolov et al. 2013, word2vec.c).

For every centre word ``w`` and context word ``c`` inside the (shrunk) window,
``c``'s input vector ``syn0[c]`` predicts ``w`` against ``negative`` noise words
``n ~ q(. | c)``, maximising ``log s(syn0[c] . syn1neg[w]) + sum log s(-syn0[c] . syn1neg[n])``.
As in word2vec.c, the sampler's anchor is the input word ``c`` (its live vector
``syn0[c]`` is what score-aware samplers score with), the positive is ``w``, and a
noise draw equal to ``w`` is skipped.  A pair's ``negative`` noise words are drawn
first and its ``1 + negative`` scores computed before any update, so the random
row loads overlap; this equals word2vec.c's sequential order unless a noise word
repeats within one pair (then the repeat sees the row before, not after, the
first update).  One call processes sentences
``[s_lo, s_hi)`` of the encoded corpus, without the GIL, updating the shared
tables in place (Hogwild, Recht et al. 2011).
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
def sg_chunk(
    syn0, syn1neg, tokens, offsets, s_lo, s_hi, keep_prob, window, negative, shrink,
    alpha0, alpha1, done0, total, draw_pair, state, ctx, stats, hist, compute_loss, nce_shift,
):  # fmt: skip
    """Skip-gram with negative sampling; with a non-empty ``nce_shift`` (``log(k q(w))`` per
    word), NCE (Mnih & Teh 2012): ``P(data | w, c) = sigma(s - log(k q(w)))`` for the positive
    and every noise draw alike; noise draws equal to the positive are kept (word2vec.c skips
    them, which would make ``exp(s)`` estimate ``p / (1 - p)``)."""
    use_nce = nce_shift.shape[0] > 0
    dim = syn0.shape[1]
    buf = np.empty(offsets[s_hi] - offsets[s_lo], dtype=np.int32)
    neu1e = np.empty(dim, dtype=np.float32)
    targets = np.empty(negative + 1, dtype=np.int64)
    scores = np.empty(negative + 1, dtype=np.float32)
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
            for c in range(c0, c1):
                if c == i:
                    continue
                inp = buf[c]
                l1 = syn0[inp]
                # draw first, then all scores: independent row loads overlap in the CPU
                if use_nce:  # a noise draw equal to the positive stays a noise sample
                    targets[0] = word
                    draw_pair(state, inp, word, l1, ctx, targets[1 : negative + 1])
                    nt = negative + 1
                else:
                    nt = draw_targets(draw_pair, state, inp, word, l1, negative, ctx, targets)
                for k in range(nt):
                    target = targets[k]
                    f = np.float32(0.0)
                    for d in range(dim):
                        f += l1[d] * syn1neg[target, d]
                    scores[k] = f
                for d in range(dim):
                    neu1e[d] = 0.0
                for k in range(nt):
                    target = targets[k]
                    f = scores[k]
                    label = 1 if k == 0 else 0
                    fz = f - nce_shift[target] if use_nce else f
                    sig = saturated_sigmoid(fz)
                    g = (np.float32(label) - sig) * alpha
                    if label == 0:
                        neg_sig += sig
                        n_negs += 1
                        h_loc[hist_bin(f)] += 1
                    if compute_loss:
                        loss += pair_loss(fz, label)
                    for d in range(dim):
                        out_d = syn1neg[target, d]
                        neu1e[d] += g * out_d
                        syn1neg[target, d] = out_d + g * l1[d]
                for d in range(dim):
                    l1[d] += neu1e[d]
                pairs += 1
    add_stats(stats, hist, h_loc, raw, loss, neg_sig, n_negs, pairs, effective, s_hi - s_lo)
    return raw
