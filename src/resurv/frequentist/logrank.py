"""The log-rank test of equal hazards across groups, as ``survival::survdiff`` computes it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from resurv.frequentist.inputs import _as_groups, _as_survival_data

__all__ = [
    "LogrankResult",
    "logrank_test",
]


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
