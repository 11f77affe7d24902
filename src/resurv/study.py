"""The study: typed, immutable description of a published small-cohort survival study.

A study is read from a declarative TOML file (``models/<id>.toml``) by :func:`load_study`,
validated field by field, and handed to every later stage (audit, likelihood, fit, report).
Nothing downstream re-reads the TOML. The file format is documented in ``models/README.md``;
every problem in a file raises :class:`~resurv.errors.StudyError` naming the field.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from os import PathLike
from pathlib import Path
from typing import Any, Literal

Rounding = Literal["round", "truncate", "either"]
Estimator = Literal["actuarial", "kaplan-meier", "unknown"]

TIME_UNITS = ("days", "weeks", "months", "years")
ROUNDINGS = ("round", "truncate", "either")
ESTIMATORS = ("actuarial", "kaplan-meier", "unknown")
FAMILIES = ("exponential", "weibull")
PRIOR_SETS = ("weakly_informative", "sceptical", "enthusiastic", "reference", "literature")
RELATIONS = ("=", "<", "<=", ">", ">=")
MAX_ARM_N = 100_000
MAX_FILE_BYTES = 1_000_000
_TOML_WHERE_RE = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)")

#: length of one calendar year in each time unit (Julian year of 365.25 days)
TIME_UNIT_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}


@dataclass(frozen=True)
class Printed:
    """A number as the paper printed it: value and the number of decimals shown.

    ``Printed(92.6, 1)`` is "92.6"; ``Printed(50.0, 1)`` is "50.0"; ``Printed(50.0, 0)`` is "50".
    """

    value: float
    decimals: int

    def __str__(self) -> str:
        return f"{self.value:.{self.decimals}f}"


@dataclass(frozen=True)
class Arm:
    """One arm of the study. ``n`` holds every candidate size (one when the paper is clear).

    Candidate sizes keep the order of the file.
    """

    id: str
    n: tuple[int, ...]
    label: str = ""
    note: str = ""


@dataclass(frozen=True)
class Censoring:
    """Censoring model: uniform entry over the accrual window, administrative close.

    Times are calendar years (``accrual_start``, ``accrual_end``, ``close``); potential
    follow-up of a patient entering at ``e`` is ``close - e`` (converted to the study's
    time unit). ``loss_rate`` is an optional constant hazard of loss to follow-up per time unit.
    ``close_candidates`` lists alternative close dates for the sensitivity sweep.
    ``note`` states the reasons for these assumptions.
    """

    accrual_start: float
    accrual_end: float
    close: float
    loss_rate: float = 0.0
    close_candidates: tuple[float, ...] = ()
    note: str = ""

    def max_followup(self, time_unit: str) -> float:
        """Longest possible follow-up, ``close - accrual_start``, in ``time_unit``."""
        return (self.close - self.accrual_start) * TIME_UNIT_PER_YEAR[time_unit]


@dataclass(frozen=True)
class Figure:
    """Base class of a printed figure. ``id`` is unique within the study; ``quote`` is the text.

    ``rounding`` overrides the study's rounding convention for this figure (None: inherit,
    see :meth:`Study.rounding_of`); ``note`` explains assumptions made in encoding it.
    """

    id: str
    quote: str = ""
    note: str = field(default="", kw_only=True)
    rounding: Rounding | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class SurvivalFigure(Figure):
    """Landmark survival of one arm at ``time`` (study time unit), printed as a percent."""

    arm: str = ""
    time: float = 0.0
    percent: Printed = Printed(0.0, 1)
    estimator: Estimator = "unknown"
    interval_width: float = 1.0  # life-table interval width (actuarial), study time unit


@dataclass(frozen=True)
class MedianFigure(Figure):
    """Median survival of one arm; ``value`` None means "not reached"."""

    arm: str = ""
    value: Printed | None = None
    ci: tuple[Printed, Printed] | None = None
    ci_level: float = 0.95


@dataclass(frozen=True)
class HazardRatioFigure(Figure):
    """Hazard ratio of ``arms[0]`` relative to ``arms[1]`` with its confidence interval."""

    arms: tuple[str, str] = ("", "")
    hr: Printed = Printed(1.0, 2)
    ci: tuple[Printed, Printed] | None = None
    ci_level: float = 0.95


@dataclass(frozen=True)
class LogrankFigure(Figure):
    """A printed log-rank p-value: exact (``relation='='``) or a bound (``'<'``, ``'>='``...)."""

    arms: tuple[str, ...] = ()
    p: Printed = Printed(1.0, 3)
    relation: Literal["=", "<", "<=", ">", ">="] = "="


@dataclass(frozen=True)
class ProportionFigure(Figure):
    """A printed percentage of an unknown or candidate denominator (e.g. recurrence 50.0%).

    ``n`` holds the candidate denominators; ``arm`` optionally ties it to an arm.
    ``name`` says what is counted ("recurrence", "operative_death", ...).
    """

    name: str = ""
    percent: Printed = Printed(0.0, 1)
    n: tuple[int, ...] = ()
    arm: str | None = None


@dataclass(frozen=True)
class CountFigure(Figure):
    """A printed count of events among candidate denominators (e.g. 0 operative deaths)."""

    name: str = ""
    events: int = 0
    n: tuple[int, ...] = ()
    arm: str | None = None


@dataclass(frozen=True)
class PercentOfFigure(Figure):
    """A printed "a/b (x%)" to check for internal consistency."""

    name: str = ""
    a: int = 0
    b: int = 0
    percent: Printed | None = None


@dataclass(frozen=True)
class FollowupFigure(Figure):
    """Printed follow-up: median and/or range, in the study time unit."""

    median: float | None = None
    range: tuple[float, float] | None = None
    arm: str | None = None


#: figure kind (as written in the study file) -> figure class
FIGURE_KINDS: dict[str, type[Figure]] = {
    "survival": SurvivalFigure,
    "median": MedianFigure,
    "hazard_ratio": HazardRatioFigure,
    "logrank_p": LogrankFigure,
    "proportion": ProportionFigure,
    "count": CountFigure,
    "followup": FollowupFigure,
    "percent_of": PercentOfFigure,
}


@dataclass(frozen=True)
class LiteratureSurvival:
    """Published range for survival of one arm at ``time``: the ``literature`` prior set.

    The prior puts probability ``mass`` on ``lower <= S(time) <= upper`` (survival
    probabilities, not percents); ``source`` cites where the range comes from.
    """

    arm: str
    time: float
    lower: float
    upper: float
    mass: float = 0.9
    source: str = ""


@dataclass(frozen=True)
class Analysis:
    """What to run: families, prior sets, sampler settings, landmark times to report.

    ``hr_important`` is the clinically important hazard ratio of the comparison arm relative
    to the reference arm (used by the enthusiastic prior and the reported probabilities).
    """

    families: tuple[str, ...] = ("exponential", "weibull")
    priors: tuple[str, ...] = ("weakly_informative", "sceptical", "enthusiastic", "reference")
    landmarks: tuple[float, ...] = ()
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 20000
    recurrence_followup: float | None = None  # assumed mean follow-up for recurrence rate
    literature: LiteratureSurvival | None = None
    hr_important: float = 2.0


@dataclass(frozen=True)
class Study:
    """A published study: arms, printed figures, assumptions and the analyses to run."""

    id: str
    title: str
    citation: str
    time_unit: str
    rounding: Rounding
    cohort_n: int | None
    reference_arm: str
    arms: tuple[Arm, ...]
    figures: tuple[Figure, ...]
    censoring: Censoring
    analysis: Analysis = field(default_factory=Analysis)
    source_sha256: str = ""
    output_dir: str | None = None  # folder name under the project's results/ folder

    def arm(self, arm_id: str) -> Arm:
        """Return the arm called ``arm_id``."""
        for a in self.arms:
            if a.id == arm_id:
                return a
        raise KeyError(f"no arm {arm_id!r}; arms are {[a.id for a in self.arms]}")

    def figure(self, figure_id: str) -> Figure:
        """Return the figure called ``figure_id``."""
        for f in self.figures:
            if f.id == figure_id:
                return f
        raise KeyError(f"no figure {figure_id!r}; figures are {[f.id for f in self.figures]}")

    def figures_of(self, cls: type[Figure]) -> tuple[Figure, ...]:
        """Return the figures of one kind, in file order."""
        return tuple(f for f in self.figures if isinstance(f, cls))

    def rounding_of(self, figure: Figure) -> Rounding:
        """Return the rounding convention of ``figure``: its own override, else the study's."""
        return figure.rounding if figure.rounding is not None else self.rounding

    @property
    def max_followup(self) -> float:
        """Longest possible follow-up (``close - accrual_start``) in the study's time unit."""
        return self.censoring.max_followup(self.time_unit)


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
    from resurv._study_parse import fail

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
    return loads_study(data)


def loads_study(data: bytes | str) -> Study:
    """Parse and validate a study from the bytes (or text) of a TOML study file.

    ``source_sha256`` is the SHA-256 of the bytes (of the UTF-8 encoding of a text).
    """
    from resurv._study_parse import fail

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
    return parse_study(mapping, source_sha256=sha256)


def parse_study(mapping: Mapping[str, Any], *, source_sha256: str = "") -> Study:
    """Validate an already parsed study mapping (the TOML document as a dict).

    The mapping is not modified. Raises :class:`~resurv.errors.StudyError` as
    :func:`load_study` does.
    """
    from resurv._study_parse import build_study

    return build_study(mapping, source_sha256=source_sha256)


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
