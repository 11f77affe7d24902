"""Stage 1, the study: a study file read, validated and turned into typed, immutable values.

Takes a TOML study file (``models/<id>.toml``, schema in ``models/README.md``); returns a
:class:`Study` (arms, printed figures, censoring assumptions, analysis settings). Every bad
input raises :class:`~resurv.errors.StudyError` naming the field. Nothing downstream re-reads
the file.

May import: :mod:`resurv.errors` only.
"""

from resurv.study.load import load_study, loads_study, parse_study, study_to_mapping
from resurv.study.schema import (
    ESTIMATORS,
    FAMILIES,
    FIGURE_KINDS,
    MAX_ARM_N,
    MAX_FILE_BYTES,
    PRIOR_SETS,
    RELATIONS,
    ROUNDINGS,
    TIME_UNIT_PER_YEAR,
    TIME_UNITS,
    Analysis,
    Arm,
    Censoring,
    CountFigure,
    Figure,
    FollowupFigure,
    HazardRatioFigure,
    LiteratureSurvival,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    Printed,
    ProportionFigure,
    Study,
    SurvivalFigure,
    report_times,
)

__all__ = [
    "ESTIMATORS",
    "FAMILIES",
    "FIGURE_KINDS",
    "MAX_ARM_N",
    "MAX_FILE_BYTES",
    "PRIOR_SETS",
    "RELATIONS",
    "ROUNDINGS",
    "TIME_UNITS",
    "TIME_UNIT_PER_YEAR",
    "Analysis",
    "Arm",
    "Censoring",
    "CountFigure",
    "Figure",
    "FollowupFigure",
    "HazardRatioFigure",
    "LiteratureSurvival",
    "LogrankFigure",
    "MedianFigure",
    "PercentOfFigure",
    "Printed",
    "ProportionFigure",
    "Study",
    "SurvivalFigure",
    "load_study",
    "loads_study",
    "parse_study",
    "report_times",
    "study_to_mapping",
]
