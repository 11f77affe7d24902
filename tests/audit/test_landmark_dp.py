"""The landmark state graph against brute force, closed forms and the flagship facts.

The brute force here shares no code with the library: it lists every sequence of
(deaths, censored) per interval, recomputes the estimate from scratch as a Fraction, and
prints it with Python's ``decimal`` module (ROUND_HALF_UP / ROUND_FLOOR at 60 digits; the
rationals involved have denominators far below 10**20, so a value can only reach a printing
boundary by being exactly on it, and the quantize step is then exact).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from fixtures.reference import all_configurations, decimal_print, estimates_of
from resurv.audit.landmark_dp import build_landmark_graph
from resurv.audit.landmark_graph import Checkpoint
from resurv.audit.landmark_search import find_configuration
from resurv.errors import AuditError
from resurv.study.schema import Printed

# -- independent reference computations ---------------------------------------------------


def brute_force(n, k, estimator, checkpoints):
    """{row + (at_risk_end,): rules under which every checkpoint prints} for feasible rows."""
    feasible = {}
    for row in all_configurations(n, k):
        values, r_end = estimates_of(n, row, estimator, [layer for layer, _, _ in checkpoints])
        per_cp = [
            {rule for rule in rules if decimal_print(x, p.decimals, rule) == str(p)}
            for x, (_, p, rules) in zip(values, checkpoints, strict=True)
        ]
        if all(per_cp):
            feasible[(*row, r_end)] = per_cp
    return feasible


def graph_rows(g):
    return {tuple(int(v) for v in row) for row in g.enumerate(10**6).counts}


# -- brute force agreement ------------------------------------------------------------------


def _cases():
    """Small cohorts, 2-3 intervals, one or two checkpoints, printed values actually reached."""
    cases = []
    for estimator in ("actuarial", "kaplan-meier"):
        for n in range(1, 7):
            for k in (2, 3):
                values = sorted(
                    {estimates_of(n, row, estimator, [k])[0][0] for row in all_configurations(n, k)}
                )
                picks = [values[len(values) // 3], values[(2 * len(values)) // 3]]
                for x, decimals, rounding in zip(picks, (1, 0), ("either", "round"), strict=True):
                    printed = Printed(float(decimal_print(x, decimals, "round")), decimals)
                    cases.append((estimator, n, k, ((k, printed, rounding),)))
                # two checkpoints: a made-up early value and the last one
                cases.append(
                    (estimator, n, k, ((1, Printed(75.0, 0), "either"), (k, printed, "truncate")))
                )
    return cases


@pytest.mark.parametrize(("estimator", "n", "k", "checkpoints"), _cases())
def test_graph_equals_brute_force(estimator, n, k, checkpoints):
    rules = {"either": ("round", "truncate"), "round": ("round",), "truncate": ("truncate",)}
    cps = [(t, p, rules[r]) for t, p, r in checkpoints]
    g = build_landmark_graph(n, cps, estimator=estimator, width=1.0, grid_width=1.0)
    expected = brute_force(n, k, estimator, cps)
    assert g.n_intervals == k
    assert g.n_configurations() == len(expected)
    assert graph_rows(g) == set(expected)
    for rule in ("round", "truncate"):
        by_rule = sum(all(rule in s for s in sets) for sets in expected.values())
        assert g.n_configurations(rule) == by_rule
    deaths = Counter(sum(row[0:-1:2]) for row in expected)
    assert g.deaths_distribution() == dict(deaths)
    span = (min(deaths), max(deaths)) if deaths else None
    assert g.deaths_range() == span
    found = find_configuration(n, cps, estimator=estimator, grid_width=1.0)
    assert found.decided
    assert (found.configuration in expected) if expected else found.configuration is None


def test_enumerated_estimates_match_their_rows():
    cps = [(1, Printed(80.0, 0), "either"), (3, Printed(50.0, 0), "either")]
    g = build_landmark_graph(6, cps)
    conf = g.enumerate()
    assert conf.counts.shape == (g.n_configurations(), 2 * 3 + 1)
    assert g.columns == ("d_0", "c_0", "d_1", "c_1", "d_2", "c_2", "at_risk_end")
    for row, est in zip(conf.counts, conf.estimates, strict=True):
        values, r_end = estimates_of(6, tuple(int(v) for v in row[:-1]), "actuarial", [1, 3])
        assert list(est) == values
        assert row[-1] == r_end
    assert (conf.counts[:-1] <= conf.counts[1:]).any(axis=1).all()  # sorted rows


# -- the flagship: Grazi 2000 ------------------------------------------------------------------


def test_flagship_km_cannot_print_92_6_with_19_patients():
    """No Kaplan-Meier curve of 19 patients prints 92.6%.

    Closed form: one death gives (r - 1)/r with r <= 19, which prints 92.3% (r = 13) or
    92.9% (r = 14) around the target; any two deaths give at most (18/19)(17/18) = 17/19,
    printed 89.5%.
    """
    one_death = {
        decimal_print(Fraction(r - 1, r), 1, rule)
        for r in range(1, 20)
        for rule in ("round", "truncate")
    }
    assert "92.6" not in one_death and {"92.3", "92.9"} <= one_death
    assert decimal_print(Fraction(17, 19), 1, "round") == "89.5"
    cp = [(4, Printed(92.6, 1), "either")]
    for h in (0.25, 1 / 12, 1.0):
        g = build_landmark_graph(19, cp, estimator="kaplan-meier", grid_width=h)
        assert not g.truncated
        assert g.n_configurations() == 0 and g.deaths_range() is None
        assert g.layers[0].at_risk.size == 0
        assert g.enumerate().counts.shape == (0, 2 * g.n_intervals + 1)
    assert find_configuration(19, cp, estimator="kaplan-meier").configuration is None


def test_flagship_actuarial_needs_exactly_one_death():
    """92.6% = 1 - 1/13.5 = 25/27: the life table of 19 patients prints it with one death.

    Two or more deaths give at most (18/19)**2 < 0.9255 (each factor is at most 1 - 1/19),
    so the brute force only needs the rows with at most one death.
    """
    assert Fraction(18, 19) ** 2 < Fraction(9255, 10000)
    cp = [(4, Printed(92.6, 1), ("round", "truncate"))]
    g = build_landmark_graph(19, cp)
    expected = {
        row
        for row in all_rows_few_deaths(19, 4, max_deaths=1)
        if decimal_print(estimates_of(19, row, "actuarial", [4])[0][0], 1, "round") == "92.6"
    }
    assert g.n_configurations() == len(expected) == 785
    assert {tuple(int(v) for v in r[:-1]) for r in g.enumerate().counts} == expected
    assert g.deaths_range() == (1, 1)
    assert set(g.final_product) == {Fraction(25, 27)}
    assert g.n_configurations("truncate") == 0  # 25/27 = 92.59...% truncates to 92.5
    # the death happens with an effective 13.5 at risk: 2r - c = 27
    for row in g.enumerate().counts:
        j = int(np.flatnonzero(row[0:-1:2])[0])
        r = 19 - row[: 2 * j].sum()
        assert 2 * r - row[2 * j + 1] == 27


def all_rows_few_deaths(n, k, max_deaths):
    def rec(r, j, deaths):
        if j == k:
            yield ()
            return
        for d in range(min(r, max_deaths - deaths) + 1):
            for c in range(r - d + 1):
                for rest in rec(r - d - c, j + 1, deaths + d):
                    yield (d, c, *rest)

    return list(rec(n, 0, 0))


def km_values(n):
    """Every Kaplan-Meier value reachable from n patients on an unlimited grid, with deaths."""
    seen, out = set(), {}
    stack = [(n, Fraction(1), 0)]
    while stack:
        r, p, deaths = stack.pop()
        if (r, p, deaths) in seen:
            continue
        seen.add((r, p, deaths))
        out.setdefault(p, set()).add(deaths)
        for d in range(1, r + 1):
            stack.append((r - d, p * Fraction(r - d, r), deaths + d))
        for c in range(1, r + 1):
            stack.append((r - c, p, deaths))
    return out


@pytest.mark.parametrize(
    ("n", "actuarial", "km"),
    [(3, None, None), (6, (5, (3, 3)), None), (9, (77, (3, 7)), (5, 6))],
)
def test_flagship_18_5_percent_without_surgery(n, actuarial, km):
    """18.5% at 4 years for the candidate sizes 3, 6, 9 of the arm without surgery."""
    cp = [(4, Printed(18.5, 1), ("round", "truncate"))]
    expected = brute_force(n, 4, "actuarial", cp)
    g = build_landmark_graph(n, cp)
    assert g.n_configurations() == len(expected)
    assert graph_rows(g) == set(expected)
    if actuarial is None:
        assert not expected
    else:
        assert (g.n_configurations(), g.deaths_range()) == actuarial
    printing = {
        x: deaths
        for x, deaths in km_values(n).items()
        if any(decimal_print(x, 1, r) == "18.5" for r in ("round", "truncate"))
    }
    g_km = build_landmark_graph(n, cp, estimator="kaplan-meier")
    if km is None:
        assert not printing and g_km.n_configurations() == 0
    else:
        assert set(printing) == {Fraction(5, 27)} == set(g_km.final_product)
        lo, hi = g_km.deaths_range()
        assert (lo, hi) == km and set(range(lo, hi + 1)) <= printing[Fraction(5, 27)]


# -- graph structure, counts, budget --------------------------------------------------------


def test_edge_arrays_are_consistent():
    g = build_landmark_graph(12, [(2, Printed(70.0, 0), "either"), (4, Printed(40.0, 0), "either")])
    assert g.n_configurations() > 0
    assert g.checkpoint_layers == (2, 4)
    for j, e in enumerate(g.edges):
        src_r, dst_r = g.layers[j].at_risk[e.src], g.layers[j + 1].at_risk[e.dst]
        for arr in e:
            assert arr.dtype == np.int64
        assert np.all(e.deaths + e.censored <= src_r)
        assert np.array_equal(dst_r, src_r - e.deaths - e.censored)
        # every state has an incoming edge (beyond the root) and an outgoing one (before the end)
        assert np.array_equal(np.unique(e.dst), np.arange(len(g.layers[j + 1])))
        assert np.array_equal(np.unique(e.src), np.arange(len(g.layers[j])))
    for layer in (2, 4):
        p = g.checkpoints[g.layers[layer].checkpoint].printed
        for x, r_ok, t_ok in zip(
            g.layers[layer].product,
            g.layers[layer].prints["round"],
            g.layers[layer].prints["truncate"],
            strict=True,
        ):
            assert r_ok == (decimal_print(x, 0, "round") == str(p))
            assert t_ok == (decimal_print(x, 0, "truncate") == str(p))
            assert r_ok or t_ok
    assert np.array_equal(g.final_at_risk, g.layers[-1].at_risk)
    assert g.n_states == sum(len(layer) for layer in g.layers)


def test_path_count_beyond_int64_matches_closed_form():
    """100.0% (no death possible with 60 patients) on 40 cells: censorings c_1..c_40 with
    sum <= 60, counted by stars and bars as C(60 + 40, 40) > 2**63."""
    g = build_landmark_graph(
        60, [(1, Printed(100.0, 1), "either")], estimator="kaplan-meier", grid_width=1 / 40
    )
    assert g.n_intervals == 40
    count = g.n_configurations()
    assert count == math.comb(100, 40) > 2**63
    assert g.deaths_range() == (0, 0)
    assert g.deaths_distribution() == {0: math.comb(100, 40)}
    with pytest.raises(
        AuditError,
        match=r"13,746,234,145,802,811,501,267,369,720 feasible configurations, more than "
        r"max_configurations=100,000",
    ):
        g.enumerate()


def test_budget_stops_large_builds_quickly():
    start = time.perf_counter()
    g = build_landmark_graph(150, [(5, Printed(50.0, 1), "either")], max_states=50_000)
    assert time.perf_counter() - start < 10
    assert g.truncated and not g.summary.complete
    assert g.summary.n_states > 50_000 and g.summary.intervals_built < 5
    assert "stopped after" in str(g.summary) and "max_states=50,000" in str(g.summary)
    with pytest.raises(AuditError, match="incomplete: stopped after"):
        g.n_configurations()
    with pytest.raises(AuditError, match="incomplete"):
        g.deaths_range()
    g = build_landmark_graph(150, [(5, Printed(50.0, 1), "either")], max_edges=1_000)
    assert g.truncated and "max_edges=1,000" in str(g.summary)


def test_search_finds_a_valid_configuration_when_the_graph_is_too_big():
    cp = [(4, Printed(50.0, 1), "either")]
    found = find_configuration(120, cp, estimator="actuarial")
    assert found.decided and found.configuration is not None
    row = found.configuration
    (x,), r_end = estimates_of(120, row[:-1], "actuarial", [4])
    assert row[-1] == r_end and sum(row) == 120
    assert decimal_print(x, 1, "round") == "50.0" or decimal_print(x, 1, "truncate") == "50.0"
    stuck = find_configuration(120, cp, max_work=10)
    assert not stuck.decided and stuck.configuration is None


def test_checkpoint_objects_and_order_are_accepted():
    a = build_landmark_graph(8, [Checkpoint(3, Printed(50.0, 0)), Checkpoint(1, Printed(88.0, 0))])
    b = build_landmark_graph(8, [(1, Printed(88.0, 0), "either"), (3, Printed(50.0, 0), "either")])
    assert a.n_configurations() == b.n_configurations() > 0
    assert [c.time for c in a.checkpoints] == [1, 3]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "n must be a positive integer, got 0"),
        (
            {"estimator": "nelson-aalen"},
            r"estimator must be one of \['actuarial', 'kaplan-meier'\]",
        ),
        (
            {"checkpoints": [(2.5, Printed(50.0, 1), "either")]},
            "2.5 is not a multiple of the interval width 1",
        ),
        (
            {"checkpoints": [(4, Printed(50.0, 1), "either"), (4, Printed(40.0, 1), "either")]},
            "two checkpoints share a time",
        ),
        ({"checkpoints": [(4, Printed(50.0, 1), ("ceil",))]}, "subset of"),
        ({"checkpoints": [(4, 50.0, "either")]}, "must be a Printed"),
        ({"checkpoints": [(4, Printed(50.0, 1))]}, r"a checkpoint is \(time, Printed, rules\)"),
        ({"checkpoints": []}, "at least one checkpoint"),
        ({"checkpoints": [(-1, Printed(50.0, 1), "either")]}, "must be > 0"),
    ],
)
def test_bad_inputs_are_refused(kwargs, match):
    args = {"n": 10, "checkpoints": [(4, Printed(50.0, 1), "either")]} | kwargs
    with pytest.raises(AuditError, match=match):
        build_landmark_graph(args.pop("n"), args.pop("checkpoints"), **args)


def test_rule_names_are_checked():
    g = build_landmark_graph(5, [(1, Printed(80.0, 0), "either")])
    with pytest.raises(ValueError, match="rule must be None or one of"):
        g.n_configurations("ceil")


def test_km_grid_matches_lifelines_on_a_cohort():
    """A cohort whose deaths precede its censorings within each grid cell: the grid product
    equals the Kaplan-Meier estimate of lifelines 0.30 (a float, to 1e-12)."""
    from lifelines import KaplanMeierFitter

    h = 0.25
    deaths = [0.1, 0.3, 0.3, 1.2, 2.05]
    censored = [0.2, 0.9, 1.24, 2.25, 3.0]
    alive = [5.0, 6.0]
    times = np.array(deaths + censored + alive)
    events = np.array([1] * len(deaths) + [0] * (len(censored) + len(alive)))
    km = KaplanMeierFitter().fit(times, events)
    cells = 12  # 3 years
    row = []
    for g_ in range(cells):
        lo, hi = g_ * h, (g_ + 1) * h
        d = sum(lo < t <= hi for t in deaths)
        c = sum(lo < t <= hi for t in censored)
        row += [d, c]
    (x,), r_end = estimates_of(len(times), tuple(row), "kaplan-meier", [cells])
    assert abs(float(x) - float(km.survival_function_at_times(3.0).iloc[0])) < 1e-12
    printed = Printed(float(decimal_print(x, 1, "round")), 1)
    g = build_landmark_graph(
        len(times), [(3, printed, "round")], estimator="kaplan-meier", grid_width=h
    )
    assert g.contains((*row, r_end))
    assert not g.contains((*row[:-2], row[-2] + 1, row[-1] - 1, r_end))
