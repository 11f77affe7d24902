"""Validating the ``[[curve]]`` tables: Kaplan-Meier curves digitised from a figure.

Each table gives one arm's digitised points (inline, or a CSV file beside the study file),
optionally the printed numbers-at-risk table and total events, and the assumed reading
error (schema in ``models/README.md``). Every problem raises
:class:`~resurv.errors.StudyError` naming the row and the field, e.g.
``curve[0].points[4].survival`` (rows count from 0; a CSV's message also gives its line).

What is refused: survival outside [0, 1] or increasing from one point to the next, times
negative or out of order, numbers at risk that increase or do not start at time 0 with the
arm's size, at-risk times after the last digitised point while patients are still at risk,
drops of the curve after the at-risk table reached 0, and more events than patients.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from resurv.study.checks import Context, Table, _fmt, fail, integer, real, show, text
from resurv.study.digitised import (
    DEFAULT_SURVIVAL_SD,
    DEFAULT_TIME_SHARE,
    DigitisedCurve,
    ReadingError,
)
from resurv.study.schema import MAX_ARM_N

__all__ = ["parse_curves"]

_CURVE_KEYS = ("arm", "points", "at_risk", "total_events", "reading_error", "note")
_ERROR_KEYS = ("time", "survival")
MAX_POINTS = 20_000
MAX_CSV_BYTES = 2_000_000


def parse_curves(value: Any, ctx: Context, base_dir: Path | None) -> tuple[DigitisedCurve, ...]:
    """Check the ``[[curve]]`` array of tables; ``base_dir`` is the study file's folder."""
    if not isinstance(value, list):
        fix = "Write each digitised curve as its own [[curve]] table."
        raise fail("curve", show(value), "an array of tables written [[curve]]", fix)
    curves: list[DigitisedCurve] = []
    for i, raw in enumerate(value):
        curve = _curve(raw, f"curve[{i}]", ctx, base_dir)
        if any(c.arm == curve.arm for c in curves):
            fix = "Give one curve per arm."
            raise fail(f"curve[{i}].arm", f"{curve.arm!r} a second time", "one curve per arm", fix)
        curves.append(curve)
    return tuple(curves)


def _curve(raw: Any, path: str, ctx: Context, base_dir: Path | None) -> DigitisedCurve:
    t = Table(raw, path, _CURVE_KEYS, "a table written [[curve]]")
    arm = ctx.arm(t.need("arm", "the id of an arm"), t.at("arm"))
    fix = 'Give points = "file.csv" (columns time, survival) or points = [[0, 1.0], ...].'
    points = t.need("points", "a CSV file name or an array of [time, survival] rows", fix)
    rows, source, where, digest = _points(points, t.at("points"), base_dir)
    times, survival = _check_points(rows, t.at("points"), where, ctx)
    risk_time = risk_n = None
    sizes = ctx.arms[arm].n
    if "at_risk" in t:
        risk_time, risk_n = _at_risk(t.get("at_risk"), t.at("at_risk"), sizes)
        _check_against_table(times, survival, risk_time, risk_n, t, where)
        n = risk_n[0]
    elif len(sizes) == 1:
        n = sizes[0]
    else:
        raise fail(
            t.at("at_risk"),
            f"nothing, while arm {arm!r} has candidate sizes {list(sizes)}",
            "an at-risk table whose first row gives the size, or an arm with one size",
            "Add at_risk = [[0, <patients>], ...] as printed under the figure.",
        )
    total = None
    if "total_events" in t:
        fix = "Give the number of deaths in this arm, at most its size."
        total = integer(t.get("total_events"), t.at("total_events"), 0, n, fix)
    error = _reading_error(t.get("reading_error", {}), t.at("reading_error"), times)
    text(t.get("note", ""), t.at("note"))
    return DigitisedCurve(arm, times, survival, risk_time, risk_n, n, total, error, source, digest)


def _points(value: Any, path: str, base_dir: Path | None) -> tuple[list, str, Any, str]:
    """Rows of ``[time, survival]``, their source, how to name row ``j``, the file's hash."""
    if isinstance(value, list):
        if not value:
            fix = "Give at least one digitised point."
            raise fail(path, "an empty array", "[time, survival] rows", fix)
        if len(value) > MAX_POINTS:
            raise fail(path, f"{len(value)} rows", f"at most {MAX_POINTS}", "Thin the points.")
        return value, "inline", lambda j: "", ""
    if not isinstance(value, str):
        fix = 'Give a CSV file name such as "curve_treated.csv", or inline rows.'
        raise fail(path, show(value), "a CSV file name or an array of [time, survival] rows", fix)
    name = PurePosixPath(value)
    if name.is_absolute() or ".." in name.parts or "\\" in value or not value.strip():
        fix = "Put the CSV file in the study file's folder (or below it) and give its name."
        raise fail(path, show(value), "a relative path inside the study file's folder", fix)
    if base_dir is None:
        fix = "Read the study with load_study(path), or give the points inline."
        raise fail(path, show(value), "inline points when the study is not read from a file", fix)
    file = Path(base_dir) / name
    try:
        data = file.read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        fix = "Check the name: the file must sit beside the study file."
        raise fail(path, f"{value!r} ({reason})", "an existing CSV file", fix) from None
    if len(data) > MAX_CSV_BYTES:
        fix = "Check that the file holds only the digitised points."
        raise fail(path, f"{len(data)} bytes", f"at most {MAX_CSV_BYTES} bytes", fix)
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        table = [r for r in reader if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as e:
        fix = "Save the points as a UTF-8 CSV with a header line time,survival."
        raise fail(path, f"{value!r} that is not readable CSV ({e})", "a CSV file", fix) from None
    header = [c.strip().lower() for c in table[0]] if table else []
    if header[:2] != ["time", "survival"]:
        fix = "Make the first line of the file the header time,survival."
        raise fail(path, f"{value!r} with header {header}", "the columns time, survival", fix)
    rows = []
    for j, r in enumerate(table[1:]):
        rows.append([_csv_number(c, f"{path}[{j}]", value, j) for c in r])
    if not rows:
        raise fail(path, f"{value!r} with no rows", "at least one point", "Add the points.")
    digest = hashlib.sha256(data).hexdigest()
    return rows, value, lambda j: f" (line {j + 2} of {value})", digest


def _csv_number(cell: str, path: str, file: str, j: int) -> float:
    try:
        return float(cell)
    except ValueError:
        fix = f"Line {j + 2} of {file}: write plain numbers, e.g. 12.5,0.84."
        raise fail(path, f"the cell {cell.strip()!r}", "a number", fix) from None


def _check_points(rows: list, path: str, where, ctx: Context) -> tuple[tuple, tuple]:
    times: list[float] = []
    surv: list[float] = []
    for j, row in enumerate(rows):
        at = f"{path}[{j}]"
        if not isinstance(row, list | tuple) or len(row) != 2:
            fix = "Each row is [time, survival], e.g. [12.5, 0.84]." + where(j)
            raise fail(at, show(row), "a row of two numbers: time and survival", fix)
        tj = real(row[0], f"{at}.time", ge=0.0, fix="Times start at 0." + where(j))
        if tj > ctx.max_followup * (1 + 1e-12):
            raise fail(
                f"{at}.time",
                f"{_fmt(tj)} {ctx.time_unit}",
                f"a time within the longest possible follow-up, {_fmt(ctx.max_followup)} "
                f"{ctx.time_unit} ({ctx.followup_rule})",
                "Check the time unit of the figure against [study].time_unit." + where(j),
            )
        fix = "Survival is a probability; divide percents by 100." + where(j)
        sj = real(row[1], f"{at}.survival", ge=0.0, le=1.0, fix=fix)
        if times and tj < times[-1]:
            raise fail(
                f"{at}.time",
                f"{_fmt(tj)} after {_fmt(times[-1])} in the row before",
                "times in non-decreasing order",
                "Sort the points by time, or fix a misread time." + where(j),
            )
        if surv and sj > surv[-1]:
            raise fail(
                f"{at}.survival",
                f"{_fmt(sj)} after {_fmt(surv[-1])} in the row before",
                "non-increasing survival (a Kaplan-Meier curve never rises)",
                "Fix the misread point, or read it again at the bottom of the step." + where(j),
            )
        times.append(tj)
        surv.append(sj)
    return tuple(times), tuple(surv)


def _at_risk(value: Any, path: str, sizes: tuple[int, ...]) -> tuple[tuple, tuple]:
    allowed = "an array of [time, number at risk] rows, the first at time 0"
    if not isinstance(value, list) or not value:
        raise fail(path, show(value), allowed, "Write e.g. at_risk = [[0, 21], [10, 12]].")
    times: list[float] = []
    counts: list[int] = []
    for i, row in enumerate(value):
        at = f"{path}[{i}]"
        if not isinstance(row, list) or len(row) != 2:
            raise fail(at, show(row), "a row [time, number at risk]", "E.g. [10, 12].")
        ti = real(row[0], f"{at}.time", ge=0.0)
        ni = integer(row[1], f"{at}.n", 0, MAX_ARM_N, "Give the printed number at risk.")
        if i == 0 and ti != 0.0:
            fix = "Start the table with the arm size at time 0, e.g. [0, 21]."
            raise fail(f"{at}.time", _fmt(ti), "0 in the first row", fix)
        if i == 0 and ni not in sizes:
            fix = "The first number at risk is the arm size: check it against [[arm]].n."
            raise fail(f"{at}.n", str(ni), "one of the arm's sizes " + str(list(sizes)), fix)
        if times and ti <= times[-1]:
            fix = "List the at-risk times in increasing order, each once."
            raise fail(f"{at}.time", f"{_fmt(ti)} after {_fmt(times[-1])}", "increasing times", fix)
        if counts and ni > counts[-1]:
            raise fail(
                f"{at}.n",
                f"{ni} after {counts[-1]} in the row before",
                "numbers at risk that never increase",
                "Patients only leave the risk set: check the row against the figure.",
            )
        times.append(ti)
        counts.append(ni)
    return tuple(times), tuple(counts)


def _check_against_table(times, survival, risk_time, risk_n, t: Table, where) -> None:
    for i, (ti, ni) in enumerate(zip(risk_time, risk_n, strict=True)):
        if ni > 0 and ti > times[-1]:
            raise fail(
                f"{t.at('at_risk')}[{i}].time",
                f"{_fmt(ti)} with {ni} at risk, after the last digitised point at "
                f"{_fmt(times[-1])}",
                "at-risk times up to the end of the digitised curve",
                "Digitise the curve to its end, or drop the at-risk rows beyond it.",
            )
        if ni == 0:
            for j, (tj, sj) in enumerate(zip(times, survival, strict=True)):
                if tj > ti and j > 0 and sj < survival[j - 1]:
                    raise fail(
                        f"{t.at('points')}[{j}].survival",
                        f"a drop to {_fmt(sj)} at {_fmt(tj)}, after the at-risk table reached "
                        f"0 at {_fmt(ti)} (at_risk[{i}])",
                        "drops only while patients are at risk",
                        "Check the at-risk row and this point against the figure." + where(j),
                    )
            break


def _reading_error(value: Any, path: str, times: tuple) -> ReadingError:
    t = Table(value, path, _ERROR_KEYS, "a table { time = ..., survival = ... }")
    default_time = DEFAULT_TIME_SHARE * max(times)
    fix = "Give the standard deviation of a reading, in the study's time unit."
    time_sd = real(t.get("time", default_time), t.at("time"), ge=0.0, fix=fix)
    fix = "Give the standard deviation on the probability scale, e.g. 0.005."
    surv_sd = real(t.get("survival", DEFAULT_SURVIVAL_SD), t.at("survival"), ge=0.0, le=0.2,
                   fix=fix)  # fmt: skip
    return ReadingError(time_sd, surv_sd)


def curves_to_mapping(curves: tuple[DigitisedCurve, ...]) -> list[Mapping[str, Any]]:
    """The curves in the file schema, with inline points (for writing a study back)."""
    out = []
    for c in curves:
        points = [list(p) for p in zip(c.time, c.survival, strict=True)]
        m: dict[str, Any] = {"arm": c.arm, "points": points}
        if c.risk_time is not None:
            m["at_risk"] = [[x, n] for x, n in zip(c.risk_time, c.risk_n, strict=True)]
        if c.total_events is not None:
            m["total_events"] = c.total_events
        m["reading_error"] = {"time": c.reading_error.time, "survival": c.reading_error.survival}
        out.append(m)
    return out
