"""Simulated cohorts against closed forms, and their printed figures against the exact term."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from resurv.audit.landmark_dp import build_landmark_graph
from resurv.audit.printing import format_percent
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_terms import ExactLandmark
from resurv.model.likelihood import compile_loglik
from resurv.model.simulate import interval_counts, simulate_cohort, simulate_many
from resurv.study.schema import Printed

NO_CENSORING = CensoringModel(1000, 1001, 3000)  # follow-up >= 1999 years


@pytest.mark.parametrize(("lam", "k"), [(0.3, 1.0), (0.05, 2.0), (0.8, 0.5)])
def test_death_times_follow_the_family(lam, k):
    """Kolmogorov-Smirnov against S(t) = exp(-lam t**k) (scipy weibull_min, scale lam**(-1/k))."""
    family = "exponential" if k == 1 else "weibull"
    c = simulate_cohort(
        np.random.default_rng(7), family, [lam], None if k == 1 else k, [5000], NO_CENSORING
    )
    assert c["event"].all()
    ks = stats.kstest(c["time"], stats.weibull_min(k, scale=lam ** (-1 / k)).cdf)
    assert ks.pvalue > 0.001


def test_censoring_entry_and_reproducibility():
    cm = CensoringModel(1981, 1998, 1999)
    a = simulate_cohort(
        np.random.default_rng(1),
        "exponential",
        {"resected": 0.02, "other": 0.4},
        None,
        {"resected": 19, "other": 9},
        cm,
    )
    b = simulate_cohort(
        np.random.default_rng(1),
        "exponential",
        {"resected": 0.02, "other": 0.4},
        None,
        {"resected": 19, "other": 9},
        cm,
    )
    for key in ("time", "event", "entry", "arm"):
        np.testing.assert_array_equal(a[key], b[key])
    assert a["arms"] == ("resected", "other") and a["time"].shape == (28,)
    np.testing.assert_array_equal(a["arm"], [0] * 19 + [1] * 9)
    assert np.all((a["entry"] >= 1981) & (a["entry"] <= 1998))
    # a censored patient's time is the potential follow-up close - entry
    censored = ~a["event"]
    np.testing.assert_allclose(a["time"][censored], 1999 - a["entry"][censored])
    assert np.all(a["time"][a["event"]] <= 1999 - a["entry"][a["event"]])


def test_simulate_many_uses_each_draw():
    lam = np.array([[0.01, 1.0], [2.0, 0.05]])  # (draws, arms)
    k = np.array([1.0, 2.0])
    sim = simulate_many(np.random.default_rng(2), "weibull", lam, k, [20_000, 20_000], NO_CENSORING)
    assert sim["time"].shape == (2, 40_000) and sim["arms"] == ("arm0", "arm1")
    for d in range(2):
        for a in range(2):
            times = sim["time"][d, sim["arm"] == a]
            median = (np.log(2) / lam[d, a]) ** (1 / k[d])
            # sd of a sample median: 1 / (2 f(m) sqrt(N)), f(m) = h(m) / 2 with h = lam k m**(k-1)
            se = 1 / (lam[d, a] * k[d] * median ** (k[d] - 1) * np.sqrt(20_000))
            assert abs(np.median(times) - median) < 4 * se


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("exponential", [0.1], 2.0), "exponential family has k = 1"),
        (("weibull", [0.1], None), "needs the shape k"),
        (("gompertz", [0.1], None), "family must be"),
        ((1.5, [0.1], 2.0), "family gives the shape"),
        (("exponential", [-0.1], None), "lam must be finite and > 0"),
    ],
)
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        simulate_cohort(np.random.default_rng(0), *args, [5], NO_CENSORING)


def test_interval_counts_partition_the_cohort():
    time = np.array([0.5, 1.0, 1.5, 2.0, 3.5, 0.2])
    event = np.array([True, False, True, True, False, False])
    deaths, censored, alive = interval_counts(time, event, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(deaths, [1, 1])
    np.testing.assert_array_equal(censored, [1, 1])
    assert alive == 2


def actuarial(deaths, censored, n):
    s, r = Fraction(1), n
    for d, c in zip(deaths.tolist(), censored.tolist(), strict=True):
        if r:
            s *= Fraction(2 * r - c - 2 * d, 2 * r - c)
        r -= d + c
    return s


def test_printed_figures_of_simulated_studies_match_the_exact_likelihood():
    """20 000 simulated studies of 8 patients; the share printing each value vs exp(loglik)."""
    cm, n, lam, k = CensoringModel(1990, 1992, 1992.5), 8, 0.35, 1.2
    sim = simulate_many(np.random.default_rng(4), "weibull", [[lam]] * 20_000, k, [n], cm)
    deaths, censored, _ = interval_counts(sim["time"], sim["event"], [0.0, 1.0, 2.0])
    printed = Counter(
        str(format_percent(actuarial(d, c, n), 1, "round"))
        for d, c in zip(deaths, censored, strict=True)
    )
    for value, count in printed.most_common(4):
        graph = build_landmark_graph(n, [(2.0, Printed(float(value), 1), "round")])
        p = np.exp(compile_loglik(ExactLandmark("a", [graph], cm))(lam, k))
        assert abs(count / 20_000 - p) < 4 * np.sqrt(p * (1 - p) / 20_000), value
