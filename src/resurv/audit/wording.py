"""The wording of the audit: the one place where its data become sentences.

The checks (:mod:`resurv.audit.counts`, :mod:`resurv.audit.landmarks`) return rows of data;
:func:`describe` fills in each row's printed figure and its finding in words,
:func:`joint_words` words the joint check of an arm's landmarks, and :func:`convention_words`
and :func:`total_words` the study-level findings. The names of the estimators
(:data:`ESTIMATOR_NAMES`) and of the rounding rules (:data:`RULE_NAMES`) are as the findings
write them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction

from resurv.audit.printing import RULES, format_percent, printed_percent, rules_for
from resurv.audit.result import AuditRow
from resurv.study.schema import (
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

ESTIMATOR_NAMES = {"actuarial": "the actuarial table", "kaplan-meier": "Kaplan-Meier"}
RULE_NAMES = {"round": "rounding", "truncate": "truncation"}
_KIND_OF = {cls: kind for kind, cls in FIGURE_KINDS.items()}
#: why a figure kind is not audited
NOT_AUDITED = {
    LogrankFigure: "a p-value is checked by posterior prediction (the share of replicated "
    "studies that print as extreme a value), not by enumeration",
    HazardRatioFigure: "a hazard ratio enters as a likelihood term (normal on log HR, SE from "
    "its confidence interval); no counts can be enumerated from it",
    MedianFigure: "a median enters as a likelihood term (a landmark at S = 0.5, or normal on "
    "the log median with SE from its confidence interval)",
    FollowupFigure: "follow-up informs the censoring model; it is not a count to audit",
}
#: words of the reason codes of rows that were not checked
REASONS = {
    "no_candidates": "no candidate denominator is given (set n, or tie the figure to an arm).",
    "no_denominator": "no denominator is given (set n, or tie the figure to an arm).",
}


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


def deaths_text(k: int) -> str:
    """``"1 death"``, ``"3 deaths"``."""
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


# -- rows ------------------------------------------------------------------------------------


def describe(row: AuditRow, figure: Figure, study: Study) -> AuditRow:
    """``row`` with its printed figure and its finding in words."""
    return replace(
        row, printed=_printed_text(figure, study.time_unit), words=row_words(row, figure, study)
    )


def row_words(row: AuditRow, figure: Figure, study: Study) -> str:
    """The finding of one audited figure in a sentence or two."""
    if row.message:
        return row.message
    if row.reason in REASONS:
        return REASONS[row.reason]
    if isinstance(figure, PercentOfFigure):
        return _percent_of_words(row, figure, rules_for(study.rounding_of(figure)))
    if isinstance(figure, ProportionFigure):
        return _proportion_words(row, figure, rules_for(study.rounding_of(figure)))
    if isinstance(figure, CountFigure):
        return _count_words(row, figure)
    if isinstance(figure, SurvivalFigure):
        return _survival_words(row, figure, study)
    reason = NOT_AUDITED.get(type(figure), f"no audit exists for {type(figure).__name__}")
    return reason + "."


def _percent_of_words(row: AuditRow, f: PercentOfFigure, rules: Sequence[str]) -> str:
    if row.reason == "not_a_part":
        return f"{f.a}/{f.b} is not a part of a whole (need 0 <= a <= b, b >= 1)."
    exact = _exact_percent(Fraction(f.a, f.b), (f.percent.decimals if f.percent else 1) + 2)
    if row.reason == "nothing_printed":
        return f"{f.a}/{f.b} = {exact}%; no percentage is printed to check."
    holds = row.details[0]
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
    if good and row.verdict != "consistent":
        words += f" The convention declared for it is {' or '.join(RULE_NAMES[r] for r in rules)}."
    return words


def _proportion_words(row: AuditRow, f: ProportionFigure, rules: Sequence[str]) -> str:
    fits = {d["n"]: d["counts"] for d in row.details}
    ns = list(fits)
    out = [n for n in ns if not fits[n]]
    fit_text = _join([_counts_text(fits[n], n) for n in ns if fits[n]])
    why = "; ".join(_neighbours(f.percent, n, rules[0]) for n in out)
    if not out:
        return f"{f.percent}% fits {fit_text}."
    if len(out) < len(ns):
        return f"{f.percent}% rules out n = {_join(map(str, out))} ({why}); it fits {fit_text}."
    return f"{f.percent}% fits none of the candidate denominators ({why})."


def _count_words(row: AuditRow, f: CountFigure) -> str:
    ns = [d["n"] for d in row.details]
    out = [d["n"] for d in row.details if not d["possible"]]
    if not out:
        return f"A count of {f.events} among n = {_join(map(str, ns), 'or')} is possible."
    if len(out) < len(ns):
        return f"{f.events} events rule out n = {_join(map(str, out))}."
    return f"{f.events} events cannot come from n = {_join(map(str, ns), 'or')}."


def _survival_words(row: AuditRow, f: SurvivalFigure, study: Study) -> str:
    if row.reason == "missing_arm":
        return f"its arm {f.arm!r} is not defined; arms are {[a.id for a in study.arms]}."
    sizes = list(dict.fromkeys(d["n"] for d in row.details))
    words = " ".join(
        _landmark_words(
            f"{f.percent}% at {_time_text(f.time, study.time_unit)} with n = {n}",
            [d for d in row.details if d["n"] == n],
            f.time,
            study.time_unit,
        )
        for n in sizes
    )
    if row.reason == "budget":
        words += " The exact audit passed its budget; raise max_states/max_edges to decide it."
    return words


def _landmark_words(head: str, details: Sequence[Mapping], last_time: float, unit: str) -> str:
    """One sentence: which estimators can print the figure(s), with how many deaths."""
    before = f"before {_singular(unit)} {last_time:g}"
    impossible = [ESTIMATOR_NAMES[d["estimator"]] for d in details if d["status"] == "impossible"]
    clauses = []
    for d in details:
        name = ESTIMATOR_NAMES[d["estimator"]]
        if d["status"] == "feasible" and d["n_configurations"] is not None:
            lo, hi = d["deaths_range"]
            deaths = f"exactly {deaths_text(lo)}" if lo == hi else f"{lo} to {deaths_text(hi)}"
            only = "only " if lo == hi else ""
            note = _rule_note(d["by_rule"], d["n_configurations"])
            count = d["n_configurations"]
            plural = "s" if count != 1 else ""
            counted = f"{count:,} configuration{plural}{note}"
            clauses.append(f"{name} gives it {only}with {deaths} {before} ({counted})")
        elif d["status"] == "feasible" and d.get("deaths_exact") and d["deaths_range"]:
            lo, hi = d["deaths_range"]
            deaths = f"exactly {deaths_text(lo)}" if lo == hi else f"{lo} to {deaths_text(hi)}"
            only = "only " if lo == hi else ""
            clauses.append(
                f"{name} gives it {only}with {deaths} {before} (decided exactly; too many "
                "configurations to count within the budget)"
            )
        elif d["status"] == "feasible":
            example = d["example"]
            total = sum(example[0:-1:2])
            bounds = ""
            if d.get("deaths_range"):
                lo, hi = d["deaths_range"]
                bounds = f"; any total lies between {lo} and {hi}"
            clauses.append(
                f"{name} gives it, e.g. with {deaths_text(total)} {before} (too many "
                f"configurations to count within the budget{bounds})"
            )
        elif d["status"] == "undecided":
            clauses.append(f"{name} could not be decided within the budget")
    if impossible:
        sentence = f"{head} is impossible for {_join(impossible)}"
        return sentence + ("; " + "; ".join(clauses) if clauses else "") + "."
    return f"{head}: " + "; ".join(clauses) + "."


# -- study-level findings --------------------------------------------------------------------


def joint_words(fact: Mapping, study: Study) -> str:
    """A finding of the joint check of an arm's survival figures (see ``_joint_landmarks``)."""
    arm = fact["arm"]
    if fact["what"] == "not_together":
        return (
            f"The survival figures of arm {arm!r} were not checked together: they differ "
            f"in interval width ({fact['widths']}) or share a time."
        )
    if fact["what"] == "not_audited":
        where = f"{fact['estimator']}, n = {fact['n']}"
        return f"Arm {arm!r} ({where}) was not audited: {fact['message']}."
    figs = fact["figures"]
    what = _join([f"{f.percent}% at {_time_text(f.time, study.time_unit)}" for f in figs])
    return _landmark_words(
        f"Together, {what} ({arm}) with n = {fact['n']}",
        fact["details"],
        figs[-1].time,
        study.time_unit,
    )


def convention_words(only: Mapping[str, Sequence[str]]) -> list[str]:
    """Say so when some ``a/b (x%)`` figures are rounding only and others truncation only."""
    if only["round"] and only["truncate"]:
        return [
            f"The paper mixes conventions: {_join(only['truncate'])} "
            f"{'is' if len(only['truncate']) == 1 else 'are'} truncation only, while "
            f"{_join(only['round'])} {'is' if len(only['round']) == 1 else 'are'} rounding only."
        ]
    return []


def total_words(study: Study, smallest: int, largest: int) -> list[str]:
    """Say so when the arms' (candidate) sizes and the stated cohort disagree.

    Three cases, each reported and none fixed: an arm (or candidate size) larger than the
    whole cohort; arms whose sizes add up to more than the cohort (always, or for some
    combinations of candidates); arms that add up to fewer patients than the cohort, which
    says that some patients are in no arm. The analysis uses the arm sizes the file gives.
    """
    cohort = study.cohort_n
    sizes = " + ".join(f"{a.id} {a.n[0] if len(a.n) == 1 else list(a.n)}" for a in study.arms)
    words = [
        f"Arm {a.id} has {max(a.n)} patients{'' if len(a.n) == 1 else ' in one candidate size'}"
        f", more than the whole cohort of {cohort}; the analysis uses the arm sizes as printed."
        for a in study.arms
        if max(a.n) > cohort
    ]
    if smallest > cohort:
        words.append(
            f"The arms do not add up: {sizes} is at least {smallest}, more than the cohort of "
            f"{cohort}; the audit reports it and changes nothing."
        )
    elif largest > cohort:
        words.append(
            f"Some candidate arm sizes do not add up: {sizes} reaches {largest}, more than the "
            f"cohort of {cohort}; combinations above {cohort} cannot all be right."
        )
    if largest < cohort:
        words.append(
            f"The arms hold fewer patients than the cohort: {sizes} is at most {largest}, "
            f"{cohort - largest} fewer than the cohort of {cohort}; those patients are in no "
            f"arm, and the analysis uses the arm sizes as printed."
        )
    return words
