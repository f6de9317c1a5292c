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
