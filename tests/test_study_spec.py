"""Sampler specs on the command line: name and settings parsed; the same sampler listed twice
(by name or alias, same settings) is refused, other settings of it are not."""

from __future__ import annotations

import pytest

from negkit.study.spec import parse_spec, parse_spec_list


def test_a_spec_reads_its_settings():
    assert parse_spec("Adaptive:lam=0.5:refresh_every=100:dims=exact:async=true") == (
        "adaptive",
        {"lam": 0.5, "refresh_every": 100, "dims": "exact", "async": True},
    )
    with pytest.raises(ValueError, match="expected key=value"):
        parse_spec("dns:5")
    with pytest.raises(ValueError, match="--samplers is empty"):
        parse_spec_list(" , ")


def test_the_same_sampler_twice_is_refused_but_other_settings_of_it_are_not():
    with pytest.raises(ValueError, match="'uniform' and 'rns' are the same sampler"):
        parse_spec_list("uniform,dns,rns")
    with pytest.raises(ValueError, match="the same sampler with the same settings"):
        parse_spec_list("adaptive:lam=0.5,adaptive:lam=0.5")
    specs = "adaptive:lam=0.5,adaptive:lam=0.2,uniform,dns"
    assert parse_spec_list(specs) == specs.split(",")


def test_a_setting_without_a_value_or_given_twice_is_refused():
    """``adaptive:lam=`` handed lam='' to the sampler (which fails only when a run fits it, in
    the middle of the study); ``adaptive:lam=0.5:lam=0.9`` trained lam=0.9 under a run name
    that names both."""
    with pytest.raises(ValueError, match="'adaptive:lam=': 'lam' has no value"):
        parse_spec("adaptive:lam=")
    with pytest.raises(ValueError, match="'lam' is given twice"):
        parse_spec("adaptive:lam=0.5: lam =0.9")
    with pytest.raises(ValueError, match="'lam' is given twice"):
        parse_spec_list("uniform,adaptive:lam=0.5:lam=0.9")


def test_a_count_written_with_an_exponent_is_an_int():
    """``refresh_every=1e5`` was read as 100000.0, which the adaptive sampler refuses when a
    run fits it: every adaptive run of the study failed after the others had trained."""
    import numpy as np

    import negkit.samplers as ns

    name, params = parse_spec("adaptive:refresh_every=1e5:lam=1e-3:eps=2.5e-4")
    assert params == {"refresh_every": 100_000, "lam": 0.001, "eps": 0.00025}
    assert type(params["refresh_every"]) is int and type(params["lam"]) is float
    assert parse_spec("x:a=1.0:b=inf:c=1E2") == ("x", {"a": 1.0, "b": float("inf"), "c": 100})
    rng = np.random.default_rng(0)
    table = rng.random((50, 4), dtype=np.float32)
    smp = ns.get(name, **params).fit(counts=np.arange(1.0, 51.0), output=table, input=table)
    assert smp.sample(np.array([1, 2]), 3).shape == (2, 3)
