"""Marginal likelihood (importance sampling, SMC) against the closed form and each other."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from resurv.fit import marginal
from resurv.fit.build import build_model
from resurv.fit.marginal import (
    SHAPE_PRIOR_ONLY,
    SMCTask,
    importance_log_marginal_likelihood,
    log_marginal_likelihood,
    shape_note,
    smc_task,
)
from resurv.model.families import get_family
from resurv.model.individual_data import IndividualData
from resurv.model.prior_values import Prior, PriorSet
from resurv.study import load_study

ROOT = Path(__file__).resolve().parents[2]
A, B = 2.0, 10.0  # Gamma(shape A, rate B) prior on the rate of the single arm

GAMMA_RATE = PriorSet(
    name="gamma_rate",
    label="Gamma prior on the rate",
    rationale="closed-form marginal likelihood check",
    references=(),
    baseline=Prior("Gamma", alpha=A, beta=B),
    baseline_scale="rate",
    log_hr=Prior("Normal", mu=0.0, sigma=1.0),
    log_shape=Prior("Normal", mu=0.0, sigma=0.5),
)


def test_smc_log_marginal_likelihood_matches_the_exponential_gamma_closed_form():
    """p(data) = b^a Gamma(a + d) / (Gamma(a) (b + T)^(a + d)) for exponential data.

    With d deaths and T total time at risk, integrating lam^d exp(-lam T) against the
    Gamma(a, b) prior gives the closed form above. SMC's estimate (two chains) must agree
    within 0.15 on the log scale: the Monte Carlo error of 1000 particles here is ~0.02-0.05.
    """
    model, exact = _closed_form_case()
    per_chain = log_marginal_likelihood(model, draws=1000, chains=2, seed=11)
    assert len(per_chain) == 2 and np.all(np.isfinite(per_chain))
    assert np.mean(per_chain) == pytest.approx(exact, abs=0.15)


@pytest.mark.parametrize(
    ("ratio", "words"),
    [(0.98, "informed by the prior only"), (0.7, "weakly"), (0.3, "the data inform the shape")],
)
def test_shape_note_states_where_the_prior_speaks(ratio, words):
    assert words in shape_note(ratio)
    assert (ratio > SHAPE_PRIOR_ONLY) == ("prior only" in shape_note(ratio))


def _closed_form_case():
    rng = np.random.default_rng(3)
    time = rng.exponential(1 / 0.15, size=25)
    cens = rng.uniform(2, 12, size=25)
    event = time <= cens
    time = np.minimum(time, cens)
    d, total = event.sum(), time.sum()
    exact = (
        A * np.log(B) + special.gammaln(A + d) - special.gammaln(A) - (A + d) * np.log(B + total)
    )
    data = IndividualData(time, event, "only", arms=("only",))
    return build_model(get_family("exponential"), GAMMA_RATE, ("only",), "only", [data]), exact


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_importance_sampling_matches_the_exponential_gamma_closed_form(seed):
    """The same closed form as for SMC; the estimate must lie within 4 of its own standard
    errors (about 0.01 here) and within 0.03 of the exact value, with a small Pareto k."""
    model, exact = _closed_form_case()
    est = importance_log_marginal_likelihood(model, draws=4000, seed=seed)
    assert est["ok"] and est["method"] == "importance" and est["pareto_k"] < 0.5
    assert 0 < est["log_ml_se"] < 0.02
    assert abs(est["log_ml"] - exact) < max(4 * est["log_ml_se"], 1e-3)
    assert abs(est["log_ml"] - exact) < 0.03
    assert all(abs(h - exact) < 0.06 for h in est["log_ml_chains"])


def test_importance_sampling_is_reproducible():
    model, _ = _closed_form_case()
    a = importance_log_marginal_likelihood(model, draws=1000, seed=7)
    b = importance_log_marginal_likelihood(model, draws=1000, seed=7)
    assert a == b


@pytest.mark.parametrize("family", ["exponential", "weibull"])
def test_importance_sampling_and_smc_agree_on_the_flagship(flagship_study, family):
    """Two independent estimators of the flagship's survival-term marginal likelihood."""
    task = SMCTask(study=flagship_study, family=family, prior="sceptical", close=1999.0, seed=5)
    by_is = smc_task(task)
    by_smc = smc_task(replace(task, method="smc"))
    assert by_is["method"] == "importance" and by_smc["method"] == "smc"
    spread = np.ptp(by_smc["log_ml_chains"])
    assert abs(by_is["log_ml"] - by_smc["log_ml"]) < max(0.15, 2 * spread)


def test_unreliable_weights_fall_back_to_smc(flagship_study, monkeypatch):
    monkeypatch.setattr(marginal, "PARETO_K_MAX", -10.0)  # every Pareto k is "too large"
    task = SMCTask(study=flagship_study, family="exponential", prior="sceptical", close=1999.0,
                   seed=5, draws=300)  # fmt: skip
    out = smc_task(task)
    assert out["method"] == "smc" and np.isfinite(out["log_ml"]) and len(out["log_ml_chains"]) == 2


@pytest.fixture(scope="module")
def flagship_study():
    return load_study(ROOT / "models" / "grazi2000.toml")


def test_a_shared_compiled_density_gives_the_estimate_of_a_fresh_one(flagship_study):
    """Prior sets of one structure share the compiled density (hyperparameters swapped in)."""
    from resurv.fit.build import _structure_key

    first = SMCTask(study=flagship_study, family="weibull", prior="sceptical", close=1999.0, seed=5)
    smc_task(first)  # compiles the structure's density
    second = replace(first, prior="enthusiastic")
    shared = smc_task(second)
    args = (
        get_family("weibull"),
        marginal.study_prior_set(flagship_study, "enthusiastic"),
        ("resected", "not_resected"),
        "resected",
        [t for t in _survival_terms(flagship_study)],
    )
    assert _structure_key(*args) in marginal._LOGP_CACHE
    fresh = importance_log_marginal_likelihood(build_model(*args), draws=4000, seed=5)
    assert shared["log_ml"] == pytest.approx(fresh["log_ml"], abs=1e-10)


def _survival_terms(study):
    from resurv.model.censoring import CensoringModel
    from resurv.model.landmark_terms import ExactLandmark
    from resurv.model.study_terms import study_terms

    terms, _ = study_terms(study, CensoringModel.from_study(study, close=1999.0))
    return [t for t in terms if isinstance(t, ExactLandmark)]
