"""Figures of a results folder: what a statistician reads and a teacher shows.

Every function takes tables already loaded from a results folder (see
:func:`resurv.report.load_results`), writes one PNG to ``path`` and returns its caption.
Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, any backend
works, Agg renders them) except the trace and rank plots, which ArviZ draws. PNGs are written
without the ``Software`` metadata entry and matplotlib writes no date into PNGs, so the same
tables give byte-identical files.

A fit whose diagnostics failed is marked with :data:`FAILED_MARK` in the figure (label, title
or hollow marker) and in the caption of every figure that shows it.

The shared style and labels are defined in :mod:`resurv.report.plot_style`, the audit picture and
the posterior predictive check in :mod:`resurv.report.plot_checks`, the prior sensitivity and
prior predictive check in :mod:`resurv.report.plot_sensitivity` and the trace and rank plots in
:mod:`resurv.report.plot_trace`; all are importable from here. This module draws the posterior
survival curves, the hazard ratio forest and the prior-vs-posterior densities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from resurv.frequentist.kaplan_meier import kaplan_meier
from resurv.report.plot_checks import audit_picture, ppc_figures
from resurv.report.plot_sensitivity import (
    QuantityKey,
    prior_predictive_check,
    prior_sensitivity,
    quantity_key,
    sensitivity_panels,
)
from resurv.report.plot_style import (
    COLOURS,
    FAILED_MARK,
    Landmark,
    _failed_sentence,
    _figure,
    _num,
    _save,
    _styled,
    fit_label,
    log_ticks,
)
from resurv.report.plot_style import DPI as DPI
from resurv.report.plot_trace import KEY_PARAMETERS as KEY_PARAMETERS
from resurv.report.plot_trace import RANK_DRAWS as RANK_DRAWS
from resurv.report.plot_trace import key_parameters, trace_rank

__all__ = [
    "FAILED_MARK",
    "Landmark",
    "QuantityKey",
    "audit_picture",
    "fit_label",
    "hazard_ratio_forest",
    "key_parameters",
    "log_ticks",
    "ppc_figures",
    "prior_predictive_check",
    "prior_sensitivity",
    "prior_vs_posterior",
    "quantity_key",
    "sensitivity_panels",
    "survival_curves",
    "trace_rank",
]


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
    The log axis is labelled by :func:`~resurv.report.plot_style.log_ticks`: its labels never
    overlap, however wide the intervals.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    fig, caption = _hazard_ratio_forest(
        sensitivity, primary=primary, arm_labels=arm_labels, reference_label=reference_label
    )
    _save(fig, path)
    return caption


@_styled
def _hazard_ratio_forest(
    sensitivity: pd.DataFrame, *, primary, arm_labels, reference_label
) -> tuple[Figure, str]:
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
    ax.axvline(1.0, color="black", ls="--", lw=1)
    ax.set_ylim(-0.7, len(hr) - 0.3)
    compared = ", ".join(arm_labels.get(a) or a for a in dict.fromkeys(hr["arm"]))
    ax.set_xlabel(f"hazard ratio, {compared} vs {reference_label} (log scale; 1 = no difference)")
    ax.set_title("Hazard ratio, every prior set and family", loc="left")
    ax.grid(axis="x", alpha=0.3)
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker="o", lw=2, label=f.capitalize())
        for i, f in enumerate(families)
    ]
    if failed:
        handles.append(
            Line2D([], [], color="0.3", marker="o", mfc="white", lw=0, mew=2, label=FAILED_MARK)
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    lo, hi = float(hr["lower_95"].min()), float(hr["upper_95"].max())
    log_ticks(ax.xaxis, min(lo, 1.0) / 1.5, max(hi, 1.0) * 1.5)
    caption = (
        f"Hazard ratio of {compared} vs {reference_label}: posterior median (dot) and 95% "
        "credible interval (line) under every prior set and survival family, on a log scale; "
        "the dashed line is HR = 1 (no difference). Colour shows the family; filled dots "
        "passed the diagnostics, hollow dots did not."
    )
    return fig, caption + _failed_sentence(failed)


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
