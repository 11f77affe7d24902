"""Stage 2, the audit: which integer data and which estimator could have printed each figure.

Takes a :class:`~resurv.study.Study`; returns an :class:`Audit`: one :class:`AuditRow` per
figure (verdict, counts, ranges, the feasible landmark graphs) and the study-level findings.
The checks compute data first (:mod:`~resurv.audit.counts`, :mod:`~resurv.audit.landmarks`,
on the printing rules of :mod:`~resurv.audit.printing` and the landmark graphs of
:mod:`~resurv.audit.landmark_dp`); :mod:`~resurv.audit.wording` alone turns that data into
sentences.

May import: :mod:`resurv.study`, :mod:`resurv.errors`.
"""

from resurv.audit.landmark_dp import (
    DEFAULT_MAX_EDGES,
    DEFAULT_MAX_STATES,
    LandmarkGraph,
    build_landmark_graph,
    find_configuration,
)
from resurv.audit.printing import check_percent_of, feasible_counts
from resurv.audit.result import Audit, AuditRow
from resurv.audit.study_audit import VERDICTS, audit, audit_figure
from resurv.audit.wording import ESTIMATOR_NAMES, RULE_NAMES

__all__ = [
    "DEFAULT_MAX_EDGES",
    "DEFAULT_MAX_STATES",
    "ESTIMATOR_NAMES",
    "RULE_NAMES",
    "VERDICTS",
    "Audit",
    "AuditRow",
    "LandmarkGraph",
    "audit",
    "audit_figure",
    "build_landmark_graph",
    "check_percent_of",
    "feasible_counts",
    "find_configuration",
]
