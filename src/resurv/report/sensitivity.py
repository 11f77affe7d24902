"""The prior-sensitivity section of the report: the plot first, then a compact table.

The full sensitivity table (every quantity under every prior set and family) is collapsed
below it and linked as CSV.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resurv.report import plots
from resurv.report.blocks import (
    Details,
    Heading,
    Para,
    Table,
    _g,
    _interval,
    _percent,
    _prob,
    _text,
)
from resurv.report.plot_sensitivity import quantity_key
from resurv.report.results import Results
from resurv.report.sections import _cis, _files, _mark, _missing, _ordered_fits, _tab


def _sensitivity_times(r: Results, sens: pd.DataFrame) -> list[float]:
    """The printed landmark times that ``sensitivity.csv`` summarises (else its first time)."""
    keys = [quantity_key(q) for q in dict.fromkeys(sens["quantity"])]
    times = sorted({k.time for k in keys if k.base == "surv" and k.time is not None})
    printed = [float(t) for t in r.study.get("printed_landmark_times") or []]
    return [t for t in times if t in printed] or times[:1]


def _compact_sensitivity(r: Results, sens: pd.DataFrame) -> Table:
    """One row per fit: the hazard ratio, P(HR > 1), S(t) per arm and P(difference > 20)."""
    times = _sensitivity_times(r, sens)
    by_key = {}
    for row in sens.to_dict("records"):
        by_key[(row["fit_key"], quantity_key(row["quantity"]))] = row
    keys = list(dict.fromkeys(sens["quantity"].map(quantity_key)))
    varies = sens["lower_95"] < sens["upper_95"]  # not the reference arm's constant 1
    hr = sens[varies & sens["quantity"].str.startswith("hazard_ratio[")]
    compared = list(dict.fromkeys(quantity_key(q).arm for q in hr["quantity"]))
    arms = list(dict.fromkeys(k.arm for k in keys if k.base == "surv" and k.time in times))
    columns: dict[str, list] = {"prior set": [], "family": []}
    fits = _ordered_fits(r, sens)
    closes = {row["fit_key"]: row["close"] for row in sens.to_dict("records")}
    primary_close = str(closes.get(r.primary, ""))
    failed_rows = []
    for i, k in enumerate(fits):
        row = next(row for (f, _), row in by_key.items() if f == k)
        prior = str(row["prior"]).replace("_", " ")
        if str(closes[k]) != primary_close:
            prior += f", close {_text(closes[k])}"
        columns["prior set"].append(prior + (" (primary)" if k == r.primary else ""))
        bad = k in r.failed
        failed_rows += [i] if bad else []
        columns["family"].append(str(row["family"]).capitalize() + (
            f" {plots.FAILED_MARK}" if bad else ""))  # fmt: skip

        def cell(key, percent=False, prob=False, k=k):
            q = by_key.get((k, key))
            if q is None:
                return "-"
            if prob:
                return _prob(q["median"])
            if percent:
                values = [_percent(q[c]) for c in ("median", "lower_95", "upper_95")]
                return f"{values[0]:.0f}% [{values[1]:.0f}, {values[2]:.0f}]"
            return _interval(q["median"], q["lower_95"], q["upper_95"])

        for arm in compared:
            label = r.arm_labels.get(arm, arm)
            name = "HR [95% CrI]" if len(compared) == 1 else f"HR {label}"
            columns.setdefault(name, []).append(cell(plots.QuantityKey("hazard_ratio", arm, None)))
            name = "P(HR > 1)" if len(compared) == 1 else f"P(HR > 1) {label}"
            key = plots.QuantityKey("p_hr_gt_1", arm, None)
            columns.setdefault(name, []).append(cell(key, prob=True))
        for t in times:
            for arm in arms:
                name = f"S({_text(t)}) {r.arm_labels.get(arm, arm)}"
                key = plots.QuantityKey("surv", arm, t)
                columns.setdefault(name, []).append(cell(key, percent=True))
            name = f"P(S({_text(t)}) difference > 20 points)"
            key = quantity_key(f"p_surv_diff_gt_20[t={_text(t)}]")
            columns.setdefault(name, []).append(cell(key, prob=True))
    return _tab(columns, failed_rows)


def _full_sensitivity(r: Results, sens: pd.DataFrame) -> list:
    pairs = zip(sens["median"], sens["quantity"], strict=True)
    single = [_prob(m) if "_gt_" in q else _g(m) for m, q in pairs]
    cells = sens.assign(cell=np.where(sens["lower_95"].notna(), _cis(sens), single))
    labels = dict(zip(sens["quantity"], sens["label"], strict=True))
    quantities = list(dict.fromkeys(sens["quantity"]))
    grid = cells.pivot_table(index="quantity", columns="fit_key", values="cell", aggfunc="first")
    keys = _ordered_fits(r, sens)
    tables = []
    for start in range(0, len(keys), 5):  # at most five fits per table, to stay readable
        columns = {"quantity": [labels[q] or q for q in quantities]}
        for k in keys[start : start + 5]:
            columns[_mark(k, r)] = grid[k].reindex(quantities).fillna("-")
        tables.append(_tab(columns))
    return tables


def _quantity_words(name: str, r: Results) -> str:
    key = quantity_key(name)
    arm = r.arm_labels.get(key.arm, key.arm)
    words = {"surv": f"S({_text(key.time)} {r.time_unit})" if key.time is not None else "S(t)",
             "hazard_ratio": "hazard ratio", "median": f"median survival ({r.time_unit})",
             "shape": "Weibull shape k"}.get(key.base, key.base.replace("_", " "))  # fmt: skip
    return f"{words}, {arm}" if arm else words


def _sensitivity_section(r: Results, figures: dict[str, list], refs: dict[str, str]) -> list:
    blocks: list = [Heading(2, "Prior sensitivity")]
    sens = r.table("sensitivity")
    if sens is None:
        return blocks + [_missing("sensitivity")]
    blocks.append(
        Para(
            "How far the answer moves with the prior set and the survival family"
            + (f" ({refs['prior_sensitivity']})" if refs.get("prior_sensitivity") else "")
            + ": posterior median [95% credible interval] per fit. Fits that failed their "
            f"diagnostics are marked {plots.FAILED_MARK}."
        )
    )
    blocks += figures.get("prior_sensitivity", [])
    blocks.append(_compact_sensitivity(r, sens))
    blocks.append(
        Details(
            "Every quantity under every fit: posterior median [95% credible interval], or the "
            "value alone for probabilities P(...) and bounds",
            tuple(_full_sensitivity(r, sens)),
        )
    )
    blocks += _files(r, "sensitivity")
    predictive = r.table("prior_predictive")
    if predictive is not None and len(predictive):
        blocks.append(Heading(3, "Prior predictive check"))
        ref = refs.get("prior_predictive_check")
        blocks.append(
            Para(
                "What each prior set implies before the data, beside the posterior it gives"
                + (f" ({ref})." if ref else ".")
            )
        )
        blocks += figures.get("prior_predictive_check", [])
        columns = {
            "prior": predictive["prior"].str.replace("_", " "),
            "family": predictive["family"].str.capitalize(),
            "quantity": [_quantity_words(q, r) for q in predictive["quantity"]],
            "median [95% interval]": _cis(predictive),
        }
        blocks.append(
            Details("The prior predictive table: median [95% interval]", (_tab(columns),))
        )
        blocks += _files(r, "prior_predictive")
    if figures.get("prior_vs_posterior"):
        ref = refs.get("prior_vs_posterior", "The figure below")
        blocks.append(
            Para(
                f"{ref} sets prior and posterior densities of the primary fit's parameters side "
                "by side."
            )  # fmt: skip
        )
        blocks += figures["prior_vs_posterior"]
    return blocks
