"""The audit of printed figures: a GRIM test for survival papers (DESIGN.md section 3).

For every printed figure the audit asks which integer data could have produced it at its
printed precision, under each rounding convention (:mod:`resurv.audit.printing`), and for
landmark survival under each estimator (:mod:`resurv.audit.landmark_dp`):

- ``percent_of`` ("a/b (x%)"): does ``x`` follow from ``a/b`` by rounding, truncation, both
  or neither? A paper that mixes conventions is named in a study-level finding.
- ``proportion``: which candidate denominators can print the percentage (50.0% rules out 19).
- ``count``: events cannot exceed the candidate denominators.
- ``survival``: which (deaths, withdrawals) sequences per interval print the landmark value,
  for every candidate arm size, under the printed estimator and the other one for
  comparison; arms with several landmarks are also checked jointly.
- ``logrank_p``, ``hazard_ratio``, ``median``, ``followup``: not audited, with the reason.

Totals that do not add up (candidate arm sizes summing past the cohort) are reported, not
fixed. Every print is decided in exact rational arithmetic.

The checks are defined in :mod:`resurv.audit.counts` (percentages and counts) and
:mod:`resurv.audit.landmarks` (landmark survival), their wording in
:mod:`resurv.audit.wording`, and :class:`Audit` and :class:`AuditRow` in
:mod:`resurv.audit.result`; all public names are importable from :mod:`resurv.audit`. This
module runs the checks figure by figure, then words each row and the study-level findings
once, through :mod:`resurv.audit.wording`: the checks compute, they never word.

Examples
--------
>>> from resurv.study import load_study
>>> result = audit(load_study("models/grazi2000.toml"))  # doctest: +SKIP
>>> print(result.to_text())  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from resurv.audit.counts import _audit_count, _audit_percent_of, _audit_proportion
from resurv.audit.landmark_dp import DEFAULT_MAX_EDGES, DEFAULT_MAX_STATES
from resurv.audit.landmarks import _audit_survival, _joint_landmarks
from resurv.audit.printing import check_percent_of, feasible_counts, rules_for
from resurv.audit.result import Audit, AuditRow
from resurv.audit.wording import ESTIMATOR_NAMES as ESTIMATOR_NAMES
from resurv.audit.wording import RULE_NAMES as RULE_NAMES
from resurv.audit.wording import _kind, convention_words, describe, joint_words, total_words
from resurv.errors import AuditError
from resurv.study.schema import (
    CountFigure,
    Figure,
    PercentOfFigure,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

__all__ = [
    "VERDICTS",
    "Audit",
    "AuditRow",
    "audit",
    "audit_figure",
    "check_percent_of",
    "feasible_counts",
]

VERDICTS = ("consistent", "inconsistent", "feasible", "impossible", "not audited")


# -- the audit -------------------------------------------------------------------------------


def audit(
    study: Study, *, max_states: int = DEFAULT_MAX_STATES, max_edges: int = DEFAULT_MAX_EDGES
) -> Audit:
    """Audit every printed figure of ``study``.

    Parameters
    ----------
    study : Study
    max_states, max_edges : int
        Budget of each landmark graph (see :func:`resurv.audit.landmark_dp.build_landmark_graph`).
        A graph that passes it is not counted, but whether the figure prints and its deaths
        range are still decided exactly (:mod:`resurv.audit.landmark_bounds`).

    Returns
    -------
    Audit
    """
    if len(study.endpoints) > 1:
        return _audit_endpoints(study, max_states=max_states, max_edges=max_edges)
    cache: dict = {}
    budget = {"max_states": max_states, "max_edges": max_edges}
    rows = tuple(audit_figure(f, study, _cache=cache, **budget) for f in study.figures)
    graphs, arm_estimators, joint_facts = _joint_landmarks(study, cache, budget)
    joint_findings = [joint_words(fact, study) for fact in joint_facts]
    findings = [f"Arm {r.arm}: {r.words}" for r in rows if r.notable and r.kind == "survival"]
    findings += joint_findings
    findings += [r.words for r in rows if r.notable and r.kind == "proportion"]
    findings += convention_words(_single_convention(rows))
    findings += [r.words for r in rows if r.notable and r.kind not in ("survival", "proportion")]
    findings += _total_findings(study)
    figure_graphs = {
        (f.id, key[1], key[2]): g
        for f in study.figures_of(SurvivalFigure)
        for key, g in cache.items()
        if key[0] == f.arm
        and key[3] == ((f.time, f.percent, rules_for(study.rounding_of(f))),)
        and key[4] == f.interval_width
    }
    return Audit(
        study.id, study.rounding, rows, tuple(findings), graphs, arm_estimators, figure_graphs
    )


def _audit_endpoints(study: Study, **budget) -> Audit:
    """The audit of a study with several endpoints: each endpoint's figures on their own.

    Landmarks of one arm are checked together only within an endpoint (a 3-year disease-free
    and a 5-year overall survival are different curves). Rows keep the file's order; each
    endpoint's findings are prefixed with its name; the totals are stated once. ``graphs``
    and ``arm_estimators`` are those of the first endpoint (``"os"`` when present), which
    is what one set of per-arm graphs can hold; ``figure_graphs`` holds every figure's.
    """
    parts = {e: audit(study.for_endpoint(e), **budget) for e in study.endpoints}
    by_id = {row.figure_id: row for part in parts.values() for row in part.rows}
    totals = _total_findings(study)
    findings = list(totals)
    for e, part in parts.items():
        label = study.endpoint_label(e)
        findings += [f"[{e}: {label}] {f}" for f in part.findings if f not in totals]
    first = parts[study.endpoints[0]]
    figure_graphs = {k: g for part in parts.values() for k, g in part.figure_graphs.items()}
    return Audit(
        study.id,
        study.rounding,
        tuple(by_id[f.id] for f in study.figures),
        tuple(findings),
        first.graphs,
        first.arm_estimators,
        figure_graphs,
    )


def audit_figure(
    figure: Figure,
    study: Study,
    *,
    max_states: int = DEFAULT_MAX_STATES,
    max_edges: int = DEFAULT_MAX_EDGES,
    _cache: dict | None = None,
) -> AuditRow:
    """Audit one printed figure of ``study`` (its arms and rounding convention).

    A figure that cannot be checked (a malformed printed value, a bad denominator) gives a
    ``"not audited"`` row that says why, rather than an exception.
    """
    try:
        row = _audit_one(figure, study, max_states, max_edges, {} if _cache is None else _cache)
    except (AuditError, ValueError) as exc:
        message = f"{exc}".rstrip(".") + "."
        row = AuditRow(
            figure.id, _kind(figure), "", "not audited", "", notable=True, message=message
        )
    return describe(row, figure, study)


def _audit_one(figure, study, max_states, max_edges, cache) -> AuditRow:
    rules = rules_for(study.rounding_of(figure))
    if isinstance(figure, PercentOfFigure):
        return _audit_percent_of(figure, rules)
    if isinstance(figure, ProportionFigure):
        return _audit_proportion(figure, study, rules)
    if isinstance(figure, CountFigure):
        return _audit_count(figure, study)
    if isinstance(figure, SurvivalFigure):
        budget = {"max_states": max_states, "max_edges": max_edges}
        return _audit_survival(figure, study, rules, cache, budget)
    return AuditRow(figure.id, _kind(figure), "", "not audited", "")


# -- study-level findings ----------------------------------------------------------------------


def _single_convention(rows: Sequence[AuditRow]) -> dict[str, list[str]]:
    """The printed ``a/b (x%)`` figures that follow from one rounding rule only, by rule."""
    only: dict[str, list[str]] = {"round": [], "truncate": []}
    for r in rows:
        if r.kind == "percent_of" and r.details:
            d = r.details[0]
            if d["round"] != d["truncate"]:
                only["round" if d["round"] else "truncate"].append(r.printed)
    return only


def _total_findings(study: Study) -> list[str]:
    if study.cohort_n is None or not study.arms:
        return []
    smallest = sum(min(a.n) for a in study.arms)
    largest = sum(max(a.n) for a in study.arms)
    return total_words(study, smallest, largest)
