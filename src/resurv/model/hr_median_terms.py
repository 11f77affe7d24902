"""Hazard ratio and median survival terms.

:class:`HazardRatioTerm` and :class:`MedianTerm` (with a confidence interval) are normal
terms on the log scale, with the standard error read from the printed interval
(:func:`_log_se`). A median without a CI becomes a landmark statement "S(m) = 50%"
(:class:`~resurv.model.landmark_terms.ApproxLandmark`); one "not reached" a normal approximation
of the estimated curve at the last follow-up (:func:`_log_normal_cdf`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from scipy import stats

from resurv.model.censoring import CensoringModel, effective_sizes
from resurv.model.figure_term import _FigureTerm, _log_weights
from resurv.model.landmark_terms import ApproxLandmark
from resurv.model.terms import ArmParams
from resurv.study.schema import HazardRatioFigure, MedianFigure, Printed

__all__ = ["HazardRatioTerm", "MedianTerm"]


def _value(x: Printed | float) -> float:
    return float(x.value if isinstance(x, Printed) else x)


def _log_se(ci: tuple, level: float, what: str) -> float:
    """``(log upper - log lower) / (2 z)`` with ``z = Phi^{-1}((1 + level) / 2)``."""
    lo, hi = (_value(c) for c in ci)
    if not (0 < lo < hi and 0 < level < 1):
        raise ValueError(f"{what}: need 0 < lower < upper and 0 < level < 1; got {ci}, {level}")
    return (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf((1 + level) / 2))


def _normal_logpdf(x: Any, mu: Any, sigma: Any) -> Any:
    return -0.5 * ((x - mu) / sigma) ** 2 - pt.log(sigma) - 0.5 * math.log(2 * math.pi)


def _log_normal_cdf(z: Any) -> Any:
    """``log Phi(z)``, accurate in both tails; each branch is evaluated on its own side only."""
    lo, hi = pt.minimum(z, -1.0) / math.sqrt(2), pt.maximum(z, -1.0) / math.sqrt(2)
    return pt.switch(z < -1.0, pt.log(pt.erfcx(-lo) / 2) - lo**2, pt.log1p(-pt.erfc(hi) / 2))


class HazardRatioTerm(_FigureTerm):
    """Normal likelihood of a printed log hazard ratio, SE from its confidence interval.

    ``hr`` is the hazard ratio of ``arms[0]`` relative to ``arms[1]``; with a shared shape,
    ``log HR = log lam[arms[0]] - log lam[arms[1]]``.

    Notes
    -----
    ``SE = (log upper - log lower) / (2 z)`` with ``z = Phi^{-1}((1 + level) / 2)``
    (1.95996 for a 95% CI); the observation is the log of the printed HR.
    """

    def __init__(self, arms, hr: Printed | float, ci: tuple, ci_level=0.95, *, name=None):
        if ci is None:
            raise ValueError(
                "a hazard ratio without a confidence interval carries no usable precision; "
                "give its CI (or its p-value as a logrank_p figure for a predictive check)"
            )
        if _value(hr) <= 0:
            raise ValueError(f"a hazard ratio must be > 0; received {hr}")
        self.arms = (str(arms[0]), str(arms[1]))
        self._set_name(name or f"hr_{self.arms[0]}_{self.arms[1]}")
        se = _log_se(ci, ci_level, "hazard ratio")
        self._data = {"log_hr": np.array(math.log(_value(hr))), "se": np.array(se)}

    @classmethod
    def from_figure(cls, figure: HazardRatioFigure, **kwargs: Any) -> HazardRatioTerm:
        """Build from a study's :class:`~resurv.study.HazardRatioFigure`."""
        return cls(figure.arms, figure.hr, figure.ci, figure.ci_level, **kwargs)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """``Normal(log_hr | log lam_a - log lam_b, se)``."""
        mu = pt.log(params.lam[self.arms[0]]) - pt.log(params.lam[self.arms[1]])
        return _normal_logpdf(data["log_hr"], mu, data["se"])


class MedianTerm(_FigureTerm):
    """Likelihood of a printed median survival: with CI, without CI, or "not reached".

    Parameters
    ----------
    arm : str
    value : Printed or float or None
        The printed median (study time unit); None means "not reached".
    ci : (lower, upper), optional
    ci_level : float, default 0.95
    n_candidates, censoring
        Needed without a CI.
    t_max : float, optional
        Needed for "not reached": the last follow-up time, up to which the curve was seen.

    Notes
    -----
    With a CI: ``Normal(log m | log median(theta), SE)``, ``SE`` as for
    :class:`HazardRatioTerm`, ``log median = (log log 2 - log lam) / k``; for the cure
    family ``log median = log(-log((1/2 - pi) / (1 - pi))) - log lam`` (a cure fraction
    near or above 1/2 pushes the median towards infinity, far from a printed median).
    Without a CI: the landmark statement "S(m) = 50%", an :class:`ApproxLandmark`.
    Not reached: the estimated curve never increases, so "not reached by ``t_max``" is the
    event ``S_hat(t_max) > 1/2``, whose probability is approximated with
    ``S_hat(t_max) ~ Normal(S, S (1 - S) / m)``, ``S = S(t_max; theta)`` and ``m`` the
    Greenwood effective size at the boundary plug-in ``S = 1/2``; mixed over candidate sizes.
    """

    def __init__(
        self,
        arm: str,
        value: Printed | float | None = None,
        ci: tuple | None = None,
        ci_level: float = 0.95,
        *,
        n_candidates: Sequence[int] = (),
        censoring: CensoringModel | None = None,
        t_max: float | None = None,
        name: str | None = None,
    ):
        self.arm, self.arms, self._inner = str(arm), (str(arm),), None
        self._set_name(name or f"median_{arm}")
        if value is not None and ci is not None:
            self.mode = "ci"
            se = _log_se(ci, ci_level, "median")
            self._data = {"log_median": np.array(math.log(_value(value))), "se": np.array(se)}
        elif censoring is None or not n_candidates:
            raise ValueError(
                "a median without a CI (or not reached) needs n_candidates and censoring"
            )
        elif value is not None:
            self.mode = "landmark"
            self._inner = ApproxLandmark(
                arm, [_value(value)], [Printed(50.0, 1)], n_candidates, censoring, name=self.name
            )
            self._data, self._static = self._inner.data(), self._inner.structure()
        elif t_max is None or not t_max > 0:
            raise ValueError(
                f"a median 'not reached' needs t_max > 0, the last follow-up time; got {t_max!r}. "
                "Take it from the paper's follow-up range"
            )
        else:
            self.mode, self.t_max = "not_reached", float(t_max)
            size = [effective_sizes(n, [self.t_max], [0.5], censoring)[0] for n in n_candidates]
            self._data = {"size": np.array(size), "log_weight": _log_weights(len(size))}
            self._static = (self.t_max,)
        self._static = (self.mode, *self._static)

    @classmethod
    def from_figure(cls, figure: MedianFigure, **kwargs: Any) -> MedianTerm:
        """Build from a study's :class:`~resurv.study.MedianFigure`."""
        return cls(figure.arm, figure.value, figure.ci, figure.ci_level, **kwargs)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """See the class Notes."""
        lam, k = params.lam[self.arm], params.k
        pi = None if params.cure is None else params.cure[self.arm]
        if self.mode == "ci":
            if pi is None:
                log_median = (math.log(math.log(2.0)) - pt.log(lam)) / k
            else:  # cure: S(m) = 1/2 at m = -log((1/2 - pi) / (1 - pi)) / lam, if pi < 1/2
                left = pt.maximum((0.5 - pi) / (1.0 - pi), 1e-300)
                log_median = pt.log(-pt.log(left)) - pt.log(lam)
            return _normal_logpdf(data["log_median"], log_median, data["se"])
        if self.mode == "landmark":
            return self._inner.log_likelihood(params, data, own)
        s = pt.exp(-lam * self.t_max**k)
        if pi is not None:
            s = pi + (1.0 - pi) * s
        z = (s - 0.5) / pt.sqrt(s * (1 - s) / data["size"])
        return pt.logsumexp(_log_normal_cdf(z) + data["log_weight"])
