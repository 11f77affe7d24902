"""Does a reconstruction's interval cover? Simulated digitised curves, three analyses compared.

Each replicate simulates a two-arm trial with known Exponential hazards (uniform censoring),
draws both arms' Kaplan-Meier curves, digitises them with the stated reading error
(:func:`~resurv.reconstruct.digitise.digitise`; the at-risk table and, optionally, the total
events are printed), and analyses

- ``full``: the true individual data (the benchmark; nominal coverage by construction);
- ``single``: one Guyot reconstruction treated as if it were the data (what existing tools
  do);
- ``pooled``: ``plausible`` reconstructions drawn from the reading error and the at-risk
  table, analysed one by one and pooled (:mod:`resurv.reconstruct.pool`).

Every analysis is the Exponential model with nearly flat Gamma priors, whose posterior is
closed-form (:mod:`resurv.reconstruct.conjugate`), so thousands of analyses cost seconds and
carry no Monte-Carlo error beyond the draws. Coverage is the share of replicates whose
equal-tailed interval holds the true log hazard ratio and the true landmark survival of the
reference arm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from resurv.model.censoring import CensoringModel
from resurv.reconstruct.conjugate import exponential_posterior
from resurv.reconstruct.digitise import digitise
from resurv.reconstruct.plausible import plausible_reconstructions, reconstruct_curve
from resurv.study.digitised import ReadingError

__all__ = ["CoverageSettings", "coverage_simulation", "coverage_summary"]

METHODS = ("full", "single", "pooled")


@dataclass(frozen=True)
class CoverageSettings:
    """Design of the coverage simulation (times in months).

    ``reading_time`` and ``reading_survival`` are the reading error's standard deviations
    (months, probability); ``risk_step`` the spacing of the printed at-risk table;
    ``landmark`` the time of the landmark survival whose coverage is checked. The censoring
    is ``U(0, followup)``; the pooled analysis assumes potential follow-up
    ``U(assumed_min_followup, followup)`` (0: the true model; larger: a wrong assumption).
    """

    replicates: int = 200
    n: tuple[int, int] = (150, 150)
    median_reference: float = 12.0
    hazard_ratio: float = 0.7
    followup: float = 36.0
    reading_time: float = 0.36
    reading_survival: float = 0.01
    risk_step: float | None = 6.0
    total_events: bool = True
    plausible: int = 30
    draws: int = 2000
    landmark: float = 12.0
    assumed_min_followup: float = 0.0
    prob: float = 0.9
    seed: int = 2012


def _censoring(s: CoverageSettings) -> CensoringModel:
    """The assumed censoring, ``U(assumed_min_followup, followup)``, as a censoring model."""
    close = 2000.0 + s.followup / 12.0
    last_entry = close - s.assumed_min_followup / 12.0
    return CensoringModel(2000.0, last_entry, close, time_unit="months")


def _interval(x: np.ndarray, prob: float) -> tuple[float, float]:
    lo, hi = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2])
    return float(lo), float(hi)


def _analyse(data, s: CoverageSettings, rng) -> dict[str, tuple[float, float]]:
    post = exponential_posterior(data, reference_arm="reference", size=s.draws, rng=rng)
    surv = np.exp(-post["lam_reference"] * s.landmark)
    return {"log_hr": _interval(post["log_hr"], s.prob), "surv": _interval(surv, s.prob)}


def _pooled(plausible: dict, s: CoverageSettings, rng) -> dict[str, tuple[float, float]]:
    log_hr, surv = [], []
    for m in range(s.plausible):
        data = {arm: (p[m].time, p[m].event) for arm, p in plausible.items()}
        post = exponential_posterior(data, reference_arm="reference", size=s.draws, rng=rng)
        log_hr.append(post["log_hr"])
        surv.append(np.exp(-post["lam_reference"] * s.landmark))
    return {"log_hr": _interval(np.concatenate(log_hr), s.prob),
            "surv": _interval(np.concatenate(surv), s.prob)}  # fmt: skip


def _replicate(s: CoverageSettings, seq: np.random.SeedSequence) -> list[dict]:
    sim, read, fit = (np.random.default_rng(c) for c in seq.spawn(3))
    lam_ref = np.log(2.0) / s.median_reference
    lams = {"reference": lam_ref, "other": lam_ref * s.hazard_ratio}
    error = ReadingError(s.reading_time, s.reading_survival)
    full, single, plausible = {}, {}, {}
    risk = None if s.risk_step is None else np.arange(0.0, s.followup, s.risk_step)
    for (arm, lam), n in zip(lams.items(), s.n, strict=True):
        t = sim.exponential(1.0 / lam, size=n)
        c = sim.uniform(0.0, s.followup, size=n)
        time, event = np.minimum(t, c), (t <= c).astype(int)
        full[arm] = (time, event)
        curve = digitise(time, event, arm=arm, error=error, rng=read, risk_times=risk,
                         with_total_events=s.total_events)  # fmt: skip
        p = reconstruct_curve(curve)
        single[arm] = (p.time, p.event)
        plausible[arm] = plausible_reconstructions(
            curve, s.plausible, seed=int(read.integers(2**32)), censoring=_censoring(s)
        )
    truth = {"log_hr": np.log(s.hazard_ratio), "surv": np.exp(-lam_ref * s.landmark)}
    results = {"full": _analyse(full, s, fit), "single": _analyse(single, s, fit),
               "pooled": _pooled(plausible, s, fit)}  # fmt: skip
    rows = []
    for method, intervals in results.items():
        for quantity, (lo, hi) in intervals.items():
            rows.append({"method": method, "quantity": quantity, "lower": lo, "upper": hi,
                         "truth": truth[quantity],
                         "covered": bool(lo <= truth[quantity] <= hi)})  # fmt: skip
    return rows


def coverage_simulation(settings: CoverageSettings = CoverageSettings()) -> pd.DataFrame:
    """Run the simulation; one row per replicate, method and quantity (same seed, same rows)."""
    if settings.replicates < 1 or settings.plausible < 1:
        raise ValueError("replicates and plausible must be >= 1")
    seqs = np.random.SeedSequence(settings.seed).spawn(settings.replicates)
    rows = []
    for r, seq in enumerate(seqs):
        rows += [{"replicate": r, **row} for row in _replicate(settings, seq)]
    return pd.DataFrame(rows)


def coverage_summary(table: pd.DataFrame, settings: CoverageSettings) -> pd.DataFrame:
    """Coverage (with its binomial Monte-Carlo SE) and mean width per method and quantity."""
    g = table.assign(width=table["upper"] - table["lower"]).groupby(["quantity", "method"])
    out = g.agg(coverage=("covered", "mean"), width=("width", "mean"), replicates=("covered",
                "size")).reset_index()  # fmt: skip
    out["mcse"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replicates"])
    order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(["quantity", "method"], key=lambda c: c.map(order) if c.name ==
                          "method" else c).reset_index(drop=True)  # fmt: skip
    out.attrs["settings"] = asdict(settings)
    return out
