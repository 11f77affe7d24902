"""Conversions between the proportional-hazards ``(lam, k)`` and other parameterisations.

PyMC ``pm.Weibull(alpha, beta)``, lifelines ``WeibullFitter`` / ``ExponentialFitter`` and R
``survreg``; see :mod:`resurv.model.families` for the conventions. Importable from there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PHParameters(NamedTuple):
    """Proportional-hazards parameters of ``S(t) = exp(-lam * t**k)``."""

    lam: float
    k: float


class SurvregParameters(NamedTuple):
    """R ``survreg`` Weibull parameters: ``(Intercept)``, ``scale`` and a coefficient."""

    intercept: float
    scale: float
    coefficient: float | None = None


def from_pymc_weibull(alpha, beta) -> PHParameters:
    """``pm.Weibull(alpha, beta)`` -> ``(lam, k) = (beta**(-alpha), alpha)``."""
    return PHParameters(lam=beta ** (-alpha), k=alpha)


def to_pymc_weibull(lam, k) -> tuple:
    """``(lam, k)`` -> ``(alpha, beta) = (k, lam**(-1/k))`` of ``pm.Weibull``."""
    return k, lam ** (-1.0 / k)


def from_lifelines_weibull(lambda_, rho_) -> PHParameters:
    """Lifelines ``WeibullFitter`` (``lambda_`` scale, ``rho_`` shape) -> ``(lam, k)``.

    lifelines writes ``S(t) = exp(-(t / lambda_)**rho_)``, so ``lam = lambda_**(-rho_)``.
    """
    return PHParameters(lam=lambda_ ** (-rho_), k=rho_)


def to_lifelines_weibull(lam, k) -> tuple:
    """``(lam, k)`` -> lifelines ``WeibullFitter`` ``(lambda_, rho_) = (lam**(-1/k), k)``."""
    return lam ** (-1.0 / k), k


def from_lifelines_exponential(lambda_):
    """Lifelines ``ExponentialFitter.lambda_`` is the mean time: ``lam = 1 / lambda_``."""
    return 1.0 / lambda_


def to_lifelines_exponential(lam):
    """``lam`` -> lifelines ``ExponentialFitter.lambda_ = 1 / lam`` (the mean time)."""
    return 1.0 / lam


def from_survreg(intercept, scale=1.0, coefficient=None):
    """R ``survreg(dist="weibull")`` -> ``(lam, k)`` of the baseline, and a log hazard ratio.

    ``survreg`` models ``log T = intercept + beta * x + scale * W`` with ``W`` standard
    minimum extreme value, so ``k = 1/scale``, ``lam = exp(-intercept / scale)`` and a
    coefficient ``beta`` is the log hazard ratio ``-beta / scale``. ``scale = 1`` is
    ``survreg(dist="exponential")``.

    Returns
    -------
    PHParameters or (PHParameters, float)
        ``(lam, k)``; with ``coefficient`` given, also the log hazard ratio.
    """
    k = 1.0 / scale
    ph = PHParameters(lam=np.exp(-intercept * k), k=k)
    if coefficient is None:
        return ph
    return ph, -coefficient * k


def to_survreg(lam, k=1.0, log_hr=None) -> SurvregParameters:
    """``(lam, k)`` and optionally a log HR -> R ``survreg`` ``(Intercept)``, scale, coefficient."""
    coefficient = None if log_hr is None else -log_hr / k
    return SurvregParameters(intercept=-np.log(lam) / k, scale=1.0 / k, coefficient=coefficient)
