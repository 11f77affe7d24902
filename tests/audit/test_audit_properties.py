"""Property tests of the audit's exact printing and of the landmark graph (hypothesis).

(a) A simulated cohort's own life-table / Kaplan-Meier estimate, computed from the individual
    times and printed, gives a graph that contains the cohort's configuration.
(b) Every configuration the graph lists reproduces the printed figure(s) when recomputed from
    scratch.
(c) ``check_percent_of`` agrees with a direct ``decimal`` computation.

Printing in these tests uses Python's ``decimal`` module at 60 significant digits
(ROUND_HALF_UP for rounding, ROUND_FLOOR for truncation); every rational here has a
denominator below 10**12, so no value lies within 10**-40 of a printing boundary without
being on it, and the quantize step decides exactly. Runs are derandomized (reproducible).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.reference import decimal_print, estimates_of
from resurv.audit.landmark_dp import build_landmark_graph
from resurv.audit.printing import check_percent_of
from resurv.study.schema import Printed

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def as_printed(x: Fraction, decimals: int, rule: str) -> Printed:
    return Printed(float(decimal_print(x, decimals, rule)), decimals)


# -- (a) simulated cohorts -------------------------------------------------------------------


def life_table(times, events, k):
    """Cutler-Ederer estimate after each of k yearly intervals, from individual data."""
    out, product = [], Fraction(1)
    for j in range(k):
        at_risk = sum(t >= j for t in times)
        d = sum(e and j <= t < j + 1 for t, e in zip(times, events, strict=True))
        c = sum((not e) and j <= t < j + 1 for t, e in zip(times, events, strict=True))
        if at_risk:
            product *= 1 - Fraction(d) / (at_risk - Fraction(c, 2))
        out.append(product)
    return out


def kaplan_meier(times, events, t_end):
    """Kaplan-Meier S(t_end) from individual data: deaths before censorings at a tie."""
    product = Fraction(1)
    for t in sorted({t for t, e in zip(times, events, strict=True) if e and t <= t_end}):
        d = sum(e and s == t for s, e in zip(times, events, strict=True))
        r = sum(s >= t for s in times)
        product *= 1 - Fraction(d, r)
    return product


patients = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 6).map(float), st.floats(0, 6.5, allow_nan=False)),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@SETTINGS
@given(
    cohort=patients,
    k=st.integers(1, 4),
    early=st.integers(0, 3),
    decimals=st.integers(0, 2),
    rule=st.sampled_from(["round", "truncate"]),
    either=st.booleans(),
)
def test_a_simulated_life_table_is_in_its_graph(cohort, k, early, decimals, rule, either):
    times, events = [t for t, _ in cohort], [e for _, e in cohort]
    n = len(times)
    estimates = life_table(times, events, k)
    layers = sorted({k, early}) if 0 < early < k else [k]
    rules = ("round", "truncate") if either else (rule,)
    checkpoints = [(t, as_printed(estimates[t - 1], decimals, rule), rules) for t in layers]
    row = []
    for j in range(k):
        row.append(sum(e and j <= t < j + 1 for t, e in cohort))
        row.append(sum((not e) and j <= t < j + 1 for t, e in cohort))
    row.append(sum(t >= k for t in times))
    g = build_landmark_graph(n, checkpoints, estimator="actuarial")
    assert not g.truncated
    assert g.contains(row)


@SETTINGS
@given(
    cells=st.lists(
        st.tuples(st.integers(0, 10), st.booleans(), st.sampled_from([0.25, 0.5, 0.75, 1.0])),
        min_size=1,
        max_size=10,
    ),
    years=st.integers(1, 2),
    decimals=st.integers(0, 2),
    rule=st.sampled_from(["round", "truncate"]),
)
def test_a_simulated_kaplan_meier_is_in_its_graph(cells, years, decimals, rule):
    """Times on a quarter-year grid: deaths in the first half of their cell, censorings in
    the second, so the grid convention equals the Kaplan-Meier estimate."""
    h = 0.25
    times, events = [], []
    for g, event, position in cells:
        times.append((g + (position / 2 if event else 0.5 + position / 2)) * h)
        events.append(event)
    t_end, n_cells = float(years), 4 * years
    x = kaplan_meier(times, events, t_end)
    row = []
    for g in range(n_cells):
        inside = [(t, e) for t, e in zip(times, events, strict=True) if g * h < t <= (g + 1) * h]
        row += [sum(e for _, e in inside), sum(not e for _, e in inside)]
    row.append(sum(t > t_end for t in times))
    g = build_landmark_graph(
        len(times), [(t_end, as_printed(x, decimals, rule), (rule,))], estimator="kaplan-meier"
    )
    assert g.n_intervals == n_cells
    assert g.contains(row)


# -- (b) enumerated configurations reproduce the figure -------------------------------------------


@SETTINGS
@given(
    n=st.integers(1, 7),
    k=st.integers(1, 3),
    estimator=st.sampled_from(["actuarial", "kaplan-meier"]),
    target=st.lists(st.integers(0, 7), min_size=6, max_size=6),
    decimals=st.integers(0, 1),
    rounding=st.sampled_from(["round", "truncate", "either"]),
    second=st.booleans(),
)
def test_b_every_listed_configuration_prints_the_figure(
    n, k, estimator, target, decimals, rounding, second
):
    # a reachable estimate: walk a pseudo-random row, then print its value
    row, r = [], n
    for j in range(k):
        d = target[2 * j] % (r + 1)
        c = target[2 * j + 1] % (r - d + 1)
        row += [d, c]
        r -= d + c
    layers = [1, k] if second and k > 1 else [k]
    values, _ = estimates_of(n, row, estimator, layers)
    rules = ("round", "truncate") if rounding == "either" else (rounding,)
    checkpoints = [
        (t, as_printed(x, decimals, rules[0]), rules) for t, x in zip(layers, values, strict=True)
    ]
    g = build_landmark_graph(n, checkpoints, estimator=estimator, grid_width=1.0)
    listed = g.enumerate(10**6)
    assert len(listed.counts) == g.n_configurations() >= 1
    for counts, estimates in zip(listed.counts, listed.estimates, strict=True):
        counts = [int(v) for v in counts]
        again, r_end = estimates_of(n, counts[:-1], estimator, layers)
        assert again == list(estimates) and r_end == counts[-1]
        for x, (_, printed, rules_) in zip(again, checkpoints, strict=True):
            assert any(decimal_print(x, printed.decimals, rl) == str(printed) for rl in rules_)


# -- (c) a/b against decimal ---------------------------------------------------------------


@SETTINGS
@given(
    b=st.integers(1, 10_000),
    a_share=st.fractions(0, 1),
    decimals=st.integers(0, 3),
    rule=st.sampled_from(["round", "truncate"]),
    shift=st.integers(-1, 1),
)
def test_c_check_percent_of_agrees_with_decimal(b, a_share, decimals, rule, shift):
    a = math.floor(a_share * b)
    shown = Decimal(decimal_print(Fraction(a, b), decimals, rule))
    shown += shift * Decimal(1).scaleb(-decimals)
    if not 0 <= shown <= 100:
        return
    printed = Printed(float(shown), decimals)
    expected = {
        r: decimal_print(Fraction(a, b), decimals, r) == str(printed) for r in ("round", "truncate")
    }
    assert check_percent_of(a, b, printed) == expected
    if shift == 0:
        assert expected[rule]
