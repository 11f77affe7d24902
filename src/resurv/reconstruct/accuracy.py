"""How well a reconstruction reproduces the curve it came from: the accuracy table.

As IPDfromKM reports it: the root-mean-square and the largest absolute difference between the
digitised survival and the Kaplan-Meier survival of the pseudo-data at the digitised times,
and per interval of the at-risk table the printed and reconstructed numbers at risk, the
deaths and the censorings. A large error means the digitised points and the at-risk table
disagree (a misread point, a misprinted count), not that the algorithm failed silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from resurv.frequentist.kaplan_meier import km_survival_at
from resurv.reconstruct.guyot import PseudoData

__all__ = ["Accuracy", "accuracy"]


@dataclass(frozen=True)
class Accuracy:
    """Accuracy of one arm's reconstruction.

    Attributes
    ----------
    rmse, max_error : float
        Root-mean-square and largest absolute difference of survival at the digitised points.
    deaths, censored : int
        Totals of the pseudo-data.
    total_events : int or None
        The printed total, when given.
    intervals : pandas.DataFrame
        One row per at-risk interval: ``start``, ``end``, ``at_risk_printed``,
        ``at_risk_reconstructed``, ``deaths``, ``censored``.
    """

    rmse: float
    max_error: float
    deaths: int
    censored: int
    total_events: int | None
    intervals: pd.DataFrame

    def summary(self) -> dict[str, float | int | None]:
        """The scalar part as a dict (one row of the summary table)."""
        return {"rmse": self.rmse, "max_error": self.max_error, "deaths": self.deaths,
                "censored": self.censored, "total_events": self.total_events}  # fmt: skip


def accuracy(
    pseudo: PseudoData,
    *,
    total_events: int | None = None,
    risk_time=None,
    risk_n=None,
) -> Accuracy:
    """Compare a reconstruction with its digitised curve (see the module docstring).

    ``risk_time``, ``risk_n``: the printed at-risk table, one row per printed time (default:
    the rows the reconstruction used, which leaves out rows without a digitised point).
    """
    km = km_survival_at(pseudo.time, pseudo.event, pseudo.point_time)
    diff = km - pseudo.point_survival
    rows = []
    times = pseudo.risk_time if risk_time is None else np.asarray(risk_time, dtype=float)
    counts = pseudo.risk_n if risk_n is None else np.asarray(risk_n, dtype=int)
    ends = np.append(times[1:], np.inf)
    for i, (start, end) in enumerate(zip(times, ends, strict=True)):
        inside = (pseudo.time >= start) & (pseudo.time < end)
        rows.append(
            {
                "start": float(start),
                "end": float(end) if np.isfinite(end) else float(pseudo.point_time[-1]),
                "at_risk_printed": int(counts[i]),
                "at_risk_reconstructed": int(np.sum(pseudo.time >= start)),
                "deaths": int(np.sum(inside & (pseudo.event == 1))),
                "censored": int(np.sum(inside & (pseudo.event == 0))),
            }
        )
    deaths = int(pseudo.event.sum())
    return Accuracy(
        rmse=float(np.sqrt(np.mean(diff**2))),
        max_error=float(np.max(np.abs(diff))),
        deaths=deaths,
        censored=int(pseudo.n - deaths),
        total_events=total_events,
        intervals=pd.DataFrame(rows),
    )
