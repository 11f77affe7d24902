"""Checks of individual right-censored data, shared by the frequentist estimators.

Times are float arrays (any unit), events are bool (or 0/1) arrays: ``True`` is a death.
Every check raises ``ValueError`` saying what was received and what to pass instead.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

CIType = Literal["log", "log-log"]
CI_TYPES = ("log", "log-log")
#: relative tolerance within which a time equals a life-table boundary
BOUNDARY_RTOL = 1e-9


# ------------------------------------------------------------------------ input checks ---
def _as_survival_data(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``time`` and ``event``; return them as float and bool arrays."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"time must be an array of numbers; got {time!r:.80}") from err
    if t.ndim != 1 or t.size == 0:
        raise ValueError(
            f"time must be a non-empty 1-D array; got shape {t.shape}. "
            "Pass one follow-up time per patient."
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = t[~(np.isfinite(t) & (t >= 0))][:3]
        raise ValueError(
            f"time must be finite and >= 0; got {bad.tolist()}. "
            "Drop patients without follow-up, or give censored patients their last contact time."
        )
    e = np.asarray(event)
    if e.shape != t.shape:
        raise ValueError(
            f"event must have the same shape as time {t.shape}; got {e.shape}. "
            "Pass one event indicator per patient."
        )
    if e.dtype != bool:
        if not np.issubdtype(e.dtype, np.number) or not np.all(np.isin(e, (0, 1))):
            bad = np.unique(e[~np.isin(e, (0, 1))])[:3] if np.issubdtype(e.dtype, np.number) else e
            raise ValueError(
                f"event must be bool or 0/1 (1 = death, 0 = censored); got values "
                f"{np.asarray(bad).tolist()!r:.80}. Recode it, e.g. event = (status == 2) for "
                "R's 1/2 coding."
            )
        e = e.astype(bool)
    return t, e


def _as_groups(group, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``group``; return (sorted distinct labels, integer code per patient)."""
    g = np.asarray(group)
    if g.shape != (n,):
        raise ValueError(
            f"group must have one label per patient, shape ({n},); got shape {g.shape}."
        )
    missing = pd.isna(g)
    if np.any(missing):
        raise ValueError(
            f"group has {int(missing.sum())} missing label(s) (NaN/None); "
            "drop those patients or give them a label."
        )
    labels, codes = np.unique(g, return_inverse=True)
    return labels, codes


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1); got {level!r}. Use e.g. level=0.95.")
    return float(level)


def _check_ci(ci: str) -> str:
    if ci not in CI_TYPES:
        raise ValueError(
            f"ci must be one of {CI_TYPES}; got {ci!r}. 'log' is R survfit's default, "
            "'log-log' is lifelines' (and Stata's)."
        )
    return ci


# ------------------------------------------------------------------------ life table -----
def _interval_index(time: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Index ``j`` of the interval ``[breaks[j], breaks[j+1])`` holding each time.

    A time within ``BOUNDARY_RTOL`` below a boundary is put in the interval starting there
    (so ``0.3`` falls in ``[0.3, 0.4)`` although ``3 * 0.1 > 0.3`` in floating point).
    Returns ``-1`` before ``breaks[0]`` and ``len(breaks) - 1`` at or beyond the last break.
    """
    idx = np.searchsorted(breaks, time, side="right") - 1
    nxt = idx + 1
    has_next = nxt < breaks.size
    nb = breaks[np.minimum(nxt, breaks.size - 1)]
    snap = has_next & np.isfinite(nb) & (np.abs(nb - time) <= BOUNDARY_RTOL * np.abs(nb))
    return np.where(snap, nxt, idx)


def _width_breaks(time: np.ndarray, width: float) -> np.ndarray:
    if not (np.isfinite(width) and width > 0):
        raise ValueError(f"width must be a finite number > 0; got {width!r}.")
    # enough intervals that the largest time falls inside the table
    k = int(np.floor(time.max() / width)) + 2
    breaks = width * np.arange(k + 1, dtype=float)
    last = int(_interval_index(np.array([time.max()]), breaks)[0])
    return breaks[: last + 2]


def _check_breaks(breaks, time: np.ndarray) -> np.ndarray:
    b = np.asarray(breaks, dtype=float)
    if b.ndim != 1 or b.size < 2:
        raise ValueError(f"breaks must be a 1-D array of at least 2 boundaries; got {breaks!r}.")
    if np.any(np.isnan(b)) or not np.all(np.isfinite(b[:-1])) or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"breaks must be strictly increasing and finite (the last may be inf); got "
            f"{b.tolist()}."
        )
    if time.min() < b[0]:
        raise ValueError(
            f"breaks start at {b[0]:g} but the earliest time is {time.min():g}; "
            "start breaks at 0 (or at the earliest time)."
        )
    return b
