"""The model's parameters: a prior set as the free variables and deterministics of a PyMC model.

:func:`build_parameters` creates them (the parameterisation is in :mod:`resurv.model.priors`);
:func:`prior_structure` is what a compiled model depends on and :func:`prior_data` the
hyperparameters it takes as data. Importable from :mod:`resurv.model.priors`.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from resurv.model.families import SurvivalFamily, get_family
from resurv.model.prior_values import BASELINE_VARIABLES, PriorSet
from resurv.model.shared_priors import STRUCTURE as SWITCHED
from resurv.model.shared_priors import switchable, switched_data, switched_parameters
from resurv.model.terms import ArmParams

__all__ = ["PRIOR_DATA_PREFIX", "build_parameters", "prior_data", "prior_structure"]


def _ensure_coord(model: pm.Model, name: str, values: tuple[str, ...]) -> None:
    if name not in model.coords:
        model.add_coord(name, values)
    elif tuple(model.coords[name]) != values:
        raise ValueError(
            f"the model's {name!r} coordinate is {tuple(model.coords[name])}, but the arms give "
            f"{values}; create the model with coords={{{name!r}: {values}}} or leave it unset."
        )


def _check_arms(prior_set: PriorSet, arms, reference_arm: str) -> tuple[str, ...]:
    arms = tuple(arms)
    if not arms or len(set(arms)) != len(arms):
        raise ValueError(f"arms must be non-empty and unique; received {arms}.")
    if reference_arm not in arms:
        raise ValueError(f"reference_arm {reference_arm!r} is not one of the arms {arms}.")
    if prior_set.baseline_arm is not None and prior_set.baseline_arm != reference_arm:
        raise ValueError(
            f"prior set {prior_set.name!r} states its baseline for arm "
            f"{prior_set.baseline_arm!r}, but the reference arm is {reference_arm!r}; make "
            f"{prior_set.baseline_arm!r} the study's reference_arm (hazard ratios are then "
            "relative to it), or elicit the literature range for the reference arm."
        )
    return arms


#: prefix of the ``pm.Data`` containers that hold prior hyperparameters
PRIOR_DATA_PREFIX = "prior__"


def _prior_slots(prior_set: PriorSet, family: SurvivalFamily, arms, reference_arm):
    """``(variable name, Prior)`` of every prior a model of ``family`` and ``arms`` uses."""
    slots = [(BASELINE_VARIABLES[prior_set.baseline_scale], prior_set.baseline)]
    if any(a != reference_arm for a in arms):
        slots.append(("log_hr", prior_set.log_hr))
    if family.has_shape:
        slots.append(("log_shape", prior_set.log_shape))
    if family.has_cure:
        slots.append(("cure_fraction", prior_set.cure))
    return slots


def prior_structure(prior_set: PriorSet) -> tuple:
    """What a compiled model depends on: the distributions and the baseline scale, not values.

    Prior sets with equal structure share one compiled model; their hyperparameters enter
    as data (:func:`prior_data`).
    """
    if switchable(prior_set):  # Normal and Flat sets share one model (resurv.model.shared_priors)
        return (SWITCHED, prior_set.log_shape.distribution, prior_set.cure.distribution)
    return (
        prior_set.baseline.distribution,
        prior_set.baseline_scale,
        prior_set.log_hr.distribution,
        prior_set.log_shape.distribution,
        prior_set.cure.distribution,
    )


def prior_data(
    prior_set: PriorSet, family: SurvivalFamily | str, arms: tuple[str, ...], reference_arm: str
) -> dict[str, np.ndarray]:
    """Hyperparameters as the ``pm.Data`` arrays of :func:`build_parameters` (``as_data``)."""
    family = get_family(family)
    slots = _prior_slots(prior_set, family, tuple(arms), reference_arm)
    out = {}
    if switchable(prior_set):
        has_hr = any(var == "log_hr" for var, _ in slots)
        out = switched_data(
            prior_set, PRIOR_DATA_PREFIX, with_hr=has_hr, with_shape=family.has_shape
        )
        slots = [(var, prior) for var, prior in slots if var in ("log_shape", "cure_fraction")]
    out.update(
        {
            f"{PRIOR_DATA_PREFIX}{var}__{n}": np.asarray(v, dtype=np.float64)
            for var, prior in slots
            for n, v in prior.params
        }
    )
    return out


def build_parameters(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    hyperparameters_as_data: bool = False,
) -> ArmParams:
    """Create the model's free variables and named deterministics in the current ``pm.Model``.

    Parameters
    ----------
    prior_set : PriorSet
        The priors.
    family : SurvivalFamily or str
        ``"exponential"`` (``k = 1``) or ``"weibull"`` (free ``k``, shared by the arms).
    arms : tuple of str
        Arm ids, in the order of the model's ``"arm"`` coordinate (added if missing).
    reference_arm : str
        The arm the baseline prior describes; hazard ratios are relative to it.
    hyperparameters_as_data : bool, default False
        Hold the priors' parameters in ``pm.Data`` containers (named as the keys of
        :func:`prior_data`), so that one compiled model serves every prior set of the same
        :func:`prior_structure`. Normal and Flat sets then share one model, whose free
        baseline variable is ``baseline_reference``, on the set's own scale, with the
        deterministic ``log_median_reference`` (see :mod:`resurv.model.shared_priors`);
        with False each set builds its own variables.

    Returns
    -------
    ArmParams
        ``lam`` per arm (scalar tensors) and the shared ``k``, for the likelihood terms.

    Notes
    -----
    Free variables: the baseline (:data:`BASELINE_VARIABLES`), ``log_hr`` (dims
    ``"comparison"``: the non-reference arms, in ``arms`` order) and, for the Weibull,
    ``log_shape``; for the cure family ``cure_fraction`` (dims ``"arm"``, the prior set's
    ``cure`` prior on the probability scale; hazard ratios are then those of the uncured, and
    there is no ``median`` deterministic). Deterministics: ``log_hazard``, ``hazard``,
    ``hazard_ratio``, ``median`` (dims ``"arm"``) and ``shape`` (Weibull). With
    ``baseline_scale="log_median"``, ``lam[ref] = log(2) / median_ref**k``.
    """
    family = get_family(family)
    arms = _check_arms(prior_set, arms, reference_arm)
    model = pm.modelcontext(None)
    _ensure_coord(model, "arm", arms)
    others = tuple(a for a in arms if a != reference_arm)

    def prefix(var: str) -> str | None:
        return f"{PRIOR_DATA_PREFIX}{var}__" if hyperparameters_as_data else None

    log_shape = None
    if family.has_shape:
        log_shape = prior_set.log_shape.to_pymc("log_shape", data_prefix=prefix("log_shape"))
        k = pm.Deterministic("shape", pt.exp(log_shape))
    else:
        k = pt.as_tensor_variable(np.float64(1.0))
    if others:
        _ensure_coord(model, "comparison", others)

    switched = hyperparameters_as_data and switchable(prior_set)
    if switched:  # one compiled model for the Normal and Flat sets
        log_lam_ref, log_hr = switched_parameters(
            prior_set, PRIOR_DATA_PREFIX, log_shape=log_shape, k=k, has_hr=bool(others)
        )
    else:
        base_var = BASELINE_VARIABLES[prior_set.baseline_scale]
        base = prior_set.baseline.to_pymc(base_var, data_prefix=prefix(base_var))
        if prior_set.baseline_scale == "log_median":
            log_lam_ref = np.log(np.log(2.0)) - k * base
        elif prior_set.baseline_scale == "rate":
            log_lam_ref = pt.log(base)
        else:
            log_lam_ref = base

    if others:
        if not switched:
            log_hr = prior_set.log_hr.to_pymc(
                "log_hr", dims="comparison", data_prefix=prefix("log_hr")
            )
        zero = pt.as_tensor_variable(np.float64(0.0))
        log_hr_arm = pt.stack(
            [zero if a == reference_arm else log_hr[others.index(a)] for a in arms]
        )
    else:
        log_hr_arm = pt.zeros(1, dtype="float64")

    log_hazard = pm.Deterministic("log_hazard", log_lam_ref + log_hr_arm, dims="arm")
    hazard = pm.Deterministic("hazard", pt.exp(log_hazard), dims="arm")
    pm.Deterministic("hazard_ratio", pt.exp(log_hr_arm), dims="arm")
    lam = {a: hazard[i] for i, a in enumerate(arms)}
    if not family.has_cure:
        pm.Deterministic("median", family.median(hazard, k), dims="arm")
        return ArmParams(arms=arms, lam=lam, k=k)
    cure = prior_set.cure.to_pymc("cure_fraction", dims="arm", data_prefix=prefix("cure_fraction"))
    # the median is infinite (not reached) where pi >= 0.5: FitResult.median gives it
    return ArmParams(arms=arms, lam=lam, k=k, cure={a: cure[i] for i, a in enumerate(arms)})
