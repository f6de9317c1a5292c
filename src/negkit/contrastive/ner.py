"""Span-based NER trained with sampled non-entity spans (Li, Liu & Shi, ICLR 2021).

"Empirical Analysis of Unlabeled Entity Problem in Named Entity Recognition": when entity
annotations are missing, a model trained on every non-gold span as "O" learns the missing
entities as non-entities.  Training instead on the gold spans plus ``⌈λ n⌉`` spans drawn
uniformly from the non-gold spans of each n-token sentence (the ``span`` sampler of
:mod:`negkit.samplers`) rarely meets a missing entity as a negative.

:class:`SpanNER` is a small version of the paper's model: word embeddings and a character CNN,
a BiLSTM, and a span scorer on ``[h_i; h_j; h_i ⊙ h_j; w_{j-i}]`` (an MLP over the end points'
states and a width embedding) giving a label among the entity types and "O".  The loss is
the cross-entropy over the training spans of a batch.  Decoding labels every span of width ≤
``max_width``, keeps the non-"O" ones and resolves overlaps greedily by probability, as in
the paper.  :func:`train_span_ner` trains it with ``negatives="sampled"`` (the paper) or
``"all"`` (the vanilla baseline); :func:`span_f1` is span-level micro-F1 (exact boundaries
and type).  No pre-trained embeddings are used: word vectors start random.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from negkit.data.conll import NERData

__all__ = ["SpanNER", "train_span_ner", "span_f1", "drop_annotations", "SpanNERResult"]

PAD, UNK = 0, 1


def drop_annotations(data: NERData, rho: float, seed: int) -> NERData:
    """A copy of ``data`` with a fraction ``rho`` of its entity spans removed (tags set to O),
    chosen uniformly at random: the unlabeled-entity setting of Li et al. (2021), Sec. 3."""
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must lie in [0, 1], got {rho!r}")
    all_spans = [(s, sp_) for s, ss in enumerate(data.spans) for sp_ in ss]
    rng = np.random.default_rng(seed)
    n_drop = int(round(rho * len(all_spans)))
    drop = set(rng.choice(len(all_spans), size=n_drop, replace=False).tolist())
    spans: list[list[tuple[int, int, str]]] = [[] for _ in data.spans]
    tags = [["O"] * len(t) for t in data.tokens]
    for i, (s, (a, b, t)) in enumerate(all_spans):
        if i in drop:
            continue
        spans[s].append((a, b, t))
        tags[s][a] = f"B-{t}"
        for j in range(a + 1, b + 1):
            tags[s][j] = f"I-{t}"
    return NERData([list(t) for t in data.tokens], tags, spans, path=data.path)


class _Vocab:
    def __init__(self, data: NERData, min_count: int = 1) -> None:
        wc = Counter(w.lower() for sent in data.tokens for w in sent)
        cc = Counter(c for sent in data.tokens for w in sent for c in w)
        self.words = {w: i + 2 for i, w in enumerate(w for w, c in wc.items() if c >= min_count)}
        self.chars = {c: i + 2 for i, c in enumerate(c for c, n in cc.items() if n >= 2)}

    def encode_one(self, sent: list[str], max_chars: int = 16):
        w = torch.tensor([self.words.get(t.lower(), UNK) for t in sent], dtype=torch.long)
        c = torch.zeros(len(sent), max_chars, dtype=torch.long)
        for j, tok in enumerate(sent):
            ids = [self.chars.get(ch, UNK) for ch in tok[:max_chars]]
            c[j, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return w, c

    def encode(self, sents: list[list[str]], cache: list | None = None):
        enc = cache if cache is not None else [self.encode_one(s) for s in sents]
        pad = torch.nn.utils.rnn.pad_sequence
        return pad([e[0] for e in enc], batch_first=True), pad([e[1] for e in enc], True)


class SpanNER(torch.nn.Module):
    """Words + char-CNN → BiLSTM → span scorer over ``[h_i; h_j; h_i ⊙ h_j; width]``."""

    def __init__(
        self,
        n_words: int,
        n_chars: int,
        n_labels: int,
        max_width: int = 6,
        word_dim: int = 64,
        char_dim: int = 16,
        char_filters: int = 32,
        hidden: int = 64,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.max_width = max_width
        self.word = torch.nn.Embedding(n_words, word_dim, padding_idx=PAD)
        self.char = torch.nn.Embedding(n_chars, char_dim, padding_idx=PAD)
        self.cnn = torch.nn.Conv1d(char_dim, char_filters, 3, padding=1)
        self.lstm = torch.nn.LSTM(
            word_dim + char_filters, hidden, batch_first=True, bidirectional=True
        )
        self.width = torch.nn.Embedding(max_width, 16)
        self.drop = torch.nn.Dropout(dropout)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(6 * hidden + 16, 2 * hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(2 * hidden, n_labels),
        )

    def states(self, words: torch.Tensor, chars: torch.Tensor) -> torch.Tensor:
        b, n, m = chars.shape
        ce = self.char(chars.view(b * n, m)).transpose(1, 2)
        cf = F.relu(self.cnn(ce)).max(dim=2).values.view(b, n, -1)
        x = self.drop(torch.cat([self.word(words), cf], dim=2))
        lengths = (words != PAD).sum(1).clamp_min(1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        h, _ = self.lstm(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=n)
        return self.drop(h)

    def span_logits(self, h: torch.Tensor, sent: torch.Tensor, start: torch.Tensor,
                    end: torch.Tensor) -> torch.Tensor:  # fmt: skip
        hi, hj = h[sent, start], h[sent, end]
        return self.mlp(torch.cat([hi, hj, hi * hj, self.width(end - start)], dim=1))


@dataclass
class SpanNERResult:
    """A trained model with its vocabulary and labels; ``log`` has one record per epoch."""

    model: SpanNER
    vocab: _Vocab
    labels: list[str]
    log: list[dict]

    @torch.no_grad()
    def predict(self, data: NERData, batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        """Entity spans of every sentence (greedy non-overlapping decoding)."""
        self.model.eval()
        mw = self.model.max_width
        out: list[list[tuple[int, int, str]]] = []
        for lo in range(0, len(data), batch_size):
            sents = data.tokens[lo : lo + batch_size]
            if not any(sents):  # only empty sentences: no span (and no LSTM input)
                out.extend([] for _ in sents)
                continue
            dev = next(self.model.parameters()).device
            w, c = self.vocab.encode(sents)
            h = self.model.states(w.to(dev), c.to(dev))
            s_idx, a_idx, b_idx = [], [], []
            for i, s in enumerate(sents):
                for w in range(min(mw, len(s))):
                    for a in range(len(s) - w):
                        s_idx.append(i)
                        a_idx.append(a)
                        b_idx.append(a + w)
            si, ai, bi = (torch.tensor(x, device=dev) for x in (s_idx, a_idx, b_idx))
            prob = torch.softmax(self.model.span_logits(h, si, ai, bi), dim=1)
            p, lab = prob.max(1)
            p, lab = p.cpu(), lab.cpu()
            keep = (lab != 0).nonzero().flatten().tolist()
            per: list[list[tuple[float, int, int, int]]] = [[] for _ in sents]
            for t in keep:
                per[s_idx[t]].append((float(p[t]), a_idx[t], b_idx[t], int(lab[t])))
            for i, cands in enumerate(per):
                taken = np.zeros(len(sents[i]), dtype=bool)
                res = []
                for _, a, b, lab_ in sorted(cands, reverse=True):
                    if not taken[a : b + 1].any():
                        taken[a : b + 1] = True
                        res.append((a, b, self.labels[lab_]))
                out.append(sorted(res))
        return out

    def evaluate(self, data: NERData) -> dict[str, float]:
        return span_f1(data.spans, self.predict(data))


def span_f1(gold: list[list[tuple]], pred: list[list[tuple]]) -> dict[str, float]:
    """Span-level micro precision, recall and F1: a prediction counts when its start, end and
    type all match a gold entity of the same sentence."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    tp = sum(len(set(g) & set(p)) for g, p in zip(gold, pred))
    ng, np_ = sum(len(set(g)) for g in gold), sum(len(set(p)) for p in pred)
    prec = tp / np_ if np_ else 0.0
    rec = tp / ng if ng else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "gold": ng, "predicted": np_}


def train_span_ner(
    train: NERData,
    *,
    negatives: str = "sampled",
    lam: float = 0.35,
    max_width: int = 6,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 2e-3,
    seed: int = 0,
    labels: list[str] | None = None,
    model_kw: dict[str, Any] | None = None,
    device: Any = None,
) -> SpanNERResult:
    """Train :class:`SpanNER` on ``train``.

    negatives : ``"sampled"`` -- the gold spans plus ``⌈λ n⌉`` non-gold spans per sentence
        drawn uniformly by the ``span`` sampler (Li et al. 2021; drawn with replacement, then
        de-duplicated); ``"all"`` -- every non-gold span of width ≤ ``max_width`` as "O"
        (the vanilla baseline).  Gold spans wider than ``max_width`` are left out.
    labels : the entity types to learn (default: those of ``train``); a gold span of another
        type is refused (``ValueError``), not trained as "O".
    """
    import negkit.samplers as ns
    from negkit.samplers.span import span_code, span_decode

    if negatives not in ("sampled", "all"):
        raise ValueError(f"negatives must be 'sampled' or 'all', got {negatives!r}")
    if not lam > 0:
        raise ValueError(f"lam must be positive, got {lam!r}")
    torch.manual_seed(seed)
    labels = ["O", *(labels or train.types)]
    lab_id = {t: i for i, t in enumerate(labels)}
    unknown = sorted({t for ss in train.spans for _, _, t in ss} - set(lab_id) - {"O"})
    if unknown:  # they would have been neither gold nor kept from the "O" negatives
        raise ValueError(
            f"gold spans of type(s) {unknown} are not in labels={labels[1:]}: add them, or "
            "relabel the data without them"
        )
    vocab = _Vocab(train)
    model = SpanNER(len(vocab.words) + 2, len(vocab.chars) + 2, len(labels), max_width,
                    **(model_kw or {}))  # fmt: skip
    if device is not None:
        model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    lengths = np.array([len(t) for t in train.tokens], dtype=np.int64)
    rows, codes, gold_lab = [], [], {}
    for s, ss in enumerate(train.spans):
        for a, b, t in ss:
            if b - a < max_width and t in lab_id:
                c = int(span_code(a, b, max_width))
                rows.append(s)
                codes.append(c)
                gold_lab[(s, c)] = lab_id[t]
    n_items = int(lengths.max()) * max_width
    gold = sp.csr_matrix((np.ones(len(rows)), (rows, codes)), shape=(len(lengths), n_items))
    sampler = ns.get("span", max_width=max_width, seed=seed).fit(lengths=lengths, positives=gold)
    rng = np.random.default_rng(seed)
    enc = [vocab.encode_one(t) for t in train.tokens]
    log = []
    for epoch in range(1, epochs + 1):
        model.train()
        t0, total, n_spans = time.perf_counter(), 0.0, 0
        order = rng.permutation(len(lengths))
        for lo in range(0, len(order), batch_size):
            idx = order[lo : lo + batch_size]
            sents = [train.tokens[i] for i in idx]
            si, ai, bi, yi = [], [], [], []
            if negatives == "sampled":
                k = max(1, max(math.ceil(lam * lengths[i]) for i in idx))
                draws = sampler.sample(idx, k)
            for r, s in enumerate(idx):
                g = gold.indices[gold.indptr[s] : gold.indptr[s + 1]]
                if negatives == "sampled":
                    neg = np.unique(draws[r, : math.ceil(lam * lengths[s])])
                    neg = neg[neg >= 0]
                else:
                    neg = sampler.spans(s)
                    neg = neg[~np.isin(neg, g)]
                for c in g:
                    st, en = span_decode(c, max_width)
                    si.append(r), ai.append(int(st)), bi.append(int(en))
                    yi.append(gold_lab[(int(s), int(c))])
                st, en = span_decode(neg, max_width)
                si += [r] * len(neg)
                ai += st.tolist()
                bi += en.tolist()
                yi += [0] * len(neg)
            if not si:
                continue
            w, c = vocab.encode(sents, [enc[i] for i in idx])
            dev = next(model.parameters()).device
            h = model.states(w.to(dev), c.to(dev))
            t = [torch.tensor(x, device=dev) for x in (si, ai, bi, yi)]
            loss = F.cross_entropy(model.span_logits(h, t[0], t[1], t[2]), t[3])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += float(loss.detach()) * len(si)
            n_spans += len(si)
        log.append({"epoch": epoch, "loss": total / max(n_spans, 1), "spans": n_spans,
                    "seconds": time.perf_counter() - t0})  # fmt: skip
    return SpanNERResult(model, vocab, labels, log)
