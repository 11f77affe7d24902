"""Simulation-based calibration (SBC) and interval coverage of the likelihood of printed figures.

For a study's *design* (arms with their candidate sizes, censoring model, printed figures),
each replicate draws the parameters from a proper prior set, simulates a cohort, prints the
figures a paper would print, builds the likelihood terms from them as a real run does
(:func:`resurv.model.landmark_term` in one fixed form, :func:`resurv.model.study_terms`)
and fits them (:func:`resurv.fit.fit`). If likelihood, sampler and printing agree, the rank
of each true parameter among its posterior draws is uniform [1]_ and central posterior
intervals cover the truth at their nominal rate.

Each replicate is one task of :func:`resurv.parallel.run_tasks` with its own seed and a JSON
checkpoint: a simulation resumes where it stopped and gives the same numbers in this process,
on a process pool or on a cluster (``executor=client.get_executor()``). Replicates share one
model structure, compiled once per process (:mod:`resurv.fit.cache`).

The settings are defined in :mod:`resurv.calibration.settings`, the design and the printed
figures of a replicate in :mod:`resurv.calibration.figures`, one replicate's fit and ranks in
:mod:`resurv.calibration.replicate`, the statistics and :class:`SimulationOutcome` in
:mod:`resurv.calibration.results` and the results folder in
:mod:`resurv.calibration.output`; all public names are importable from here. This module
runs the replicates and writes the results.

References
----------
.. [1] Talts S, Betancourt M, Simpson D, Vehtari A, Gelman A. Validating Bayesian inference
   algorithms with simulation-based calibration. arXiv:1804.06788, 2018.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import fields
from pathlib import Path

import pandas as pd

from resurv import __version__
from resurv.calibration.figures import SIMULATED_FIGURES as SIMULATED_FIGURES
from resurv.calibration.figures import (
    _prior_kwargs,
    cox_hazard_ratio,
    print_figures,
    simulate_figures,
    simulation_design,
)
from resurv.calibration.output import write_simulation
from resurv.calibration.replicate import ReplicateTask, run_replicate
from resurv.calibration.replicate import _ranks as _ranks
from resurv.calibration.results import (
    SimulationOutcome,
    _frames,
    _sbc_frame,
    coverage_table,
    sbc_chi_square,
)
from resurv.calibration.settings import SimulationSettings
from resurv.fit import cache as _compile
from resurv.model.priors import get_prior_set
from resurv.outputs import check_destination
from resurv.parallel import InProcessExecutor, local_executor, run_tasks, task_seeds
from resurv.study.load import load_study
from resurv.study.schema import Study

__all__ = [
    "ReplicateTask", "SimulationOutcome", "SimulationSettings", "calibrate", "coverage_table",
    "cox_hazard_ratio", "print_figures", "run_replicate", "sbc_chi_square", "simulate_figures",
    "simulate_study", "simulation_design",
]  # fmt: skip


def calibrate(
    study: Study,
    settings: SimulationSettings | None = None,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint_dir: str | Path | None = None,
) -> SimulationOutcome:
    """Run the simulation-based calibration of ``study``'s design, in memory.

    Parameters
    ----------
    study : Study
    settings : SimulationSettings, optional
    executor : concurrent.futures.Executor, optional
        Where replicates run (default: this process, or ``local_executor(workers)``).
    progress : callable, optional
        ``progress(done, total)`` after each replicate.
    checkpoint_dir : path, optional
        One JSON file per finished replicate; replicates already stored are not rerun.

    Notes
    -----
    In this process, replicates are handed to :func:`resurv.parallel.run_tasks` one at a
    time, so each checkpoint is written as soon as its replicate is done. Replicates whose
    printed figures cannot be used (``"unhandled"``) are left out of the ranks: their
    exclusion depends on the simulated data only, so the ranks of the others stay uniform.
    Fits that fail their diagnostics are left out too and counted.
    """
    settings = settings or SimulationSettings()
    start = time.perf_counter()
    design = simulation_design(study, settings.sizes)
    prior_set = get_prior_set(settings.prior, **_prior_kwargs(study))
    if not prior_set.is_proper:
        fix = "use a proper set such as 'weakly_informative' or 'sceptical'"
        raise ValueError(f"prior set {settings.prior!r} is improper (nothing to draw from); {fix}")
    master = settings.seed if settings.seed is not None else study.analysis.seed
    seeds = task_seeds(master, settings.replicates)
    tasks = [ReplicateTask(design, settings, i, s) for i, s in enumerate(seeds)]
    before = _compile.cache_info()
    own_pool = executor is None and settings.workers > 1
    pool = local_executor(settings.workers) if own_pool else executor
    try:
        if pool is None or isinstance(pool, InProcessExecutor):  # one by one: checkpoint each
            results = []
            for i, task in enumerate(tasks):
                tick = None if progress is None else (lambda d, _, i=i: progress(i + d, len(tasks)))
                results += run_tasks(run_replicate, [task], keys=[task.key], executor=pool,
                                     checkpoint_dir=checkpoint_dir, on_done=tick)  # fmt: skip
        else:
            results = run_tasks(run_replicate, tasks, keys=[t.key for t in tasks], executor=pool,
                                checkpoint_dir=checkpoint_dir, on_done=progress)  # fmt: skip
    finally:
        if own_pool:
            pool.shutdown()
    after = _compile.cache_info()
    parameters = [f"log_hazard[{a.id}]" for a in design.arms]
    parameters += ["shape"] if settings.family == "weibull" else []
    replicates, ranks = _frames(results, settings, design, parameters)
    fitted = [r for r in results if "compiled_from_cache" in r]
    cache = {
        "compiles": sum(not r["compiled_from_cache"] for r in fitted),
        "cache_hits": sum(r["compiled_from_cache"] for r in fitted),
        "this_process_misses": after["misses"] - before["misses"],
        "this_process_hits": after["hits"] - before["hits"],
    }
    coverage = coverage_table(ranks, settings.levels) if len(ranks) else pd.DataFrame()
    return SimulationOutcome(study, settings, master, replicates, ranks,
                             _sbc_frame(ranks, settings, parameters), coverage, cache,
                             time.perf_counter() - start, results=results)  # fmt: skip


def fingerprint(study: Study, settings: SimulationSettings) -> str:
    """Hash of everything a replicate's result depends on (names its checkpoint folder)."""
    skip = ("replicates", "workers", "bins", "alpha", "max_failed_share")
    keep = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name not in skip}
    text = repr((__version__, study.source_sha256, repr(study), sorted(keep.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulate_study(
    path_or_study: str | Path | Study,
    *,
    out: str | Path | None = None,
    settings: SimulationSettings | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> SimulationOutcome:
    """Run the calibration of a study file's design and write its results folder.

    The folder (default ``results/<study id>-simulation``) gets ``tables/ranks.csv``,
    ``tables/coverage.csv``, ``tables/sbc.csv``, ``tables/replicates.csv``,
    ``figures/sbc_ranks.png``, ``figures/coverage.png`` and ``run.json``, written atomically.
    Until then, finished replicates are kept in ``.<folder name>.checkpoints/`` beside it:
    running the same command again after an interruption reruns only the missing replicates.
    The checkpoints are removed once the folder is written.

    Examples
    --------
    >>> outcome = simulate_study("models/grazi2000.toml",
    ...                          settings=SimulationSettings(replicates=100))  # doctest: +SKIP
    >>> print(outcome.summary_text())  # doctest: +SKIP
    """
    settings = settings or SimulationSettings()
    study = path_or_study if isinstance(path_or_study, Study) else load_study(path_or_study)
    folder = Path(out) if out is not None else Path.cwd() / "results" / f"{study.id}-simulation"
    check_destination(folder, force=force)  # before any fitting
    root = folder.absolute().parent / f".{folder.name}.checkpoints"
    checkpoints = root / fingerprint(study, settings)
    outcome = calibrate(
        study, settings, executor=executor, progress=progress, checkpoint_dir=checkpoints
    )
    write_simulation(outcome, folder, force=force)
    outcome.folder = folder
    shutil.rmtree(checkpoints, ignore_errors=True)
    if root.exists() and not any(root.iterdir()):
        root.rmdir()
    return outcome
