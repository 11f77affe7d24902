"""Stage 7, the report: a results folder turned into report.md, report.html and figures.

Takes a results folder written by :func:`resurv.run.write_results` (tables, posteriors,
``run.json``) — never the study file or live objects, so a report can be rebuilt from disk
alone; returns the paths written. The figures are drawn by :mod:`~resurv.report.plots`, which
the notebooks use too.

May import: :mod:`resurv.frequentist`, and the utilities :mod:`resurv.outputs`,
:mod:`resurv.errors`.
"""

from resurv.report import plots
from resurv.report.build import Results, load_results, plain_answer, rebuild_report, write_report

__all__ = ["Results", "load_results", "plain_answer", "plots", "rebuild_report", "write_report"]
