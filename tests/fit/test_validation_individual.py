"""Validation of the Exponential and Weibull models on individual data.

1. Conjugacy: Exponential likelihood, Gamma(a, b) prior on the reference arm's rate and a flat
   prior on the log hazard ratio: the posterior is known in closed form.
2. Maximum likelihood on real data (Freireich 6-MP vs placebo): with flat priors the MAP is the
   MLE, compared with the closed form, lifelines and R ``survreg``.
3. Simulation-based calibration (slow) of log hazards and the Weibull shape, through the
   compile-once path, with a fast smoke version.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pymc as pm
import pytest
from scipy import stats

from resurv.fit.build import build_model
from resurv.fit.sampling import ResurvFitWarning, fit
from resurv.model.individual_data import IndividualData
from resurv.model.prior_values import Prior, PriorSet
from resurv.model.priors import build_parameters

ARMS = ("control", "treated")

# -- 1. conjugate Gamma posterior ----------------------------------------------------------

A, B = 2.0, 10.0  # Gamma(shape a, rate b) prior on the control arm's rate (per year)
CONJUGATE = PriorSet(
    name="conjugate_gamma",
    label="Gamma on the reference rate, flat log hazard ratio",
    rationale="closed-form posterior for validation",
    references=(),
    baseline=Prior("Gamma", alpha=A, beta=B),
    baseline_scale="rate",
    log_hr=Prior("Flat"),
    log_shape=Prior("Normal", mu=0.0, sigma=0.5),
)


def exact_posteriors(time, event, arm):
    """Closed forms, from ``L(lam) = lam**d exp(-lam T)`` per arm (d deaths, T time at risk).

    Prior density in (lam_c, lam_t): Gamma(lam_c | a, b) x 1/lam_t (flat in log HR = log lam_t -
    log lam_c, Jacobian 1/lam_t), so a posteriori lam_c ~ Gamma(a + d_c, b + T_c) and
    lam_t ~ Gamma(d_t, T_t) independently, and
    HR = lam_t / lam_c = (d_t (b + T_c)) / ((a + d_c) T_t) * F(2 d_t, 2 (a + d_c)).
    """
    d = {a: event[arm == a].sum() for a in ARMS}
    T = {a: time[arm == a].sum() for a in ARMS}
    a1, b1 = A + d["control"], B + T["control"]
    a2, b2 = d["treated"], T["treated"]
    scale = (a2 * b1) / (a1 * b2)
    return {
        "control": stats.gamma(a=a1, scale=1 / b1),
        "treated": stats.gamma(a=a2, scale=1 / b2),
        "hr": stats.f(2 * a2, 2 * a1, scale=scale),
    }


@pytest.mark.parametrize(("n", "seed"), [((20, 25), 11), ((6, 9), 12)])
def test_exponential_matches_the_conjugate_gamma_posterior(simulate, n, seed):
    """Posterior mean and 5/50/95% quantiles within Monte Carlo error (|z| < 4, ArviZ MCSE).

    Both data sets go through one compiled model (the second swaps in data of another size).
    """
    rng = np.random.default_rng(seed)
    time, event, arm = simulate(rng, lam=(0.3, 0.15), k=1.0, n=n, censor_max=8.0)
    assert event[arm == "treated"].sum() >= 1  # the flat log HR needs a death in the arm
    res = fit(
        IndividualData(time, event, arm, arms=ARMS),
        arms=ARMS,
        family="exponential",
        prior=CONJUGATE,
        draws=2500,
        chains=2,
        seed=seed,
    )
    assert res.passed, res.diagnostics.to_text()
    post = res.idata["posterior"]
    draws = {
        "control": post["hazard"].sel(arm="control"),
        "treated": post["hazard"].sel(arm="treated"),
        "hr": post["hazard_ratio"].sel(arm="treated"),
    }
    exact = exact_posteriors(time, event, arm)
    for name, x in draws.items():
        z = (float(x.mean()) - exact[name].mean()) / float(az.mcse(x, method="mean"))
        assert abs(z) < 4, (name, "mean", z)
        for q in (0.05, 0.5, 0.95):
            mcse = float(az.mcse(x, method="quantile", prob=q))
            z = (float(x.quantile(q)) - exact[name].ppf(q)) / mcse
            assert abs(z) < 4, (name, q, z)


# -- 2. maximum likelihood on the Freireich leukaemia data -----------------------------------

FLAT = PriorSet(
    name="flat",
    label="Flat on log rate, log HR and log shape",
    rationale="posterior mode = maximum likelihood",
    references=(),
    baseline=Prior("Flat"),
    baseline_scale="log_rate",
    log_hr=Prior("Flat"),
    log_shape=Prior("Flat"),
)
TIGHT = {"options": {"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000}}

# R 4.2.2, survival 3.5.3 (2026-11-25), data = lifelines.datasets.load_leukemia() written to CSV:
#   d$treated <- as.integer(d$Rx == 0)
#   ctl <- survreg.control(rel.tolerance = 1e-12, maxiter = 100)
#   survreg(Surv(t, status) ~ treated, data = d, dist = "weibull", control = ctl)
#   survreg(Surv(t, status) ~ treated, data = d, dist = "exponential", control = ctl)
R_WEIBULL = {"intercept": 2.248352359077, "treated": 1.267334587419, "scale": 0.732194404084}
R_EXPONENTIAL = {"intercept": 2.15948424935, "treated": 1.52661356180}


def posterior_mode(leukemia, family):
    term = IndividualData.from_frame(leukemia, "t", "status", "arm", arms=ARMS)
    # The native parameterisation (log lam[ref] free), where a Flat prior makes the mode the
    # MLE. build_model's compiled form moves in log median[ref] with the same posterior, so
    # its density there carries the Jacobian k and its mode is not the MLE's point
    # (tests/model/test_shared_priors.py checks that the two densities agree).
    with pm.Model(coords={"arm": ARMS}) as model:
        params = build_parameters(FLAT, family, ARMS, "control")
        containers = {k: pm.Data(term.data_name(k), v) for k, v in term.data().items()}
        term.add_to_model(params, containers)
    point = pm.find_MAP(
        model=model, return_inferencedata=True, jitter=False, progressbar=False, **TIGHT
    )
    assert bool(point["optimizer_result"]["success"])
    lam = point["posterior"]["hazard"].sel(arm=list(ARMS)).values.ravel()
    k = float(point["posterior"]["shape"].values.ravel()[0]) if family == "weibull" else 1.0
    return lam, k


def test_exponential_mode_is_the_mle(leukemia):
    """MLE per arm: deaths / time at risk; lifelines ``ExponentialFitter.lambda_`` is the MEAN
    time, so the rate is ``1 / lambda_``; R ``survreg`` gives ``lam = exp(-(Intercept) - beta)``.
    """
    from lifelines import ExponentialFitter

    lam, _ = posterior_mode(leukemia, "exponential")
    groups = [leukemia[leukemia["arm"] == a] for a in ARMS]
    closed = [g["status"].sum() / g["t"].sum() for g in groups]
    np.testing.assert_allclose(lam, closed, rtol=1e-6)
    np.testing.assert_allclose(closed, [21 / 182, 9 / 359], rtol=1e-12)
    lifelines_rate = [1.0 / ExponentialFitter().fit(g["t"], g["status"]).lambda_ for g in groups]
    np.testing.assert_allclose(lam, lifelines_rate, rtol=1e-3)
    r = R_EXPONENTIAL
    r_rate = [np.exp(-r["intercept"]), np.exp(-r["intercept"] - r["treated"])]
    np.testing.assert_allclose(lam, r_rate, rtol=1e-3)


def test_weibull_mode_is_the_mle_with_a_shared_shape(leukemia):
    """lifelines ``WeibullAFTFitter`` (group as covariate, shared shape):
    ``S(t | x) = exp(-(t / exp(b0 + b1 x))**rho)``, so ``k = rho`` and
    ``lam(x) = exp(b0 + b1 x)**(-k)``. R ``survreg``: ``k = 1/scale``,
    ``lam(x) = exp(-(Intercept + beta x) / scale)``.
    """
    from lifelines import WeibullAFTFitter

    lam, k = posterior_mode(leukemia, "weibull")
    df = leukemia.assign(treated=(leukemia["arm"] == "treated").astype(float))[
        ["t", "status", "treated"]
    ]
    aft = WeibullAFTFitter()
    aft.fit(df, "t", "status", fit_options={"gtol": 1e-10})
    b0 = aft.params_[("lambda_", "Intercept")]
    b1 = aft.params_[("lambda_", "treated")]
    rho = np.exp(aft.params_[("rho_", "Intercept")])
    assert k == pytest.approx(rho, rel=1e-3)
    np.testing.assert_allclose(lam, [np.exp(b0) ** -rho, np.exp(b0 + b1) ** -rho], rtol=1e-3)
    r = R_WEIBULL
    k_r = 1.0 / r["scale"]
    assert k == pytest.approx(k_r, rel=1e-3)
    lam_r = [np.exp(-r["intercept"] * k_r), np.exp(-(r["intercept"] + r["treated"]) * k_r)]
    np.testing.assert_allclose(lam, lam_r, rtol=1e-3)


# -- 3. simulation-based calibration ---------------------------------------------------------

SBC_PRIOR = {"prior": "weakly_informative", "prior_kwargs": {"time_unit": "weeks"}}
SBC_FIT = {"draws": 1000, "tune": 700, "chains": 2}
THIN = 20  # 2 x 1000 draws -> 99 kept, so ranks take 100 values: 10 bins of 10
CENSOR_MAX_WEEKS = 520.0


def run_sbc(family, replicates, seed, simulate, n=(25, 25)):
    """Ranks of the true log hazards (and shape) among thinned posterior draws.

    Parameters are drawn from the model's own prior (``pm.draw`` on the built model), a
    two-arm cohort is simulated with uniform censoring over 10 years, and each replicate is
    fitted with ``fit`` (compiled once, data swapped). Returns ``(ranks, n_failed)``.
    """
    prior_model = build_model(family, _sbc_prior(), ARMS, "control", [])
    names = ["log_hazard"] + (["shape"] if family == "weibull" else [])
    truth = pm.draw([prior_model[v] for v in names], draws=replicates, random_seed=seed)
    truth = dict(zip(names, truth, strict=True))
    rng = np.random.default_rng(seed)
    ranks = {f"log_hazard[{a}]": [] for a in ARMS}
    if family == "weibull":
        ranks["shape"] = []
    failed = 0
    for r in range(replicates):
        lam = np.exp(truth["log_hazard"][r])
        k = float(truth["shape"][r]) if family == "weibull" else 1.0
        time, event, arm = simulate(rng, lam=lam, k=k, n=n, censor_max=CENSOR_MAX_WEEKS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResurvFitWarning)
            res = fit(
                IndividualData(time, event, arm, arms=ARMS),
                arms=ARMS,
                family=family,
                seed=seed + r,
                **SBC_PRIOR,
                **SBC_FIT,
            )
        failed += not res.passed
        post = res.idata["posterior"]
        for i, a in enumerate(ARMS):
            draws = post["log_hazard"].sel(arm=a).values.ravel()[::THIN][:99]
            ranks[f"log_hazard[{a}]"].append(int((draws < truth["log_hazard"][r][i]).sum()))
        if family == "weibull":
            draws = post["shape"].values.ravel()[::THIN][:99]
            ranks["shape"].append(int((draws < k).sum()))
    return {name: np.array(v) for name, v in ranks.items()}, failed


def _sbc_prior():
    from resurv.model.priors import get_prior_set

    return get_prior_set(SBC_PRIOR["prior"], **SBC_PRIOR["prior_kwargs"])


def test_sbc_machinery_runs(simulate):
    """Smoke test only (3 replicates): ranks are produced in range. Not a calibration check."""
    ranks, failed = run_sbc("exponential", 3, seed=5, simulate=simulate)
    assert set(ranks) == {"log_hazard[control]", "log_hazard[treated]"}
    for r in ranks.values():
        assert r.shape == (3,) and ((r >= 0) & (r <= 99)).all()
    assert 0 <= failed <= 3


@pytest.mark.slow
@pytest.mark.parametrize("family", ["exponential", "weibull"])
def test_sbc_ranks_are_uniform(family, simulate):
    """Talts et al. (2018) SBC: 200 replicates, chi-square test of 10-bin rank histograms
    at the 1% level for each arm's log hazard and the Weibull shape (about 40-60 s each).

    The check can fail: simulating with hazards 1.5 times the drawn ones gives p < 1e-30.
    """
    replicates = 200
    ranks, failed = run_sbc(family, replicates, seed=2024, simulate=simulate)
    assert failed <= 0.1 * replicates, f"{failed} of {replicates} fits failed their diagnostics"
    for name, r in ranks.items():
        counts = np.bincount(r // 10, minlength=10)
        assert counts.sum() == replicates
        p = stats.chisquare(counts).pvalue
        assert p > 0.01, (family, name, counts.tolist(), p)
