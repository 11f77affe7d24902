"""Priors: value objects, the five prior sets' probability statements, the model's parameters,
and the prior predictive (NumPy draws against ``pm.sample_prior_predictive`` and closed forms).
"""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest
from scipy import stats

from resurv.model.families import Exponential, Weibull, get_family
from resurv.model.prior_registry import literature_baseline
from resurv.model.prior_values import BASELINE_VARIABLES, Prior, PriorSet
from resurv.model.priors import (
    PRIOR_SETS,
    build_parameters,
    get_prior_set,
    prior_predictive,
    sample_prior,
    survival_summary,
)

ARMS = ("resected", "not_resected")
LITERATURE = SimpleNamespace(
    arm="resected", time=5.0, lower=0.60, upper=0.85, mass=0.90, source="a review (example)"
)
FAST = {"mode": "FAST_COMPILE"}


def evaluate(model, outputs, point):
    """Evaluate model variables at a point given on the value variables."""
    fn = pytensor.function(
        model.value_vars,
        model.replace_rvs_by_values(outputs),
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )
    return fn(**point)


def build(prior_set, family, arms=ARMS, reference="resected"):
    with pm.Model(coords={"arm": arms}) as model:
        params = build_parameters(prior_set, family, arms, reference)
    return model, params


def prior_draws_pymc(model, draws, seed):
    idata = pm.sample_prior_predictive(
        draws=draws, model=model, random_seed=seed, compile_kwargs=FAST
    )
    return idata.prior.isel(chain=0)


# -- Prior ----------------------------------------------------------------------------------------


def test_prior_is_a_printable_hashable_value():
    p = Prior("Normal", sigma=0.42, mu=0)
    assert str(p) == "Normal(mu=0, sigma=0.42)"
    assert p.params == (("mu", 0.0), ("sigma", 0.42))
    assert p == Prior("Normal", mu=0.0, sigma=0.42)
    assert len({p, Prior("Normal", mu=0.0, sigma=0.42), Prior("Normal", mu=0, sigma=1)}) == 2
    assert eval(repr(p)) == p
    assert str(Prior("Flat")) == "Flat()"
    with pytest.raises(AttributeError):
        p.distribution = "StudentT"


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("Cauchy",), {"alpha": 0, "beta": 1}, r"unknown prior distribution 'Cauchy'.*'Normal'"),
        (("Normal",), {"mu": 0}, r"Normal takes parameters \['mu', 'sigma'\]; received \['mu'\]"),
        (("Normal",), {"mu": 0, "sigma": -1}, r"sigma must be finite and > 0; received -1.0"),
        (("Gamma",), {"alpha": 2, "beta": np.inf}, r"beta must be finite and > 0"),
        (("Uniform",), {"lower": 1, "upper": 0}, r"lower < upper"),
    ],
)
def test_prior_refuses_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Prior(*args, **kwargs)


@pytest.mark.parametrize(
    "prior",
    [
        Prior("Normal", mu=0.5, sigma=2.0),
        Prior("StudentT", nu=4, mu=-1, sigma=0.5),
        Prior("LogNormal", mu=0.2, sigma=0.7),
        Prior("Gamma", alpha=3, beta=2),
        Prior("HalfNormal", sigma=1.5),
        Prior("Exponential", lam=0.4),
        Prior("Uniform", lower=-1, upper=3),
    ],
    ids=str,
)
def test_prior_to_pymc_and_sample_match_scipy(prior):
    with pm.Model() as model:
        prior.to_pymc("x")
    x = np.array([0.3, 1.1, 2.4])
    logp = pm.logp(model["x"], x).eval(mode="FAST_COMPILE")
    np.testing.assert_allclose(logp, prior.to_scipy().logpdf(x), rtol=1e-12)

    draws = prior.sample(np.random.default_rng(1), 4000)
    assert stats.kstest(draws, prior.to_scipy().cdf).pvalue > 0.01
    lo, hi = prior.interval(0.9)
    assert prior.to_scipy().cdf(hi) - prior.to_scipy().cdf(lo) == pytest.approx(0.9)


def test_flat_prior_cannot_be_sampled():
    with pytest.raises(ValueError, match=r"Flat\(\) is improper.*use a proper prior"):
        Prior("Flat").sample(np.random.default_rng(1), 3)


# -- the prior sets' probability statements -----------------------------------------------------


@pytest.mark.parametrize("hr_important", [2.0, 0.5, 1.5, 3.0])
def test_sceptical_puts_5_percent_beyond_the_important_hr(hr_important):
    log_hr = get_prior_set("sceptical", hr_important=hr_important).log_hr.to_scipy()
    big, small = max(hr_important, 1 / hr_important), min(hr_important, 1 / hr_important)
    assert log_hr.cdf(math.log(small)) == pytest.approx(0.05, abs=1e-12)
    assert log_hr.sf(math.log(big)) == pytest.approx(0.05, abs=1e-12)
    assert log_hr.mean() == 0.0


@pytest.mark.parametrize("hr_important", [2.0, 1.5, 0.5])
def test_enthusiastic_puts_5_percent_on_the_other_side_of_one(hr_important):
    log_hr = get_prior_set("enthusiastic", hr_important=hr_important).log_hr.to_scipy()
    wrong_side = log_hr.cdf(0.0) if hr_important > 1 else log_hr.sf(0.0)
    assert wrong_side == pytest.approx(0.05, abs=1e-12)
    assert log_hr.median() == pytest.approx(math.log(hr_important))


@pytest.mark.parametrize(
    ("time_unit", "low", "high"),
    [("years", 0.25, 50.0), ("months", 3.0, 600.0), ("weeks", 0.25 * 365.25 / 7, 50 * 365.25 / 7)],
)
def test_weakly_informative_ranges(time_unit, low, high):
    ps = get_prior_set("weakly_informative", time_unit=time_unit)
    assert ps.baseline_scale == "log_median"
    np.testing.assert_allclose(np.exp(ps.baseline.interval(0.95)), [low, high], rtol=1e-12)
    np.testing.assert_allclose(np.exp(ps.log_hr.interval(0.95)), [1 / 20, 20], rtol=1e-12)
    assert ps.log_shape == Prior("Normal", mu=0, sigma=0.5)


def test_reference_set_is_flat_except_the_shape():
    ps = get_prior_set("reference")
    assert (ps.baseline, ps.log_hr) == (Prior("Flat"), Prior("Flat"))
    assert ps.baseline_scale == "log_rate"
    assert ps.log_shape == Prior("Normal", mu=0, sigma=0.5)
    assert not ps.is_proper
    assert "at least one event" in ps.rationale


def test_prior_sets_print_their_numbers():
    text = str(get_prior_set("sceptical", hr_important=2.0, time_unit="months"))
    assert "Normal(mu=0, sigma=0.421)" in text
    assert "[3, 600]" in text  # median survival of the reference arm, months
    assert "Spiegelhalter" in text
    table = get_prior_set("reference").describe()
    assert isinstance(table, pd.DataFrame)
    assert list(table["95% interval"][:2]) == ["improper (flat)"] * 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"name": "vague"},
            r"unknown prior set 'vague'; valid prior sets are \['weakly_informative', "
            r"'sceptical', 'enthusiastic', 'reference', 'literature'\]",
        ),
        (
            {"name": "sceptical", "hr_important": 1.0},
            r"hr_important must be a hazard ratio > 0 and != 1; received 1.0",
        ),
        ({"name": "enthusiastic", "hr_important": -2}, r"hr_important must be .* received -2"),
        (
            {"name": "weakly_informative", "time_unit": "fortnights"},
            r"unknown time_unit 'fortnights'; valid units are",
        ),
        ({"name": "literature"}, r"needs literature=<object with arm, time, lower, upper, mass"),
        (
            {
                "name": "literature",
                "literature": {"arm": "a", "time": 5, "lower": 60, "upper": 85, "mass": 0.9},
            },
            r"fraction, not a percent.*lower=60.0",
        ),
        (
            {"name": "literature", "literature": {"arm": "a", "time": 5}},
            r"lacks \['lower', 'upper', 'mass'\]",
        ),
    ],
)
def test_get_prior_set_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_prior_set(**kwargs)


def test_prior_set_validates_its_baseline_scale():
    ps = get_prior_set("weakly_informative")
    with pytest.raises(
        ValueError, match=r"baseline_scale must be one of .*'log_median'.*received 'median'"
    ):
        PriorSet(**{**ps.__dict__, "baseline_scale": "median"})
    with pytest.raises(ValueError, match=r"positive support.*received Normal"):
        PriorSet(**{**ps.__dict__, "baseline_scale": "rate"})


# -- literature (PreliZ) --------------------------------------------------------------------------


def log_median_of_survival(s, t):
    return np.log(t) + np.log(np.log(2.0)) - np.log(-np.log(s))


def test_literature_prior_matches_the_beta_moments_and_holds_the_mass():
    prior, beta = literature_baseline(LITERATURE)
    s = stats.beta(beta.alpha, beta.beta)
    # PreliZ's maxent Beta holds the stated mass
    assert s.cdf(LITERATURE.upper) - s.cdf(LITERATURE.lower) == pytest.approx(
        LITERATURE.mass, abs=1e-4
    )
    # the Normal has the moments of the log median implied by draws of that Beta
    n = 200_000
    x = log_median_of_survival(s.rvs(n, random_state=np.random.default_rng(7)), LITERATURE.time)
    mu, sigma = prior.kwargs["mu"], prior.kwargs["sigma"]
    assert mu == pytest.approx(x.mean(), abs=4 * x.std() / math.sqrt(n))
    assert sigma == pytest.approx(x.std(), rel=4 / math.sqrt(2 * n))
    # the Normal's mass on S(t_L) in [lower, upper] (exponential): within a point of `mass`
    g_lo, g_hi = log_median_of_survival(
        np.array([LITERATURE.lower, LITERATURE.upper]), LITERATURE.time
    )
    mass = prior.to_scipy().cdf(g_hi) - prior.to_scipy().cdf(g_lo)
    assert mass == pytest.approx(LITERATURE.mass, abs=0.01)


def test_literature_prior_predictive_puts_the_mass_on_the_published_range():
    ps = get_prior_set("literature", literature=LITERATURE)
    assert ps.baseline_arm == "resected" and "a review (example)" in ps.references
    model, _ = build(ps, Exponential())
    n = 4000
    prior = prior_draws_pymc(model, n, seed=3)
    s = np.exp(-prior["hazard"].sel(arm="resected").to_numpy() * LITERATURE.time)
    inside = np.mean((s >= LITERATURE.lower) & (s <= LITERATURE.upper))
    assert inside == pytest.approx(LITERATURE.mass, abs=0.01 + 4 * math.sqrt(0.09 / n))


def test_literature_arm_must_be_the_reference_arm():
    ps = get_prior_set("literature", literature=LITERATURE)
    with pytest.raises(
        ValueError,
        match=r"baseline for arm 'resected', but the reference arm is 'not_resected'; "
        r"make 'resected' the study's reference_arm",
    ):
        build(ps, Weibull(), reference="not_resected")


# -- the model's parameters -----------------------------------------------------------------------


ALL_SETS = [(name, fam) for name in PRIOR_SETS for fam in ("exponential", "weibull")]


@pytest.mark.parametrize(("name", "family"), ALL_SETS, ids=[f"{n}-{f}" for n, f in ALL_SETS])
def test_every_set_builds_a_model_and_its_prior_predictive_runs(name, family):
    ps = get_prior_set(name, literature=LITERATURE)
    model, params = build(ps, family)
    names = {v.name for v in model.free_RVs}
    expected = {BASELINE_VARIABLES[ps.baseline_scale], "log_hr"} | (
        {"log_shape"} if family == "weibull" else set()
    )
    assert names == expected
    deterministics = {v.name for v in model.deterministics}
    assert deterministics == {"log_hazard", "hazard", "hazard_ratio", "median"} | (
        {"shape"} if family == "weibull" else set()
    )
    assert model.named_vars_to_dims["hazard"] == ("arm",)
    assert model.named_vars_to_dims["log_hr"] == ("comparison",)
    assert tuple(model.coords["comparison"]) == ("not_resected",)
    assert params.arms == ARMS and set(params.lam) == set(ARMS)
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))
    if ps.is_proper:
        prior = prior_draws_pymc(model, 50, seed=1)
        assert prior["hazard"].shape == (50, 2)
        np.testing.assert_allclose(prior["hazard_ratio"].sel(arm="resected"), 1.0)
    else:
        with pytest.raises(ValueError, match="improper"):
            prior_predictive(ps, family, ARMS, "resected", times=[1.0], seed=1)
        if family == "weibull":  # the proper part can still be drawn
            prior = pm.sample_prior_predictive(
                draws=50, model=model, var_names=["shape"], random_seed=1, compile_kwargs=FAST
            )
            assert prior.prior["shape"].shape == (1, 50)


def test_deterministics_equal_the_closed_forms():
    arms = ("b", "ref", "c")  # reference not first
    ps = get_prior_set("weakly_informative")
    model, params = build(ps, Weibull(), arms=arms, reference="ref")
    assert tuple(model.coords["comparison"]) == ("b", "c")
    outs = [model[n] for n in ("log_hazard", "hazard", "hazard_ratio", "median", "shape")]
    median_ref, hr, k = 3.0, np.array([2.0, 0.5]), 1.5
    point = {
        "log_median_reference": np.log(median_ref),
        "log_hr": np.log(hr),
        "log_shape": np.log(k),
    }
    log_hazard, hazard, hazard_ratio, median, shape = evaluate(model, outs, point)
    lam_ref = np.log(2) / median_ref**k
    expected_lam = np.array([lam_ref * 2.0, lam_ref, lam_ref * 0.5])
    np.testing.assert_allclose(hazard, expected_lam, rtol=1e-12)
    np.testing.assert_allclose(log_hazard, np.log(expected_lam), rtol=1e-12)
    np.testing.assert_allclose(hazard_ratio, [2.0, 1.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(median, (np.log(2) / expected_lam) ** (1 / k), rtol=1e-12)
    assert median[1] == pytest.approx(median_ref)
    assert shape == pytest.approx(k)
    lam_c, k_out = evaluate(model, [params.lam["c"], params.k], point)
    np.testing.assert_allclose([lam_c, k_out], [lam_ref * 0.5, k], rtol=1e-12)


def test_single_arm_and_rate_baseline():
    ps = PriorSet(
        name="conjugate", label="Gamma rate", rationale="conjugate check", references=(),
        baseline=Prior("Gamma", alpha=2.0, beta=3.0), baseline_scale="rate",
        log_hr=Prior("Normal", mu=0, sigma=1), log_shape=Prior("Normal", mu=0, sigma=0.5),
    )  # fmt: skip
    model, params = build(ps, Exponential(), arms=("only",), reference="only")
    assert "log_hr" not in model.named_vars and "comparison" not in model.coords
    outs = [model["hazard"], model["hazard_ratio"], model["median"]]
    hazard, hr, median = evaluate(model, outs, {"hazard_reference_log__": np.log(0.2)})
    np.testing.assert_allclose(
        [hazard[0], hr[0], median[0]], [0.2, 1.0, np.log(2) / 0.2], rtol=1e-12
    )


def test_build_parameters_errors():
    ps = get_prior_set("sceptical")
    with pytest.raises(
        ValueError, match=r"reference_arm 'x' is not one of the arms \('resected', 'not_resected'\)"
    ):
        build(ps, "weibull", reference="x")
    with pytest.raises(ValueError, match=r"arms must be non-empty and unique"):
        build(ps, "weibull", arms=("a", "a"), reference="a")
    with pm.Model(coords={"arm": ("not_resected", "resected")}):
        with pytest.raises(ValueError, match=r"'arm' coordinate is \('not_resected', 'resected'\)"):
            build_parameters(ps, "weibull", ARMS, "resected")
    with pm.Model():
        with pytest.raises(ValueError, match=r"unknown survival family 'gamma'"):
            build_parameters(ps, "gamma", ARMS, "resected")


# -- prior predictive -----------------------------------------------------------------------------


def test_prior_predictive_survival_matches_the_gamma_closed_form():
    """Exponential, lam ~ Gamma(a, b): the p-quantile of S(t) = exp(-lam t) is exp(-t q(1 - p))."""
    ps = PriorSet(
        name="conjugate", label="Gamma rate", rationale="", references=(),
        baseline=Prior("Gamma", alpha=2.0, beta=3.0), baseline_scale="rate",
        log_hr=Prior("Normal", mu=0.3, sigma=0.4), log_shape=Prior("Normal", mu=0, sigma=0.5),
    )  # fmt: skip
    n, times = 4000, [0.5, 2.0, 6.0]
    table = prior_predictive(ps, "exponential", ("a", "b"), "a", times=times, draws=n, seed=11)
    lam = stats.gamma(2.0, scale=1 / 3.0)
    rows = table[(table.quantity == "survival") & (table.arm == "a")]
    assert list(rows.time) == times
    for column, p in (("eti95_lower", 0.025), ("median", 0.5), ("eti95_upper", 0.975)):
        # the row's value is the p-quantile of S(t) iff lam.cdf(-log S / t) = 1 - p
        got = lam.cdf(-np.log(rows[column].to_numpy()) / rows.time.to_numpy())
        np.testing.assert_allclose(got, 1 - p, atol=4 * math.sqrt(p * (1 - p) / n) + 1 / n)
    med = table[(table.quantity == "median") & (table.arm == "a")]
    assert lam.cdf(np.log(2) / med["median"].iloc[0]) == pytest.approx(
        0.5, abs=4 * 0.5 / math.sqrt(n)
    )
    hr = table[table.quantity == "hazard_ratio"].iloc[0]
    assert hr.arm == "b"
    for column, p in (("eti95_lower", 0.025), ("median", 0.5), ("eti95_upper", 0.975)):
        assert stats.norm(0.3, 0.4).cdf(np.log(hr[column])) == pytest.approx(
            p, abs=4 * math.sqrt(p * (1 - p) / n) + 1 / n
        )
    assert table.attrs["interval"].startswith("95% equal-tailed")


@pytest.mark.parametrize(
    ("name", "family"),
    [("weakly_informative", "weibull"), ("enthusiastic", "exponential"), ("literature", "weibull")],
)
def test_numpy_prior_predictive_agrees_with_pymc(name, family):
    ps = get_prior_set(name, literature=LITERATURE, hr_important=2.0)
    n, times = 4000, [1.0, 4.0]
    numpy_table = prior_predictive(ps, family, ARMS, "resected", times=times, draws=n, seed=5)
    model, _ = build(ps, family)
    prior = prior_draws_pymc(model, n, seed=6)
    hazard = prior["hazard"].sel(arm=list(ARMS)).to_numpy()
    shape = prior["shape"].to_numpy() if family == "weibull" else np.ones(n)
    pymc_table = survival_summary(hazard, shape, family, ARMS, "resected", times=times)
    pd.testing.assert_frame_equal(
        numpy_table[["quantity", "arm", "time"]], pymc_table[["quantity", "arm", "time"]]
    )
    # each NumPy quantile sits at its rank among the PyMC draws (two independent samples of n)
    for (_, a), (_, b) in zip(numpy_table.iterrows(), pymc_table.iterrows(), strict=True):
        if a.quantity == "survival":
            x = Weibull().survival(a.time, hazard[:, ARMS.index(a.arm)], shape)
        elif a.quantity == "median":
            x = Weibull().median(hazard[:, ARMS.index(a.arm)], shape)
        elif a.quantity == "hazard_ratio":
            x = hazard[:, 1] / hazard[:, 0]
        else:
            x = shape
        for column, p in (("eti95_lower", 0.025), ("median", 0.5), ("eti95_upper", 0.975)):
            tol = 4 * math.sqrt(2 * p * (1 - p) / n) + 2 / n
            assert abs(np.mean(x <= a[column]) - p) < tol, (a.quantity, a.arm, column)
            assert abs(np.mean(x <= b[column]) - p) < 1.5 / n + 1e-12  # PyMC's own quantile
    # and the draws themselves: two-sample Kolmogorov-Smirnov
    hazard_np, shape_np = sample_prior(ps, family, ARMS, "resected", draws=n, seed=5)
    for i in range(len(ARMS)):
        assert stats.ks_2samp(hazard_np[:, i], hazard[:, i]).pvalue > 0.001
    if family == "weibull":
        assert stats.ks_2samp(shape_np, shape).pvalue > 0.001
    else:
        assert np.all(shape_np == 1.0)


# -- the parameters inside a likelihood ----------------------------------------------------------

LEUKEMIA_6MP = (  # Freireich 6-MP arm (lifelines load_leukemia, Rx = 0): weeks, 1 = relapse
    np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35.0]),
    np.array([0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], dtype=bool),
)
GAMMA_RATE = PriorSet(
    name="conjugate", label="Gamma rate", rationale="conjugate check", references=(),
    baseline=Prior("Gamma", alpha=2.0, beta=10.0), baseline_scale="rate",
    log_hr=Prior("Normal", mu=0, sigma=1), log_shape=Prior("Normal", mu=0, sigma=0.5),
)  # fmt: skip


def censored_model(prior_set, family):
    t, event = LEUKEMIA_6MP
    with pm.Model(coords={"arm": ("6mp",)}) as model:
        params = build_parameters(prior_set, family, ("6mp",), "6mp")
        dist = get_family(family).pymc_dist(params.lam["6mp"], params.k)
        pm.Censored("t", dist, lower=None, upper=np.where(event, np.inf, t), observed=t)
    return model


def test_exponential_posterior_density_is_the_conjugate_gamma():
    """lam ~ Gamma(a, b), d events in total time T: posterior Gamma(a + d, b + T)."""
    t, event = LEUKEMIA_6MP
    model = censored_model(GAMMA_RATE, "exponential")
    logp = model.compile_logp(jacobian=False, mode="FAST_COMPILE")
    posterior = stats.gamma(2.0 + event.sum(), scale=1.0 / (10.0 + t.sum()))
    lam = np.array([0.005, 0.02, 0.04, 0.1])
    diff = [logp({"hazard_reference_log__": np.log(x)}) - posterior.logpdf(x) for x in lam]
    np.testing.assert_allclose(diff, diff[0], atol=1e-9)  # equal up to the normalising constant


def test_weibull_model_logp_equals_scipy():
    """Joint log density at a point, recomputed with scipy.stats priors and weibull_min."""
    t, event = LEUKEMIA_6MP
    ps = get_prior_set("weakly_informative", time_unit="weeks")
    model = censored_model(ps, "weibull")
    log_median, log_k = np.log(30.0), np.log(1.3)
    k = np.exp(log_k)
    lam = np.log(2) / np.exp(log_median) ** k
    data = stats.weibull_min(c=k, scale=lam ** (-1 / k))
    expected = (
        ps.baseline.to_scipy().logpdf(log_median)
        + ps.log_shape.to_scipy().logpdf(log_k)
        + np.sum(np.where(event, data.logpdf(t), data.logsf(t)))
    )
    logp = model.compile_logp(mode="FAST_COMPILE")
    point = {"log_median_reference": log_median, "log_shape": log_k}
    assert logp(point) == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
def test_exponential_nuts_recovers_the_conjugate_gamma_posterior():
    t, event = LEUKEMIA_6MP
    model = censored_model(GAMMA_RATE, "exponential")
    with model:
        idata = pm.sample(
            draws=2000, tune=1000, chains=2, cores=1, nuts_sampler="pymc",
            random_seed=20000, progressbar=False, compute_convergence_checks=False,
        )  # fmt: skip
    draws = idata.posterior["hazard"].to_numpy().ravel()
    posterior = stats.gamma(2.0 + event.sum(), scale=1.0 / (10.0 + t.sum()))
    # quantiles in probability space, with an allowance for autocorrelation (ESS >= n / 4)
    n_eff = draws.size / 4
    for p in (0.025, 0.25, 0.5, 0.75, 0.975):
        tol = 4 * math.sqrt(p * (1 - p) / n_eff)
        assert posterior.cdf(np.quantile(draws, p)) == pytest.approx(p, abs=tol)


@pytest.mark.parametrize(("events", "proper"), [(0, False), (1, True)])
def test_reference_posterior_is_proper_only_with_an_event(events, proper):
    """Flat on log lam: the likelihood lam^d exp(-lam T) integrates over log lam iff d >= 1."""
    t = np.array([2.0, 3.0, 5.0])
    event = np.arange(3) < events
    with pm.Model(coords={"arm": ("a",)}) as model:
        params = build_parameters(get_prior_set("reference"), "exponential", ("a",), "a")
        dist = Exponential().pymc_dist(params.lam["a"])
        pm.Censored("t", dist, lower=None, upper=np.where(event, np.inf, t), observed=t)
    logp = model.compile_logp(mode="FAST_COMPILE")

    def mass(width):  # integral of the unnormalised posterior over log lam in [-width, 5]
        u = np.linspace(-width, 5.0, 4001)
        dens = np.exp([logp({"log_hazard_reference": x}) for x in u])
        return np.sum((dens[1:] + dens[:-1]) / 2 * np.diff(u))

    grows = mass(200.0) / mass(100.0)
    if proper:
        assert grows == pytest.approx(1.0, abs=1e-9)  # converged: the tail holds no mass
    else:
        assert grows > 1.9  # the flat left tail keeps adding mass: improper
