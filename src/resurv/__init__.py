"""resurv: Bayesian reanalysis of small-cohort survival studies from the figures papers print.

The stages follow the data flow ``study -> audit -> likelihood -> fit -> compare -> report``::

    from resurv import load_study, audit, reanalyse, RunSettings

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
    "check_percent_of": "resurv._printing",
    "feasible_counts": "resurv._printing",
    # frequentist core
    "life_table": "resurv.nonparametric",
    "kaplan_meier": "resurv.nonparametric",
    "km_median": "resurv.nonparametric",
    "logrank_test": "resurv.nonparametric",
    "reduce_cohort": "resurv.reduce",
    # families, priors, censoring
    "get_family": "resurv.families",
    "FAMILIES": "resurv.families",
    "Prior": "resurv.priors",
    "PriorSet": "resurv.priors",
    "PRIOR_SETS": "resurv.priors",
    "get_prior_set": "resurv.priors",
    "prior_predictive": "resurv.priors",
    "CensoringModel": "resurv.censoring",
    # likelihood terms
    "landmark_term": "resurv.likelihood",
    "ExactLandmark": "resurv.likelihood",
    "ApproxLandmark": "resurv.likelihood",
    "HazardRatioTerm": "resurv.likelihood",
    "MedianTerm": "resurv.likelihood",
    "ProportionTerm": "resurv.likelihood",
    "CountTerm": "resurv.likelihood",
    "RateTerm": "resurv.likelihood",
    "rule_of_three": "resurv.likelihood",
    # fitting and diagnostics
    "fit": "resurv.fit",
    "FitResult": "resurv.fit",
    "IndividualData": "resurv.fit",
    "build_model": "resurv.fit",
    "compare_loo": "resurv.fit",
    "check_diagnostics": ("resurv.diagnostics", "check"),
    # simulation
    "simulate_cohort": "resurv.simulate",
    "simulate_many": "resurv.simulate",
    # the run, the comparison and the report
    "RunSettings": "resurv.run",
    "reanalyse": "resurv.run",
    "run_study": "resurv.run",
    "comparison_table": "resurv.compare",
    "write_report": "resurv.report",
    "rebuild_report": "resurv.report",
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
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
