"""The audit of landmark survival: which interval counts print each arm's survival figures.

:func:`_audit_survival` checks one ``survival`` figure for every candidate arm size under
the printed estimator and the other one; :func:`_joint_landmarks` checks all of an arm's
survival figures together. Both build (or reuse, through a shared cache) the landmark graphs
of :mod:`resurv.audit.landmark_dp`; when a graph passes its budget,
:mod:`resurv.audit.landmark_bounds` still decides feasibility and the deaths range exactly
(the number of configurations is then not known).

Both return data only: the status, counts and death ranges of every graph checked (and a
``reason`` code or ``message`` when a figure cannot be checked); :mod:`resurv.audit.wording`
turns them into sentences.
"""

from __future__ import annotations

from typing import Any

from resurv.audit.landmark_bounds import deaths_bounds
from resurv.audit.landmark_dp import ESTIMATORS, build_landmark_graph
from resurv.audit.printing import RULES, rules_for
from resurv.audit.result import AuditRow
from resurv.errors import AuditError
from resurv.study.schema import Study, SurvivalFigure


def _landmark_detail(arm, n, estimator, checkpoints, width, cache, budget) -> dict[str, Any]:
    """Build (or reuse) one graph and summarise it; past its budget, decide without it.

    A graph past the budget is not counted; :func:`~resurv.audit.landmark_bounds.deaths_bounds`
    then decides exactly whether the figure prints and, usually, its deaths range
    (``deaths_exact``); when it cannot, ``deaths_range`` holds proven bounds.
    """
    key = (arm, n, estimator, tuple(checkpoints), width)
    if key not in cache:
        cache[key] = build_landmark_graph(
            n, checkpoints, estimator=estimator, width=width, **budget
        )
    g = cache[key]
    detail: dict[str, Any] = {"n": n, "estimator": estimator, "summary": str(g.summary)}
    if not g.truncated:
        count = g.n_configurations()
        rules = [r for r in RULES if any(r in c[2] for c in checkpoints)]
        by_rule = {r: g.n_configurations(r) for r in rules} if count else {}
        return detail | {
            "status": "feasible" if count else "impossible",
            "n_configurations": count,
            "by_rule": by_rule,
            "deaths_range": g.deaths_range(),
            "deaths_exact": True,
            "example": None,
        }
    found = deaths_bounds(n, checkpoints, estimator=estimator, width=width)
    status = {True: "feasible", False: "impossible", None: "undecided"}[found.feasible]
    example = found.examples[min(found.examples)] if found.examples else None
    return detail | {
        "status": status,
        "n_configurations": None,
        "by_rule": {},
        "deaths_range": found.deaths_range,
        "deaths_exact": found.exact,
        "example": example,
    }


def _audit_survival(f: SurvivalFigure, study: Study, rules, cache, budget) -> AuditRow:
    try:
        sizes = study.arm(f.arm).n
    except KeyError:
        return AuditRow(
            f.id, "survival", "", "not audited", "", arm=f.arm, time=f.time, reason="missing_arm"
        )
    declared = ESTIMATORS if f.estimator == "unknown" else (f.estimator,)
    order = declared + tuple(e for e in ESTIMATORS if e not in declared)
    checkpoints = ((f.time, f.percent, tuple(rules)),)
    try:
        details = tuple(
            _landmark_detail(f.arm, n, est, checkpoints, f.interval_width, cache, budget)
            for n in sizes
            for est in order
        )
    except AuditError as exc:
        return AuditRow(
            f.id, "survival", "", "not audited", "", arm=f.arm, time=f.time, message=f"{exc}."
        )
    mine = [d for d in details if d["estimator"] in declared]
    statuses = {d["status"] for d in mine}
    reason = ""
    if "feasible" in statuses:
        verdict = "feasible"
    elif statuses == {"impossible"}:
        verdict = "impossible"
    else:
        verdict, reason = "not audited", "budget"
    counted = [d["n_configurations"] for d in mine if d["status"] == "feasible"]
    total = sum(counted) if counted and None not in counted else None
    spans = [d["deaths_range"] for d in mine if d["deaths_range"]]
    exact = all(d["deaths_exact"] for d in mine if d["status"] == "feasible")
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans and exact else None
    notable = any(d["status"] == "impossible" for d in details)
    return AuditRow(
        f.id, "survival", "", verdict, "", total, span, details, f.arm, f.time, notable, reason
    )


def _joint_landmarks(study: Study, cache, budget):
    """Graphs of each arm's survival figures together, and facts for the study's findings.

    Returns ``(graphs, estimators, facts)``: each fact is a mapping whose ``"what"`` is
    ``"not_together"`` (the arm's figures differ in interval width or share a time),
    ``"not_audited"`` (a graph could not be built: ``message``) or ``"together"`` (an arm
    with several landmarks: its ``figures``, ``n`` and the ``details`` of each estimator).
    """
    graphs, estimators, facts = {}, {}, []
    for arm in study.arms:
        figs = sorted(
            (f for f in study.figures_of(SurvivalFigure) if f.arm == arm.id), key=lambda f: f.time
        )
        if not figs:
            continue
        declared = {f.estimator for f in figs}
        estimators[arm.id] = declared.pop() if len(declared) == 1 else "mixed"
        widths = {f.interval_width for f in figs}
        if len(widths) > 1 or len({f.time for f in figs}) < len(figs):
            facts.append({"what": "not_together", "arm": arm.id, "widths": sorted(widths)})
            continue
        checkpoints = tuple((f.time, f.percent, rules_for(study.rounding_of(f))) for f in figs)
        details = []
        for n in arm.n:
            for est in ESTIMATORS:
                try:
                    details.append(
                        _landmark_detail(
                            arm.id, n, est, checkpoints, figs[0].interval_width, cache, budget
                        )
                    )
                except AuditError as exc:
                    facts.append(
                        {"what": "not_audited", "arm": arm.id, "estimator": est, "n": n,
                         "message": f"{exc}"}
                    )  # fmt: skip
                    continue
                key = (arm.id, n, est, checkpoints, figs[0].interval_width)
                graphs[(arm.id, n, est)] = cache[key]
        if len(figs) > 1:
            for n in arm.n:
                facts.append(
                    {"what": "together", "arm": arm.id, "figures": tuple(figs), "n": n,
                     "details": [d for d in details if d["n"] == n]}
                )  # fmt: skip
    return graphs, estimators, facts
