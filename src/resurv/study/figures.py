"""The ``[[figure]]`` tables of a study file: one builder per figure kind.

:func:`_figure` checks the keys common to every figure (kind, id, quote, note, rounding,
decimals) and hands the table to the builder of its kind in :data:`_BUILDERS`, which checks
the keys of :data:`_FIGURE_KEYS` and returns the figure of :mod:`resurv.study`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from resurv.study.checks import (
    _NUMBER_RE,
    MAX_DECIMALS,
    Context,
    Table,
    _fmt,
    bounded,
    candidates,
    choice,
    fail,
    ident,
    integer,
    printed,
    real,
    show,
    text,
)
from resurv.study.schema import (
    DEFAULT_ENDPOINT,
    ESTIMATORS,
    FIGURE_KINDS,
    MAX_ARM_N,
    RELATIONS,
    ROUNDINGS,
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

_NOT_REACHED = ("not reached", "not_reached", "nr")
_MISSING: Any = object()

_FIGURE_COMMON = ("kind", "id", "quote", "note", "rounding")
_FIGURE_KEYS = {
    "survival": ("arm", "time", "percent", "estimator", "interval_width", "decimals", "endpoint"),
    "median": ("arm", "value", "ci", "ci_level", "decimals", "endpoint"),
    "hazard_ratio": ("arms", "hr", "ci", "ci_level", "decimals", "endpoint"),
    "logrank_p": ("arms", "p", "relation", "decimals", "endpoint"),
    "proportion": ("name", "percent", "n", "arm", "decimals", "endpoint"),
    "count": ("name", "events", "n", "arm"),
    "percent_of": ("name", "a", "b", "percent", "decimals"),
    "followup": ("median", "range", "arm"),
}
_MEAN_WHY = (
    "A mean (or mean ± SD) of observed survival times is not an estimate of anything a "
    "survival model can use: survival times are censored and skewed, so the mean of the "
    "observed times depends on follow-up, not only on survival. Give the median with its CI "
    '(kind = "median") or landmark survival (kind = "survival") instead.'
)


def _figure(value: Any, index: int, ctx: Context) -> Figure:
    path = f"figure[{index}]"
    if not isinstance(value, Mapping):
        raise fail(path, show(value), "a table written [[figure]]", "See models/README.md.")
    kinds = "one of " + ", ".join(FIGURE_KINDS)
    kind = value.get("kind", _MISSING)
    if kind is _MISSING:
        fix = 'Add kind = "survival" (or another kind) to this [[figure]].'
        raise fail(f"{path}.kind", "nothing (the key is missing)", kinds, fix)
    if isinstance(kind, str) and "mean" in kind.lower():
        raise fail(f"{path}.kind", show(kind), kinds, _MEAN_WHY)
    kind = choice(kind, f"{path}.kind", tuple(FIGURE_KINDS))
    t = Table(value, path, _FIGURE_COMMON + _FIGURE_KEYS[kind], f"a [[figure]] of kind {kind}")
    rounding = t.get("rounding")
    common = {
        "id": ident(t.get("id"), t.at("id")) if "id" in t else f"{kind}-{index}",
        "quote": text(t.get("quote", ""), t.at("quote")),
        "note": text(t.get("note", ""), t.at("note")),
        "rounding": None if rounding is None else choice(rounding, t.at("rounding"), ROUNDINGS),
    }
    if "endpoint" in _FIGURE_KEYS[kind]:
        common["endpoint"] = ctx.endpoint(t.get("endpoint", DEFAULT_ENDPOINT), t.at("endpoint"))
    decimals = None
    if "decimals" in t:
        decimals = integer(t.get("decimals"), t.at("decimals"), 0, MAX_DECIMALS)
    return _BUILDERS[kind](t, ctx, common, decimals)


def _percent(t: Table, key: str, decimals: int | None) -> Printed:
    raw = t.need(key, "a percent from 0 to 100")
    fix = "Give the percent as printed (92.6 for 92.6%); check the paper."
    return bounded(printed(raw, t.at(key), decimals)[0], t.at(key), 0.0, 100.0, "a percent", fix)


def _name(t: Table, common: dict) -> str:
    return ident(t.get("name"), t.at("name")) if "name" in t else common["id"]


def _arm_list(t: Table, ctx: Context, exactly: int | None) -> tuple[str, ...]:
    count = f"exactly {exactly}" if exactly else "two or more"
    allowed = f"an array of {count} distinct arm ids from: " + ", ".join(ctx.arms)
    raw = t.need("arms", allowed)
    if not isinstance(raw, list) or len(raw) < 2 or (exactly and len(raw) != exactly):
        raise fail(t.at("arms"), show(raw), allowed, 'Write e.g. arms = ["a", "b"].')
    arms = tuple(ctx.arm(a, t.at("arms")) for a in raw)
    if len(set(arms)) != len(arms):
        raise fail(t.at("arms"), json.dumps(raw), allowed, "Name each arm once.")
    return arms


def _ci(t: Table, decimals: int | None, estimate: Printed | None, lower: float) -> tuple | None:
    if "ci" not in t:
        return None
    path, raw = t.at("ci"), t.get("ci")
    allowed = 'an array [lower, upper] of printed numbers, e.g. ["1.2", "3.4"]'
    if not isinstance(raw, list) or len(raw) != 2:
        raise fail(path, show(raw), allowed, "Give the two bounds of the interval.")
    lo, hi = (printed(x, path, decimals)[0] for x in raw)
    if lo.value <= lower:
        raise fail(path, f"[{lo}, {hi}]", f"bounds > {_fmt(lower)}", "Check the bounds.")
    if not lo.value < hi.value:
        raise fail(path, f"[{lo}, {hi}]", "lower < upper", "Write the bounds as [lower, upper].")
    if estimate is not None and not lo.value <= estimate.value <= hi.value:
        raise fail(
            path,
            f"[{lo}, {hi}] around the estimate {estimate}",
            "an interval that contains its estimate",
            "Check the estimate and the bounds against the paper.",
        )
    return (lo, hi)


def _ci_level(t: Table) -> float:
    fix = "Give the level as a probability, e.g. 0.95 for a 95% interval."
    return real(t.get("ci_level", 0.95), t.at("ci_level"), gt=0.0, lt=1.0, fix=fix)


def _survival(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    arm = ctx.arm(t.need("arm", "the id of an arm"), t.at("arm"))
    time = ctx.time(t.need("time", "a time > 0 in the study time unit"), t.at("time"))
    estimator = choice(t.get("estimator", "unknown"), t.at("estimator"), ESTIMATORS)
    width = 1.0
    if "interval_width" in t:
        if estimator == "kaplan-meier":
            raise fail(
                t.at("interval_width"),
                'interval_width with estimator = "kaplan-meier"',
                'interval_width only with estimator = "actuarial" or "unknown"',
                "Remove interval_width: a Kaplan-Meier estimate has no life-table intervals.",
            )
        width = real(t.get("interval_width"), t.at("interval_width"), gt=0.0)
    percent = _percent(t, "percent", decimals)
    return SurvivalFigure(**common, arm=arm, time=time, percent=percent, estimator=estimator,
                          interval_width=width)  # fmt: skip


def _median(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    arm = ctx.arm(t.need("arm", "the id of an arm"), t.at("arm"))
    raw = t.need("value", 'a printed time, or "not reached"')
    value = None
    if not (isinstance(raw, str) and raw.strip().lower() in _NOT_REACHED):
        if isinstance(raw, str) and not _NUMBER_RE.fullmatch(raw.strip()):
            allowed = 'a printed time such as "14.5", or "not reached"'
            raise fail(t.at("value"), show(raw), allowed, "Write the median as printed.")
        value = printed(raw, t.at("value"), decimals)[0]
        ctx.time(value.value, t.at("value"))
    ci = _ci(t, decimals, value, 0.0)
    return MedianFigure(**common, arm=arm, value=value, ci=ci, ci_level=_ci_level(t))


def _hazard_ratio(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    arms = _arm_list(t, ctx, 2)
    hr = printed(t.need("hr", "a printed hazard ratio > 0"), t.at("hr"), decimals)[0]
    if hr.value <= 0:
        raise fail(t.at("hr"), str(hr), "a hazard ratio > 0", "Check the value.")
    ci = _ci(t, decimals, hr, 0.0)
    return HazardRatioFigure(**common, arms=arms, hr=hr, ci=ci, ci_level=_ci_level(t))


def _logrank(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    arms = _arm_list(t, ctx, None)
    p, prefix = printed(t.need("p", "a printed p-value"), t.at("p"), decimals, relation=True)
    if not 0.0 < p.value <= 1.0:
        raise fail(t.at("p"), str(p), "a p-value in (0, 1]", 'Write a bound as "<0.001".')
    relation = prefix or "="
    if "relation" in t:
        relation = choice(t.get("relation"), t.at("relation"), RELATIONS)
        if prefix is not None and prefix != relation:
            received = f"relation = {relation!r} with p = {t.get('p')!r}"
            fix = "Keep the relation in one place: the prefix of p, or relation."
            raise fail(t.at("relation"), received, "the same relation in both", fix)
    return LogrankFigure(**common, arms=arms, p=p, relation=relation)


def _denominators(t: Table, ctx: Context, events: int = 0) -> tuple[str | None, tuple]:
    arm = ctx.arm(t.get("arm"), t.at("arm")) if "arm" in t else None
    if "n" in t:
        n = candidates(t.get("n"), t.at("n"), fix="Check the value against the paper.")
    elif arm is not None:
        n = ctx.arms[arm].n
    else:
        fix = "Add n = <denominator>, a list of candidates, or arm = <arm id>."
        raise fail(t.at("n"), "nothing (the key is missing)", "candidate denominators", fix)
    if events > min(n):
        raise fail(
            t.at("events"),
            f"events = {events} with candidate denominator {min(n)}",
            "events no larger than every candidate denominator",
            "Check events and n; drop a candidate that cannot hold the events.",
        )
    return arm, n


def _proportion(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    name, percent = _name(t, common), _percent(t, "percent", decimals)
    arm, n = _denominators(t, ctx)
    return ProportionFigure(**common, name=name, percent=percent, n=n, arm=arm)


def _count(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    name = _name(t, common)
    events = integer(t.need("events", "an integer >= 0"), t.at("events"), 0, MAX_ARM_N)
    arm, n = _denominators(t, ctx, events)
    return CountFigure(**common, name=name, events=events, n=n, arm=arm)


def _percent_of(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    name = _name(t, common)
    a = integer(t.need("a", "an integer >= 0"), t.at("a"), 0, MAX_ARM_N)
    b = integer(t.need("b", "an integer >= 1"), t.at("b"), 1, MAX_ARM_N)
    if a > b:
        fix = "Check the printed a/b: the count cannot exceed its denominator."
        raise fail(t.at("a"), f"a = {a} with b = {b}", "a <= b", fix)
    percent = _percent(t, "percent", decimals) if "percent" in t else None
    return PercentOfFigure(**common, name=name, a=a, b=b, percent=percent)


def _followup(t: Table, ctx: Context, common: dict, decimals: int | None) -> Figure:
    arm = ctx.arm(t.get("arm"), t.at("arm")) if "arm" in t else None
    median = ctx.time(t.get("median"), t.at("median")) if "median" in t else None
    span = None
    if "range" in t:
        raw, allowed = t.get("range"), "an array [shortest, longest] of times, shortest <= longest"
        if not isinstance(raw, list) or len(raw) != 2:
            raise fail(t.at("range"), show(raw), allowed, "Write e.g. range = [0.5, 17].")
        lo = real(raw[0], t.at("range"), ge=0.0)
        hi = ctx.time(raw[1], t.at("range"))
        if lo > hi or (median is not None and not lo <= median <= hi):
            received = f"[{_fmt(lo)}, {_fmt(hi)}]" + (
                f" with median {_fmt(median)}" if median is not None else ""
            )
            allowed += ", with shortest <= median <= longest"
            raise fail(t.at("range"), received, allowed, "Check the values against the paper.")
        span = (lo, hi)
    if median is None and span is None:
        fix = "Add median = <time>, range = [shortest, longest], or both."
        raise fail(t.at("median"), "neither median nor range", "at least one of them", fix)
    return FollowupFigure(**common, median=median, range=span, arm=arm)


_BUILDERS = {
    "survival": _survival,
    "median": _median,
    "hazard_ratio": _hazard_ratio,
    "logrank_p": _logrank,
    "proportion": _proportion,
    "count": _count,
    "percent_of": _percent_of,
    "followup": _followup,
}
