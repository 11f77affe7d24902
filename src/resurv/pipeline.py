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
    result = reanalyse(study, settings, executor=executor, progress=progress)
    # the helpers that draw the trace plots start now: they import the plotting libraries
    # while this process writes the posteriors, and draw while it writes the other tables
    # and draws the main figures
    primary = result.primary.task
    expected = sum(
        trace_plots == "all"
        or o.status != "ok"
        or (o.task.prior, o.task.close) == (primary.prior, primary.close)
        for o in result.outcomes
    )
    # started this early, a helper's imports are paid while the posteriors are written, so
    # one pays even for the two or three trace plots of the default report
    workers = min(2, usable_cores())
    with atomic_folder(folder, force=force) as tmp, TraceDrawing(expected, workers) as traces:

        def start_traces(written: Path) -> None:
            traces.start(trace_jobs(written, trace_plots))

        write_results(result, tmp, study_file=path, posteriors_written=start_traces)
        try:
            write_report(tmp, traces=traces, trace_plots=trace_plots)
        except OutputError:
            raise
    return RunOutcome(folder=folder, reanalysis=result)
