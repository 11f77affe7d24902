"""Survival families in the proportional-hazards parameterisation ``S(t) = exp(-lam * t**k)``.

One interface, :class:`SurvivalFamily`, derives every quantity (survival, density, quantiles,
medians, random draws) from three pieces of math a family states: its cumulative hazard
``H(t)``, its hazard ``h(t)`` and the inverse of ``H``. The two families are tiny:

- :class:`Exponential`: ``H(t) = lam * t`` (the shape ``k`` is fixed at 1);
- :class:`Weibull`: ``H(t) = lam * t**k``;
- :class:`Cure`: the mixture cure model ``S(t) = pi + (1 - pi) exp(-lam * t)``, a fraction
  ``pi`` of each arm cured (never has the event) and the others Exponential. It is the only
  family with a third parameter: its methods take ``cure = pi`` (per arm, in [0, 1)).

``lam > 0`` is the proportional-hazards rate, per ``time_unit**k``, so the hazard ratio of
two arms sharing ``k`` is ``lam_B / lam_A``. ``k > 0`` is the shape (``k < 1`` falling hazard,
``k > 1`` rising hazard).

Every method accepts NumPy values or PyTensor tensors and broadcasts: given any PyTensor
argument it builds a graph (for use inside a ``pm.Model``), otherwise it computes with
NumPy/SciPy and checks the inputs.

Conversions to other parameterisations (helpers below, tested in ``tests/model/test_families.py``):

- PyMC ``pm.Weibull(alpha, beta)``: ``alpha = k``, ``beta = lam**(-1/k)``;
  ``pm.Exponential(lam)``: the same ``lam``.
- lifelines ``WeibullFitter``: ``rho_ = k``, ``lambda_ = lam**(-1/k)`` (a scale);
  ``ExponentialFitter``: ``lambda_ = 1/lam`` (the MEAN time, not the rate).
- R ``survreg(dist="weibull")``: ``scale = 1/k``, ``(Intercept) = log(lam**(-1/k))``, and a
  coefficient ``beta`` is the log hazard ratio ``-beta * k``; ``dist="exponential"`` is the
  same with ``scale = 1``.

Examples
--------
Grazi et al. (2000) print 92.6% 4-year survival after resection. The exponential rate that
reproduces it, and the median survival it implies (years):

>>> from resurv.model.families import get_family
>>> import numpy as np
>>> exp = get_family("exponential")
>>> lam = -np.log(0.926) / 4
>>> round(float(exp.survival(4.0, lam)), 3), round(float(exp.median(lam)), 1)
(0.926, 36.1)

References
----------
Collett D. Modelling Survival Data in Medical Research, 3rd ed. Chapman & Hall/CRC, 2015,
ch. 5 (the Weibull proportional-hazards model and its accelerated-failure-time form).

Royston P, Parmar MKB. Restricted mean survival time: an alternative to the hazard ratio for
the design and analysis of randomized trials with a time-to-event outcome. BMC Med Res
Methodol 2013;13:152.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.graph.basic import Variable

from resurv.model.conversions import (
    PHParameters,
    SurvregParameters,
    from_lifelines_exponential,
    from_lifelines_weibull,
    from_pymc_weibull,
    from_survreg,
    to_lifelines_exponential,
    to_lifelines_weibull,
    to_pymc_weibull,
    to_survreg,
)
from resurv.model.family_base import (
    _NP,
    _PT,
    SurvivalFamily,
    _float64,
    _is_tensor,
)

__all__ = [
    "FAMILIES",
    "Cure",
    "Exponential",
    "PHParameters",
    "SurvivalFamily",
    "SurvregParameters",
    "Weibull",
    "from_lifelines_exponential",
    "from_lifelines_weibull",
    "from_pymc_weibull",
    "from_survreg",
    "get_family",
    "to_lifelines_exponential",
    "to_lifelines_weibull",
    "to_pymc_weibull",
    "to_survreg",
]


class Exponential(SurvivalFamily):
    """Exponential family: constant hazard ``lam``, ``S(t) = exp(-lam * t)``.

    The shape argument ``k`` is accepted for a uniform interface; it must be 1.

    Notes
    -----
    PyMC: ``pm.Exponential(lam=lam)``. lifelines ``ExponentialFitter.lambda_`` is the mean
    time ``1/lam``. R ``survreg(dist="exponential")``: ``(Intercept) = -log(lam)``.
    """

    name = "exponential"
    has_shape = False

    def _check_shape(self, k):
        if not np.all(k == 1.0):
            raise ValueError(
                f"the exponential family has shape k = 1; received k = {k!r}. "
                "Use the 'weibull' family for a free shape."
            )
        return k

    def _cumulative_hazard(self, t, lam, k, xp):
        return lam * t

    def _hazard(self, t, lam, k, xp):
        return lam + 0.0 * t

    def _inverse_cumulative_hazard(self, x, lam, k, xp):
        return x / lam

    def _rmst(self, tau, lam, k, xp):
        return -xp.expm1(-lam * tau) / lam

    def pymc_dist(self, lam, k=1.0):
        """Return ``pm.Exponential.dist(lam=lam)``."""
        return pm.Exponential.dist(lam=_float64(lam))


class Weibull(SurvivalFamily):
    """Weibull family in the proportional-hazards form ``S(t) = exp(-lam * t**k)``.

    Notes
    -----
    Hazard ``h(t) = lam k t**(k - 1)``; median ``(log 2 / lam)**(1/k)``. The scale of the
    accelerated-failure-time form ``S(t) = exp(-(t / scale)**k)`` is ``scale = lam**(-1/k)``:
    PyMC ``pm.Weibull(alpha=k, beta=scale)``, lifelines ``WeibullFitter`` (``lambda_ = scale``,
    ``rho_ = k``), R ``survreg`` (``scale = 1/k``, ``(Intercept) = log(scale)``).
    """

    name = "weibull"
    has_shape = True
    # With a handful of events the joint posterior of (log median, log shape) is curved
    # (the shape is barely identified): at 0.8 the flagship's Weibull fits diverge a few
    # times in 4,000 draws and are refitted; at 0.9 none diverge and, counting the refits,
    # they take fewer leapfrog steps in all.
    target_accept = 0.9

    def _cumulative_hazard(self, t, lam, k, xp):
        return lam * t**k

    def _hazard(self, t, lam, k, xp):
        return lam * k * t ** (k - 1.0)

    def _inverse_cumulative_hazard(self, x, lam, k, xp):
        return (x / lam) ** (1.0 / k)

    def _rmst(self, tau, lam, k, xp):
        a = 1.0 / k
        return xp.exp(xp.gammaln(a + 1.0) - a * xp.log(lam)) * xp.gammainc(a, lam * tau**k)

    def pymc_dist(self, lam, k=1.0):
        """Return ``pm.Weibull.dist(alpha=k, beta=lam**(-1/k))``."""
        lam, k = _float64(lam), _float64(k)
        return pm.Weibull.dist(alpha=k, beta=lam ** (-1.0 / k))


def _cure_fraction(cure: Any) -> Any:
    if isinstance(cure, Variable):
        return cure
    arr = np.asarray(cure, dtype=float)
    if not np.all((arr >= 0) & (arr < 1)):
        raise ValueError(
            f"cure must lie in [0, 1) everywhere; received {cure!r}. It is the cure fraction pi "
            "of S(t) = pi + (1 - pi) exp(-lam t)."
        )
    return arr


class Cure(Exponential):
    r"""Mixture cure family: ``S(t) = pi + (1 - pi) exp(-lam t)``, uncured Exponential.

    A fraction ``pi`` (``cure``) of the arm is cured and never has the event; the others
    have the constant hazard ``lam``. Survival levels off at ``pi``: the plateau that
    neither the Exponential nor the Weibull can fit. With ``pi = 0`` it is the Exponential.

    Notes
    -----
    With ``S_u(t) = exp(-lam t)`` and ``f_u = lam S_u``:

    .. math:: S = \pi + (1-\pi) S_u, \quad f = (1-\pi) f_u, \quad h = f / S, \quad
              H = -\log S, \quad \mathrm{RMST}(	au) = \pi	au + (1-\pi)\,
              rac{1 - e^{-\lambda	au}}{\lambda},

    and the time by which a fraction ``q`` has had the event is
    ``-log((1 - q - pi) / (1 - pi)) / lam`` when ``1 - q > pi``, else never (``inf``): the
    median is not reached when ``pi >= 0.5``. ``lam`` is the hazard of the uncured, so the
    ratio of two arms' ``lam`` is the hazard ratio among the uncured (the hazard of the
    whole arm falls towards 0 as its survivors become the cured).

    References
    ----------
    Boag JW. Maximum likelihood estimates of the proportion of patients cured by cancer
    therapy. J R Stat Soc B 1949;11:15-53.

    Lambert PC, Thompson JR, Weston CL, Dickman PW. Estimating and modeling the cure fraction
    in population-based cancer survival analysis. Biostatistics 2007;8(3):576-94.
    """

    name = "cure"
    has_shape = False
    has_cure = True

    def survival(self, t, lam, k=1.0, cure=0.0):
        """``S(t) = pi + (1 - pi) exp(-lam t)``."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        cure = _cure_fraction(cure)
        return cure + (1.0 - cure) * xp.exp(-self._cumulative_hazard(t, lam, k, xp))

    def log_survival(self, t, lam, k=1.0, cure=0.0):
        """``log S(t)``."""
        xp = _PT if _is_tensor(t, lam, k, cure) else _NP
        return xp.log(self.survival(t, lam, k, cure=cure))

    def cumulative_hazard(self, t, lam, k=1.0, cure=0.0):
        """``H(t) = -log S(t)``, which tends to ``-log pi`` (not infinity)."""
        return -self.log_survival(t, lam, k, cure=cure)

    def hazard(self, t, lam, k=1.0, cure=0.0):
        """``h(t) = (1 - pi) lam exp(-lam t) / S(t)``, falling to 0."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        cure = _cure_fraction(cure)
        uncured = (1.0 - cure) * xp.exp(-self._cumulative_hazard(t, lam, k, xp))
        return lam * uncured / (cure + uncured)

    def log_pdf(self, t, lam, k=1.0, cure=0.0):
        """``log f(t) = log(1 - pi) + log lam - lam t``."""
        xp, lam, k, (t,) = self._args(lam, k, t, time_names=("t",))
        cure = _cure_fraction(cure)
        return xp.log1p(-cure) + xp.log(lam) - self._cumulative_hazard(t, lam, k, xp)

    def quantile(self, q, lam, k=1.0, cure=0.0):
        """Time by which a fraction ``q`` has had the event; ``inf`` when ``1 - q <= pi``."""
        if _is_tensor(q, lam, k, cure):
            q, lam, cure = _float64(q), _float64(lam), _float64(cure)
            left = (1.0 - q - cure) / (1.0 - cure)
            safe = pt.switch(left > 0, left, 1.0)
            return pt.switch(left > 0, -pt.log(safe) / lam, np.inf)
        if not np.all((np.asarray(q) >= 0) & (np.asarray(q) < 1)):
            raise ValueError(f"q must lie in [0, 1); received {q!r}.")
        _, lam, k, _ = self._args(lam, k)
        cure = _cure_fraction(cure)
        left = (1.0 - np.asarray(q, dtype=float) - cure) / (1.0 - cure)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(left > 0, -np.log(np.where(left > 0, left, 1.0)) / lam, np.inf)

    def median(self, lam, k=1.0, cure=0.0):
        """Median survival; ``inf`` (not reached) when ``pi >= 0.5``."""
        return self.quantile(0.5, lam, k, cure=cure)

    def rmst(self, tau, lam, k=1.0, cure=0.0):
        """``pi tau + (1 - pi) (1 - exp(-lam tau)) / lam``."""
        xp, lam, k, (tau,) = self._args(lam, k, tau, time_names=("tau",))
        cure = _cure_fraction(cure)
        return cure * tau + (1.0 - cure) * self._rmst(tau, lam, k, xp)

    def sample(self, rng: np.random.Generator, lam, k=1.0, size=None, cure=0.0) -> np.ndarray:
        """Event times: ``inf`` with probability ``pi`` (cured), else Exponential(``lam``)."""
        t = super().sample(rng, lam, k, size=size)
        cured = rng.random(t.shape) < _cure_fraction(cure)
        return np.where(cured, np.inf, t)

    def pymc_dist(self, lam, k=1.0):
        """The cure family has no PyMC distribution; :meth:`log_pdf` and ``log_survival``."""
        raise TypeError(
            "the cure family has no PyMC distribution: a cured patient never has the event. "
            "Use log_pdf(t, lam, cure=pi) for events and log_survival(t, lam, cure=pi) for "
            "censored times, as resurv.model.IndividualData does."
        )


FAMILIES: dict[str, SurvivalFamily] = {
    "exponential": Exponential(),
    "weibull": Weibull(),
    "cure": Cure(),
}


def get_family(name: str | SurvivalFamily) -> SurvivalFamily:
    """Return the survival family called ``name`` (an instance is returned unchanged)."""
    if isinstance(name, SurvivalFamily):
        return name
    try:
        return FAMILIES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown survival family {name!r}; valid families are {sorted(FAMILIES)}."
        ) from None
