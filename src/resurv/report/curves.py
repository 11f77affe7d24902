"""The report's section "From the digitised curves", built from the curves' tables.

Written only for a study with ``[[curve]]`` tables (``run.json`` has a ``curves`` entry,
``tables/curves_*.csv`` exist; :mod:`resurv.run.curves`): how the curves were reconstructed
and pooled, the reconstruction's accuracy table (as IPDfromKM reports it), its notes, the
events and censorings per at-risk interval (collapsed), the pooled posterior beside the
posterior from the printed figures, and whether every reconstruction's fit passed its
diagnostics. Nothing here refits.
"""

from __future__ import annotations

import numpy as np

from resurv.report import plots
from resurv.report.blocks import Bullets, Details, Files, Heading, Para, Table, _g, _interval
from resurv.report.results import Results

__all__ = ["curves_diagnostics", "curves_section"]

HEADING = "From the digitised curves"


def _cell(x, digits: int = 3) -> str:
    if x is None or not np.isfinite(float(x)):
        return "-"
    return _g(float(x), digits)


def _whole(x) -> str:
    return "-" if x is None or not np.isfinite(float(x)) else f"{float(x):.0f}"


def _accuracy_table(r: Results, acc) -> Table:
    rows = tuple(
        (r.arm_labels.get(a, a), _whole(n), _cell(rmse), _cell(mx), _whole(d), _whole(c),
         _whole(te))
        for a, n, rmse, mx, d, c, te in zip(acc["arm"], acc["n"], acc["rmse"], acc["max_error"],
                                            acc["deaths"], acc["censored"], acc["total_events"],
                                            strict=True)
    )  # fmt: skip
    header = ("arm", "patients", "RMSE", "max error", "deaths", "censored",
              "printed total events")  # fmt: skip
    return Table(header, rows)


def _intervals_table(r: Results, iv) -> Table:
    rows = tuple(
        (r.arm_labels.get(a, a), f"[{_cell(s)}, {_cell(e)})", _whole(p), _whole(q), _whole(d),
         _whole(c))
        for a, s, e, p, q, d, c in zip(iv["arm"], iv["start"], iv["end"], iv["at_risk_printed"],
                                       iv["at_risk_reconstructed"], iv["deaths"], iv["censored"],
                                       strict=True)
    )  # fmt: skip
    header = ("arm", f"interval ({r.time_unit})", "at risk printed", "at risk reconstructed",
              "deaths", "censored")  # fmt: skip
    return Table(header, rows)


def _posterior_table(post) -> Table:
    rows = []
    for row in post.to_dict("records"):
        scale = 100.0 if str(row["quantity"]).startswith("surv[") else 1.0
        label = row["label"] + (" (%)" if scale == 100.0 else "")
        cells = []
        for side in ("figures", "curves"):
            m, lo, hi = (row[f"{side}_{k}"] for k in ("median", "lower_95", "upper_95"))
            cells.append("-" if not np.isfinite(m) else
                         _interval(m * scale, lo * scale, hi * scale))  # fmt: skip
        rows.append((label, *cells))
    header = ("quantity", "from the printed figures: median [95% CrI]",
              "from the digitised curves: median [95% CrI]")  # fmt: skip
    return Table(header, tuple(rows))


def _method_words(r: Results, info: dict) -> str:
    errors = info.get("reading_error") or {}
    reading = "; ".join(
        f"{r.arm_labels.get(a, a)}: SD {_cell(e.get('time'))} {r.time_unit} in time and "
        f"{_cell(e.get('survival'))} in survival"
        for a, e in errors.items()
    )
    words = plots.fit_label(info.get("family", ""), info.get("prior", ""), None)
    return (
        "Each digitised Kaplan-Meier curve was turned into pseudo-individual data by Guyot et "
        "al.'s algorithm (BMC Med Res Methodol 2012;12:9), with the numbers at risk and the "
        f"total events where printed. {info.get('plausible', '-')} plausible reconstructions "
        "per arm were drawn consistently with the reading error of the points "
        f"({reading or 'not recorded'}) and the at-risk table, each was fitted as individual "
        f"data ({words}, the primary fit's family and prior set), and their posteriors were "
        "pooled with equal weights, so the spread between reconstructions adds to the spread "
        "within each. The curves and the printed figures describe the same patients: their "
        "posteriors are shown side by side, never multiplied."
    )


def curves_section(r: Results) -> list:
    """The blocks of the section, or ``[]`` when the run had no digitised curve."""
    info = r.run.get("curves")
    if not isinstance(info, dict):
        return []
    blocks: list = [Heading(2, HEADING), Para(_method_words(r, info))]
    acc = r.table("curves_accuracy")
    if acc is None:
        blocks.append(Para("Not available: tables/curves_accuracy.csv is not in the folder."))
    else:
        blocks.append(Para("Accuracy of the reconstruction: root-mean-square and largest "
                           "difference between the digitised survival and the Kaplan-Meier "
                           "survival of the pseudo-data, at the digitised points."))  # fmt: skip
        blocks.append(_accuracy_table(r, acc))
    notes = [str(n) for n in info.get("notes") or []]
    blocks += [Bullets(tuple(notes))] if notes else []
    iv = r.table("curves_intervals")
    if iv is not None and len(iv):
        blocks.append(Details("Deaths and censorings per at-risk interval",
                              (_intervals_table(r, iv),)))  # fmt: skip
    post = r.table("curves_posterior")
    if post is None:
        blocks.append(Para("Not available: tables/curves_posterior.csv is not in the folder."))
    else:
        comparison = r.table("comparison")
        if comparison is not None and not len(comparison):
            blocks.append(Para("The study file holds no printed figure besides the curves: the "
                               "posterior from the printed figures is the prior's."))  # fmt: skip
        blocks.append(_posterior_table(post))
    failed = [int(m) for m in info.get("failed_reconstructions") or []]
    n = info.get("plausible", 0)
    if failed:
        blocks.append(Para(f"{plots.FAILED_MARK} The fits of reconstructions {failed} (of {n}) "
                           "failed their diagnostics; the pooled posterior includes them and "
                           "should not be reported (tables/curves_fits.csv gives the failed "
                           "checks)."))  # fmt: skip
    else:
        blocks.append(Para(f"The fits of all {n} plausible reconstructions passed their "
                           "diagnostics."))  # fmt: skip
    names = ("curves_accuracy", "curves_intervals", "curves_posterior", "curves_fits",
             "curves_ipd")  # fmt: skip
    found = tuple(f"tables/{k}.csv" for k in names if (r.folder / "tables" / f"{k}.csv").is_file())
    return blocks + ([Files("Full tables:", found)] if found else [])


def curves_diagnostics(r: Results) -> list:
    """One line for the diagnostics section on the reconstructions' fits, or ``[]``."""
    info = r.run.get("curves")
    if not isinstance(info, dict):
        return []
    n = info.get("plausible", 0)
    failed = [int(m) for m in info.get("failed_reconstructions") or []]
    if not failed:
        return [Para(f"The fits of the {n} plausible reconstructions of the digitised curves "
                     f'all passed (section "{HEADING}").')]  # fmt: skip
    return [Para(f"{plots.FAILED_MARK} The fits of reconstructions {failed} (of {n}) of the "
                 f'digitised curves failed their diagnostics (section "{HEADING}", '
                 "tables/curves_fits.csv).")]  # fmt: skip
