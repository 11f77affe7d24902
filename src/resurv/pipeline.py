"""A study from its file to its results folder: load, reanalyse, write, report.

:func:`run_study` is what ``resurv run`` does: it checks the destination before any fitting,
runs :func:`resurv.run.reanalyse`, and writes the results and the report into a temporary
folder that replaces the destination only when complete.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from resurv.errors import OutputError
from resurv.model.study_terms import recurrence_followup as recurrence_followup
from resurv.outputs import atomic_folder, check_destination
from resurv.run.reanalysis import default_folder, reanalyse
from resurv.run.values import RunOutcome, RunSettings
from resurv.run.write import write_results
from resurv.study.load import load_study

__all__ = [
    "run_study",
]


def run_study(
    path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    settings: RunSettings | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    trace_plots: str = "key",
) -> RunOutcome:
    """Load, reanalyse and write a study's results folder atomically, with its report.

    ``trace_plots`` says which fits get trace plots in the report (``"key"`` or ``"all"``,
    see :func:`resurv.report.build.traced_fits`).
    """
    from resurv.report.build import trace_jobs, write_report
    from resurv.report.drawing import TraceDrawing, usable_cores

    path = Path(path)
    study = load_study(path)
    folder = Path(out) if out is not None else default_folder(study)
    check_destination(folder, force=force)  # before any fitting
    if len(study.endpoints) > 1:
        return _run_endpoints(study, path, folder, force, settings, executor, progress)
    result = reanalyse(study, settings, executor=executor, progress=progress)
    # the helpers that draw the trace plots start now: they import the plotting libraries
    # while this process writes the posteriors, and draw while it writes the other tables
    # and draws the main figures
    # started this early, a helper's imports are paid while the posteriors are written, so
    # one pays even for the two or three trace plots of the default report: with workers
    # given, one helper starts whatever the number of plots (which fits get one is decided
    # by resurv.report.build.traced_fits once the posteriors are saved)
    workers = min(2, usable_cores())
    with (
        atomic_folder(folder, force=force) as tmp,
        TraceDrawing(len(result.outcomes), workers) as traces,
    ):

        def start_traces(written: Path) -> None:
            traces.start(trace_jobs(written, trace_plots))

        write_results(result, tmp, study_file=path, posteriors_written=start_traces)
        try:
            write_report(tmp, traces=traces, trace_plots=trace_plots)
        except OutputError:
            raise
    return RunOutcome(folder=folder, reanalysis=result)


def _run_endpoints(study, path, folder, force, settings, executor, progress) -> RunOutcome:
    """A study with several endpoints: the first in the folder, each other in endpoints/<name>/.

    The folder's ``audit.json`` and ``tables/audit.csv`` audit every printed figure of the
    file (:func:`resurv.audit.audit`, each endpoint's landmarks on their own). The folder's
    report adds a section with the endpoints side by side
    (``tables/endpoints.csv``); each endpoint folder holds a complete results folder and
    report of its own.
    """
    from resurv.audit.study_audit import audit
    from resurv.report.build import write_report
    from resurv.run.endpoints import endpoint_table, reanalyse_endpoints

    results = reanalyse_endpoints(study, settings, executor=executor, progress=progress)
    first, *others = study.endpoints
    with atomic_folder(folder, force=force) as tmp:
        write_results(results[first], tmp, study_file=path)
        # the audit of every printed figure, each endpoint's landmarks checked on their own
        whole = audit(study)
        whole.to_json(tmp / "audit.json")
        whole.to_frame().to_csv(tmp / "tables" / "audit.csv", index=False)
        endpoint_table(results, study).to_csv(
            tmp / "tables" / "endpoints.csv", index=False, float_format="%.6g"
        )
        for name in others:
            sub = tmp / "endpoints" / name
            sub.mkdir(parents=True)
            write_results(results[name], sub, study_file=path)
            write_report(sub)
        write_report(tmp)
    return RunOutcome(folder=folder, reanalysis=results[first], endpoints=results)
