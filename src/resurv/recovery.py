"""Recovery on real individual data: the reanalysis from printed figures against the truth.

A real two-arm cohort shipped by lifelines is analysed twice with the same survival family
and prior set:

1. from the **full individual data** (:class:`resurv.fit.IndividualData`), the best one can do;
2. from the **figures a paper would print** about it: actuarial (Cutler-Ederer) landmark
   survival per arm at one decimal, the log-rank p and the follow-up range, turned into a
   :class:`~resurv.study.Study` and re-analysed with :func:`resurv.run.study_terms`.

:func:`recovery_check` sets the two posteriors side by side (hazard ratio and landmark
survival per arm) and measures their agreement. Information is lost between the data and the
figures, so the figure-based posterior must be wider, and it must be centred where the full
data put the truth. The agreement measure is stated in :func:`agreement`.

Datasets (:data:`DATASETS`): ``"leukemia"`` (Freireich 1963, 6-MP vs placebo, 21 + 21
patients, weeks of remission; default landmarks 10 and 20 weeks with 5-week life-table
intervals) and ``"g3"`` (Grana 2002, grade 3 glioma, radioimmunotherapy vs standard therapy,
11 + 6 patients, months; landmarks 24 and 48 months with 12-month intervals). The censoring
model of the figure-based study is an assumption stated in :func:`figure_study`: potential
follow-up uniform over the printed follow-up range.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resurv.study import TIME_UNIT_PER_YEAR, Study, parse_study

__all__ = [
    "DATASETS",
    "RecoveryDataset",
    "RecoveryFit",
    "RecoveryResult",
    "RecoveryTask",
    "agreement",
    "figure_study",
    "followup_range",
    "load_recovery_data",
    "printed_figures",
    "recovery_check",
    "recovery_fit",
]

#: default seed of :func:`recovery_check` (per-fit seeds are spawned from it)
DEFAULT_SEED = 1963
#: largest |z| (difference of posterior medians over the full-data posterior SD) that agrees
Z_MAX = 2.0
#: equal-tailed credible interval of the comparison
CI_PROB = 0.95


# -- datasets -----------------------------------------------------------------------------------


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


# -- the figures a paper would print --------------------------------------------------------------


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
    at 3 decimals (``"<0.001"`` below it), by :func:`resurv.reduce.reduce_cohort`.

    Returns
    -------
    pandas.DataFrame
        One row per figure: ``id``, ``kind`` ("survival" or "logrank_p"), ``arm`` (None for
        the p), ``time``, ``value`` (unrounded; a probability) and ``printed`` (the string).
    """
    from resurv.reduce import LandmarkSpec, LogrankSpec, reduce_cohort

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


# -- agreement -------------------------------------------------------------------------------------


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


# -- the fits ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RecoveryTask:
    """One fit of a recovery check: ``source`` is "full" (individual data) or "figures"."""

    source: str
    family: str
    prior: str
    study: Study
    data: pd.DataFrame
    landmarks: tuple[float, ...]
    seed: int
    draws: int
    tune: int
    chains: int

    @property
    def key(self) -> str:
        """``<family>-<source>``."""
        return f"{self.family}-{self.source}"


@dataclass
class RecoveryFit:
    """What one fit returns (picklable): status, the compared draws and the posterior.

    ``log_hr`` holds the draws of the log hazard ratio of the second arm relative to the
    reference arm; ``surv`` the draws of ``S(t)``, shape (draws, arm, landmark).
    """

    task: RecoveryTask
    status: str
    failures: list[str]
    log_hr: np.ndarray
    surv: np.ndarray
    idata: Any
    landmark_methods: dict[str, str]
    seconds: float


def recovery_fit(task: RecoveryTask) -> RecoveryFit:
    """Run one fit of a recovery check (module-level, so process and Dask executors can call it)."""
    from resurv.censoring import CensoringModel
    from resurv.fit import IndividualData, fit
    from resurv.run import study_terms

    start = _time.perf_counter()
    study = task.study
    arms = tuple(a.id for a in study.arms)
    if task.source == "full":
        d = task.data
        terms = [IndividualData(d["time"], d["event"].astype(int), d["arm"].to_numpy(), arms=arms)]
        methods: dict[str, str] = {}
    elif task.source == "figures":
        terms, methods = study_terms(study, CensoringModel.from_study(study))
    else:
        raise ValueError(f"source must be 'full' or 'figures'; received {task.source!r}")
    res = fit(terms, arms=arms, reference_arm=study.reference_arm, family=task.family,
              prior=task.prior, prior_kwargs={"time_unit": study.time_unit}, draws=task.draws,
              tune=task.tune, chains=task.chains, seed=task.seed, times=task.landmarks)  # fmt: skip
    other = arms[1]
    hr = res.hazard_ratio.sel(arm=other).transpose("chain", "draw").values.ravel()
    surv = res.surv_at(task.landmarks).transpose("chain", "draw", "arm", "time").values
    return RecoveryFit(
        task=task,
        status=res.status,
        failures=[f.message() for f in res.diagnostics.failures],
        log_hr=np.log(hr),
        surv=surv.reshape(-1, *surv.shape[2:]),
        idata=res.idata,
        landmark_methods=methods,
        seconds=_time.perf_counter() - start,
    )


# -- the check ----------------------------------------------------------------------------------


@dataclass
class RecoveryResult:
    """The two posteriors of a recovery check, side by side, and their agreement.

    Attributes
    ----------
    dataset : RecoveryDataset
    data : pandas.DataFrame
        The individual data (``time``, ``event``, ``arm``).
    figures : pandas.DataFrame
        The printed figures (:func:`printed_figures`).
    study : Study
        The study built from the printed figures alone (:func:`figure_study`).
    landmarks : tuple of float
    fits : list of RecoveryFit
        One per family and source ("full", "figures").
    table : pandas.DataFrame
        Long table: ``family, quantity ("hazard_ratio" | "survival"), arm, time, source,
        median, sd, lb, ub`` (95% equal-tailed interval).
    agreement : pandas.DataFrame
        One row per family and compared quantity ("log_hazard_ratio" of the second arm,
        "survival" per arm and landmark) with the columns of :func:`agreement`.
    settings : dict
        Everything needed to reproduce the check.
    """

    dataset: RecoveryDataset
    data: pd.DataFrame
    figures: pd.DataFrame
    study: Study
    landmarks: tuple[float, ...]
    fits: list[RecoveryFit]
    table: pd.DataFrame
    agreement: pd.DataFrame
    settings: dict

    @property
    def passed(self) -> bool:
        """Whether every fit passed its diagnostics."""
        return all(f.status == "ok" for f in self.fits)

    @property
    def agrees(self) -> bool:
        """Whether every compared quantity agrees (see :func:`agreement`)."""
        return bool(self.agreement["agrees"].all())

    def fit(self, family: str, source: str) -> RecoveryFit:
        """Return the fit of ``family`` from ``source`` ("full" or "figures")."""
        for f in self.fits:
            if f.task.family == family and f.task.source == source:
                return f
        have = [f.task.key for f in self.fits]
        raise KeyError(f"no fit {family}-{source}; the fits are {have}")

    def to_text(self) -> str:
        """A few lines: the agreement of each compared quantity."""
        lines = [f"Recovery on {self.dataset.name}: figures {', '.join(self.figures['printed'])}"]
        for row in self.agreement.itertuples():
            what = "log HR" if row.quantity == "log_hazard_ratio" else f"S({row.time:g}) {row.arm}"
            lines.append(
                f"{row.family:<12} {what:<22} z = {row.z:+.2f}, width ratio {row.width_ratio:.2f}, "
                f"overlap {row.overlap:.2f}: {'agrees' if row.agrees else 'DISAGREES'}"
            )
        if not self.passed:
            lines.append("FAILED DIAGNOSTICS: " + ", ".join(f.task.key for f in self.fits
                                                           if f.status != "ok"))  # fmt: skip
        return "\n".join(lines)


def _summary_row(family, quantity, arm, t, source, x) -> dict[str, Any]:
    med, lb, ub = _interval(x)
    return {"family": family, "quantity": quantity, "arm": arm, "time": t, "source": source,
            "median": med, "sd": float(np.std(x, ddof=1)), "lb": lb, "ub": ub}  # fmt: skip


def _tables(fits, arms, landmarks, z_max) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, agree = [], []
    families = list(dict.fromkeys(f.task.family for f in fits))
    for family in families:
        by_source = {f.task.source: f for f in fits if f.task.family == family}
        for source in ("full", "figures"):
            f = by_source[source]
            rows.append(_summary_row(family, "hazard_ratio", arms[1], np.nan, source,
                                     np.exp(f.log_hr)))  # fmt: skip
            for i, arm in enumerate(arms):
                for j, t in enumerate(landmarks):
                    rows.append(_summary_row(family, "survival", arm, t, source, f.surv[:, i, j]))
        full, figs = by_source["full"], by_source["figures"]
        agree.append(
            {
                "family": family,
                "quantity": "log_hazard_ratio",
                "arm": arms[1],
                "time": np.nan,
                **agreement(full.log_hr, figs.log_hr, z_max=z_max),
            }
        )
        for i, arm in enumerate(arms):
            for j, t in enumerate(landmarks):
                a = agreement(full.surv[:, i, j], figs.surv[:, i, j], z_max=z_max)
                agree.append({"family": family, "quantity": "survival", "arm": arm, "time": t, **a})
    return pd.DataFrame(rows), pd.DataFrame(agree)


def recovery_check(
    dataset: str | RecoveryDataset = "leukemia",
    *,
    family: str | Sequence[str] = ("exponential", "weibull"),
    prior: str = "weakly_informative",
    landmarks: Sequence[float] | None = None,
    width: float | None = None,
    seed: int = DEFAULT_SEED,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    z_max: float = Z_MAX,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RecoveryResult:
    """Fit a real cohort from its individual data and from its printed figures; compare.

    Parameters
    ----------
    dataset : str or RecoveryDataset, default "leukemia"
        A key of :data:`DATASETS` or a dataset description.
    family : str or sequence of str, default ("exponential", "weibull")
        Survival families; each is fitted to both sources.
    prior : str, default "weakly_informative"
        Prior set (:func:`resurv.priors.get_prior_set`), in the dataset's time unit.
    landmarks : sequence of float, optional
        Landmark times of the printed survival (default: the dataset's, e.g. 10 and 20 weeks);
        multiples of ``width``.
    width : float, optional
        Life-table interval width (default: the dataset's, e.g. 5 weeks).
    seed : int
        Master seed; each fit gets its own seed from :func:`resurv.parallel.task_seeds`.
    draws, tune, chains : int
        Sampler settings of every fit.
    z_max : float, default 2
        Agreement threshold of :func:`agreement`.
    executor : concurrent.futures.Executor, optional
        Where to run the fits (:func:`resurv.parallel.run_tasks`; default: in this process).
    progress : callable, optional
        ``progress(done, total)`` after each fit.

    Returns
    -------
    RecoveryResult
        ``table`` (both posteriors) and ``agreement`` (the measure of :func:`agreement` for the
        log hazard ratio and each landmark survival).

    Examples
    --------
    >>> result = recovery_check("leukemia", family="weibull")  # doctest: +SKIP
    >>> result.agreement[["quantity", "arm", "z", "width_ratio", "agrees"]]  # doctest: +SKIP
    """
    from resurv.families import get_family
    from resurv.parallel import run_tasks, task_seeds

    ds = _dataset(dataset)
    families = (family,) if isinstance(family, str) else tuple(family)
    if not families:
        raise ValueError("family must name at least one survival family, e.g. 'weibull'.")
    families = tuple(get_family(f).name for f in families)
    landmarks = ds.landmarks if landmarks is None else landmarks
    landmarks = tuple(sorted({float(t) for t in landmarks}))
    width = float(ds.width if width is None else width)
    if not landmarks or landmarks[0] <= 0:
        raise ValueError(
            f"landmarks must be one or more times > 0; received {landmarks}. Try e.g. "
            f"{ds.landmarks} ({ds.time_unit})."
        )
    data = load_recovery_data(ds)
    figures = printed_figures(data, arms=ds.arms, landmarks=landmarks, width=width)
    study = figure_study(ds, data, figures, width)
    seeds = task_seeds(seed, 2 * len(families))
    tasks = [
        RecoveryTask(
            source, fam, prior, study, data, landmarks, seeds[2 * i + k], draws, tune, chains
        )  # fmt: skip
        for k, source in enumerate(("figures", "full"))
        for i, fam in enumerate(families)
    ]
    fits = run_tasks(recovery_fit, tasks, keys=[t.key for t in tasks], executor=executor,
                     on_done=progress)  # fmt: skip
    table, agree = _tables(fits, ds.arms, landmarks, z_max)
    settings = {"dataset": ds.name, "families": list(families), "prior": prior,
                "landmarks": list(landmarks), "width": width, "seed": int(seed),
                "seeds": {t.key: t.seed for t in tasks}, "draws": draws, "tune": tune,
                "chains": chains, "z_max": z_max, "ci_prob": CI_PROB}  # fmt: skip
    return RecoveryResult(ds, data, figures, study, landmarks, fits, table, agree, settings)
