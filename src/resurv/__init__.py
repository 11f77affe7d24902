"""resurv: Bayesian reanalysis of small-cohort survival studies from the figures papers print.

The stages follow the data flow ``study -> audit -> likelihood -> fit -> compare -> report``::

    from resurv import load_study, reanalyse, RunSettings
    from resurv.audit import study_audit as audit

    study = load_study("models/grazi2000.toml")
    print(audit(study).to_text())                 # which data could have printed each figure
    result = reanalyse(study, RunSettings(priors=("weakly_informative", "sceptical")))
    result.comparison                              # printed | recomputed | posterior | predictive

Names are imported on first use, so ``import resurv`` (and the command line's help) is fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # study files
    "load_study": "resurv.study",
    "loads_study": "resurv.study",
    "parse_study": "resurv.study",
    "Study": "resurv.study",
    "Printed": "resurv.study",
    # audit
    "audit": "resurv.audit",
    "Audit": "resurv.audit",
    "check_percent_of": "resurv.audit",
    "feasible_counts": "resurv.audit",
    # frequentist core
    "life_table": "resurv.frequentist",
    "kaplan_meier": "resurv.frequentist",
    "km_median": "resurv.frequentist",
    "logrank_test": "resurv.frequentist",
    "reduce_cohort": "resurv.frequentist",
    # families, priors, censoring
    "get_family": "resurv.model",
    "FAMILIES": "resurv.model",
    "Prior": "resurv.model",
    "PriorSet": "resurv.model",
    "PRIOR_SETS": "resurv.model",
    "get_prior_set": "resurv.model",
    "prior_predictive": "resurv.model",
    "CensoringModel": "resurv.model",
    # likelihood terms
    "landmark_term": "resurv.model",
    "ExactLandmark": "resurv.model",
    "ApproxLandmark": "resurv.model",
    "HazardRatioTerm": "resurv.model",
    "MedianTerm": "resurv.model",
    "ProportionTerm": "resurv.model",
    "CountTerm": "resurv.model",
    "RateTerm": "resurv.model",
    "rule_of_three": "resurv.model",
    # fitting and diagnostics
    "fit": "resurv.fit",
    "FitResult": "resurv.fit",
    "IndividualData": "resurv.fit",
    "build_model": "resurv.fit",
    "compare_loo": "resurv.fit",
    "check_diagnostics": "resurv.fit",
    # simulation
    "simulate_cohort": "resurv.model",
    "simulate_many": "resurv.model",
    # the run, the comparison and the report
    "RunSettings": "resurv.run",
    "reanalyse": "resurv.run",
    "reanalyse_endpoints": "resurv.run",
    "run_study": "resurv.pipeline",
    "comparison_table": "resurv.compare",
    "write_report": "resurv.report",
    "rebuild_report": "resurv.report",
    # published Kaplan-Meier curves
    "reconstruct": ("resurv.reconstruct", None),  # the package, callable as its function
    "pooled_fit": "resurv.reconstruct",
    # many fits
    "run_tasks": "resurv.parallel",
    "local_executor": "resurv.parallel",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'resurv' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    imported = importlib.import_module(module)
    value = imported if attr is None else getattr(imported, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
