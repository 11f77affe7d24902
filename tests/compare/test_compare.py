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
