"""Digitising a Kaplan-Meier curve by program, with a stated reading error.

What a careful reader of a printed figure produces, made reproducible: one point at the bottom
of every step of the curve, each read with an independent error in time and in survival,
then made monotone as digitising software does (times sorted, survival projected onto
non-increasing values by the pool-adjacent-violators algorithm, clipped to [0, 1]). The
numbers-at-risk table printed under the figure is read exactly (it is printed as integers).

Used for validation on real data (draw the curve of a data set whose individual data are
known, digitise, reconstruct, compare) and by the coverage simulation
(:mod:`resurv.reconstruct.coverage`). The same :class:`ReadingError` drives the plausible
reconstructions (:mod:`resurv.reconstruct.plausible`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resurv.frequentist import kaplan_meier
from resurv.study.digitised import DigitisedCurve, ReadingError

__all__ = ["at_risk_table", "digitise", "monotone_curve", "non_increasing"]


def non_increasing(y) -> np.ndarray:
    """Least-squares projection of ``y`` onto non-increasing sequences (pool adjacent violators)."""
    values: list[float] = []
    weights: list[int] = []
    for v in np.asarray(y, dtype=float):
        values.append(v)
        weights.append(1)
        while len(values) > 1 and values[-2] < values[-1]:
            w = weights[-2] + weights[-1]
            v = (values[-2] * weights[-2] + values[-1] * weights[-1]) / w
            values[-2:], weights[-2:] = [v], [w]
    return np.repeat(values, weights)


def monotone_curve(time, survival) -> tuple[np.ndarray, np.ndarray]:
    """Sorted times in ``[0, inf)`` and non-increasing survival in ``[0, 1]``, point by point."""
    t = np.sort(np.maximum(np.asarray(time, dtype=float), 0.0))
    s = np.clip(non_increasing(survival), 0.0, 1.0)
    return t, s


def at_risk_table(time, times) -> np.ndarray:
    """Patients still followed just before each of ``times`` (``time >= x``)."""
    t = np.asarray(time, dtype=float)
    return np.array([int(np.sum(t >= x)) for x in np.asarray(times, dtype=float)])


@dataclass(frozen=True)
class _Steps:
    time: np.ndarray
    survival: np.ndarray


def _km_steps(time, event) -> _Steps:
    km = kaplan_meier(time, event)
    drops = km[km["deaths"] > 0]
    return _Steps(drops["time"].to_numpy(float), drops["survival"].to_numpy(float))


def digitise(
    time,
    event,
    *,
    arm: str,
    error: ReadingError,
    rng: np.random.Generator,
    risk_times=None,
    with_total_events: bool = True,
) -> DigitisedCurve:
    """Digitise the Kaplan-Meier curve of individual data with reading error.

    Parameters
    ----------
    time, event : array_like
        Individual follow-up times and death indicators.
    arm : str
        Arm id of the curve.
    error : ReadingError
        Standard deviations of the reading error in time (study time unit) and survival.
    rng : numpy.random.Generator
        Source of the reading errors (same seed, same curve).
    risk_times : array_like, optional
        Times of the printed numbers-at-risk table (must start at 0); none when omitted.
    with_total_events : bool, default True
        Whether the paper states the total number of deaths.

    Returns
    -------
    DigitisedCurve
        The curve as a study file would hold it (a last point at the end of follow-up is
        added when patients remain at risk there, as the printed curve continues flat).
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    steps = _km_steps(t, e)
    pt, ps = steps.time, steps.survival
    if t.max() > (pt.max() if pt.size else 0.0):
        pt, ps = np.append(pt, t.max()), np.append(ps, ps[-1] if ps.size else 1.0)
    noisy_t = pt + rng.normal(0.0, error.time, size=pt.size)
    noisy_s = ps + rng.normal(0.0, error.survival, size=ps.size)
    dt, ds = monotone_curve(noisy_t, noisy_s)
    rt = rn = None
    if risk_times is not None:
        rt = np.asarray(risk_times, dtype=float)
        rt = rt[rt <= dt[-1]]
        rn = at_risk_table(t, rt)
    return DigitisedCurve(
        arm=arm,
        time=tuple(dt.tolist()),
        survival=tuple(ds.tolist()),
        risk_time=None if rt is None else tuple(rt.tolist()),
        risk_n=None if rn is None else tuple(int(x) for x in rn),
        n=int(t.size),
        total_events=int(e.sum()) if with_total_events else None,
        reading_error=error,
    )
