"""Studies with several endpoints: one reanalysis per endpoint, set side by side.

Each endpoint (overall survival, disease-free survival, ...) has hazards of its own per arm,
so the study is reanalysed once per endpoint on the figures that name it
(:meth:`resurv.study.Study.for_endpoint`), with the same settings and the same master seed.
:func:`endpoint_table` gathers, from each endpoint's primary fit, the per-arm hazards, the
landmark survival, the hazard ratios against the reference arm, and the proportions and
rates, as one long table with a column ``endpoint``: the report sets it out side by side.

A study whose figures name one endpoint only (the flagship) is reanalysed exactly as by
:func:`resurv.run.reanalyse`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Executor

import pandas as pd

from resurv.run.reanalysis import reanalyse
from resurv.run.values import Reanalysis, RunSettings
from resurv.study.schema import RECURRENCE_ENDPOINTS, Study

__all__ = ["ENDPOINT_COLUMNS", "endpoint_table", "reanalyse_endpoints"]

#: columns of ``tables/endpoints.csv``
ENDPOINT_COLUMNS = ("endpoint", "endpoint_label", "recurrence", "what", "arm", "quantity",
                    "label", "median", "lower_95", "upper_95")  # fmt: skip
#: quantity prefix -> what it is, in the order the table lists them
_WHAT = {
    "hazard[": "hazard",
    "surv[": "survival",
    "hazard_ratio[": "hazard ratio",
    "p_hr_gt_1[": "P(HR > 1)",
}


def reanalyse_endpoints(
    study: Study,
    settings: RunSettings | None = None,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Reanalysis]:
    """Reanalyse each endpoint of ``study`` on its own figures, in :attr:`Study.endpoints` order.

    Returns ``endpoint -> Reanalysis``. Every endpoint uses the same settings and master seed,
    so the same seed gives the same numbers for each.
    """
    return {
        e: reanalyse(study.for_endpoint(e), settings, executor=executor, progress=progress)
        for e in study.endpoints
    }


def _arm_of(quantity: str) -> str:
    inside = quantity[quantity.index("[") + 1 : quantity.rindex("]")]
    return inside.split(",")[0].strip()


def endpoint_table(results: Mapping[str, Reanalysis], study: Study) -> pd.DataFrame:
    """Per-arm hazards, landmark survival, HRs, proportions and rates of every endpoint.

    One row per (endpoint, quantity) of each endpoint's primary fit (median and 95%
    equal-tailed interval, as in ``sensitivity.csv``). ``what`` is ``"hazard"``,
    ``"survival"``, ``"hazard ratio"``, ``"P(HR > 1)"``, ``"proportion"`` or ``"rate"``;
    ``recurrence`` is true for the hazards of a recurrence endpoint (``dfs``, ``rfs``,
    ``ttr``) and for proportions and rates of recurrence, which the report shows together.
    """
    rows = []
    for endpoint, result in results.items():
        label = study.endpoint_label(endpoint)
        for q in result.primary.quantities:
            name = q["quantity"]
            what = next((w for prefix, w in _WHAT.items() if name.startswith(prefix)), None)
            arm = _arm_of(name) if what else None
            if what is None and name.endswith("_rate"):
                what = "rate"
            elif what is None and not name.endswith("_upper95") and "[" not in name:
                what = "proportion"
            if what is None:
                continue
            recurrence = (what == "hazard" and endpoint in RECURRENCE_ENDPOINTS) or (
                what in ("proportion", "rate") and "recurrence" in name
            )
            rows.append(
                {
                    "endpoint": endpoint,
                    "endpoint_label": label,
                    "recurrence": recurrence,
                    "what": what,
                    "arm": arm,
                    "quantity": name,
                    "label": q["label"],
                    "median": q["median"],
                    "lower_95": q.get("lower_95"),
                    "upper_95": q.get("upper_95"),
                }  # fmt: skip
            )
    return pd.DataFrame(rows, columns=list(ENDPOINT_COLUMNS))
