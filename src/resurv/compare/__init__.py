"""Stage 5, the comparison: posterior quantities set beside the paper's frequentist figures.

Takes a :class:`~resurv.fit.FitResult`, the study and its audit; returns the sensitivity rows
(:func:`posterior_quantities`), the paper-vs-posterior table (:func:`comparison_table`) and the
posterior predictive checks: replicate studies run under the posterior and printed as the
paper printed (:func:`replicate_studies`, :func:`predictive_checks`, :func:`pseudo_datasets`).

May import: :mod:`resurv.fit`, :mod:`resurv.model`, :mod:`resurv.frequentist`,
:mod:`resurv.audit`, :mod:`resurv.study`, :mod:`resurv.errors`.
"""

from resurv.compare.predictive import (
    PosteriorDraws,
    draws_from_fit,
    predictive_checks,
    pseudo_datasets,
    replicate_studies,
)
from resurv.compare.table import (
    comparison_table,
    conjugate_draws,
    figure_kind,
    posterior_quantities,
)

__all__ = [
    "PosteriorDraws",
    "comparison_table",
    "conjugate_draws",
    "draws_from_fit",
    "figure_kind",
    "posterior_quantities",
    "predictive_checks",
    "pseudo_datasets",
    "replicate_studies",
]
