"""Real two-arm cohorts for the recovery check, and the figures a paper would print of them.

:data:`DATASETS` holds the cohorts (shipped by lifelines); :func:`printed_figures` reduces one
to actuarial landmark survival, the log-rank p and the follow-up range, :func:`figure_study`
turns those figures into a :class:`~resurv.study.Study`, and :func:`agreement` states how a
figure-based posterior is compared with the full-data one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resurv.study.load import parse_study
from resurv.study.schema import TIME_UNIT_PER_YEAR, Study

__all__ = [
    "DATASETS",
    "RecoveryDataset",
    "agreement",
    "figure_study",
    "followup_range",
    "load_recovery_data",
    "printed_figures",
]


#: largest |z| (difference of posterior medians over the full-data posterior SD) that agrees
Z_MAX = 2.0
#: equal-tailed credible interval of the comparison
CI_PROB = 0.95


def _leukemia() -> pd.DataFrame:
    from lifelines.datasets import load_leukemia

    df = load_leukemia()  # Rx == 1 is placebo, Rx == 0 is 6-MP; status 1 is relapse
    arm = np.where(df["Rx"] == 1, "placebo", "six_mp")
    return pd.DataFrame({"time": df["t"].astype(float), "event": df["status"] == 1, "arm": arm})


def _g3() -> pd.DataFrame:
    from lifelines.datasets import load_g3

    df = load_g3()
    arm = np.where(df["group"] == "RIT", "rit", "control")
    return pd.DataFrame({"time": df["time"].astype(float), "event": df["event"], "arm": arm})


@dataclass(frozen=True)
class RecoveryDataset:
    """A real two-arm cohort and how a paper about it would print its figures.

    ``arms`` lists the arm ids, reference arm first (hazard ratios are relative to it).
    ``landmarks`` and ``width`` are the default landmark times and life-table interval width
    (study time unit); ``entry_year`` is the nominal calendar year of the first entry (only
    the follow-up range matters, see :func:`figure_study`).
    """

    name: str
    title: str
    citation: str
    time_unit: str
    arms: tuple[str, str]
    arm_labels: dict[str, str]
    landmarks: tuple[float, ...]
    width: float
    entry_year: float
    loader: Callable[[], pd.DataFrame] = field(repr=False)

    @property
    def reference_arm(self) -> str:
        """The reference arm (the first)."""
        return self.arms[0]


DATASETS: dict[str, RecoveryDataset] = {
    "leukemia": RecoveryDataset(
        name="leukemia",
        title="6-mercaptopurine vs placebo for the duration of steroid-induced remissions in "
        "acute leukemia",
        citation="Freireich EJ, et al. The effect of 6-mercaptopurine on the duration of "
        "steroid-induced remissions in acute leukemia. Blood 1963;21(6):699-716 "
        "(lifelines.datasets.load_leukemia)",
        time_unit="weeks",
        arms=("placebo", "six_mp"),
        arm_labels={"placebo": "Placebo", "six_mp": "6-MP"},
        landmarks=(10.0, 20.0),
        width=5.0,
        entry_year=1959.0,
        loader=_leukemia,
    ),
    "g3": RecoveryDataset(
        name="g3",
        title="Pretargeted adjuvant radioimmunotherapy in grade 3 glioma",
        citation="Grana C, et al. Pretargeted adjuvant radioimmunotherapy with yttrium-90-biotin "
        "in malignant glioma patients: a pilot study. Br J Cancer 2002;86(2):207-212 "
        "(lifelines.datasets.load_g3)",
        time_unit="months",
        arms=("control", "rit"),
        arm_labels={"control": "Standard therapy", "rit": "Radioimmunotherapy"},
        landmarks=(24.0, 48.0),
        width=12.0,
        entry_year=1995.0,
        loader=_g3,
    ),
}


def _dataset(dataset: str | RecoveryDataset) -> RecoveryDataset:
    if isinstance(dataset, RecoveryDataset):
        return dataset
    try:
        return DATASETS[dataset]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {dataset!r}; valid datasets are {list(DATASETS)}, or pass a "
            "RecoveryDataset describing another two-arm cohort."
        ) from None


def load_recovery_data(dataset: str | RecoveryDataset = "leukemia") -> pd.DataFrame:
    """Return the individual data: columns ``time`` (float), ``event`` (bool), ``arm`` (str)."""
    return _dataset(dataset).loader().reset_index(drop=True)


def followup_range(data: pd.DataFrame) -> tuple[float, float]:
    """Follow-up range a paper would print: shortest censored time, longest time of all."""
    censored = data.loc[~data["event"].astype(bool), "time"]
    if censored.empty:
        raise ValueError(
            "the data have no censored patient, so they print no follow-up range to build a "
            "censoring model from; pass a cohort with at least one censored patient."
        )
    return float(censored.min()), float(data["time"].max())


def printed_figures(
    data: pd.DataFrame,
    *,
    arms: Sequence[str],
    landmarks: Sequence[float],
    width: float,
    decimals: int = 1,
) -> pd.DataFrame:
    """Reduce individual data to the figures a paper would print.

    Actuarial (Cutler-Ederer, intervals of ``width``) survival of each arm at each landmark,
    printed as a percent at ``decimals`` decimals (rounded half up), and the log-rank p printed
    at 3 decimals (``"<0.001"`` below it), by :func:`resurv.frequentist.reduce.reduce_cohort`.

    Returns
    -------
    pandas.DataFrame
        One row per figure: ``id``, ``kind`` ("survival" or "logrank_p"), ``arm`` (None for
        the p), ``time``, ``value`` (unrounded; a probability) and ``printed`` (the string).
    """
    from resurv.frequentist.reduce import LandmarkSpec, LogrankSpec, reduce_cohort

    specs: list[Any] = [
        LandmarkSpec(f"survival_{a}_{t:g}", time=float(t), arm=a, width=width, decimals=decimals)
        for a in arms
        for t in landmarks
    ]
    specs.append(LogrankSpec("logrank", arms=tuple(arms), decimals=3))
    group = data["arm"].to_numpy()
    out = reduce_cohort(data["time"].to_numpy(), data["event"].to_numpy(), group, specs)
    rows = []
    for spec in specs:
        fig = out[spec.id]
        is_landmark = isinstance(spec, LandmarkSpec)
        rows.append({"id": spec.id, "kind": fig.kind, "arm": spec.arm if is_landmark else None,
                     "time": spec.time if is_landmark else np.nan, "value": fig.value,
                     "printed": fig.printed("round")})  # fmt: skip
    return pd.DataFrame(rows)


def figure_study(
    dataset: str | RecoveryDataset, data: pd.DataFrame, figures: pd.DataFrame, width: float
) -> Study:
    """Build the :class:`~resurv.study.Study` a reader of the paper would write.

    Arms have their known sizes; every figure is quoted as printed. Censoring: patients enter
    uniformly over an accrual window and are followed to a common close, so the potential
    follow-up is uniform on ``[lo, hi]``, the printed follow-up range (:func:`followup_range`,
    which covers every observed censoring time). The calendar years are nominal: the accrual
    starts at ``dataset.entry_year`` and lasts ``hi - lo``; the close is ``hi`` after its start.
    """
    ds = _dataset(dataset)
    lo, hi = followup_range(data)
    per_year = TIME_UNIT_PER_YEAR[ds.time_unit]
    start = ds.entry_year
    close = start + hi / per_year
    while (close - start) * per_year < hi:  # keep the longest follow-up >= hi in floating point
        close = float(np.nextafter(close, np.inf))
    end = close - lo / per_year
    unit = ds.time_unit
    note = (
        f"Assumption: uniform entry and a common close, so potential follow-up is uniform on "
        f"[{lo:g}, {hi:g}] {unit}, the printed follow-up range; calendar years are nominal."
    )
    mapping: dict[str, Any] = {
        "study": {"id": f"{ds.name}_figures", "title": ds.title, "citation": ds.citation,
                  "time_unit": unit, "rounding": "round", "reference_arm": ds.reference_arm,
                  "cohort_n": int(len(data))},
        "censoring": {"accrual": [start, end], "close": close, "note": note},
        "arm": [{"id": a, "n": int((data["arm"] == a).sum()), "label": ds.arm_labels.get(a, a)}
                for a in ds.arms],
        "figure": [{"kind": "followup", "id": "followup", "range": [lo, hi],
                    "quote": f"Follow-up ranged from {lo:g} to {hi:g} {unit}."}],
    }  # fmt: skip
    for row in figures.itertuples():
        if row.kind == "survival":
            label = ds.arm_labels.get(row.arm, row.arm)
            mapping["figure"].append({
                "kind": "survival", "id": row.id, "arm": row.arm, "time": float(row.time),
                "percent": row.printed, "estimator": "actuarial", "interval_width": float(width),
                "quote": f"{row.time:g}-{unit[:-1]} actuarial survival was {row.printed}% "
                         f"({label})."})  # fmt: skip
        elif row.kind == "logrank_p":
            p = row.printed
            quote = f"Log-rank P {p[0]} {p[1:]}." if p[0] in "<>" else f"Log-rank P = {p}."
            mapping["figure"].append({"kind": "logrank_p", "id": row.id, "arms": list(ds.arms),
                                      "p": row.printed, "quote": quote})  # fmt: skip
    return parse_study(mapping)


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    lb, med, ub = np.quantile(x, [(1 - CI_PROB) / 2, 0.5, (1 + CI_PROB) / 2])
    return float(med), float(lb), float(ub)


def agreement(full: np.ndarray, figures: np.ndarray, *, z_max: float = Z_MAX) -> dict[str, Any]:
    r"""Agreement of the figure-based posterior draws of one quantity with the full-data ones.

    Parameters
    ----------
    full, figures : array_like
        Posterior draws of the same quantity (e.g. log HR, or ``S(L)`` of one arm).
    z_max : float, default 2
        Largest ``|z|`` that agrees.

    Returns
    -------
    dict
        ``full_median, full_sd, full_lb, full_ub, figures_median, figures_sd, figures_lb,
        figures_ub`` (95% equal-tailed intervals), ``z``, ``full_median_inside``,
        ``width_ratio``, ``overlap`` and ``agrees``.

    Notes
    -----
    With medians :math:`m`, the full-data posterior SD :math:`s_\mathrm{full}` and the 95%
    equal-tailed intervals :math:`[l, u]`:

    .. math::

        z = \frac{m_\mathrm{fig} - m_\mathrm{full}}{s_\mathrm{full}}, \quad
        \mathrm{width\ ratio} = \frac{u_\mathrm{fig} - l_\mathrm{fig}}
        {u_\mathrm{full} - l_\mathrm{full}}, \quad
        \mathrm{overlap} = \frac{|[l_\mathrm{full}, u_\mathrm{full}] \cap
        [l_\mathrm{fig}, u_\mathrm{fig}]|}{u_\mathrm{full} - l_\mathrm{full}}.

    The figures *agree* when :math:`|z| <` ``z_max`` and :math:`m_\mathrm{full}` lies in the
    figure-based interval. Information is lost in printing, so ``width_ratio > 1`` is expected
    (it is reported, not part of ``agrees``); ``overlap`` is the share of the full-data interval
    the figure-based one covers. For a survival probability the widths are on the probability
    scale, where an interval also narrows as it moves towards 0 or 1: a figure-based posterior
    shifted towards 1 can be slightly narrower without holding more information (seen in the
    radioimmunotherapy arm of ``"g3"``, whose figures miss a death after the last landmark).
    """
    full = np.asarray(full, dtype=float).ravel()
    figures = np.asarray(figures, dtype=float).ravel()
    finite = bool(np.isfinite(full).all() and np.isfinite(figures).all())
    if full.size < 2 or figures.size < 2 or not finite:
        raise ValueError(
            f"agreement needs at least 2 finite draws of each posterior; received {full.size} "
            f"and {figures.size} draws (non-finite: {int((~np.isfinite(full)).sum())}, "
            f"{int((~np.isfinite(figures)).sum())}). Check that both fits sampled."
        )
    m_full, l_full, u_full = _interval(full)
    m_fig, l_fig, u_fig = _interval(figures)
    sd_full = float(np.std(full, ddof=1))
    z = (m_fig - m_full) / sd_full
    inside = bool(l_fig <= m_full <= u_fig)
    shared = max(0.0, min(u_full, u_fig) - max(l_full, l_fig))
    full_width = u_full - l_full
    return {"full_median": m_full, "full_sd": sd_full, "full_lb": l_full, "full_ub": u_full,
            "figures_median": m_fig, "figures_sd": float(np.std(figures, ddof=1)),
            "figures_lb": l_fig, "figures_ub": u_fig, "z": float(z),
            "full_median_inside": inside, "width_ratio": (u_fig - l_fig) / full_width,
            "overlap": shared / full_width, "agrees": bool(abs(z) < z_max and inside)}  # fmt: skip
