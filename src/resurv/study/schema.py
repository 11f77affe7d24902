"""The study: typed, immutable description of a published small-cohort survival study.

A study is read from a declarative TOML file (``models/<id>.toml``) by
:func:`resurv.study.load_study`, validated field by field, and handed to every later stage
(audit, likelihood, fit, report). Nothing downstream re-reads the TOML. This module holds the
value types (:class:`Study`, :class:`Arm`, the figure kinds, :class:`Printed`) and the
schema's constants; reading and validating a file is :mod:`resurv.study.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from resurv.study.digitised import DigitisedCurve

Rounding = Literal["round", "truncate", "either"]
Estimator = Literal["actuarial", "kaplan-meier", "unknown"]
TIME_UNITS = ("days", "weeks", "months", "years")
ROUNDINGS = ("round", "truncate", "either")
ESTIMATORS = ("actuarial", "kaplan-meier", "unknown")
FAMILIES = ("exponential", "weibull", "cure")
PRIOR_SETS = ("weakly_informative", "sceptical", "enthusiastic", "reference", "literature")
RELATIONS = ("=", "<", "<=", ">", ">=")
#: endpoints every study may name, with the label the report gives them
ENDPOINTS = {
    "os": "overall survival",
    "dfs": "disease-free survival",
    "rfs": "recurrence-free survival",
    "pfs": "progression-free survival",
    "efs": "event-free survival",
    "css": "cancer-specific survival",
    "ttr": "time to recurrence",
}
#: the endpoint of a figure that names none
DEFAULT_ENDPOINT = "os"
#: endpoints whose events are recurrences: their hazards are recurrence hazards
RECURRENCE_ENDPOINTS = ("dfs", "rfs", "ttr")
MAX_ARM_N = 100_000
MAX_FILE_BYTES = 1_000_000
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
    endpoint: str = field(default=DEFAULT_ENDPOINT, kw_only=True)


@dataclass(frozen=True)
class MedianFigure(Figure):
    """Median survival of one arm; ``value`` None means "not reached"."""

    arm: str = ""
    value: Printed | None = None
    ci: tuple[Printed, Printed] | None = None
    ci_level: float = 0.95
    endpoint: str = field(default=DEFAULT_ENDPOINT, kw_only=True)


@dataclass(frozen=True)
class HazardRatioFigure(Figure):
    """Hazard ratio of ``arms[0]`` relative to ``arms[1]`` with its confidence interval."""

    arms: tuple[str, str] = ("", "")
    hr: Printed = Printed(1.0, 2)
    ci: tuple[Printed, Printed] | None = None
    ci_level: float = 0.95
    endpoint: str = field(default=DEFAULT_ENDPOINT, kw_only=True)


@dataclass(frozen=True)
class LogrankFigure(Figure):
    """A printed log-rank p-value: exact (``relation='='``) or a bound (``'<'``, ``'>='``...)."""

    arms: tuple[str, ...] = ()
    p: Printed = Printed(1.0, 3)
    relation: Literal["=", "<", "<=", ">", ">="] = "="
    endpoint: str = field(default=DEFAULT_ENDPOINT, kw_only=True)


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
    endpoint: str = field(default=DEFAULT_ENDPOINT, kw_only=True)


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
    #: endpoints declared in ``[study] endpoints``, as (name, label) pairs in file order
    endpoint_labels: tuple[tuple[str, str], ...] = ()
    curves: tuple[DigitisedCurve, ...] = ()  # digitised Kaplan-Meier curves, one per arm

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
    def endpoints(self) -> tuple[str, ...]:
        """The endpoints the figures name: ``"os"`` first when present, then in file order.

        A study whose figures name no endpoint has the one endpoint ``"os"``.
        """
        named = dict.fromkeys(endpoint_of(f) for f in self.figures)
        named.pop(None, None)
        if not named:
            return (DEFAULT_ENDPOINT,)
        return tuple(sorted(named, key=lambda e: e != DEFAULT_ENDPOINT))

    def endpoint_label(self, name: str) -> str:
        """The report's label of an endpoint: the file's, else the built-in one, else the name."""
        return dict(self.endpoint_labels).get(name) or ENDPOINTS.get(name, name)

    def for_endpoint(self, name: str) -> Study:
        """The study restricted to one endpoint, to be reanalysed on its own.

        Each endpoint has hazards of its own per arm, so each is fitted separately on the
        figures that name it. Figures that take no endpoint (``count``, ``percent_of``,
        ``followup``) describe the cohort, not one endpoint's events: they go with
        ``"os"`` (with the first endpoint when no figure is about ``"os"``), and so do the
        digitised curves. The literature
        prior describes overall survival, so a study restricted to another endpoint drops
        the ``"literature"`` prior set. The title names the endpoint when the study has
        several; the id is unchanged.
        """
        if name not in self.endpoints:
            raise KeyError(f"no endpoint {name!r}; the figures name {list(self.endpoints)}")
        if self.endpoints == (name,):
            return self
        home = self.endpoints[0]
        figures = tuple(
            f
            for f in self.figures
            if endpoint_of(f) == name or (endpoint_of(f) is None and name == home)
        )
        analysis = self.analysis
        if name != DEFAULT_ENDPOINT and "literature" in analysis.priors:
            priors = tuple(p for p in analysis.priors if p != "literature") or Analysis.priors
            analysis = replace(analysis, priors=priors, literature=None)
        title = f"{self.title} ({self.endpoint_label(name)})"
        curves = self.curves if name == home else ()  # digitised curves: overall survival
        return replace(self, figures=figures, analysis=analysis, title=title, curves=curves)

    @property
    def max_followup(self) -> float:
        """Longest possible follow-up (``close - accrual_start``) in the study's time unit."""
        return self.censoring.max_followup(self.time_unit)


def endpoint_of(figure: Figure) -> str | None:
    """The endpoint a figure is about, or None for figures that take no endpoint."""
    return getattr(figure, "endpoint", None)


def report_times(study: Study) -> tuple[float, ...]:
    """Landmark times to report: the study's ``landmarks`` and every printed landmark time."""
    times = set(study.analysis.landmarks)
    times |= {f.time for f in study.figures if isinstance(f, SurvivalFigure)}
    return tuple(sorted(t for t in times if t <= study.max_followup))
