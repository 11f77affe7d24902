"""The PyMC model of a fit: family, prior set and likelihood terms, and its compile-cache key.

:func:`build_model` builds the model with every term's arrays (and the prior set's
hyperparameters) as ``pm.Data`` containers; :func:`_structure_key` is what models of one
structure share, so :mod:`resurv.fit.cache` compiles them once, and :func:`_data_arrays` the
data swapped into the compiled model. :func:`_resolve` checks and normalises the arguments.
All are importable from :mod:`resurv.fit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pymc as pm

from resurv.fit import cache as _compile
from resurv.model.families import SurvivalFamily, get_family
from resurv.model.prior_values import PriorSet
from resurv.model.priors import build_parameters, get_prior_set, prior_data, prior_structure
from resurv.model.terms import Term

__all__ = ["build_model", "compile_structure", "structure_key"]


def _resolve(family, prior, arms, reference_arm, terms, prior_kwargs=None):
    family = get_family(family)
    if isinstance(prior, str):
        prior = get_prior_set(prior, **(prior_kwargs or {}))
    elif not isinstance(prior, PriorSet):
        raise TypeError(f"prior must be a prior set name or a PriorSet; received {prior!r}")
    if isinstance(arms, str) or not arms:
        raise ValueError(f"arms must be a non-empty sequence of arm ids; received {arms!r}")
    arms = tuple(str(a) for a in arms)
    reference_arm = arms[0] if reference_arm is None else reference_arm
    terms = (terms,) if isinstance(terms, Term) else tuple(terms)
    bad = [t for t in terms if not isinstance(t, Term)]
    if bad:
        raise TypeError(f"terms must be resurv.model.terms.Term instances; received {bad[:3]}")
    names = [t.name for t in terms]
    if len(set(names)) != len(names):
        raise ValueError(f"term names must be unique within a model; received {names}")
    return family, prior, arms, reference_arm, terms


def build_model(
    family: str | SurvivalFamily,
    prior_set: str | PriorSet,
    arms: Sequence[str],
    reference_arm: str | None,
    terms: Term | Sequence[Term],
) -> pm.Model:
    """Build the PyMC model of a survival family, a prior set and likelihood terms.

    Each term's arrays become ``pm.Data`` containers named ``term.data_name(key)``, so
    the compiled model can take new data (of any length) through ``with_data``.

    Parameters
    ----------
    family : str or SurvivalFamily
        ``"exponential"`` or ``"weibull"``.
    prior_set : str or PriorSet
        A registered prior set name (default options) or a :class:`~resurv.model.PriorSet`.
    arms : sequence of str
        Arm ids (the ``"arm"`` coordinate).
    reference_arm : str or None
        Hazard ratios are relative to it (default: the first arm).
    terms : Term or sequence of Term
        Likelihood terms; none gives the prior.
    """
    family, prior_set, arms, reference_arm, terms = _resolve(
        family, prior_set, arms, reference_arm, terms
    )
    with pm.Model(coords={"arm": arms}) as model:
        params = build_parameters(
            prior_set, family, arms, reference_arm, hyperparameters_as_data=True
        )
        for term in terms:
            containers = {k: pm.Data(term.data_name(k), v) for k, v in term.data().items()}
            term.add_to_model(params, containers)
    return model


def _structure_key(family, prior_set, arms, reference_arm, terms) -> tuple:
    """Prior sets enter by their distributions only: hyperparameters are data."""
    return (
        family.name,
        prior_structure(prior_set),
        arms,
        reference_arm,
        tuple(t.structure() for t in terms),
    )


def _compiled(family, prior_set, arms, reference_arm, terms):
    """The compiled entry of a resolved model (built and compiled on a cache miss)."""
    return _compile.get_compiled(
        _structure_key(family, prior_set, arms, reference_arm, terms),
        lambda: build_model(family, prior_set, arms, reference_arm, terms),
        label=f"{family.name.capitalize()} model",
    )


def structure_key(
    terms: Term | Sequence[Term],
    *,
    arms: Sequence[str],
    reference_arm: str | None = None,
    family: str | SurvivalFamily = "weibull",
    prior: str | PriorSet = "weakly_informative",
    prior_kwargs: Mapping[str, Any] | None = None,
) -> tuple:
    """The compile-cache key ``resurv.fit.fit`` uses for these arguments.

    Fits with equal keys share one compiled model (see :mod:`resurv.fit.cache`).
    """
    return _structure_key(*_resolve(family, prior, arms, reference_arm, terms, prior_kwargs))


def compile_structure(
    terms: Term | Sequence[Term],
    *,
    arms: Sequence[str],
    reference_arm: str | None = None,
    family: str | SurvivalFamily = "weibull",
    prior: str | PriorSet = "weakly_informative",
    prior_kwargs: Mapping[str, Any] | None = None,
) -> bool:
    """Compile the model ``resurv.fit.fit`` would sample, without sampling; ``True`` if cached.

    For a second process that fills the on-disk compile cache ahead of the fits
    (:func:`resurv.fit.cache.background_compiles`).
    """
    return _compiled(*_resolve(family, prior, arms, reference_arm, terms, prior_kwargs))[1]


def _data_arrays(terms, prior_set=None, family=None, arms=(), reference_arm=None):
    arrays = {t.data_name(k): np.asarray(v) for t in terms for k, v in t.data().items()}
    if prior_set is not None:
        arrays.update(prior_data(prior_set, family, arms, reference_arm))
    return arrays
