"""The fitting engine: build a survival model from terms, compile it once, sample it with nutpie.

:func:`fit` turns likelihood terms (:class:`IndividualData` here, the figure terms of
:mod:`resurv.model.likelihood`), a survival family and a prior set into a posterior sample,
gated by :func:`resurv.fit.diagnostics.check`. Models of one structure are compiled once
(:mod:`resurv.fit.cache`) and new data are swapped in, so thousands of small fits (SBC,
sensitivity sweeps) cost a fraction of a second each. :func:`compare_loo` compares families
fitted to the same individual data by PSIS-LOO.

Parameterisation: ``S(t) = exp(-lam * t**k)`` per arm, ``k`` shared, ``HR = lam_B / lam_A``
(see :mod:`resurv.model.families` for the lifelines and R ``survreg`` conversions).

The individual-data term is defined in :mod:`resurv.model.individual_data`, the model and its
compile-cache key in :mod:`resurv.fit.build` and the result in :mod:`resurv.fit.result`;
all are importable from here. This module samples, gates and compares the fits.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from resurv.errors import FitError
from resurv.fit.build import (
    _compiled,
    _data_arrays,
    _resolve,
    build_model,
    compile_structure,
    structure_key,
)
from resurv.fit.diagnostics import DEFAULT_THRESHOLDS, check
from resurv.fit.result import FitResult
from resurv.model.families import SurvivalFamily
from resurv.model.individual_data import IndividualData
from resurv.model.prior_values import PriorSet
from resurv.model.terms import Term

__all__ = [
    "DEFAULT_SEED",
    "FitResult",
    "IndividualData",
    "ResurvFitWarning",
    "build_model",
    "compare_loo",
    "compile_structure",
    "fit",
    "log_likelihood",
    "structure_key",
]

#: the seed used when none is given (the default seed of a study's ``[analysis]``)
DEFAULT_SEED = 20000
#: settings of the single retry of a fit that fails its diagnostics
RETRY_TARGET_ACCEPT = 0.95
RETRY_TUNE_FACTOR = 2
#: the retry multiplies the draws by this when the effective sample size or MCSE failed
RETRY_DRAWS_FACTOR = 2
_NEEDS_DRAWS = frozenset({"ess_bulk", "ess_tail", "mcse_rel"})


class ResurvFitWarning(UserWarning):
    """A fit failed its diagnostics, even after the retry: its numbers must not be trusted."""


def _versions() -> dict[str, str]:
    import nutpie
    import pytensor

    import resurv

    mods = {"resurv": resurv, "pymc": pm, "nutpie": nutpie, "arviz": az, "pytensor": pytensor}
    return {name: str(getattr(m, "__version__", "unknown")) for name, m in mods.items()}


# -- fitting ---------------------------------------------------------------------------------


def _check_settings(draws, tune, chains, cores, seed, target_accept, thresholds):
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; received {value!r}")
    if cores is not None and (not isinstance(cores, int | np.integer) or cores < 1):
        raise ValueError(f"cores must be a positive integer or None; received {cores!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise ValueError(
            f"seed must be an integer in [0, 2**63); received {seed!r}. Fits are always seeded "
            f"(default {DEFAULT_SEED}) so that they reproduce bit for bit."
        )
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must lie in (0, 1); received {target_accept!r}")
    unknown = sorted(set(thresholds or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown thresholds {unknown}; valid are {sorted(DEFAULT_THRESHOLDS)}")


def _sample(entry, arrays, *, draws, tune, chains, cores, seed, target_accept):
    import nutpie

    sampler = nutpie.sample(
        entry.with_data(arrays),
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=int(seed),
        target_accept=float(target_accept),
        save_warmup=False,
        progress_bar=False,
        blocking=False,
    )
    # nutpie's blocking call turns an interrupt into a partial trace (or an error when there
    # is none yet); an interrupted fit must stop the run instead.
    try:
        return sampler.wait()
    except KeyboardInterrupt:
        sampler.cancel()
        raise


def _gated_variables(model, posterior) -> list[str]:
    """Free parameters and the key derived quantities (not every Deterministic)."""
    names = [rv.name for rv in model.free_RVs]
    names += ["log_median_reference", "log_hazard", "hazard_ratio", "shape"]
    return [n for n in dict.fromkeys(names) if n in posterior.data_vars]


def _add_data_groups(idata: xr.DataTree, terms) -> None:
    constant, observed = {}, {}
    for term in terms:
        for key, value in term.data().items():
            name = term.data_name(key)
            value = np.asarray(value)
            dims = [f"{name}_dim_{i}" for i in range(value.ndim)]
            constant[name] = xr.DataArray(value, dims=dims)
        if isinstance(term, IndividualData):  # event status as az.plot_ppc_censored reads it
            dims = [f"{term.name}_dim_0"]
            observed[term.name] = xr.DataArray(term.time, dims=dims)
            constant[term.name] = xr.DataArray(term.event.astype(np.int64), dims=dims)
    if constant:
        idata["constant_data"] = xr.DataTree(xr.Dataset(constant))
    if observed:
        idata["observed_data"] = xr.DataTree(xr.Dataset(observed))


def fit(
    terms: Term | Sequence[Term],
    *,
    arms: Sequence[str],
    reference_arm: str | None = None,
    family: str | SurvivalFamily = "weibull",
    prior: str | PriorSet = "weakly_informative",
    prior_kwargs: Mapping[str, Any] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    seed: int = DEFAULT_SEED,
    target_accept: float | None = None,
    times: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    retry: bool = True,
) -> FitResult:
    """Fit a survival model to likelihood terms with nutpie, gated by the diagnostics.

    Parameters
    ----------
    terms : Term or sequence of Term
        Likelihood terms (:class:`IndividualData`, figure terms). Models that hold only
        ``pm.Potential`` terms work as well as models with observed variables.
    arms : sequence of str
        Arm ids, in the order of the ``"arm"`` coordinate.
    reference_arm : str, optional
        The arm the baseline prior describes; hazard ratios are relative to it (default: the
        first arm).
    family : {"weibull", "exponential"} or SurvivalFamily, default "weibull"
    prior : str or PriorSet, default "weakly_informative"
        A registered prior set (:func:`resurv.model.priors.get_prior_set`) or a PriorSet.
    prior_kwargs : dict, optional
        Options of a registered prior set: ``hr_important``, ``literature``, ``time_unit``.
    draws, tune, chains : int
        Post-warmup draws and warmup iterations per chain; number of chains.
    cores : int, optional
        Chains run in parallel (default ``min(chains, os.cpu_count())``); results do not
        depend on it.
    seed : int, default :data:`DEFAULT_SEED`
        Seed of the sampler: the same seed, data and settings give bit-identical draws.
    target_accept : float, optional
        Target acceptance rate of NUTS step-size adaptation (default: the family's
        ``target_accept``, 0.8 for the Exponential and 0.9 for the Weibull).
    times : sequence of float
        Landmark times for ``S(t)`` in :meth:`FitResult.summary`.
    thresholds : dict, optional
        Overrides of the diagnostics thresholds (:data:`resurv.fit.diagnostics.DEFAULT_THRESHOLDS`).
    retry : bool, default True
        Retry a fit that fails its diagnostics once, with ``target_accept >= 0.95``, twice the
        tuning and, when an effective sample size or MCSE check failed, twice the draws (so the
        posterior of a retried fit may hold ``2 * draws`` draws per chain).

    Returns
    -------
    FitResult
        ``status`` is ``"failed"`` (and a :class:`ResurvFitWarning` is issued naming the failed
        checks and their fixes) if the diagnostics still fail; such a fit is never returned as
        good.

    Notes
    -----
    The model structure ``(family, prior set, arms, reference arm, term structures)`` is compiled
    once per process with ``nutpie.compile_pymc_model``; later fits of the same structure swap
    their data in with ``with_data`` (see :mod:`resurv.fit.cache`). The retry uses the same
    seed; ``settings["attempts"]`` records both attempts.

    Examples
    --------
    Freireich's 6-MP trial (lifelines ``load_leukemia``, weeks; ``Rx == 1`` is placebo):

    >>> from lifelines.datasets import load_leukemia
    >>> df = load_leukemia()
    >>> df["arm"] = np.where(df["Rx"] == 1, "placebo", "6-MP")
    >>> data = IndividualData.from_frame(df, "t", "status", "arm")
    >>> res = fit(data, arms=("placebo", "6-MP"), family="weibull",
    ...           prior_kwargs={"time_unit": "weeks"}, times=(10, 20), seed=1)
    >>> res.status
    'ok'
    >>> table = res.summary(prob=0.95)  # rows hazard_ratio[6-MP], surv[placebo, 10.0], ...
    """
    family, prior_set, arms, reference_arm, terms = _resolve(
        family, prior, arms, reference_arm, terms, prior_kwargs
    )
    if target_accept is None:
        target_accept = family.target_accept
    _check_settings(draws, tune, chains, cores, seed, target_accept, thresholds)
    cores = int(cores or min(chains, os.cpu_count() or 1))
    try:
        entry, hit = _compiled(family, prior_set, arms, reference_arm, terms)
    except (ValueError, TypeError, FitError):
        raise
    except Exception as exc:  # compilation errors surface with the model named
        raise FitError(
            f"could not compile the {family.name} model with prior set {prior_set.name!r} "
            f"and terms {[t.name for t in terms]}: {exc}"
        ) from exc
    arrays = _data_arrays(terms, prior_set, family, arms, reference_arm)
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}

    attempts = []
    run = {"draws": int(draws), "tune": int(tune), "target_accept": float(target_accept)}
    while True:
        idata = _sample(entry, arrays, chains=chains, cores=cores, seed=seed, **run)
        gated = _gated_variables(entry.model, idata["posterior"])
        diagnostics = check(idata, var_names=gated, **limits)
        attempts.append({**run, "passed": diagnostics.passed})
        if diagnostics.passed or not retry or len(attempts) == 2:
            break
        short = any(f.check in _NEEDS_DRAWS for f in diagnostics.failures)
        run = {
            "draws": int(draws) * (RETRY_DRAWS_FACTOR if short else 1),
            "tune": max(RETRY_TUNE_FACTOR * int(tune), 1000),
            "target_accept": max(RETRY_TARGET_ACCEPT, float(target_accept)),
        }
    status = "ok" if diagnostics.passed else "failed"
    if status == "failed":
        warnings.warn(
            f"the {family.name} fit with prior set {prior_set.name!r} failed its diagnostics "
            f"after {len(attempts)} attempt(s) (last: draws={run['draws']}, tune={run['tune']}, "
            f"target_accept={run['target_accept']}); do not report it:\n{diagnostics.to_text()}",
            ResurvFitWarning,
            stacklevel=2,
        )
    _add_data_groups(idata, terms)
    settings = {
        "family": family.name,
        "prior": prior_set.name,
        "prior_set": repr(prior_set),
        "arms": list(arms),
        "reference_arm": reference_arm,
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "cores": cores,
        "seed": int(seed),
        "target_accept": float(target_accept),
        "sampler": "nutpie (NUTS, diagonal mass matrix adaptation)",
        "attempts": attempts,
        "compiled_from_cache": hit,
        "versions": _versions(),
    }
    return FitResult(
        idata=idata,
        family=family,
        prior_set=prior_set,
        arms=arms,
        reference_arm=reference_arm,
        terms=terms,
        status=status,
        diagnostics=diagnostics,
        settings=settings,
        times=tuple(float(t) for t in times),
    )


# -- model comparison ------------------------------------------------------------------------


def log_likelihood(result: FitResult) -> xr.DataTree:
    """Return ``result.idata`` with a ``log_likelihood`` group (pointwise, per patient).

    nutpie's output has no log-likelihood, so the model is rebuilt with the fit's data and
    ``pm.compute_log_likelihood`` evaluates each observed variable at every posterior draw.
    Censored patients contribute ``log S(t_i)`` (``pm.Censored`` keeps them).

    Raises
    ------
    FitError
        If the model has no observed variable (figure terms are ``pm.Potential`` and have no
        pointwise log-likelihood).
    """
    model = build_model(
        result.family, result.prior_set, result.arms, result.reference_arm, result.terms
    )
    if not model.observed_RVs:
        raise FitError(
            f"the fit has no observed variable (terms {[t.name for t in result.terms]}); "
            "PSIS-LOO needs a pointwise log-likelihood: fit IndividualData terms to compare by LOO"
        )
    ll = pm.compute_log_likelihood(
        result.idata, model=model, extend_inferencedata=False, progressbar=False
    )
    out = result.idata.copy()
    out["log_likelihood"] = ll if isinstance(ll, xr.DataTree) else xr.DataTree(ll)
    return out


def compare_loo(fits: Mapping[str, FitResult], **kwargs) -> pd.DataFrame:
    """Compare fits to the same individual data by PSIS-LOO (``az.compare``).

    Parameters
    ----------
    fits : mapping of str to FitResult
        E.g. ``{"exponential": fit_a, "weibull": fit_b}``; every fit must have the same
        observed data.
    **kwargs
        Passed to ``az.compare`` (e.g. ``method="stacking"``).

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (unrounded), best model first: ``rank``, ``elpd_diff``, ``dse``,
        ``p_worse``, ``diag_diff``, ``diag_elpd``, ``p``, ``elpd``, ``se``, ``weight``.

    Notes
    -----
    Pareto k: ``diag_elpd`` reads ``"K k_psis > threshold"`` when ``K`` patients have a Pareto
    k above ArviZ's ``good_k`` (``min(1 - 1/log10(S), 0.7)`` for ``S`` draws). Their
    importance weights are unreliable: a few influential patients (often the longest
    survivors) dominate, and the ELPD of that model is biased; read the difference with care,
    refit with more draws, or use K-fold cross-validation. ``diag_diff`` flags ``N < 100``
    (small cohorts: always, here) and ``|elpd_diff| < 4``, when the normal approximation of
    ``p_worse`` is poor.
    """
    if len(fits) < 2:
        raise ValueError(f"compare_loo needs at least two fits; received {list(fits)}")
    observed = {}
    for name, result in fits.items():
        data = {t.name: t.data() for t in result.terms if isinstance(t, IndividualData)}
        observed[name] = data
    first_name, first = next(iter(observed.items()))
    for name, data in observed.items():
        same = data.keys() == first.keys() and all(
            all(np.array_equal(data[t][k], first[t][k]) for k in first[t]) for t in first
        )
        if not same:
            raise ValueError(
                f"fits {first_name!r} and {name!r} have different individual data; PSIS-LOO "
                "compares models of the same observations"
            )
    trees = {name: log_likelihood(result) for name, result in fits.items()}
    return az.compare(trees, **{"round_to": "none", **kwargs})
