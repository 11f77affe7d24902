"""The shared look of the figures: colours, font sizes, PNG settings, labels and the failed mark.

:data:`FAILED_MARK` marks a fit that failed its diagnostics, :data:`COLOURS` are the
Okabe-Ito colours and :class:`Landmark` a printed landmark survival. :func:`fit_label` names
a fit in plain words; :func:`_styled` draws a figure in matplotlib's default style under the
common font sizes, :func:`_figure` starts one, :func:`log_ticks` labels a log axis without
overlapping labels, :func:`_save` writes it as a metadata-free, palette-quantised PNG and
:func:`_failed_sentence` names failed fits in a caption. The public names are importable from
:mod:`resurv.report.plots`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import matplotlib.style
import matplotlib.ticker
import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["COLOURS", "DPI", "FAILED_MARK", "Landmark", "fit_label", "log_ticks"]

#: words that mark a fit that failed its diagnostics, in figures and captions
FAILED_MARK = "(failed diagnostics)"
#: Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
DPI = 110
#: colours of the palette PNGs (line art with anti-aliasing needs no more; a third of the bytes)
PNG_COLOURS = 256
#: zlib level of the PNGs
PNG_COMPRESSION = 6
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
    """Draw ``func``'s figure in matplotlib's default style with the module's font sizes.

    The figures depend on no setting of the calling process: neither a user's style nor what
    an imported library set for the whole process (preliz sets ``savefig.bbox``), so the
    same results folder gives the same PNGs in any process (rcParams apply at draw time).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.style.context("default"), mpl.rc_context(_RC):
            return func(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # the renderer that measures tick labels is the one that saves
    return fig


def _write_png(image: Image.Image, path) -> None:
    """Write ``image`` as a palette PNG: deterministic (median cut), no metadata.

    zlib's default level: level 9 (``optimize``) saves 6% of the bytes of these palette
    images and takes eight times as long.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    palette = image.convert("RGB").quantize(PNG_COLOURS, method=Image.Quantize.MEDIANCUT)
    palette.save(path, format="png", compress_level=PNG_COMPRESSION)


def _pixels(fig: Figure) -> np.ndarray:
    """Draw ``fig`` at :data:`DPI` and return its RGBA pixels, ``(height, width, 4)`` uint8.

    The pixels ``fig.savefig(..., dpi=DPI)`` writes into a PNG, without encoding a PNG only to
    decode it again: the same Agg renderer draws at the same resolution and the figure's own
    face colour, as ``savefig`` does by default.
    """
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.set_dpi(DPI)
    fig.canvas.draw()
    return np.array(fig.canvas.buffer_rgba())


def _save(fig: Figure, path) -> None:
    _write_png(Image.fromarray(_pixels(fig)), path)


# ------------------------------------------------------------------------------ log axes ---
#: tick sets tried on a log axis, densest first: mantissas per decade, then every k-th decade
_LOG_TICK_SETS = ((1, 2, 5), (1, 3), (1,))
_DECADE_STEPS = (2, 3, 5, 10, 20)


def _log_label(t: float) -> str:
    """``0.05`` -> ``"0.05"``, ``20000`` -> ``"20000"``; beyond 1e-4..1e5, a power of ten."""
    if 1e-4 <= t < 1e5:
        return f"{t:f}".rstrip("0").rstrip(".")
    e = int(np.floor(np.log10(t) + 1e-9))
    m = t / 10.0**e
    return f"$10^{{{e}}}$" if np.isclose(m, 1) else rf"${m:g}\times10^{{{e}}}$"


def _overlapping(labels, pad: float, *, vertical: bool = False) -> bool:
    """Whether any two drawn ``labels`` overlap, or come closer than ``pad`` pixels."""
    boxes = [x.get_window_extent() for x in labels if x.get_visible() and x.get_text()]
    spans = sorted((b.y0, b.y1) if vertical else (b.x0, b.x1) for b in boxes)
    return any(b[0] < a[1] + pad for a, b in zip(spans, spans[1:], strict=False))


def _tick_sets(lo: float, hi: float):
    e0, e1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    for mantissas in _LOG_TICK_SETS:
        yield [m * 10.0**e for e in range(e0, e1 + 1) for m in mantissas]
    for step in _DECADE_STEPS:
        yield [10.0**e for e in range(e0, e1 + 1) if e % step == 0]


def log_ticks(axis: Axis, lo: float, hi: float) -> list[float]:
    """Label a log ``axis`` (``ax.xaxis`` or ``ax.yaxis``) over ``[lo, hi]`` legibly.

    Sets the axis limits to ``[lo, hi]`` and tries tick sets from the densest (1, 2, 5 per
    decade) to the sparsest (one decade in twenty), keeping the first whose labels, drawn at
    the figure's final size, do not overlap and are at least half a character apart (a single
    label always qualifies). Minor ticks stay, unlabelled. Returns the ticks kept.

    Notes
    -----
    Tick labels are measured after a full layout (``Figure.draw_without_rendering``), so the
    test holds for the axis width the saved PNG has; each try costs one layout.
    """
    if not 0 < lo < hi:
        raise ValueError(f"a log axis needs 0 < lo < hi; got lo={lo!r}, hi={hi!r}")
    fig = axis.get_figure(root=True)
    (axis.axes.set_ylim if axis is axis.axes.yaxis else axis.axes.set_xlim)(lo, hi)
    axis.set_minor_formatter(mpl.ticker.NullFormatter())
    vertical = axis is axis.axes.yaxis
    pad = 0.5 * mpl.rcParams["font.size"] * fig.dpi / 72
    ticks: list[float] = []
    for candidate in _tick_sets(lo, hi):
        inside = [t for t in candidate if lo <= t <= hi]
        if not inside:
            continue
        axis.set_ticks(inside, [_log_label(t) for t in inside])
        ticks = inside
        fig.draw_without_rendering()
        if not _overlapping(axis.get_majorticklabels(), pad, vertical=vertical):
            return ticks
    if not ticks:  # a range inside one 1-2-5 step: label its ends
        ticks = [lo, hi]
        axis.set_ticks(ticks, [f"{t:.3g}" for t in ticks])
    return ticks


def _failed_sentence(keys: Sequence[str]) -> str:
    keys = list(dict.fromkeys(keys))
    if not keys:
        return ""
    return (
        f" Marked {FAILED_MARK}: {', '.join(keys)} - these fits did not pass the convergence "
        "checks, so read their numbers with caution."
    )
