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
        root = optimize.brentq(lambda t, q=q: CURE.survival(t, lam, cure=pi) - (1 - q), 0, 1e4)
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


# -- the cure family inside a model -------------------------------------------------------------

ARMS = ("control", "treated")


def _cure_data(seed=3, n=60):
    from resurv.model.individual_data import IndividualData

    rng = np.random.default_rng(seed)
    times, events, arms = [], [], []
    for arm, lam, pi in (("control", 0.6, 0.2), ("treated", 0.3, 0.5)):
        t = CURE.sample(rng, lam, size=n, cure=pi)
        c = rng.uniform(0, 15, n)
        times.append(np.minimum(t, c))
        events.append(t <= c)
        arms.append(np.full(n, arm))
    time, event, arm = np.concatenate(times), np.concatenate(events), np.concatenate(arms)
    return time, event, arm, IndividualData(time, event.astype(int), arm, arms=ARMS)


def test_the_model_log_density_is_the_closed_form_plus_the_priors():
    """Joint log density at a point: priors by scipy.stats, likelihood by the closed form."""
    from resurv.fit.build import build_model
    from resurv.model.priors import get_prior_set

    time, event, arm, term = _cure_data()
    ps = get_prior_set("weakly_informative", time_unit="years")
    model = build_model("cure", ps, ARMS, "control", [term])
    # the baseline is the reference arm's log median (whatever its variable is called)
    (base,) = {v.name for v in model.free_RVs} - {"log_hr", "cure_fraction"}
    assert base in ("log_median_reference", "baseline_reference")
    log_median, log_hr, pi = np.log(2.5), np.array([-0.4]), np.array([0.25, 0.45])
    lam = {"control": np.log(2) / np.exp(log_median)}
    lam["treated"] = lam["control"] * np.exp(log_hr[0])
    lam_i = np.where(arm == "control", lam["control"], lam["treated"])
    pi_i = np.where(arm == "control", pi[0], pi[1])
    loglik = np.where(
        event,
        np.log1p(-pi_i) + np.log(lam_i) - lam_i * time,
        np.log(pi_i + (1 - pi_i) * np.exp(-lam_i * time)),
    ).sum()
    expected = (
        ps.baseline.to_scipy().logpdf(log_median)
        + ps.log_hr.to_scipy().logpdf(log_hr).sum()
        + stats.beta(1, 1).logpdf(pi).sum()
        + loglik
    )
    logp = model.compile_logp(jacobian=False, mode="FAST_COMPILE")
    point = {base: log_median, "log_hr": log_hr,
             "cure_fraction_logodds__": np.log(pi / (1 - pi))}  # fmt: skip
    assert logp(point) == pytest.approx(expected, rel=1e-12)


def test_the_approximate_landmark_term_uses_the_cure_survival():
    """q_i = S(t_i) / S(t_{i-1}) with S = pi + (1 - pi) exp(-lam t), by hand."""
    from resurv.model.censoring import CensoringModel
    from resurv.model.landmark_terms import ApproxLandmark
    from resurv.model.terms import ArmParams
    from resurv.study.schema import Printed

    term = ApproxLandmark("a", [3.0, 5.0], [Printed(45.0, 1), Printed(45.0, 1)], [20],
                          CensoringModel(1990, 1995, 2002))  # fmt: skip
    lam, pi = 0.5, 0.4
    params = ArmParams(("a",), {"a": pt.as_tensor(lam)}, pt.as_tensor(1.0), {"a": pt.as_tensor(pi)})
    got = float(term.log_likelihood(params, term.data()).eval())
    d = term.data()
    s = pi + (1 - pi) * np.exp(-lam * np.array([0.0, 3.0, 5.0]))
    q = s[1:] / s[:-1]
    y, size = d["y"][0], d["size"][0]
    want = np.sum(d["norm"][0] + y * np.log(q) + (size - y) * np.log1p(-q))
    assert got == pytest.approx(want, rel=1e-12)
    # and without a cure fraction the same term is the exponential one
    plain = ArmParams(("a",), {"a": pt.as_tensor(lam)}, pt.as_tensor(1.0))
    q0 = np.exp(-lam * np.array([3.0, 2.0]))
    want0 = np.sum(d["norm"][0] + y * np.log(q0) + (size - y) * np.log1p(-q0))
    assert float(term.log_likelihood(plain, d).eval()) == pytest.approx(want0, rel=1e-12)


def test_the_prior_predictive_draws_the_cure_fraction_from_its_beta():
    from resurv.model.priors import get_prior_set, prior_predictive, sample_cure, sample_prior

    ps = get_prior_set("reference")
    assert str(ps.cure) == "Beta(alpha=0.5, beta=0.5)"  # Jeffreys
    ps = get_prior_set("weakly_informative")
    pi = sample_cure(ps, "cure", ARMS, draws=20_000, seed=4)
    assert pi.shape == (20_000, 2)
    assert stats.kstest(pi[:, 0], stats.beta(1, 1).cdf).pvalue > 0.001
    assert sample_cure(ps, "weibull", ARMS, draws=10, seed=4) is None
    # the hazards are the same draws whatever the family
    h_exp, _ = sample_prior(ps, "exponential", ARMS, "control", draws=50, seed=4)
    h_cure, _ = sample_prior(ps, "cure", ARMS, "control", draws=50, seed=4)
    np.testing.assert_array_equal(h_exp, h_cure)
    table = prior_predictive(ps, "cure", ARMS, "control", times=[100.0], draws=20_000, seed=4)
    cure_row = table[(table["quantity"] == "cure_fraction") & (table["arm"] == "control")]
    assert cure_row["median"].iloc[0] == pytest.approx(0.5, abs=0.02)
    # S(100 years) is nearly the cure fraction itself
    late = table[(table["quantity"] == "survival") & (table["arm"] == "control")]
    assert late["median"].iloc[0] == pytest.approx(0.5, abs=0.03)


@pytest.mark.slow
def test_the_cure_fit_recovers_simulated_parameters():
    """20 simulated two-arm cohorts (60 per arm): the 95% intervals cover the truth.

    Each of the 4 parameters (two cure fractions, the control rate, the HR) is covered in at
    least 16 of the 20 fits (a binomial(20, 0.95) falls below 16 with probability 0.3%).
    """
    from resurv.fit.sampling import fit

    truth = {"cure_fraction[control]": 0.2, "cure_fraction[treated]": 0.5,
             "hazard[control]": 0.6, "hazard_ratio[treated]": 0.5}  # fmt: skip
    covered = dict.fromkeys(truth, 0)
    for seed in range(20):
        *_, term = _cure_data(seed=100 + seed)
        res = fit([term], arms=ARMS, family="cure", prior="weakly_informative",
                  prior_kwargs={"time_unit": "years"}, draws=1000, tune=1000, chains=2,
                  seed=seed + 1)  # fmt: skip
        summary = res.summary()
        for name, value in truth.items():
            lo, hi = summary.loc[name, "eti95_lb"], summary.loc[name, "eti95_ub"]
            covered[name] += lo <= value <= hi
    assert all(c >= 16 for c in covered.values()), covered
