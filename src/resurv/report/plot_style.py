"""The shared look of the figures: colours, font sizes, PNG settings, labels and the failed mark.

:data:`FAILED_MARK` marks a fit that failed its diagnostics, :data:`COLOURS` are the
Okabe-Ito colours and :class:`Landmark` a printed landmark survival. :func:`fit_label` names
a fit in plain words; :func:`_styled` draws a figure under the common font sizes,
:func:`_figure` starts one, :func:`_save` writes it as a metadata-free PNG and
:func:`_failed_sentence` names failed fits in a caption. The public names are importable
from :mod:`resurv.report.plots`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

__all__ = ["COLOURS", "DPI", "FAILED_MARK", "Landmark", "fit_label"]

#: words that mark a fit that failed its diagnostics, in figures and captions
FAILED_MARK = "(failed diagnostics)"
#: Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
DPI = 110
_PNG = {"format": "png", "dpi": DPI, "metadata": {"Software": None}}
_RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9}


class Landmark(NamedTuple):
    """A printed landmark survival: ``arm``, ``time`` (study unit), ``percent``, ``text``."""

    arm: str
    time: float
    percent: float
    text: str


def fit_label(family: str, prior: str, close=None) -> str:
    """Plain words for a fit: ``"Weibull, weakly informative prior, close 1999"``."""
    words = f"{str(family).capitalize()}, {str(prior).replace('_', ' ')} prior"
    if close is not None and not (isinstance(close, float) and np.isnan(close)):
        words += f", close {_num(close)}"
    return words


def _num(x) -> str:
    """Return a number as printed in a label: ``4.0`` -> ``"4"``; text is kept as it is."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{value:.0f}" if value.is_integer() else f"{value:g}"


def _styled(func):
    """Draw ``func``'s figure under the module's font sizes (rcParams apply at draw time)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, **_PNG)


def _failed_sentence(keys: Sequence[str]) -> str:
    keys = list(dict.fromkeys(keys))
    if not keys:
        return ""
    return (
        f" Marked {FAILED_MARK}: {', '.join(keys)} - these fits did not pass the convergence "
        "checks, so read their numbers with caution."
    )
