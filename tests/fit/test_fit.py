"""The fitting engine: compile once and swap data, seeded reproducibility, derived quantities,
the diagnostics gate with its retry, models of Potentials only, and PSIS-LOO on individual data.
"""

from __future__ import annotations

import numpy as np
import nutpie
import pymc as pm
import pytensor
import pytest
from scipy import integrate, stats

from resurv.errors import FitError
from resurv.fit import cache as _compile
from resurv.fit.build import build_model
from resurv.fit.sampling import ResurvFitWarning, compare_loo, fit, log_likelihood
from resurv.model.families import get_family
from resurv.model.individual_data import IndividualData
from resurv.model.priors import get_prior_set
from resurv.model.terms import Term


def leukemia_term(df):
    return IndividualData.from_frame(df, "t", "status", "arm", arms=("control", "treated"))


@pytest.fixture(scope="module")
def leukemia_exp(leukemia, quick_fit):
    return fit(leukemia_term(leukemia), family="exponential", seed=1, times=(10, 20), **quick_fit)


def test_seeded_fits_are_bit_identical(leukemia, quick_fit, leukemia_exp):
    again = fit(leukemia_term(leukemia), family="exponential", seed=1, **quick_fit)
    assert again.settings["compiled_from_cache"]
    for name, var in leukemia_exp.idata["posterior"].data_vars.items():
        np.testing.assert_array_equal(var.values, again.idata["posterior"][name].values)
    other = fit(leukemia_term(leukemia), family="exponential", seed=2, **quick_fit)
    post = leukemia_exp.idata["posterior"]
    assert not np.array_equal(post["hazard"].values, other.idata["posterior"]["hazard"].values)


def test_swapped_data_match_a_fresh_compile(leukemia_exp, quick_fit, simulate):
    """Data of another size through the cached model give the draws of a freshly built model."""
    n = (40, 35)  # 75 patients where the model was compiled with 42
    rng = np.random.default_rng(75)
    time, event, arm = simulate(rng, lam=(0.1, 0.05), k=1.0, n=n, censor_max=40.0)
    term = IndividualData(time, event, arm, arms=("control", "treated"))
    hits = _compile.cache_info()["hits"]
    swapped = fit(term, family="exponential", seed=5, **quick_fit)
    assert swapped.settings["compiled_from_cache"] and _compile.cache_info()["hits"] == hits + 1
    assert swapped.idata["observed_data"]["individual"].size == sum(n)

    prior = get_prior_set("weakly_informative", time_unit="weeks")
    model = build_model("exponential", prior, ("control", "treated"), "control", [term])
    with pytensor.config.change_flags(numba__fastmath=False):  # resurv compiles without it
        independent = nutpie.compile_pymc_model(model)  # nutpie's own compilation
    fresh = nutpie.sample(
        independent,
        draws=quick_fit["draws"],
        tune=quick_fit["tune"],
        chains=quick_fit["chains"],
        seed=5,
        target_accept=0.8,
        save_warmup=False,
        progress_bar=False,
    )
    np.testing.assert_array_equal(
        swapped.idata["posterior"]["hazard"].values, fresh["posterior"]["hazard"].values
    )


def test_derived_quantities_follow_the_draws(leukemia_exp):
    """NumPy-derived S(t), HR, median and RMST agree with the model's PyTensor deterministics
    and with direct integration of S(t)."""
    res = leukemia_exp
    post = res.idata["posterior"]
    lam = post["hazard"]
    surv = res.surv_at([10.0, 20.0])
    assert surv.dims == ("chain", "draw", "arm", "time")
    np.testing.assert_allclose(surv.sel(time=10.0), np.exp(-lam * 10.0), rtol=1e-12)
    np.testing.assert_allclose(res.hazard_ratio, post["hazard_ratio"], rtol=1e-10)
    np.testing.assert_allclose(res.median, post["median"], rtol=1e-10)
    rmst = res.rmst(30.0)
    for chain, draw in [(0, 0), (1, 500)]:
        for arm in res.arms:
            rate = float(lam.sel(chain=chain, draw=draw, arm=arm))
            expected, _ = integrate.quad(lambda t, r=rate: np.exp(-r * t), 0.0, 30.0)
            got = float(rmst.sel(chain=chain, draw=draw, arm=arm))
            assert got == pytest.approx(expected, rel=1e-9)


def test_summary_intervals_are_the_quantiles(leukemia_exp):
    res = leukemia_exp
    table = res.summary(prob=0.9)
    assert list(table.index) == [
        "log_hazard[control]",
        "log_hazard[treated]",
        "hazard[control]",
        "hazard[treated]",
        "hazard_ratio[treated]",
        "median[control]",
        "median[treated]",
        "surv[control, 10.0]",
        "surv[control, 20.0]",
        "surv[treated, 10.0]",
        "surv[treated, 20.0]",
    ]
    hr = res.hazard_ratio.sel(arm="treated").values.ravel()
    s = res.surv_at(20.0).sel(arm="treated").values.ravel()
    for row, draws in (("hazard_ratio[treated]", hr), ("surv[treated, 20.0]", s)):
        lo, mid, hi = np.quantile(draws, [0.05, 0.5, 0.95])
        got = table.loc[row]
        assert (got["eti90_lb"], got["median"], got["eti90_ub"]) == pytest.approx((lo, mid, hi))
        assert got["mean"] == pytest.approx(draws.mean())
    assert {"hdi95_lb", "hdi95_ub", "ess_bulk", "r_hat"} <= set(res.summary(kind="hdi").columns)
    with pytest.raises(ValueError, match="kind must be 'eti' or 'hdi'; received 'quantile'"):
        res.summary(kind="quantile")


def test_result_records_data_and_settings(leukemia_exp, leukemia):
    res = leukemia_exp
    assert res.status == "ok" and res.passed and res.diagnostics.passed
    np.testing.assert_array_equal(res.idata["observed_data"]["individual"], leukemia["t"])
    upper = res.idata["constant_data"]["individual__upper"].values
    assert np.isinf(upper[leukemia["status"].to_numpy() == 1]).all()
    status = res.idata["constant_data"]["individual"].values
    np.testing.assert_array_equal(status, leukemia["status"])
    s = res.settings
    assert (s["seed"], s["draws"], s["tune"], s["chains"]) == (1, 1000, 700, 2)
    assert s["sampler"].startswith("nutpie") and s["versions"]["nutpie"] == nutpie.__version__
    assert s["attempts"] == [{"draws": 1000, "tune": 700, "target_accept": 0.8, "passed": True}]
    # the gate covers the free parameters and the key derived quantities only
    gated = set(res.diagnostics.table.index)
    assert gated == {
        "baseline_reference",  # the free baseline (here the log median, a Normal set)
        "log_median_reference",
        "log_hr[treated]",
        "log_hazard[control]",
        "log_hazard[treated]",
        "hazard_ratio[treated]",
    }


def test_a_failing_fit_is_retried_then_marked_and_warned(leukemia, quick_fit):
    with pytest.warns(ResurvFitWarning, match=r"failed its diagnostics after 2 attempt\(s\)"):
        res = fit(
            leukemia_term(leukemia),
            family="exponential",
            seed=1,
            thresholds={"ess_bulk_min": 1e9},
            **quick_fit,
        )
    assert res.status == "failed" and not res.passed
    draws = quick_fit["draws"]
    assert res.settings["attempts"] == [
        {"draws": draws, "tune": 700, "target_accept": 0.8, "passed": False},
        {"draws": 2 * draws, "tune": 1400, "target_accept": 0.95, "passed": False},
    ]
    assert {f.check for f in res.diagnostics.failures} == {"ess_bulk"}
    assert res.idata["posterior"].sizes["draw"] == 2 * draws  # the retry's draws are kept
    with pytest.warns(ResurvFitWarning, match="after 1 attempt"):
        once = fit(
            leukemia_term(leukemia),
            family="exponential",
            thresholds={"rhat_max": 0.5},
            retry=False,
            **quick_fit,
        )
    assert len(once.settings["attempts"]) == 1


class DeathsByLandmark(Term):
    """``deaths`` of ``n`` patients of one arm died by time ``landmark`` (no censoring before it):
    a binomial ``pm.Potential`` on ``1 - S(landmark)``, with no observed variable."""

    def __init__(self, arm, deaths, n, landmark, name="landmark"):
        self.name, self.arm = name, arm
        self.values = {"deaths": np.array(deaths), "n": np.array(n), "time": np.array(landmark)}

    def data(self):
        return dict(self.values)

    def structure(self):
        return ("DeathsByLandmark", self.name, self.arm)

    def add_to_model(self, params, data):
        log_s = -params.lam[self.arm] * data["time"] ** params.k
        pm.Potential(
            self.name,
            data["deaths"] * pm.math.log1mexp(log_s) + (data["n"] - data["deaths"]) * log_s,
        )


@pytest.mark.parametrize(("deaths", "n"), [(3, 10), (20, 25)])
def test_a_model_of_potentials_only_matches_quadrature(deaths, n):
    """Posterior mean and SD of the log median by 1-D quadrature of prior x binomial."""
    prior = get_prior_set("weakly_informative", time_unit="years")
    res = fit(
        DeathsByLandmark("resected", deaths, n, 2.0),
        arms=("resected",),
        family="exponential",
        prior=prior,
        draws=1500,
        chains=2,
        seed=9,
    )
    assert res.passed
    mu, sigma = dict(prior.baseline.params).values()
    m = np.linspace(mu - 10 * sigma, mu + 10 * sigma, 20001)
    s_l = np.exp(-np.log(2.0) / np.exp(m) * 2.0)
    w = stats.norm.pdf(m, mu, sigma) * stats.binom.pmf(deaths, n, 1.0 - s_l)
    w /= integrate.trapezoid(w, m)
    mean = integrate.trapezoid(m * w, m)
    sd = np.sqrt(integrate.trapezoid((m - mean) ** 2 * w, m))
    draws = res.idata["posterior"]["log_median_reference"]
    mcse = float(res.diagnostics.table.loc["log_median_reference", "mcse_mean"])
    assert abs(float(draws.mean()) - mean) / mcse < 4
    assert float(draws.std()) == pytest.approx(sd, rel=0.05)
    with pytest.raises(FitError, match="PSIS-LOO needs a pointwise log-likelihood"):
        log_likelihood(res)


def test_loo_keeps_censored_patients_and_compares_families(leukemia, leukemia_exp, quick_fit):
    wei = fit(leukemia_term(leukemia), family="weibull", seed=1, **quick_fit)
    assert wei.passed
    # no target_accept given: each family's own (the Weibull's 0.9), recorded with the fit
    assert wei.settings["target_accept"] == get_family("weibull").target_accept == 0.9
    assert leukemia_exp.settings["target_accept"] == get_family("exponential").target_accept
    t = leukemia["t"].to_numpy(float)
    event = leukemia["status"].to_numpy() == 1
    arm = (leukemia["arm"] == "treated").to_numpy().astype(int)
    for res in (leukemia_exp, wei):
        ll = log_likelihood(res)["log_likelihood"]["individual"].isel(chain=1, draw=7).values
        point = res.idata["posterior"].isel(chain=1, draw=7)
        lam = point["hazard"].values[arm]
        k = float(point["shape"]) if "shape" in point else 1.0
        expected = event * np.log(lam * k * t ** (k - 1)) - lam * t**k
        np.testing.assert_allclose(ll, expected, rtol=1e-9)  # censored: log S(t) = -H(t)
    table = compare_loo({"exponential": leukemia_exp, "weibull": wei})
    assert set(table.index) == {"exponential", "weibull"}
    assert np.isfinite(table["elpd"]).all() and (table["elpd"] < 0).all()
    other = fit(leukemia_term(leukemia.iloc[:30]), family="weibull", seed=1, **quick_fit)
    with pytest.raises(ValueError, match="different individual data"):
        compare_loo({"weibull": wei, "weibull_30": other})


def test_bad_inputs_say_what_was_received():
    with pytest.raises(ValueError, match=r"every time must be finite and > 0; received \[0.0\]"):
        IndividualData([1.0, 0.0], [1, 0], "a")
    with pytest.raises(ValueError, match="event must hold one 0/1"):
        IndividualData([1.0, 2.0], [1, 2], "a")
    with pytest.raises(ValueError, match=r"patients belong to arms \['c'\] not listed"):
        IndividualData([1.0, 2.0], [1, 0], ["a", "c"], arms=("a", "b"))
    term = IndividualData([1.0, 2.0], [1, 0], "a")
    with pytest.raises(ValueError, match="seed must be an integer in"):
        fit(term, arms=("a",), seed=None)
    with pytest.raises(ValueError, match="draws must be an integer >= 1; received 0"):
        fit(term, arms=("a",), draws=0)
    with pytest.raises(ValueError, match=r"unknown thresholds \['rhat'\]"):
        fit(term, arms=("a",), thresholds={"rhat": 1.1})
    with pytest.raises(ValueError, match="term names must be unique"):
        fit([term, term], arms=("a",))
    with pytest.raises(TypeError, match="prior must be a prior set name or a PriorSet"):
        fit(term, arms=("a",), prior=3)
    with pytest.raises(ValueError, match="unknown survival family 'gompertz'"):
        fit(term, arms=("a",), family="gompertz")
    with pytest.raises(FitError, match=r"has arms \['a'\] that the model lacks"):
        build_model("exponential", "weakly_informative", ("b",), "b", [term])
    with pytest.raises(ValueError, match="maxsize must be a positive integer"):
        _compile.set_cache_size(0)


def test_a_compile_says_which_structure_of_how_many(leukemia, quick_fit, caplog):
    from resurv.fit.sampling import structure_key

    term = leukemia_term(leukemia)
    args = {**quick_fit, "family": "exponential", "prior": "sceptical"}
    shape = {k: args[k] for k in ("arms", "family", "prior", "prior_kwargs")}
    key = structure_key(term, **shape)
    _compile.clear_cache()
    with caplog.at_level("INFO", logger="resurv.fit"):
        with _compile.expect_structures([key]) as new:
            fit(term, seed=3, **args)
            fit(term, seed=4, **args)  # from the cache: no second line
    assert new == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "resurv.fit"]
    assert [m for m in lines if m.startswith("compiling")] == [
        "compiling Exponential model, 1 of 1"
    ]


_REPLAY = """
import hashlib, sys
import numpy as np
from lifelines.datasets import load_leukemia
from resurv.fit.sampling import fit
from resurv.model.individual_data import IndividualData
df = load_leukemia()
df["arm"] = np.where(df["Rx"] == 1, "control", "treated")
term = IndividualData.from_frame(df, "t", "status", "arm", arms=("control", "treated"))
res = fit(term, arms=("control", "treated"), family="weibull", draws=200, tune=200, chains=2,
          seed=9, prior_kwargs={"time_unit": "weeks"})
post = res.idata["posterior"]
digest = hashlib.sha256(b"".join(post[v].values.tobytes() for v in sorted(post.data_vars)))
print(res.settings["compiled_from_cache"], digest.hexdigest())
"""


def test_a_first_and_a_cached_compile_give_bit_identical_draws(tmp_path):
    """A seeded fit in a process that compiles the model and in one that loads it from the
    on-disk cache gives the same draws (no fastmath: compiled and cached code agree)."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pytensor'}",
        "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
    }
    runs = [
        subprocess.run(
            [sys.executable, "-c", _REPLAY], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0][1]) == 64


def test_a_second_process_compiles_ahead_and_the_fit_is_unchanged(leukemia, quick_fit, monkeypatch):
    """A structure compiled by the background process is loaded, not compiled twice, and the
    seeded fit is the one of an ordinary compile."""
    import functools

    from resurv.fit.sampling import compile_structure, structure_key

    term = leukemia_term(leukemia)
    args = {**quick_fit, "family": "weibull", "prior": "enthusiastic"}
    shape = {k: args[k] for k in ("arms", "family", "prior", "prior_kwargs")}
    key = structure_key(term, **shape)
    reference = fit(term, seed=8, **args)
    _compile.clear_cache()
    monkeypatch.setattr(_compile, "on_disk", lambda key: False)  # as on a first run
    job = functools.partial(compile_structure, **shape)
    with _compile.background_compiles([(key, job, (term,))]) as started:
        assert started == 1
        future = _compile._BACKGROUND[key]
        future.result(timeout=600)  # the second process compiled it
        again = fit(term, seed=8, **args)
    assert key not in _compile._BACKGROUND
    for name, var in reference.idata["posterior"].data_vars.items():
        np.testing.assert_array_equal(var.values, again.idata["posterior"][name].values)


def test_nothing_starts_when_every_structure_is_on_disk(monkeypatch):
    monkeypatch.setattr(_compile, "on_disk", lambda key: True)
    with _compile.background_compiles([(("some", "key"), print, ("never",))]) as started:
        assert started == 0
