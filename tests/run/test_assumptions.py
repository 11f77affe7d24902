"""The report's assumptions name the figures of each landmark term and the cost of approximating."""

from __future__ import annotations

from resurv.model.landmark_terms import APPROXIMATION_COST
from resurv.run.assumptions import assumptions
from resurv.study import load_study


def test_landmark_lines_name_their_figures_and_say_what_the_approximation_costs():
    study = load_study("models/grazi2000.toml")
    methods = {
        "resected": "exact: actuarial: 785 feasible configurations",
        "not_resected": "approximate: the exact feasible set of n = 9 is too large",
    }
    lines = [a for a in assumptions(study, methods) if a.startswith("Landmark likelihood")]
    exact, approx = lines
    assert exact == (
        "Landmark likelihood of arm 'resected' (survival_4y_resected): exact: actuarial: 785 "
        "feasible configurations."
    )
    assert approx.startswith(
        "Landmark likelihood of arm 'not_resected' (survival_4y_not_resected): approximate: "
    )
    assert approx.endswith(APPROXIMATION_COST)
    assert APPROXIMATION_COST not in exact
