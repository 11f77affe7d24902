"""Exact posterior draws for proportions, counts and rates, and the comparison helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from resurv.compare.table import conjugate_draws, figure_kind
from resurv.model.count_terms import CountTerm, ProportionTerm, RateTerm, count_upper_bound
from resurv.model.terms import term_name
from resurv.study.schema import Printed, SurvivalFigure


def _mixture_cdf(term, x):
    w, a, b = term.posterior_components()
    dist = stats.gamma(a, scale=1 / b) if isinstance(term, RateTerm) else stats.beta(a, b)
    return np.sum(w[:, None] * dist.cdf(np.asarray(x)[None, :].repeat(w.size, 0).T).T, axis=0)


@pytest.mark.parametrize(
    "term",
    [
        ProportionTerm.from_printed("recurrence", Printed(50.0, 1), [16, 19, 22, 28]),
        CountTerm("operative_mortality", 0, [19, 22]),
        RateTerm("recurrence_rate", {16: (8,), 22: (11,), 28: (14,)}, mean_followup=9.5),
    ],
    ids=["proportion", "count", "rate"],
)
def test_conjugate_draws_follow_the_exact_mixture(term):
    """Kolmogorov-Smirnov test of 4000 draws against the closed-form mixture CDF."""
    draws = conjugate_draws([term], size=4000, seed=7)[term]
    result = stats.kstest(draws, lambda x: _mixture_cdf(term, np.atleast_1d(x)))
    assert result.pvalue > 0.001


def test_zero_events_upper_bound_sits_beside_the_rule_of_three():
    """0 of 19: the Beta(1, 20) 95% quantile (0.139) is below the rule of three (0.158)."""
    term = CountTerm("om", 0, [19])
    draws = conjugate_draws([term], size=20000, seed=1)[term]
    assert np.quantile(draws, 0.95) == pytest.approx(count_upper_bound(0, 19), abs=0.005)
    assert count_upper_bound(0, 19) < 3 / 19


def test_names_and_kinds():
    assert term_name("survival-4y") == "survival_4y"
    assert term_name("4y") == "f_4y"
    fig = SurvivalFigure(id="s", arm="a", time=4.0, percent=Printed(92.6, 1))
    assert figure_kind(fig) == "survival"


@pytest.fixture(scope="module")
def flagship():
    from resurv.study import load_study

    return load_study("models/grazi2000.toml")


def test_recomputed_survival_never_calls_an_uncounted_figure_infeasible(flagship):
    """A graph past its budget whose search found a configuration is feasible, not infeasible."""
    from resurv.audit import audit
    from resurv.audit.wording import deaths_text
    from resurv.compare.table import _recomputed_survival

    small = audit(flagship, max_states=30, max_edges=60)  # every landmark graph passes the budget
    resected = small.row("survival_4y_resected")
    assert resected.verdict == "feasible" and resected.n_configurations is None
    text = _recomputed_survival(small, flagship.figure("survival_4y_resected"), flagship)
    assert text == "n=19: feasible with 1 death (too many configurations to count)"
    other = _recomputed_survival(small, flagship.figure("survival_4y_not_resected"), flagship)
    assert "no feasible configuration" not in other
    full = audit(flagship)
    for n in (6, 9):  # the ranges decided without the graph are those of the full graph
        lo, hi = full.graph_of("survival_4y_not_resected", n).deaths_range()
        deaths = f"{lo}-{hi} deaths" if lo != hi else deaths_text(lo)
        assert f"n={n}: feasible with {deaths} (too many configurations to count)" in other


def test_recomputed_survival_counts_when_the_audit_counted(flagship):
    from resurv.audit import audit
    from resurv.compare.table import _recomputed_survival

    full = audit(flagship)
    text = _recomputed_survival(full, flagship.figure("survival_4y_resected"), flagship)
    assert text == "n=19: 25/27 = 92.59% (1 death)"


_UNKNOWN_ESTIMATOR = """
[study]
id = "unknown_estimator"
title = "An arm of 5 printing 38% at 1 year, estimator not stated"
citation = "Example A. J Example 2001;1:1-2"
time_unit = "years"
rounding = "round"

[censoring]
accrual = [1990, 1994]
close = 1996.0

[[arm]]
id = "a"
n = 5

[[figure]]
kind = "survival"
id = "s1"
arm = "a"
time = 1
percent = "38"
"""


def test_recomputed_survival_looks_at_every_estimator_the_figure_may_use():
    """Estimator unknown: the life table cannot print 38% of 5 at 1 year, Kaplan-Meier can.

    The audit calls the figure feasible; the recomputed column must say what Kaplan-Meier
    gives, not 'no feasible configuration' from the first estimator alone.
    """
    from resurv.audit import audit
    from resurv.compare.table import _recomputed_survival
    from resurv.study import loads_study

    study = loads_study(_UNKNOWN_ESTIMATOR)
    result = audit(study)
    assert result.row("s1").verdict == "feasible"
    assert audit(study).graph_of("s1", 5, "actuarial").n_configurations() == 0
    text = _recomputed_survival(result, study.figure("s1"), study)
    assert "no feasible configuration" not in text
    assert text.startswith("n=5, Kaplan-Meier: ")
    assert "the actuarial table" not in text
