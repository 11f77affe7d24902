"""Trace and rank plots of one fit's key parameters, drawn by ArviZ and stacked in one PNG.

:func:`trace_rank` renders ArviZ's trace-and-density and rank plots of the parameters
:func:`key_parameters` picks (:data:`KEY_PARAMETERS`), on at most :data:`RANK_DRAWS` draws per
chain for the rank plots. All are importable from :mod:`resurv.report.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from PIL import Image

from resurv.report.plot_style import FAILED_MARK, _failed_sentence, _pixels, _styled, _write_png

__all__ = ["KEY_PARAMETERS", "RANK_DRAWS", "key_parameters", "trace_rank"]

#: draws per chain in the rank plots (a fixed stride thins longer chains)
RANK_DRAWS = 500
#: posterior variables shown by :func:`trace_rank`, in this order, when present
KEY_PARAMETERS = (
    "baseline_reference",
    "log_median_reference",
    "hazard_reference",
    "log_hazard_reference",
    "log_hr",
    "log_shape",
)


def key_parameters(posterior: xr.Dataset) -> list[str]:
    """Return the free parameters of a resurv model in ``posterior`` (else its first four)."""
    names = [v for v in KEY_PARAMETERS if v in posterior.data_vars]
    if "baseline_reference" in names:  # the free baseline; the median is derived from it
        names.remove("log_median_reference")
    return names or list(posterior.data_vars)[:4]


def _stride_words(stride: int) -> str:
    return "all draws" if stride == 1 else f"one draw in {stride}"


def _render(pc, title: str | None = None) -> np.ndarray:
    fig = pc.viz["figure"].item()
    if title:
        fig.suptitle(title)
    pixels = _pixels(fig)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return pixels


def _stack(images: Sequence[np.ndarray]) -> np.ndarray:
    """Stack RGBA images top to bottom, padding the narrower ones on the right with white."""
    width = max(im.shape[1] for im in images)
    padded = [
        np.pad(im, ((0, 0), (0, width - im.shape[1]), (0, 0)), constant_values=255) for im in images
    ]
    return np.concatenate(padded, axis=0)


@_styled
def trace_rank(
    posterior: xr.DataTree,
    path,
    *,
    fit_key: str,
    failed: bool = False,
    failures: Sequence[str] = (),
    var_names: Sequence[str] | None = None,
) -> str:
    """Trace and rank plots of one fit's key parameters (ArviZ), stacked in one PNG.

    Top: per-chain marginal densities and traces (``az.plot_trace_dist``). Bottom: fractional
    rank Delta-ECDF per chain with ArviZ's multi-chain test (``az.plot_rank``) on at most
    :data:`RANK_DRAWS` draws per chain (a fixed stride); chains that sample the same
    distribution overlap and are not highlighted.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.

    References
    ----------
    .. [1] Vehtari A, Gelman A, Simpson D, Carpenter B, Bürkner P-C. Rank-normalization,
       folding, and localization: an improved R-hat for assessing convergence of MCMC.
       Bayesian Analysis 2021;16(2):667-718.
    .. [2] Säilynoja T, Bürkner P-C, Vehtari A. Graphical test for discrete uniformity and its
       applications in goodness-of-fit evaluation and multiple sample comparison. Statistics
       and Computing 2022;32:32.
    """
    import arviz as az

    if "posterior" not in posterior.children:
        raise ValueError(
            f"the DataTree of {fit_key} has no posterior group (groups: "
            f"{sorted(posterior.children)}); trace plots need the saved posterior."
        )
    names = list(var_names or key_parameters(posterior["posterior"].to_dataset()))
    title = f"{fit_key}{' ' + FAILED_MARK if failed else ''}"
    sizes = posterior["posterior"].sizes
    n_panels = sum(
        int(
            np.prod(
                [sizes[d] for d in posterior["posterior"][v].dims if d not in ("chain", "draw")]
            )
        )
        for v in names
    )
    top = az.plot_trace_dist(posterior, var_names=names, backend="matplotlib", compact=True)
    top_image = _render(top, f"Trace and density - {title}")
    # every k-th draw, at most RANK_DRAWS per chain: the multi-chain test's cost grows fast with
    # the draws, and a fixed stride (unlike ESS-based thinning) keeps a bad chain visible
    stride = int(np.ceil(sizes["draw"] / RANK_DRAWS))
    rank = az.plot_rank(
        posterior.isel(draw=slice(None, None, stride)),
        var_names=names,
        backend="matplotlib",
        thin=False,
        col_wrap=min(4, n_panels),
        figure_kwargs={"figsize": (12.8, 3.2 * np.ceil(n_panels / 4)), "layout": "constrained"},
    )
    image = _stack([top_image, _render(rank, "Rank plots (fractional ranks, per chain)")])
    _write_png(Image.fromarray(image), path)
    caption = (
        f"Diagnostics of {fit_key} for {', '.join(names)}. Top: per-chain densities (left) and "
        "traces (right); chains that mix overlap. Bottom: rank plots - the difference between "
        f"each chain's empirical CDF of fractional ranks ({_stride_words(stride)}) and the "
        "uniform; the p-value is the multi-chain test, and highlighted points mark where "
        "chains disagree."
    )
    if failed:
        caption += _failed_sentence([fit_key])
        if failures:
            caption += " Failures: " + "; ".join(failures) + "."
    return caption
