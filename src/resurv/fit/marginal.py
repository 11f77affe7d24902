"""Exponential vs Weibull: marginal likelihoods by SMC, and what the data say about the shape.

Only the survival terms (landmark figures, hazard ratios, medians) enter the marginal
likelihood: proportion and count terms have their own parameters with the same prior and
likelihood under both families, so they cancel from the Bayes factor. Improper prior sets
(``reference``) have no marginal likelihood and are skipped with a note.

The Weibull shape is "informed by the prior only" when its posterior SD is close to its prior
SD: the ratio posterior SD / prior SD of ``log k`` is reported with a plain statement
(ratio > 0.9: the data say almost nothing about the shape).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pymc as pm

from resurv.fit.build import build_model
from resurv.model.censoring import CensoringModel
from resurv.model.families import get_family
from resurv.model.hr_median_terms import HazardRatioTerm, MedianTerm
from resurv.model.landmark_terms import ApproxLandmark, ExactLandmark
from resurv.model.priors import get_prior_set
from resurv.model.study_terms import study_terms
from resurv.study.schema import Study

__all__ = [
    "SMCTask",
    "log_marginal_likelihood",
    "smc_task",
    "shape_note",
    "study_prior_set",
]


#: posterior/prior SD ratio of log k above which the shape is said to be prior-driven
SHAPE_PRIOR_ONLY = 0.9


@dataclass(frozen=True)
class SMCTask:
    """One marginal-likelihood computation: a family and a proper prior set at one close."""

    study: Study
    family: str
    prior: str
    close: float
    seed: int
    draws: int = 1000
    chains: int = 2

    @property
    def key(self) -> str:
        """``smc-<family>-<prior>-close<close>``."""
        return f"smc-{self.family}-{self.prior}-close{self.close:g}"


def study_prior_set(study: Study, name: str):
    """The prior set ``name`` with the study's clinically important HR, literature and unit."""
    return get_prior_set(
        name,
        hr_important=study.analysis.hr_important,
        literature=study.analysis.literature,
        time_unit=study.time_unit,
    )


def log_marginal_likelihood(model: pm.Model, *, draws: int, chains: int, seed: int) -> list[float]:
    """Log marginal likelihood of a PyMC model by SMC, one estimate per chain.

    Notes
    -----
    Sequential Monte Carlo tempers from the prior to the posterior; the product of the mean
    importance weights over its stages estimates the marginal likelihood (PyMC's
    ``sample_stats["log_marginal_likelihood"]``, of which the last finite stage is the
    estimate). Checked against the closed-form exponential-Gamma marginal likelihood in the
    tests. The prior must be proper.

    References
    ----------
    Ching J, Chen YC. Transitional Markov chain Monte Carlo method for Bayesian model
    updating, model class selection, and model averaging. J Eng Mech 2007;133:816-32.
    """
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    pymc_log.setLevel(logging.WARNING)  # SMC's progress lines would reach the terminal
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            idata = pm.sample_smc(
                draws=draws,
                chains=chains,
                cores=1,
                random_seed=seed,
                progressbar=False,
                model=model,
                compute_convergence_checks=False,
            )
        finally:
            pymc_log.setLevel(level)
    lml = np.asarray(idata["sample_stats"]["log_marginal_likelihood"].values, dtype=float)
    # one row per chain, one entry per SMC stage; the estimate is the last finite entry
    return [_last_finite(c) for c in lml.reshape(chains, -1)]


def smc_task(task: SMCTask) -> dict:
    """Log marginal likelihood of the survival terms by sequential Monte Carlo (PyMC SMC).

    Returns a dict with ``log_ml`` (mean over chains), ``log_ml_chains`` and ``ok``.
    """
    study = task.study
    terms, _ = study_terms(study, CensoringModel.from_study(study, close=task.close))
    survival = [
        t
        for t in terms
        if isinstance(t, ExactLandmark | ApproxLandmark | HazardRatioTerm | MedianTerm)
    ]
    model = build_model(
        get_family(task.family),
        study_prior_set(study, task.prior),
        tuple(a.id for a in study.arms),
        study.reference_arm,
        survival,
    )
    per_chain = log_marginal_likelihood(model, draws=task.draws, chains=task.chains, seed=task.seed)
    ok = bool(np.all(np.isfinite(per_chain)))
    return {
        "family": task.family,
        "prior": task.prior,
        "close": task.close,
        "log_ml": float(np.mean(per_chain)) if ok else float("nan"),
        "log_ml_chains": per_chain,
        "ok": ok,
    }


def _last_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else float("nan")


def shape_note(ratio: float) -> str:
    """Plain words for the posterior/prior SD ratio of the Weibull log shape."""
    if not np.isfinite(ratio):
        return "shape not estimated"
    if ratio > SHAPE_PRIOR_ONLY:
        return (
            f"posterior SD of log k is {ratio:.0%} of its prior SD: the Weibull shape is "
            "informed by the prior only; the data (one landmark per arm) cannot identify it"
        )
    if ratio > 0.5:
        return (
            f"posterior SD of log k is {ratio:.0%} of its prior SD: the data inform the shape "
            "weakly"
        )
    return f"posterior SD of log k is {ratio:.0%} of its prior SD: the data inform the shape"
