"""The wording of the audit: figure kinds, printed figures, times, counts and lists in words.

The names of the estimators (:data:`ESTIMATOR_NAMES`) and of the rounding rules
(:data:`RULE_NAMES`) as the findings write them, and the small functions that turn a figure,
a time, a number of deaths, a range of counts or a list of items into text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from resurv.audit.printing import format_percent, printed_percent
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
    SurvivalFigure,
)

ESTIMATOR_NAMES = {"actuarial": "the actuarial table", "kaplan-meier": "Kaplan-Meier"}
RULE_NAMES = {"round": "rounding", "truncate": "truncation"}
_KIND_OF = {cls: kind for kind, cls in FIGURE_KINDS.items()}


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
