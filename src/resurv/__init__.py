"""resurv: Bayesian reanalysis of small-cohort survival studies from printed figures."""

__version__ = "0.1.0"
