"""The switched model: Normal and Flat prior sets in one compiled structure, same posterior.

Reference: the native model of each prior set (its own distributions, no switches), built by
the same code path tests/model/test_priors.py checks against scipy. The switched model's
free baseline is on the set's own scale: the log median for the Normal sets, ``log lam[ref]``
for the reference set's Weibull (for the Exponential the log median, ``log lam = log(log 2) -
log median``, a shift with unit Jacobian).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytest

from resurv.model.families import get_family
from resurv.model.prior_values import Prior, PriorSet
from resurv.model.priors import build_parameters, get_prior_set, prior_data, prior_structure
from resurv.model.shared_priors import POTENTIAL, switchable

ARMS = ("control", "treated")
# two arms of Freireich's trial (lifelines load_leukemia), weeks; 1 = relapse
TIMES = {
    "control": (np.array([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23.0]),
                np.ones(21, dtype=bool)),
    "treated": (np.array([6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32,
                          34, 35.0]),
                np.array([0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], bool)),
}  # fmt: skip
SETS = ("weakly_informative", "sceptical", "enthusiastic", "reference")


def model_of(prior_set, family, *, switched):
    """Censored two-arm likelihood; ``switched`` builds the compiled (data) form."""
    with pm.Model(coords={"arm": ARMS}) as model:
        params = build_parameters(
            prior_set, family, ARMS, "control", hyperparameters_as_data=switched
        )
        fam = get_family(family)
        for arm, (t, event) in TIMES.items():
            dist = fam.pymc_dist(params.lam[arm], params.k)
            upper = np.where(event, np.inf, t)
            pm.Censored(f"t_{arm}", dist, lower=None, upper=upper, observed=t)
    return model


def points(family, rng, n=6):
    out = []
    for _ in range(n):
        p = {"baseline_reference": rng.normal(2.0, 1.0), "log_hr": rng.normal(0.0, 1.0, 1)}
        if family == "weibull":
            p["log_shape"] = rng.normal(0.0, 0.4)
        out.append(p)
    return out


@pytest.mark.parametrize("family", ["exponential", "weibull"])
@pytest.mark.parametrize("name", SETS)
def test_switched_model_has_the_native_posterior_density(family, name):
    prior_set = get_prior_set(name, time_unit="weeks")
    assert switchable(prior_set)
    switched = model_of(prior_set, family, switched=True)
    native = model_of(prior_set, family, switched=False)
    assert POTENTIAL in switched.named_vars and POTENTIAL not in native.named_vars
    logp_s = switched.compile_logp(mode="FAST_COMPILE")
    dlogp_s = switched.compile_dlogp(mode="FAST_COMPILE")
    logp_n = native.compile_logp(mode="FAST_COMPILE")
    dlogp_n = native.compile_dlogp(mode="FAST_COMPILE")
    flat_rate = prior_set.baseline.distribution == "Flat"
    for p in points(family, np.random.default_rng(7)):
        q = dict(p)
        b = q.pop("baseline_reference")
        if not flat_rate:
            q["log_median_reference"] = b
        elif family == "weibull":
            q["log_hazard_reference"] = b
        else:  # Exponential: b is the log median
            q["log_hazard_reference"] = np.log(np.log(2.0)) - b
        assert logp_s(p) == pytest.approx(logp_n(q), rel=1e-12, abs=1e-12)
        grad_s, grad_n = dlogp_s(p), dlogp_n(q)
        if flat_rate and family == "exponential":  # d/db = -d/d(log lam) for the shift
            grad_n = grad_n * np.where(np.arange(grad_n.size) == 0, -1.0, 1.0)
        np.testing.assert_allclose(grad_s, grad_n, rtol=1e-10, atol=1e-12)
        median = pytensor.function(
            switched.value_vars,
            switched.replace_rvs_by_values([switched["log_median_reference"]])[0],
            on_unused_input="ignore",
            mode="FAST_COMPILE",
        )
        k = np.exp(p.get("log_shape", 0.0))
        log_lam = b if flat_rate and family == "weibull" else np.log(np.log(2.0)) - k * b
        assert median(**p) == pytest.approx((np.log(np.log(2.0)) - log_lam) / k, rel=1e-12)


def test_flat_cancellation_leaves_exactly_the_likelihood():
    """Reference prior, Exponential: Flat on log lam and log HR, so logp is the likelihood."""
    prior_set = get_prior_set("reference", time_unit="weeks")
    switched = model_of(prior_set, "exponential", switched=True)
    logp = switched.compile_logp(mode="FAST_COMPILE")
    p = {"baseline_reference": 2.3, "log_hr": np.array([-1.2])}
    lam_c = np.log(2.0) / np.exp(2.3)
    lam = {"control": lam_c, "treated": lam_c * np.exp(-1.2)}
    expected = sum(
        np.sum(np.where(e, np.log(lam[a]), 0.0) - lam[a] * t) for a, (t, e) in TIMES.items()
    )
    assert logp(p) == pytest.approx(expected, rel=1e-13)


def test_one_structure_per_family_for_the_registry():
    lit = {"arm": "control", "time": 52.0, "lower": 0.3, "upper": 0.7, "mass": 0.9}
    sets = [get_prior_set(n, time_unit="weeks") for n in SETS]
    from resurv.model.prior_registry import literature

    sets.append(literature(literature=lit, time_unit="weeks"))
    assert len({prior_structure(s) for s in sets}) == 1
    data = [prior_data(s, "weibull", ARMS, "control") for s in sets]
    assert all(d.keys() == data[0].keys() for d in data)  # the same containers, other values
    reference = dict(zip(SETS, data, strict=False))["reference"]
    assert reference["prior__baseline_reference__flat"] == 1.0
    assert reference["prior__baseline_reference__on_log_rate"] == 1.0
    assert reference["prior__log_hr__flat"] == 1.0


def test_other_distributions_keep_their_own_structure():
    gamma = PriorSet(
        name="conjugate", label="Gamma rate", rationale="conjugate check", references=(),
        baseline=Prior("Gamma", alpha=2.0, beta=10.0), baseline_scale="rate",
        log_hr=Prior("Normal", mu=0, sigma=1), log_shape=Prior("Normal", mu=0, sigma=0.5),
    )  # fmt: skip
    assert not switchable(gamma)
    assert prior_structure(gamma) != prior_structure(get_prior_set("reference"))
