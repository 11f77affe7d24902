"""Stage 3, the model: survival families, prior sets, the censoring model, likelihood terms.

Takes a :class:`~resurv.study.Study` and its :class:`~resurv.audit.Audit`'s feasible sets;
returns the pieces a PyMC model is built from: a family (:func:`get_family`), a prior set
(:func:`get_prior_set`), a :class:`CensoringModel`, and one likelihood term per printed figure
(:func:`study_terms`, :func:`count_terms`) or :class:`IndividualData`. Also the generative
side: :func:`simulate_cohort` draws cohorts from the same model.

May import: :mod:`resurv.audit`, :mod:`resurv.frequentist`, :mod:`resurv.study`,
:mod:`resurv.errors`.
"""

from resurv.model.censoring import CensoringModel, cell_probabilities, effective_sizes
from resurv.model.count_terms import (
    CountTerm,
    ProportionTerm,
    RateTerm,
    count_upper_bound,
    feasible_counts,
    rule_of_three,
)
from resurv.model.families import FAMILIES, Exponential, SurvivalFamily, Weibull, get_family
from resurv.model.hr_median_terms import HazardRatioTerm, MedianTerm
from resurv.model.individual_data import IndividualData
from resurv.model.landmark_terms import ApproxLandmark, ExactLandmark
from resurv.model.likelihood import LandmarkChoice, landmark_term
from resurv.model.priors import (
    PRIOR_SETS,
    Prior,
    PriorSet,
    get_prior_set,
    prior_predictive,
    sample_prior,
)
from resurv.model.simulate import simulate_cohort, simulate_many
from resurv.model.study_terms import count_terms, recurrence_followup, study_terms

__all__ = [
    "FAMILIES",
    "PRIOR_SETS",
    "ApproxLandmark",
    "CensoringModel",
    "CountTerm",
    "ExactLandmark",
    "Exponential",
    "HazardRatioTerm",
    "IndividualData",
    "LandmarkChoice",
    "MedianTerm",
    "Prior",
    "PriorSet",
    "ProportionTerm",
    "RateTerm",
    "SurvivalFamily",
    "Weibull",
    "cell_probabilities",
    "count_terms",
    "count_upper_bound",
    "effective_sizes",
    "feasible_counts",
    "get_family",
    "get_prior_set",
    "landmark_term",
    "prior_predictive",
    "recurrence_followup",
    "rule_of_three",
    "sample_prior",
    "simulate_cohort",
    "simulate_many",
    "study_terms",
]
