"""The report's plateau warning: survival printed flat between two landmarks.

Reads ``tables/plateaus.csv`` (:func:`resurv.compare.plateau.plateau_checks`, one row per
plateau and checked fit) and says, in words placed right after the plain answer, which arm
prints the same survival at two times, which families can reproduce it in replicated studies
and which cannot, and that the ``cure`` family is the one made for it. A results folder
without the table (no plateau) has no section.
"""

from __future__ import annotations

import pandas as pd

from resurv.report.blocks import Bullets, Heading, Para, _prob
from resurv.report.results import Results

#: below this share of replicates a family is said not to reproduce the plateau
ALPHA = 0.05


def _time(t) -> str:
    return f"{float(t):g}"


def plateau_section(r: Results) -> list:
    """The warning's blocks, or none when the paper prints no plateau."""
    path = r.folder / "tables" / "plateaus.csv"
    if not path.is_file():
        return []
    table = pd.read_csv(path, dtype={"printed_first": str, "printed_second": str})
    if table.empty:
        return []
    unit, labels = r.time_unit, r.arm_labels
    items = []
    for (arm, first, second), rows in table.groupby(["arm", "first", "second"], sort=False):
        row = rows.iloc[0]
        where = (
            f"'{labels.get(arm, arm)}' prints {row['printed_first']}% at "
            f"{_time(row['time_first'])} and {row['printed_second']}% at "
            f"{_time(row['time_second'])} {unit} ({first}, {second}; endpoint {row['endpoint']})"
        )
        verdicts = []
        for fit in rows.to_dict("records"):
            share = fit["p_replicate_flat"]
            word = "cannot reproduce it" if share < ALPHA else "can reproduce it"
            verdicts.append(
                f"{fit['family']} ({fit['prior'].replace('_', ' ')} prior): {word}, "
                f"{_prob(share)} of replicated studies print a drop that small"
            )
        items.append(f"{where}: " + "; ".join(verdicts) + ".")
    families = set(table["family"])
    failed = set(table.loc[table["p_replicate_flat"] < ALPHA, "family"])
    advice = (
        "The cure family was fitted: compare it in the model comparison below."
        if "cure" in families
        else 'Add "cure" to [analysis] families to fit the mixture cure model, '
        "S(t) = pi + (1 - pi) exp(-lam t), which levels off."
    )
    words = (
        "PLATEAU: the paper prints survival flat between two landmarks, so almost nobody "
        "died in between and the survivors look cured. The Exponential and the Weibull "
        "cannot level off. "
    )
    if failed:
        words += f"Under {', '.join(sorted(failed))}, the printed plateau is in tension with "
        words += "the posterior predictive: read their survival beyond the plateau with care. "
    return [Heading(2, "Warning: survival printed flat between two landmarks"),
            Para(words + advice), Bullets(tuple(items))]  # fmt: skip
