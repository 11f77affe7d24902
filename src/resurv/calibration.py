"""Simulation-based calibration (SBC) and interval coverage of the likelihood of printed figures.

For a study's *design* (arms with their candidate sizes, censoring model, printed figures),
each replicate draws the parameters from a proper prior set, simulates a cohort, prints the
figures a paper would print, builds the likelihood terms from them as a real run does
(:func:`resurv.likelihood.landmark_term` in one fixed form, :func:`resurv.run.study_terms`)
and fits them (:func:`resurv.fit.fit`). If likelihood, sampler and printing agree, the rank
of each true parameter among its posterior draws is uniform [1]_ and central posterior
intervals cover the truth at their nominal rate.

Each replicate is one task of :func:`resurv.parallel.run_tasks` with its own seed and a JSON
checkpoint: a simulation resumes where it stopped and gives the same numbers in this process,
on a process pool or on a cluster (``executor=client.get_executor()``). Replicates share one
model structure, compiled once per process (:mod:`resurv._compile`).

References
----------
.. [1] Talts S, Betancourt M, Simpson D, Vehtari A, Gelman A. Validating Bayesian inference
   algorithms with simulation-based calibration. arXiv:1804.06788, 2018.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from resurv import __version__, _compile
from resurv.censoring import CensoringModel
from resurv.errors import AuditError, FitError, StudyError
from resurv.fit import ResurvFitWarning, fit
from resurv.likelihood import ApproxLandmark, landmark_term
from resurv.nonparametric import km_median_ci
from resurv.outputs import atomic_folder, check_destination, versions, write_json
from resurv.parallel import InProcessExecutor, local_executor, run_tasks, task_seeds
from resurv.priors import get_prior_set, sample_prior
from resurv.reduce import LandmarkSpec, format_fixed, reduce_cohort
from resurv.run import study_terms
from resurv.simulate import simulate_cohort
from resurv.study import (
    FAMILIES,
    HazardRatioFigure,
    MedianFigure,
    Printed,
    Study,
    SurvivalFigure,
    load_study,
)

__all__ = [
    "ReplicateTask", "SimulationOutcome", "SimulationSettings", "calibrate", "coverage_table",
    "cox_hazard_ratio", "print_figures", "run_replicate", "sbc_chi_square", "simulate_figures",
    "simulate_study", "simulation_design",
]  # fmt: skip

#: figure kinds a replicate reproduces; the others carry no information on the hazards
SIMULATED_FIGURES = (SurvivalFigure, HazardRatioFigure, MedianFigure)


@dataclass(frozen=True)
class SimulationSettings:
    """Settings of a simulation-based calibration.

    Parameters
    ----------
    replicates : int, default 200
        Number of simulated studies.
    seed : int, optional
        Master seed (default: the study file's ``analysis.seed``). Replicate ``i`` gets the
        ``i``-th child seed of ``SeedSequence(seed)``, whatever the number of replicates, so
        a run of 100 replicates is the first half of a run of 200.
    workers : int, default 1
        Local processes (``resurv.parallel.local_executor``) when no executor is given.
    family : {"exponential", "weibull"}
    prior : str
        A proper prior set (parameters are drawn from it).
    draws, tune, chains : int
        Sampler settings of each fit.
    thin : int, default 10
        Keep every ``thin``-th draw of each chain for the ranks (near-independent draws).
    cores : int, default 1
        Chains sampled in parallel within a fit; replicates are the unit of parallelism.
    landmark : {"auto", "exact", "approximate"}
        ``"auto"``: the landmark term a real run chooses; ``"exact"``: the same, but a
        replicate without an exact term is unhandled; ``"approximate"``: the approximate
        (effective sample size) term for every arm.
    landmark_form : {"enumeration", "forward"}
        Form of every exact landmark term (the same value; one form keeps one model
        structure across replicates). A real run enumerates feasible sets of up to
        ``resurv.likelihood.ENUMERATION_LIMIT`` configurations; a replicate with more than
        100,000 configurations has no enumeration form and is unhandled.
    sizes : {"uniform", "first"}
        ``"uniform"``: each replicate's arm size is drawn uniformly among the candidates, the
        generative model of the likelihood's equal-weight mixture; ``"first"``: the first
        candidate only, and the likelihood is told so.
    max_term_entries : int, default 1_000_000
        A replicate whose likelihood terms read more array entries per evaluation is
        unhandled (19 patients printing 0.0%: the forward form reads 2e7 entries and a fit
        would take hours). Such exclusions depend on the data only, so they keep the ranks
        of the other replicates uniform.
    bins : int, optional
        Bins of the rank histograms (default ``clip(ranked // 10, 2, 20)``).
    levels : tuple of float
        Probabilities of the central intervals whose coverage is recorded.
    alpha : float, default 0.01
        Level of the chi-square test of rank uniformity.
    max_failed_share : float, default 0.05
        Largest share of fits failing their diagnostics for the calibration to pass.
    """

    replicates: int = 200
    seed: int | None = None
    workers: int = 1
    family: str = "exponential"
    prior: str = "weakly_informative"
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    thin: int = 10
    cores: int = 1
    landmark: str = "auto"
    sizes: str = "uniform"
    landmark_form: str = "enumeration"
    max_term_entries: int = 1_000_000
    bins: int | None = None
    levels: tuple[float, ...] = (0.5, 0.9, 0.95)
    alpha: float = 0.01
    max_failed_share: float = 0.05

    def __post_init__(self):
        ints = ("replicates", "workers", "draws", "chains", "thin", "cores", "max_term_entries")
        for name, low in (*((n, 1) for n in ints), ("tune", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; received {value!r}")
        choices = (("family", FAMILIES), ("landmark", ("auto", "exact", "approximate")),
                   ("sizes", ("uniform", "first")),
                   ("landmark_form", ("enumeration", "forward")))  # fmt: skip
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {list(allowed)}; received {getattr(self, name)!r}"
                )
        problems = [
            (self.seed is not None and not (isinstance(self.seed, int) and 0 <= self.seed < 2**32),
             f"seed must be an integer in [0, 2**32) or None; received {self.seed!r}"),
            (self.thin > self.draws, f"thin ({self.thin}) exceeds draws ({self.draws}): no "
             "draw would be kept; use thin <= draws (e.g. draws=1000, thin=10)"),
            (self.bins is not None and not (isinstance(self.bins, int) and self.bins >= 2),
             f"bins must be an integer >= 2 or None; received {self.bins!r}"),
            (not self.levels or not all(0 < lv < 1 for lv in self.levels),
             f"levels must be probabilities in (0, 1); received {self.levels!r}"),
            (not (0 < self.alpha < 1 and 0 <= self.max_failed_share <= 1),
             f"need 0 < alpha < 1 and 0 <= max_failed_share <= 1; received alpha="
             f"{self.alpha!r}, max_failed_share={self.max_failed_share!r}"),
        ]  # fmt: skip
        for bad, message in problems:
            if bad:
                raise ValueError(message)

    @property
    def kept_draws(self) -> int:
        """Thinned posterior draws per fit: the ranks lie in ``0 .. kept_draws``."""
        return self.chains * len(range(0, self.draws, self.thin))


# -- the design and one replicate's figures ------------------------------------------------


def simulation_design(study: Study, sizes: str = "uniform") -> Study:
    """The study restricted to what a replicate reproduces: survival, hazard-ratio, median.

    Proportions, counts, percent-of pairs, follow-up and log-rank figures are dropped: they
    carry no likelihood on the hazards (a log-rank p is a predictive check). With
    ``sizes="first"`` every arm keeps its first candidate size only.
    """
    figures = tuple(f for f in study.figures if isinstance(f, SIMULATED_FIGURES))
    if not figures:
        raise StudyError(
            "figure",
            f"study {study.id!r} prints no survival, hazard_ratio or median figure; "
            "simulation-based calibration checks the likelihood of those figures. Add the "
            "landmark survival or median the paper prints.",
        )
    arms = study.arms if sizes == "uniform" else tuple(replace(a, n=a.n[:1]) for a in study.arms)
    return replace(study, figures=figures, arms=arms)


def _printed(value: float, decimals: int, rule: str) -> Printed:
    return Printed(float(format_fixed(value, decimals, rule)), decimals)


def cox_hazard_ratio(time, event, x, *, level: float = 0.95, tol: float = 1e-12):
    """Cox proportional-hazards hazard ratio of ``x = 1`` vs ``x = 0`` with its Wald interval.

    Returns ``(hr, lower, upper)``. Ties are handled as Breslow does (the same as Efron and
    the exact partial likelihood for distinct death times, as in simulated cohorts). Raises
    ValueError without deaths or without a finite maximum (all deaths in one group).

    Notes
    -----
    At each distinct death time ``t_j`` with ``d_j`` deaths, ``d1_j`` of them in group 1, and
    ``n0_j``, ``n1_j`` at risk, ``p_j(b) = n1_j e^b / (n0_j + n1_j e^b)``; Newton's method
    solves ``U(b) = sum_j d1_j - d_j p_j = 0`` with information ``I(b) = sum_j d_j p_j (1 - p_j)``
    and ``SE = I(b)^{-1/2}``.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    x = np.asarray(x, dtype=bool)
    death_times = np.unique(time[event])
    if death_times.size == 0:
        raise ValueError("no deaths: the hazard ratio is not estimable")
    at_risk = time[None, :] >= death_times[:, None]  # (death times, patients)
    dies = event[None, :] & (time[None, :] == death_times[:, None])
    n1, n0, d, d1 = (m.sum(axis=1) for m in (at_risk & x, at_risk & ~x, dies, dies & x))

    def score_info(b: float) -> tuple[float, float]:
        p = n1 * math.exp(b) / (n0 + n1 * math.exp(b))
        return float(np.sum(d1 - d * p)), float(np.sum(d * p * (1 - p)))

    b = 0.0
    for _ in range(100):
        u, info = score_info(b)
        if info <= 0 or abs(b) > 30:
            break
        b += float(np.clip(u / info, -2.0, 2.0))
        if abs(u / info) < tol:
            half = stats.norm.ppf(0.5 + level / 2) / math.sqrt(score_info(b)[1])
            return math.exp(b), math.exp(b - half), math.exp(b + half)
    raise ValueError(
        "the Cox partial likelihood has no finite maximum (all deaths in one group); "
        "no hazard ratio is printed"
    )


class _Unprintable(Exception):
    """A simulated cohort whose figure no paper could print (the message says why)."""


def _ci(limits, template, rule: str, fig_id: str) -> tuple[Printed, Printed]:
    ci = tuple(_printed(v, c.decimals, rule) for v, c in zip(limits, template, strict=True))
    if not 0 < ci[0].value < ci[1].value:
        raise _Unprintable(f"{fig_id}: the confidence interval prints as {ci[0]}-{ci[1]}")
    return ci


def _print_one(fig, rule: str, time, event, group):
    if isinstance(fig, HazardRatioFigure):
        sel = np.isin(group, fig.arms)
        try:
            hr, lo, hi = cox_hazard_ratio(
                time[sel], event[sel], group[sel] == fig.arms[0], level=fig.ci_level
            )
        except ValueError as exc:
            raise _Unprintable(f"{fig.id}: {exc}") from None
        printed = _printed(hr, fig.hr.decimals, rule)
        if printed.value <= 0:
            raise _Unprintable(f"{fig.id}: the hazard ratio prints as {printed}")
        ci = None if fig.ci is None else _ci((lo, hi), fig.ci, rule, fig.id)
        return replace(fig, hr=printed, ci=ci)
    t, e = time[group == fig.arm], event[group == fig.arm]
    if isinstance(fig, SurvivalFigure):
        estimator = "actuarial" if fig.estimator == "unknown" else fig.estimator
        spec = LandmarkSpec(fig.id, fig.time, None, estimator, fig.interval_width)
        value = reduce_cohort(t, e, None, [spec])[fig.id].value
        return replace(fig, percent=_printed(100 * value, fig.percent.decimals, rule))
    m = km_median_ci(t, e, level=fig.ci_level)
    if math.isnan(m.median):
        return replace(fig, value=None, ci=None)
    value = _printed(m.median, fig.value.decimals if fig.value is not None else 1, rule)
    if fig.ci is None:
        return replace(fig, value=value)
    if math.isnan(m.lower) or math.isnan(m.upper):
        raise _Unprintable(f"{fig.id}: a limit of the median's confidence interval is not reached")
    return replace(fig, value=value, ci=_ci((m.lower, m.upper), fig.ci, rule, fig.id))


def print_figures(design: Study, cohort: dict) -> tuple[tuple, str]:
    """The design's figures as a paper would print them from ``cohort``, or ``((), reason)``.

    Survival: the figure's estimator (actuarial when "unknown") at its time and precision.
    Hazard ratio: Cox (:func:`cox_hazard_ratio`) with its Wald interval. Median: Kaplan-Meier
    with the Brookmeyer-Crowley interval (log transformation), "not reached" when the curve
    stays above one half. Numbers are truncated when the figure's rounding is "truncate",
    else rounded half up. Under "either" (round or truncate) the likelihood, as in a real
    run, also counts the data that print the value by truncation: SBC checks that reading.
    """
    group = np.asarray(cohort["arms"])[cohort["arm"]]
    time, event = np.asarray(cohort["time"]), np.asarray(cohort["event"], dtype=bool)
    try:
        rules = ["truncate" if design.rounding_of(f) == "truncate" else "round"
                 for f in design.figures]  # fmt: skip
        printed = [_print_one(f, r, time, event, group)
                   for f, r in zip(design.figures, rules, strict=True)]  # fmt: skip
    except _Unprintable as exc:
        return (), str(exc)
    return tuple(printed), ""


def _prior_kwargs(study: Study) -> dict[str, Any]:
    a, unit = study.analysis, study.time_unit
    return {"hr_important": a.hr_important, "literature": a.literature, "time_unit": unit}


def simulate_figures(design: Study, family: str, prior: str, seed: int) -> dict[str, Any]:
    """Draw one replicate's parameters, arm sizes and cohort, and print its figures.

    Returns a dict: ``hazard`` and ``n`` per arm, ``shape``, ``cohort`` (as
    :func:`resurv.simulate.simulate_cohort` gives it), ``study`` (the design with the printed
    figures, or None) and ``reason`` (why they cannot be printed, or "").
    """
    prior_seed, sim_seed = np.random.SeedSequence(seed).spawn(2)
    arms = tuple(a.id for a in design.arms)
    prior_set = get_prior_set(prior, **_prior_kwargs(design))
    hazard, shape = sample_prior(prior_set, family, arms, design.reference_arm, draws=1,
                                 seed=prior_seed)  # fmt: skip
    hazard = dict(zip(arms, hazard[0].tolist(), strict=True))
    rng = np.random.default_rng(sim_seed)
    n = {a.id: int(a.n[rng.integers(len(a.n))]) for a in design.arms}
    k = float(shape[0]) if family == "weibull" else None
    cohort = simulate_cohort(rng, family, hazard, k, n, CensoringModel.from_study(design))
    figures, reason = print_figures(design, cohort)
    study = replace(design, figures=figures) if figures else None
    return {"hazard": hazard, "shape": float(shape[0]), "n": n, "study": study,
            "reason": reason, "cohort": cohort}  # fmt: skip


# -- one replicate: fit and ranks ----------------------------------------------------------


@dataclass(frozen=True)
class ReplicateTask:
    """One replicate: the design, the settings, its index and its own seed."""

    design: Study
    settings: SimulationSettings
    index: int
    seed: int

    @property
    def key(self) -> str:
        """Checkpoint name, e.g. ``replicate-00012``."""
        return f"replicate-{self.index:05d}"


def _terms(study: Study, settings: SimulationSettings, censoring: CensoringModel):
    """Landmark terms of one fixed form (one model structure); the others by study_terms."""
    by_arm: dict[str, list[SurvivalFigure]] = {}
    for f in study.figures_of(SurvivalFigure):
        by_arm.setdefault(f.arm, []).append(f)
    terms, methods = [], {}
    for arm_id, figs in by_arm.items():
        figs = sorted(figs, key=lambda f: f.time)
        if settings.landmark == "approximate":
            terms.append(ApproxLandmark(arm_id, [f.time for f in figs], [f.percent for f in figs],
                                        study.arm(arm_id).n, censoring))  # fmt: skip
            methods[arm_id] = "approximate: chosen by the simulation settings"
            continue
        choice = landmark_term(study.arm(arm_id), figs, censoring=censoring,
                               rounding=study.rounding, form=settings.landmark_form)  # fmt: skip
        if settings.landmark == "exact" and choice.method != "exact":
            raise AuditError(f"arm {arm_id!r} has no exact landmark term: {choice.reason}")
        terms.append(choice.term)
        methods[arm_id] = f"{choice.method}: {choice.reason}"
    others = tuple(f for f in study.figures if not isinstance(f, SurvivalFigure))
    terms += study_terms(replace(study, figures=others), censoring)[0]
    for term in terms:
        entries = sum(np.asarray(v).size for v in term.data().values())
        if entries > settings.max_term_entries:
            raise AuditError(
                f"term {term.name} reads {entries:,} array entries per evaluation (more than "
                f"max_term_entries={settings.max_term_entries:,}): too slow to fit"
            )
    return terms, methods


def run_replicate(task: ReplicateTask) -> dict[str, Any]:
    """Simulate, print, fit and rank one replicate (module-level: picklable for executors).

    Returns a JSON-safe dict: ``status`` "ok", "failed" (diagnostics, fit error) or
    "unhandled" (``reason`` says why the printed figures cannot be used); ``rank``,
    ``covered`` and ``posterior_median`` per parameter for fitted replicates.
    """
    start = time.perf_counter()
    s, design = task.settings, task.design
    sim = simulate_figures(design, s.family, s.prior, task.seed)
    shape = {"shape": sim["shape"]} if s.family == "weibull" else {}
    truth = {f"log_hazard[{a}]": math.log(v) for a, v in sim["hazard"].items()} | shape
    out: dict[str, Any] = {"replicate": task.index, "seed": task.seed, "n": sim["n"],
                           "truth": truth, "printed": {}, "status": "unhandled",
                           "reason": sim["reason"]}  # fmt: skip
    study = sim["study"]
    if study is not None:
        out["printed"] = {f.id: _figure_text(f) for f in study.figures}
        censoring = CensoringModel.from_study(study)
        try:
            terms, out["methods"] = _terms(study, s, censoring)
        except (AuditError, StudyError, ValueError) as exc:
            out["reason"] = f"the printed figures cannot enter the likelihood: {exc}"
            study = None
    if study is not None:
        fit_seed = int(np.random.SeedSequence(task.seed).spawn(3)[2].generate_state(1)[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResurvFitWarning)
                res = fit(terms, arms=tuple(a.id for a in study.arms),
                          reference_arm=study.reference_arm, family=s.family, prior=s.prior,
                          prior_kwargs=_prior_kwargs(study), draws=s.draws, tune=s.tune,
                          chains=s.chains, cores=s.cores, seed=fit_seed)  # fmt: skip
        except FitError as exc:
            out |= {"status": "failed", "reason": f"fit error: {exc}"}
        else:
            failures = "; ".join(f.message() for f in res.diagnostics.failures)
            out |= {"status": res.status, "reason": failures}
            out["compiled_from_cache"] = bool(res.settings["compiled_from_cache"])
            out["attempts"] = len(res.settings["attempts"])
            out |= _ranks(res.idata["posterior"], truth, s)
    out["seconds"] = time.perf_counter() - start
    return out


def _figure_text(f) -> str:
    if isinstance(f, SurvivalFigure):
        return f"{f.percent}%"
    if isinstance(f, HazardRatioFigure):
        return f"{f.hr}" + (f" ({f.ci[0]}-{f.ci[1]})" if f.ci else "")
    value = "not reached" if f.value is None else str(f.value)
    return value + (f" ({f.ci[0]}-{f.ci[1]})" if f.ci else "")


def _ranks(posterior, truth: dict, s: SimulationSettings) -> dict[str, Any]:
    rank, covered, median = {}, {}, {}
    for name, value in truth.items():
        if name == "shape":
            draws = posterior["shape"].transpose("chain", "draw").values
        else:  # log_hazard[<arm>]
            arm = name[len("log_hazard[") : -1]
            draws = posterior["log_hazard"].sel(arm=arm).transpose("chain", "draw").values
        # a retried fit may hold a multiple of the draws: thin it more, to the same count
        thinned = draws[:, :: s.thin * (draws.shape[1] // s.draws)].ravel()
        if thinned.size != s.kept_draws:
            raise ValueError(f"{thinned.size} thinned draws; expected {s.kept_draws}")
        rank[name] = int(np.sum(thinned < value))
        median[name] = float(np.median(draws))
        bounds = [((1 - lv) / 2, (1 + lv) / 2) for lv in s.levels]
        limits = np.quantile(draws, np.ravel(bounds)).reshape(-1, 2)
        covered[name] = {f"{lv:g}": bool(lo <= value <= hi)
                         for lv, (lo, hi) in zip(s.levels, limits, strict=True)}  # fmt: skip
    return {"rank": rank, "covered": covered, "posterior_median": median, "n_draws": thinned.size}


# -- statistics ------------------------------------------------------------------------------


def sbc_chi_square(ranks, n_draws: int, bins: int) -> dict[str, Any]:
    """Chi-square test that ranks are uniform on ``0 .. n_draws``, in ``bins`` bins.

    Rank ``r`` falls in bin ``floor(r * bins / (n_draws + 1))``; bin ``b`` has probability
    ``#{r in b} / (n_draws + 1)`` (exact even when ``bins`` does not divide ``n_draws + 1``).
    The statistic ``sum (O - E)^2 / E`` is compared with a chi-square on ``bins - 1`` degrees
    of freedom.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_draws):
        raise ValueError(f"ranks must lie in [0, {n_draws}]; got {ranks.min()}..{ranks.max()}")
    if not 2 <= bins <= n_draws + 1:
        raise ValueError(f"bins must lie in [2, n_draws + 1 = {n_draws + 1}]; received {bins}")
    prob = np.bincount(np.arange(n_draws + 1) * bins // (n_draws + 1), minlength=bins)
    prob = prob / (n_draws + 1)
    observed = np.bincount(ranks * bins // (n_draws + 1), minlength=bins)
    expected = ranks.size * prob
    chi2 = float(np.sum((observed - expected) ** 2 / expected)) if ranks.size else math.nan
    return {"chi2": chi2, "df": bins - 1, "p_value": float(stats.chi2.sf(chi2, bins - 1)),
            "observed": observed, "expected": expected, "prob": prob}  # fmt: skip


def coverage_table(ranks: pd.DataFrame, levels) -> pd.DataFrame:
    """Empirical coverage of the central intervals per parameter, with Clopper-Pearson 95%."""
    rows = []
    for name, group in ranks.groupby("parameter", sort=False):
        for level in levels:
            hits = int(group[f"covered_{level:g}"].sum())
            total = len(group)
            ci = stats.binomtest(hits, total).proportion_ci(0.95, method="exact")
            rows.append({
                "parameter": name, "nominal": level, "covered": hits, "replicates": total,
                "empirical": hits / total, "ci_lower": ci.low, "ci_upper": ci.high,
                "consistent": bool(ci.low <= level <= ci.high),
            })  # fmt: skip
    return pd.DataFrame(rows)


# -- the whole calibration -------------------------------------------------------------------


@dataclass
class SimulationOutcome:
    """Everything a calibration produces: tables, counts, and where they were written."""

    study: Study
    settings: SimulationSettings
    master_seed: int
    replicates: pd.DataFrame
    ranks: pd.DataFrame
    sbc: pd.DataFrame
    coverage: pd.DataFrame
    cache: dict[str, int]
    seconds: float
    folder: Path | None = None
    results: list[dict] = field(default_factory=list, repr=False)

    def count(self, status: str) -> int:
        """Replicates with ``status`` ("ok", "failed", "unhandled")."""
        return int((self.replicates["status"] == status).sum())

    @property
    def failed_share(self) -> float:
        """Failed fits among the fitted (not unhandled) replicates."""
        fitted = self.count("ok") + self.count("failed")
        return self.count("failed") / fitted if fitted else 1.0

    @property
    def passed(self) -> bool:
        """Ranks uniform (every p >= alpha) and failed fits within ``max_failed_share``."""
        s, uniform = self.settings, bool((self.sbc["p_value"] >= self.settings.alpha).all())
        return self.count("ok") > 0 and uniform and self.failed_share <= s.max_failed_share

    def summary_text(self) -> str:
        """A few lines with the numbers, for the terminal."""
        s = self.settings
        lines = [
            f"simulation-based calibration of {self.study.id}: {s.replicates} replicates, "
            f"{s.family}, prior {s.prior!r}, {s.chains} x {s.draws} draws thinned by {s.thin} "
            f"to {s.kept_draws}; {self.seconds:.0f} s",
            f"ranked: {self.count('ok')}; unhandled printed figures: {self.count('unhandled')}; "
            f"failed fits: {self.count('failed')} ({self.failed_share:.1%}, allowed "
            f"{s.max_failed_share:.0%}); compiled models: {self.cache.get('compiles', 'n/a')}",
        ]
        lines += [f"  {r.parameter}: chi-square {r.chi2:.2f} on {r.df} df ({r.bins} bins), "
                  f"p = {r.p_value:.3f}" for r in self.sbc.itertuples()]  # fmt: skip
        for name, group in self.coverage.groupby("parameter", sort=False):
            cells = [f"{r.nominal:.0%}: {r.empirical:.2f} [{r.ci_lower:.2f}, {r.ci_upper:.2f}]"
                     for r in group.itertuples()]  # fmt: skip
            lines.append(f"  coverage of {name}: {', '.join(cells)}")
        bad = [r.parameter for r in self.sbc.itertuples() if not r.p_value >= s.alpha]
        why = [f"ranks not uniform ({', '.join(bad)})"] if bad else []
        if self.failed_share > s.max_failed_share:
            why.append(f"failed fits above {s.max_failed_share:.0%}")
        verdict = f"PASSED: every rank test has p >= {s.alpha:g}, failed fits within the share"
        lines.append(verdict if self.passed else "FAILED: " + "; ".join(why or ["nothing ranked"]))
        if self.folder is not None:
            lines.append(f"results in {self.folder}")
        return "\n".join(lines)


def _frames(results: list[dict], settings: SimulationSettings, design: Study, parameters):
    rep_rows, rank_rows = [], []  # in design order: checkpoints store dicts with sorted keys
    for r in results:
        row = {"replicate": r["replicate"], "seed": r["seed"], "status": r["status"],
               "reason": r["reason"], "seconds": r["seconds"], "attempts": r.get("attempts"),
               "compiled_from_cache": r.get("compiled_from_cache")}  # fmt: skip
        row |= {f"n_{a.id}": r["n"][a.id] for a in design.arms}
        row |= {f"printed_{f.id}": r["printed"].get(f.id) for f in design.figures}
        row |= {f"truth_{k}": r["truth"][k] for k in parameters}
        rep_rows.append(row)
        if r["status"] != "ok":
            continue
        for name in parameters:
            rank_rows.append({
                "replicate": r["replicate"], "seed": r["seed"], "parameter": name,
                "truth": r["truth"][name], "rank": r["rank"][name], "n_draws": r["n_draws"],
                "posterior_median": r["posterior_median"][name],
                **{f"covered_{lv:g}": r["covered"][name][f"{lv:g}"] for lv in settings.levels},
            })  # fmt: skip
    columns = ["replicate", "seed", "parameter", "truth", "rank", "n_draws", "posterior_median"]
    columns += [f"covered_{lv:g}" for lv in settings.levels]
    return pd.DataFrame(rep_rows), pd.DataFrame(rank_rows, columns=columns)


def _sbc_frame(ranks: pd.DataFrame, settings: SimulationSettings, parameters) -> pd.DataFrame:
    rows = []
    n_draws = settings.kept_draws
    for name in parameters:
        r = ranks.loc[ranks["parameter"] == name, "rank"].to_numpy()
        bins = settings.bins or int(min(max(r.size // 10, 2), 20, n_draws + 1))
        test = sbc_chi_square(r, n_draws, bins)
        rows.append({
            "parameter": name, "replicates": r.size, "n_draws": n_draws, "bins": bins,
            "chi2": test["chi2"], "df": test["df"], "p_value": test["p_value"],
            "min_expected": float(test["expected"].min()),
            "uniform": bool(test["p_value"] >= settings.alpha),
        })  # fmt: skip
    return pd.DataFrame(rows)


def calibrate(
    study: Study,
    settings: SimulationSettings | None = None,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint_dir: str | Path | None = None,
) -> SimulationOutcome:
    """Run the simulation-based calibration of ``study``'s design, in memory.

    Parameters
    ----------
    study : Study
    settings : SimulationSettings, optional
    executor : concurrent.futures.Executor, optional
        Where replicates run (default: this process, or ``local_executor(workers)``).
    progress : callable, optional
        ``progress(done, total)`` after each replicate.
    checkpoint_dir : path, optional
        One JSON file per finished replicate; replicates already stored are not rerun.

    Notes
    -----
    In this process, replicates are handed to :func:`resurv.parallel.run_tasks` one at a
    time, so each checkpoint is written as soon as its replicate is done. Replicates whose
    printed figures cannot be used (``"unhandled"``) are left out of the ranks: their
    exclusion depends on the simulated data only, so the ranks of the others stay uniform.
    Fits that fail their diagnostics are left out too and counted.
    """
    settings = settings or SimulationSettings()
    start = time.perf_counter()
    design = simulation_design(study, settings.sizes)
    prior_set = get_prior_set(settings.prior, **_prior_kwargs(study))
    if not prior_set.is_proper:
        fix = "use a proper set such as 'weakly_informative' or 'sceptical'"
        raise ValueError(f"prior set {settings.prior!r} is improper (nothing to draw from); {fix}")
    master = settings.seed if settings.seed is not None else study.analysis.seed
    seeds = task_seeds(master, settings.replicates)
    tasks = [ReplicateTask(design, settings, i, s) for i, s in enumerate(seeds)]
    before = _compile.cache_info()
    own_pool = executor is None and settings.workers > 1
    pool = local_executor(settings.workers) if own_pool else executor
    try:
        if pool is None or isinstance(pool, InProcessExecutor):  # one by one: checkpoint each
            results = []
            for i, task in enumerate(tasks):
                tick = None if progress is None else (lambda d, _, i=i: progress(i + d, len(tasks)))
                results += run_tasks(run_replicate, [task], keys=[task.key], executor=pool,
                                     checkpoint_dir=checkpoint_dir, on_done=tick)  # fmt: skip
        else:
            results = run_tasks(run_replicate, tasks, keys=[t.key for t in tasks], executor=pool,
                                checkpoint_dir=checkpoint_dir, on_done=progress)  # fmt: skip
    finally:
        if own_pool:
            pool.shutdown()
    after = _compile.cache_info()
    parameters = [f"log_hazard[{a.id}]" for a in design.arms]
    parameters += ["shape"] if settings.family == "weibull" else []
    replicates, ranks = _frames(results, settings, design, parameters)
    fitted = [r for r in results if "compiled_from_cache" in r]
    cache = {
        "compiles": sum(not r["compiled_from_cache"] for r in fitted),
        "cache_hits": sum(r["compiled_from_cache"] for r in fitted),
        "this_process_misses": after["misses"] - before["misses"],
        "this_process_hits": after["hits"] - before["hits"],
    }
    coverage = coverage_table(ranks, settings.levels) if len(ranks) else pd.DataFrame()
    return SimulationOutcome(study, settings, master, replicates, ranks,
                             _sbc_frame(ranks, settings, parameters), coverage, cache,
                             time.perf_counter() - start, results=results)  # fmt: skip


def fingerprint(study: Study, settings: SimulationSettings) -> str:
    """Hash of everything a replicate's result depends on (names its checkpoint folder)."""
    skip = ("replicates", "workers", "bins", "alpha", "max_failed_share")
    keep = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name not in skip}
    text = repr((__version__, study.source_sha256, repr(study), sorted(keep.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulate_study(
    path_or_study: str | Path | Study,
    *,
    out: str | Path | None = None,
    settings: SimulationSettings | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
) -> SimulationOutcome:
    """Run the calibration of a study file's design and write its results folder.

    The folder (default ``results/<study id>-simulation``) gets ``tables/ranks.csv``,
    ``tables/coverage.csv``, ``tables/sbc.csv``, ``tables/replicates.csv``,
    ``figures/sbc_ranks.png``, ``figures/coverage.png`` and ``run.json``, written atomically.
    Until then, finished replicates are kept in ``.<folder name>.checkpoints/`` beside it:
    running the same command again after an interruption reruns only the missing replicates.
    The checkpoints are removed once the folder is written.

    Examples
    --------
    >>> outcome = simulate_study("models/grazi2000.toml",
    ...                          settings=SimulationSettings(replicates=100))  # doctest: +SKIP
    >>> print(outcome.summary_text())  # doctest: +SKIP
    """
    settings = settings or SimulationSettings()
    study = path_or_study if isinstance(path_or_study, Study) else load_study(path_or_study)
    folder = Path(out) if out is not None else Path.cwd() / "results" / f"{study.id}-simulation"
    check_destination(folder, force=force)  # before any fitting
    root = folder.absolute().parent / f".{folder.name}.checkpoints"
    checkpoints = root / fingerprint(study, settings)
    outcome = calibrate(
        study, settings, executor=executor, progress=progress, checkpoint_dir=checkpoints
    )
    write_simulation(outcome, folder, force=force)
    outcome.folder = folder
    shutil.rmtree(checkpoints, ignore_errors=True)
    if root.exists() and not any(root.iterdir()):
        root.rmdir()
    return outcome


# -- the results folder ----------------------------------------------------------------------


def write_simulation(outcome: SimulationOutcome, folder: Path, *, force: bool = False) -> None:
    """Write the tables, the two figures and ``run.json`` of ``outcome`` atomically."""
    with atomic_folder(folder, force=force) as tmp:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        for name in ("replicates", "ranks", "coverage", "sbc"):
            frame = getattr(outcome, name)
            frame.to_csv(tmp / "tables" / f"{name}.csv", index=False, float_format="%.6g")
        _plot_ranks(outcome, tmp / "figures" / "sbc_ranks.png")
        _plot_coverage(outcome, tmp / "figures" / "coverage.png")
        study = outcome.study
        write_json(tmp / "run.json", {
            "resurv": __version__,
            "study": {"id": study.id, "title": study.title, "sha256": study.source_sha256,
                      "arms": [{"id": a.id, "n": list(a.n)} for a in study.arms],
                      "figures": [f.id for f in simulation_design(study).figures]},
            "settings": {**asdict(outcome.settings), "master_seed": outcome.master_seed},
            "seeds": {"master": outcome.master_seed,
                      "per_replicate": outcome.replicates["seed"].tolist()},
            "counts": {s: outcome.count(s) for s in ("ok", "failed", "unhandled")},
            "compile_cache": outcome.cache,
            "sbc": outcome.sbc.to_dict(orient="records"),
            "passed": outcome.passed,
            "seconds": outcome.seconds,
            "versions": versions(),
        })  # fmt: skip


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _plot_ranks(outcome: SimulationOutcome, path: Path) -> None:
    rows = list(outcome.sbc.itertuples())
    fig = _figure(3.6 * max(len(rows), 1), 3.2)
    axes = fig.subplots(1, max(len(rows), 1), squeeze=False)[0]
    for ax, row in zip(axes, rows, strict=False):
        r = outcome.ranks.loc[outcome.ranks["parameter"] == row.parameter, "rank"].to_numpy()
        test = sbc_chi_square(r, row.n_draws, row.bins)
        edges = np.arange(row.bins + 1)
        lo = stats.binom.ppf(0.005, r.size, test["prob"])
        hi = stats.binom.ppf(0.995, r.size, test["prob"])
        ax.fill_between(edges, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                        color="0.85", label="99% band if uniform")  # fmt: skip
        ax.stairs(test["expected"], edges, color="0.4", linestyle="--", label="expected")
        ax.stairs(test["observed"], edges, color="#0072B2", linewidth=1.8, label="observed")
        ax.set(title=f"{row.parameter}\nchi-square p = {row.p_value:.3f}", ylabel="replicates",
               xlabel=f"rank bin ({row.bins} bins of ranks 0-{row.n_draws})")  # fmt: skip
    axes[0].legend(loc="lower center", fontsize=8)
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})


def _plot_coverage(outcome: SimulationOutcome, path: Path) -> None:
    fig = _figure(4.2, 3.8)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", label="nominal")
    if len(outcome.coverage):
        for i, (name, g) in enumerate(outcome.coverage.groupby("parameter", sort=False)):
            x = g["nominal"].to_numpy() + 0.008 * (i - 0.5)
            err = [g["empirical"] - g["ci_lower"], g["ci_upper"] - g["empirical"]]
            ax.errorbar(x, g["empirical"], yerr=err, fmt="o", capsize=3, label=name)
    ax.set(xlim=(0.4, 1.0), ylim=(0.0, 1.02), xlabel="nominal probability of the central interval",
           ylabel="share of replicates covered (95% CI)",
           title=f"Interval coverage, {outcome.count('ok')} replicates")  # fmt: skip
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
