"""The likelihood terms of a study: one term per printed figure.

:func:`study_terms` gives the terms of the sampled survival model (landmark survival, hazard
ratios, medians) and how each landmark term was chosen (exact or approximate);
:func:`count_terms` the conjugate proportion, count and rate terms, and
:func:`recurrence_followup` the follow-up a recurrence rate is read with.
"""

from __future__ import annotations

from resurv.model.censoring import CensoringModel
from resurv.model.count_terms import CountTerm, ProportionTerm, RateTerm
from resurv.model.families import get_family
from resurv.model.hr_median_terms import HazardRatioTerm, MedianTerm
from resurv.model.landmark_terms import ApproxLandmark
from resurv.model.likelihood import landmark_term
from resurv.model.terms import term_name
from resurv.study.schema import (
    CountFigure,
    FollowupFigure,
    HazardRatioFigure,
    MedianFigure,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

#: why the cure family's landmark terms are approximate
CURE_LANDMARKS = (
    "the cure family (binomials of effective sizes; the exact kernel is written for "
    "S(t) = exp(-lam t^k))"
)


def study_terms(
    study: Study, censoring: CensoringModel, *, family: str | None = None
) -> tuple[list, dict[str, str]]:
    """The survival model's likelihood terms, and how each landmark term was chosen.

    For a family with a cure fraction (``family="cure"``) the landmark terms are the
    approximate ones (:class:`~resurv.model.landmark_terms.ApproxLandmark`, which takes any
    ``S(t)``): the exact kernel is written for ``S(t) = exp(-lam t**k)``.

    Landmark survival, hazard ratios and medians inform ``(lam, k)``. Proportions, counts
    and rates have parameters of their own that no other figure informs: their posteriors
    are conjugate (:func:`count_terms`, drawn exactly by
    :func:`resurv.compare.conjugate_draws`), so they stay out of the sampled model.
    """
    terms, methods = [], {}
    by_arm: dict[str, list[SurvivalFigure]] = {}
    for f in study.figures:
        if isinstance(f, SurvivalFigure):
            by_arm.setdefault(f.arm, []).append(f)
    cure = family is not None and get_family(family).has_cure
    for arm_id, figures in by_arm.items():
        if cure:
            figures = sorted(figures, key=lambda f: f.time)
            terms.append(
                ApproxLandmark(
                    arm_id,
                    [f.time for f in figures],
                    [f.percent for f in figures],
                    study.arm(arm_id).n,
                    censoring,
                )  # fmt: skip
            )
            methods[arm_id] = f"approximate: {CURE_LANDMARKS}"
            continue
        choice = landmark_term(
            study.arm(arm_id), figures, censoring=censoring, rounding=study.rounding
        )
        terms.append(choice.term)
        methods[arm_id] = f"{choice.method}: {choice.reason}"
    for f in study.figures:
        name = term_name(f.id)
        if isinstance(f, HazardRatioFigure):
            terms.append(HazardRatioTerm.from_figure(f, name=name))
        elif isinstance(f, MedianFigure):
            terms.append(
                MedianTerm.from_figure(
                    f,
                    name=name,
                    censoring=censoring,
                    n_candidates=study.arm(f.arm).n,
                    t_max=_followup_max(study, censoring),
                )
            )
    return terms, methods


def count_terms(study: Study, censoring: CensoringModel) -> list:
    """Proportion, count and rate terms (conjugate Beta/Gamma mixtures; see study_terms)."""
    terms = []
    for f in study.figures:
        name = term_name(f.id)
        if isinstance(f, ProportionFigure):
            rounding = f.rounding or study.rounding
            term = ProportionTerm.from_printed(name, f.percent, f.n, rounding, arm=f.arm)
            terms.append(term)
            if "recurrence" in f.id or "recurrence" in (f.name or ""):
                followup = recurrence_followup(study, censoring)
                terms.append(RateTerm(f"{name}_rate", term.counts, followup, arm=f.arm))
        elif isinstance(f, CountFigure):
            terms.append(CountTerm(name, f.events, f.n, arm=f.arm))
    return terms


def _followup_max(study: Study, censoring: CensoringModel) -> float:
    """Longest follow-up: a printed follow-up range if there is one, else the censoring model's."""
    ranges = [f.range[1] for f in study.figures if isinstance(f, FollowupFigure) and f.range]
    return float(max(ranges)) if ranges else float(censoring.max_followup)


def recurrence_followup(study: Study, censoring: CensoringModel) -> float:
    """Mean follow-up per patient for a recurrence rate: the study's, else the censoring model's.

    The default is the mean potential follow-up, ``close - (accrual start + end) / 2``: an
    assumption the report states (deaths and recurrences shorten real follow-up).
    """
    if study.analysis.recurrence_followup is not None:
        return float(study.analysis.recurrence_followup)
    return 0.5 * (censoring.min_followup + censoring.max_followup)
