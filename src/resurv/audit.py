"""The audit of printed figures: a GRIM test for survival papers (DESIGN.md section 3).

For every printed figure the audit asks which integer data could have produced it at its
printed precision, under each rounding convention (:mod:`resurv._printing`), and for
landmark survival under each estimator (:mod:`resurv._landmark_dp`):

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

Examples
--------
>>> from resurv.study import load_study
>>> result = audit(load_study("models/grazi2000.toml"))  # doctest: +SKIP
>>> print(result.to_text())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurv._landmark_dp import (
    DEFAULT_MAX_EDGES,
    DEFAULT_MAX_STATES,
    ESTIMATORS,
    LandmarkGraph,
    build_landmark_graph,
    find_configuration,
)
from resurv._printing import (
    RULES,
    check_percent_of,
    feasible_counts,
    format_percent,
    printed_percent,
    rules_for,
)
from resurv.errors import AuditError, OutputError
from resurv.study import (
    FIGURE_KINDS,
    CountFigure,
    Figure,
    FollowupFigure,
    HazardRatioFigure,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    Printed,
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
ESTIMATOR_NAMES = {"actuarial": "the actuarial table", "kaplan-meier": "Kaplan-Meier"}
RULE_NAMES = {"round": "rounding", "truncate": "truncation"}
NOT_AUDITED = {
    LogrankFigure: "a p-value is checked by posterior prediction (the share of replicated "
    "studies that print as extreme a value), not by enumeration",
    HazardRatioFigure: "a hazard ratio enters as a likelihood term (normal on log HR, SE from "
    "its confidence interval); no counts can be enumerated from it",
    MedianFigure: "a median enters as a likelihood term (a landmark at S = 0.5, or normal on "
    "the log median with SE from its confidence interval)",
    FollowupFigure: "follow-up informs the censoring model; it is not a count to audit",
}
_KIND_OF = {cls: kind for kind, cls in FIGURE_KINDS.items()}


# -- rows and the audit ----------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    """The audit of one printed figure.

    ``verdict`` is one of :data:`VERDICTS`; ``words`` states the finding in a sentence;
    ``n_configurations`` and ``deaths_range`` summarise the feasible integer data (None when
    they do not apply or could not be counted); ``details`` holds one mapping per rule,
    candidate or (candidate, estimator) checked.
    """

    figure_id: str
    kind: str
    printed: str
    verdict: str
    words: str
    n_configurations: int | None = None
    deaths_range: tuple[int, int] | None = None
    details: tuple[Mapping[str, Any], ...] = ()
    arm: str | None = None
    time: float | None = None
    notable: bool = field(default=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping (Fractions and big integers as strings)."""
        lo, hi = self.deaths_range or (None, None)
        return _json_safe(
            {
                "figure_id": self.figure_id,
                "kind": self.kind,
                "printed": self.printed,
                "verdict": self.verdict,
                "words": self.words,
                "n_configurations": self.n_configurations,
                "deaths_min": lo,
                "deaths_max": hi,
                "arm": self.arm,
                "time": self.time,
                "details": list(self.details),
            }
        )


@dataclass(frozen=True, eq=False)
class Audit:
    """The audit of a study: one row per figure, study-level findings, and the graphs.

    ``graphs`` maps ``(arm, n, estimator)`` to the landmark graph of all the arm's survival
    figures together; :attr:`landmark_graphs` picks those of the printed estimator.
    """

    study_id: str
    rounding: str
    rows: tuple[AuditRow, ...]
    findings: tuple[str, ...]
    graphs: Mapping[tuple[str, int, str], LandmarkGraph] = field(default_factory=dict)
    arm_estimators: Mapping[str, str] = field(default_factory=dict)
    figure_graphs: Mapping[tuple[str, int, str], LandmarkGraph] = field(default_factory=dict)

    @property
    def landmark_graphs(self) -> dict[tuple[str, int], LandmarkGraph]:
        """``(arm, n) -> LandmarkGraph`` of the printed estimator, for the exact likelihood.

        Arms whose estimator is unknown (or differs between their figures) are left out:
        find both estimators' graphs in :attr:`graphs`.
        """
        return {
            (arm, n): g
            for (arm, n, est), g in self.graphs.items()
            if self.arm_estimators.get(arm) == est
        }

    def graph_of(self, figure_id: str, n: int, estimator: str | None = None) -> LandmarkGraph:
        """Return the graph of one survival figure alone, for arm size ``n``.

        ``estimator`` defaults to the one the figure prints (the actuarial table when unknown).
        """
        if estimator is None:
            estimator = next(
                (d["estimator"] for d in self.row(figure_id).details if "estimator" in d), None
            )
        try:
            return self.figure_graphs[(figure_id, n, estimator)]
        except KeyError:
            have = sorted(k for k in self.figure_graphs if k[0] == figure_id)
            raise KeyError(
                f"no graph for figure {figure_id!r}, n = {n}, {estimator}; there are {have}"
            ) from None

    def row(self, figure_id: str) -> AuditRow:
        """Return the row of one figure."""
        for r in self.rows:
            if r.figure_id == figure_id:
                return r
        raise KeyError(f"no figure {figure_id!r}; figures are {[r.figure_id for r in self.rows]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per figure: id, kind, printed text, verdict, words, counts, deaths range."""
        columns = ["figure_id", "kind", "printed", "verdict", "words", "n_configurations"]
        records = [
            {c: getattr(r, c) for c in columns}
            | {
                "deaths_min": r.deaths_range[0] if r.deaths_range else None,
                "deaths_max": r.deaths_range[1] if r.deaths_range else None,
            }
            for r in self.rows
        ]
        frame = pd.DataFrame(records, columns=[*columns, "deaths_min", "deaths_max"])
        # exact counts (possibly beyond int64) stay Python ints; missing ones stay None
        frame["n_configurations"] = pd.Series(
            [r.n_configurations for r in self.rows], index=frame.index, dtype=object
        )
        return frame.astype({"deaths_min": "Int64", "deaths_max": "Int64"})

    def deaths_frame(self) -> pd.DataFrame:
        """Feasible configurations by total deaths: ``arm, n, estimator, deaths, n_configurations``.

        Unprintable or uncounted (arm, n, estimator) combinations have no rows.
        """
        rows = [
            (arm, n, est, deaths, count)
            for (arm, n, est), g in self.graphs.items()
            if not g.truncated
            for deaths, count in g.deaths_distribution().items()
        ]
        return pd.DataFrame(rows, columns=["arm", "n", "estimator", "deaths", "n_configurations"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe mapping: study, rounding, figures, findings, deaths, graphs."""
        graphs = [
            {
                "arm": arm,
                "n": n,
                "estimator": est,
                "complete": not g.truncated,
                "summary": str(g.summary),
                "n_configurations": None if g.truncated else g.n_configurations(),
            }
            for (arm, n, est), g in self.graphs.items()
        ]
        return _json_safe(
            {
                "study": self.study_id,
                "rounding": self.rounding,
                "figures": [r.to_dict() for r in self.rows],
                "findings": list(self.findings),
                "deaths": self.deaths_frame().to_dict("records"),
                "landmark_graphs": graphs,
            }
        )

    def to_json(self, path: str | PathLike[str]) -> Path:
        """Write :meth:`to_dict` as JSON to ``path``; return the path."""
        path = Path(path)
        try:
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"cannot write the audit to {path}: {exc.strerror}; choose a writable path"
            ) from None
        return path

    def to_text(self, width: int = 100) -> str:
        """Return a fixed-width table of the rows followed by the findings in words."""
        head = ("figure", "kind", "printed", "verdict", "configurations", "deaths")
        cells = [
            (
                r.figure_id,
                r.kind,
                r.printed,
                r.verdict,
                "" if r.n_configurations is None else f"{r.n_configurations:,}",
                _span(r.deaths_range),
            )
            for r in self.rows
        ]
        sizes = [max(len(str(x)) for x in col) for col in zip(head, *cells, strict=True)]
        sizes[2] = min(sizes[2], 40)

        def line(values):
            return "  ".join(_clip(str(v), s).ljust(s) for v, s in zip(values, sizes, strict=True))

        out = [f"Audit of {self.study_id} (rounding: {self.rounding})", ""]
        out += [line(head).rstrip(), "  ".join("-" * s for s in sizes)]
        out += [line(c).rstrip() for c in cells]
        out += ["", "Figures"]
        for r in self.rows:
            out += textwrap.wrap(
                f"{r.figure_id} [{r.verdict}]: {r.words}",
                width,
                initial_indent="  ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )
        if self.findings:
            out += ["", "Findings"]
            for i, text in enumerate(self.findings, 1):
                out += textwrap.wrap(
                    text,
                    width,
                    initial_indent=f"  {i}. ",
                    subsequent_indent="     ",
                    break_on_hyphens=False,
                )
        return "\n".join(out) + "\n"


def audit(
    study: Study, *, max_states: int = DEFAULT_MAX_STATES, max_edges: int = DEFAULT_MAX_EDGES
) -> Audit:
    """Audit every printed figure of ``study``.

    Parameters
    ----------
    study : Study
    max_states, max_edges : int
        Budget of each landmark graph (see :func:`resurv._landmark_dp.build_landmark_graph`).
        A graph that passes it is summarised, and a depth-first search still looks for one
        configuration that prints the figure.

    Returns
    -------
    Audit
    """
    cache: dict = {}
    budget = {"max_states": max_states, "max_edges": max_edges}
    rows = tuple(audit_figure(f, study, _cache=cache, **budget) for f in study.figures)
    graphs, arm_estimators, joint_findings = _joint_landmarks(study, cache, budget)
    findings = [f"Arm {r.arm}: {r.words}" for r in rows if r.notable and r.kind == "survival"]
    findings += joint_findings
    findings += [r.words for r in rows if r.notable and r.kind == "proportion"]
    findings += _convention_findings(rows)
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
        return _audit_one(figure, study, max_states, max_edges, {} if _cache is None else _cache)
    except (AuditError, ValueError) as exc:
        text = f"{exc}".rstrip(".") + "."
        printed = _printed_text(figure, study.time_unit)
        return AuditRow(figure.id, _kind(figure), printed, "not audited", text, notable=True)


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
    reason = NOT_AUDITED.get(type(figure), f"no audit exists for {type(figure).__name__}")
    return AuditRow(figure.id, _kind(figure), _printed_text(figure), "not audited", reason + ".")


# -- percent_of, proportion, count -----------------------------------------------------------


def _audit_percent_of(f: PercentOfFigure, rules: Sequence[str]) -> AuditRow:
    text = _printed_text(f)
    if f.b < 1 or f.a < 0 or f.a > f.b:
        words = f"{f.a}/{f.b} is not a part of a whole (need 0 <= a <= b, b >= 1)."
        return AuditRow(f.id, "percent_of", text, "inconsistent", words, notable=True)
    exact = _exact_percent(Fraction(f.a, f.b), (f.percent.decimals if f.percent else 1) + 2)
    if f.percent is None:
        words = f"{f.a}/{f.b} = {exact}%; no percentage is printed to check."
        return AuditRow(f.id, "percent_of", text, "consistent", words)
    holds = check_percent_of(f.a, f.b, f.percent)
    shown = {r: f"{format_percent(Fraction(f.a, f.b), f.percent.decimals, r)}%" for r in RULES}
    good = [r for r in RULES if holds[r]]
    head = f"{f.a}/{f.b} = {exact}%, printed {f.percent}%: "
    if len(good) == 2:
        words = head + "rounding and truncation both give it."
    elif good:
        other = "truncate" if good[0] == "round" else "round"
        words = (
            head
            + f"{RULE_NAMES[good[0]]} gives it; {RULE_NAMES[other]} would print {shown[other]}."
        )
    else:
        words = (
            head
            + f"neither rounding ({shown['round']}) nor truncation ({shown['truncate']}) gives it."
        )
    ok = any(holds[r] for r in rules)
    if good and not ok:
        words += f" The convention declared for it is {' or '.join(RULE_NAMES[r] for r in rules)}."
    details = ({"a": f.a, "b": f.b, "exact": Fraction(f.a, f.b), **holds},)
    verdict = "consistent" if ok else "inconsistent"
    return AuditRow(f.id, "percent_of", text, verdict, words, details=details, notable=not ok)


def _candidates(f, study: Study) -> tuple[int, ...]:
    if f.n:
        return tuple(f.n)
    if f.arm:
        try:
            return tuple(study.arm(f.arm).n)
        except KeyError:
            return ()
    return ()


def _audit_proportion(f: ProportionFigure, study: Study, rules: Sequence[str]) -> AuditRow:
    text = _printed_text(f)
    ns = _candidates(f, study)
    if not ns:
        reason = "no candidate denominator is given (set n, or tie the figure to an arm)."
        return AuditRow(f.id, "proportion", text, "not audited", reason)
    fits = feasible_counts(f.percent, ns, "either" if len(rules) == 2 else rules[0])
    by_rule = {r: feasible_counts(f.percent, ns, r) for r in rules}
    details = tuple(
        {"n": n, "counts": fits[n], **{f"by_{r}": by_rule[r][n] for r in rules}} for n in ns
    )
    out = [n for n in ns if not fits[n]]
    fit_text = _join([_counts_text(fits[n], n) for n in ns if fits[n]])
    why = "; ".join(_neighbours(f.percent, n, rules[0]) for n in out)
    if not out:
        words = f"{f.percent}% fits {fit_text}."
    elif len(out) < len(ns):
        words = f"{f.percent}% rules out n = {_join(map(str, out))} ({why}); it fits {fit_text}."
    else:
        words = f"{f.percent}% fits none of the candidate denominators ({why})."
    verdict = "feasible" if len(out) < len(ns) else "impossible"
    n_fit = sum(len(v) for v in fits.values())
    return AuditRow(
        f.id, "proportion", text, verdict, words, n_fit, None, details, notable=bool(out)
    )


def _audit_count(f: CountFigure, study: Study) -> AuditRow:
    text = _printed_text(f)
    ns = _candidates(f, study)
    if not ns:
        reason = "no denominator is given (set n, or tie the figure to an arm)."
        return AuditRow(f.id, "count", text, "not audited", reason)
    out = [n for n in ns if f.events > n or f.events < 0]
    details = tuple({"n": n, "possible": n not in out} for n in ns)
    if not out:
        words = f"A count of {f.events} among n = {_join(map(str, ns), 'or')} is possible."
    elif len(out) < len(ns):
        words = f"{f.events} events rule out n = {_join(map(str, out))}."
    else:
        words = f"{f.events} events cannot come from n = {_join(map(str, ns), 'or')}."
    verdict = "inconsistent" if len(out) == len(ns) else "consistent"
    return AuditRow(f.id, "count", text, verdict, words, details=details, notable=bool(out))


# -- landmark survival -------------------------------------------------------------------------


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


# -- study-level findings ----------------------------------------------------------------------


def _convention_findings(rows: Sequence[AuditRow]) -> list[str]:
    only = {"round": [], "truncate": []}
    for r in rows:
        if r.kind == "percent_of" and r.details:
            d = r.details[0]
            if d["round"] != d["truncate"]:
                only["round" if d["round"] else "truncate"].append(r.printed)
    if only["round"] and only["truncate"]:
        return [
            f"The paper mixes conventions: {_join(only['truncate'])} "
            f"{'is' if len(only['truncate']) == 1 else 'are'} truncation only, while "
            f"{_join(only['round'])} {'is' if len(only['round']) == 1 else 'are'} rounding only."
        ]
    return []


def _total_findings(study: Study) -> list[str]:
    if study.cohort_n is None or not study.arms:
        return []
    smallest = sum(min(a.n) for a in study.arms)
    largest = sum(max(a.n) for a in study.arms)
    sizes = " + ".join(f"{a.id} {a.n[0] if len(a.n) == 1 else list(a.n)}" for a in study.arms)
    if smallest > study.cohort_n:
        return [
            f"The arms do not add up: {sizes} is at least {smallest}, more than the cohort of "
            f"{study.cohort_n}; the audit reports it and changes nothing."
        ]
    if largest > study.cohort_n:
        return [
            f"Some candidate arm sizes do not add up: {sizes} reaches {largest}, more than the "
            f"cohort of {study.cohort_n}; combinations above {study.cohort_n} cannot all be right."
        ]
    return []


# -- wording ---------------------------------------------------------------------------------


def _kind(figure: Figure) -> str:
    return _KIND_OF.get(type(figure), type(figure).__name__)


def _printed_text(f: Figure, time_unit: str = "") -> str:
    if isinstance(f, SurvivalFigure):
        return f"{f.percent}% at {_time_text(f.time, time_unit)}".strip()
    if isinstance(f, PercentOfFigure):
        return f"{f.a}/{f.b}" + (f" ({f.percent}%)" if f.percent is not None else "")
    if isinstance(f, ProportionFigure):
        return f"{f.percent}%"
    if isinstance(f, CountFigure):
        return f"{f.events} of n = {_join(map(str, f.n), 'or') if f.n else f.arm or '?'}"
    if isinstance(f, LogrankFigure):
        return f"P {f.relation} {f.p}"
    if isinstance(f, HazardRatioFigure):
        ci = f" ({f.ci[0]}-{f.ci[1]})" if f.ci else ""
        return f"HR {f.hr}{ci}"
    if isinstance(f, MedianFigure):
        return "not reached" if f.value is None else f"median {f.value}"
    if isinstance(f, FollowupFigure):
        parts = [f"median {f.median:g}"] if f.median is not None else []
        parts += [f"range {f.range[0]:g}-{f.range[1]:g}"] if f.range else []
        return ", ".join(parts)
    return f.quote


def _time_text(t: float, unit: str) -> str:
    return f"{t:g} {_singular(unit) if t == 1 else unit}".strip()


def _singular(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _deaths(k: int) -> str:
    return f"{k} death" + ("" if k == 1 else "s")


def _join(items: Iterable[str], word: str = "and") -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {word} " + items[-1]


def _rule_note(by_rule: Mapping[str, int], total: int) -> str:
    """Say so when every configuration prints under one rule and none under the other."""
    if len(by_rule) == 2 and sorted(by_rule.values()) == [0, total]:
        rule = next(r for r, k in by_rule.items() if k)
        return f", by {RULE_NAMES[rule]} only"
    return ""


def _counts_text(counts: Sequence[int], n: int) -> str:
    if len(counts) == 1:
        return f"{counts[0]}/{n}"
    return f"{counts[0]}/{n} to {counts[-1]}/{n}"


def _neighbours(printed: Printed, n: int, rule: str) -> str:
    """Show the two counts of ``n`` whose percentages straddle the printed one."""
    x = printed_percent(printed) / 100
    below = max(0, math.floor(x * n))
    shown = [
        f"{a}/{n} = {format_percent(Fraction(a, n), printed.decimals, rule)}%"
        for a in (below, below + 1)
        if a <= n
    ]
    return ", ".join(shown)


def _exact_percent(x: Fraction, digits: int) -> str:
    """``100 x`` rounded half up to ``digits`` decimals, for display."""
    return str(format_percent(x, digits, "round"))


def _span(span: tuple[int, int] | None) -> str:
    if span is None:
        return ""
    return f"{span[0]}" if span[0] == span[1] else f"{span[0]}-{span[1]}"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 3] + "..."


def _json_safe(value: Any) -> Any:
    """Fractions and integers beyond 2**53 as strings; tuples as lists; numpy as Python."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        value = int(value)
        return value if abs(value) <= 2**53 - 1 else str(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Printed):
        return str(value)
    return value
