"""Reduction of a cohort to printed figures: lean estimators against the full ones, printing
against exact decimal arithmetic, and the Grazi 2000 arithmetic of DESIGN.md section 3.
"""

from __future__ import annotations

import time as clock
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resurv.frequentist.kaplan_meier import km_median, km_survival_at
from resurv.frequentist.life_table import life_table_survival
from resurv.frequentist.logrank import logrank_test
from resurv.frequentist.reduce import (
    LandmarkSpec,
    LogrankSpec,
    MedianSpec,
    ProportionSpec,
    ReducedFigure,
    actuarial_at,
    format_fixed,
    format_p,
    km_at,
    logrank_p,
    reduce_cohort,
    specs_from_study,
)
from resurv.study.schema import (
    Arm,
    Censoring,
    LogrankFigure,
    MedianFigure,
    Printed,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

REF = Path(__file__).parents[1] / "reference"


def random_cohort(rng, n, k=2, grid=None):
    group = rng.integers(0, k, n)
    t = rng.exponential(2.0 + group, n)
    if grid is not None:
        t = np.round(t / grid) * grid  # ties and times exactly on boundaries
    e = rng.random(n) < 0.7
    return t, e, group


# ----------------------------------------------------------------------- lean estimators -
@pytest.mark.parametrize("width", [1.0, 0.5, 2.5, 0.1])
def test_actuarial_at_equals_life_table_survival(width):
    rng = np.random.default_rng(int(width * 10))
    for rep in range(40):
        grid = width if rep % 2 else None  # half the cohorts put times on the boundaries
        t, e, _ = random_cohort(rng, int(rng.integers(1, 40)), grid=grid)
        for j in range(0, 12):
            lt = j * width
            full = life_table_survival(t, e, lt, width)
            # past the last interval with patients at risk the full table is undefined (as
            # KMsurv::lifetab) and the printed landmark carries the last value forward
            back = j
            while np.isnan(full):
                back -= 1
                full = life_table_survival(t, e, back * width, width)
            lean = actuarial_at(t, e, lt, width)
            np.testing.assert_allclose(lean, full, rtol=1e-13, atol=1e-15)


def test_actuarial_at_empty_intervals():
    # everyone withdrawn before 3: 2/3 (the death in year 1) is carried forward to 4;
    # the full table leaves year 4 undefined; everyone dead: 0
    assert actuarial_at([0.5, 1.5, 2.2], [1, 0, 0], 4.0) == pytest.approx(2 / 3, rel=1e-15)
    assert np.isnan(life_table_survival([0.5, 1.5, 2.2], [1, 0, 0], 4.0, 1.0))
    assert actuarial_at([0.5, 1.5, 2.2], [1, 1, 1], 4.0) == 0.0
    assert actuarial_at([0.5, 1.5, 2.2], [1, 0, 0], 0.0) == 1.0


def test_km_at_equals_km_survival_at():
    rng = np.random.default_rng(3)
    for _ in range(60):
        t, e, _ = random_cohort(rng, int(rng.integers(1, 50)), grid=0.5)
        for q in (0.0, 0.5, 1.0, 2.25, 4.0, 7.5, 100.0):
            assert km_at(t, e, q) == pytest.approx(km_survival_at(t, e, q), rel=1e-13, abs=0)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_logrank_p_equals_logrank_test(k):
    rng = np.random.default_rng(40 + k)
    for rep in range(40):
        t, e, g = random_cohort(
            rng, int(rng.integers(2 * k, 60)), k=k, grid=0.5 if rep % 2 else None
        )
        if np.unique(g).size < 2:
            continue
        assert logrank_p(t, e, g) == pytest.approx(logrank_test(t, e, g).p_value, rel=1e-9)


def test_logrank_p_on_r_reference_data():
    """survdiff p-values of tests/reference/ref_logrank.csv (R 4.2.2, survival 3.5.3,
    2026-11-25): survdiff(Surv(time, cens) ~ treat, MASS::gehan) and
    survdiff(Surv(time, status) ~ celltype, survival::veteran).
    """
    r = pd.read_csv(REF / "ref_logrank.csv").groupby("dataset").p.first()
    g = pd.read_csv(REF / "gehan.csv")
    v = pd.read_csv(REF / "veteran.csv")
    assert logrank_p(g.time, g.cens, g.treat) == pytest.approx(r["gehan"], rel=1e-9)
    assert logrank_p(v.time, v.status, v.celltype) == pytest.approx(r["veteran"], rel=1e-9)


def test_logrank_p_degenerate_cases():
    assert np.isnan(logrank_p([1.0, 2.0], [1, 1], ["a", "a"]))
    assert logrank_p([1.0, 2.0, 3.0], [0, 0, 0], [0, 1, 1]) == 1.0
    # group 0 leaves before the first death: nothing to compare
    assert logrank_p([0.5, 2.0, 3.0], [0, 1, 1], [0, 1, 1]) == 1.0
    assert logrank_test([0.5, 2.0, 3.0], [0, 1, 1], [0, 1, 1]).p_value == 1.0


def test_logrank_p_is_uniform_under_the_null():
    """Simulation: equal exponential hazards, 40 per arm, 25% uniform censoring; the share
    of p < 0.05 is the nominal 5% up to Monte-Carlo error (SE 0.0034 from 4000 replicates)
    and the small-sample error of the chi-square approximation.
    """
    rng = np.random.default_rng(2024)
    reps, n = 4000, 40
    group = np.repeat([0, 1], n)
    p = np.empty(reps)
    for i in range(reps):
        t_event = rng.exponential(1.0, 2 * n)
        t_cens = rng.uniform(0, 4.0, 2 * n)
        p[i] = logrank_p(np.minimum(t_event, t_cens), t_event <= t_cens, group)
    assert abs(np.mean(p < 0.05) - 0.05) < 0.012
    assert abs(np.mean(p < 0.5) - 0.5) < 0.03


# ----------------------------------------------------------------------- printing -------
def exact_print(frac: Fraction, decimals: int, mode) -> str:
    q = Decimal(frac.numerator) / Decimal(frac.denominator)  # 28 significant digits
    return str(q.quantize(Decimal(1).scaleb(-decimals), rounding=mode))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    b=st.integers(1, 400),
    a=st.integers(0, 400),
    decimals=st.integers(0, 2),
)
def test_format_fixed_matches_exact_decimal_arithmetic(b, a, decimals):
    """Percent of a/b printed from a float equals the exact decimal rounding of 100 a / b."""
    a = a % (b + 1)
    pct = Fraction(100 * a, b)
    x = 100 * a / b
    assert format_fixed(x, decimals, "round") == exact_print(pct, decimals, ROUND_HALF_UP)
    assert format_fixed(x, decimals, "truncate") == exact_print(pct, decimals, ROUND_DOWN)


def test_format_fixed_grazi_examples():
    """Grazi 2000 prints 25/28 as 89.2% (truncation) and 11/19 as 57.9% (rounding)."""
    assert format_fixed(100 * 25 / 28, 1, "truncate") == "89.2"
    assert format_fixed(100 * 25 / 28, 1, "round") == "89.3"
    assert format_fixed(100 * 11 / 19, 1, "round") == "57.9"
    assert format_fixed(100 * 11 / 19, 1, "truncate") == "57.8"
    assert format_fixed(100 * 8 / 16, 1, "round") == "50.0"
    assert format_fixed(0.125 * 100, 0, "round") == "13"  # exact half rounds up
    assert format_fixed(100 * (1 - 1 / 13.5), 1, "round") == "92.6"
    assert format_fixed(np.nan, 1, "round") == "NA"


def test_format_p():
    assert format_p(0.00004, 3, "round") == "<0.001"
    assert format_p(0.0004, 3, "truncate") == "<0.001"
    assert format_p(0.0015, 3, "round") == "0.002"
    assert format_p(0.0435, 2, "truncate") == "0.04"


# ----------------------------------------------------------------------- reduce_cohort ---
def grazi_like_cohort():
    """19 resected patients: 4 withdrawn in year 1; in year 2, 15 enter, 3 withdraw and one
    dies (actuarial 1 - 1/13.5 = 92.6%); 11 followed beyond year 4. Nine unresected patients:
    seven die in years 1-3, two withdrawn.
    """
    res_t = [0.4, 0.5, 0.6, 0.8, 1.2, 1.4, 1.6, 1.9] + [4.5 + 0.3 * i for i in range(11)]
    res_e = [0, 0, 0, 0, 0, 0, 1, 0] + [0] * 11
    non_t = [0.3, 0.7, 0.9, 1.1, 1.5, 2.2, 2.8, 0.6, 3.5]
    non_e = [1, 1, 1, 1, 1, 1, 1, 0, 0]
    t = np.array(res_t + non_t)
    e = np.array(res_e + non_e, dtype=bool)
    g = np.array(["resected"] * 19 + ["not_resected"] * 9)
    return t, e, g


def test_reduce_cohort_grazi_arithmetic():
    """DESIGN.md section 3: one death with 13.5 effective at risk prints 92.6% (actuarial);
    the Kaplan-Meier estimate of the same cohort is 1 - 1/r with r at risk at the death."""
    t, e, g = grazi_like_cohort()
    specs = [
        LandmarkSpec("s4_res", time=4, arm="resected", estimator="actuarial"),
        LandmarkSpec("s4_res_km", time=4, arm="resected", estimator="kaplan-meier"),
        LandmarkSpec("s4_non", time=4, arm="not_resected"),
        LogrankSpec("p", arms=("resected", "not_resected"), decimals=3),
        MedianSpec("med_non", arm="not_resected", decimals=1),
        MedianSpec("med_res", arm="resected"),
        ProportionSpec("deaths", decimals=1),
    ]
    out = reduce_cohort(t, e, g, specs)
    assert list(out) == [s.id for s in specs]
    s4 = out["s4_res"]
    assert s4.kind == "survival"
    assert s4.value == pytest.approx(1 - 1 / 13.5, rel=1e-14)
    assert (s4.printed_round, s4.printed_truncate) == ("92.6", "92.5")
    r_at_death = int(np.sum(t[g == "resected"] >= 1.6))
    assert r_at_death == 13
    assert out["s4_res_km"].value == pytest.approx(1 - 1 / r_at_death, rel=1e-14)
    assert out["s4_res_km"].printed("round") == "92.3"
    # unresected: actuarial by hand, intervals [0,1) [1,2) [2,3) [3,4)
    expected_non = (1 - 3 / 8.5) * (1 - 2 / 5) * (1 - 2 / 3) * (1 - 0 / 0.5)
    assert out["s4_non"].value == pytest.approx(expected_non, rel=1e-14)
    assert out["p"].value == pytest.approx(logrank_test(t, e, g).p_value, rel=1e-12)
    assert out["p"].printed_round == "<0.001"
    assert out["med_non"].value == km_median(t[g == "not_resected"], e[g == "not_resected"])
    assert out["med_res"].printed_round == "NR" and np.isnan(out["med_res"].value)
    assert out["deaths"].value == pytest.approx(8 / 28)
    assert out["deaths"].printed_round == "28.6"


def test_no_kaplan_meier_curve_of_19_prints_92_6():
    """DESIGN.md: with n = 19 one death prints 1 - 1/r for r = 1..19 (never 92.6%) and two
    deaths give at most 1 - 2/19 = 89.5%."""
    printed = set()
    for r in range(1, 20):
        t = np.r_[np.full(19 - r, 0.5), np.full(r - 1, 5.0), 2.0]  # r at risk at the death
        e = np.r_[np.zeros(18, bool), True]
        out = reduce_cohort(t, e, None, [LandmarkSpec("s", 4, estimator="kaplan-meier")])
        assert out["s"].value == pytest.approx(1 - 1 / r)
        printed |= {out["s"].printed_round, out["s"].printed_truncate}
    assert "92.6" not in printed and {"92.3", "92.8", "92.9"} <= printed
    two = reduce_cohort(
        np.r_[1.0, 2.0, np.full(17, 5.0)],
        np.r_[True, True, np.zeros(17, bool)],
        None,
        [LandmarkSpec("s", 4, estimator="kaplan-meier")],
    )
    assert two["s"].printed_round == "89.5"


def test_reduce_cohort_matches_full_functions_on_random_cohorts():
    rng = np.random.default_rng(8)
    for _ in range(30):
        t, e, g = random_cohort(rng, int(rng.integers(8, 60)), k=3, grid=0.25)
        g = np.array(["a", "b", "c"])[g]
        if np.unique(g).size < 3:
            continue
        specs = [
            LandmarkSpec("a2", 2.0, "a", width=0.5),
            LandmarkSpec("b3", 3.0, "b", "kaplan-meier"),
            LogrankSpec("ab", ("a", "b")),
            LogrankSpec("all"),
            MedianSpec("mc", "c"),
            ProportionSpec("pa", "a"),
        ]
        out = reduce_cohort(t, e, g, specs)
        a, b, c = g == "a", g == "b", g == "c"
        ab = a | b
        assert out["a2"].value == pytest.approx(
            life_table_survival(t[a], e[a], 2.0, 0.5), rel=1e-12, nan_ok=True
        )
        assert out["b3"].value == pytest.approx(km_survival_at(t[b], e[b], 3.0), rel=1e-12)
        assert out["ab"].value == pytest.approx(logrank_test(t[ab], e[ab], g[ab]).p_value, rel=1e-9)
        assert out["all"].value == pytest.approx(logrank_test(t, e, g).p_value, rel=1e-9)
        assert out["mc"].value == pytest.approx(km_median(t[c], e[c]), nan_ok=True)
        assert out["pa"].value == pytest.approx(e[a].mean())


def test_reduce_cohort_is_fast():
    """Called thousands of times by simulation studies: well under 5 ms per cohort."""
    t, e, g = grazi_like_cohort()
    specs = [
        LandmarkSpec("s1", 4, "resected"),
        LandmarkSpec("s2", 4, "not_resected"),
        LogrankSpec("p"),
        MedianSpec("m", "not_resected"),
    ]
    reduce_cohort(t, e, g, specs)
    start = clock.perf_counter()
    for _ in range(200):
        reduce_cohort(t, e, g, specs)
    assert (clock.perf_counter() - start) / 200 < 5e-3


# ----------------------------------------------------------------------- study figures ---
def small_study(estimator="unknown"):
    return Study(
        id="toy",
        title="toy",
        citation="none",
        time_unit="years",
        rounding="either",
        cohort_n=28,
        reference_arm="resected",
        arms=(Arm("resected", (19,)), Arm("not_resected", (9,))),
        figures=(
            SurvivalFigure(
                "s4", arm="resected", time=4.0, percent=Printed(92.6, 1), estimator=estimator
            ),
            LogrankFigure(
                "p", arms=("resected", "not_resected"), p=Printed(0.001, 3), relation="<"
            ),
            MedianFigure("m", arm="not_resected", value=Printed(1.5, 1)),
            ProportionFigure("rec", name="recurrence", percent=Printed(50.0, 1), n=(16,)),
        ),
        censoring=Censoring(1981, 1998, 1999),
    )


def test_specs_from_study():
    specs = specs_from_study(small_study())
    assert [s.id for s in specs] == ["s4/actuarial", "s4/kaplan-meier", "p", "m"]
    assert specs[0] == LandmarkSpec("s4/actuarial", 4.0, "resected", "actuarial", 1.0, 1)
    assert specs[2] == LogrankSpec("p", ("resected", "not_resected"), 3)
    assert specs_from_study(small_study("actuarial"))[0].id == "s4"
    t, e, g = grazi_like_cohort()
    out = reduce_cohort(t, e, g, specs)
    assert out["s4/actuarial"].printed_round == "92.6"
    assert isinstance(out["m"], ReducedFigure)


# ----------------------------------------------------------------------- input checks ---
def test_reduce_cohort_refuses_bad_input():
    t, e, g = grazi_like_cohort()
    with pytest.raises(ValueError, match="arm 'x' has no patients; group labels are"):
        reduce_cohort(t, e, g, [LandmarkSpec("s", 4, "x")])
    with pytest.raises(ValueError, match="spec ids must be unique; 's' appears twice"):
        reduce_cohort(t, e, g, [ProportionSpec("s"), ProportionSpec("s")])
    with pytest.raises(ValueError, match="t=3.5 is not a life-table breakpoint"):
        reduce_cohort(t, e, g, [LandmarkSpec("s", 3.5, "resected")])
    with pytest.raises(ValueError, match="estimator must be 'actuarial' or 'kaplan-meier'"):
        reduce_cohort(t, e, g, [LandmarkSpec("s", 4, "resected", estimator="unknown")])
    with pytest.raises(TypeError, match="specs must be LandmarkSpec.* got SurvivalFigure"):
        reduce_cohort(t, e, g, [SurvivalFigure("s")])
    with pytest.raises(ValueError, match="a log-rank p needs group labels; got None"):
        reduce_cohort(t, e, None, [LogrankSpec("p")])
    with pytest.raises(ValueError, match="names arm 'resected' but group is None"):
        reduce_cohort(t, e, None, [MedianSpec("m", "resected")])
    with pytest.raises(ValueError, match=r"group must have one label per patient, shape \(28,\)"):
        reduce_cohort(t, e, g[:5], [ProportionSpec("s")])
    with pytest.raises(ValueError, match="time must be finite and >= 0"):
        reduce_cohort(-t, e, g, [ProportionSpec("s")])
    with pytest.raises(ValueError, match="rounding must be 'round' or 'truncate'; got 'either'"):
        format_fixed(0.5, 1, "either")
    with pytest.raises(ValueError, match="decimals must be >= 0; got -1"):
        format_fixed(0.5, -1, "round")


@pytest.mark.parametrize("width", [1.0, 0.5])
def test_actuarial_many_equals_actuarial_at_row_by_row(width):
    """The vectorised estimator of the posterior predictive checks, cohort by cohort, including
    cohorts whose last patient at risk leaves before ``t`` (the estimate is carried forward)."""
    from resurv.compare.predictive import actuarial_many

    rng = np.random.default_rng(11)
    n = 6
    time = rng.exponential(2.0, size=(300, n))
    time[:100] = np.minimum(time[:100], rng.uniform(0.1, 1.9, size=(100, 1)))  # early losses
    event = rng.random((300, n)) < 0.6
    event[:100] = False
    event[:100, 0] = True
    for t in (width, 2.0, 4.0):
        many = actuarial_many(time, event, t, width)
        rows = [actuarial_at(time[i], event[i], t, width) for i in range(time.shape[0])]
        np.testing.assert_allclose(many, rows, rtol=1e-13, atol=1e-15)
    assert np.isfinite(actuarial_many(time, event, 4.0, width)).all()
