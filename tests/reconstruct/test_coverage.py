"""Pooled plausible reconstructions cover; one reconstruction treated as data does not.

Simulated digitised curves (:mod:`resurv.reconstruct.coverage`, Exponential model with
closed-form posteriors). Two designs: a curve with its at-risk table and total events, where
the reconstruction is nearly exact and pooling must not inflate the intervals; and a bare
curve (no at-risk table, no total events), where Guyot's algorithm has to assume no
censoring and one reconstruction is over-confident. The fast tests use few replicates with
thresholds several Monte-Carlo SEs from the expected values; the slow test runs 200
replicates and checks 90% coverage within the 99% binomial band (0.845-0.955).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from resurv.reconstruct.coverage import CoverageSettings, coverage_simulation, coverage_summary

BARE = {"n": (150, 150), "risk_step": None, "total_events": False}


def summary(**kw):
    settings = replace(CoverageSettings(), **kw)
    table = coverage_simulation(settings)
    s = coverage_summary(table, settings).set_index(["quantity", "method"])
    return table, s


def test_same_seed_same_intervals():
    a, _ = summary(replicates=3, plausible=4)
    b, _ = summary(replicates=3, plausible=4)
    assert a.equals(b)
    c, _ = summary(replicates=3, plausible=4, seed=7)
    assert not a["lower"].equals(c["lower"])


def test_bare_curve_single_reconstruction_is_over_confident_pooled_is_not():
    _, s = summary(replicates=40, plausible=10, **BARE)
    for q in ("log_hr", "surv"):
        single, pooled = s.loc[(q, "single")], s.loc[(q, "pooled")]
        assert pooled.width > 1.2 * single.width
        assert pooled.coverage >= 0.75
        assert single.coverage < pooled.coverage


def test_with_an_at_risk_table_pooling_adds_little_and_both_cover():
    _, s = summary(replicates=30, plausible=10, n=(150, 150))
    for q in ("log_hr", "surv"):
        single, pooled, full = (s.loc[(q, m)] for m in ("single", "pooled", "full"))
        assert single.width <= pooled.width < 1.1 * single.width
        assert abs(single.width - full.width) < 0.05 * full.width
        assert min(single.coverage, pooled.coverage) >= 0.75


@pytest.mark.slow
def test_coverage_of_90_percent_intervals_over_200_bare_curves():
    _, s = summary(replicates=200, plausible=30, **BARE)
    for q in ("log_hr", "surv"):
        assert 0.845 <= s.loc[(q, "full"), "coverage"] <= 0.955
        assert 0.845 <= s.loc[(q, "pooled"), "coverage"] <= 0.955
        assert s.loc[(q, "single"), "coverage"] < 0.845
