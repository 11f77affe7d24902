"""Figures of the prior sensitivity: the posterior, and what each prior set implies, per fit.

:func:`prior_sensitivity` draws the hazard ratio and the landmark survival of each arm (median
and 95% interval) against prior set and family; :func:`prior_predictive_check` draws, for the
same quantities, what each prior set implies before the data beside the posterior it gives.
:func:`quantity_key` reads the quantity names of ``sensitivity.csv`` and
``prior_predictive.csv`` (``"surv[resected, t=4]"``, ``"survival[resected], t=4.0"``,
``"hazard_ratio[not_resected]"``). All are importable from :mod:`resurv.report.plots`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

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

__all__ = [
    "QuantityKey",
    "prior_predictive_check",
    "prior_sensitivity",
    "quantity_key",
    "sensitivity_panels",
]

_NAME = re.compile(r"^\s*(?P<base>\w+)\s*\[(?P<inside>[^\]]*)\]\s*(?:,\s*t\s*=\s*(?P<t>[^,\]]+))?$")
_BASES = {"survival": "surv"}


class QuantityKey(NamedTuple):
    """A quantity name, read: ``base`` (``"surv"``, ``"hazard_ratio"``, ...), ``arm``, ``time``."""

    base: str
    arm: str
    time: float | None


def quantity_key(name: str) -> QuantityKey:
    """Read a quantity name of the run's tables; an unreadable one keeps its whole text as base.

    Examples
    --------
    >>> quantity_key("survival[resected], t=4.0") == quantity_key("surv[resected, t=4]")
    True
    >>> quantity_key("shape[None]")
    QuantityKey(base='shape', arm='', time=None)
    """
    found = _NAME.match(str(name))
    if not found:
        return QuantityKey(str(name), "", None)
    parts = [p.strip() for p in found["inside"].split(",")]
    times = [p.split("=", 1)[1] for p in parts if p.startswith("t=")] + [found["t"] or ""]
    arm = next((p for p in parts if p and not p.startswith("t=")), "")
    time = next((t.strip() for t in times if t.strip()), None)
    try:
        time = float(time) if time is not None else None
    except ValueError:
        return QuantityKey(str(name), "", None)
    base = _BASES.get(found["base"], found["base"])
    return QuantityKey(base, "" if arm == "None" else arm, time)


def sensitivity_panels(sensitivity: pd.DataFrame, times: Sequence[float] = ()) -> list[QuantityKey]:
    """The hazard ratio of each compared arm, then S(t) of each arm at each of ``times``."""
    keys = [quantity_key(q) for q in dict.fromkeys(sensitivity["quantity"])]
    hr = [k for k in keys if k.base == "hazard_ratio"]
    rows = sensitivity[sensitivity["quantity"].str.startswith("hazard_ratio[")]
    constant = set(rows.loc[~(rows["lower_95"] < rows["upper_95"]), "quantity"].map(quantity_key))
    surv = [k for k in keys if k.base == "surv" and k.time is not None]
    wanted = [float(t) for t in times] or sorted({k.time for k in surv})[:1]
    arms = list(dict.fromkeys(k.arm for k in surv))
    by_time = [QuantityKey("surv", a, t) for t in wanted for a in arms]
    return [k for k in hr if k not in constant] + [k for k in by_time if k in set(surv)]


def _title(key: QuantityKey, arm_labels: Mapping[str, str], time_unit: str, ref: str) -> str:
    arm = arm_labels.get(key.arm) or key.arm
    if key.base == "hazard_ratio":
        return f"hazard ratio\n{arm} vs {ref}"
    return f"S({_num(key.time)} {time_unit})\n{arm}"


def _row_label(prior: str, close, primary_close) -> str:
    words = str(prior).replace("_", " ")
    if str(close) != str(primary_close) and pd.notna(close) and str(close) != "":
        words += f", close {_num(close)}"
    return words


def _summaries(frame: pd.DataFrame, panels: Sequence[QuantityKey]) -> pd.DataFrame:
    """One row per (quantity, fit) of ``frame`` for the ``panels``, with its panel's index."""
    keys = frame["quantity"].map(quantity_key)
    index = {k: i for i, k in enumerate(panels)}
    out = frame.assign(panel=keys.map(lambda k: index.get(k, -1)))
    return out[out["panel"] >= 0]


def _dodge(families: Sequence[str], family: str, width: float = 0.36) -> float:
    if len(families) < 2:
        return 0.0
    return width * (families.index(family) / (len(families) - 1) - 0.5)


def _draw(
    sensitivity: pd.DataFrame,
    prior_predictive: pd.DataFrame | None,
    *,
    times: Sequence[float],
    primary: str | None,
    arm_labels: Mapping[str, str],
    reference_label: str,
    landmarks: Sequence[Landmark],
    time_unit: str,
    title: str,
) -> tuple[Figure, list[str], list[str]]:
    """Draw the panels; return the figure, the failed fits shown and the rows without a prior."""
    panels = sensitivity_panels(sensitivity, times)
    if not panels:
        raise ValueError(
            "sensitivity.csv has neither 'hazard_ratio[<arm>]' nor 'surv[<arm>, t=<time>]' rows; "
            f"the sensitivity plot needs them. Quantities found: "
            f"{sorted(sensitivity['quantity'].unique())[:8]}"
        )
    sens = _summaries(sensitivity, panels)
    fits = sens.drop_duplicates("fit_key")
    primary_rows = fits[fits["fit_key"] == primary]
    primary_close = (primary_rows if len(primary_rows) else fits)["close"].iloc[0]
    if prior_predictive is not None:  # the prior predictive does not depend on the study close
        same = sens["close"].astype(str) == str(primary_close)
        sens = sens[same]
    pairs = zip(sens["prior"], sens["close"], strict=True)
    sens = sens.assign(row=[_row_label(p, c, primary_close) for p, c in pairs])
    rows = list(dict.fromkeys(sens["row"]))
    families = list(dict.fromkeys(sorted(sens["family"])))
    ncol = min(3, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    fig = _figure(2.9 * ncol + 1.6, 0.9 + nrow * (0.9 + 0.4 * len(rows)))
    axes = fig.subplots(nrow, ncol, squeeze=False, sharey=True).ravel()
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    y_of = {r: len(rows) - 1 - i for i, r in enumerate(rows)}
    failed, no_prior = [], []
    prior = _summaries(prior_predictive, panels) if prior_predictive is not None else None
    printed = {(m.arm, float(m.time)): m for m in landmarks}
    for p, (ax, key) in enumerate(zip(axes, panels, strict=False)):
        sel = sens[sens["panel"] == p]
        scale = 1.0 if key.base == "hazard_ratio" else 100.0
        for row in sel.itertuples():
            y = y_of[row.row] + _dodge(families, row.family)
            colour = COLOURS[families.index(row.family) % len(COLOURS)]
            bad = row.status != "ok"
            if prior is not None:
                pr = prior[(prior["panel"] == p) & (prior["prior"] == row.prior)
                           & (prior["family"] == row.family)]  # fmt: skip
                if len(pr):
                    lo, hi = pr["lower_95"].iloc[0] * scale, pr["upper_95"].iloc[0] * scale
                    ax.plot([lo, hi], [y, y], color=colour, lw=7, alpha=0.22,
                            solid_capstyle="butt")  # fmt: skip
                elif p == 0:
                    no_prior.append(row.row)
            ax.plot([row.lower_95 * scale, row.upper_95 * scale], [y, y], color=colour, lw=2)
            marker = "D" if row.fit_key == primary else "o"
            ax.plot(row.median * scale, y, marker, ms=6.5, mec=colour, mew=1.8,
                    mfc="white" if bad else colour, zorder=3)  # fmt: skip
            if bad:
                failed.append(row.fit_key)
        ax.set_title(_title(key, arm_labels, time_unit, reference_label), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        if key.base == "hazard_ratio":
            ax.set_xscale("log")
            ax.axvline(1.0, color="black", ls="--", lw=1)
            ax.set_xlabel("hazard ratio (log scale)")
        else:
            ax.set_xlim(0, 100)
            ax.set_xlabel("survival (%)")
            mark = printed.get((key.arm, float(key.time)))
            if mark is not None:
                ax.axvline(mark.percent, color="0.25", ls=":", lw=1.5)
                ax.set_title(f"{ax.get_title()}, printed {mark.text}", fontsize=10)
    axes[0].set_yticks([y_of[r] for r in rows], rows)
    axes[0].set_ylim(-0.6, len(rows) - 0.4)
    handles = [
        Line2D([], [], color=COLOURS[i % len(COLOURS)], marker="o", lw=2, label=f.capitalize())
        for i, f in enumerate(families)
    ]
    if prior is not None:
        handles.append(Line2D([], [], color="0.5", lw=7, alpha=0.3, label="prior 95% interval"))
    handles.append(Line2D([], [], color="0.3", marker="D", lw=0, label="primary fit"))
    if failed:
        handles.append(
            Line2D([], [], color="0.3", marker="o", mfc="white", lw=0, mew=2, label=FAILED_MARK)
        )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    fig.suptitle(title)
    for ax, key in zip(axes, panels, strict=False):
        if key.base == "hazard_ratio":
            p = panels.index(key)
            values = [sens.loc[sens["panel"] == p, c] for c in ("lower_95", "upper_95")]
            if prior is not None:
                values += [prior.loc[prior["panel"] == p, c] for c in ("lower_95", "upper_95")]
            values = pd.concat(values).to_numpy(float)
            values = values[np.isfinite(values) & (values > 0)]
            lo, hi = (values.min(), values.max()) if values.size else (0.5, 2.0)
            log_ticks(ax.xaxis, min(lo, 1.0) / 1.3, max(hi, 1.0) * 1.3)
    return fig, list(dict.fromkeys(failed)), list(dict.fromkeys(no_prior))


@_styled
def _prior_sensitivity(sensitivity, **kwargs) -> tuple[Figure, str]:
    fig, failed, _ = _draw(sensitivity, None, title="Posterior under every prior set and family",
                           **kwargs)  # fmt: skip
    caption = (
        "Posterior median (dot) and 95% credible interval (line) of the hazard ratio and the "
        "landmark survival per arm, under every prior set (rows) and survival family (colour); "
        "the diamond is the primary fit, a dotted line the figure the paper prints. Where the "
        "rows agree, the printed figures, not the prior, decide the answer."
    )
    return fig, caption + _failed_sentence(failed)


@_styled
def _prior_predictive_check(prior_predictive, sensitivity, **kwargs) -> tuple[Figure, str]:
    fig, failed, no_prior = _draw(sensitivity, prior_predictive,
                                  title="What each prior set implies, and the posterior it gives",
                                  **kwargs)  # fmt: skip
    caption = (
        "Prior predictive check: the 95% interval each prior set implies before the data (wide "
        "pale bar) beside the posterior median and 95% credible interval (dot and line), for the "
        "hazard ratio and the landmark survival per arm, at the primary study close. A prior "
        "bar much narrower than the range a clinician finds plausible would mean the prior, not "
        "the paper, speaks."
    )
    if no_prior:
        caption += f" No bar for {', '.join(no_prior)}: an improper prior implies no prediction."
    return fig, caption + _failed_sentence(failed)


@_styled
def prior_sensitivity(
    sensitivity: pd.DataFrame,
    path,
    *,
    times: Sequence[float] = (),
    primary: str | None = None,
    arm_labels: Mapping[str, str] | None = None,
    reference_label: str = "the reference arm",
    landmarks: Sequence[Landmark] = (),
    time_unit: str = "years",
) -> str:
    """The hazard ratio and S(t) per arm, median and 95% interval, by prior set and family.

    ``sensitivity`` is ``sensitivity.csv``: one panel per compared arm's
    ``hazard_ratio[<arm>]`` (log scale) and per ``surv[<arm>, t=<time>]`` at each of ``times``
    (default: the first time in the table); one row per prior set (and study close, where it
    varies), the families side by side. ``landmarks`` are marked in the survival panels.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    fig, caption = _prior_sensitivity(
        sensitivity, times=times, primary=primary, arm_labels=dict(arm_labels or {}),
        reference_label=reference_label, landmarks=landmarks, time_unit=time_unit,
    )  # fmt: skip
    _save(fig, path)
    return caption


@_styled
def prior_predictive_check(
    prior_predictive: pd.DataFrame,
    sensitivity: pd.DataFrame,
    path,
    *,
    times: Sequence[float] = (),
    primary: str | None = None,
    arm_labels: Mapping[str, str] | None = None,
    reference_label: str = "the reference arm",
    landmarks: Sequence[Landmark] = (),
    time_unit: str = "years",
) -> str:
    """What each prior set implies for the HR and S(t) per arm, beside the posterior.

    ``prior_predictive`` is ``prior_predictive.csv`` (``prior, family, quantity, median,
    lower_95, upper_95``), ``sensitivity`` is ``sensitivity.csv``; the panels and rows are
    those of :func:`prior_sensitivity`, at the primary fit's study close.

    Returns
    -------
    str
        The caption, naming every fit shown that failed its diagnostics.
    """
    fig, caption = _prior_predictive_check(
        prior_predictive, sensitivity, times=times, primary=primary,
        arm_labels=dict(arm_labels or {}), reference_label=reference_label,
        landmarks=landmarks, time_unit=time_unit,
    )  # fmt: skip
    _save(fig, path)
    return caption
