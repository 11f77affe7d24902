"""The reanalysis of a study: audit, fit every family x prior set, compare, write, report.

:func:`reanalyse` is the Python API (a pure function of the study and the settings);
:func:`run_study` adds loading, the atomic results folder and the report, as the CLI's
``resurv run`` does. Every fit is one task of :func:`resurv.parallel.run_tasks`, so a process
pool or a Dask cluster's executor can run them; each task carries its own seed.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from resurv import __version__
from resurv.audit import Audit, audit
from resurv.censoring import CensoringModel
from resurv.compare import (
    comparison_table,
    conjugate_draws,
    figure_kind,
    posterior_quantities,
    report_times,
    term_name,
)
from resurv.errors import OutputError
from resurv.fit import FitResult, fit
from resurv.likelihood import (
    CountTerm,
    HazardRatioTerm,
    MedianTerm,
    ProportionTerm,
    RateTerm,
    landmark_term,
)
from resurv.model_comparison import SMCTask, smc_task
from resurv.outputs import atomic_folder, check_destination, versions, write_json
from resurv.parallel import local_executor, run_tasks, task_seeds
from resurv.predictive import draws_from_fit, predictive_checks, pseudo_datasets, replicate_studies
from resurv.priors import get_prior_set, sample_prior
from resurv.study import (
    CountFigure,
    FollowupFigure,
    HazardRatioFigure,
    MedianFigure,
    ProportionFigure,
    Study,
    SurvivalFigure,
    load_study,
)

__all__ = [
    "RunSettings",
    "FitTask",
    "FitOutcome",
    "Reanalysis",
    "reanalyse",
    "run_study",
    "study_terms",
]


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


def study_terms(study: Study, censoring: CensoringModel) -> tuple[list, dict[str, str]]:
    """The survival model's likelihood terms, and how each landmark term was chosen.

    Landmark survival, hazard ratios and medians inform ``(lam, k)``. Proportions, counts
    and rates have parameters of their own that no other figure informs: their posteriors
    are conjugate (:func:`count_terms`, drawn exactly by
    :func:`resurv.compare.conjugate_draws`), so they stay out of the sampled model.
    """
    terms, methods = [], {}
    by_arm: dict[str, list[SurvivalFigure]] = {}
    for f in study.figures:
        if isinstance(f, SurvivalFigure):
            by_arm.setdefault(f.arm, []).append(f)
    for arm_id, figures in by_arm.items():
        choice = landmark_term(
            study.arm(arm_id), figures, censoring=censoring, rounding=study.rounding
        )
        terms.append(choice.term)
        methods[arm_id] = f"{choice.method}: {choice.reason}"
    for f in study.figures:
        name = term_name(f.id)
        if isinstance(f, HazardRatioFigure):
            terms.append(HazardRatioTerm.from_figure(f, name=name))
        elif isinstance(f, MedianFigure):
            terms.append(
                MedianTerm.from_figure(
                    f,
                    name=name,
                    censoring=censoring,
                    n_candidates=study.arm(f.arm).n,
                    t_max=_followup_max(study, censoring),
                )
            )
    return terms, methods


def count_terms(study: Study, censoring: CensoringModel) -> list:
    """Proportion, count and rate terms (conjugate Beta/Gamma mixtures; see study_terms)."""
    terms = []
    for f in study.figures:
        name = term_name(f.id)
        if isinstance(f, ProportionFigure):
            rounding = f.rounding or study.rounding
            term = ProportionTerm.from_printed(name, f.percent, f.n, rounding, arm=f.arm)
            terms.append(term)
            if "recurrence" in f.id or "recurrence" in (f.name or ""):
                followup = recurrence_followup(study, censoring)
                terms.append(RateTerm(f"{name}_rate", term.counts, followup, arm=f.arm))
        elif isinstance(f, CountFigure):
            terms.append(CountTerm(name, f.events, f.n, arm=f.arm))
    return terms


def _followup_max(study: Study, censoring: CensoringModel) -> float:
    """Longest follow-up: a printed follow-up range if there is one, else the censoring model's."""
    ranges = [f.range[1] for f in study.figures if isinstance(f, FollowupFigure) and f.range]
    return float(max(ranges)) if ranges else float(censoring.max_followup)


def recurrence_followup(study: Study, censoring: CensoringModel) -> float:
    """Mean follow-up per patient for a recurrence rate: the study's, else the censoring model's.

    The default is the mean potential follow-up, ``close - (accrual start + end) / 2``: an
    assumption the report states (deaths and recurrences shorten real follow-up).
    """
    if study.analysis.recurrence_followup is not None:
        return float(study.analysis.recurrence_followup)
    return 0.5 * (censoring.min_followup + censoring.max_followup)


def _curves(res: FitResult, study: Study) -> pd.DataFrame:
    grid = np.linspace(0.0, max(report_times(study) or (study.max_followup,)) * 1.25, 61)
    surv = res.surv_at(grid).transpose("chain", "draw", "arm", "time")
    q = np.quantile(
        surv.values.reshape(-1, *surv.shape[2:]), [0.025, 0.25, 0.5, 0.75, 0.975], axis=0
    )
    rows = []
    for i, arm in enumerate(surv["arm"].values):
        for j, t in enumerate(grid):
            rows.append((str(arm), float(t), *(float(v) for v in q[:, i, j])))
    return pd.DataFrame(rows, columns=["arm", "time", "q025", "q25", "median", "q75", "q975"])


def _diagnostics_frame(res: FitResult) -> pd.DataFrame:
    frame = res.diagnostics.to_frame().reset_index()
    frame = frame.rename(columns={"r_hat": "rhat", "index": "variable"})
    frame["divergences"] = res.diagnostics.to_dict().get("divergences", np.nan)
    bfmi = res.diagnostics.to_dict().get("bfmi", [])
    frame["bfmi_min"] = float(np.min(bfmi)) if len(bfmi) else np.nan
    frame["treedepth_frac"] = res.diagnostics.treedepth_frac
    frame["passed"] = res.passed
    frame["failures"] = "; ".join(f.message() for f in res.diagnostics.failures)
    return frame


def fit_task(task: FitTask) -> FitOutcome:
    """Run one fit of a study (module-level, so process and Dask executors can call it)."""
    start = time.perf_counter()
    study = task.study
    censoring = CensoringModel.from_study(study, close=task.close)
    terms, methods = study_terms(study, censoring)
    res = fit(
        terms,
        arms=tuple(a.id for a in study.arms),
        reference_arm=study.reference_arm,
        family=task.family,
        prior=task.prior,
        prior_kwargs={
            "hr_important": study.analysis.hr_important,
            "literature": study.analysis.literature,
            "time_unit": study.time_unit,
        },
        draws=task.draws,
        tune=task.tune,
        chains=task.chains,
        seed=task.seed,
        times=report_times(study),
        thresholds=task.thresholds,
    )
    draws = draws_from_fit(res, study, censoring, size=500, seed=task.seed)
    candidates = []
    for arm in study.arms:
        for n in arm.n:
            weight = float(np.mean(draws.n[arm.id] == n))
            candidates.append({"arm": arm.id, "n": int(n), "posterior_weight": weight})
    conjugate = conjugate_draws(count_terms(study, censoring), size=4000, seed=task.seed)
    out = FitOutcome(
        task=task,
        status=res.status,
        failures=[f.message() for f in res.diagnostics.failures],
        idata=res.idata,
        quantities=posterior_quantities(study, res, conjugate),
        diagnostics=_diagnostics_frame(res),
        candidates=candidates,
        curves=_curves(res, study),
        landmark_methods=methods,
        seconds=0.0,
    )
    if task.primary:
        pdraws = draws_from_fit(res, study, censoring, size=task.ppc_draws, seed=task.seed + 1)
        out.ppc = replicate_studies(study, pdraws, censoring, seed=task.seed + 2)
        out.checks = predictive_checks(study, out.ppc)
        out.pseudo, out.pseudo_frequentist = pseudo_datasets(
            study, pdraws, censoring, n_datasets=task.pseudo_datasets, seed=task.seed + 3
        )
    out.seconds = time.perf_counter() - start
    return out


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

    @property
    def primary(self) -> FitOutcome:
        """The primary fit (first family x first prior set at the main close)."""
        return next(o for o in self.outcomes if o.task.primary)

    @property
    def all_passed(self) -> bool:
        """Whether every fit passed its diagnostics."""
        return all(o.status == "ok" for o in self.outcomes)


def _tasks(study: Study, settings: RunSettings) -> list[FitTask]:
    a = study.analysis
    families = settings.families or a.families
    priors = settings.priors or a.priors
    base = {
        "study": study,
        "draws": settings.draws or a.draws,
        "tune": settings.tune or a.tune,
        "chains": settings.chains or a.chains,
        "ppc_draws": settings.ppc_draws,
        "pseudo_datasets": settings.pseudo_datasets,
        "thresholds": settings.thresholds,
    }
    close = study.censoring.close
    combos = [(f, p, close) for f in families for p in priors]
    if settings.sensitivity:
        others = [c for c in study.censoring.close_candidates if c != close]
        combos += [(families[0], priors[0], c) for c in others]
    seeds = task_seeds(settings.seed if settings.seed is not None else a.seed, len(combos))
    return [
        FitTask(family=f, prior=p, close=c, seed=s, primary=(i == 0), **base)
        for i, ((f, p, c), s) in enumerate(zip(combos, seeds, strict=True))
    ]


def _smc_tasks(study: Study, tasks: list[FitTask]) -> list[SMCTask]:
    close = study.censoring.close
    pairs = dict.fromkeys((t.family, t.prior) for t in tasks if t.close == close)
    seeds = task_seeds(tasks[0].seed, len(pairs))
    out = []
    for (family, prior), seed in zip(pairs, seeds, strict=True):
        ps = get_prior_set(
            prior,
            hr_important=study.analysis.hr_important,
            literature=study.analysis.literature,
            time_unit=study.time_unit,
        )
        if ps.is_proper:
            out.append(SMCTask(study=study, family=family, prior=prior, close=close, seed=seed))
    return out


def assumptions(study: Study, methods: dict[str, str], *, sensitivity: bool = True) -> list[str]:
    """Every assumption of the run, in plain words."""
    c = study.censoring
    out = []
    for arm in study.arms:
        if len(arm.n) > 1:
            out.append(
                f"Arm '{arm.id}' size is not printed: candidates {list(arm.n)}, weighed equally a "
                f"priori and by the likelihood of the printed figures. {arm.note}".strip()
            )
    out.append(
        f"Censoring: entry uniform over {c.accrual_start:g}-{c.accrual_end:g}, administrative "
        f"close at {c.close:g}, loss to follow-up hazard {c.loss_rate:g} "
        f"per {study.time_unit[:-1]}. " + (c.note or "")
    )
    if c.close_candidates and sensitivity:
        out.append(
            f"Sensitivity: study close varied over {list(c.close_candidates)} (primary family "
            "and prior set)."
        )
    out.append(
        f"Printed percentages read under {study.rounding!r} rounding "
        "(round half up and/or truncation), per figure unless the figure says otherwise."
    )
    for arm, method in methods.items():
        out.append(f"Landmark likelihood of arm '{arm}': {method}.")
    for f in study.figures:
        if isinstance(f, SurvivalFigure):
            out.append(
                f"{f.id}: {f.estimator} estimator with {f.interval_width:g}-{study.time_unit[:-1]} "
                "intervals (censored patients count as half at risk)."
                if f.estimator == "actuarial"
                else f"{f.id}: {f.estimator} estimator."
            )
        if isinstance(f, ProportionFigure) and "recurrence" in f.id:
            fu = recurrence_followup(study, CensoringModel.from_study(study))
            src = (
                "given in the study file"
                if study.analysis.recurrence_followup
                else ("assumed: the mean potential follow-up of the censoring model")
            )
            out.append(
                f"Recurrence rate per patient-{study.time_unit[:-1]}: mean follow-up "
                f"{fu:.2f} {study.time_unit} per patient ({src})."
            )
    out.append(
        "The printed log-rank p-value is not a likelihood term; it is checked by posterior "
        "prediction (replicate studies)."
    )
    out.append(
        f"Hazard ratios are relative to '{study.reference_arm}'; the clinically important HR "
        f"is {study.analysis.hr_important:g} (sceptical and enthusiastic priors)."
    )
    if study.analysis.literature is not None:
        lit = study.analysis.literature
        out.append(
            f"Literature prior: S({lit.time:g}) of '{lit.arm}' in [{lit.lower:g}, {lit.upper:g}] "
            f"with probability {lit.mass:g} ({lit.source})."
        )
    return out


def reanalyse(
    study: Study,
    settings: RunSettings | None = None,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Reanalysis:
    """Audit a study, fit every family x prior set (and the sensitivity sweep), compare.

    Examples
    --------
    >>> from resurv.study import load_study
    >>> study = load_study("models/grazi2000.toml")  # doctest: +SKIP
    >>> result = reanalyse(study, RunSettings(families=("exponential",),
    ...                    priors=("weakly_informative",), sensitivity=False))  # doctest: +SKIP
    >>> result.comparison[["figure_id", "printed", "posterior_median"]]  # doctest: +SKIP
    """
    settings = settings or RunSettings()
    t0 = time.perf_counter()
    aud = audit(study)
    t_audit = time.perf_counter() - t0
    tasks = _tasks(study, settings)
    own_pool = executor is None and settings.workers > 1
    pool = local_executor(settings.workers) if own_pool else executor
    smc = _smc_tasks(study, tasks) if settings.marginal_likelihood else []
    total = len(tasks) + len(smc)

    def tick(offset):
        return None if progress is None else (lambda done, _n: progress(offset + done, total))

    try:
        outcomes = run_tasks(
            fit_task, tasks, keys=[t.key for t in tasks], executor=pool, on_done=tick(0)
        )
        marginal = run_tasks(
            smc_task, smc, keys=[t.key for t in smc], executor=pool, on_done=tick(len(tasks))
        )
    finally:
        if own_pool:
            pool.shutdown()
    primary = next(o for o in outcomes if o.task.primary)
    comparison = comparison_table(
        study, aud, primary.quantities, primary.checks, primary.pseudo_frequentist
    )
    used = {
        "families": list(dict.fromkeys(t.family for t in tasks)),
        "priors": list(dict.fromkeys(t.prior for t in tasks)),
        "draws": tasks[0].draws,
        "tune": tasks[0].tune,
        "chains": tasks[0].chains,
        "close": study.censoring.close,
        "close_candidates": list(study.censoring.close_candidates),
        "sensitivity": settings.sensitivity,
        "ppc_draws": settings.ppc_draws,
        "pseudo_datasets": settings.pseudo_datasets,
        "workers": settings.workers,
        "thresholds": dict(settings.thresholds or {}),
        "marginal_likelihood": settings.marginal_likelihood,
        "master_seed": settings.seed if settings.seed is not None else study.analysis.seed,
    }
    return Reanalysis(
        study=study,
        audit=aud,
        settings=used,
        outcomes=outcomes,
        comparison=comparison,
        assumptions=assumptions(study, primary.landmark_methods, sensitivity=settings.sensitivity),
        marginal=marginal,
        seconds={
            "audit": t_audit,
            "fits": [o.seconds for o in outcomes],
            "total": time.perf_counter() - t0,
        },
    )


def _prior_posterior(result: Reanalysis, rng_seed: int) -> pd.DataFrame:
    study = result.study
    arms = tuple(a.id for a in study.arms)
    frames = []
    for o in result.outcomes:
        post = o.idata["posterior"].dataset
        thin = {}
        for name in ("log_hazard",):
            da = post[name].stack(sample=("chain", "draw")).transpose("sample", "arm").values
            for i, arm in enumerate(arms):
                thin[f"log_hazard[{arm}]"] = da[:: max(1, da.shape[0] // 1000), i]
        if "shape" in post:
            k = post["shape"].stack(sample=("chain", "draw")).values
            thin["log_shape"] = np.log(k[:: max(1, k.size // 1000)])
        for p, values in thin.items():
            frames.append(
                pd.DataFrame(
                    {
                        "fit_key": o.task.key,
                        "parameter": p,
                        "source": "posterior",
                        "draw": np.arange(values.size),
                        "value": values,
                    }
                )
            )
        prior = get_prior_set(
            o.task.prior,
            hr_important=study.analysis.hr_important,
            literature=study.analysis.literature,
            time_unit=study.time_unit,
        )
        if prior.is_proper:
            hz, k = sample_prior(
                prior, o.task.family, arms, study.reference_arm, draws=1000, seed=rng_seed
            )
            for i, arm in enumerate(arms):
                frames.append(
                    pd.DataFrame(
                        {
                            "fit_key": o.task.key,
                            "parameter": f"log_hazard[{arm}]",
                            "source": "prior",
                            "draw": np.arange(1000),
                            "value": np.log(hz[:, i]),
                        }
                    )
                )
            if "shape" in post:
                frames.append(
                    pd.DataFrame(
                        {
                            "fit_key": o.task.key,
                            "parameter": "log_shape",
                            "source": "prior",
                            "draw": np.arange(1000),
                            "value": np.log(k),
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def write_results(result: Reanalysis, folder: Path, *, study_file: Path | None = None) -> None:
    """Write every table, the posteriors, audit.json and run.json into ``folder``."""
    study = result.study
    tables = folder / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    (folder / "posterior").mkdir(exist_ok=True)
    result.audit.to_json(folder / "audit.json")
    result.audit.to_frame().to_csv(tables / "audit.csv", index=False)
    result.audit.deaths_frame().to_csv(tables / "audit_deaths.csv", index=False)
    result.comparison.to_csv(tables / "comparison.csv", index=False, float_format="%.6g")

    def tag(frame: pd.DataFrame, o: FitOutcome) -> pd.DataFrame:
        t = o.task
        frame = frame.copy()
        for col, value in reversed(
            [
                ("fit_key", t.key),
                ("family", t.family),
                ("prior", t.prior),
                ("close", t.close),
                ("status", o.status),
            ]
        ):
            frame.insert(0, col, value)
        return frame

    sens = [tag(pd.DataFrame(o.quantities), o) for o in result.outcomes]
    pd.concat(sens).to_csv(tables / "sensitivity.csv", index=False, float_format="%.6g")
    pd.concat([tag(o.diagnostics, o) for o in result.outcomes]).to_csv(
        tables / "diagnostics.csv", index=False, float_format="%.6g"
    )
    pd.concat(
        [
            tag(pd.DataFrame(o.candidates), o)[["fit_key", "arm", "n", "posterior_weight"]]
            for o in result.outcomes
        ]
    ).to_csv(tables / "candidates.csv", index=False, float_format="%.6g")
    pd.concat(
        [
            tag(o.curves, o)[["fit_key", "arm", "time", "q025", "q25", "median", "q75", "q975"]]
            for o in result.outcomes
        ]
    ).to_csv(tables / "survival_curves.csv", index=False, float_format="%.6g")
    hr_rows = []
    for o in result.outcomes:
        post = o.idata["posterior"].dataset
        hr = post["hazard_ratio"].stack(sample=("chain", "draw")).transpose("sample", "arm")
        step = max(1, hr.shape[0] // 1000)
        for arm in hr["arm"].values:
            if str(arm) == study.reference_arm:
                continue
            values = hr.sel(arm=arm).values[::step]
            hr_rows.append(
                tag(
                    pd.DataFrame(
                        {"arm": str(arm), "draw": np.arange(values.size), "hazard_ratio": values}
                    ),
                    o,
                )
            )
    if hr_rows:
        pd.concat(hr_rows)[
            ["fit_key", "family", "prior", "close", "arm", "draw", "hazard_ratio"]
        ].to_csv(tables / "hazard_ratio_draws.csv", index=False, float_format="%.6g")
    _prior_posterior(result, study.analysis.seed).to_csv(
        tables / "prior_posterior.csv", index=False, float_format="%.6g"
    )
    primary = result.primary
    if primary.ppc is not None:
        # survival in percent, as printed; p-values as numbers
        survival_ids = {f.id for f in study.figures if isinstance(f, SurvivalFigure)}
        ppc = primary.ppc.copy()
        is_survival = ppc["figure_id"].isin(survival_ids)
        ppc.loc[is_survival, "value"] = ppc.loc[is_survival, "value"] * 100.0
        ppc.to_csv(tables / "ppc.csv", index=False, float_format="%.6g")
        obs = [
            {
                "figure_id": f.id,
                "printed_value": f.percent.value if f.id in survival_ids else f.p.value,
                "kind": figure_kind(f),
            }
            for f in study.figures
            if f.id in set(ppc["figure_id"])
        ]
        pd.DataFrame(obs).to_csv(tables / "ppc_observed.csv", index=False, float_format="%.6g")
        pseudo = primary.pseudo.assign(event=primary.pseudo["event"].astype(int))
        pseudo.to_csv(tables / "pseudo_datasets.csv", index=False, float_format="%.6g")
        primary.pseudo_frequentist.to_csv(
            tables / "pseudo_frequentist.csv", index=False, float_format="%.6g"
        )
    from resurv.model_comparison import model_comparison_table, prior_predictive_table

    model_comparison_table(result).to_csv(
        tables / "model_comparison.csv", index=False, float_format="%.6g"
    )
    prior_predictive_table(result).to_csv(
        tables / "prior_predictive.csv", index=False, float_format="%.6g"
    )
    for o in result.outcomes:
        with warnings.catch_warnings():  # zarr 3 notes that consolidated metadata is an extension
            warnings.simplefilter("ignore", UserWarning)
            o.idata.to_zarr(folder / "posterior" / f"{o.task.key}.zarr")
    write_json(folder / "run.json", _run_json(result, study_file))


def _run_json(result: Reanalysis, study_file: Path | None) -> dict[str, Any]:
    study = result.study
    return {
        "resurv": __version__,
        "study": {
            "id": study.id,
            "title": study.title,
            "citation": study.citation,
            "file": study_file.name if study_file else None,
            "sha256": study.source_sha256,
            "time_unit": study.time_unit,
            "landmark_times": list(report_times(study)),
            "printed_landmark_times": sorted(
                {f.time for f in study.figures if isinstance(f, SurvivalFigure)}
            ),
            "arms": [{"id": a.id, "label": a.label, "n": list(a.n)} for a in study.arms],
        },
        "primary": result.primary.task.key,
        "settings": result.settings,
        "seeds": {
            "master": result.settings["master_seed"],
            "per_fit": {o.task.key: o.task.seed for o in result.outcomes},
        },
        "versions": versions(),
        "fits": [
            {
                "fit_key": o.task.key,
                "family": o.task.family,
                "prior": o.task.prior,
                "close": o.task.close,
                "status": o.status,
                "seed": o.task.seed,
                "failures": o.failures,
            }
            for o in result.outcomes
        ],
        "assumptions": result.assumptions,
        "findings": list(result.audit.findings),
        "all_passed": result.all_passed,
    }


@dataclass
class RunOutcome:
    """What ``resurv run`` reports back: where the results are and whether all fits passed."""

    folder: Path
    reanalysis: Reanalysis

    @property
    def all_passed(self) -> bool:
        """Whether every fit passed its diagnostics."""
        return self.reanalysis.all_passed

    def summary_text(self) -> str:
        """A few lines for the terminal."""
        r = self.reanalysis
        failed = [o.task.key for o in r.outcomes if o.status != "ok"]
        lines = [
            f"{len(r.outcomes)} fits in {r.seconds['total']:.0f} s; results in {self.folder}",
            f"report: {self.folder / 'report.html'}",
        ]
        if failed:
            lines.append(
                f"FAILED DIAGNOSTICS ({len(failed)}): {', '.join(failed)}; see the report."
            )
        else:
            lines.append("every fit passed its diagnostics")
        return "\n".join(lines)


def default_folder(study: Study, root: Path | None = None) -> Path:
    """``results/<output dir or study id>`` under ``root`` (default: the working folder)."""
    return (root or Path.cwd()) / "results" / (study.output_dir or study.id)


def run_study(
    path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    settings: RunSettings | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunOutcome:
    """Load, reanalyse and write a study's results folder atomically, with its report."""
    from resurv.report import write_report

    path = Path(path)
    study = load_study(path)
    folder = Path(out) if out is not None else default_folder(study)
    check_destination(folder, force=force)  # before any fitting
    result = reanalyse(study, settings, executor=executor, progress=progress)
    with atomic_folder(folder, force=force) as tmp:
        write_results(result, tmp, study_file=path)
        try:
            write_report(tmp)
        except OutputError:
            raise
    return RunOutcome(folder=folder, reanalysis=result)


def quick_settings(**kw) -> RunSettings:
    """Settings for a short run (tests, notebooks): one family and prior set unless given."""
    base = RunSettings(
        families=("exponential",),
        priors=("weakly_informative",),
        sensitivity=False,
        ppc_draws=300,
        pseudo_datasets=5,
    )
    return replace(base, **kw)
