"""Reduce a cohort to the figures its paper would print.

Simulation studies (simulation-based calibration, recovery, posterior predictive checks)
draw thousands of cohorts and turn each into the handful of numbers a paper prints:
landmark survival (actuarial or Kaplan-Meier) as a percent at a given precision, a log-rank
p-value, a median, a proportion of events. :func:`reduce_cohort` does that for a list of
figure specifications; the lean estimators :func:`actuarial_at`, :func:`km_at` and
:func:`logrank_p` skip the tables of :mod:`resurv.frequentist` and are checked against them.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from resurv.frequentist.inputs import _as_survival_data
from resurv.frequentist.kaplan_meier import km_median
from resurv.study.schema import LogrankFigure, MedianFigure, Study, SurvivalFigure

PrintRounding = Literal["round", "truncate"]

#: relative slack when printing, so that 56.99999999999999 (a float product equal to 57)
#: prints as 57 and 0.125 exactly rounds half up
_PRINT_RTOL = 1e-11

__all__ = [
    "LandmarkSpec",
    "LogrankSpec",
    "MedianSpec",
    "ProportionSpec",
    "ReducedFigure",
    "actuarial_at",
    "format_fixed",
    "format_p",
    "km_at",
    "logrank_p",
    "reduce_cohort",
    "specs_from_study",
]


# ------------------------------------------------------------------------ specifications -
@dataclass(frozen=True)
class LandmarkSpec:
    """Landmark survival of ``arm`` (None: whole cohort) at ``time``, printed as a percent."""

    id: str
    time: float
    arm: Hashable | None = None
    estimator: Literal["actuarial", "kaplan-meier"] = "actuarial"
    width: float = 1.0  # life-table interval width (actuarial only)
    decimals: int = 1


@dataclass(frozen=True)
class MedianSpec:
    """Kaplan-Meier median survival of ``arm``, printed in the time unit ("NR": not reached)."""

    id: str
    arm: Hashable | None = None
    decimals: int = 1


@dataclass(frozen=True)
class LogrankSpec:
    """Log-rank p-value across ``arms`` (empty: every group), printed at ``decimals``."""

    id: str
    arms: tuple[Hashable, ...] = ()
    decimals: int = 3


@dataclass(frozen=True)
class ProportionSpec:
    """Proportion of patients of ``arm`` (None: all) with an event, printed as a percent."""

    id: str
    arm: Hashable | None = None
    decimals: int = 1


Spec = LandmarkSpec | MedianSpec | LogrankSpec | ProportionSpec


@dataclass(frozen=True)
class ReducedFigure:
    """One figure of a reduced cohort: the exact value and how a paper would print it.

    ``value`` is a survival probability or proportion in [0, 1], a median time, or a p-value.
    ``printed_round`` uses round-half-up, ``printed_truncate`` truncation; survival and
    proportions are printed as percents.
    """

    id: str
    kind: Literal["survival", "median", "logrank_p", "proportion"]
    value: float
    printed_round: str
    printed_truncate: str

    def printed(self, rounding: PrintRounding = "round") -> str:
        """Return the printed string under ``rounding`` ("round" or "truncate")."""
        if rounding == "round":
            return self.printed_round
        if rounding == "truncate":
            return self.printed_truncate
        raise ValueError(f"rounding must be 'round' or 'truncate'; got {rounding!r}.")


# ------------------------------------------------------------------------ printing -------
def format_fixed(x: float, decimals: int, rounding: PrintRounding) -> str:
    """Print ``x >= 0`` with ``decimals`` decimals, rounding half up or truncating.

    A relative slack of 1e-11 absorbs floating-point error, so that a value equal to a
    printed boundary up to rounding error counts as that boundary. NaN prints as "NA".
    """
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0; got {decimals!r}.")
    if math.isnan(x):
        return "NA"
    if x < 0:
        raise ValueError(f"format_fixed prints values >= 0; got {x!r}.")
    scaled = x * 10**decimals
    slack = _PRINT_RTOL * max(1.0, scaled)
    if rounding == "round":
        q = math.floor(scaled + 0.5 + slack)
    elif rounding == "truncate":
        q = math.floor(scaled + slack)
    else:
        raise ValueError(f"rounding must be 'round' or 'truncate'; got {rounding!r}.")
    if decimals == 0:
        return str(q)
    whole, frac = divmod(q, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def format_p(p: float, decimals: int, rounding: PrintRounding) -> str:
    """Print a p-value; one that prints as zero becomes a bound, e.g. ``"<0.001"``."""
    s = format_fixed(p, decimals, rounding)
    if s != "NA" and float(s) == 0.0:
        return "<" + format_fixed(10.0**-decimals, decimals, "round")
    return s


# ------------------------------------------------------------------------ lean estimators
def _breakpoint_count(t: float, width: float) -> int:
    if not (width > 0 and math.isfinite(width)):
        raise ValueError(f"width must be a finite number > 0; got {width!r}.")
    r = t / width
    k = round(r)
    if not (t >= 0 and abs(k - r) <= 1e-9 * max(1.0, abs(r))):
        raise ValueError(
            f"t={t!r} is not a life-table breakpoint for width={width!r}: the actuarial "
            f"estimate exists at 0, {width:g}, {2 * width:g}, ... . Pass a multiple of width."
        )
    return int(k)


def actuarial_at(time, event, t: float, width: float = 1.0) -> float:
    """Cutler-Ederer survival at the breakpoint ``t`` (lean :func:`life_table_survival`).

    Only ``t`` and ``width`` are checked (for speed); use :mod:`resurv.frequentist` for
    checked input and the full table.

    When nobody is left at risk in an interval before ``t`` the estimate is carried forward
    from the last interval with patients at risk: a paper reads its landmark figure off the
    last row of its table, :func:`km_at` does the same, and the audit's graph and the exact
    likelihood count such data as printing that value. (The full table of
    :func:`resurv.frequentist.life_table.life_table` leaves those rows undefined, as R's
    ``KMsurv::lifetab`` does.)
    """
    k = _breakpoint_count(t, width)
    if k == 0:
        return 1.0
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    # boundary times (within 1e-9 relative) belong to the interval that starts there
    idx = np.floor(time / width * (1.0 + 1e-9)).astype(np.intp)
    inside = idx < k
    idx, ev = idx[inside], event[inside]
    deaths = np.bincount(idx[ev], minlength=k)
    lost = np.bincount(idx[~ev], minlength=k)
    exits = deaths + lost
    entered = time.size - (np.cumsum(exits) - exits)
    busy = entered > 0
    return float(np.prod(1.0 - deaths[busy] / (entered[busy] - lost[busy] / 2.0)))


def km_at(time, event, t: float) -> float:
    """Kaplan-Meier survival at ``t`` (lean :func:`~resurv.frequentist.km_survival_at`)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    dt = time[event & (time <= t)]
    if dt.size == 0:
        return 1.0
    ud, d = np.unique(dt, return_counts=True)
    n = time.size - np.searchsorted(np.sort(time), ud, side="left")
    return float(np.prod(1.0 - d / n))


def logrank_p(time, event, group) -> float:
    """Log-rank p-value for two or more groups (lean :func:`~resurv.frequentist.logrank_test`).

    Returns 1.0 when there is nothing to compare (no deaths, or deaths expected in one group
    only) and NaN for fewer than two groups.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    _, g = np.unique(np.asarray(group), return_inverse=True)
    k = int(g.max()) + 1 if g.size else 0
    if k < 2:
        return math.nan
    order = np.argsort(time, kind="stable")
    t, e, g = time[order], event[order], g[order]
    new = np.empty(t.size, dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    tid = np.cumsum(new) - 1
    m = int(tid[-1]) + 1
    cell = g * m + tid
    total = np.bincount(cell, minlength=k * m).reshape(k, m)
    deaths = np.bincount(cell[e], minlength=k * m).reshape(k, m)
    at_risk = np.cumsum(total[:, ::-1], axis=1)[:, ::-1]
    d = deaths.sum(axis=0)
    has = d > 0
    if not has.any():
        return 1.0
    at_risk, deaths, d = at_risk[:, has], deaths[:, has], d[has]
    n = at_risk.sum(axis=0)
    frac = at_risk / n
    expected = frac @ d
    oe = deaths.sum(axis=1) - expected
    c = d * (n - d) / np.maximum(n - 1, 1)
    keep = expected > 0
    df = int(keep.sum()) - 1
    if df < 1:
        return 1.0
    if k == 2:
        stat = oe[0] ** 2 / ((frac[0] * frac[1]) @ c)
    else:
        frac_k, oe_k = frac[keep][1:], oe[keep][1:]
        var = np.diag(frac_k @ c) - (frac_k * c) @ frac_k.T
        stat = float(oe_k @ np.linalg.lstsq(var, oe_k, rcond=None)[0])
    return float(special.chdtrc(df, stat))


# ------------------------------------------------------------------------ reduction ------
def _arm_mask(group, arm, cache: dict) -> np.ndarray | None:
    if arm is None:
        return None
    if arm not in cache:
        if group is None:
            raise ValueError(f"a spec names arm {arm!r} but group is None; pass group labels.")
        mask = group == arm
        if not mask.any():
            raise ValueError(
                f"arm {arm!r} has no patients; group labels are {np.unique(group).tolist()!r}."
            )
        cache[arm] = mask
    return cache[arm]


def _reduce_one(spec: Spec, time, event, group, cache) -> ReducedFigure:
    if isinstance(spec, LogrankSpec):
        if group is None:
            raise ValueError(f"spec {spec.id!r}: a log-rank p needs group labels; got None.")
        if spec.arms:
            sel = np.logical_or.reduce([_arm_mask(group, a, cache) for a in spec.arms])
            p = logrank_p(time[sel], event[sel], group[sel])
        else:
            p = logrank_p(time, event, group)
        return ReducedFigure(
            spec.id,
            "logrank_p",
            p,
            format_p(p, spec.decimals, "round"),
            format_p(p, spec.decimals, "truncate"),
        )
    if not isinstance(spec, LandmarkSpec | MedianSpec | ProportionSpec):
        raise TypeError(
            f"specs must be LandmarkSpec, MedianSpec, LogrankSpec or ProportionSpec; got "
            f"{type(spec).__name__}. Convert study figures with specs_from_study."
        )
    mask = _arm_mask(group, spec.arm, cache)
    t, e = (time, event) if mask is None else (time[mask], event[mask])
    if isinstance(spec, LandmarkSpec):
        if spec.estimator == "actuarial":
            value = actuarial_at(t, e, spec.time, spec.width)
        elif spec.estimator == "kaplan-meier":
            value = km_at(t, e, spec.time)
        else:
            raise ValueError(
                f"spec {spec.id!r}: estimator must be 'actuarial' or 'kaplan-meier'; got "
                f"{spec.estimator!r}. For an unknown estimator make one spec of each."
            )
        kind, scale = "survival", 100.0
    elif isinstance(spec, ProportionSpec):
        value, kind, scale = float(e.mean()), "proportion", 100.0
    else:
        value, kind, scale = km_median(t, e), "median", 1.0
        if math.isnan(value):
            return ReducedFigure(spec.id, kind, value, "NR", "NR")
    return ReducedFigure(
        spec.id,
        kind,
        value,
        format_fixed(value * scale, spec.decimals, "round"),
        format_fixed(value * scale, spec.decimals, "truncate"),
    )


def reduce_cohort(time, event, group, specs: Iterable[Spec]) -> dict[str, ReducedFigure]:
    """Turn individual data into the figures a paper would print.

    Parameters
    ----------
    time, event : array_like
        Follow-up times (>= 0) and death indicators (bool or 0/1), one per patient.
    group : array_like or None
        Arm label of each patient (compared with the specs' ``arm``/``arms``); None when
        every spec concerns the whole cohort.
    specs : iterable of LandmarkSpec, MedianSpec, LogrankSpec, ProportionSpec
        The figures to compute, e.g. from :func:`specs_from_study`.

    Returns
    -------
    dict of str to ReducedFigure
        Keyed by spec id, in the order given.

    Examples
    --------
    >>> from resurv.frequentist.reduce import LandmarkSpec, LogrankSpec, reduce_cohort
    >>> out = reduce_cohort(
    ...     [0.5, 2.0, 4.5, 6.0, 1.0, 1.5, 3.0], [0, 1, 0, 0, 1, 1, 1],
    ...     ["a", "a", "a", "a", "b", "b", "b"],
    ...     [LandmarkSpec("s4", time=4, arm="a"), LogrankSpec("p", decimals=3)])
    >>> out["s4"].printed_round, out["s4"].printed_truncate
    ('66.7', '66.6')
    """
    t, e = _as_survival_data(time, event)
    g = None if group is None else np.asarray(group)
    if g is not None and g.shape != t.shape:
        raise ValueError(
            f"group must have one label per patient, shape {t.shape}; got shape {g.shape}."
        )
    cache: dict = {}
    out: dict[str, ReducedFigure] = {}
    for spec in specs:
        if spec.id in out:
            raise ValueError(f"spec ids must be unique; {spec.id!r} appears twice.")
        out[spec.id] = _reduce_one(spec, t, e, g, cache)
    return out


def specs_from_study(study: Study) -> tuple[Spec, ...]:
    """Specs for the survival, median and log-rank figures of ``study``.

    A survival figure whose estimator is "unknown" gives two specs, ``"<id>/actuarial"`` and
    ``"<id>/kaplan-meier"``. Proportion, count, hazard-ratio and follow-up figures concern
    quantities other than (time, event, group) and are left out.
    """
    specs: list[Spec] = []
    for fig in study.figures:
        if isinstance(fig, SurvivalFigure):
            kw = dict(time=fig.time, arm=fig.arm, width=fig.interval_width)
            kw["decimals"] = fig.percent.decimals
            if fig.estimator == "unknown":
                specs.append(LandmarkSpec(f"{fig.id}/actuarial", estimator="actuarial", **kw))
                specs.append(LandmarkSpec(f"{fig.id}/kaplan-meier", estimator="kaplan-meier", **kw))
            else:
                specs.append(LandmarkSpec(fig.id, estimator=fig.estimator, **kw))
        elif isinstance(fig, MedianFigure):
            decimals = fig.value.decimals if fig.value is not None else 1
            specs.append(MedianSpec(fig.id, arm=fig.arm, decimals=decimals))
        elif isinstance(fig, LogrankFigure):
            specs.append(LogrankSpec(fig.id, arms=tuple(fig.arms), decimals=fig.p.decimals))
    return tuple(specs)
