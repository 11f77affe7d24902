"""The actuarial (Cutler-Ederer) life table, as ``KMsurv::lifetab`` computes it.

Patients withdrawn in an interval count as half at risk; the estimate at a boundary is the
product of the interval survival probabilities before it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resurv.frequentist.inputs import (
    BOUNDARY_RTOL,
    _as_survival_data,
    _check_breaks,
    _interval_index,
    _width_breaks,
)

__all__ = [
    "life_table",
    "life_table_survival",
]


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
    >>> from resurv.frequentist import life_table
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
