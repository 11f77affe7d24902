"""Exceptions raised by resurv. Every message names the field, the value and what is allowed."""


class ResurvError(Exception):
    """Base class of all resurv errors."""


class StudyError(ResurvError, ValueError):
    """A study file is malformed or inconsistent.

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``"figure[3].percent"``.
    message : str
        What was received, what is allowed, and what to do.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class AuditError(ResurvError):
    """A figure cannot be audited (e.g. the exact enumeration exceeds its budget)."""


class FitError(ResurvError):
    """A model could not be built or sampled."""


class OutputError(ResurvError):
    """Results cannot be written where asked (exists without --force, outside the project...)."""
