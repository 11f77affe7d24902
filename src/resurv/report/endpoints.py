"""The report's section on a study with several endpoints (``tables/endpoints.csv``).

A side-by-side table (one row per arm and quantity: per-arm hazard, landmark survival, hazard
ratio against the reference arm; one column per endpoint), then one subsection per endpoint
with its figures' full report in ``endpoints/<name>/``, and a table that sets the recurrence
proportions and rates beside the hazards of the recurrence endpoints (``dfs``, ``rfs``,
``ttr``). A results folder without ``tables/endpoints.csv`` (one endpoint) has no section.
"""

from __future__ import annotations

import pandas as pd

from resurv.report.blocks import Bullets, Heading, Para, Table, _interval, _prob
from resurv.report.results import Results

#: rows of the side-by-side table, in this order
SIDE_BY_SIDE = ("hazard", "survival", "hazard ratio", "P(HR > 1)")


def _cell(row) -> str:
    if row["what"] == "P(HR > 1)":
        return _prob(row["median"])
    return _interval(row["median"], row["lower_95"], row["upper_95"])


def _label(row) -> str:
    """The quantity without its endpoint: labels say "hazard, resected (per year)"."""
    return str(row["label"])


def side_by_side(table: pd.DataFrame) -> Table:
    """One row per quantity of :data:`SIDE_BY_SIDE`, one column per endpoint."""
    endpoints = list(dict.fromkeys(table["endpoint"]))
    picked = table[table["what"].isin(SIDE_BY_SIDE)]
    order = {w: i for i, w in enumerate(SIDE_BY_SIDE)}
    quantities = list(dict.fromkeys(picked["quantity"]))
    quantities.sort(key=lambda q: order[picked.loc[picked["quantity"] == q, "what"].iloc[0]])
    rows = []
    for q in quantities:
        of_q = picked[picked["quantity"] == q]
        cells = {r["endpoint"]: _cell(r) for r in of_q.to_dict("records")}
        rows.append((_label(of_q.iloc[0]), *(cells.get(e, "-") for e in endpoints)))
    labels = dict(zip(table["endpoint"], table["endpoint_label"], strict=False))
    header = ("quantity (median [95% CrI])", *(f"{labels[e]} ({e})" for e in endpoints))
    return Table(header, tuple(rows))


def recurrence_table(table: pd.DataFrame) -> Table | None:
    """Recurrence hazards, proportions and rates together; None when there are none."""
    rec = table[table["recurrence"].astype(str).str.lower() == "true"]
    if rec.empty:
        return None
    rows = tuple(
        (f"{r['endpoint_label']} ({r['endpoint']})", r["what"], _label(r), _cell(r))
        for r in rec.to_dict("records")
    )
    return Table(("endpoint", "what", "quantity", "median [95% CrI]"), rows)


def endpoints_section(r: Results) -> list:
    """The blocks of the endpoints section, or none for a study with one endpoint."""
    path = r.folder / "tables" / "endpoints.csv"
    if not path.is_file():
        return []
    table = pd.read_csv(path)
    endpoints = list(dict.fromkeys(table["endpoint"]))
    labels = dict(zip(table["endpoint"], table["endpoint_label"], strict=False))
    blocks: list = [
        Heading(2, "Endpoints side by side"),
        Para(
            f"The paper prints {len(endpoints)} endpoints. Each has hazards of its own per arm, "
            "so each was reanalysed on its own figures, with the same priors, settings and "
            f"seed. This report is that of {labels[endpoints[0]]} ({endpoints[0]}); the "
            "primary fit of every endpoint is summarised here."
        ),
        side_by_side(table),
    ]
    rec = recurrence_table(table)
    if rec is not None:
        blocks += [
            Heading(3, "Recurrence"),
            Para(
                "The recurrence proportions the paper prints, and the hazards of its "
                "recurrence endpoints, together."
            ),
            rec,
        ]
    for i, e in enumerate(endpoints):
        where = "this report" if i == 0 else f"endpoints/{e}/report.html (and report.md)"
        of_e = table[table["endpoint"] == e]
        items = [f"{row['label']}: {_cell(row)}" for row in of_e.to_dict("records")]
        blocks += [
            Heading(3, f"{labels[e]} ({e})"),
            Para(f"Every figure, check and diagnostic of this endpoint: {where}."),
            Bullets(tuple(items)),
        ]
    return blocks
