"""Validating parsed study files (the schema is documented in ``models/README.md``).

Every check raises :class:`~resurv.errors.StudyError` with a dotted field path
(``"figure[3].percent"``; arrays of tables count from 0, as in ``Study.figures``) and a
one-paragraph message: what was received, what is allowed, what to try. The mapping comes
from :mod:`tomllib` (:func:`resurv.study.loads_study`): the file is data, never code.

The checks of single values are in :mod:`resurv.study.checks` and those of the
``[[figure]]`` tables in :mod:`resurv.study.figures`; this module checks the study, the
censoring, the arms, the analysis and the output, and builds the :class:`Study`.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from resurv.study.checks import _ID_RULE, Context, Table, _fmt, fail
from resurv.study.checks import MAX_DECIMALS as MAX_DECIMALS
from resurv.study.checks import bounded as bounded
from resurv.study.checks import candidates as candidates
from resurv.study.checks import choice as choice
from resurv.study.checks import ident as ident
from resurv.study.checks import integer as integer
from resurv.study.checks import printed as printed
from resurv.study.checks import real as real
from resurv.study.checks import show as show
from resurv.study.checks import subset as subset
from resurv.study.checks import text as text
from resurv.study.curves import parse_curves
from resurv.study.figures import _figure
from resurv.study.schema import (
    ENDPOINTS,
    FAMILIES,
    MAX_ARM_N,
    PRIOR_SETS,
    ROUNDINGS,
    TIME_UNITS,
    Analysis,
    Arm,
    Censoring,
    Figure,
    LiteratureSurvival,
    Study,
)

YEARS = (1900.0, 2100.0)
_DIR_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")

_TOP_KEYS = ("study", "censoring", "analysis", "output", "arm", "figure", "curve")
_STUDY_KEYS = ("id", "title", "citation", "time_unit", "rounding", "cohort_n", "reference_arm",
               "endpoints")  # fmt: skip
_CENSORING_KEYS = ("accrual", "close", "loss_rate", "close_candidates", "note")
_ANALYSIS_KEYS = ("families", "priors", "landmarks", "draws", "tune", "chains", "seed") + (
    "hr_important", "recurrence_followup", "literature")  # fmt: skip
_LITERATURE_KEYS = ("arm", "time", "lower", "upper", "mass", "source")
_ARM_KEYS = ("id", "n", "label", "note")


# --------------------------------------------------------------------------- the study


def build_study(mapping: Any, *, source_sha256: str = "", base_dir: Path | None = None) -> Study:
    """Validate a parsed study mapping and build the :class:`Study`.

    ``base_dir`` is the study file's folder: digitised curves may name CSV files in it.
    """
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
    endpoint_labels = _endpoints(st.get("endpoints", {}), st.at("endpoints"))

    fix = "Add a [censoring] table with accrual = [start, end] and close (calendar years)."
    censoring = _censoring(top.need("censoring", "a [censoring] table", fix))
    fix = 'Add one [[arm]] table per arm, with id = "..." and n = <patients>.'
    arms = _arms(top.need("arm", "one or more [[arm]] tables", fix))
    ctx = Context(
        time_unit=time_unit,
        max_followup=censoring.max_followup(time_unit),
        followup_rule=f"close {_fmt(censoring.close)} - accrual start "
        f"{_fmt(censoring.accrual_start)}",
        arms={a.id: a for a in arms},
        endpoints=tuple(dict.fromkeys((*ENDPOINTS, *(name for name, _ in endpoint_labels)))),
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
    curves = parse_curves(top.get("curve", []), ctx, base_dir)
    return Study(study_id, title, citation, time_unit, rounding, cohort_n,  # type: ignore[arg-type]
                 reference_arm, arms, tuple(figures), censoring, analysis, source_sha256,
                 output_dir, endpoint_labels=endpoint_labels, curves=curves)  # fmt: skip


def _endpoints(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    """``[study] endpoints = { name = "label", ... }``: endpoints beyond the built-in ones.

    A built-in name (``os``, ``dfs``, ...) may be listed to give it the paper's own label.
    """
    allowed = 'a table of endpoint names and labels, e.g. { dfs = "disease-free survival" }'
    if not isinstance(value, Mapping):
        raise fail(
            path, show(value), allowed, 'Write endpoints = { dfs = "disease-free survival" }.'
        )
    out = []
    for name, label in value.items():
        ident(name, f"{path}.{name}")
        out.append((name, text(label, f"{path}.{name}", required=True)))
    return tuple(out)


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


def _arms(value: Any) -> tuple[Arm, ...]:
    """The ``[[arm]]`` tables. Sizes that do not add up to ``cohort_n`` are not errors.

    The analysis uses the arm sizes the file gives; the audit states in words where they
    disagree with the cohort (:func:`resurv.audit.wording.total_words`).
    """
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
        label = text(t.get("label", ""), t.at("label"))
        arms.append(Arm(arm_id, sizes, label, text(t.get("note", ""), t.at("note"))))
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
