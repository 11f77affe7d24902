"""Frequentist estimators on individual right-censored data: life table, Kaplan-Meier, log-rank.

These are the estimators a published paper applied to its patients; resurv recomputes them
(on simulated or shipped cohorts) to compare with what was printed. Conventions follow R's
``survival`` (``survfit``, ``survdiff``) and ``KMsurv::lifetab``; the tests check them against
reference values computed by those functions.

Times are float arrays (any unit), events are bool (or 0/1) arrays: ``True`` is a death.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from scipy import special

CIType = Literal["log", "log-log"]
CI_TYPES = ("log", "log-log")

#: relative tolerance within which a time equals a life-table boundary
BOUNDARY_RTOL = 1e-9

__all__ = [
    "LogrankResult",
    "MedianCI",
    "kaplan_meier",
    "km_median",
    "km_median_ci",
    "km_survival_at",
    "life_table",
    "life_table_survival",
    "logrank_test",
]


# ------------------------------------------------------------------------ input checks ---
def _as_survival_data(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``time`` and ``event``; return them as float and bool arrays."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"time must be an array of numbers; got {time!r:.80}") from err
    if t.ndim != 1 or t.size == 0:
        raise ValueError(
            f"time must be a non-empty 1-D array; got shape {t.shape}. "
            "Pass one follow-up time per patient."
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = t[~(np.isfinite(t) & (t >= 0))][:3]
        raise ValueError(
            f"time must be finite and >= 0; got {bad.tolist()}. "
            "Drop patients without follow-up, or give censored patients their last contact time."
        )
    e = np.asarray(event)
    if e.shape != t.shape:
        raise ValueError(
            f"event must have the same shape as time {t.shape}; got {e.shape}. "
            "Pass one event indicator per patient."
        )
    if e.dtype != bool:
        if not np.issubdtype(e.dtype, np.number) or not np.all(np.isin(e, (0, 1))):
            bad = np.unique(e[~np.isin(e, (0, 1))])[:3] if np.issubdtype(e.dtype, np.number) else e
            raise ValueError(
                f"event must be bool or 0/1 (1 = death, 0 = censored); got values "
                f"{np.asarray(bad).tolist()!r:.80}. Recode it, e.g. event = (status == 2) for "
                "R's 1/2 coding."
            )
        e = e.astype(bool)
    return t, e


def _as_groups(group, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``group``; return (sorted distinct labels, integer code per patient)."""
    g = np.asarray(group)
    if g.shape != (n,):
        raise ValueError(
            f"group must have one label per patient, shape ({n},); got shape {g.shape}."
        )
    missing = pd.isna(g)
    if np.any(missing):
        raise ValueError(
            f"group has {int(missing.sum())} missing label(s) (NaN/None); "
            "drop those patients or give them a label."
        )
    labels, codes = np.unique(g, return_inverse=True)
    return labels, codes


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}. Use e.g. level=0.95.")
    return float(level)


def _check_ci(ci: str) -> str:
    if ci not in CI_TYPES:
        raise ValueError(
            f"ci must be one of {CI_TYPES}; got {ci!r}. 'log' is R survfit's default, "
            "'log-log' is lifelines' (and Stata's)."
        )
    return ci


# ------------------------------------------------------------------------ life table -----
def _interval_index(time: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Index ``j`` of the interval ``[breaks[j], breaks[j+1])`` holding each time.

    A time within ``BOUNDARY_RTOL`` below a boundary is put in the interval starting there
    (so ``0.3`` falls in ``[0.3, 0.4)`` although ``3 * 0.1 > 0.3`` in floating point).
    Returns ``-1`` before ``breaks[0]`` and ``len(breaks) - 1`` at or beyond the last break.
    """
    idx = np.searchsorted(breaks, time, side="right") - 1
    nxt = idx + 1
    has_next = nxt < breaks.size
    nb = breaks[np.minimum(nxt, breaks.size - 1)]
    snap = has_next & np.isfinite(nb) & (np.abs(nb - time) <= BOUNDARY_RTOL * np.abs(nb))
    return np.where(snap, nxt, idx)


def _width_breaks(time: np.ndarray, width: float) -> np.ndarray:
    if not (np.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0; got {width!r}.")
    # enough intervals that the largest time falls inside the table
    k = int(np.floor(time.max() / width)) + 2
    breaks = width * np.arange(k + 1, dtype=float)
    last = int(_interval_index(np.array([time.max()]), breaks)[0])
    return breaks[: last + 2]


def _check_breaks(breaks, time: np.ndarray) -> np.ndarray:
    b = np.asarray(breaks, dtype=float)
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"breaks must be a 1-D array of at least 2 boundaries; got {breaks!r}.")
    if np.any(np.isnan(b)) or not np.all(np.isfinite(b[:-1])) or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"breaks must be strictly increasing and finite (the last may be inf); got "
            f"{b.tolist()}."
        )
    if time.min() < b[0]:
        raise ValueError(
            f"breaks start at {b[0]:g} but the earliest time is {time.min():g}; "
            "start breaks at 0 (or at the earliest time)."
        )
    return b


def _life_table_arrays(time, event, breaks):
    """Count each interval's patients; return them with survival at the interval ends."""
    k = breaks.size - 1
    idx = _interval_index(time, breaks)
    inside = idx < k
    deaths = np.bincount(idx[inside & event], minlength=k)
    withdrawn = np.bincount(idx[inside & ~event], minlength=k)
    exits = deaths + withdrawn
    entered = time.size - np.concatenate(([0], np.cumsum(exits)[:-1]))
    effective = entered - withdrawn / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = 1.0 - deaths / effective
        surv = np.cumprod(cond)
        # intervals nobody enters are undefined (NaN) unless everybody has already died
        reached_zero = np.cumprod(np.where(np.isnan(cond), 1.0, cond)) == 0.0
        surv = np.where(np.isnan(surv) & reached_zero, 0.0, surv)
        green = np.cumsum(deaths / (effective * (effective - deaths)))
        se = surv * np.sqrt(green)
    return entered, deaths, withdrawn, effective, cond, surv, se


def life_table(time, event, *, width: float = 1.0, breaks=None) -> pd.DataFrame:
    r"""Cutler-Ederer (actuarial) life table.

    Parameters
    ----------
    time : array_like of float
        Follow-up time of each patient (>= 0).
    event : array_like of bool or {0, 1}
        ``True`` for a death at ``time``, ``False`` for a patient withdrawn alive.
    width : float, default 1.0
        Interval width, used when ``breaks`` is None: intervals ``[0, w), [w, 2w), ...`` up to
        the one holding the largest time.
    breaks : array_like of float, optional
        Interval boundaries (strictly increasing; the last may be ``inf`` for an open final
        interval). Patients followed beyond the last break survive every interval.

    Returns
    -------
    pandas.DataFrame
        One row per interval ``[start, end)``: ``entered``, ``deaths``, ``withdrawn``,
        ``effective`` (at risk, ``entered - withdrawn / 2``), ``conditional`` (survival through
        the interval given alive at its start), ``survival`` (cumulative, at the **end** of
        the interval) and ``se`` (Greenwood-type standard error of ``survival``).

    Notes
    -----
    With :math:`n'_j = n_j - w_j/2` effective at risk and :math:`d_j` deaths in interval
    :math:`j`,

    .. math::
        \hat S(b_j) = \prod_{i \le j} \left(1 - \frac{d_i}{n'_i}\right), \qquad
        \widehat{\mathrm{SE}} = \hat S(b_j)
        \sqrt{\sum_{i \le j} \frac{d_i}{n'_i (n'_i - d_i)}}.

    An event or withdrawal exactly at a boundary belongs to the interval that starts there.
    An interval nobody enters has undefined conditional survival (NaN) and cumulative survival
    NaN, unless the survival has already reached 0, in which case it stays 0
    (``KMsurv::lifetab`` propagates NaN there).

    References
    ----------
    .. [1] Cutler SJ, Ederer F. Maximum utilization of the life table method in analyzing
       survival. J Chronic Dis 1958;8(6):699-712.
    .. [2] Klein JP, Moeschberger ML. Survival Analysis: Techniques for Censored and Truncated
       Data, 2nd ed. Springer 2003, section 5.4.

    Examples
    --------
    >>> import numpy as np
    >>> from resurv.nonparametric import life_table
    >>> tab = life_table([0.5, 1.2, 2.0, 3.5, 4.1], [1, 0, 1, 0, 0], width=1.0)
    >>> tab["survival"].round(3).tolist()
    [0.8, 0.8, 0.533, 0.533, 0.533]
    """
    t, e = _as_survival_data(time, event)
    b = _width_breaks(t, width) if breaks is None else _check_breaks(breaks, t)
    entered, deaths, withdrawn, effective, cond, surv, se = _life_table_arrays(t, e, b)
    return pd.DataFrame(
        {
            "start": b[:-1],
            "end": b[1:],
            "entered": entered,
            "deaths": deaths,
            "withdrawn": withdrawn,
            "effective": effective,
            "conditional": cond,
            "survival": surv,
            "se": se,
        }
    )


def life_table_survival(time, event, t: float, width: float = 1.0) -> float:
    """Actuarial survival at ``t``: the product over the intervals ending at or before ``t``.

    ``t`` must be a life-table breakpoint (a multiple of ``width``); ``t = 0`` gives 1.
    Patients followed beyond ``t`` count as surviving. See :func:`life_table` for the formula.
    """
    tt, e = _as_survival_data(time, event)
    if not (np.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0; got {width!r}.")
    if not (np.isfinite(t) and t >= 0):
        raise ValueError(f"t must be a finite time >= 0; got {t!r}.")
    k = round(t / width)
    if not np.isclose(k * width, t, rtol=BOUNDARY_RTOL, atol=0.0):
        raise ValueError(
            f"t={t!r} is not a life-table breakpoint: with width={width!r} the estimate exists "
            f"only at 0, {width:g}, {2 * width:g}, ... . Pass t as a multiple of width (e.g. "
            f"t={k * width:g}), change width, or use km_survival_at for any time."
        )
    if k == 0:
        return 1.0
    breaks = width * np.arange(k + 1, dtype=float)
    return float(_life_table_arrays(tt, e, breaks)[5][-1])


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


# ------------------------------------------------------------------------ log-rank -------
@dataclass(frozen=True)
class LogrankResult:
    """Result of :func:`logrank_test`.

    Attributes
    ----------
    statistic : float
        Chi-square statistic.
    df : int
        Degrees of freedom (groups with a positive expected count, minus one).
    p_value : float
        Upper tail of the chi-square distribution.
    groups : numpy.ndarray
        Group labels, sorted.
    n, observed, expected : numpy.ndarray
        Patients, observed and expected deaths per group.
    variance : numpy.ndarray
        Variance-covariance matrix of ``observed - expected``.
    """

    statistic: float
    df: int
    p_value: float
    groups: np.ndarray
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray


def logrank_test(time, event, group) -> LogrankResult:
    r"""Log-rank test of equal survival in two or more groups (R's ``survdiff``, rho = 0).

    Parameters
    ----------
    time, event : array_like
        Follow-up times and death indicators (see :func:`life_table`).
    group : array_like
        Group label of each patient (at least two distinct labels).

    Notes
    -----
    At each distinct death time :math:`t_j` with :math:`d_j` deaths among :math:`n_j` at risk
    (:math:`n_{gj}` in group :math:`g`),

    .. math::
        E_g = \sum_j d_j \frac{n_{gj}}{n_j}, \qquad
        V_{gh} = \sum_j \frac{d_j (n_j - d_j)}{n_j - 1}
                 \frac{n_{gj}}{n_j}\left(\delta_{gh} - \frac{n_{hj}}{n_j}\right),

    and :math:`X^2 = (O - E)^\top V^{-1} (O - E)` over the groups with :math:`E_g > 0`, one
    group dropped, on that many minus one degrees of freedom.

    References
    ----------
    .. [1] Mantel N. Evaluation of survival data and two new rank order statistics arising in
       its consideration. Cancer Chemother Rep 1966;50(3):163-70.
    .. [2] Peto R, Peto J. Asymptotically efficient rank invariant test procedures.
       J R Stat Soc A 1972;135(2):185-207.
    """
    t, e = _as_survival_data(time, event)
    labels, codes = _as_groups(group, t.size)
    k = labels.size
    if k < 2:
        raise ValueError(
            f"group must hold at least two distinct labels; got only {labels.tolist()!r}."
        )
    death_times = np.unique(t[e])
    m = death_times.size
    at_risk = np.empty((k, m))
    for g in range(k):
        tg = np.sort(t[codes == g])
        at_risk[g] = tg.size - np.searchsorted(tg, death_times, side="left")
    cell = codes[e] * m + np.searchsorted(death_times, t[e])
    deaths = np.bincount(cell, minlength=k * m).reshape(k, m).astype(float)
    n_j, d_j = at_risk.sum(axis=0), deaths.sum(axis=0)
    frac = at_risk / n_j
    expected = frac @ d_j
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(n_j > 1, d_j * (n_j - d_j) / (n_j - 1), 0.0)
    variance = np.diag(frac @ c) - (frac * c) @ frac.T
    observed = deaths.sum(axis=1)

    keep = expected > 0
    df = max(int(keep.sum()) - 1, 0)
    if df == 0:
        stat = 0.0
    else:
        diff = (observed - expected)[keep][1:]
        vv = variance[np.ix_(keep, keep)][1:, 1:]
        try:
            stat = float(diff @ np.linalg.solve(vv, diff))
        except np.linalg.LinAlgError:
            stat = float(diff @ np.linalg.pinv(vv) @ diff)
    p = float(special.chdtrc(df, stat)) if df > 0 else 1.0
    return LogrankResult(
        statistic=stat,
        df=df,
        p_value=p,
        groups=labels,
        n=np.bincount(codes, minlength=k),
        observed=observed,
        expected=expected,
        variance=variance,
    )
