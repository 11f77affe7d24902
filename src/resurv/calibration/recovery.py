"""Recovery on real individual data: the reanalysis from printed figures against the truth.

A real two-arm cohort shipped by lifelines is analysed twice with the same survival family
and prior set:

1. from the **full individual data** (:class:`resurv.model.IndividualData`), the best one can do;
2. from the **figures a paper would print** about it: actuarial (Cutler-Ederer) landmark
   survival per arm at one decimal, the log-rank p and the follow-up range, turned into a
   :class:`~resurv.study.Study` and re-analysed with :func:`resurv.model.study_terms.study_terms`.

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resurv.calibration.recovery_data import (
    CI_PROB,
    Z_MAX,
    RecoveryDataset,
    _dataset,
    _interval,
    agreement,
    figure_study,
    load_recovery_data,
    printed_figures,
)
from resurv.study.schema import Study

__all__ = [
    "RecoveryFit",
    "RecoveryResult",
    "RecoveryTask",
    "recovery_check",
    "recovery_fit",
]


#: default seed of :func:`recovery_check` (per-fit seeds are spawned from it)
DEFAULT_SEED = 1963


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

    ``log_hr`` holds the draws of the log hazard ratio of every arm but the reference relative
    to the reference arm, shape (draws, other arm) in study order; ``surv`` the draws of
    ``S(t)``, shape (draws, arm, landmark).
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
    from resurv.fit.sampling import fit
    from resurv.model.censoring import CensoringModel
    from resurv.model.individual_data import IndividualData
    from resurv.model.study_terms import study_terms

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
    others = [a for a in arms if a != study.reference_arm]
    hr = res.hazard_ratio.sel(arm=others).transpose("chain", "draw", "arm").values
    hr = hr.reshape(-1, len(others))
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


def _tables(fits, arms, landmarks, z_max, reference) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, agree = [], []
    others = [a for a in arms if a != reference]
    families = list(dict.fromkeys(f.task.family for f in fits))
    for family in families:
        by_source = {f.task.source: f for f in fits if f.task.family == family}
        for source in ("full", "figures"):
            f = by_source[source]
            for i, other in enumerate(others):
                rows.append(_summary_row(family, "hazard_ratio", other, np.nan, source,
                                         np.exp(f.log_hr[:, i])))  # fmt: skip
            for i, arm in enumerate(arms):
                for j, t in enumerate(landmarks):
                    rows.append(_summary_row(family, "survival", arm, t, source, f.surv[:, i, j]))
        full, figs = by_source["full"], by_source["figures"]
        for i, other in enumerate(others):
            a = agreement(full.log_hr[:, i], figs.log_hr[:, i], z_max=z_max)
            agree.append({"family": family, "quantity": "log_hazard_ratio", "arm": other,
                          "time": np.nan, **a})  # fmt: skip
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
        Prior set (:func:`resurv.model.priors.get_prior_set`), in the dataset's time unit.
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
    from resurv.model.families import get_family
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
    table, agree = _tables(fits, ds.arms, landmarks, z_max, study.reference_arm)
    settings = {"dataset": ds.name, "families": list(families), "prior": prior,
                "landmarks": list(landmarks), "width": width, "seed": int(seed),
                "seeds": {t.key: t.seed for t in tasks}, "draws": draws, "tune": tune,
                "chains": chains, "z_max": z_max, "ci_prob": CI_PROB}  # fmt: skip
    return RecoveryResult(ds, data, figures, study, landmarks, fits, table, agree, settings)
