"""Replicate studies: what a study run under the posterior would print.

For posterior draws ``(lam, k)`` (and, where an arm's size is uncertain, a candidate size drawn
from its posterior weight at that draw), :func:`replicate_studies` simulates the whole cohort
under the study's censoring model and reduces it to the figures the paper prints: actuarial or
Kaplan-Meier landmark survival per arm, and the log-rank p-value. From the replicates,
:func:`predictive_checks` gives, per printed figure, the probability that a replicate prints
exactly the printed value and the probability that it prints a value at least as extreme.

:func:`pseudo_datasets` keeps the replicates whose printed landmark figures equal the paper's:
pseudo-individual datasets consistent with everything the abstract prints, on which the
frequentist figures (log-rank p, life table) can be recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from resurv.audit.printing import rules_for
from resurv.errors import AuditError
from resurv.frequentist.reduce import actuarial_at, km_at, logrank_p
from resurv.model.censoring import CensoringModel
from resurv.model.likelihood import compile_loglik_batch, landmark_term
from resurv.model.simulate import interval_counts, simulate_many
from resurv.study.schema import LogrankFigure, Study, SurvivalFigure

__all__ = [
    "PosteriorDraws",
    "candidate_log_weights",
    "actuarial_many",
    "prints_many",
    "replicate_studies",
    "predictive_checks",
    "pseudo_datasets",
]


@dataclass(frozen=True)
class PosteriorDraws:
    """Flattened posterior draws: ``lam[arm]`` (D,), shape ``k`` (D,), ``n[arm]`` (D,) ints.

    ``cure[arm]`` (D,) holds the cure fractions of the cure family (None for the others).
    """

    lam: Mapping[str, np.ndarray]
    k: np.ndarray
    n: Mapping[str, np.ndarray]
    cure: Mapping[str, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """Number of draws."""
        return int(self.k.size)


def candidate_log_weights(
    study: Study,
    censoring: CensoringModel,
    arm: str,
    candidates: Sequence[int],
    lam: np.ndarray,
    k: np.ndarray,
) -> np.ndarray:
    """Log posterior weight of each candidate size of ``arm`` at each draw, shape (D, C).

    At a draw ``theta`` the candidate sizes are weighed by the likelihood of the arm's landmark
    figures under each size (equal prior weights): ``w_c(theta) = L_c(theta) / sum_c L_c``.
    A size under which the figures cannot be printed has weight 0; arms without landmark
    figures keep equal weights.
    """
    lam, k = np.asarray(lam, dtype=float), np.asarray(k, dtype=float)
    figures = [f for f in study.figures if isinstance(f, SurvivalFigure) and f.arm == arm]
    logw = np.zeros((lam.size, len(candidates)))
    if figures:
        for c, n in enumerate(candidates):
            try:
                term = landmark_term(
                    arm, figures, (int(n),), censoring, rounding=study.rounding
                ).term
            except AuditError:  # the figures cannot be printed with this arm size
                logw[:, c] = -np.inf
                continue
            logw[:, c] = compile_loglik_batch(term)(lam, k)
    return logw - special.logsumexp(logw, axis=1, keepdims=True)


def draws_from_fit(fit_result, study: Study, censoring: CensoringModel, *, size: int, seed: int):
    """Thin a fit's posterior to ``size`` draws and draw each arm's size from its weights."""
    post = fit_result.idata["posterior"].dataset
    hazard = post["hazard"].stack(sample=("chain", "draw")).transpose("sample", "arm").values
    total = hazard.shape[0]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(total, size=min(size, total), replace=False))
    arms = [str(a) for a in post["arm"].values]
    if "shape" in post:
        k = post["shape"].stack(sample=("chain", "draw")).values[pick]
    else:
        k = np.ones(pick.size)
    lam = {a: hazard[pick, i] for i, a in enumerate(arms)}
    cure = None
    if "cure_fraction" in post:
        pi = post["cure_fraction"].stack(sample=("chain", "draw")).transpose("sample", "arm")
        cure = {a: pi.values[pick, i] for i, a in enumerate(arms)}
    n = {}
    for arm in study.arms:
        cands = np.asarray(arm.n, dtype=int)
        if cands.size == 1:
            n[arm.id] = np.full(pick.size, cands[0])
            continue
        w = np.exp(candidate_log_weights(study, censoring, arm.id, cands, lam[arm.id], k))
        u = rng.random(pick.size)[:, None]
        n[arm.id] = cands[(u > np.cumsum(w, axis=1)).sum(axis=1).clip(0, cands.size - 1)]
    return PosteriorDraws(lam=lam, k=np.asarray(k, dtype=float), n=n, cure=cure)


def actuarial_many(time: np.ndarray, event: np.ndarray, t: float, width: float = 1.0):
    """Cutler-Ederer survival at ``t`` for many cohorts at once: arrays (D, N) -> (D,).

    Carried forward over intervals with nobody at risk, as
    :func:`resurv.frequentist.actuarial_at` and the exact likelihood do; checked against it in
    the tests.
    """
    steps = int(round(t / width))
    if steps < 1 or abs(steps * width - t) > 1e-9 * max(1.0, t):
        raise ValueError(f"t = {t} must be a positive multiple of the interval width {width}")
    cuts = np.arange(steps + 1) * width
    deaths, censored, _ = interval_counts(time, event, cuts)
    n = np.asarray(time).shape[-1]
    entered = n - np.concatenate(
        [np.zeros(deaths.shape[:-1] + (1,)), np.cumsum(deaths + censored, axis=-1)[..., :-1]],
        axis=-1,
    )
    effective = entered - censored / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(effective > 0, 1.0 - deaths / effective, 1.0)
    surv = np.ones(deaths.shape[:-1])
    for j in range(steps):
        f = factor[..., j]
        surv = np.where(surv == 0, 0.0, surv * f)
    return surv


def prints_many(values: np.ndarray, printed, rounding: str) -> np.ndarray:
    """Return True where a proportion in ``values`` prints as ``printed`` (under any rule)."""
    scale = 10.0**printed.decimals
    target = round(printed.value * scale)
    x = np.asarray(values, dtype=float) * 100.0 * scale
    eps = 1e-9 * np.maximum(1.0, np.abs(x))
    out = np.zeros(x.shape, dtype=bool)
    for rule in rules_for(rounding):
        shown = np.floor(x + 0.5 + eps) if rule == "round" else np.floor(x + eps)
        out |= shown == target
    return out & np.isfinite(x)


def _cohorts(draws: PosteriorDraws, study: Study, censoring: CensoringModel, rng):
    """Simulate one cohort per draw; arm sizes vary by draw, so group draws by their sizes."""
    arms = [a.id for a in study.arms]
    sizes = np.stack([draws.n[a] for a in arms], axis=1)
    out = []
    for combo in np.unique(sizes, axis=0):
        rows = np.flatnonzero((sizes == combo).all(axis=1))
        sim = simulate_many(
            rng,
            "weibull",
            {a: draws.lam[a][rows] for a in arms},
            draws.k[rows],
            {a: int(m) for a, m in zip(arms, combo, strict=True)},
            censoring,
            cure=None if draws.cure is None else {a: draws.cure[a][rows] for a in arms},
        )
        out.append((rows, sim))
    return out


def replicate_studies(
    study: Study, draws: PosteriorDraws, censoring: CensoringModel, *, seed: int
) -> pd.DataFrame:
    """Return the printed figures of one replicate study per draw (replicate, figure_id, value).

    Landmark survival is a proportion (the estimator the figure names; ``unknown`` uses the
    actuarial table); a log-rank p is a number in (0, 1].
    """
    rng = np.random.default_rng(seed)
    frames = []
    arm_ids = [a.id for a in study.arms]
    for rows, sim in _cohorts(draws, study, censoring, rng):
        arm_of = np.asarray(sim["arm"])
        for f in study.figures:
            if isinstance(f, SurvivalFigure):
                mask = arm_of == arm_ids.index(f.arm)
                t, e = sim["time"][:, mask], sim["event"][:, mask]
                if f.estimator == "kaplan-meier":
                    values = np.array([km_at(t[i], e[i], f.time) for i in range(len(rows))])
                else:
                    values = actuarial_many(t, e, f.time, f.interval_width)
            elif isinstance(f, LogrankFigure):
                keep = np.isin(arm_of, [arm_ids.index(a) for a in f.arms])
                values = np.array(
                    [
                        logrank_p(sim["time"][i, keep], sim["event"][i, keep], arm_of[keep])
                        for i in range(len(rows))
                    ]
                )
            else:
                continue
            frames.append(pd.DataFrame({"replicate": rows, "figure_id": f.id, "value": values}))
    if not frames:
        return pd.DataFrame(columns=["replicate", "figure_id", "value"])
    return (
        pd.concat(frames)
        .sort_values(["figure_id", "replicate"], kind="stable")
        .reset_index(drop=True)
    )


def predictive_checks(study: Study, replicates: pd.DataFrame) -> pd.DataFrame:
    """Per printed figure: P(replicate prints it exactly) and P(at least as extreme).

    "At least as extreme" is the tail beyond the printed value on the side away from the
    predictive median: ``min(P(rep <= obs), P(rep >= obs))`` for survival; for a p-value
    printed as a bound ``P < b``, the share of replicates with ``p < b``.
    """
    rows = []
    for f in study.figures:
        values = replicates.loc[replicates["figure_id"] == f.id, "value"].to_numpy(dtype=float)
        if values.size == 0:
            continue
        finite = values[np.isfinite(values)]
        if isinstance(f, SurvivalFigure):
            obs = f.percent.value / 100.0
            half = 0.5 * 10.0 ** (-f.percent.decimals) / 100.0
            extreme = min(np.mean(finite <= obs + half), np.mean(finite >= obs - half))
            exact = np.mean(prints_many(finite, f.percent, f.rounding or study.rounding))
            rows.append((f.id, float(extreme), float(exact), float(np.median(finite))))
        elif isinstance(f, LogrankFigure):
            bound = f.p.value
            if f.relation in ("<", "<="):
                extreme = np.mean(finite < bound) if f.relation == "<" else np.mean(finite <= bound)
            elif f.relation in (">", ">="):
                extreme = np.mean(finite > bound) if f.relation == ">" else np.mean(finite >= bound)
            else:
                extreme = np.mean(finite <= bound)
            rows.append((f.id, float(extreme), np.nan, float(np.median(finite))))
    return pd.DataFrame(
        rows, columns=["figure_id", "p_replicate_as_extreme", "p_replicate_prints", "median"]
    )


def _matching_arm(rng, draws, i, arm, n, figures, study, censoring, batch, max_batches):
    """Simulate arm ``arm`` under draw ``i`` until its printed landmark figures match."""
    for _ in range(max_batches):
        sim = simulate_many(
            rng,
            "weibull",
            {arm: np.full(batch, draws.lam[arm][i])},
            np.full(batch, draws.k[i]),
            {arm: int(n)},
            censoring,
            cure=None if draws.cure is None else {arm: np.full(batch, draws.cure[arm][i])},
        )
        ok = np.ones(batch, dtype=bool)
        for f in figures:
            values = actuarial_many(sim["time"], sim["event"], f.time, f.interval_width)
            ok &= prints_many(values, f.percent, f.rounding or study.rounding)
        hit = np.flatnonzero(ok)
        if hit.size:
            j = hit[0]
            return sim["time"][j], sim["event"][j], sim["entry"][j]
    return None


def pseudo_datasets(
    study: Study,
    draws: PosteriorDraws,
    censoring: CensoringModel,
    *,
    n_datasets: int,
    seed: int,
    batch: int = 2000,
    max_batches: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudo-individual datasets from the posterior predictive given the printed figures.

    For posterior draws ``theta`` (with their arm sizes) in turn, each arm is simulated until
    its printed landmark figures equal the paper's: arms are independent given ``theta``, so
    this draws from ``p(data | theta, printed figures)``, and with ``theta`` from the
    posterior, from the posterior predictive given the printed figures. A draw under which an
    arm does not match within ``max_batches * batch`` simulations is skipped (counted in the
    ``attrs["skipped"]`` of the returned frames).

    Returns
    -------
    datasets : DataFrame
        dataset, arm, time, event, entry.
    frequentist : DataFrame
        dataset, quantity, value: the actuarial survival per printed landmark and the log-rank
        p-value recomputed on each dataset.
    """
    rng = np.random.default_rng(seed)
    landmarks = [f for f in study.figures if isinstance(f, SurvivalFigure)]
    data_rows, freq_rows = [], []
    skipped, d = 0, 0
    for i in range(draws.size):
        if d >= n_datasets:
            break
        parts = []
        for arm in study.arms:
            figs = [f for f in landmarks if f.arm == arm.id]
            got = _matching_arm(
                rng,
                draws,
                i,
                arm.id,
                draws.n[arm.id][i],
                figs,
                study,
                censoring,
                batch if figs else 1,
                max_batches,
            )
            if got is None:
                break
            parts.append((arm.id, *got))
        if len(parts) < len(study.arms):
            skipped += 1
            continue
        time = np.concatenate([p[1] for p in parts])
        event = np.concatenate([p[2] for p in parts])
        group = np.concatenate([np.full(p[1].size, a) for a, p in enumerate(parts)])
        for arm_id, t, e, entry in parts:
            for row in zip(t, e, entry, strict=True):
                data_rows.append((d, arm_id, float(row[0]), bool(row[1]), float(row[2])))
            for f in (f for f in landmarks if f.arm == arm_id):
                value = actuarial_at(t, e, f.time, f.interval_width)
                freq_rows.append((d, f"actuarial survival, {arm_id}, t={f.time:g}", value))
        arm_ids = [p[0] for p in parts]
        for f in study.figures:
            if isinstance(f, LogrankFigure):
                keep = np.isin(group, [arm_ids.index(a) for a in f.arms])
                p = logrank_p(time[keep], event[keep], group[keep])
                freq_rows.append((d, f"log-rank p ({f.id})", p))
        d += 1
    datasets = pd.DataFrame(data_rows, columns=["dataset", "arm", "time", "event", "entry"])
    frequentist = pd.DataFrame(freq_rows, columns=["dataset", "quantity", "value"])
    datasets.attrs["skipped"] = frequentist.attrs["skipped"] = skipped
    return datasets, frequentist
