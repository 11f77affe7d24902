"""Published Kaplan-Meier curves as input: reconstruction, its accuracy and its uncertainty.

A study file may hold, per arm, a curve digitised from a figure (``[[curve]]`` tables,
:mod:`resurv.study.curves`). This package

- reconstructs pseudo-individual data by Guyot et al.'s algorithm (:func:`guyot`) and reports
  how well it reproduces the curve (:func:`accuracy`), for every curve of a study
  (:func:`reconstruct`, also ``resurv reconstruct FILE``);
- draws plausible reconstructions consistent with the reading error and the at-risk table
  (:func:`plausible_reconstructions`) and pools their posteriors (:func:`pooled_fit`), so that
  the reconstruction's own uncertainty reaches the result;
- digitises curves of known data by program (:func:`digitise`) for validation, and checks by
  simulation that pooled intervals cover while a single reconstruction's do not
  (:func:`coverage_simulation`).

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. BMC Med Res Methodol 2012;12:9.

``resurv.reconstruct`` is both this package and, being callable, the function
:func:`reconstruct`: ``resurv.reconstruct("study.toml")`` works whichever was imported first.

May import: :mod:`resurv.fit`, :mod:`resurv.model`, :mod:`resurv.frequentist`,
:mod:`resurv.study`, :mod:`resurv.errors`.
"""

import sys
import types

from resurv.reconstruct.accuracy import Accuracy, accuracy
from resurv.reconstruct.conjugate import exponential_posterior
from resurv.reconstruct.core import ArmReconstruction, Reconstruction, reconstruct
from resurv.reconstruct.digitise import at_risk_table, digitise, monotone_curve, non_increasing
from resurv.reconstruct.guyot import PseudoData, guyot, invert_with_censoring
from resurv.reconstruct.plausible import perturb, plausible_reconstructions, reconstruct_curve

__all__ = [
    "Accuracy",
    "ArmReconstruction",
    "PooledFit",
    "PseudoData",
    "Reconstruction",
    "accuracy",
    "at_risk_table",
    "digitise",
    "exponential_posterior",
    "guyot",
    "invert_with_censoring",
    "monotone_curve",
    "non_increasing",
    "perturb",
    "plausible_reconstructions",
    "pooled_fit",
    "reconstruct",
    "reconstruct_curve",
]


def __getattr__(name: str):
    # the pooled fit needs PyMC: imported on first use, so `resurv reconstruct` starts fast
    if name in ("PooledFit", "pooled_fit"):
        from resurv.reconstruct import pool

        return getattr(pool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """The package, callable as :func:`reconstruct` (the public ``resurv.reconstruct(...)``)."""

    def __call__(self, *args, **kwargs):
        return reconstruct(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
