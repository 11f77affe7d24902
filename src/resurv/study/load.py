"""Reading a study file: bytes -> TOML -> validated :class:`~resurv.study.schema.Study`.

:func:`load_study` checks the file itself (exists, not too large, UTF-8, valid TOML) and
hands the parsed mapping to :func:`parse_study`, whose field-by-field checks live in
:mod:`resurv.study.parse`. Every problem raises :class:`~resurv.errors.StudyError` naming the
field. :func:`study_to_mapping` writes a study back in the file schema.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, fields
from os import PathLike
from pathlib import Path
from typing import Any

from resurv.study.checks import fail
from resurv.study.curves import curves_to_mapping
from resurv.study.parse import build_study
from resurv.study.schema import (
    FIGURE_KINDS,
    MAX_FILE_BYTES,
    Figure,
    LogrankFigure,
    MedianFigure,
    Printed,
    Study,
)

_TOML_WHERE_RE = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)")


def load_study(path: str | PathLike[str]) -> Study:
    """Read, parse and validate a study file.

    Parameters
    ----------
    path : str or path-like
        A TOML study file (format: ``models/README.md``).

    Returns
    -------
    Study
        With ``source_sha256`` set to the SHA-256 of the file's bytes.

    Raises
    ------
    StudyError
        For every malformed or inconsistent input, naming the field (``"figure[3].percent"``),
        what was received, what is allowed and what to try. Problems with the file itself
        (missing, too large, not UTF-8, invalid TOML) have the field ``"file"``.

    Examples
    --------
    >>> study = load_study("models/grazi2000.toml")  # doctest: +SKIP
    >>> study.arm("not_resected").n  # doctest: +SKIP
    (3, 6, 9)
    """
    p = Path(path)
    allowed = "an existing, readable TOML study file"
    try:
        if p.is_dir():
            raise fail("file", f"the folder {str(p)!r}", allowed, "Pass models/<study>.toml.")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            fix = "Check that the path names a study file, not a data file."
            raise fail("file", f"{size} bytes", f"at most {MAX_FILE_BYTES} bytes", fix)
        data = p.read_bytes()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise fail("file", f"{str(p)!r} ({reason})", allowed, "Check the path.") from None
    return loads_study(data, base_dir=p.parent)


def loads_study(data: bytes | str, *, base_dir: str | PathLike[str] | None = None) -> Study:
    """Parse and validate a study from the bytes (or text) of a TOML study file.

    ``source_sha256`` is the SHA-256 of the bytes (of the UTF-8 encoding of a text).
    ``base_dir`` is the folder in which the CSV files of digitised curves are looked up.
    """
    data = data.encode("utf-8") if isinstance(data, str) else data
    if len(data) > MAX_FILE_BYTES:
        fix = "Check that this is a study file, not a data file."
        raise fail("file", f"{len(data)} bytes", f"at most {MAX_FILE_BYTES} bytes", fix)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        source = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        received = f"bytes that are not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        fix = "Save the file as UTF-8 text, or check that the path names a study file."
        raise fail("file", received, "a UTF-8 encoded TOML text file", fix) from None
    try:
        mapping = tomllib.loads(source)
    except tomllib.TOMLDecodeError as e:
        message = str(e).splitlines()[0] if str(e) else "invalid TOML"
        where = _TOML_WHERE_RE.search(message)
        place = where.group(1) if where else "an unknown place"
        reason = message[: where.start()] if where else message
        fix = (
            f"Fix the syntax at {place}: strings need double quotes, arrays are [1, 2] and "
            "each key appears once per table."
        )
        raise fail("file", f"invalid TOML at {place} ({reason})", "TOML syntax", fix) from None
    return parse_study(mapping, source_sha256=sha256, base_dir=base_dir)


def parse_study(
    mapping: Mapping[str, Any],
    *,
    source_sha256: str = "",
    base_dir: str | PathLike[str] | None = None,
) -> Study:
    """Validate an already parsed study mapping (the TOML document as a dict).

    The mapping is not modified. Raises :class:`~resurv.errors.StudyError` as
    :func:`load_study` does. ``base_dir``: the folder of the CSV files of digitised curves.
    """
    folder = None if base_dir is None else Path(base_dir)
    return build_study(mapping, source_sha256=source_sha256, base_dir=folder)


def study_to_mapping(study: Study) -> dict[str, Any]:
    """Write a study back as a mapping in the file schema.

    Printed numbers become strings, which keep their printed precision, so
    ``parse_study(study_to_mapping(s), source_sha256=s.source_sha256) == s``.
    """
    s = study
    out: dict[str, Any] = {
        "study": {"id": s.id, "title": s.title, "citation": s.citation, "time_unit": s.time_unit,
                  "rounding": s.rounding, "reference_arm": s.reference_arm},
        "censoring": {"accrual": [s.censoring.accrual_start, s.censoring.accrual_end],
                      "close": s.censoring.close, "loss_rate": s.censoring.loss_rate,
                      "close_candidates": list(s.censoring.close_candidates),
                      "note": s.censoring.note},
        "arm": [{"id": a.id, "n": list(a.n), "label": a.label, "note": a.note} for a in s.arms],
        "figure": [_figure_to_mapping(f) for f in s.figures],
    }  # fmt: skip
    if s.cohort_n is not None:
        out["study"]["cohort_n"] = s.cohort_n
    if s.endpoint_labels:
        out["study"]["endpoints"] = dict(s.endpoint_labels)
    a = s.analysis
    analysis: dict[str, Any] = {"families": list(a.families), "priors": list(a.priors),
                                "landmarks": list(a.landmarks), "draws": a.draws, "tune": a.tune,
                                "chains": a.chains, "seed": a.seed,
                                "hr_important": a.hr_important}  # fmt: skip
    if a.recurrence_followup is not None:
        analysis["recurrence_followup"] = a.recurrence_followup
    if a.literature is not None:
        analysis["literature"] = asdict(a.literature)
    out["analysis"] = analysis
    if s.output_dir is not None:
        out["output"] = {"dir": s.output_dir}
    if s.curves:
        out["curve"] = curves_to_mapping(s.curves)
    return out


def _figure_to_mapping(f: Figure) -> dict[str, Any]:
    kind = next(k for k, cls in FIGURE_KINDS.items() if type(f) is cls)
    out: dict[str, Any] = {"kind": kind}
    for name, value in ((g.name, getattr(f, g.name)) for g in fields(f)):
        if value is None or (name == "interval_width" and f.estimator == "kaplan-meier"):
            continue
        if isinstance(f, LogrankFigure) and name == "p":
            value = str(value) if f.relation == "=" else f"{f.relation}{value}"
        elif isinstance(value, Printed):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) if isinstance(v, Printed) else v for v in value]
        out[name] = value
    if isinstance(f, MedianFigure) and f.value is None:
        out["value"] = "not reached"
    return out
