"""Exact feasibility and deaths range without the feasible set, against brute force.

``deaths_bounds`` must give, for every small case, exactly what brute-force enumeration gives
(``fixtures.reference``: every (deaths, censored) sequence, its estimate recomputed from scratch
as a Fraction and printed with ``decimal``, sharing no code with the library): whether the
figure prints, and the least and largest total deaths; every example it returns must print
the figure when recomputed from scratch. Both estimators, every rule, one or two checkpoints.
For larger arms it is checked against the full landmark graph, and it must decide the
issue's range (n up to 150, 10 yearly intervals, 5%-95%) quickly.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.reference import all_configurations, decimal_print, estimates_of
from resurv.audit.landmark_bounds import deaths_bounds
from resurv.audit.landmark_dp import build_landmark_graph
from resurv.study.schema import Printed

RULES = {"either": ("round", "truncate"), "round": ("round",), "truncate": ("truncate",)}


def _brute(n, k, estimator, checkpoints):
    """Total deaths of every configuration that prints every checkpoint (brute force)."""
    totals = Counter()
    for row in all_configurations(n, k):
        values, _ = estimates_of(n, row, estimator, [t for t, _, _ in checkpoints])
        if all(
            any(decimal_print(x, p.decimals, rule) == str(p) for rule in rules)
            for x, (_, p, rules) in zip(values, checkpoints, strict=True)
        ):
            totals[sum(row[0:-1:2])] += 1
    return totals


def _prints(n, row, estimator, checkpoints, cells_per_unit=1):
    layers = [round(t * cells_per_unit) for t, _, _ in checkpoints]
    values, r_end = estimates_of(n, row[:-1], estimator, layers)
    return r_end == row[-1] and all(
        any(decimal_print(x, p.decimals, rule) == str(p) for rule in rules)
        for x, (_, p, rules) in zip(values, checkpoints, strict=True)
    )


@st.composite
def _small_case(draw):
    estimator = draw(st.sampled_from(["actuarial", "kaplan-meier"]))
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 3))
    # a printed value some configuration reaches, or a made-up one (often unprintable)
    rows = list(all_configurations(n, k))
    row = draw(st.sampled_from(rows))
    x = estimates_of(n, row, estimator, [k])[0][0]
    decimals = draw(st.integers(0, 1))
    rule = draw(st.sampled_from(["round", "truncate"]))
    printed = Printed(float(decimal_print(x, decimals, rule)), decimals)
    if draw(st.booleans()):
        printed = Printed(float(draw(st.integers(1, 99))), 0)
    cps = [(k, printed, RULES[draw(st.sampled_from(sorted(RULES)))])]
    if k > 1 and draw(st.booleans()):
        y = estimates_of(n, row, estimator, [1])[0][0]
        early = Printed(float(decimal_print(y, 0, "round")), 0)
        cps.insert(0, (1, early, RULES[draw(st.sampled_from(sorted(RULES)))]))
    return estimator, n, k, cps


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(_small_case())
def test_deaths_bounds_equal_brute_force(case):
    estimator, n, k, cps = case
    expected = _brute(n, k, estimator, cps)
    got = deaths_bounds(n, cps, estimator=estimator, grid_width=1.0)
    assert got.exact
    assert got.feasible is bool(expected)
    assert got.deaths_range == ((min(expected), max(expected)) if expected else None)
    for total, row in got.examples.items():
        assert sum(row[0:-1:2]) == total
        assert _prints(n, row, estimator, cps)


@pytest.mark.parametrize(
    ("n", "k", "percent", "estimator"),
    [(30, 4, 50.0, "actuarial"), (20, 5, 50.0, "actuarial"), (50, 4, 90.0, "actuarial"),
     (19, 4, 92.6, "actuarial"), (19, 4, 92.6, "kaplan-meier"), (12, 3, 33.3, "kaplan-meier"),
     (9, 4, 18.5, "actuarial")],
)  # fmt: skip
def test_deaths_bounds_equal_the_full_graph(n, k, percent, estimator):
    cps = [(k, Printed(percent, 1), "either")]
    g = build_landmark_graph(n, cps, estimator=estimator)
    got = deaths_bounds(n, cps, estimator=estimator)
    assert got.exact
    assert got.deaths_range == g.deaths_range()
    assert got.feasible is (g.n_configurations() > 0)
    for row in got.examples.values():
        assert g.contains(row)


def test_three_landmarks_equal_the_full_graph():
    cps = [(1, Printed(80.0, 1), "either"), (3, Printed(60.0, 1), "either"),
           (5, Printed(40.0, 1), "either")]  # fmt: skip
    g = build_landmark_graph(12, cps)
    got = deaths_bounds(12, cps)
    assert got.exact and got.deaths_range == g.deaths_range()
    for row in got.examples.values():
        assert g.contains(row)


@pytest.mark.parametrize("estimator", ["actuarial", "kaplan-meier"])
@pytest.mark.parametrize("percent", [5.0, 26.0, 50.0, 74.0, 95.0])
def test_arms_of_150_with_10_intervals_are_decided(percent, estimator):
    """The issue's range: decided exactly, with examples that print (the time per arm is
    measured by benchmarks/bench_audit.py, not asserted here)."""
    cps = [(10, Printed(percent, 1), "either")]
    got = deaths_bounds(150, cps, estimator=estimator)
    assert got.exact and got.feasible
    lo, hi = got.deaths_range
    assert set(got.examples) >= {lo, hi}
    for total, row in got.examples.items():
        assert sum(row[0:-1:2]) == total
        cells = 1 if estimator == "actuarial" else 4  # the default grid: width / 4
        assert _prints(150, row, estimator, [(t, p, RULES[r]) for t, p, r in cps], cells)
