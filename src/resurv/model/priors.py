"""Priors as data: printable value objects, a registry of prior sets, and the model's parameters.

A :class:`Prior` is a distribution name and its parameters; a :class:`PriorSet` is three priors
stated on scales a clinician can check (the reference arm's median survival, the hazard ratio,
the Weibull shape) with their rationale and references. Neither touches PyMC until
:func:`build_parameters` turns a prior set into the free variables and named deterministics of a
model. :func:`prior_predictive` shows what a prior set implies for ``S(t)``, the hazard ratio and
the median survival, from NumPy draws of the same priors.

Parameterisation (``S(t) = exp(-lam * t**k)``, ``k`` shared by the arms)::

    k                = exp(log_shape)                     (Weibull; 1 for the Exponential)
    log lam[ref]     = log(log 2) - k * log_median_reference     (baseline_scale "log_median")
                     = log(hazard_reference)                      (baseline_scale "rate")
                     = log_hazard_reference                       (baseline_scale "log_rate")
    log lam[arm]     = log lam[ref] + log_hr[arm]         (arm != ref, coordinate "comparison")

Deterministics (dims ``"arm"``): ``log_hazard``, ``hazard``, ``hazard_ratio`` (``lam[arm] /
lam[ref]``, 1 for the reference arm), ``median`` (time units); ``shape`` (Weibull only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from resurv.model.families import SurvivalFamily, get_family
from resurv.model.parameters import (
    PRIOR_DATA_PREFIX,
    _check_arms,
    build_parameters,
    prior_data,
    prior_structure,
)
from resurv.model.prior_registry import HR_RANGE as HR_RANGE
from resurv.model.prior_registry import LOG_SHAPE_PRIOR as LOG_SHAPE_PRIOR
from resurv.model.prior_registry import MEDIAN_RANGE_YEARS as MEDIAN_RANGE_YEARS
from resurv.model.prior_registry import (
    PRIOR_SETS,
    TIME_UNITS_PER_YEAR,
    _check_time_unit,
    literature_baseline,
)
from resurv.model.prior_registry import enthusiastic as enthusiastic
from resurv.model.prior_registry import literature as literature
from resurv.model.prior_registry import reference as reference
from resurv.model.prior_registry import sceptical as sceptical
from resurv.model.prior_registry import weakly_informative as weakly_informative
from resurv.model.prior_values import (
    BASELINE_SCALES,
    BASELINE_VARIABLES,
    DISTRIBUTIONS,
    Prior,
    PriorSet,
)

__all__ = [
    "BASELINE_SCALES",
    "BASELINE_VARIABLES",
    "DISTRIBUTIONS",
    "Prior",
    "PriorSet",
    "PRIOR_SETS",
    "TIME_UNITS_PER_YEAR",
    "PRIOR_DATA_PREFIX",
    "build_parameters",
    "prior_data",
    "prior_structure",
    "get_prior_set",
    "literature_baseline",
    "prior_predictive",
    "sample_cure",
    "sample_prior",
    "survival_summary",
]

#: run the examples of :class:`Prior` with this module's doctests
__test__ = {"Prior": Prior}


# -- prior predictive ---------------------------------------------------------------------------


def sample_prior(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    draws: int = 4000,
    seed,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(hazard, shape)`` from a prior set with NumPy, mirroring :func:`build_parameters`.

    Returns
    -------
    hazard : ndarray, shape (draws, len(arms))
        ``lam`` per arm, columns in ``arms`` order.
    shape : ndarray, shape (draws,)
        ``k`` (ones for the Exponential family).

    Raises
    ------
    ValueError
        If the set contains an improper (``Flat``) prior.
    """
    family = get_family(family)
    arms = _check_arms(prior_set, arms, reference_arm)
    if not prior_set.is_proper:
        raise ValueError(
            f"prior set {prior_set.name!r} has an improper (Flat) prior, so it implies no "
            "prior predictive distribution; check a proper set (e.g. 'weakly_informative')."
        )
    rng = np.random.default_rng(seed)
    draws = int(draws)
    k = np.exp(prior_set.log_shape.sample(rng, draws)) if family.has_shape else np.ones(draws)
    base = prior_set.baseline.sample(rng, draws)
    if prior_set.baseline_scale == "log_median":
        log_lam_ref = np.log(np.log(2.0)) - k * base
    elif prior_set.baseline_scale == "rate":
        log_lam_ref = np.log(base)
    else:
        log_lam_ref = base
    n_other = len(arms) - 1
    log_hr = prior_set.log_hr.sample(rng, (draws, n_other)) if n_other else np.zeros((draws, 0))
    ref = arms.index(reference_arm)
    log_hr_arm = np.insert(log_hr, ref, 0.0, axis=1)
    return np.exp(log_lam_ref[:, None] + log_hr_arm), k


def survival_summary(
    hazard, shape, family, arms, reference_arm, *, times, cure=None
) -> pd.DataFrame:
    """Median and 95% equal-tailed interval of ``S(t)``, the hazard ratio and the median.

    Parameters
    ----------
    hazard : array, shape (draws, n_arms)
        Draws of ``lam`` per arm (columns in ``arms`` order), prior or posterior.
    shape : array, shape (draws,)
        Draws of ``k`` (ones for the Exponential).
    family, arms, reference_arm
        As in :func:`build_parameters`.
    times : sequence of float
        Times (study units) at which to summarise ``S(t)``.
    cure : array, shape (draws, n_arms), optional
        Draws of the cure fraction per arm (the cure family; a ``"cure_fraction"`` row per arm).

    Returns
    -------
    pandas.DataFrame
        One row per quantity (``"survival"`` per arm and time, ``"hazard_ratio"`` per
        non-reference arm, ``"median"`` per arm, ``"shape"`` for the Weibull) with columns
        ``quantity, arm, time, median, eti95_lower, eti95_upper`` (2.5% and 97.5% quantiles).
    """
    family = get_family(family)
    hazard = np.asarray(hazard, dtype=float)
    shape = np.asarray(shape, dtype=float)
    ref = arms.index(reference_arm)
    rows = []

    def add(quantity, arm, time, x):
        # a median not reached (cure fraction >= 1/2) is infinite: no interpolation then
        method = "linear" if np.all(np.isfinite(x)) else "lower"
        lo, mid, hi = np.quantile(x, [0.025, 0.5, 0.975], method=method)
        rows.append((quantity, arm, time, mid, lo, hi))

    pi = {} if cure is None else {"cure": np.asarray(cure, dtype=float)}
    for i, arm in enumerate(arms):
        arm_pi = {n: v[:, i] for n, v in pi.items()}
        for t in times:
            add("survival", arm, float(t), family.survival(t, hazard[:, i], shape, **arm_pi))
    for i, arm in enumerate(arms):
        if i != ref:
            add("hazard_ratio", arm, np.nan, hazard[:, i] / hazard[:, ref])
    for i, arm in enumerate(arms):
        arm_pi = {n: v[:, i] for n, v in pi.items()}
        add("median", arm, np.nan, family.median(hazard[:, i], shape, **arm_pi))
    for i, arm in enumerate(arms):
        if cure is not None:
            add("cure_fraction", arm, np.nan, pi["cure"][:, i])
    if family.has_shape:
        add("shape", None, np.nan, shape)
    columns = ["quantity", "arm", "time", "median", "eti95_lower", "eti95_upper"]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["interval"] = "95% equal-tailed (2.5% and 97.5% quantiles)"
    return table


def prior_predictive(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    times,
    draws: int = 4000,
    seed,
) -> pd.DataFrame:
    """Summarise what a prior set implies for ``S(t)``, the hazard ratio and the median.

    Draws the priors with NumPy (:func:`sample_prior`), maps them through the parameterisation
    of :func:`build_parameters`, and summarises with :func:`survival_summary` (median and 95%
    equal-tailed interval). The same draws come from ``pm.sample_prior_predictive`` on a model
    built by :func:`build_parameters` (checked in the tests).

    Raises
    ------
    ValueError
        If the set contains an improper prior (``reference``).
    """
    hazard, shape = sample_prior(prior_set, family, arms, reference_arm, draws=draws, seed=seed)
    cure = sample_cure(prior_set, family, arms, draws=draws, seed=seed)
    return survival_summary(
        hazard, shape, family, tuple(arms), reference_arm, times=times, cure=cure
    )


def sample_cure(prior_set: PriorSet, family, arms, *, draws: int, seed) -> np.ndarray | None:
    """Draws of each arm's cure fraction, shape (draws, len(arms)); None without a cure fraction.

    Drawn from their own stream (``seed`` spawned once), so that the draws of
    :func:`sample_prior` are the same whatever the family.
    """
    if not get_family(family).has_cure:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    return prior_set.cure.sample(rng, (int(draws), len(arms)))


# -- the registry --------------------------------------------------------------------------------


def get_prior_set(
    name: str,
    *,
    hr_important: float = 2.0,
    literature: Any = None,
    time_unit: str = "years",
) -> PriorSet:
    """Return the prior set ``name`` from :data:`PRIOR_SETS`.

    Parameters
    ----------
    name : str
        One of ``weakly_informative``, ``sceptical``, ``enthusiastic``, ``reference``,
        ``literature``.
    hr_important : float, default 2.0
        The clinically important hazard ratio (non-reference arm over reference arm) for
        ``sceptical`` and ``enthusiastic``.
    literature : object, optional
        The published range for ``literature`` (see :func:`literature_baseline`).
    time_unit : str, default "years"
        The study's time unit; the weakly informative median range is converted to it.

    Examples
    --------
    >>> ps = get_prior_set("sceptical", hr_important=2.0)
    >>> str(ps.log_hr)
    'Normal(mu=0, sigma=0.421)'
    """
    try:
        factory = PRIOR_SETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown prior set {name!r}; valid prior sets are {list(PRIOR_SETS)}."
        ) from None
    _check_time_unit(time_unit)
    return factory(hr_important=hr_important, literature=literature, time_unit=time_unit)
