"""The frequentist estimators a paper applied, recomputed: life table, Kaplan-Meier, log-rank.

Takes individual right-censored data (times, events, groups) — simulated, reconstructed or
shipped cohorts; returns life tables, Kaplan-Meier curves and medians, log-rank tests, and
(:mod:`~resurv.frequentist.reduce`) the figures a paper would print of a cohort. Conventions
follow R's ``survival`` and ``KMsurv::lifetab``; the tests check them against reference values
computed by those functions.

May import: :mod:`resurv.study` (to read which figures a study prints).
"""

from resurv.frequentist.kaplan_meier import (
    MedianCI,
    kaplan_meier,
    km_median,
    km_median_ci,
    km_survival_at,
)
from resurv.frequentist.life_table import life_table, life_table_survival
from resurv.frequentist.logrank import LogrankResult, logrank_test
from resurv.frequentist.reduce import (
    LandmarkSpec,
    LogrankSpec,
    MedianSpec,
    ProportionSpec,
    ReducedFigure,
    actuarial_at,
    format_fixed,
    format_p,
    km_at,
    logrank_p,
    reduce_cohort,
    specs_from_study,
)

__all__ = [
    "LandmarkSpec",
    "LogrankResult",
    "LogrankSpec",
    "MedianCI",
    "MedianSpec",
    "ProportionSpec",
    "ReducedFigure",
    "actuarial_at",
    "format_fixed",
    "format_p",
    "kaplan_meier",
    "km_at",
    "km_median",
    "km_median_ci",
    "km_survival_at",
    "life_table",
    "life_table_survival",
    "logrank_p",
    "logrank_test",
    "reduce_cohort",
    "specs_from_study",
]
