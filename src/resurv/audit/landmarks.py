"""The audit of landmark survival: which interval counts print each arm's survival figures.

:func:`_audit_survival` checks one ``survival`` figure for every candidate arm size under
the printed estimator and the other one; :func:`_joint_landmarks` checks all of an arm's
survival figures together. Both build (or reuse, through a shared cache) the landmark graphs
of :mod:`resurv.audit.landmark_dp`, and search for one configuration when a graph passes its
budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from resurv.audit.landmark_dp import ESTIMATORS, build_landmark_graph
from resurv.audit.landmark_search import find_configuration
from resurv.audit.printing import RULES, rules_for
from resurv.audit.result import AuditRow
from resurv.audit.wording import (
    ESTIMATOR_NAMES,
    _deaths,
    _join,
    _printed_text,
    _rule_note,
    _singular,
    _time_text,
)
from resurv.errors import AuditError
from resurv.study.schema import Study, SurvivalFigure


def _landmark_detail(arm, n, estimator, checkpoints, width, cache, budget) -> dict[str, Any]:
    """Build (or reuse) one graph and summarise it; search when it passes the budget."""
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
            "example": None,
        }
    found = find_configuration(n, checkpoints, estimator=estimator, width=width)
    status = (
        "undecided" if not found.decided else "feasible" if found.configuration else "impossible"
    )
    return detail | {
        "status": status,
        "n_configurations": None,
        "by_rule": {},
        "deaths_range": None,
        "example": found.configuration,
    }


def _audit_survival(f: SurvivalFigure, study: Study, rules, cache, budget) -> AuditRow:
    text = _printed_text(f, study.time_unit)
    try:
        sizes = study.arm(f.arm).n
    except KeyError:
        reason = f"its arm {f.arm!r} is not defined; arms are {[a.id for a in study.arms]}."
        return AuditRow(f.id, "survival", text, "not audited", reason, arm=f.arm, time=f.time)
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
        return AuditRow(f.id, "survival", text, "not audited", f"{exc}.", arm=f.arm, time=f.time)
    words = " ".join(
        _landmark_words(
            f"{f.percent}% at {_time_text(f.time, study.time_unit)} with n = {n}",
            [d for d in details if d["n"] == n],
            f.time,
            study.time_unit,
        )
        for n in sizes
    )
    mine = [d for d in details if d["estimator"] in declared]
    statuses = {d["status"] for d in mine}
    if "feasible" in statuses:
        verdict = "feasible"
    elif statuses == {"impossible"}:
        verdict = "impossible"
    else:
        verdict = "not audited"
        words += " The exact audit passed its budget; raise max_states/max_edges to decide it."
    counted = [d["n_configurations"] for d in mine if d["status"] == "feasible"]
    total = sum(counted) if counted and None not in counted else None
    spans = [d["deaths_range"] for d in mine if d["deaths_range"]]
    span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
    notable = any(d["status"] == "impossible" for d in details)
    return AuditRow(
        f.id, "survival", text, verdict, words, total, span, details, f.arm, f.time, notable
    )


def _landmark_words(head: str, details: Sequence[Mapping], last_time: float, unit: str) -> str:
    """One sentence: which estimators can print the figure(s), with how many deaths."""
    before = f"before {_singular(unit)} {last_time:g}"
    impossible = [ESTIMATOR_NAMES[d["estimator"]] for d in details if d["status"] == "impossible"]
    clauses = []
    for d in details:
        name = ESTIMATOR_NAMES[d["estimator"]]
        if d["status"] == "feasible" and d["n_configurations"] is not None:
            lo, hi = d["deaths_range"]
            deaths = f"exactly {_deaths(lo)}" if lo == hi else f"{lo} to {_deaths(hi)}"
            only = "only " if lo == hi else ""
            note = _rule_note(d["by_rule"], d["n_configurations"])
            count = d["n_configurations"]
            plural = "s" if count != 1 else ""
            counted = f"{count:,} configuration{plural}{note}"
            clauses.append(f"{name} gives it {only}with {deaths} {before} ({counted})")
        elif d["status"] == "feasible":
            example = d["example"]
            total = sum(example[0:-1:2])
            clauses.append(
                f"{name} gives it, e.g. with {_deaths(total)} {before} (too many configurations "
                "to count within the budget)"
            )
        elif d["status"] == "undecided":
            clauses.append(f"{name} could not be decided within the budget")
    if impossible:
        sentence = f"{head} is impossible for {_join(impossible)}"
        return sentence + ("; " + "; ".join(clauses) if clauses else "") + "."
    return f"{head}: " + "; ".join(clauses) + "."


def _joint_landmarks(study: Study, cache, budget):
    """Graphs of each arm's survival figures together, and findings for arms with several."""
    graphs, estimators, findings = {}, {}, []
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
            findings.append(
                f"The survival figures of arm {arm.id!r} were not checked together: they differ "
                f"in interval width ({sorted(widths)}) or share a time."
            )
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
                    findings.append(f"Arm {arm.id!r} ({est}, n = {n}) was not audited: {exc}.")
                    continue
                key = (arm.id, n, est, checkpoints, figs[0].interval_width)
                graphs[(arm.id, n, est)] = cache[key]
        if len(figs) > 1:
            what = _join([f"{f.percent}% at {_time_text(f.time, study.time_unit)}" for f in figs])
            for n in arm.n:
                findings.append(
                    _landmark_words(
                        f"Together, {what} ({arm.id}) with n = {n}",
                        [d for d in details if d["n"] == n],
                        figs[-1].time,
                        study.time_unit,
                    )
                )
    return graphs, estimators, findings
