"""Validating parsed study files (the schema is documented in ``models/README.md``).

Every check raises :class:`~resurv.errors.StudyError` with a dotted field path
(``"figure[3].percent"``; arrays of tables count from 0, as in ``Study.figures``) and a
one-paragraph message: what was received, what is allowed, what to try. The mapping comes
from :mod:`tomllib` (:func:`resurv.study.loads_study`): the file is data, never code.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from resurv.errors import StudyError
from resurv.study import (
    ESTIMATORS,
    FAMILIES,
    FIGURE_KINDS,
    MAX_ARM_N,
    PRIOR_SETS,
    RELATIONS,
    ROUNDINGS,
    TIME_UNITS,
    Analysis,
    Arm,
    Censoring,
    CountFigure,
    Figure,
    FollowupFigure,
    HazardRatioFigure,
    LiteratureSurvival,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    Printed,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

MAX_DECIMALS = 10
YEARS = (1900.0, 2100.0)
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DIR_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_PREFIXES = {"<=": "<=", ">=": ">=", "≤": "<=", "≥": ">=", "<": "<", ">": ">", "=": "="}
_NOT_REACHED = ("not reached", "not_reached", "nr")
_MISSING: Any = object()
_ID_RULE = "an identifier of letters, digits, _ and - that starts with a letter (at most 64)"

_TOP_KEYS = ("study", "censoring", "analysis", "output", "arm", "figure")
_STUDY_KEYS = ("id", "title", "citation", "time_unit", "rounding", "cohort_n", "reference_arm")
_CENSORING_KEYS = ("accrual", "close", "loss_rate", "close_candidates", "note")
_ANALYSIS_KEYS = ("families", "priors", "landmarks", "draws", "tune", "chains", "seed") + (
    "hr_important", "recurrence_followup", "literature")  # fmt: skip
_LITERATURE_KEYS = ("arm", "time", "lower", "upper", "mass", "source")
_ARM_KEYS = ("id", "n", "label", "note")
_FIGURE_COMMON = ("kind", "id", "quote", "note", "rounding")
_FIGURE_KEYS = {
    "survival": ("arm", "time", "percent", "estimator", "interval_width", "decimals"),
    "median": ("arm", "value", "ci", "ci_level", "decimals"),
    "hazard_ratio": ("arms", "hr", "ci", "ci_level", "decimals"),
    "logrank_p": ("arms", "p", "relation", "decimals"),
    "proportion": ("name", "percent", "n", "arm", "decimals"),
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


# --------------------------------------------------------------------------- messages


def fail(path: str, received: str, allowed: str, fix: str) -> StudyError:
    """Build the one-paragraph error: ``received ...; allowed: .... <what to try>``."""
    return StudyError(path, f"received {received}; allowed: {allowed}. {fix}")


def show(value: Any) -> str:
    """Describe a TOML value and its type, short and on one line."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"{json.dumps(text, ensure_ascii=False)} (a string)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} item(s)"
    if isinstance(value, dt.date | dt.time):
        return f"{value.isoformat()} (a date or time)"
    return f"a value of type {type(value).__name__}"


def _finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the range of floats
        return False


def _fmt(x: float) -> str:
    return f"{x:g}"


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _did_you_mean(word: Any, choices: Sequence[str]) -> str:
    if isinstance(word, str):
        close = difflib.get_close_matches(word, choices, n=1)
        if close:
            return f"Did you mean {close[0]!r}?"
    return ""


# --------------------------------------------------------------------------- typed values


class Table:
    """One table of the file with its dotted path; unknown keys are refused on creation."""

    def __init__(self, value: Any, path: str, keys: Sequence[str], what: str):
        if not isinstance(value, Mapping):
            raise fail(path, show(value), what, "Check the brackets: see models/README.md.")
        for key in value:
            if key not in keys:
                hint = _did_you_mean(key, keys) or "Remove it or fix its spelling."
                allowed = "the keys " + ", ".join(keys)
                name = repr(key) if len(str(key)) <= 40 else repr(str(key)[:37] + "...")
                raise fail(_at(path, str(key)), f"the unknown key {name}", allowed, hint)
        self.m, self.path = value, path

    def at(self, key: str) -> str:
        """Dotted path of ``key`` in this table."""
        return _at(self.path, key)

    def __contains__(self, key: str) -> bool:
        return key in self.m

    def get(self, key: str, default: Any = None) -> Any:
        """Return the raw value of ``key``, or ``default`` when absent."""
        return self.m.get(key, default)

    def need(self, key: str, allowed: str, fix: str = "") -> Any:
        """Return the raw value of a required key."""
        if key not in self.m:
            fix = fix or (f"Add {key} = ... to this table." if self.path else f"Add [{key}].")
            raise fail(self.at(key), "nothing (the key is missing)", allowed, fix)
        return self.m[key]


def real(value: Any, path: str, *, gt=None, ge=None, lt=None, le=None, fix: str = "") -> float:
    """Check a finite number (int or float, not bool) within the given bounds."""
    bounds = ((">", gt), (">=", ge), ("<", lt), ("<=", le))
    parts = [f"{op} {_fmt(b)}" for op, b in bounds if b is not None]
    allowed = "a number" + (" " + " and ".join(parts) if parts else "")
    if not _finite(value):
        raise fail(path, show(value), allowed, fix or "Write a plain number without quotes.")
    x = float(value)
    if (
        (gt is not None and not x > gt)
        or (ge is not None and not x >= ge)
        or (lt is not None and not x < lt)
        or (le is not None and not x <= le)
    ):
        raise fail(path, show(value), allowed, fix or "Check the value against the paper.")
    return x


def integer(value: Any, path: str, lo: int, hi: int, fix: str = "") -> int:
    """Check an integer (not bool) in ``[lo, hi]``."""
    allowed = f"an integer from {lo} to {hi}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(path, show(value), allowed, fix or "Write a whole number without quotes.")
    if not lo <= value <= hi:
        raise fail(path, show(value), allowed, fix or "Check the value against the paper.")
    return value


def candidates(value: Any, path: str, lo: int = 1, hi: int = MAX_ARM_N, fix: str = "") -> tuple:
    """Check one integer or a non-empty array of distinct integers in ``[lo, hi]``."""
    allowed = f"an integer from {lo} to {hi}, or an array of distinct such integers"
    items = value if isinstance(value, list) else [value]
    if not items:
        raise fail(path, "an empty array", allowed, "Give at least one candidate, e.g. n = 19.")
    for x in items:
        if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
            where = " in the array" if isinstance(value, list) else ""
            raise fail(path, show(x) + where, allowed, fix or "Check the value against the paper.")
    if len(set(items)) != len(items):
        dup = next(x for x in items if items.count(x) > 1)
        raise fail(path, f"{items} with {dup} twice", allowed, "List each candidate once.")
    return tuple(items)


def text(value: Any, path: str, *, required: bool = False, limit: int = 4000) -> str:
    """Check a string (non-empty when ``required``) of at most ``limit`` characters."""
    allowed = ("a non-empty" if required else "a") + f" string of at most {limit} characters"
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise fail(path, show(value), allowed, 'Write the text in double quotes: "...".')
    return value


def ident(value: Any, path: str) -> str:
    """Check an identifier-safe name."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise fail(path, show(value), _ID_RULE, 'Use a name like "grazi2000" or "not_resected".')
    return value


def choice(value: Any, path: str, choices: Sequence[str], fix: str = "") -> str:
    """Check a value is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        hint = _did_you_mean(value, choices) or fix or "Pick one of the allowed values."
        raise fail(path, show(value), "one of " + ", ".join(choices), hint)
    return value


def subset(value: Any, path: str, choices: Sequence[str]) -> tuple[str, ...]:
    """Check a non-empty array of distinct names from ``choices``."""
    allowed = "a non-empty array of distinct names from: " + ", ".join(choices)
    if not isinstance(value, list) or not value:
        raise fail(path, show(value), allowed, f'Write e.g. ["{choices[0]}"].')
    for x in value:
        if not isinstance(x, str) or x not in choices:
            hint = _did_you_mean(x, choices) or "Remove it or fix its spelling."
            raise fail(path, show(x) + " in the array", allowed, hint)
    if len(set(value)) != len(value):
        raise fail(path, json.dumps(value), allowed, "List each name once.")
    return tuple(value)


def printed(
    value: Any, path: str, decimals: int | None, *, relation: bool = False
) -> tuple[Printed, str | None]:
    """Read a printed number and its precision; with ``relation``, a prefix like ``<``.

    Returns the :class:`Printed` and the relation prefix found in a string (None if none).
    """
    if relation:
        allowed = 'a p-value as printed, as a string with an optional relation ("<0.001", "0.04")'
    else:
        allowed = 'a number as printed, as a string ("92.6") or a number with optional decimals'
    if isinstance(value, str):
        body, rel = value.strip(), None
        if relation:
            for prefix, canonical in _PREFIXES.items():
                if body.startswith(prefix):
                    body, rel = body[len(prefix) :].strip(), canonical
                    break
        if not _NUMBER_RE.fullmatch(body):
            fix = 'Write only the digits as printed, e.g. "92.6": no % sign, units or spaces.'
            if not relation and body[:1] in "<>=≤≥":
                fix = 'A relation like "<" is allowed only for p-values; give the number.'
            raise fail(path, show(value), allowed, fix)
        own = len(body.split(".")[1]) if "." in body else 0
        if decimals is not None and decimals != own:
            raise fail(
                path,
                f"{show(value)} with decimals = {decimals}",
                "decimals equal to the decimals the string shows",
                "Drop decimals: a string already fixes the printed precision.",
            )
        if own > MAX_DECIMALS or not math.isfinite(float(body)):
            raise fail(path, show(value), f"at most {MAX_DECIMALS} decimals", "Check the value.")
        return Printed(float(body), own), rel
    if not _finite(value):
        raise fail(path, show(value), allowed, 'Write the number as printed, e.g. "92.6".')
    if decimals is None:
        exponent = Decimal(repr(value)).as_tuple().exponent if isinstance(value, float) else 0
        decimals = max(0, -int(exponent))
        if decimals > MAX_DECIMALS:
            fix = 'Give the number as a string exactly as printed, e.g. "0.3".'
            raise fail(path, show(value), f"at most {MAX_DECIMALS} decimals", fix)
    elif abs(round(value, decimals) - value) > 1e-9 * max(1.0, abs(value)):
        raise fail(
            path,
            f"{show(value)} with decimals = {decimals}",
            f"a value with at most {decimals} decimals",
            "Make decimals match the printed number, or give the number as a string.",
        )
    return Printed(float(value), decimals), None


def bounded(p: Printed, path: str, lo: float, hi: float, what: str, fix: str) -> Printed:
    """Check ``lo <= p.value <= hi``."""
    if not lo <= p.value <= hi:
        raise fail(path, str(p), f"{what} from {_fmt(lo)} to {_fmt(hi)}", fix)
    return p


# --------------------------------------------------------------------------- the study


@dataclass(frozen=True)
class Context:
    """What figure and analysis checks need to know about the rest of the study."""

    time_unit: str
    max_followup: float
    followup_rule: str
    arms: Mapping[str, Arm]

    def arm(self, value: Any, path: str) -> str:
        """Check a reference to an arm."""
        if not isinstance(value, str) or value not in self.arms:
            allowed = "the id of an arm: " + ", ".join(self.arms)
            hint = _did_you_mean(value, list(self.arms)) or "Add an [[arm]] or fix the spelling."
            raise fail(path, show(value), allowed, hint)
        return value

    def time(self, value: Any, path: str) -> float:
        """Check a time > 0 within the longest possible follow-up."""
        x = real(value, path, gt=0.0)
        if x > self.max_followup * (1 + 1e-12):
            raise fail(
                path,
                f"{_fmt(x)} {self.time_unit}",
                f"a time > 0 and at most the longest possible follow-up, "
                f"{_fmt(self.max_followup)} {self.time_unit} ({self.followup_rule})",
                "Check the time unit, or the accrual and close years in [censoring].",
            )
        return x


def build_study(mapping: Any, *, source_sha256: str = "") -> Study:
    """Validate a parsed study mapping and build the :class:`Study`."""
    if not isinstance(mapping, Mapping):
        raise fail("file", show(mapping), "a mapping of tables", "Pass the dict from tomllib.")
    if not mapping:
        raise fail(
            "file",
            "an empty document",
            "a study with [study], [censoring], [[arm]] and [[figure]] tables",
            "Start from models/grazi2000.toml; the schema is in models/README.md.",
        )
    top = Table(mapping, "", _TOP_KEYS, "a mapping of tables")
    fix = "Add a [study] table with id, title, citation and time_unit."
    st = Table(top.need("study", "a [study] table", fix), "study", _STUDY_KEYS, "a [study] table")
    study_id = ident(st.need("id", _ID_RULE), st.at("id"))
    title = text(st.need("title", "a non-empty string"), st.at("title"), required=True)
    citation = text(st.need("citation", "a non-empty string"), st.at("citation"), required=True)
    units = "one of " + ", ".join(TIME_UNITS)
    fix = 'Add time_unit = "years" (or months, weeks, days): every time in the file uses it.'
    time_unit = choice(st.need("time_unit", units, fix), st.at("time_unit"), TIME_UNITS)
    rounding = choice(st.get("rounding", "either"), st.at("rounding"), ROUNDINGS)
    cohort_n = None
    if "cohort_n" in st:
        cohort_n = integer(st.get("cohort_n"), st.at("cohort_n"), 1, MAX_ARM_N)

    fix = "Add a [censoring] table with accrual = [start, end] and close (calendar years)."
    censoring = _censoring(top.need("censoring", "a [censoring] table", fix))
    fix = 'Add one [[arm]] table per arm, with id = "..." and n = <patients>.'
    arms = _arms(top.need("arm", "one or more [[arm]] tables", fix), cohort_n)
    ctx = Context(
        time_unit=time_unit,
        max_followup=censoring.max_followup(time_unit),
        followup_rule=f"close {_fmt(censoring.close)} - accrual start "
        f"{_fmt(censoring.accrual_start)}",
        arms={a.id: a for a in arms},
    )
    if "reference_arm" in st:
        reference_arm = ctx.arm(st.get("reference_arm"), st.at("reference_arm"))
    elif len(arms) == 1:
        reference_arm = arms[0].id
    else:
        raise fail(
            st.at("reference_arm"),
            "nothing (the key is missing)",
            "the id of an arm: " + ", ".join(ctx.arms),
            "Add reference_arm to [study]: it is the denominator of hazard ratios.",
        )
    analysis = _analysis(top.get("analysis", {}), ctx)
    output_dir = _output(top.get("output")) if "output" in top else None
    raw_figures = top.get("figure", [])
    if not isinstance(raw_figures, list):
        fix = "Write each figure as its own [[figure]] table."
        raise fail("figure", show(raw_figures), "an array of tables written [[figure]]", fix)
    figures: list[Figure] = []
    for i, raw in enumerate(raw_figures):
        fig = _figure(raw, i, ctx)
        if any(f.id == fig.id for f in figures):
            fix = "Give each figure its own id, or drop id to use the default kind-index."
            raise fail(f"figure[{i}].id", f"{fig.id!r} a second time", "unique figure ids", fix)
        figures.append(fig)
    return Study(study_id, title, citation, time_unit, rounding, cohort_n,  # type: ignore[arg-type]
                 reference_arm, arms, tuple(figures), censoring, analysis, source_sha256,
                 output_dir)  # fmt: skip


def _year(value: Any, path: str) -> float:
    return real(value, path, ge=YEARS[0], le=YEARS[1], fix="Give a calendar year, e.g. 1999.5.")


def _censoring(value: Any) -> Censoring:
    t = Table(value, "censoring", _CENSORING_KEYS, "a [censoring] table")
    pair = "an array [start, end] of calendar years with start < end"
    acc = t.need("accrual", pair, "Add accrual = [first year, last year] of patient entry.")
    if not isinstance(acc, list) or len(acc) != 2:
        raise fail(t.at("accrual"), show(acc), pair, "Write e.g. accrual = [1981, 1998].")
    start, end = _year(acc[0], t.at("accrual")), _year(acc[1], t.at("accrual"))
    if not start < end:
        raise fail(t.at("accrual"), f"[{_fmt(start)}, {_fmt(end)}]", pair, "Swap the years.")
    after = f"a calendar year >= the accrual end {_fmt(end)}"
    close = _year(t.need("close", after, "Add close = <year of study close>."), t.at("close"))
    if close < end:
        raise fail(t.at("close"), _fmt(close), after, "Patients are followed until the close.")
    fix = "Give a constant hazard of loss to follow-up per time unit; 0 for none."
    loss_rate = real(t.get("loss_rate", 0.0), t.at("loss_rate"), ge=0.0, fix=fix)
    alternatives = t.get("close_candidates", [])
    if not isinstance(alternatives, list):
        fix = "Write e.g. close_candidates = [1998.0, 1999.0]."
        raise fail(t.at("close_candidates"), show(alternatives), "an array of " + after, fix)
    closes = tuple(_year(c, t.at("close_candidates")) for c in alternatives)
    for c in closes:
        if c < end or closes.count(c) > 1:
            fix = "List distinct years, none before the end of accrual."
            received = f"{_fmt(c)} " + ("twice" if c >= end else "in the array")
            raise fail(t.at("close_candidates"), received, "distinct values, each " + after, fix)
    note = text(t.get("note", ""), t.at("note"))
    return Censoring(start, end, close, loss_rate, closes, note)


def _arms(value: Any, cohort_n: int | None) -> tuple[Arm, ...]:
    if not isinstance(value, list) or not value:
        fix = 'Add [[arm]] tables with id = "..." and n = <patients>.'
        raise fail("arm", show(value), "one or more tables written [[arm]]", fix)
    arms: list[Arm] = []
    for i, raw in enumerate(value):
        t = Table(raw, f"arm[{i}]", _ARM_KEYS, "a table written [[arm]]")
        arm_id = ident(t.need("id", _ID_RULE), t.at("id"))
        if any(a.id == arm_id for a in arms):
            raise fail(t.at("id"), f"{arm_id!r} a second time", "unique arm ids", "Rename one.")
        sizes_fix = "Check the value against the paper; list candidate sizes when unsure."
        sizes = candidates(t.need("n", "candidate sizes"), t.at("n"), fix=sizes_fix)
        if cohort_n is not None and max(sizes) > cohort_n:
            raise fail(
                t.at("n"),
                f"n = {max(sizes)} with cohort_n = {cohort_n}",
                f"arm sizes no larger than cohort_n ({cohort_n})",
                "Check both against the paper; drop a candidate larger than the cohort.",
            )
        label = text(t.get("label", ""), t.at("label"))
        arms.append(Arm(arm_id, sizes, label, text(t.get("note", ""), t.at("note"))))
    smallest = sum(min(a.n) for a in arms)
    if cohort_n is not None and smallest > cohort_n:
        raise fail(
            "arm",
            f"arms whose smallest sizes sum to {smallest} with cohort_n = {cohort_n}",
            f"arm sizes that can sum to at most cohort_n ({cohort_n})",
            "Check the arm sizes and cohort_n against the paper.",
        )
    return tuple(arms)


def _analysis(value: Any, ctx: Context) -> Analysis:
    t = Table(value, "analysis", _ANALYSIS_KEYS, "an [analysis] table")
    set_: dict[str, Any] = {}
    if "families" in t:
        set_["families"] = subset(t.get("families"), t.at("families"), FAMILIES)
    if "priors" in t:
        set_["priors"] = subset(t.get("priors"), t.at("priors"), PRIOR_SETS)
    landmarks = t.get("landmarks", [])
    if not isinstance(landmarks, list):
        fix = "Write e.g. landmarks = [1, 2, 5]."
        raise fail(t.at("landmarks"), show(landmarks), "an array of times > 0", fix)
    times = [ctx.time(x, t.at("landmarks")) for x in landmarks]
    if len(set(times)) != len(times):
        raise fail(t.at("landmarks"), json.dumps(landmarks), "distinct times", "List each once.")
    set_["landmarks"] = tuple(sorted(times))
    for key, hi in (("draws", 10**6), ("tune", 10**6), ("chains", 64), ("seed", 2**32 - 1)):
        if key in t:
            fix = f"Use e.g. {key} = {getattr(Analysis, key)}, the default."
            set_[key] = integer(t.get(key), t.at(key), 1, hi, fix)
    if "hr_important" in t:
        set_["hr_important"] = real(t.get("hr_important"), t.at("hr_important"), gt=0.0)
        if set_["hr_important"] == 1.0:
            fix = "Give the smallest hazard ratio that would matter clinically, e.g. 2.0."
            raise fail(t.at("hr_important"), "1.0", "a hazard ratio > 0 other than 1", fix)
    if "recurrence_followup" in t:
        key = "recurrence_followup"
        set_[key] = ctx.time(t.get(key), t.at(key))
    if "literature" in t:
        set_["literature"] = _literature(t.get("literature"), ctx)
    analysis = replace(Analysis(), **set_)
    if "literature" in analysis.priors and analysis.literature is None:
        raise fail(
            t.at("literature"),
            'nothing, while priors include "literature"',
            "an [analysis.literature] table with arm, time, lower, upper and source",
            'Add the table, or remove "literature" from priors.',
        )
    return analysis


def _literature(value: Any, ctx: Context) -> LiteratureSurvival:
    t = Table(value, "analysis.literature", _LITERATURE_KEYS, "an [analysis.literature] table")
    arm = ctx.arm(t.need("arm", "the id of an arm"), t.at("arm"))
    time = real(t.need("time", "a time > 0"), t.at("time"), gt=0.0)
    fix = "Give survival probabilities such as 0.6, not percents."
    lower = real(t.need("lower", "a probability"), t.at("lower"), gt=0.0, lt=1.0, fix=fix)
    upper = real(t.need("upper", "a probability"), t.at("upper"), gt=0.0, lt=1.0, fix=fix)
    if not lower < upper:
        received = f"lower = {_fmt(lower)} and upper = {_fmt(upper)}"
        raise fail(t.path, received, "lower < upper", "Swap them or check the source.")
    mass = real(t.get("mass", 0.9), t.at("mass"), gt=0.0, lt=1.0, fix="E.g. mass = 0.9.")
    source = text(t.need("source", "a citation"), t.at("source"), required=True)
    return LiteratureSurvival(arm, time, lower, upper, mass, source)


def _output(value: Any) -> str:
    t = Table(value, "output", ("dir",), "an [output] table")
    path = t.at("dir")
    allowed = (
        "a relative folder name inside results/: parts of letters, digits, _, - and . "
        "joined by /, without absolute paths, '..' or empty parts"
    )
    fix = 'Use a plain name such as dir = "grazi2000".'
    raw = text(t.need("dir", allowed), path, required=True, limit=200)
    # parts cannot be empty, start with a dot or hold \\, : or ~: no absolute path, no '..'
    inside = posixpath.normpath(posixpath.join("results", raw)).startswith("results/")
    if not inside or not all(_DIR_PART_RE.fullmatch(p) for p in raw.split("/")):
        raise fail(path, show(raw), allowed, fix)
    return raw


# --------------------------------------------------------------------------- figures


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
