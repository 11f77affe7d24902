"""The design of a calibration and the figures each replicate prints.

:func:`simulation_design` keeps the figures a replicate reproduces (survival, hazard ratio,
median); :func:`simulate_figures` draws one replicate's parameters, arm sizes and cohort, and
:func:`print_figures` prints the design's figures from the cohort as a paper would, with
:func:`cox_hazard_ratio` for hazard ratios. Importable from :mod:`resurv.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
from scipy import stats

from resurv.errors import StudyError
from resurv.frequentist.kaplan_meier import km_median_ci
from resurv.frequentist.reduce import LandmarkSpec, format_fixed, reduce_cohort
from resurv.model.censoring import CensoringModel
from resurv.model.priors import get_prior_set, sample_prior
from resurv.model.simulate import simulate_cohort
from resurv.study.schema import HazardRatioFigure, MedianFigure, Printed, Study, SurvivalFigure

#: figure kinds a replicate reproduces; the others carry no information on the hazards
SIMULATED_FIGURES = (SurvivalFigure, HazardRatioFigure, MedianFigure)


def simulation_design(study: Study, sizes: str = "uniform") -> Study:
    """The study restricted to what a replicate reproduces: survival, hazard-ratio, median.

    Proportions, counts, percent-of pairs, follow-up and log-rank figures are dropped: they
    carry no likelihood on the hazards (a log-rank p is a predictive check). With
    ``sizes="first"`` every arm keeps its first candidate size only.
    """
    figures = tuple(f for f in study.figures if isinstance(f, SIMULATED_FIGURES))
    if not figures:
        raise StudyError(
            "figure",
            f"study {study.id!r} prints no survival, hazard_ratio or median figure; "
            "simulation-based calibration checks the likelihood of those figures. Add the "
            "landmark survival or median the paper prints.",
        )
    arms = study.arms if sizes == "uniform" else tuple(replace(a, n=a.n[:1]) for a in study.arms)
    return replace(study, figures=figures, arms=arms)


def _printed(value: float, decimals: int, rule: str) -> Printed:
    return Printed(float(format_fixed(value, decimals, rule)), decimals)


def cox_hazard_ratio(time, event, x, *, level: float = 0.95, tol: float = 1e-12):
    """Cox proportional-hazards hazard ratio of ``x = 1`` vs ``x = 0`` with its Wald interval.

    Returns ``(hr, lower, upper)``. Ties are handled as Breslow does (the same as Efron and
    the exact partial likelihood for distinct death times, as in simulated cohorts). Raises
    ValueError without deaths or without a finite maximum (all deaths in one group).

    Notes
    -----
    At each distinct death time ``t_j`` with ``d_j`` deaths, ``d1_j`` of them in group 1, and
    ``n0_j``, ``n1_j`` at risk, ``p_j(b) = n1_j e^b / (n0_j + n1_j e^b)``; Newton's method
    solves ``U(b) = sum_j d1_j - d_j p_j = 0`` with information ``I(b) = sum_j d_j p_j (1 - p_j)``
    and ``SE = I(b)^{-1/2}``.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    x = np.asarray(x, dtype=bool)
    death_times = np.unique(time[event])
    if death_times.size == 0:
        raise ValueError("no deaths: the hazard ratio is not estimable")
    at_risk = time[None, :] >= death_times[:, None]  # (death times, patients)
    dies = event[None, :] & (time[None, :] == death_times[:, None])
    n1, n0, d, d1 = (m.sum(axis=1) for m in (at_risk & x, at_risk & ~x, dies, dies & x))

    def score_info(b: float) -> tuple[float, float]:
        p = n1 * math.exp(b) / (n0 + n1 * math.exp(b))
        return float(np.sum(d1 - d * p)), float(np.sum(d * p * (1 - p)))

    b = 0.0
    for _ in range(100):
        u, info = score_info(b)
        if info <= 0 or abs(b) > 30:
            break
        b += float(np.clip(u / info, -2.0, 2.0))
        if abs(u / info) < tol:
            half = stats.norm.ppf(0.5 + level / 2) / math.sqrt(score_info(b)[1])
            return math.exp(b), math.exp(b - half), math.exp(b + half)
    raise ValueError(
        "the Cox partial likelihood has no finite maximum (all deaths in one group); "
        "no hazard ratio is printed"
    )


class _Unprintable(Exception):
    """A simulated cohort whose figure no paper could print (the message says why)."""


def _ci(limits, template, rule: str, fig_id: str) -> tuple[Printed, Printed]:
    ci = tuple(_printed(v, c.decimals, rule) for v, c in zip(limits, template, strict=True))
    if not 0 < ci[0].value < ci[1].value:
        raise _Unprintable(f"{fig_id}: the confidence interval prints as {ci[0]}-{ci[1]}")
    return ci


def _print_one(fig, rule: str, time, event, group):
    if isinstance(fig, HazardRatioFigure):
        sel = np.isin(group, fig.arms)
        try:
            hr, lo, hi = cox_hazard_ratio(
                time[sel], event[sel], group[sel] == fig.arms[0], level=fig.ci_level
            )
        except ValueError as exc:
            raise _Unprintable(f"{fig.id}: {exc}") from None
        printed = _printed(hr, fig.hr.decimals, rule)
        if printed.value <= 0:
            raise _Unprintable(f"{fig.id}: the hazard ratio prints as {printed}")
        ci = None if fig.ci is None else _ci((lo, hi), fig.ci, rule, fig.id)
        return replace(fig, hr=printed, ci=ci)
    t, e = time[group == fig.arm], event[group == fig.arm]
    if isinstance(fig, SurvivalFigure):
        estimator = "actuarial" if fig.estimator == "unknown" else fig.estimator
        spec = LandmarkSpec(fig.id, fig.time, None, estimator, fig.interval_width)
        value = reduce_cohort(t, e, None, [spec])[fig.id].value
        return replace(fig, percent=_printed(100 * value, fig.percent.decimals, rule))
    m = km_median_ci(t, e, level=fig.ci_level)
    if math.isnan(m.median):
        return replace(fig, value=None, ci=None)
    value = _printed(m.median, fig.value.decimals if fig.value is not None else 1, rule)
    if fig.ci is None:
        return replace(fig, value=value)
    if math.isnan(m.lower) or math.isnan(m.upper):
        raise _Unprintable(f"{fig.id}: a limit of the median's confidence interval is not reached")
    return replace(fig, value=value, ci=_ci((m.lower, m.upper), fig.ci, rule, fig.id))


def print_figures(design: Study, cohort: dict) -> tuple[tuple, str]:
    """The design's figures as a paper would print them from ``cohort``, or ``((), reason)``.

    Survival: the figure's estimator (actuarial when "unknown") at its time and precision.
    Hazard ratio: Cox (:func:`cox_hazard_ratio`) with its Wald interval. Median: Kaplan-Meier
    with the Brookmeyer-Crowley interval (log transformation), "not reached" when the curve
    stays above one half. Numbers are truncated when the figure's rounding is "truncate",
    else rounded half up. Under "either" (round or truncate) the likelihood, as in a real
    run, also counts the data that print the value by truncation: SBC checks that reading.
    """
    group = np.asarray(cohort["arms"])[cohort["arm"]]
    time, event = np.asarray(cohort["time"]), np.asarray(cohort["event"], dtype=bool)
    try:
        rules = ["truncate" if design.rounding_of(f) == "truncate" else "round"
                 for f in design.figures]  # fmt: skip
        printed = [_print_one(f, r, time, event, group)
                   for f, r in zip(design.figures, rules, strict=True)]  # fmt: skip
    except _Unprintable as exc:
        return (), str(exc)
    return tuple(printed), ""


def _prior_kwargs(study: Study) -> dict[str, Any]:
    a, unit = study.analysis, study.time_unit
    return {"hr_important": a.hr_important, "literature": a.literature, "time_unit": unit}


def simulate_figures(design: Study, family: str, prior: str, seed: int) -> dict[str, Any]:
    """Draw one replicate's parameters, arm sizes and cohort, and print its figures.

    Returns a dict: ``hazard`` and ``n`` per arm, ``shape``, ``cohort`` (as
    :func:`resurv.model.simulate.simulate_cohort` gives it), ``study`` (the design with the printed
    figures, or None) and ``reason`` (why they cannot be printed, or "").
    """
    prior_seed, sim_seed = np.random.SeedSequence(seed).spawn(2)
    arms = tuple(a.id for a in design.arms)
    prior_set = get_prior_set(prior, **_prior_kwargs(design))
    hazard, shape = sample_prior(prior_set, family, arms, design.reference_arm, draws=1,
                                 seed=prior_seed)  # fmt: skip
    hazard = dict(zip(arms, hazard[0].tolist(), strict=True))
    rng = np.random.default_rng(sim_seed)
    n = {a.id: int(a.n[rng.integers(len(a.n))]) for a in design.arms}
    k = float(shape[0]) if family == "weibull" else None
    cohort = simulate_cohort(rng, family, hazard, k, n, CensoringModel.from_study(design))
    figures, reason = print_figures(design, cohort)
    study = replace(design, figures=figures) if figures else None
    return {"hazard": hazard, "shape": float(shape[0]), "n": n, "study": study,
            "reason": reason, "cohort": cohort}  # fmt: skip
