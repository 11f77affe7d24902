"""Figures of a results folder: what a statistician reads and a teacher shows.

Every function takes tables already loaded from a results folder (see
:func:`resurv.report.load_results`), writes one PNG to ``path`` and returns its caption.
Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, any backend
works, Agg renders them) except the trace and rank plots, which ArviZ draws. PNGs are written
without the ``Software`` metadata entry and matplotlib writes no date into PNGs, so the same
tables give byte-identical files.

A fit whose diagnostics failed is marked with :data:`FAILED_MARK` in the figure (label, title
or hollow marker) and in the caption of every figure that shows it.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import matplotlib.image as mpimg
import matplotlib.ticker
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from resurv.nonparametric import kaplan_meier

__all__ = [
    "FAILED_MARK",
    "Landmark",
    "audit_picture",
    "fit_label",
    "hazard_ratio_forest",
    "key_parameters",
    "ppc_figures",
    "prior_vs_posterior",
    "survival_curves",
    "trace_rank",
]

#: words that mark a fit that failed its diagnostics, in figures and captions
FAILED_MARK = "(failed diagnostics)"
#: Okabe-Ito colours: distinguishable with the common colour-vision deficiencies
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
DPI = 110
_LOG_TICKS = tuple(m * 10.0**e for e in range(-3, 4) for m in (1, 2, 5))
_PNG = {"format": "png", "dpi": DPI, "metadata": {"Software": None}}
_RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9}
#: draws per chain in the rank plots (a fixed stride thins longer chains)
RANK_DRAWS = 500
#: posterior variables shown by :func:`trace_rank`, in this order, when present
KEY_PARAMETERS = (
    "log_median_reference",
    "hazard_reference",
    "log_hazard_reference",
    "log_hr",
    "log_shape",
)


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


# -------------------------------------------------------------------------- survival curves ---
@_styled
def survival_curves(
    curves: pd.DataFrame,
    path,
    *,
    pseudo: pd.DataFrame | None = None,
    landmarks: Sequence[Landmark] = (),
    time_unit: str = "years",
    arm_labels: Mapping[str, str] | None = None,
    fit: str = "",
    failed: bool = False,
) -> str:
    """Posterior S(t) per arm (median, 50% and 95% bands) over pseudo-individual KM steps.

    ``curves`` holds one fit's rows of ``survival_curves.csv`` (``arm, time, q025, q25, median,
    q75, q975``); ``pseudo`` the rows of ``pseudo_datasets.csv`` (``dataset, arm, time,
    event``), drawn as thin grey Kaplan-Meier steps; ``landmarks`` the printed figures.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    arm_labels = dict(arm_labels or {})
    arms = list(dict.fromkeys(curves["arm"]))
    fig = _figure(8.0, 5.0)
    ax = fig.add_subplot()
    n_pseudo = 0
    if pseudo is not None and len(pseudo):
        for i, (_, d) in enumerate(pseudo.groupby(["dataset", "arm"], sort=True)):
            km = kaplan_meier(d["time"].to_numpy(float), d["event"].to_numpy(bool))
            t = np.r_[0.0, km["time"].to_numpy(), d["time"].max()]
            s = 100 * np.r_[1.0, km["survival"].to_numpy(), km["survival"].iloc[-1]]
            label = "pseudo-individual datasets (Kaplan-Meier)" if i == 0 else None
            ax.step(t, s, where="post", color="0.55", lw=0.7, alpha=0.8, label=label, zorder=1)
        n_pseudo = pseudo["dataset"].nunique()
    for i, arm in enumerate(arms):
        c = curves[curves["arm"] == arm].sort_values("time")
        colour = COLOURS[i % len(COLOURS)]
        t = c["time"].to_numpy(float)
        ax.fill_between(t, 100 * c["q025"], 100 * c["q975"], color=colour, alpha=0.1, lw=0)
        for q in ("q025", "q975"):
            ax.plot(t, 100 * c[q], color=colour, lw=0.8, ls="--", alpha=0.8)
        ax.fill_between(t, 100 * c["q25"], 100 * c["q75"], color=colour, alpha=0.3, lw=0)
        name = arm_labels.get(arm) or arm
        ax.plot(t, 100 * c["median"], color=colour, lw=2, label=f"{name}: posterior median")
    for mark in landmarks:
        i = arms.index(mark.arm) if mark.arm in arms else 0
        ax.axvline(mark.time, color="0.3", ls=":", lw=0.8, zorder=0)
        ax.plot(mark.time, mark.percent, "D", ms=8, mfc="white", mec="black", mew=1.5, zorder=5)
        ax.annotate(
            f"printed {mark.text}",
            (mark.time, mark.percent),
            xytext=(8, 6 if mark.percent < 80 else -14),
            textcoords="offset points",
            fontsize=9,
            color=COLOURS[i % len(COLOURS)],
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    ax.set_xlim(0, float(curves["time"].max()))
    ax.set_ylim(0, 102)
    ax.set_xlabel(f"time since entry ({time_unit})")
    ax.set_ylabel("survival (%)")
    title = "Posterior survival by arm" + (f" - {fit}" if fit else "")
    ax.set_title(title + (f" {FAILED_MARK}" if failed else ""))
    ax.legend(loc="lower left", frameon=False)
    ax.grid(alpha=0.3)
    _save(fig, path)
    printed = "; ".join(
        f"{arm_labels.get(m.arm) or m.arm} {m.text} at {_num(m.time)} {time_unit}"
        for m in landmarks
    )
    caption = (
        f"Posterior survival S(t) per arm under the primary fit ({fit or 'primary'}): median "
        "(line), 50% (dark band) and 95% (light band between dashed lines) credible bands."
    )
    if n_pseudo:
        caption += (
            f" Thin grey steps: Kaplan-Meier curves of {n_pseudo} pseudo-individual datasets "
            "drawn from the posterior predictive given the printed figures."
        )
    if printed:
        caption += f" Diamonds: the figures the paper prints ({printed})."
    if failed:
        caption += _failed_sentence([fit or "the primary fit"])
    return caption


# ------------------------------------------------------------------------- hazard ratio forest ---
@_styled
def hazard_ratio_forest(
    sensitivity: pd.DataFrame,
    path,
    *,
    primary: str | None = None,
    arm_labels: Mapping[str, str] | None = None,
    reference_label: str = "the reference arm",
) -> str:
    """HR median and 95% interval under every prior set and family, on a log scale.

    ``sensitivity`` is ``sensitivity.csv``; its ``hazard_ratio[<arm>]`` rows are drawn, one per
    fit and compared arm. Failed fits get a hollow marker and :data:`FAILED_MARK` in the label.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    arm_labels = dict(arm_labels or {})
    hr = sensitivity[sensitivity["quantity"].str.startswith("hazard_ratio[")]
    hr = hr[hr["lower_95"] < hr["upper_95"]].copy()  # not the reference arm's constant 1
    if hr.empty:
        raise ValueError(
            "sensitivity.csv has no 'hazard_ratio[<arm>]' rows; the forest plot needs them. "
            f"Quantities found: {sorted(sensitivity['quantity'].unique())[:8]}"
        )
    hr["arm"] = hr["quantity"].str.slice(len("hazard_ratio["), -1)
    hr = hr.sort_values(["arm", "prior", "family", "close"], kind="stable").reset_index(drop=True)
    families = list(dict.fromkeys(sorted(hr["family"])))
    fig = _figure(8.5, 1.6 + 0.42 * len(hr))
    ax = fig.add_subplot()
    labels, failed = [], []
    y = np.arange(len(hr))[::-1]
    for yi, row in zip(y, hr.itertuples(), strict=True):
        colour = COLOURS[families.index(row.family) % len(COLOURS)]
        bad = row.status != "ok"
        ax.plot([row.lower_95, row.upper_95], [yi, yi], color=colour, lw=2)
        ax.plot(
            row.median, yi, "o", ms=8, mec=colour, mew=2, mfc="white" if bad else colour, zorder=3
        )
        ax.annotate(
            f"{row.median:.3g} [{row.lower_95:.3g}, {row.upper_95:.3g}]",
            (1.01, yi),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=9,
        )
        label = fit_label(row.family, row.prior, row.close)
        if len(hr["arm"].unique()) > 1:
            label = f"{arm_labels.get(row.arm) or row.arm}: {label}"
        if row.fit_key == primary:
            label += " (primary)"
        if bad:
            label += f" {FAILED_MARK}"
            failed.append(row.fit_key)
        labels.append(label)
    ax.set_yticks(y, labels)
    ax.set_xscale("log")
    lo, hi = float(hr["lower_95"].min()), float(hr["upper_95"].max())
    ticks = [t for t in _LOG_TICKS if min(lo, 1.0) / 1.5 <= t <= max(hi, 1.0) * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    ax.axvline(1.0, color="black", ls="--", lw=1)
    ax.set_ylim(-0.7, len(hr) - 0.3)
    compared = ", ".join(arm_labels.get(a) or a for a in dict.fromkeys(hr["arm"]))
    ax.set_xlabel(f"hazard ratio, {compared} vs {reference_label} (log scale; 1 = no difference)")
    ax.set_title("Hazard ratio, every prior set and family", loc="left")
    ax.grid(axis="x", which="both", alpha=0.3)
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker="o", lw=2, label=f.capitalize())
        for i, f in enumerate(families)
    ]
    if failed:
        handles.append(
            Line2D([], [], color="0.3", marker="o", mfc="white", lw=0, mew=2, label=FAILED_MARK)
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    _save(fig, path)
    caption = (
        f"Hazard ratio of {compared} vs {reference_label}: posterior median (dot) and 95% "
        "credible interval (line) under every prior set and survival family, on a log scale; "
        "the dashed line is HR = 1 (no difference). Colour shows the family; filled dots "
        "passed the diagnostics, hollow dots did not."
    )
    return caption + _failed_sentence(failed)


# ------------------------------------------------------------------------- prior vs posterior ---
_PARAMETER_WORDS = {
    "log_hazard": "log hazard",
    "log_hr": "log hazard ratio",
    "log_shape": "log Weibull shape k",
}


def _parameter_title(name: str, arm_labels: Mapping[str, str]) -> str:
    base, _, rest = name.partition("[")
    words = _PARAMETER_WORDS.get(base, base.replace("_", " "))
    arm = rest.rstrip("]")
    return f"{words}, {arm_labels.get(arm) or arm}" if arm else words


@_styled
def prior_vs_posterior(
    prior_posterior: pd.DataFrame,
    path,
    *,
    fit: str = "",
    failed: bool = False,
    time_unit: str = "years",
    arm_labels: Mapping[str, str] | None = None,
) -> str:
    """Prior and posterior densities of each key parameter of one fit, with their SD ratio.

    ``prior_posterior`` holds one fit's rows of ``prior_posterior.csv`` (``parameter, source,
    value``). A posterior SD close to the prior SD means the prior, not the data, speaks.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    arm_labels = dict(arm_labels or {})
    params = list(dict.fromkeys(prior_posterior["parameter"]))
    ncol = min(2, len(params))
    nrow = int(np.ceil(len(params) / ncol))
    fig = _figure(4.2 * ncol, 0.6 + 2.8 * nrow)
    ratios = {}
    for i, name in enumerate(params):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        sel = prior_posterior[prior_posterior["parameter"] == name]
        values = {
            s: sel.loc[sel["source"] == s, "value"].to_numpy(float) for s in ("prior", "posterior")
        }
        allv = np.concatenate([v for v in values.values() if v.size])
        lo, hi = np.quantile(allv, [0.005, 0.995])
        grid = np.linspace(lo, hi, 300)
        styles = {"prior": ("0.45", "--", "prior"), "posterior": (COLOURS[0], "-", "posterior")}
        for source, v in values.items():
            if v.size < 2 or np.std(v) == 0:
                continue
            colour, ls, label = styles[source]
            density = stats.gaussian_kde(v)(grid)
            ax.plot(grid, density, color=colour, ls=ls, lw=2, label=label)
            ax.fill_between(grid, density, color=colour, alpha=0.12, lw=0)
        if values["prior"].size > 1 and values["posterior"].size > 1:
            ratio = float(np.std(values["posterior"], ddof=1) / np.std(values["prior"], ddof=1))
            ratios[name] = ratio
            ax.text(
                0.02, 0.95, f"SD posterior/prior = {ratio:.2f}", transform=ax.transAxes,
                va="top", fontsize=9,
            )  # fmt: skip
        ax.set_title(_parameter_title(name, arm_labels))
        unit = f" (per {time_unit.rstrip('s')})" if name.startswith("log_hazard") else ""
        ax.set_xlabel(f"{name}{unit}")
        ax.set_ylabel("density")
        ax.set_yticks([])
        if i == 0:
            ax.legend(loc="upper right", frameon=False)
    title = "Prior vs posterior" + (f" - {fit}" if fit else "")
    fig.suptitle(title + (f" {FAILED_MARK}" if failed else ""))
    _save(fig, path)
    prior_speaks = [f"{n} ({r:.2f})" for n, r in ratios.items() if r > 0.7]
    data_speak = [f"{n} ({r:.2f})" for n, r in ratios.items() if r <= 0.7]
    caption = (
        f"Prior (grey, dashed) and posterior (blue) densities of the key parameters under "
        f"{fit or 'the primary fit'}, with the ratio of posterior to prior SD. A ratio well "
        "below 1 means the printed figures inform the parameter; near 1, the prior does."
    )
    if data_speak:
        caption += f" The data speak for {', '.join(data_speak)}."
    if prior_speaks:
        caption += f" The prior speaks for {', '.join(prior_speaks)}."
    if failed:
        caption += _failed_sentence([fit or "this fit"])
    return caption


# ------------------------------------------------------------------------------ audit picture ---
@_styled
def audit_picture(
    audit_deaths: pd.DataFrame,
    path,
    *,
    arm_sizes: Mapping[str, Sequence[int]] | None = None,
    checked: Mapping[tuple[str, int, str], bool] | None = None,
    arm_labels: Mapping[str, str] | None = None,
    landmarks: Sequence[Landmark] = (),
    time_unit: str = "years",
) -> str:
    """Feasible death counts per arm, candidate size and estimator; impossible rows shown.

    ``audit_deaths`` is ``audit_deaths.csv`` (``arm, n, estimator, deaths, n_configurations``).
    ``checked`` maps each (arm, n, estimator) the audit enumerated to whether the enumeration
    was complete (``audit.json``'s ``landmark_graphs``); without it, every candidate size in
    ``arm_sizes`` is crossed with every estimator of the table. A combination with no death
    count of positive ``n_configurations`` cannot print the figure - unless its enumeration
    was incomplete, which is said as such.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    arm_labels, d = dict(arm_labels or {}), audit_deaths
    if checked is None:
        estimators = sorted(set(d["estimator"]))
        sizes = {(a, int(n)) for a, ns in (arm_sizes or {}).items() for n in ns}
        checked = {(a, n, e): True for a, n in sizes for e in estimators}
    combos = {(a, int(n), e) for a, n, e in zip(d["arm"], d["n"], d["estimator"], strict=True)}
    combos |= set(checked)
    arms = list(dict.fromkeys([*(arm_sizes or {}), *sorted(a for a, _, _ in combos)]))
    arms = [a for a in arms if any(c[0] == a for c in combos)]
    rows_of = {a: sorted((n, e) for b, n, e in combos if b == a) for a in arms}
    heights = [len(r) for r in rows_of.values()]
    fig = _figure(8.5, 1.0 + 0.55 * sum(heights) + 0.6 * len(arms))
    axes = fig.subplots(len(arms), 1, height_ratios=heights, squeeze=False)[:, 0]
    impossible, uncounted = [], []
    printed = {m.arm: m for m in landmarks}
    largest = np.log1p(max(1.0, float(d["n_configurations"].max()) if len(d) else 1.0))
    for ax, arm in zip(axes, arms, strict=True):
        rows = rows_of[arm]
        xmax = max(n for n, _ in rows)
        for y, (n, estimator) in enumerate(rows):
            sel = d[(d["arm"] == arm) & (d["n"] == n) & (d["estimator"] == estimator)]
            ok = sel[sel["n_configurations"] > 0]
            where = f"{estimator} with n = {n} ({arm_labels.get(arm) or arm})"
            if ok.empty:
                complete = checked.get((arm, n, estimator), True)
                (impossible if complete else uncounted).append(where)
                words = "impossible: no data print this figure" if complete else "not counted"
                ax.axhspan(y - 0.4, y + 0.4, color="#D55E00" if complete else "0.6", alpha=0.12)
                ax.text(xmax / 2, y, words, ha="center", va="center", fontweight="bold",
                        color="#A03000" if complete else "0.3")  # fmt: skip
                continue
            size = 40 + 260 * np.log1p(ok["n_configurations"]) / largest
            ax.scatter(ok["deaths"], [y] * len(ok), s=size, marker="s", color=COLOURS[0], zorder=3)
            for x, k in zip(ok["deaths"], ok["n_configurations"], strict=True):
                ax.annotate(f"{k:,.0f}", (x, y), xytext=(0, 11), textcoords="offset points",
                            ha="center", fontsize=8)  # fmt: skip
        ax.set_yticks(range(len(rows)), [f"{e}, n = {n}" for n, e in rows])
        ax.set_ylim(len(rows) - 0.4, -0.6)  # first row on top
        ax.set_xlim(-0.5, xmax + 0.5)
        ax.set_xticks(range(0, xmax + 1, max(1, (xmax + 1) // 12)))
        ax.grid(axis="x", alpha=0.3)
        title = arm_labels.get(arm) or arm
        if arm in printed:
            m = printed[arm]
            title += f" (printed {m.text} at {_num(m.time)} {time_unit})"
        ax.set_title(title, loc="left")
    axes[-1].set_xlabel("deaths up to the landmark (patients)")
    fig.suptitle("Audit: which death counts can print the figures, under which estimator?")
    _save(fig, path)
    caption = (
        "Feasible death counts per arm, candidate arm size and estimator: each square is a "
        "number of deaths compatible with the printed landmark survival at its printed "
        "precision; the number above it counts the (deaths, censoring) configurations that "
        "print the figure exactly."
    )
    if impossible:
        caption += " Shaded rows are impossible combinations: " + "; ".join(impossible) + "."
    if uncounted:
        caption += (
            " Grey rows were not counted (the enumeration stopped at its budget), so they are "
            "neither shown possible nor impossible: " + "; ".join(uncounted) + "."
        )
    return caption


# ------------------------------------------------------------------------------------ PPC ---
@_styled
def ppc_figures(
    ppc: pd.DataFrame,
    observed: pd.DataFrame,
    path,
    *,
    labels: Mapping[str, str] | None = None,
    printed_text: Mapping[str, str] | None = None,
    p_extreme: Mapping[str, float] | None = None,
    fit: str = "",
    failed: bool = False,
) -> str:
    """Posterior predictive distribution of each printed figure, the printed value marked.

    ``ppc`` is ``ppc.csv`` (``replicate, figure_id, value``) and ``observed``
    ``ppc_observed.csv`` (``figure_id, printed_value, kind``). Survival is in percent;
    a log-rank p is drawn on a log scale.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    labels, printed_text, p_extreme = (
        dict(labels or {}),
        dict(printed_text or {}),
        dict(p_extreme or {}),
    )
    obs = observed.drop_duplicates("figure_id")
    obs = obs[obs["figure_id"].isin(ppc["figure_id"])]
    n = len(obs)
    if n == 0:
        raise ValueError(
            "none of the figures in ppc_observed.csv has replicates in ppc.csv "
            f"(observed: {list(observed['figure_id'])}; replicated: "
            f"{sorted(ppc['figure_id'].unique())}); the predictive check has nothing to show."
        )
    ncol = min(3, n)
    nrow = int(np.ceil(n / ncol))
    fig = _figure(4.2 * ncol, 0.7 + 3.0 * nrow)
    for i, row in enumerate(obs.itertuples()):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        x = ppc.loc[ppc["figure_id"] == row.figure_id, "value"].to_numpy(float)
        x = x[np.isfinite(x)]
        is_p = str(row.kind).endswith("_p")
        if is_p:
            x = np.clip(x, 1e-16, 1.0)
            bins = np.logspace(np.floor(np.log10(x.min())), 0, 30)
            ax.set_xscale("log")
            xlabel = "replicated p-value (log scale)"
        elif str(row.kind) in ("survival", "proportion"):
            bins = np.linspace(0, 100, 41)
            xlabel = "replicated value (%)"
        else:
            bins = 30
            xlabel = "replicated value"
        ax.hist(x, bins=bins, color=COLOURS[0], alpha=0.75)
        text = printed_text.get(row.figure_id) or _num(row.printed_value)
        ax.axvline(row.printed_value, color="#D55E00", lw=2.5, label=f"printed {text}")
        title = labels.get(row.figure_id) or row.figure_id
        if row.figure_id in p_extreme and np.isfinite(p_extreme[row.figure_id]):
            title += f"\nP(replicate as extreme) = {p_extreme[row.figure_id]:.2f}"
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"replicates (of {x.size})")
        ax.legend(loc="upper left" if is_p else "upper center", frameon=False)
    title = "Posterior predictive check of the printed figures" + (f" - {fit}" if fit else "")
    fig.suptitle(title + (f" {FAILED_MARK}" if failed else ""))
    _save(fig, path)
    caption = (
        f"What a replicate study would print, under the posterior of {fit or 'the primary fit'}: "
        "histograms of each printed figure recomputed on replicated cohorts, with the value "
        "the paper prints (vertical line). A printed value far in a tail signals tension "
        "between the model and the paper."
    )
    if failed:
        caption += _failed_sentence([fit or "this fit"])
    return caption


# -------------------------------------------------------------------------- trace and rank ---
def key_parameters(posterior: xr.Dataset) -> list[str]:
    """Return the free parameters of a resurv model in ``posterior`` (else its first four)."""
    names = [v for v in KEY_PARAMETERS if v in posterior.data_vars]
    return names or list(posterior.data_vars)[:4]


def _stride_words(stride: int) -> str:
    return "all draws" if stride == 1 else f"one draw in {stride}"


def _render(pc, title: str | None = None) -> np.ndarray:
    fig = pc.viz["figure"].item()
    if title:
        fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, **_PNG)
    import matplotlib.pyplot as plt

    plt.close(fig)
    buffer.seek(0)
    return mpimg.imread(buffer, format="png")


def _stack(images: Sequence[np.ndarray]) -> np.ndarray:
    width = max(im.shape[1] for im in images)
    padded = [
        np.pad(im, ((0, 0), (0, width - im.shape[1]), (0, 0)), constant_values=1.0) for im in images
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    mpimg.imsave(path, image, format="png", metadata={"Software": None})
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
