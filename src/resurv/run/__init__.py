"""Stage 6, the run: every family x prior set fitted, compared, and written to a folder.

Takes a :class:`~resurv.study.Study` and :class:`RunSettings`; returns a :class:`Reanalysis`
(audit, every fit's outcome, the comparison and sensitivity tables, the marginal
likelihoods), and :func:`write_results` writes it as tables, posteriors and ``run.json``.
Fits run as independent tasks through any ``concurrent.futures.Executor``.

May import: :mod:`resurv.compare`, :mod:`resurv.fit`, :mod:`resurv.model`,
:mod:`resurv.frequentist`, :mod:`resurv.audit`, :mod:`resurv.study`, :mod:`resurv.reconstruct`
(the digitised curves, :mod:`resurv.run.curves`), and the utilities
:mod:`resurv.parallel`, :mod:`resurv.outputs`, :mod:`resurv.errors`.
"""

from resurv.run.assumptions import assumptions
from resurv.run.endpoints import endpoint_table, reanalyse_endpoints
from resurv.run.reanalysis import default_folder, fit_task, quick_settings, reanalyse
from resurv.run.tables import model_comparison_table, prior_predictive_table
from resurv.run.values import FitOutcome, FitTask, Reanalysis, RunOutcome, RunSettings
from resurv.run.write import write_results

__all__ = [
    "FitOutcome",
    "FitTask",
    "Reanalysis",
    "RunOutcome",
    "RunSettings",
    "assumptions",
    "default_folder",
    "endpoint_table",
    "fit_task",
    "model_comparison_table",
    "prior_predictive_table",
    "quick_settings",
    "reanalyse",
    "reanalyse_endpoints",
    "write_results",
]
