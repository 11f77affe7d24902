"""Plateaus: survival printed flat between two landmarks, and whether the model can print it.

A paper that prints the same survival at 3 and at 5 years (or a higher one later) says that
nobody, or almost nobody, died in between: the survivors look cured. Neither the Exponential
nor the Weibull can level off, so such a pair of figures is checked by posterior prediction:
the share of replicated studies (:func:`resurv.compare.predictive.replicate_studies`) whose
two printed values drop by no more than the paper's own drop, at its printed precision,

    P(rep(t1) - rep(t2) <= printed(t1) - printed(t2) + one unit of the last printed digit).

A small share (below :data:`PLATEAU_ALPHA`) means the family cannot reproduce the plateau;
the ``cure`` family is the one that can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from resurv.study.schema import Study, SurvivalFigure, endpoint_of

__all__ = ["PLATEAU_ALPHA", "PLATEAU_COLUMNS", "Plateau", "plateau_checks", "plateaus"]

#: below this share of replicates the family is said not to reproduce the plateau
PLATEAU_ALPHA = 0.05
#: columns of ``tables/plateaus.csv``
PLATEAU_COLUMNS = ("arm", "endpoint", "first", "second", "time_first", "time_second",
                   "printed_first", "printed_second", "p_replicate_flat", "reproduced")  # fmt: skip


@dataclass(frozen=True)
class Plateau:
    """Two consecutive landmarks of one arm and endpoint, the later printed no lower."""

    arm: str
    endpoint: str
    first: SurvivalFigure
    second: SurvivalFigure

    @property
    def printed_drop(self) -> float:
        """The printed drop in percentage points (0 or negative for a plateau)."""
        return self.first.percent.value - self.second.percent.value

    @property
    def unit(self) -> float:
        """One unit of the last printed digit of the two figures, in percentage points."""
        return 10.0 ** -min(self.first.percent.decimals, self.second.percent.decimals)


def plateaus(study: Study) -> list[Plateau]:
    """Consecutive landmarks of one arm (and endpoint) whose later value is printed no lower."""
    out = []
    groups: dict[tuple[str, str], list[SurvivalFigure]] = {}
    for f in study.figures_of(SurvivalFigure):
        groups.setdefault((f.arm, endpoint_of(f) or "os"), []).append(f)
    for (arm, endpoint), figs in groups.items():
        figs = sorted(figs, key=lambda f: f.time)
        for a, b in zip(figs, figs[1:], strict=False):
            if b.time > a.time and b.percent.value >= a.percent.value:
                out.append(Plateau(arm, endpoint, a, b))
    return out


def plateau_checks(
    study: Study, replicates: pd.DataFrame, *, alpha: float = PLATEAU_ALPHA
) -> pd.DataFrame:
    """One row per plateau: the share of replicates that print a drop as small, and a verdict.

    ``replicates`` is the frame of :func:`~resurv.compare.predictive.replicate_studies`
    (``replicate, figure_id, value``, values as proportions). ``reproduced`` is false when the
    share is below ``alpha``.
    """
    rows = []
    for p in plateaus(study):
        wide = replicates[replicates["figure_id"].isin([p.first.id, p.second.id])].pivot(
            index="replicate", columns="figure_id", values="value"
        )
        share = np.nan
        if p.first.id in wide and p.second.id in wide:
            drop = (wide[p.first.id] - wide[p.second.id]).to_numpy(dtype=float) * 100.0
            drop = drop[np.isfinite(drop)]
            if drop.size:
                share = float(np.mean(drop <= p.printed_drop + p.unit + 1e-9))
        rows.append(
            {
                "arm": p.arm,
                "endpoint": p.endpoint,
                "first": p.first.id,
                "second": p.second.id,
                "time_first": p.first.time,
                "time_second": p.second.time,
                "printed_first": str(p.first.percent),
                "printed_second": str(p.second.percent),
                "p_replicate_flat": share,
                "reproduced": bool(np.isnan(share) or share >= alpha),
            }  # fmt: skip
        )
    return pd.DataFrame(rows, columns=list(PLATEAU_COLUMNS))
