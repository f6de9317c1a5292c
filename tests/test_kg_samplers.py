"""KG corruption samplers: Bernoulli probabilities by hand, laws by chi-square, filtering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _kg_threads import one_torch_thread  # noqa: F401
from _sampler_stats import chi2_pvalue

from negkit.samplers import false_negative_rate, get_kg
from negkit.samplers.kg_corrupt import bernoulli_probs
from negkit.samplers.kg_filter import BloomTripleSet, ExactTripleSet

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]

# r0: heads {0, 4}, tails {1, 2, 3}, 4 triples; r1: heads {1, 2, 3}, tail {5}, 3 triples
TINY = np.array([[0, 0, 1], [0, 0, 2], [0, 0, 3], [4, 0, 1], [1, 1, 5], [2, 1, 5], [3, 1, 5]])


def random_kg(n_ent=30, n_rel=3, n=150, seed=0):
    rng = np.random.default_rng(seed)
    t = np.stack([rng.integers(0, n_ent, n), rng.integers(0, n_rel, n),
                  rng.integers(0, n_ent, n)], axis=1)  # fmt: skip
    return np.unique(t, axis=0)


def test_bernoulli_probabilities_by_hand():
    p = bernoulli_probs(torch.as_tensor(TINY), 3)
    # r0: tph = 4/2 = 2, hpt = 4/3 -> 2 / (2 + 4/3) = 0.6; r1: tph = 1, hpt = 3 -> 0.25;
    # r2 absent from train -> 0.5
    torch.testing.assert_close(p, torch.tensor([0.6, 0.25, 0.5]))
    s = get_kg("bernoulli", filter=None, seed=0).fit(triples=TINY, n_entities=6, n_relations=3)
    h, t = s.sample(np.array([[0, 0, 1]] * 4000 + [[1, 1, 5]] * 4000), 5)
    head_share = (h != torch.as_tensor([0] * 4000 + [1] * 4000)[:, None]).float()
    # a corrupted head equal to the old one (1 in 6) looks unchanged: share = p * 5/6
    assert float(head_share[:4000].mean()) == pytest.approx(0.6 * 5 / 6, abs=0.015)
    assert float(head_share[4000:].mean()) == pytest.approx(0.25 * 5 / 6, abs=0.015)


def _outcome_law(sampler, triple, n_ent, known=None):
    """Probability of every (h', t') outcome for ``triple``'s relation, filtered by ``known``."""
    p_head, p_tail = (x.numpy() for x in sampler.distribution(triple))
    h, r, t = triple
    probs = np.zeros(n_ent * n_ent)
    probs[np.arange(n_ent) * n_ent + t] += p_head
    probs[h * n_ent + np.arange(n_ent)] += p_tail
    if known is not None:
        for kh, kr, kt in known:
            if kr == r:
                probs[kh * n_ent + kt] = 0.0
    return probs / probs.sum()


LAWS = [("kg_uniform", {}), ("bernoulli", {}), ("typed", {}), ("typed", {"bernoulli": True})]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, params", LAWS)
@pytest.mark.parametrize("filt", [None, "exact"])
def test_law_chi_square(name, params, filt, device):
    kg = random_kg()
    E = 30
    s = get_kg(name, filter=filt, seed=1, **params).fit(triples=kg, n_entities=E, n_relations=3,
                                                        device=device)  # fmt: skip
    # the triple of the most frequent relation with the most common head
    triple = tuple(int(x) for x in kg[np.argmax(kg[:, 1] == np.bincount(kg[:, 1]).argmax())])
    h, t = s.sample(torch.as_tensor([triple] * 200, device=device), 100)
    assert h.device.type == t.device.type == device
    draws = (h * E + t).cpu().numpy().ravel()
    probs = _outcome_law(s, triple, E, kg if filt else None)
    assert chi2_pvalue(draws, probs) > 1e-4


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["kg_uniform", "bernoulli", "typed", "self_adversarial",
                                  "nscaching"])  # fmt: skip
@pytest.mark.parametrize("filt", ["exact", "bloom"])
def test_filtering_never_returns_a_known_triple(name, filt, device):
    from negkit.kg.models import make_model

    for kg, E, R in ((TINY, 6, 3), (random_kg(12, 2, 100, seed=3), 12, 2)):
        model = make_model("distmult", E, R, 4).to(device)  # nscaching scores with it
        s = get_kg(name, filter=filt, seed=0).fit(triples=kg, n_entities=E, n_relations=R,
                                                  model=model, device=device)  # fmt: skip
        batch = torch.as_tensor(np.repeat(kg, 10, axis=0), device=device)
        h, t = s.sample(batch, 16)
        known = ExactTripleSet(kg, E, R, device)
        assert not bool(known.contains(h, batch[:, 1:2], t).any())
        # each negative changes exactly one side of its positive
        same_h = h == batch[:, :1]
        same_t = t == batch[:, 2:]
        assert bool((same_h ^ same_t).all())


def test_typed_falls_back_when_domain_and_range_are_all_known():
    # (0, 0, 1): domain {0, 4} and range {1, 2, 3} of r0 only give known triples
    s = get_kg("typed", seed=0).fit(triples=TINY, n_entities=6, n_relations=3)
    h, t = s.sample(np.array([[0, 0, 1]]), 200)
    assert not bool(ExactTripleSet(TINY, 6, 3).contains(h, torch.tensor([[0]]), t).any())
    unfiltered = get_kg("typed", filter=None, seed=0).fit(triples=TINY, n_entities=6, n_relations=3)
    h, t = unfiltered.sample(np.array([[0, 0, 1]]), 200)
    assert set(h.unique().tolist()) <= {0, 4} and set(t.unique().tolist()) <= {1, 2, 3}


def test_impossible_filtering_raises():
    full = np.array([[0, 0, 0], [0, 0, 1], [1, 0, 0], [1, 0, 1]])  # every triple of r0 known
    s = get_kg("kg_uniform", seed=0, max_rounds=3).fit(triples=full, n_entities=2, n_relations=1)
    with pytest.raises(RuntimeError, match="known triples still drawn"):
        s.sample(full, 4)


def test_bloom_set_has_no_false_negatives_and_its_expected_false_positives():
    kg = random_kg(400, 5, 20000, seed=1)
    bloom = BloomTripleSet(kg, 400, 5, bits_per_key=10)
    t = torch.as_tensor(kg)
    assert bool(bloom.contains(t[:, 0], t[:, 1], t[:, 2]).all())
    rng = np.random.default_rng(2)
    q = torch.as_tensor(rng.integers(0, [400, 5, 400], size=(200000, 3)))
    exact = ExactTripleSet(kg, 400, 5)
    outside = ~exact.contains(q[:, 0], q[:, 1], q[:, 2])
    fp = float(bloom.contains(q[:, 0], q[:, 1], q[:, 2])[outside].float().mean())
    assert fp == pytest.approx(bloom.expected_false_positive_rate(), abs=0.004)
    assert 0 < fp < 0.03


def test_false_negative_rate_and_errors():
    s = get_kg("kg_uniform", filter=None, seed=0).fit(triples=TINY, n_entities=6, n_relations=3)
    everything = ExactTripleSet(TINY, 6, 3)
    h, t = s.sample(TINY, 2000)
    fnr = false_negative_rate(h, torch.as_tensor(TINY[:, 1]), t, everything)
    # per row: the positive itself (1/6) + for r0 rows ... computed exactly below
    exact = 0.0
    for kh, kr, kt in TINY:
        hits = sum(((e, kr, kt) in set(map(tuple, TINY.tolist()))) for e in range(6))
        hits_t = sum(((kh, kr, e) in set(map(tuple, TINY.tolist()))) for e in range(6))
        exact += 0.5 * hits / 6 + 0.5 * hits_t / 6
    assert fnr == pytest.approx(exact / len(TINY), abs=0.01)
    with pytest.raises(ValueError, match="unknown KG sampler"):
        get_kg("nope")
    with pytest.raises(ValueError, match="filter must be"):
        get_kg("bernoulli", filter="hash")
    with pytest.raises(ValueError, match="out of range"):
        get_kg("bernoulli").fit(triples=TINY, n_entities=5, n_relations=3)
    with pytest.raises(RuntimeError, match="not fitted"):
        get_kg("bernoulli").sample(TINY, 2)


def test_nscaching_draws_from_caches_and_refreshes_towards_high_scores():
    from negkit.kg.models import make_model

    kg = random_kg(40, 2, 120, seed=4)
    model = make_model("distmult", 40, 2, 4)
    with torch.no_grad():  # entity 7 scores far above every other for every query
        model.entity.fill_(0.1)
        model.relation.fill_(1.0)
        model.entity[7] = 5.0
    s = get_kg("nscaching", cache_size=3, n_random=5, filter=None, seed=0)
    s.fit(triples=kg, n_entities=40, n_relations=2, model=model)
    batch = torch.as_tensor(kg[:10])
    h, t = s.sample(batch, 50)
    head = h != batch[:, :1]
    rows_t = s.caches_["tail"][s._rows(batch, "tail")]
    for b in range(10):  # every tail drawn comes from the (h, r) cache
        assert set(t[b][~head[b]].tolist()) <= set(rows_t[b].tolist())
    s.caches_["tail"][:] = torch.tensor([7, 1, 2])
    with torch.no_grad():
        model.entity[7] = 50.0  # s(h, r, 7) = 20 against 0.04 (h != 7): p(7) ~ 1 - 7e^-20
    s.update(batch)
    assert bool((s.caches_["tail"][s._rows(batch, "tail")] == 7).any(dim=1).all())
    with pytest.raises(ValueError, match="fit\\(model=...\\) is required"):
        get_kg("nscaching").fit(triples=kg, n_entities=40, n_relations=2)


def test_self_adversarial_sampler_weights():
    s = get_kg("self_adversarial", alpha=2.0, seed=0)
    s.fit(triples=TINY, n_entities=6, n_relations=3)
    neg = torch.tensor([[0.0, 1.0]])
    e = np.exp([0.0, 2.0])
    torch.testing.assert_close(s.weights(neg), torch.as_tensor(e / e.sum()).float()[None])
    assert get_kg("bernoulli").weights(neg) is None


def test_dns_through_the_per_draw_contract_picks_high_scores():
    from negkit.kg.models import make_model

    kg = random_kg(40, 2, 120, seed=5)
    torch.manual_seed(0)
    model = make_model("distmult", 40, 2, 8)
    with torch.no_grad():
        model.entity.normal_()
        model.relation.normal_()
    fit = {"triples": kg, "n_entities": 40, "n_relations": 2, "model": model}
    batch = torch.as_tensor(kg[:20])
    scores = {}
    for name in ("kg_uniform", "dns"):
        s = get_kg(name, seed=0, filter=None).fit(**fit)
        h, t = s.sample(batch, 64)
        scores[name] = float(model.score(h, batch[:, 1:2], t).detach().mean())
    # the best of 32 uniform candidates (dns' default) outscores one uniform entity
    assert scores["dns"] > scores["kg_uniform"] + 2.0
    assert "dns" in __import__("negkit.samplers", fromlist=["x"]).available_kg()


@pytest.mark.parametrize(
    "spec, match",
    [("typed:bernoulli=no", "bernoulli must be true or false, got 'no'"),
     ("self_adversarial:bernoulli=1", "bernoulli must be true or false, got 1"),
     ("nscaching:bernoulli=yes", "bernoulli must be true or false, got 'yes'"),
     ("dns:bernoulli=off", "bernoulli must be true or false, got 'off'"),
     ("nscaching:cache_size=5.5", r"cache_size must be an integer >= 1, got 5\.5"),
     ("nscaching:n_random=-1", "n_random must be an integer >= 0, got -1"),
     ("kg_uniform:max_rounds=2.5", r"max_rounds must be an integer >= 1, got 2\.5")],
)  # fmt: skip
def test_spec_values_of_the_wrong_kind_are_refused_not_taken_as_truthy(spec, match):
    """A spec's values arrive as text or numbers: ``typed:bernoulli=no`` used to turn the
    Bernoulli side choice *on* (a non-empty string is truthy) and ``cache_size=5.5`` ran
    with 5; both are refused now."""
    from negkit.cli.kg import make_sampler

    with pytest.raises(ValueError, match=match):
        make_sampler(spec, "exact", 0)
    for ok in ("typed:bernoulli=false", "typed:bernoulli=true"):
        s = make_sampler(ok, "exact", 0)
        assert s.bernoulli is ok.endswith("true")
    s = make_sampler("typed:bernoulli=false", "none", 0)
    s.fit(triples=TINY, n_entities=6, n_relations=3)
    torch.testing.assert_close(s.p_head_, torch.full((3,), 0.5))


def test_nscaching_laws_chi_square():
    """NSCaching's two laws against the exact ones on a tiny KG: a negative is drawn
    uniformly from the query's cache (duplicates count twice), and a refresh with N1 = 1
    keeps entity e of {cached c0} + N2 = 2 uniform draws with probability exp(s_e) / sum."""
    from itertools import product

    from negkit.kg.models import make_model

    E = 6
    kg = np.array([[0, 0, 1], [2, 0, 3]])
    values = np.array([1.0, 0.5, 0.2, 0.1, -0.3, 0.7])
    model = make_model("distmult", E, 1, 1)
    with torch.no_grad():  # s(0, r, e) = values[e]
        model.entity[:, 0] = torch.as_tensor(values, dtype=torch.float32)
        model.relation.fill_(1.0)
    s = get_kg("nscaching", cache_size=3, n_random=2, filter=None, seed=0)
    s.fit(triples=kg, n_entities=E, n_relations=1, model=model)
    b = torch.tensor([[0, 0, 1]])
    s.caches_["tail"][s._rows(b, "tail")] = torch.tensor([4, 4, 2])
    s.caches_["head"][s._rows(b, "head")] = torch.tensor([5, 0, 3])
    h, t = s.sample(b.expand(4000, 3), 5)
    draws = torch.where(h != 0, h, t + E).numpy().ravel()  # heads 0..5, tails 6..11
    probs = np.zeros(2 * E)
    probs[[5, 3]] += 0.5 / 3
    np.add.at(probs, E + np.array([4, 4, 2]), 0.5 / 3)
    probs[E + 1] += 0.5 / 3  # head 0, the positive's own: (0, r, 1) reads as tail 1
    assert chi2_pvalue(draws, probs) > 1e-4

    s1 = get_kg("nscaching", cache_size=1, n_random=2, filter=None, seed=1)
    s1.fit(triples=kg, n_entities=E, n_relations=1, model=model)
    row = s1._rows(b, "tail")
    kept = []
    for _ in range(6000):
        s1.caches_["tail"][row] = torch.tensor([[5]])
        s1.update(b)
        kept.append(int(s1.caches_["tail"][row][0, 0]))
    law = np.zeros(E)
    for a, c in product(range(E), repeat=2):
        cand = [5, a, c]
        w = np.exp(values[cand]) / np.exp(values[cand]).sum()
        np.add.at(law, cand, w / E**2)
    assert chi2_pvalue(kept, law) > 1e-4
