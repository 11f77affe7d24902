"""One replicate of a calibration: simulate, print, fit and rank.

:class:`ReplicateTask` is the unit of work (the design, the settings, an index and a seed);
:func:`run_replicate` simulates and prints the replicate's figures, builds the likelihood
terms of one fixed form from them, fits them and returns the rank and interval coverage of
each true parameter as a JSON-safe dict. Importable from :mod:`resurv.calibration`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from resurv.calibration.figures import _prior_kwargs, simulate_figures
from resurv.calibration.settings import SimulationSettings
from resurv.errors import AuditError, FitError, StudyError
from resurv.fit.sampling import ResurvFitWarning, fit
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_terms import ApproxLandmark
from resurv.model.likelihood import landmark_term
from resurv.model.study_terms import study_terms
from resurv.study.schema import HazardRatioFigure, Study, SurvivalFigure


@dataclass(frozen=True)
class ReplicateTask:
    """One replicate: the design, the settings, its index and its own seed."""

    design: Study
    settings: SimulationSettings
    index: int
    seed: int

    @property
    def key(self) -> str:
        """Checkpoint name, e.g. ``replicate-00012``."""
        return f"replicate-{self.index:05d}"


def _terms(study: Study, settings: SimulationSettings, censoring: CensoringModel):
    """Landmark terms of one fixed form (one model structure); the others by study_terms."""
    by_arm: dict[str, list[SurvivalFigure]] = {}
    for f in study.figures_of(SurvivalFigure):
        by_arm.setdefault(f.arm, []).append(f)
    terms, methods = [], {}
    for arm_id, figs in by_arm.items():
        figs = sorted(figs, key=lambda f: f.time)
        if settings.landmark == "approximate":
            terms.append(ApproxLandmark(arm_id, [f.time for f in figs], [f.percent for f in figs],
                                        study.arm(arm_id).n, censoring))  # fmt: skip
            methods[arm_id] = "approximate: chosen by the simulation settings"
            continue
        choice = landmark_term(study.arm(arm_id), figs, censoring=censoring,
                               rounding=study.rounding, form=settings.landmark_form)  # fmt: skip
        if settings.landmark == "exact" and choice.method != "exact":
            raise AuditError(f"arm {arm_id!r} has no exact landmark term: {choice.reason}")
        terms.append(choice.term)
        methods[arm_id] = f"{choice.method}: {choice.reason}"
    others = tuple(f for f in study.figures if not isinstance(f, SurvivalFigure))
    terms += study_terms(replace(study, figures=others), censoring)[0]
    for term in terms:
        entries = sum(np.asarray(v).size for v in term.data().values())
        if entries > settings.max_term_entries:
            raise AuditError(
                f"term {term.name} reads {entries:,} array entries per evaluation (more than "
                f"max_term_entries={settings.max_term_entries:,}): too slow to fit"
            )
    return terms, methods


def run_replicate(task: ReplicateTask) -> dict[str, Any]:
    """Simulate, print, fit and rank one replicate (module-level: picklable for executors).

    Returns a JSON-safe dict: ``status`` "ok", "failed" (diagnostics, fit error) or
    "unhandled" (``reason`` says why the printed figures cannot be used); ``rank``,
    ``covered`` and ``posterior_median`` per parameter for fitted replicates.
    """
    start = time.perf_counter()
    s, design = task.settings, task.design
    sim = simulate_figures(design, s.family, s.prior, task.seed)
    shape = {"shape": sim["shape"]} if s.family == "weibull" else {}
    truth = {f"log_hazard[{a}]": math.log(v) for a, v in sim["hazard"].items()} | shape
    out: dict[str, Any] = {"replicate": task.index, "seed": task.seed, "n": sim["n"],
                           "truth": truth, "printed": {}, "status": "unhandled",
                           "reason": sim["reason"]}  # fmt: skip
    study = sim["study"]
    if study is not None:
        out["printed"] = {f.id: _figure_text(f) for f in study.figures}
        censoring = CensoringModel.from_study(study)
        try:
            terms, out["methods"] = _terms(study, s, censoring)
        except (AuditError, StudyError, ValueError) as exc:
            out["reason"] = f"the printed figures cannot enter the likelihood: {exc}"
            study = None
    if study is not None:
        fit_seed = int(np.random.SeedSequence(task.seed).spawn(3)[2].generate_state(1)[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResurvFitWarning)
                res = fit(terms, arms=tuple(a.id for a in study.arms),
                          reference_arm=study.reference_arm, family=s.family, prior=s.prior,
                          prior_kwargs=_prior_kwargs(study), draws=s.draws, tune=s.tune,
                          chains=s.chains, cores=s.cores, seed=fit_seed)  # fmt: skip
        except FitError as exc:
            out |= {"status": "failed", "reason": f"fit error: {exc}"}
        else:
            failures = "; ".join(f.message() for f in res.diagnostics.failures)
            out |= {"status": res.status, "reason": failures}
            out["compiled_from_cache"] = bool(res.settings["compiled_from_cache"])
            out["attempts"] = len(res.settings["attempts"])
            out |= _ranks(res.idata["posterior"], truth, s)
    out["seconds"] = time.perf_counter() - start
    return out


def _figure_text(f) -> str:
    if isinstance(f, SurvivalFigure):
        return f"{f.percent}%"
    if isinstance(f, HazardRatioFigure):
        return f"{f.hr}" + (f" ({f.ci[0]}-{f.ci[1]})" if f.ci else "")
    value = "not reached" if f.value is None else str(f.value)
    return value + (f" ({f.ci[0]}-{f.ci[1]})" if f.ci else "")


def _ranks(posterior, truth: dict, s: SimulationSettings) -> dict[str, Any]:
    rank, covered, median = {}, {}, {}
    for name, value in truth.items():
        if name == "shape":
            draws = posterior["shape"].transpose("chain", "draw").values
        else:  # log_hazard[<arm>]
            arm = name[len("log_hazard[") : -1]
            draws = posterior["log_hazard"].sel(arm=arm).transpose("chain", "draw").values
        # a retried fit may hold a multiple of the draws: thin it more, to the same count
        thinned = draws[:, :: s.thin * (draws.shape[1] // s.draws)].ravel()
        if thinned.size != s.kept_draws:
            raise ValueError(f"{thinned.size} thinned draws; expected {s.kept_draws}")
        rank[name] = int(np.sum(thinned < value))
        median[name] = float(np.median(draws))
        bounds = [((1 - lv) / 2, (1 + lv) / 2) for lv in s.levels]
        limits = np.quantile(draws, np.ravel(bounds)).reshape(-1, 2)
        covered[name] = {f"{lv:g}": bool(lo <= value <= hi)
                         for lv, (lo, hi) in zip(s.levels, limits, strict=True)}  # fmt: skip
    return {"rank": rank, "covered": covered, "posterior_median": median, "n_draws": thinned.size}
