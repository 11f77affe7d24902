"""Every assumption of a run, stated in plain words for the report."""

from __future__ import annotations

from resurv.model.censoring import CensoringModel
from resurv.model.landmark_terms import APPROXIMATION_COST
from resurv.model.study_terms import recurrence_followup
from resurv.study.schema import (
    ProportionFigure,
    Study,
    SurvivalFigure,
)


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
        figures = [f.id for f in study.figures_of(SurvivalFigure) if f.arm == arm]
        shown = f" ({', '.join(figures)})" if figures else ""
        line = f"Landmark likelihood of arm '{arm}'{shown}: {method}."
        if method.startswith("approximate"):
            line += " " + APPROXIMATION_COST
        out.append(line)
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
