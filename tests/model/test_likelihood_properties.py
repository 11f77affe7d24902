"""Property tests of the exact landmark likelihood and of the estimators (hypothesis).

Random small designs: arms of at most 8 patients (one or two candidate sizes), 2-3 yearly
intervals, one or two landmarks, actuarial or Kaplan-Meier (on a yearly grid), a random
censoring window (uniform entry, administrative close, optional loss to follow-up) and
printing by rounding or truncation at 0-1 decimals.

(a) ``landmark_term`` -> ``compile_loglik`` is a probability over what a paper can print:
    summed over every printable value (found here by listing every configuration, computing
    its estimate in exact fractions and printing it with ``decimal``), it is 1 at random
    ``(lam, k)``.
(b) The forward and enumeration forms of the exact term agree with each other and with a
    brute-force reference built from nothing of resurv's numerics: cell probabilities by
    ``scipy.integrate.quad`` of the closed-form censoring distribution, configurations by
    listing, probabilities by ``scipy.stats.multinomial``.
(c) A cohort drawn by ``resurv.model.simulate`` and printed by ``resurv.frequentist.reduce``
    lies in the audit's graph of its own printed figures - two landmarks, life tables of width
    1 or 0.5, and Kaplan-Meier on the default quarter grid
    (``tests/audit/test_audit_properties.py`` covers one
    Kaplan-Meier landmark on hand-built cohorts and life tables from its own estimator).
(d) ``resurv.frequentist.reduce`` against independent estimators on tiny cohorts with ties and
    boundary times: ``km_at`` and ``logrank_p`` against lifelines 0.30, ``actuarial_at`` against a
    Cutler-Ederer table in exact fractions (lifelines has no life table).
    ``tests/frequentist/test_estimators.py`` compares the full estimators with lifelines on larger
    seeded cohorts and ``tests/frequentist/test_reduce.py`` the lean ones with the full ones.

Runs are derandomized (reproducible) and printed values use ``decimal`` at 60 digits, as in
``tests/audit/test_audit_properties.py``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test as ll_logrank_test
from scipy import integrate, special, stats

from fixtures.reference import all_configurations, decimal_print, estimates_of
from resurv.audit.landmark_dp import build_landmark_graph
from resurv.errors import AuditError
from resurv.frequentist.reduce import LandmarkSpec, actuarial_at, km_at, logrank_p, reduce_cohort
from resurv.model.censoring import CensoringModel
from resurv.model.likelihood import compile_loglik, landmark_term
from resurv.model.simulate import interval_counts, simulate_cohort
from resurv.study.schema import Arm, Printed, SurvivalFigure


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- independent references -------------------------------------------------------------------


def printed_values(design) -> dict[tuple[str, ...], dict[int, list]]:
    """``printed tuple -> {n: [configurations]}`` over every configuration of every n."""
    d = design
    out: dict[tuple[str, ...], dict[int, list]] = {}
    for n in d["ns"]:
        for row in all_configurations(n, d["n_intervals"]):
            values = estimates_of(n, row, d["estimator"], d["times"])[0]
            key = tuple(decimal_print(x, d["decimals"], d["rule"]) for x in values)
            out.setdefault(key, {}).setdefault(n, []).append(row)
    return out


def censoring_distribution(cm_args):
    """Closed-form ``G(t) = P(C > t)`` and density ``g`` of the censoring time.

    ``C = min(U, E)`` with ``U`` uniform on ``[close - accrual_end, close - accrual_start]``
    (years) and ``E`` exponential with the loss rate ``mu``.
    """
    start, end, close, mu = cm_args
    lo, hi = close - end, close - start

    def surv(t):
        return float(np.clip((hi - t) / (hi - lo), 0.0, 1.0)) * math.exp(-mu * t)

    def dens(t):
        uniform = 1.0 / (hi - lo) if lo <= t < hi else 0.0
        return math.exp(-mu * t) * (uniform + mu * float(np.clip((hi - t) / (hi - lo), 0, 1)))

    return surv, dens, (lo, hi)


def brute_cells(cm_args, lam, k, n_intervals):
    """``(p_death_0, p_cens_0, ..., p_alive)`` by adaptive quadrature, yearly intervals."""
    surv_c, dens_c, breaks = censoring_distribution(cm_args)

    def surv(t):
        return math.exp(-lam * t**k)

    def death_density(t):
        return lam * k * t ** (k - 1) * surv(t) if t > 0 else 0.0

    cells = []
    for a in range(n_intervals):
        b = a + 1
        pts = [p for p in breaks if a < p < b] or None
        kw = {"points": pts, "epsabs": 1e-14, "epsrel": 1e-12, "limit": 200}
        cells.append(integrate.quad(lambda t: death_density(t) * surv_c(t), a, b, **kw)[0])
        cells.append(integrate.quad(lambda t: dens_c(t) * surv(t), a, b, **kw)[0])
    cells.append(surv(n_intervals) * surv_c(n_intervals))
    return np.array(cells)


def brute_loglik(rows_by_n, cm_args, lam, k, n_intervals) -> float:
    """Equal-weight mixture over the candidate sizes of multinomial sums over configurations."""
    p = brute_cells(cm_args, lam, k, n_intervals)
    per_n = []
    for n, rows in rows_by_n.items():
        if not rows:
            per_n.append(-np.inf)
            continue
        x = np.array([[*r, n - sum(r)] for r in rows])
        with np.errstate(divide="ignore"):
            per_n.append(special.logsumexp(stats.multinomial.logpmf(x, n, p)))
    return float(special.logsumexp(per_n) - math.log(len(rows_by_n)))


# -- strategies --------------------------------------------------------------------------------

censorings = st.tuples(
    st.integers(1, 16).map(lambda q: q / 4),  # accrual length, years
    st.integers(0, 12).map(lambda q: q / 4),  # close - end of accrual, years
    st.sampled_from([0.0, 0.0, 0.05, 0.3]),  # loss to follow-up hazard
).map(lambda t: (1990.0, 1990.0 + t[0], 1990.0 + t[0] + t[1], t[2]))


@st.composite
def designs(draw, max_n: int = 8):
    n_intervals = draw(st.integers(2, 3))
    two = draw(st.booleans())
    first = draw(st.integers(1, n_intervals - 1))
    times = (first, n_intervals) if two else (n_intervals,)
    ns = tuple(sorted(draw(st.sets(st.integers(1, max_n), min_size=1, max_size=2))))
    return {
        "ns": ns,
        "n_intervals": n_intervals,
        "times": times,
        "estimator": draw(st.sampled_from(["actuarial", "kaplan-meier"])),
        "decimals": draw(st.integers(0, 1)),
        "rule": draw(st.sampled_from(["round", "truncate"])),
        "censoring": draw(censorings),
    }


rates = st.tuples(
    st.floats(0.05, 2.0, allow_nan=False),  # lam
    st.floats(0.5, 3.0, allow_nan=False),  # k
)


def term_of(design, printed, *, form="forward"):
    """``landmark_term`` of one arm for a printed tuple under the design."""
    figures = [
        SurvivalFigure(
            f"s{t}",
            arm="a",
            time=float(t),
            percent=Printed(float(p), design["decimals"]),
            estimator=design["estimator"],
        )
        for t, p in zip(design["times"], printed, strict=True)
    ]
    start, end, close, mu = design["censoring"]
    cm = CensoringModel(start, end, close, loss_rate=mu)
    grid = 1.0 if design["estimator"] == "kaplan-meier" else None
    choice = landmark_term(
        Arm("a", design["ns"]),
        figures,
        censoring=cm,
        rounding=design["rule"],
        form=form,
        grid_width=grid,
    )
    assert choice.method == "exact", choice.reason
    return choice.term


# -- (a) a probability over the printable values -------------------------------------------------


@_settings(16)
@given(design=designs(), at=st.lists(rates, min_size=2, max_size=2))
def test_a_exact_likelihood_sums_to_one_over_printable_values(design, at):
    values = printed_values(design)
    fns, impossible = [], 0
    for printed in values:
        try:
            fns.append(compile_loglik(term_of(design, printed)))
        except AuditError as exc:  # every configuration goes through a cell of probability 0
            assert "has positive probability" in str(exc)
            impossible += 1
    assert fns, "some printed value must be possible"
    for lam, k in at:
        total = math.fsum(math.exp(f(lam, k)) for f in fns)
        assert total == pytest.approx(1.0, abs=1e-9), (len(values), impossible)


# -- (b) forward = enumeration = brute force ------------------------------------------------


@_settings(40)
@given(design=designs(), pick=st.integers(0, 10**6), at=rates)
def test_b_forward_enumeration_and_brute_force_agree(design, pick, at):
    values = printed_values(design)
    keys = sorted(values)
    printed = keys[pick % len(keys)]  # a value some configuration prints
    rows_by_n = {n: values[printed].get(n, []) for n in design["ns"]}
    lam, k = at
    expected = brute_loglik(rows_by_n, design["censoring"], lam, k, design["n_intervals"])
    try:
        forward = compile_loglik(term_of(design, printed))(lam, k)
        enumeration = compile_loglik(term_of(design, printed, form="enumeration"))(lam, k)
    except AuditError as exc:
        assert "has positive probability" in str(exc)
        assert expected == -np.inf  # the reference agrees: probability 0
        return
    assert forward == pytest.approx(enumeration, rel=1e-10, abs=1e-10)
    # quadrature (16-node Gauss-Legendre) against adaptive quad: relative 1e-8 of the
    # probability is an absolute 1e-8 on the log scale
    assert forward == pytest.approx(expected, abs=1e-8)


# -- (c) a simulated cohort lies in the graph of its own printed figures ------------------------


@_settings(150)
@given(
    n=st.integers(3, 8),
    lam=st.floats(0.05, 1.0),
    k=st.floats(0.6, 2.0),
    seed=st.integers(0, 2**32 - 1),
    cm_args=censorings,
    estimator=st.sampled_from(["actuarial", "kaplan-meier"]),
    width=st.sampled_from([1.0, 0.5]),
    last=st.sampled_from([2.0, 3.0]),
    two=st.booleans(),
    decimals=st.integers(0, 2),
    rule=st.sampled_from(["round", "truncate", "either"]),
)
def test_c_a_simulated_cohort_is_in_the_graph_of_its_figures(
    n, lam, k, seed, cm_args, estimator, width, last, two, decimals, rule
):
    start, end, close, mu = cm_args
    cm = CensoringModel(start, end, close, loss_rate=mu)
    width = 1.0 if estimator == "kaplan-meier" else width
    times = (1.0, last) if two else (last,)
    cohort = simulate_cohort(
        np.random.default_rng(seed), "weibull", {"a": lam}, k, {"a": n}, censoring=cm
    )
    t, e = cohort["time"], cohort["event"]
    specs = [
        LandmarkSpec(f"s{i}", time, estimator=estimator, width=width, decimals=decimals)
        for i, time in enumerate(times)
    ]
    reduced = reduce_cohort(t, e, None, specs)
    assume(all(r.printed_round != "NA" for r in reduced.values()))  # a paper prints it
    h = width if estimator == "actuarial" else width / 4  # the graph's default cells
    cuts = np.arange(0.0, last + h / 2, h)
    deaths, censored, alive = interval_counts(t, e, cuts)
    if estimator == "kaplan-meier":  # grid convention: no censoring before a death in a cell
        cell = np.floor(t / h)
        last_death = {c: t[(cell == c) & e].max() for c in np.unique(cell[e])}
        assume(
            not any(
                c in last_death and s < last_death[c] for s, c in zip(t[~e], cell[~e], strict=True)
            )
        )
    row = [int(v) for pair in zip(deaths, censored, strict=True) for v in pair] + [int(alive)]
    rules = ("round", "truncate") if rule == "either" else (rule,)
    checkpoints = [
        (time, Printed(float(r.printed(rules[0])), decimals), rules)
        for time, r in zip(times, reduced.values(), strict=True)
    ]
    g = build_landmark_graph(n, checkpoints, estimator=estimator, width=width)
    assert not g.truncated
    assert np.allclose(g.cuts, cuts, rtol=0, atol=1e-12)
    assert g.contains(row), (row, checkpoints)


# -- (d) estimators against independent ones ------------------------------------------------------

# times on a quarter grid (ties, and times exactly on life-table boundaries) or anywhere
tiny_cohorts = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 16).map(lambda q: q / 4), st.floats(0.01, 4.5)),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


def exact_life_table(times, events, k: int, width: float) -> Fraction:
    """Cutler-Ederer S(k width) in fractions, carried forward past the last patient at risk."""
    product = Fraction(1)
    w = Fraction(width)
    for j in range(k):
        lo, hi = j * w, (j + 1) * w
        at_risk = sum(Fraction(t) >= lo for t in times)
        inside = [(Fraction(t), ev) for t, ev in zip(times, events, strict=True)]
        d = sum(ev and lo <= t < hi for t, ev in inside)
        c = sum((not ev) and lo <= t < hi for t, ev in inside)
        if at_risk == 0:  # nobody left: the estimate is carried forward
            return product
        product *= 1 - Fraction(d) / (at_risk - Fraction(c, 2))
    return product


@_settings(80)
@given(cohort=tiny_cohorts, k=st.integers(1, 4), width=st.sampled_from([1.0, 0.5, 0.25]))
def test_d_actuarial_at_equals_exact_life_table(cohort, k, width):
    times, events = [t for t, _ in cohort], [e for _, e in cohort]
    # resurv puts a time within 1e-9 (relative) below a boundary into the next interval
    assume(
        all(
            round(t / width) == t / width or abs(round(t / width) - t / width) > 1e-6 for t in times
        )
    )
    expected = exact_life_table(times, events, k, width)
    got = actuarial_at(times, events, k * width, width)
    assert got == pytest.approx(float(expected), rel=1e-12, abs=1e-15)


@_settings(60)
@given(
    cohort=tiny_cohorts,
    at=st.lists(st.integers(0, 20).map(lambda q: q / 4), min_size=1, max_size=6),
)
def test_d_km_at_equals_lifelines(cohort, at):
    """KaplanMeierFitter.survival_function_at_times (lifelines 0.30): right-continuous steps,
    so a death exactly at the query time counts, as in resurv."""
    times = np.array([t for t, _ in cohort])
    events = np.array([e for _, e in cohort])
    kmf = KaplanMeierFitter().fit(times, events)
    expected = kmf.survival_function_at_times(at).to_numpy()
    got = [km_at(times, events, q) for q in at]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@_settings(60)
@given(a=tiny_cohorts, b=tiny_cohorts)
def test_d_logrank_p_equals_lifelines(a, b):
    """lifelines 0.30 ``logrank_test`` on two tiny arms with ties; cases with nothing to
    compare (no death, or every death before the other arm enters the risk set) excluded:
    resurv returns 1 there by definition, lifelines a NaN or a degenerate statistic."""
    ta, ea = np.array([t for t, _ in a]), np.array([e for _, e in a])
    tb, eb = np.array([t for t, _ in b]), np.array([e for _, e in b])
    t, e = np.concatenate([ta, tb]), np.concatenate([ea, eb])
    group = np.r_[np.zeros(ta.size), np.ones(tb.size)]
    death_times = np.unique(t[e])
    both_at_risk = [(ta >= s).any() and (tb >= s).any() for s in death_times]
    assume(any(both_at_risk))
    # a variance of 0 (e.g. every death a tie with the whole risk set) has no statistic
    n_t = np.array([(t >= s).sum() for s in death_times])
    d_t = np.array([(t[e] == s).sum() for s in death_times])
    assume(np.any((n_t > d_t) & np.array(both_at_risk)))
    ll = ll_logrank_test(ta, tb, ea, eb)
    assume(np.isfinite(ll.p_value))
    assert logrank_p(t, e, group) == pytest.approx(ll.p_value, rel=1e-8, abs=1e-12)
