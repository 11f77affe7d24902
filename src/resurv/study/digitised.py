"""Digitised Kaplan-Meier curves in a study: the value types of the ``[[curve]]`` tables.

A :class:`DigitisedCurve` holds the points read off a published Kaplan-Meier figure for one
arm, optionally the numbers-at-risk table printed under it and the arm's total number of
events, and the :class:`ReadingError` assumed for the reading. The tables are parsed and
checked by :mod:`resurv.study.curves`; the reconstruction is :mod:`resurv.reconstruct`.

Conventions: times in the study's ``time_unit``; survival as a probability in [0, 1]; a point
is read at the bottom of a step (the survival just after a drop). The at-risk table counts
patients still followed just before each of its times, and its first time is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

#: default standard deviation of the reading error in survival (half a percentage point)
DEFAULT_SURVIVAL_SD = 0.005
#: default standard deviation of the reading error in time, as a share of the last time read
DEFAULT_TIME_SHARE = 0.005


@dataclass(frozen=True)
class ReadingError:
    """Standard deviations of independent, normal reading errors of one digitised point.

    ``time`` is in the study's time unit, ``survival`` on the probability scale. Typical
    values for a figure read with digitising software at screen resolution are about half a
    percent of each axis's range (Guyot et al. 2012 report no material systematic error).
    """

    time: float
    survival: float


@dataclass(frozen=True)
class DigitisedCurve:
    """The Kaplan-Meier curve of one arm as digitised from a figure.

    Attributes
    ----------
    arm : str
        The arm the curve belongs to.
    time, survival : tuple of float
        Digitised points, in reading order: times non-decreasing, survival non-increasing.
    risk_time, risk_n : tuple, optional
        The numbers-at-risk table (times from 0, counts non-increasing), when printed.
    n : int
        Arm size (``risk_n[0]`` when there is a table; else the arm's only size).
    total_events : int, optional
        Total deaths in the arm, when printed.
    reading_error : ReadingError
        Assumed reading error of each point.
    source : str
        Where the points come from (a CSV file name, or ``"inline"``).
    source_sha256 : str
        SHA-256 of the CSV file's bytes (empty for inline points): the study file's own hash
        does not cover it.
    """

    arm: str
    time: tuple[float, ...]
    survival: tuple[float, ...]
    risk_time: tuple[float, ...] | None
    risk_n: tuple[int, ...] | None
    n: int
    total_events: int | None
    reading_error: ReadingError
    source: str = "inline"
    source_sha256: str = ""
