"""The value objects of a run: its settings, its fit tasks and what they produce.

:class:`RunSettings` holds the settings of a run, :class:`FitTask` one fit of it (everything
a worker process needs), :class:`FitOutcome` what one fit returns, :class:`Reanalysis`
everything a run produces in memory and :class:`RunOutcome` what ``resurv run`` reports
back. All are importable from :mod:`resurv.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from resurv.audit.result import Audit
from resurv.study.schema import Study


@dataclass(frozen=True)
class RunSettings:
    """Settings of a run; ``None`` takes the study file's value."""

    families: tuple[str, ...] | None = None
    priors: tuple[str, ...] | None = None
    seed: int | None = None
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    workers: int = 1
    sensitivity: bool = True
    ppc_draws: int = 1000
    pseudo_datasets: int = 20
    thresholds: dict | None = None
    marginal_likelihood: bool = True
    #: compile the later model structures in a second process while the first fits run
    #: (only on a first run, when they are not in the on-disk cache; one worker at a time)
    background_compile: bool = True
    #: plausible reconstructions per digitised curve (studies with [[curve]] tables only)
    plausible: int = 20


@dataclass(frozen=True)
class FitTask:
    """One fit of a run: everything a worker process needs."""

    study: Study
    family: str
    prior: str
    close: float
    seed: int
    draws: int
    tune: int
    chains: int
    primary: bool = False
    ppc_draws: int = 1000
    pseudo_datasets: int = 20
    thresholds: dict | None = None

    @property
    def key(self) -> str:
        """``<family>-<prior>-close<close>``."""
        return f"{self.family}-{self.prior}-close{self.close:g}"


@dataclass
class FitOutcome:
    """What one fit task returns (picklable): the posterior, tables and status."""

    task: FitTask
    status: str
    failures: list[str]
    idata: xr.DataTree
    quantities: list[dict]
    diagnostics: pd.DataFrame
    candidates: list[dict]
    curves: pd.DataFrame
    landmark_methods: dict[str, str]
    seconds: float
    ppc: pd.DataFrame | None = None
    checks: pd.DataFrame | None = None
    pseudo: pd.DataFrame | None = None
    pseudo_frequentist: pd.DataFrame | None = None
    #: plateau checks (:func:`resurv.compare.plateau.plateau_checks`), for studies with one
    plateaus: pd.DataFrame | None = None


@dataclass
class Reanalysis:
    """Everything a run produces, in memory."""

    study: Study
    audit: Audit
    settings: dict
    outcomes: list[FitOutcome]
    comparison: pd.DataFrame
    assumptions: list[str]
    marginal: list[dict] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    #: the digitised curves' analysis (:class:`resurv.run.curves.CurveAnalysis`), if any
    curves: Any = None

    @property
    def primary(self) -> FitOutcome:
        """The primary fit (first family x first prior set at the main close)."""
        return next(o for o in self.outcomes if o.task.primary)

    @property
    def all_passed(self) -> bool:
        """Whether every fit passed its diagnostics (the curves' fits too, if any)."""
        curves_ok = self.curves is None or self.curves.passed
        return all(o.status == "ok" for o in self.outcomes) and curves_ok


@dataclass
class RunOutcome:
    """What ``resurv run`` reports back: where the results are and whether all fits passed."""

    folder: Path
    reanalysis: Reanalysis
    #: endpoint -> its reanalysis, when the study has several (``reanalysis`` is the first)
    endpoints: dict[str, Reanalysis] = field(default_factory=dict)

    @property
    def all_passed(self) -> bool:
        """Whether every fit (of every endpoint) passed its diagnostics."""
        return all(r.all_passed for r in (self.endpoints or {"": self.reanalysis}).values())

    def summary_text(self) -> str:
        """A few lines for the terminal."""
        r = self.reanalysis
        failed = [o.task.key for o in r.outcomes if o.status != "ok"]
        lines = [
            f"{len(r.outcomes)} fits in {r.seconds['total']:.0f} s; results in {self.folder}",
            f"report: {self.folder / 'report.html'}",
        ]
        for name, other in list(self.endpoints.items())[1:]:
            failed += [f"{name}/{o.task.key}" for o in other.outcomes if o.status != "ok"]
            lines.append(f"endpoint {name}: {len(other.outcomes)} fits, in endpoints/{name}/")
        if r.curves is not None:
            c = r.curves
            bad = [m for m, f in enumerate(c.pooled.fits) if not f.passed]
            lines.append(
                f"digitised curves: {c.plausible} plausible reconstructions pooled "
                f"({c.family}, {c.prior}); "
                + (f"FAILED DIAGNOSTICS in reconstructions {bad}" if bad else "all fits passed")
            )
            failed += [f"curves-reconstruction-{m}" for m in bad]
        if failed:
            lines.append(
                f"FAILED DIAGNOSTICS ({len(failed)}): {', '.join(failed)}; see the report."
            )
        else:
            lines.append("every fit passed its diagnostics")
        return "\n".join(lines)
