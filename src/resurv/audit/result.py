"""The results of an audit: one :class:`AuditRow` per figure and the :class:`Audit` of a study.

:class:`AuditRow` holds the verdict and the words of one printed figure; :class:`Audit`
gathers the rows, the study-level findings and the landmark graphs, and writes them as a
data frame, a JSON-safe mapping, a JSON file or a fixed-width text table. Both are
importable from :mod:`resurv.audit`.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resurv.audit.landmark_graph import LandmarkGraph
from resurv.errors import OutputError
from resurv.study.schema import Printed

__all__ = ["Audit", "AuditRow"]


@dataclass(frozen=True)
class AuditRow:
    """The audit of one printed figure.

    ``verdict`` is one of :data:`resurv.audit.VERDICTS`; ``words`` states the finding in a
    sentence; ``n_configurations`` and ``deaths_range`` summarise the feasible integer data
    (None when they do not apply or could not be counted); ``details`` holds one mapping per
    rule, candidate or (candidate, estimator) checked. The checks leave ``printed`` and
    ``words`` empty and :func:`resurv.audit.wording.describe` fills them in; ``reason`` (a
    code such as ``"no_candidates"``) and ``message`` (an error's text) say why a figure was
    not checked.
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
    reason: str = field(default="", repr=False)
    message: str = field(default="", repr=False)

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


# -- text and JSON ---------------------------------------------------------------------------


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
