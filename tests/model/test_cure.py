"""The mixture cure family ``S(t) = pi + (1 - pi) exp(-lam t)``: closed forms and invariants.

Every formula of :class:`resurv.model.families.Cure` is checked against something computed
independently here: numerical derivatives and integrals (SciPy), root finding for the
quantiles, the Exponential family at ``pi = 0``, and draws. The log likelihood of
right-censored data is the hand-derived closed form

    sum_events [log(1 - pi) + log lam - lam t] + sum_censored log(pi + (1 - pi) exp(-lam t)),

whose maximiser recovers the parameters of simulated data.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, optimize, stats

from resurv.model.families import Cure, Exponential, get_family

CASES = [(0.3, 0.0), (0.3, 0.25), (1.5, 0.6), (0.05, 0.9)]
IDS = [f"lam{lam}-pi{pi}" for lam, pi in CASES]
T = np.concatenate([[0.0], np.geomspace(1e-3, 40.0, 50)])
CURE = get_family("cure")


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    return request.param


def test_the_registry_holds_it_as_a_family_with_a_cure_fraction():
    assert isinstance(CURE, Cure) and CURE.has_cure and not CURE.has_shape
    assert not get_family("weibull").has_cure and not get_family("exponential").has_cure


def test_survival_levels_off_at_the_cure_fraction(case):
    lam, pi = case
    s = CURE.survival(T, lam, cure=pi)
    assert s[0] == 1.0 and np.all(np.diff(s) <= 0) and np.all(s >= pi)
    assert CURE.survival(1e6, lam, cure=pi) == pytest.approx(pi, abs=1e-12)
    np.testing.assert_allclose(s, pi + (1 - pi) * np.exp(-lam * T), rtol=1e-14)


def test_pi_zero_is_the_exponential():
    lam = 0.7
    exp = Exponential()
    np.testing.assert_allclose(CURE.survival(T, lam, cure=0.0), exp.survival(T, lam))
    np.testing.assert_allclose(CURE.hazard(T, lam, cure=0.0), exp.hazard(T, lam))
    np.testing.assert_allclose(CURE.log_pdf(T[1:], lam, cure=0.0), exp.log_pdf(T[1:], lam))
    assert CURE.median(lam, cure=0.0) == pytest.approx(exp.median(lam))
    assert CURE.rmst(3.0, lam, cure=0.0) == pytest.approx(exp.rmst(3.0, lam))


def test_cumulative_hazard_hazard_and_density_are_consistent(case):
    """H = -log S; h = dH/dt and f = -dS/dt by central differences."""
    lam, pi = case
    t, eps = np.geomspace(0.05, 20.0, 25), 1e-6
    np.testing.assert_allclose(
        CURE.cumulative_hazard(t, lam, cure=pi), -np.log(CURE.survival(t, lam, cure=pi))
    )
    d_h = (
        CURE.cumulative_hazard(t + eps, lam, cure=pi)
        - CURE.cumulative_hazard(t - eps, lam, cure=pi)
    ) / (2 * eps)
    # the differences carry round-off of about 1e-16 * H / eps = 1e-10 (where h is tiny)
    np.testing.assert_allclose(CURE.hazard(t, lam, cure=pi), d_h, rtol=1e-6, atol=1e-9)
    d_s = -(CURE.survival(t + eps, lam, cure=pi) - CURE.survival(t - eps, lam, cure=pi)) / (2 * eps)
    np.testing.assert_allclose(np.exp(CURE.log_pdf(t, lam, cure=pi)), d_s, rtol=1e-6, atol=1e-9)


def test_the_density_integrates_to_the_uncured_fraction(case):
    lam, pi = case
    mass, _ = integrate.quad(lambda t: np.exp(CURE.log_pdf(t, lam, cure=pi)), 0, np.inf)
    assert mass == pytest.approx(1 - pi, abs=1e-8)


def test_quantiles_invert_survival_and_are_infinite_beyond_the_plateau(case):
    lam, pi = case
    for q in (0.05, 0.3, 0.5, 0.8):
        got = CURE.quantile(q, lam, cure=pi)
        if 1 - q <= pi:
            assert got == np.inf
            continue
        root = optimize.brentq(lambda t: CURE.survival(t, lam, cure=pi) - (1 - q), 0, 1e4)
        assert got == pytest.approx(root, rel=1e-9)
    assert (CURE.median(lam, cure=pi) == np.inf) == (pi >= 0.5)


def test_rmst_equals_numerical_integration(case):
    lam, pi = case
    for tau in (0.5, 4.0, 25.0):
        want, _ = integrate.quad(lambda t: CURE.survival(t, lam, cure=pi), 0, tau)
        assert CURE.rmst(tau, lam, cure=pi) == pytest.approx(want, rel=1e-10)


def test_numpy_and_pytensor_paths_agree(case):
    lam, pi = case
    lam_, pi_, t_ = pt.dscalar("lam"), pt.dscalar("pi"), pt.dvector("t")
    outputs = [
        CURE.survival(t_, lam_, cure=pi_),
        CURE.log_survival(t_, lam_, cure=pi_),
        CURE.hazard(t_, lam_, cure=pi_),
        CURE.log_pdf(t_, lam_, cure=pi_),
        CURE.median(lam_, cure=pi_),
        CURE.rmst(t_, lam_, cure=pi_),
    ]
    f = pytensor.function([t_, lam_, pi_], outputs)
    t = T[1:]
    got = f(t, lam, pi)
    want = [
        CURE.survival(t, lam, cure=pi),
        CURE.log_survival(t, lam, cure=pi),
        CURE.hazard(t, lam, cure=pi),
        CURE.log_pdf(t, lam, cure=pi),
        CURE.median(lam, cure=pi),
        CURE.rmst(t, lam, cure=pi),
    ]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_draws_are_cured_with_probability_pi_and_exponential_otherwise():
    lam, pi, n = 0.4, 0.3, 40_000
    t = CURE.sample(np.random.default_rng(1), lam, size=n, cure=pi)
    cured = np.isinf(t)
    # binomial: 4 standard errors
    assert abs(cured.mean() - pi) < 4 * np.sqrt(pi * (1 - pi) / n)
    assert stats.kstest(t[~cured], stats.expon(scale=1 / lam).cdf).pvalue > 0.01


def _loglik(params, time, event):
    """The closed form of the module docstring (log lam, logit pi)."""
    lam, pi = np.exp(params[0]), 1 / (1 + np.exp(-params[1]))
    ev = np.log1p(-pi) + np.log(lam) - lam * time
    cens = np.log(pi + (1 - pi) * np.exp(-lam * time))
    return float(np.sum(np.where(event, ev, cens)))


def test_the_family_log_likelihood_is_the_hand_computation_and_its_maximum_recovers_truth():
    rng = np.random.default_rng(7)
    lam, pi, n = 0.5, 0.35, 4000
    t = CURE.sample(rng, lam, size=n, cure=pi)
    c = rng.uniform(0, 12, size=n)
    time, event = np.minimum(t, c), t <= c
    x = np.array([np.log(0.8), 0.2])
    family = np.where(
        event,
        CURE.log_pdf(time, np.exp(x[0]), cure=1 / (1 + np.exp(-x[1]))),
        CURE.log_survival(time, np.exp(x[0]), cure=1 / (1 + np.exp(-x[1]))),
    ).sum()
    assert family == pytest.approx(_loglik(x, time, event), rel=1e-12)
    best = optimize.minimize(lambda p: -_loglik(p, time, event), x, method="Nelder-Mead",
                             options={"xatol": 1e-8, "fatol": 1e-8})  # fmt: skip
    lam_hat, pi_hat = np.exp(best.x[0]), 1 / (1 + np.exp(-best.x[1]))
    assert lam_hat == pytest.approx(lam, rel=0.1) and pi_hat == pytest.approx(pi, abs=0.04)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: CURE.survival(1.0, 0.1, cure=1.0), r"cure must lie in \[0, 1\).*received 1.0"),
        (lambda: CURE.survival(1.0, 0.1, cure=-0.1), r"cure must lie in \[0, 1\)"),
        (lambda: CURE.survival(1.0, 0.1, 2.0), r"shape k = 1"),
        (lambda: CURE.pymc_dist(0.1), r"no PyMC distribution"),
    ],
)
def test_bad_inputs_are_refused(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
