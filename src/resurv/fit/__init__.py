"""Stage 4, the fit: a PyMC model built, compiled once per structure, sampled and checked.

Takes likelihood terms, a family and a prior set from :mod:`resurv.model`; returns a
:class:`FitResult` (the posterior as an ``xarray.DataTree``, its ArviZ diagnostics and the
pass/fail gate of :func:`check_diagnostics`), and for model comparison the log marginal
likelihood (:func:`smc_task`). Compiled models are cached per structure
(:mod:`~resurv.fit.cache`) and new data swapped in.

May import: :mod:`resurv.model`, :mod:`resurv.audit`, :mod:`resurv.study`,
:mod:`resurv.errors`.
"""

from resurv.fit.build import build_model
from resurv.fit.diagnostics import DEFAULT_THRESHOLDS, Diagnostics, Failure
from resurv.fit.diagnostics import check as check_diagnostics
from resurv.fit.marginal import SMCTask, log_marginal_likelihood, shape_note, smc_task
from resurv.fit.result import FitResult
from resurv.fit.sampling import DEFAULT_SEED, ResurvFitWarning, compare_loo, fit, log_likelihood
from resurv.model.individual_data import IndividualData

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_THRESHOLDS",
    "Diagnostics",
    "Failure",
    "FitResult",
    "IndividualData",
    "ResurvFitWarning",
    "SMCTask",
    "build_model",
    "check_diagnostics",
    "compare_loo",
    "fit",
    "log_likelihood",
    "log_marginal_likelihood",
    "shape_note",
    "smc_task",
]
