"""Kaplan-Meier: the product-limit estimate, its confidence band and the median with CI.

Conventions follow R's ``survival::survfit`` (log or log-log band; a median at a flat stretch
at exactly S = 0.5 is its midpoint), checked against reference values in the tests.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from resurv.frequentist.inputs import CIType, _as_survival_data, _check_ci, _check_level

__all__ = [
    "MedianCI",
    "kaplan_meier",
    "km_median",
    "km_median_ci",
    "km_survival_at",
]


# ------------------------------------------------------------------------ Kaplan-Meier ---
def _km_arrays(t: np.ndarray, e: np.ndarray):
    """Distinct times, at risk, deaths, censored, survival and Greenwood sum (SE of -log S)."""
    times, inv = np.unique(t, return_inverse=True)
    total = np.bincount(inv)
    deaths = np.bincount(inv, weights=e).astype(np.int64)
    at_risk = t.size - np.concatenate(([0], np.cumsum(total)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - deaths / at_risk)
        var_cumhaz = np.cumsum(deaths / (at_risk * (at_risk - deaths)))
    return times, at_risk, deaths, total - deaths, surv, np.sqrt(var_cumhaz)


def _km_ci(surv, se_cumhaz, ci: str, level: float):
    """Pointwise CI of S as R's ``survfit_confint`` (NaN where R gives NA)."""
    z = special.ndtri(1.0 - (1.0 - level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if ci == "log":
            s = np.where(surv == 0, np.nan, surv)
            lower = s * np.exp(-z * se_cumhaz)
            upper = np.minimum(s * np.exp(z * se_cumhaz), 1.0)
        else:
            s = np.where((surv == 0) | (surv == 1), np.nan, surv)
            shift = z * se_cumhaz / np.log(s)
            lower = np.exp(-np.exp(np.log(-np.log(s)) - shift))
            upper = np.exp(-np.exp(np.log(-np.log(s)) + shift))
    return lower, upper


def kaplan_meier(time, event, *, ci: CIType = "log", level: float = 0.95) -> pd.DataFrame:
    r"""Kaplan-Meier estimate with Greenwood standard errors and pointwise confidence limits.

    Parameters
    ----------
    time, event : array_like
        Follow-up times and death indicators (see :func:`life_table`).
    ci : {"log", "log-log"}, default "log"
        Transformation of the confidence interval: "log" is R ``survfit``'s default,
        "log-log" is the default of lifelines (and of R with ``conf.type = "log-log"``).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per distinct observed time (deaths or censorings, as R's
        ``summary(survfit(...), censored = TRUE)``): ``time``, ``at_risk``, ``deaths``,
        ``censored``, ``survival``, ``se`` (Greenwood SE of the survival), ``se_cumhaz``
        (SE of :math:`-\log S`, R's ``fit$std.err``), ``lower``, ``upper``.

    Notes
    -----
    .. math::
        \hat S(t) = \prod_{t_j \le t} \left(1 - \frac{d_j}{n_j}\right), \quad
        \sigma^2(t) = \sum_{t_j \le t} \frac{d_j}{n_j (n_j - d_j)}, \quad
        \widehat{\mathrm{SE}}\{\hat S(t)\} = \hat S(t)\, \sigma(t).

    Log CI: :math:`\hat S \exp(\pm z \sigma)`, upper limit capped at 1, undefined at
    :math:`\hat S = 0`. Log-log CI: :math:`\hat S^{\exp(\pm z \sigma / \log \hat S)}`,
    undefined at :math:`\hat S \in \{0, 1\}` (lifelines reports 1 there).

    References
    ----------
    .. [1] Kaplan EL, Meier P. Nonparametric estimation from incomplete observations.
       J Am Stat Assoc 1958;53(282):457-81.
    .. [2] Therneau TM. A Package for Survival Analysis in R. R package survival.
    """
    t, e = _as_survival_data(time, event)
    ci, level = _check_ci(ci), _check_level(level)
    times, at_risk, deaths, censored, surv, se_cumhaz = _km_arrays(t, e)
    lower, upper = _km_ci(surv, se_cumhaz, ci, level)
    with np.errstate(invalid="ignore"):
        se = surv * se_cumhaz
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk,
            "deaths": deaths,
            "censored": censored,
            "survival": surv,
            "se": se,
            "se_cumhaz": se_cumhaz,
            "lower": lower,
            "upper": upper,
        }
    )


def km_survival_at(time, event, t):
    """Kaplan-Meier survival at time(s) ``t``: the product over death times ``<= t``.

    Before the first death it is 1; after the last observed time the last value is carried
    forward (as R's ``summary(fit, times = t, extend = TRUE)`` and lifelines' ``predict``).
    Returns a float for scalar ``t``, an array otherwise.
    """
    tt, e = _as_survival_data(time, event)
    q = np.asarray(t, dtype=float)
    if np.any(np.isnan(q)):
        raise ValueError(f"t must not contain NaN; got {t!r}.")
    times, _, _, _, surv, _ = _km_arrays(tt, e)
    pos = np.searchsorted(times, q, side="right")
    out = np.where(pos == 0, 1.0, surv[np.maximum(pos - 1, 0)])
    return float(out) if out.ndim == 0 else out


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """R ``survival:::findq``: the time where the distribution ``y`` first reaches ``p``.

    When ``y`` equals ``p`` (within ``tol``) on a flat stretch, the midpoint of the stretch;
    a stretch that runs to the last time ends at the last observed time.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    # R's duplicated(): keep the first of equal values (NaN equal to NaN)
    _, first = np.unique(np.where(np.isnan(y), np.inf, y), return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    ok = ~np.isnan(y)
    xs, ys = x[ok], y[ok]

    def first_at_least(shift: float) -> float:
        # approx(ys + shift, seq_along, p, method = "constant", f = 1)
        v = ys + shift
        if p < v[0] or p > v[-1]:
            return np.nan
        return xs[int(np.argmax(v >= p))]

    x1, x2 = first_at_least(tol), first_at_least(-tol)
    quant = (x1 + x2) / 2.0
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol:
        quant = (x1 + xmax) / 2.0
    return float(quant)


class MedianCI(NamedTuple):
    """Median survival with its confidence limits (NaN: not reached / not estimable)."""

    median: float
    lower: float
    upper: float


_TOL = float(np.sqrt(np.finfo(float).eps))


def km_median(time, event) -> float:
    r"""Kaplan-Meier median survival, R's convention; NaN when not reached.

    The median is the first time with :math:`\hat S(t) \le 0.5`; when :math:`\hat S` equals
    0.5 exactly on a flat stretch, the midpoint between the start of the stretch and the next
    death time (or the last observed time if none), as ``quantile.survfit``.
    """
    t, e = _as_survival_data(time, event)
    times, _, _, _, surv, _ = _km_arrays(t, e)
    x = np.concatenate(([0.0], times))
    return _findq(x, np.concatenate(([0.0], 1.0 - surv)), 0.5, _TOL)


def km_median_ci(time, event, *, ci: CIType = "log", level: float = 0.95) -> MedianCI:
    """Kaplan-Meier median with the confidence interval R's ``survfit`` prints.

    The limits are the times where the pointwise lower and upper confidence curves
    (transformation ``ci``, see :func:`kaplan_meier`) cross 0.5 (Brookmeyer-Crowley
    inversion, as ``quantile.survfit``); NaN when a curve never crosses.

    References
    ----------
    .. [1] Brookmeyer R, Crowley J. A confidence interval for the median survival time.
       Biometrics 1982;38(1):29-41.
    """
    t, e = _as_survival_data(time, event)
    ci, level = _check_ci(ci), _check_level(level)
    times, _, _, _, surv, se_cumhaz = _km_arrays(t, e)
    lower, upper = _km_ci(surv, se_cumhaz, ci, level)
    x = np.concatenate(([0.0], times))

    def q(s):
        return _findq(x, np.concatenate(([0.0], 1.0 - s)), 0.5, _TOL)

    return MedianCI(q(surv), q(lower), q(upper))
