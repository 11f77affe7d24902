"""Figures that check the printed figures: the audit picture and the posterior predictive check.

:func:`audit_picture` shows which death counts can print each landmark survival, per arm,
candidate arm size and estimator; :func:`ppc_figures` shows what replicate studies would
print under the posterior, the printed values marked. Both are importable from
:mod:`resurv.report.plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from resurv.report.plot_style import (
    COLOURS,
    FAILED_MARK,
    Landmark,
    _failed_sentence,
    _figure,
    _num,
    _save,
    _styled,
    log_ticks,
)

__all__ = ["audit_picture", "ppc_figures"]


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
    log_axes = []
    for i, row in enumerate(obs.itertuples()):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        x = ppc.loc[ppc["figure_id"] == row.figure_id, "value"].to_numpy(float)
        x = x[np.isfinite(x)]
        is_p = str(row.kind).endswith("_p")
        if is_p:
            x = np.clip(x, 1e-16, 1.0)
            bins = np.logspace(np.floor(np.log10(x.min())), 0, 30)
            ax.set_xscale("log")
            printed = float(row.printed_value)
            log_axes.append((ax, min(bins[0], printed) if printed > 0 else bins[0]))
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
    for ax, low in log_axes:
        log_ticks(ax.xaxis, low, 1.0)
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
