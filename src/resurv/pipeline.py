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
) -> RunOutcome:
    """Load, reanalyse and write a study's results folder atomically, with its report."""
    from resurv.report.build import write_report
    from resurv.report.drawing import TraceDrawing

    path = Path(path)
    study = load_study(path)
    folder = Path(out) if out is not None else default_folder(study)
    check_destination(folder, force=force)  # before any fitting
    if len(study.endpoints) > 1:
        return _run_endpoints(study, path, folder, force, settings, executor, progress)
    result = reanalyse(study, settings, executor=executor, progress=progress)
    # the helpers that draw the trace plots start now: they import the plotting libraries
    # while this process writes the results folder
    with atomic_folder(folder, force=force) as tmp, TraceDrawing(len(result.outcomes)) as traces:
        write_results(result, tmp, study_file=path)
        try:
            write_report(tmp, traces=traces)
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
