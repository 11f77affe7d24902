"""The likelihood terms a run builds from a study's figures, and the assumptions it states.

:func:`study_terms` gives the terms of the sampled survival model (landmark survival, hazard
ratios, medians), :func:`count_terms` the conjugate proportion, count and rate terms, and
:func:`recurrence_followup` the follow-up a recurrence rate is read with;
:func:`assumptions` states every assumption of a run in plain words. All are importable
from :mod:`resurv.run`.
"""

from __future__ import annotations

from resurv.censoring import CensoringModel
from resurv.compare import term_name
from resurv.likelihood import (
    CountTerm,
    HazardRatioTerm,
    MedianTerm,
    ProportionTerm,
    RateTerm,
    landmark_term,
)
from resurv.study import (
    CountFigure,
    FollowupFigure,
    HazardRatioFigure,
    MedianFigure,
    ProportionFigure,
    Study,
    SurvivalFigure,
)


def study_terms(study: Study, censoring: CensoringModel) -> tuple[list, dict[str, str]]:
    """The survival model's likelihood terms, and how each landmark term was chosen.

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
    for arm_id, figures in by_arm.items():
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


def assumptions(study: Study, methods: dict[str, str], *, sensitivity: bool = True) -> list[str]:
    """Every assumption of the run, in plain words."""
    c = study.censoring
    out = []
    for arm in study.arms:
        if len(arm.n) > 1:
            out.append(
                f"Arm '{arm.id}' size is not printed: candidates {list(arm.n)}, weighed equally a "
                f"priori and by the likelihood of the printed figures. {arm.note}".strip()
            )
    out.append(
        f"Censoring: entry uniform over {c.accrual_start:g}-{c.accrual_end:g}, administrative "
        f"close at {c.close:g}, loss to follow-up hazard {c.loss_rate:g} "
        f"per {study.time_unit[:-1]}. " + (c.note or "")
    )
    if c.close_candidates and sensitivity:
        out.append(
            f"Sensitivity: study close varied over {list(c.close_candidates)} (primary family "
            "and prior set)."
        )
    out.append(
        f"Printed percentages read under {study.rounding!r} rounding "
        "(round half up and/or truncation), per figure unless the figure says otherwise."
    )
    for arm, method in methods.items():
        out.append(f"Landmark likelihood of arm '{arm}': {method}.")
    for f in study.figures:
        if isinstance(f, SurvivalFigure):
            out.append(
                f"{f.id}: {f.estimator} estimator with {f.interval_width:g}-{study.time_unit[:-1]} "
                "intervals (censored patients count as half at risk)."
                if f.estimator == "actuarial"
                else f"{f.id}: {f.estimator} estimator."
            )
        if isinstance(f, ProportionFigure) and "recurrence" in f.id:
            fu = recurrence_followup(study, CensoringModel.from_study(study))
            src = (
                "given in the study file"
                if study.analysis.recurrence_followup
                else ("assumed: the mean potential follow-up of the censoring model")
            )
            out.append(
                f"Recurrence rate per patient-{study.time_unit[:-1]}: mean follow-up "
                f"{fu:.2f} {study.time_unit} per patient ({src})."
            )
    out.append(
        "The printed log-rank p-value is not a likelihood term; it is checked by posterior "
        "prediction (replicate studies)."
    )
    out.append(
        f"Hazard ratios are relative to '{study.reference_arm}'; the clinically important HR "
        f"is {study.analysis.hr_important:g} (sceptical and enthusiastic priors)."
    )
    if study.analysis.literature is not None:
        lit = study.analysis.literature
        out.append(
            f"Literature prior: S({lit.time:g}) of '{lit.arm}' in [{lit.lower:g}, {lit.upper:g}] "
            f"with probability {lit.mass:g} ({lit.source})."
        )
    return out
