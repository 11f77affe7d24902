"""The reanalysis of a study: audit, fit every family x prior set, compare.

:func:`reanalyse` is the Python API, a pure function of the study and the settings. Every fit
is one task of :func:`resurv.parallel.run_tasks`, so a process pool or a Dask cluster's
executor can run them; each task carries its own seed. The settings, tasks and outcomes are
defined in :mod:`resurv.run.values` and the results folder in :mod:`resurv.run.write`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from resurv.audit.study_audit import audit
from resurv.compare.plateau import plateau_checks, plateaus
from resurv.compare.predictive import (
    draws_from_fit,
    predictive_checks,
    pseudo_datasets,
    replicate_studies,
)
from resurv.compare.table import comparison_table, conjugate_draws, posterior_quantities
from resurv.errors import StudyError
from resurv.fit.cache import background_compiles, expect_structures
from resurv.fit.marginal import SMCTask, smc_task
from resurv.fit.result import FitResult
from resurv.fit.sampling import compile_structure, fit, structure_key
from resurv.model.censoring import CensoringModel
from resurv.model.priors import get_prior_set
from resurv.model.study_terms import count_terms, study_terms
from resurv.model.study_terms import recurrence_followup as recurrence_followup
from resurv.parallel import local_executor, run_tasks, task_seeds
from resurv.run.assumptions import assumptions
from resurv.run.values import FitOutcome, FitTask, Reanalysis, RunSettings
from resurv.study.schema import Study, report_times

__all__ = [
    "reanalyse",
]


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


def _model_arguments(task: FitTask) -> dict:
    study = task.study
    return {
        "arms": tuple(a.id for a in study.arms),
        "reference_arm": study.reference_arm,
        "family": task.family,
        "prior": task.prior,
        "prior_kwargs": {
            "hr_important": study.analysis.hr_important,
            "literature": study.analysis.literature,
            "time_unit": study.time_unit,
        },
    }


def _structures(study: Study, tasks: list[FitTask]) -> list[tuple]:
    """The compiled-model structures the fit tasks need (for "compiling ..., 1 of n")."""
    terms = {}
    for close in dict.fromkeys(t.close for t in tasks):
        for family in dict.fromkeys(t.family for t in tasks):
            censoring = CensoringModel.from_study(study, close=close)
            terms[close, family] = study_terms(study, censoring, family=family)[0]
    return [structure_key(terms[t.close, t.family], **_model_arguments(t)) for t in tasks]


def precompile_task(task: FitTask) -> bool:
    """Compile the model of a fit task without fitting it (fills the on-disk compile cache)."""
    censoring = CensoringModel.from_study(task.study, close=task.close)
    terms, _ = study_terms(task.study, censoring, family=task.family)
    return compile_structure(terms, **_model_arguments(task))


def _background_jobs(tasks: list[FitTask], keys: list[tuple]) -> list[tuple]:
    """One job per structure after the first, in the order the fits need them."""
    first = {}
    for task, key in zip(tasks, keys, strict=True):
        first.setdefault(key, task)
    return [(key, precompile_task, (task,)) for key, task in list(first.items())[1:]]


def fit_task(task: FitTask) -> FitOutcome:
    """Run one fit of a study (module-level, so process and Dask executors can call it)."""
    start = time.perf_counter()
    study = task.study
    censoring = CensoringModel.from_study(study, close=task.close)
    terms, methods = study_terms(study, censoring, family=task.family)
    res = fit(
        terms,
        **_model_arguments(task),
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
    if plateaus(study) and (task.primary or task.close == study.censoring.close):
        # a survival printed flat: can this family print it? (one check per family x prior)
        pdraws = draws_from_fit(res, study, censoring, size=task.ppc_draws, seed=task.seed + 1)
        reps = replicate_studies(study, pdraws, censoring, seed=task.seed + 2)
        out.plateaus = plateau_checks(study, reps)
    if task.primary:
        pdraws = draws_from_fit(res, study, censoring, size=task.ppc_draws, seed=task.seed + 1)
        out.ppc = replicate_studies(study, pdraws, censoring, seed=task.seed + 2)
        out.checks = predictive_checks(study, out.ppc)
        out.pseudo, out.pseudo_frequentist = pseudo_datasets(
            study, pdraws, censoring, n_datasets=task.pseudo_datasets, seed=task.seed + 3
        )
    out.seconds = time.perf_counter() - start
    return out


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
    if len(study.endpoints) > 1:  # each endpoint has hazards of its own: resurv.run.endpoints
        raise StudyError(
            "figure",
            f"received figures of {len(study.endpoints)} endpoints ({', '.join(study.endpoints)});"
            " allowed: the figures of one endpoint. Reanalyse each with "
            "reanalyse_endpoints(study), or reanalyse(study.for_endpoint(name)).",
        )
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

    keys = _structures(study, tasks) if pool is None else []
    jobs = _background_jobs(tasks, keys) if settings.background_compile else []
    try:
        with expect_structures(keys), background_compiles(jobs):
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
        "background_compile": settings.background_compile,
        "master_seed": settings.seed if settings.seed is not None else study.analysis.seed,
    }
    t_curves = time.perf_counter()
    curves = _curve_analysis(study, settings, primary, used["master_seed"])
    if curves is not None:
        used["plausible"] = curves.plausible
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
            **({"curves": time.perf_counter() - t_curves} if curves is not None else {}),
        },
        curves=curves,
    )


def _curve_analysis(study, settings, primary, master_seed):
    """The digitised curves' analysis (:mod:`resurv.run.curves`), or ``None`` without curves."""
    if not study.curves:
        return None
    from resurv.run.curves import analyse_curves

    t = primary.task
    return analyse_curves(study, primary.quantities, family=t.family, prior=t.prior,
                          master_seed=master_seed, plausible=settings.plausible, draws=t.draws,
                          tune=t.tune, chains=t.chains, thresholds=settings.thresholds)  # fmt: skip


def default_folder(study: Study, root: Path | None = None) -> Path:
    """``results/<output dir or study id>`` under ``root`` (default: the working folder)."""
    return (root or Path.cwd()) / "results" / (study.output_dir or study.id)


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
