"""The base of resurv's survival families: :class:`SurvivalFamily` and its numeric helpers.

A family states its math (cumulative hazard, hazard, inverse, restricted mean) once, for
NumPy and for PyTensor alike; everything else derives from it here. The families themselves
and their registry are in :mod:`resurv.model.families`, which re-exports this class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from scipy import special

__all__ = ["SurvivalFamily"]


_NP = SimpleNamespace(
    exp=np.exp, log=np.log, log1p=np.log1p, expm1=np.expm1,
    gammainc=special.gammainc, gammaln=special.gammaln,
)  # fmt: skip
_PT = SimpleNamespace(
    exp=pt.exp, log=pt.log, log1p=pt.log1p, expm1=pt.expm1,
    gammainc=pt.gammainc, gammaln=pt.gammaln,
)  # fmt: skip


def _is_tensor(*args: Any) -> bool:
    return any(isinstance(a, Variable) for a in args)


def _float64(value: Any) -> Any:
    """Keep tensors; make everything else float64 (PyTensor turns 4.0 into a float32 constant)."""
    return value if isinstance(value, Variable) else np.asarray(value, dtype=np.float64)


def _positive(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(arr > 0):
        raise ValueError(
            f"{name} must be > 0 everywhere; received {value!r}. "
            f"{name} is a proportional-hazards parameter of S(t) = exp(-lam * t**k)."
        )
    return arr


def _nonnegative(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0 (a time); received {value!r}.")
    return arr


class SurvivalFamily(ABC):
    """A parametric survival family ``S(t) = exp(-H(t; lam, k))``.

    Subclasses state only their math (``_cumulative_hazard``, ``_hazard``,
    ``_inverse_cumulative_hazard``, ``_rmst`` and :meth:`pymc_dist`); everything else is
    derived here: ``log S = -H``, ``log f = log h - H``, ``quantile(q) = H^{-1}(-log(1 - q))``,
    ``median = H^{-1}(log 2)`` and random draws ``T = H^{-1}(E)`` with ``E ~ Exponential(1)``.
    """

    #: registry name ("exponential", "weibull")
    name: str
    #: whether the shape ``k`` is a free parameter
    has_shape: bool
    #: whether the family has a cure fraction per arm (its methods then take ``cure``)
    has_cure: bool = False
    #: NUTS target acceptance rate :func:`resurv.fit.fit` uses unless told otherwise: the
    #: step size that samples this family's posteriors without divergences on first try
    target_accept: float = 0.8

    # -- the math a family states -------------------------------------------------------
    @abstractmethod
    def _cumulative_hazard(self, t, lam, k, xp): ...

    @abstractmethod
    def _hazard(self, t, lam, k, xp): ...

    @abstractmethod
    def _inverse_cumulative_hazard(self, x, lam, k, xp): ...

    @abstractmethod
    def _rmst(self, tau, lam, k, xp): ...

    @abstractmethod
    def pymc_dist(self, lam, k=1.0):
        """Return the matching unregistered PyMC distribution (for ``pm.Censored``)."""

    # -- dispatch ------------------------------------------------------------------------
    def _args(self, lam, k, *times, time_names=()):
        """Return the math namespace and the (checked, for NumPy) arguments."""
        if _is_tensor(lam, k, *times):
            lam, k = _float64(lam), _float64(k)
            return _PT, lam, self._check_shape_tensor(k), tuple(_float64(t) for t in times)
        lam = _positive("lam", lam)
        k = self._check_shape(_positive("k", k))
        times = tuple(_nonnegative(n, t) for n, t in zip(time_names, times, strict=True))
        return _NP, lam, k, times

    def _check_shape(self, k: np.ndarray) -> np.ndarray:
        return k

    def _check_shape_tensor(self, k):
        return k

    # -- derived quantities ----------------------------------------------------------------
    def cumulative_hazard(self, t, lam, k=1.0):
        """Cumulative hazard ``H(t)`` (``lam * t**k``)."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        return self._cumulative_hazard(t, lam, k, xp)

    def hazard(self, t, lam, k=1.0):
        """Hazard ``h(t) = dH/dt`` (``lam * k * t**(k - 1)``)."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        return self._hazard(t, lam, k, xp)

    def log_survival(self, t, lam, k=1.0):
        """Log survival ``log S(t) = -H(t)``."""
        return -self.cumulative_hazard(t, lam, k)

    def survival(self, t, lam, k=1.0):
        """Survival ``S(t) = exp(-H(t))``."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        return xp.exp(-self._cumulative_hazard(t, lam, k, xp))

    def log_pdf(self, t, lam, k=1.0):
        """Log density ``log f(t) = log h(t) - H(t)`` of an event at ``t``."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        with np.errstate(divide="ignore"):  # log f = -inf where h = 0 (t = 0, k > 1)
            return xp.log(self._hazard(t, lam, k, xp)) - self._cumulative_hazard(t, lam, k, xp)

    def quantile(self, q, lam, k=1.0):
        """Time by which a fraction ``q`` has had the event: ``S(t) = 1 - q``."""
        if _is_tensor(q, lam, k):
            q = _float64(q)
        elif not np.all((np.asarray(q) >= 0) & (np.asarray(q) < 1)):
            raise ValueError(f"q must lie in [0, 1); received {q!r}.")
        xp, lam, k, _ = self._args(lam, k)
        return self._inverse_cumulative_hazard(-xp.log1p(-q), lam, k, xp)

    def median(self, lam, k=1.0):
        """Median survival time ``H^{-1}(log 2)`` (``(log 2 / lam)**(1/k)``)."""
        xp, lam, k, _ = self._args(lam, k)
        return self._inverse_cumulative_hazard(np.log(2.0), lam, k, xp)

    def rmst(self, tau, lam, k=1.0):
        r"""Restricted mean survival time ``int_0^tau S(t) dt``.

        Notes
        -----
        For ``S(t) = exp(-lam t**k)``, substituting ``u = lam t**k``,

        .. math:: \mathrm{RMST}(\tau) = \frac{1}{k}\,\lambda^{-1/k}\,\Gamma(1/k)\,
                  P(1/k, \lambda\tau^k),

        with ``P`` the regularised lower incomplete gamma function (``scipy.special.gammainc``,
        ``pytensor.tensor.gammainc``). With ``k = 1`` it is ``(1 - exp(-lam tau)) / lam``.
        """
        xp, lam, k, (tau,) = self._args(lam, k, tau, time_names=("tau",))
        return self._rmst(tau, lam, k, xp)

    def sample(self, rng: np.random.Generator, lam, k=1.0, size=None) -> np.ndarray:
        """Draw event times by inversion: ``T = H^{-1}(E)``, ``E ~ Exponential(1)`` (NumPy)."""
        if _is_tensor(lam, k):
            raise TypeError(
                "sample draws with NumPy and needs numbers for lam and k, not PyTensor "
                "tensors; inside a model use pymc_dist(lam, k) instead."
            )
        xp, lam, k, _ = self._args(lam, k)
        if size is None:
            size = np.broadcast_shapes(lam.shape, k.shape)
        return self._inverse_cumulative_hazard(rng.standard_exponential(size), lam, k, xp)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
