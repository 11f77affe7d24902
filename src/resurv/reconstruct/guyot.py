"""Guyot et al.'s algorithm: pseudo-individual data from a digitised Kaplan-Meier curve.

:func:`guyot` inverts the Kaplan-Meier product, one interval of the numbers-at-risk table at a
time: it guesses how many patients were censored in the interval, spreads them over it,
derives the deaths at every digitised point from the drop in survival, and corrects the guess
until the patients left at the start of the next interval equal the printed number at risk.
The last interval, which has no number at risk at its end, uses the total number of events
when the paper gives it, else the censoring rate of the earlier intervals.

Conventions: ``time[j]``, ``survival[j]`` is a digitised point, read where the curve is *after*
any drop at ``time[j]`` (the bottom of a step); the curve starts at ``(0, 1)``, which is added
when missing. The numbers at risk are patients still followed just before ``risk_time[i]``,
``risk_time[0] = 0`` with ``risk_n[0]`` the arm size. Deaths are placed at the digitised times
(Kaplan-Meier steps happen there); censorings evenly within their interval of the at-risk
table (Guyot's choice) or, given a random generator, uniformly at random (used for plausible
reconstructions, :mod:`resurv.reconstruct.plausible`). Patients left after the last point are
censored at the last digitised time.

References
----------
.. [1] Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival
   data: reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res
   Methodol 2012;12:9. doi:10.1186/1471-2288-12-9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["PseudoData", "guyot", "invert_with_censoring"]

#: corrections of the censoring guess per interval before the algorithm settles for the best
MAX_ITERATIONS = 200


@dataclass(frozen=True)
class PseudoData:
    """One reconstruction of an arm: pseudo-individual data and the per-point counts.

    Attributes
    ----------
    time, event : numpy.ndarray
        Follow-up time and death indicator (1 died, 0 censored) of every patient.
    point_time, point_survival : numpy.ndarray
        The digitised points the reconstruction used (with ``(0, 1)`` first).
    deaths, censored, at_risk : numpy.ndarray of int
        Per digitised point ``j``: deaths at ``point_time[j]``, censorings in
        ``[point_time[j], point_time[j + 1])`` and patients at risk just before
        ``point_time[j]``.
    km : numpy.ndarray
        The Kaplan-Meier survival of the pseudo-data at each digitised point.
    interval : numpy.ndarray of int
        Index of the at-risk interval of each digitised point.
    risk_time, risk_n : numpy.ndarray
        The numbers-at-risk table used.
    """

    time: np.ndarray
    event: np.ndarray
    point_time: np.ndarray
    point_survival: np.ndarray
    deaths: np.ndarray
    censored: np.ndarray
    at_risk: np.ndarray
    km: np.ndarray
    interval: np.ndarray
    risk_time: np.ndarray
    risk_n: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.time.size)

    def frame(self, arm: str | None = None) -> pd.DataFrame:
        """The pseudo-individual data as a frame: ``time``, ``event`` (and ``arm``)."""
        df = pd.DataFrame({"time": self.time, "event": self.event.astype(int)})
        return df if arm is None else df.assign(arm=arm)


def guyot(
    time,
    survival,
    risk_time=None,
    risk_n=None,
    *,
    n: int | None = None,
    total_events: int | None = None,
    rng: np.random.Generator | None = None,
) -> PseudoData:
    r"""Reconstruct pseudo-individual data from a digitised Kaplan-Meier curve.

    Parameters
    ----------
    time, survival : array_like
        Digitised points, times non-decreasing and survival non-increasing in [0, 1]
        (checked when a study file is read, :mod:`resurv.study.curves`).
    risk_time, risk_n : array_like, optional
        Numbers-at-risk table: times (the first 0) and patients at risk. Without it, ``n``
        gives the arm size and the whole curve is one interval.
    n : int, optional
        Arm size, when there is no at-risk table.
    total_events : int, optional
        Total deaths in the arm; fixes the censoring of the last interval.
    rng : numpy.random.Generator, optional
        Place censorings uniformly at random within their interval instead of evenly.

    Returns
    -------
    PseudoData

    Notes
    -----
    In interval :math:`i` (points :math:`l_i \dots u_i`, at-risk :math:`r_i` at its start and
    :math:`r_{i+1}` at the next), the first guess of censorings is
    :math:`c_i = \mathrm{round}(r_i S(l_{i+1}) / S(l_i) - r_{i+1})`. With the censorings spread
    over the interval of the at-risk table, the deaths at point :math:`j` are
    :math:`d_j = \mathrm{round}(\hat n_j (1 - S_j / \hat S_{\text{last}}))`, where
    :math:`\hat S_{\text{last}}` is the reconstructed KM at the previous point with a death,
    and :math:`\hat n_{j+1} = \hat n_j - d_j - c_j`. The guess is corrected by the
    difference between the patients left at the next at-risk time and :math:`r_{i+1}` until
    they agree. The last interval's censorings are
    set from ``total_events`` (corrected until the total deaths agree) or from the average
    censorings per unit time of the earlier intervals (none, when there are no earlier
    intervals), as in Guyot et al. (2012), section "Methods".
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    if t.size == 0 or t[0] > 0.0 or s[0] < 1.0:
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
    if risk_time is None:
        if n is None:
            raise ValueError("give the numbers at risk (risk_time, risk_n) or the arm size n")
        rt, rn = np.array([0.0]), np.array([int(n)])
    else:
        rt = np.asarray(risk_time, dtype=float)
        rn = np.asarray(risk_n, dtype=int)
        if rt.size == 0 or rt[0] != 0.0 or rt.size != rn.size:
            raise ValueError("the at-risk table must start at time 0, one count per time")
    # at-risk times after the last point (or after the arm emptied) carry no information
    keep = (rt <= t[-1]) & ((rn > 0) | (np.arange(rt.size) == 0))
    rt, rn = rt[keep], rn[keep]
    # an interval without a digitised point is merged into the one before it
    lower = np.searchsorted(t, rt, side="left")
    filled = np.append(lower[1:] > lower[:-1], lower[-1] < t.size)
    filled[0] = True
    rt, rn, lower = rt[filled], rn[filled], lower[filled]
    m = rt.size
    upper = np.append(lower[1:] - 1, t.size - 1)
    interval = np.repeat(np.arange(m), upper - lower + 1)

    k = t.size
    deaths = np.zeros(k, dtype=int)
    cens = np.zeros(k, dtype=int)
    nhat = np.zeros(k + 1, dtype=int)
    km = np.ones(k)
    cens_times: list[np.ndarray] = [np.empty(0)] * m
    state = _State()

    start = int(rn[0])  # patients entering the interval: the printed count once it is met
    for i in range(m):
        lo, up = lower[i], upper[i]
        last_interval = i == m - 1
        end_time = rt[i + 1] if not last_interval else t[-1]
        if not last_interval:
            s_next = s[lower[i + 1]]
            guess = start * s_next / max(s[lo], 1e-12) - rn[i + 1]
            n_cens = max(int(round(guess)), 0)
        elif total_events is None:
            done = sum(len(c) for c in cens_times[:i])
            span = rt[i] - rt[0]
            rate = done / span if i > 0 and span > 0 else 0.0
            n_cens = min(int(round(rate * (t[-1] - rt[i]))), start)
        else:
            n_cens = 0
        best = None
        for _ in range(MAX_ITERATIONS):
            trial = state.copy()
            ct = _censor_times(rt[i], end_time, n_cens, rng, closed=last_interval)
            outcome = _run_interval(t, s, lo, up, start, ct, trial, first=i == 0)
            d, c, nh, kmv, n_end, _ = outcome
            if not last_interval:
                miss = n_end - rn[i + 1]
            elif total_events is not None:
                miss = int(d.sum()) + state.total_deaths - int(total_events)
            else:
                miss = 0
            if best is None or abs(miss) < abs(best[0]):
                best = (miss, n_cens, ct, outcome, trial)
            step = n_cens + miss
            if miss == 0 or step < 0 or step > start or step == n_cens:
                break
            n_cens = step
        _, n_cens, _, (d, c, nh, kmv, start, ct), trial = best
        deaths[lo : up + 1], cens[lo : up + 1] = d, c
        nhat[lo : up + 1], km[lo : up + 1] = nh, kmv
        cens_times[i] = ct
        state = trial

    times, events = _patients(t, deaths, np.concatenate(cens_times), int(rn[0]))
    return PseudoData(times, events, t, s, deaths, cens, nhat[:k], km, interval, rt, rn)


def invert_with_censoring(time, survival, n: int, censor_times) -> PseudoData:
    """Invert the Kaplan-Meier product for a curve without at-risk table or total events.

    ``censor_times`` holds one potential censoring time per patient (drawn from the study's
    censoring model, :mod:`resurv.model.censoring`); a patient still alive at his time leaves
    the risk set there, and the deaths at each point follow from the drop in survival and
    the patients then at risk, as in :func:`guyot`. Patients alive at the last point are
    censored there.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    if t.size == 0 or t[0] > 0.0 or s[0] < 1.0:
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
    ct = np.sort(np.asarray(censor_times, dtype=float))
    ct = ct[ct < t[-1]]
    outcome = _run_interval(t, s, 0, t.size - 1, int(n), ct, _State(), first=True)
    d, c, nh, kmv, _, kept = outcome
    times, events = _patients(t, d, kept, int(n))
    interval = np.zeros(t.size, dtype=int)
    return PseudoData(times, events, t, s, d, c, nh, kmv, interval, np.array([0.0]),
                      np.array([int(n)]))  # fmt: skip


@dataclass
class _State:
    """Carried between intervals: KM at the last death and deaths so far."""

    km_last: float = 1.0
    total_deaths: int = 0

    def copy(self) -> _State:
        return _State(self.km_last, self.total_deaths)


def _censor_times(start, end, count, rng, *, closed):
    if count <= 0 or end <= start:
        return np.full(max(count, 0), start, dtype=float)
    if rng is not None:
        return np.sort(rng.uniform(start, end, size=count))
    # evenly inside (start, end); in the last interval up to the end itself
    denom = count if closed else count + 1
    return start + (end - start) * np.arange(1, count + 1) / denom


def _run_interval(t, s, lo, up, at_start, ct, state: _State, *, first: bool):
    """Deaths and censorings at points ``lo..up`` given the interval's censoring times.

    A censoring before a point's time leaves the risk set before that point's deaths; one at
    the same time leaves after them (the Kaplan-Meier convention). ``c[j]`` counts the
    censorings in ``[t_j, t_{j+1})`` (those before the interval's first point count there).
    """
    size = up - lo + 1
    c = np.zeros(size, dtype=int)
    d = np.zeros(size, dtype=int)
    nh = np.zeros(size, dtype=int)
    kmv = np.ones(size)
    at = int(at_start)
    kept: list[float] = []
    queue = list(np.sort(ct))
    for j in range(size):
        point = lo + j
        while queue and queue[0] < t[point]:
            x = queue.pop(0)
            if at > 0:
                at -= 1
                kept.append(x)
                c[max(j - 1, 0)] += 1
        nh[j] = at
        if (first and j == 0) or at <= 0 or state.km_last <= 0:
            dj = 0
        else:
            dj = int(round(at * (1.0 - s[point] / state.km_last)))
            dj = min(max(dj, 0), at)
        if dj > 0:
            state.km_last *= 1.0 - dj / at
            state.total_deaths += dj
        d[j], kmv[j] = dj, state.km_last
        at -= dj
    for x in queue:
        if at > 0:
            at -= 1
            kept.append(x)
            c[size - 1] += 1
    return d, c, nh, kmv, at, np.asarray(kept, dtype=float)


def _patients(t, deaths, cens_times, n0):
    """Individual records: deaths at the points, censorings at their times, the rest at the end."""
    dt = np.repeat(t, deaths)
    ct = np.sort(cens_times)
    rest = n0 - dt.size - ct.size
    times = np.concatenate([dt, ct, np.full(max(rest, 0), t[-1])])
    events = np.concatenate([np.ones(dt.size, int), np.zeros(times.size - dt.size, int)])
    order = np.lexsort((1 - events, times))
    times, events = times[order], events[order]
    # a follow-up of 0 is not a survival time: censorings at time 0 move to half the first gap
    positive = t[t > 0]
    tiny = positive[0] / 2.0 if positive.size else 1.0
    return np.where(times <= 0.0, tiny, times), events
