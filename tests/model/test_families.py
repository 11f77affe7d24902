"""Survival families: invariants, closed forms, SciPy/PyMC agreement and conversions.

Reference values from R (survreg on the Freireich 6-MP data, ``MASS::gehan``), computed with
R version 4.2.2 Patched (2022-11-10 r83330), survival 3.5.3, MASS 7.3.58.2 (2026-11-25)::

    library(survival); g <- MASS::gehan
    f <- survreg(Surv(time, cens) ~ treat, data = g, dist = "weibull")
    coef(f); f$scale; f$loglik          # 3.51568694608521 -1.26733458521441; 0.732194403039699;
                                        # loglik (model) -106.579491581564
    f <- survreg(Surv(time, cens) ~ treat, data = g, dist = "exponential")
    coef(f); f$loglik                   # 3.68609781112496 -1.52661356177188; -108.524049536789

The same data ship with lifelines as ``load_leukemia`` (``Rx = 0``: 6-MP, ``Rx = 1``: control).
"""

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import ExponentialFitter, WeibullFitter
from lifelines.datasets import load_leukemia
from scipy import integrate, optimize, stats

from resurv.model.families import (
    FAMILIES,
    Exponential,
    Weibull,
    from_lifelines_exponential,
    from_lifelines_weibull,
    from_pymc_weibull,
    from_survreg,
    get_family,
    to_lifelines_exponential,
    to_lifelines_weibull,
    to_pymc_weibull,
    to_survreg,
)

CASES = [
    ("exponential", 0.3, 1.0),
    ("exponential", 4.0, 1.0),
    ("weibull", 0.3, 0.6),
    ("weibull", 0.3, 1.0),
    ("weibull", 0.05, 1.7),
    ("weibull", 2.5, 3.0),
]
IDS = [f"{f}-lam{lam}-k{k}" for f, lam, k in CASES]
T = np.concatenate([[0.0], np.geomspace(1e-3, 30.0, 60)])


def scipy_dist(family, lam, k):
    if family.name == "exponential":
        return stats.expon(scale=1.0 / lam)
    return stats.weibull_min(c=k, scale=lam ** (-1.0 / k))


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    name, lam, k = request.param
    return get_family(name), lam, k


def test_survival_is_a_probability_and_non_increasing(case):
    family, lam, k = case
    s = family.survival(T, lam, k)
    assert s[0] == 1.0
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 0)
    assert np.all(family.hazard(T[1:], lam, k) >= 0)


def test_cumulative_hazard_is_minus_log_survival(case):
    family, lam, k = case
    np.testing.assert_allclose(family.cumulative_hazard(T, lam, k), lam * T**k, rtol=1e-12)
    h = family.cumulative_hazard(T, lam, k)
    np.testing.assert_array_equal(family.log_survival(T, lam, k), -h)
    np.testing.assert_allclose(family.survival(T, lam, k), np.exp(-h), rtol=1e-15)
    # in the other direction log(S) loses relative precision where S rounds to 1 (absolute
    # error ~ machine epsilon) and is undefined where S underflows to 0
    s = family.survival(T, lam, k)
    np.testing.assert_allclose(-np.log(s[s > 0]), h[s > 0], rtol=1e-12, atol=1e-15)


def test_hazard_is_the_derivative_of_the_cumulative_hazard(case):
    family, lam, k = case
    t = T[5:]
    eps = 1e-6 * t
    numeric = (
        family.cumulative_hazard(t + eps, lam, k) - family.cumulative_hazard(t - eps, lam, k)
    ) / (2 * eps)
    np.testing.assert_allclose(family.hazard(t, lam, k), numeric, rtol=1e-6)


def test_median_and_quantiles_invert_survival(case):
    family, lam, k = case
    assert family.survival(family.median(lam, k), lam, k) == pytest.approx(0.5, rel=1e-12)
    q = np.linspace(0.0, 0.99, 23)
    np.testing.assert_allclose(family.survival(family.quantile(q, lam, k), lam, k), 1 - q)
    np.testing.assert_allclose(family.quantile(q, lam, k), scipy_dist(family, lam, k).ppf(q))


def test_log_pdf_and_survival_equal_scipy(case):
    family, lam, k = case
    dist = scipy_dist(family, lam, k)
    t = T[1:]
    np.testing.assert_allclose(family.log_pdf(t, lam, k), dist.logpdf(t), rtol=1e-10)
    np.testing.assert_allclose(family.survival(t, lam, k), dist.sf(t), rtol=1e-10, atol=1e-300)


def test_rmst_equals_numerical_integration(case):
    family, lam, k = case
    for tau in (0.0, 0.5, 3.0, 20.0):
        expected, _ = integrate.quad(lambda t: family.survival(t, lam, k), 0.0, tau, epsabs=1e-13)
        assert family.rmst(tau, lam, k) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # tau -> infinity gives the mean
    assert family.rmst(1e6, lam, k) == pytest.approx(scipy_dist(family, lam, k).mean(), rel=1e-9)


def test_numpy_and_pytensor_paths_agree(case):
    family, lam, k = case
    t_, lam_, k_, q_, tau_ = (
        pt.dvector("t"),
        pt.dscalar("lam"),
        pt.dscalar("k"),
        pt.dvector("q"),
        pt.dscalar("tau"),
    )
    outputs = [
        family.cumulative_hazard(t_, lam_, k_),
        family.hazard(t_, lam_, k_),
        family.log_survival(t_, lam_, k_),
        family.survival(t_, lam_, k_),
        family.log_pdf(t_, lam_, k_),
        family.median(lam_, k_),
        family.quantile(q_, lam_, k_),
        family.rmst(tau_, lam_, k_),
    ]
    f = pytensor.function(
        [t_, lam_, k_, q_, tau_], outputs, mode="FAST_COMPILE", on_unused_input="ignore"
    )
    t, q, tau = T[1:], np.linspace(0, 0.95, 7), 2.5
    got = f(t, lam, k, q, tau)
    expected = [
        family.cumulative_hazard(t, lam, k),
        family.hazard(t, lam, k),
        family.log_survival(t, lam, k),
        family.survival(t, lam, k),
        family.log_pdf(t, lam, k),
        family.median(lam, k),
        family.quantile(q, lam, k),
        family.rmst(tau, lam, k),
    ]
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-10)


def test_pymc_dist_matches_the_family(case):
    family, lam, k = case
    t = T[1:]
    dist = family.pymc_dist(lam, k)
    f = pytensor.function([], [pm.logp(dist, t), pm.logccdf(dist, t)], mode="FAST_COMPILE")
    logp, logsf = f()
    np.testing.assert_allclose(logp, family.log_pdf(t, lam, k), rtol=1e-9)
    # pm.Weibull has no logccdf: PyMC takes log(1 - cdf), which is -inf where S(t) underflows
    ok = family.survival(t, lam, k) > 1e-300
    assert ok.sum() > 40
    np.testing.assert_allclose(logsf[ok], family.log_survival(t[ok], lam, k), rtol=1e-9)


def test_sample_follows_the_distribution(case):
    family, lam, k = case
    draws = family.sample(np.random.default_rng(20000), lam, k, size=4000)
    assert draws.shape == (4000,)
    assert stats.kstest(draws, scipy_dist(family, lam, k).cdf).pvalue > 0.01


def test_broadcasting_over_arms():
    lam = np.array([0.1, 0.4])
    t = np.array([[1.0], [2.0], [3.0]])
    s = Weibull().survival(t, lam, 1.5)
    assert s.shape == (3, 2)
    np.testing.assert_allclose(s[2, 1], np.exp(-0.4 * 3.0**1.5))
    assert Weibull().sample(np.random.default_rng(1), lam, np.array([1.0, 2.0])).shape == (2,)


def test_sample_refuses_tensors():
    with pytest.raises(TypeError, match=r"needs numbers for lam and k.*use pymc_dist"):
        Weibull().sample(np.random.default_rng(1), pt.dscalar("lam"), 1.0)


def test_log_pdf_at_zero_is_finite_or_minus_infinity():
    assert Weibull().log_pdf(0.0, 0.3, 2.0) == -np.inf
    assert Weibull().log_pdf(0.0, 0.3, 1.0) == pytest.approx(np.log(0.3))
    assert Exponential().log_pdf(0.0, 0.3) == pytest.approx(np.log(0.3))


# -- errors -------------------------------------------------------------------------------------


def test_get_family_lists_valid_names():
    assert get_family("weibull") is FAMILIES["weibull"]
    assert get_family(FAMILIES["exponential"]) is FAMILIES["exponential"]
    valid = r"\['cure', 'exponential', 'weibull'\]"
    with pytest.raises(ValueError, match=r"unknown survival family 'gompertz'.*" + valid):
        get_family("gompertz")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: Weibull().survival(1.0, -0.1, 1.0), r"lam must be > 0.*received -0.1"),
        (lambda: Weibull().survival(1.0, 0.1, 0.0), r"k must be > 0.*received 0.0"),
        (lambda: Weibull().survival(-1.0, 0.1, 1.0), r"t must be >= 0.*received -1.0"),
        (lambda: Weibull().quantile(1.0, 0.1, 1.0), r"q must lie in \[0, 1\)"),
        (lambda: Exponential().survival(1.0, 0.1, 2.0), r"shape k = 1; received k = .*'weibull'"),
    ],
)
def test_bad_inputs_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- conversions --------------------------------------------------------------------------------

positive = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False)
shapes = st.floats(min_value=0.1, max_value=10.0, allow_nan=False)


@settings(derandomize=True, max_examples=60, deadline=None)
@given(lam=positive, k=shapes, log_hr=st.floats(min_value=-5, max_value=5))
def test_conversions_round_trip(lam, k, log_hr):
    assert from_pymc_weibull(*to_pymc_weibull(lam, k)) == pytest.approx((lam, k), rel=1e-9)
    assert from_lifelines_weibull(*to_lifelines_weibull(lam, k)) == pytest.approx(
        (lam, k), rel=1e-9
    )
    assert from_lifelines_exponential(to_lifelines_exponential(lam)) == pytest.approx(
        lam, rel=1e-12
    )
    ph, back = from_survreg(*to_survreg(lam, k, log_hr))
    assert (ph.lam, ph.k, back) == pytest.approx((lam, k, log_hr), rel=1e-9, abs=1e-12)
    # the scale form S(t) = exp(-(t / scale)**k) describes the same curve
    alpha, beta = to_pymc_weibull(lam, k)
    t = beta * 0.7
    assert np.exp(-((t / beta) ** alpha)) == pytest.approx(Weibull().survival(t, lam, k))


def _leukemia():
    d = load_leukemia()
    return d["t"].to_numpy(float), d["status"].to_numpy(bool), d["Rx"].to_numpy(int)


def _mle(family, t, event, group):
    """Maximise the right-censored log-likelihood written with the family's methods."""

    def negloglik(theta):
        log_lam0, log_hr, log_k = theta
        k = np.exp(log_k) if family.has_shape else 1.0
        lam = np.exp(log_lam0 + log_hr * group)
        return -np.sum(np.where(event, family.log_pdf(t, lam, k), family.log_survival(t, lam, k)))

    x0 = np.array([-3.0, 1.0, 0.0])
    res = optimize.minimize(
        negloglik, x0, method="Nelder-Mead", options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000)
    )
    return res.x, -res.fun


def test_survreg_conversion_matches_r_and_the_family_likelihood():
    """R survreg(Surv(time, cens) ~ treat, dist = "weibull") on MASS::gehan (module docstring)."""
    t, event, group = _leukemia()  # group 1 = control, the survreg coefficient 'treatcontrol'
    ph, log_hr = from_survreg(3.51568694608521, 0.732194403039699, -1.26733458521441)
    (log_lam0, mle_log_hr, log_k), loglik = _mle(Weibull(), t, event, group)
    assert (np.log(ph.lam), log_hr, np.log(ph.k)) == pytest.approx(
        (log_lam0, mle_log_hr, log_k), abs=1e-5
    )
    assert loglik == pytest.approx(-106.579491581564, abs=1e-8)

    ph, log_hr = from_survreg(3.68609781112496, 1.0, -1.52661356177188)
    (log_lam0, mle_log_hr, _), loglik = _mle(Exponential(), t, event, group)
    assert (np.log(ph.lam), log_hr) == pytest.approx((log_lam0, mle_log_hr), abs=1e-5)
    assert loglik == pytest.approx(-108.524049536789, abs=1e-8)
    # closed form: the exponential MLE of the 6-MP arm is events / total time
    assert ph.lam == pytest.approx(event[group == 0].sum() / t[group == 0].sum(), rel=1e-9)


def test_lifelines_conversions_match_lifelines_fits():
    t, event, group = _leukemia()
    arm = group == 0
    wf = WeibullFitter().fit(t[arm], event[arm])
    lam, k = from_lifelines_weibull(wf.lambda_, wf.rho_)
    grid = np.array([1.0, 5.0, 10.0, 20.0, 30.0])
    np.testing.assert_allclose(
        Weibull().survival(grid, lam, k), wf.survival_function_at_times(grid).to_numpy(), rtol=1e-10
    )
    # same fit as R: survreg(Surv(time, cens) ~ 1, subset(MASS::gehan, treat == "6-MP"))
    # (Intercept) 3.51942923414786, scale 0.73869727217157
    ph = from_survreg(3.51942923414786, 0.73869727217157)
    assert (ph.lam, ph.k) == pytest.approx((lam, k), rel=1e-4)

    ef = ExponentialFitter().fit(t[arm], event[arm])
    lam = from_lifelines_exponential(ef.lambda_)
    assert lam == pytest.approx(event[arm].sum() / t[arm].sum(), rel=1e-6)
    np.testing.assert_allclose(
        Exponential().survival(grid, lam),
        ef.survival_function_at_times(grid).to_numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize("module", ["resurv.model.families", "resurv.model.priors"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
