"""The digitised curves of a study in its reanalysis: reconstructed, fitted, pooled, compared.

A study file with ``[[curve]]`` tables carries two kinds of evidence: the figures its paper
prints, which the reanalysis fits as before, and the Kaplan-Meier curves read off its
figure. :func:`analyse_curves` reconstructs every curve by Guyot et al.'s algorithm (with its
accuracy table), draws ``plausible`` reconstructions consistent with the reading error and
the at-risk table, fits each with the primary fit's family and prior set, pools the
posteriors with equal weights (:func:`resurv.reconstruct.pooled_fit`) and sets the pooled
posterior beside the posterior from the printed figures: per arm the hazard, the landmark
survival at the study's report times and the median, and the hazard ratio of every other arm
relative to the reference arm, each as a posterior median with its 95% equal-tailed interval.

The two posteriors are not combined: the curves and the printed figures describe the same
patients, so multiplying their likelihoods would count them twice. Where they disagree, the
reader sees it side by side.

Seeds: the reconstructions and their fits draw from a stream of the run's master seed of
their own (:data:`CURVES_STREAM`), so adding curves to a study, or the sensitivity sweep to a
run, changes no other seed of the run.

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resurv.reconstruct import Reconstruction, reconstruct
from resurv.study.schema import Study, report_times

__all__ = ["CURVES_STREAM", "CurveAnalysis", "analyse_curves", "curve_seeds", "side_by_side"]

#: spawn key of the seed stream of the curves (``SeedSequence(master, spawn_key=(key,))``);
#: far beyond the indices of the run's fit tasks (``task_seeds`` spawns 0, 1, ...)
CURVES_STREAM = 1_000_013

#: columns of ``tables/curves_posterior.csv``
POSTERIOR_COLUMNS = ("quantity", "label", "figures_median", "figures_lower_95",
                     "figures_upper_95", "curves_median", "curves_lower_95",
                     "curves_upper_95")  # fmt: skip


@dataclass(frozen=True)
class CurveAnalysis:
    """The digitised curves of a study: reconstruction, pooled posterior, comparison.

    Attributes
    ----------
    reconstruction : Reconstruction
        Guyot's reconstruction of every curve, its accuracy and the plausible ones.
    pooled : PooledFit
        The posterior pooled over the plausible reconstructions.
    family, prior : str
        The family and prior set of the pooled fits (those of the run's primary fit).
    arms : tuple of str
        Arms of the pooled fits (those with a curve), reference arm first if it has one.
    reference_arm : str
        Reference arm of the pooled fits; hazard ratios are compared only when it is the
        study's reference arm.
    seeds : dict
        ``reconstruction`` (of the plausible reconstructions) and ``fit`` (fit ``m`` is seeded
        ``fit + m``).
    comparison : pandas.DataFrame
        The side-by-side table (:data:`POSTERIOR_COLUMNS`).
    notes : tuple of str
        The reconstruction's notes, and what the comparison leaves out and why.
    """

    reconstruction: Reconstruction
    pooled: Any
    family: str
    prior: str
    arms: tuple[str, ...]
    reference_arm: str
    seeds: dict
    comparison: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def plausible(self) -> int:
        """Plausible reconstructions per arm."""
        return len(self.pooled.fits)

    @property
    def passed(self) -> bool:
        """Whether the fit of every plausible reconstruction passed its diagnostics."""
        return self.pooled.passed

    def fits_frame(self) -> pd.DataFrame:
        """One row per plausible reconstruction: its fit's family, prior, seed and status."""
        rows = [
            {"reconstruction": m, "family": f.family.name, "prior": f.prior_set.name,
             "seed": self.seeds["fit"] + m, "status": f.status,
             "failures": "; ".join(x.message() for x in f.diagnostics.failures)}
            for m, f in enumerate(self.pooled.fits)
        ]  # fmt: skip
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        """The ``curves`` entry of ``run.json``."""
        rec = self.reconstruction
        return {
            "family": self.family,
            "prior": self.prior,
            "plausible": self.plausible,
            "arms": list(self.arms),
            "reference_arm": self.reference_arm,
            "seeds": dict(self.seeds),
            "passed": self.passed,
            "failed_reconstructions": [m for m, f in enumerate(self.pooled.fits) if not f.passed],
            "notes": list(self.notes),
            "reading_error": {a.curve.arm: vars(a.curve.reading_error) for a in rec.arms},
            "files": {
                a.curve.arm: {"source": a.curve.source, "sha256": a.curve.source_sha256}
                for a in rec.arms
            },  # fmt: skip
        }


def curve_seeds(master: int) -> dict[str, int]:
    """Seeds of the plausible reconstructions and of their fits, from the run's master seed."""
    stream = np.random.SeedSequence(master, spawn_key=(CURVES_STREAM,))
    rec_seed, fit_seed = (int(x) for x in stream.generate_state(2, dtype=np.uint32))
    # fit m is seeded fit_seed + m: keep every such seed a valid 32-bit seed
    return {"reconstruction": rec_seed, "fit": fit_seed % (2**32 - 2**16)}


def _row(quantity: str, label: str, x: np.ndarray) -> dict:
    lo, med, hi = np.quantile(np.asarray(x, dtype=float), [0.025, 0.5, 0.975])
    return {"quantity": quantity, "label": label, "median": float(med), "lower_95": float(lo),
            "upper_95": float(hi)}  # fmt: skip


def _pooled_rows(study: Study, pooled, arms: Sequence[str], reference_arm: str) -> list[dict]:
    """Rows named as :func:`resurv.compare.table.posterior_quantities` names them."""
    labels = {a.id: a.label or a.id for a in study.arms}
    unit = study.time_unit
    rows = [_row(f"hazard[{a}]", f"hazard, {labels[a]} (per {unit})",
                 pooled.hazard.sel(arm=a).values) for a in arms]  # fmt: skip
    if reference_arm == study.reference_arm:
        for a in arms:
            if a != reference_arm:
                rows.append(_row(f"hazard_ratio[{a}]", f"hazard ratio, {labels[a]} vs "
                                 f"{labels[reference_arm]}",
                                 pooled.hazard_ratio.sel(arm=a).values))  # fmt: skip
    times = report_times(study)
    if times:
        surv = pooled.surv_at(times)
        for a in arms:
            for t in times:
                rows.append(_row(f"surv[{a}, t={t:g}]", f"S({t:g} {unit}), {labels[a]}",
                                 surv.sel(arm=a, time=t).values))  # fmt: skip
    rows += [_row(f"median[{a}]", f"median survival, {labels[a]} ({unit})",
                  pooled.median.sel(arm=a).values) for a in arms]  # fmt: skip
    return rows


def side_by_side(figures: Sequence[Mapping], curves: Sequence[Mapping]) -> pd.DataFrame:
    """The rows of ``curves`` beside the rows of the same quantity in ``figures``.

    Both are rows ``quantity, label, median, lower_95, upper_95``; the result has
    :data:`POSTERIOR_COLUMNS`, in the order of ``curves``. A quantity the printed figures'
    fit lacks gets empty (NaN) ``figures_*`` cells.
    """
    by_name = {r["quantity"]: r for r in figures}
    out = []
    for r in curves:
        f = by_name.get(r["quantity"], {})
        out.append({"quantity": r["quantity"], "label": r["label"],
                    "figures_median": f.get("median", np.nan),
                    "figures_lower_95": f.get("lower_95", np.nan),
                    "figures_upper_95": f.get("upper_95", np.nan),
                    "curves_median": r["median"], "curves_lower_95": r["lower_95"],
                    "curves_upper_95": r["upper_95"]})  # fmt: skip
    return pd.DataFrame(out, columns=list(POSTERIOR_COLUMNS))


def analyse_curves(
    study: Study,
    figures_quantities: Sequence[Mapping],
    *,
    family: str,
    prior: str,
    master_seed: int,
    plausible: int = 20,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    thresholds: Mapping[str, float] | None = None,
) -> CurveAnalysis:
    """Reconstruct, fit and pool the digitised curves of ``study``; compare with the figures.

    Parameters
    ----------
    study : Study
        A study with one or more ``[[curve]]`` tables.
    figures_quantities : sequence of dict
        The primary fit's posterior quantities (``FitOutcome.quantities``: rows ``quantity,
        label, median, lower_95, upper_95``), set beside the pooled ones.
    family, prior : str
        Family and prior set of the pooled fits (the run's primary fit's).
    master_seed : int
        The run's master seed (:func:`curve_seeds`).
    plausible : int, default 20
        Plausible reconstructions per arm (>= 1).
    draws, tune, chains, thresholds
        Sampler settings and diagnostics thresholds of each reconstruction's fit.
    """
    from resurv.reconstruct import pooled_fit

    if isinstance(plausible, bool) or not isinstance(plausible, int) or plausible < 1:
        raise ValueError(f"plausible must be an integer >= 1; received {plausible!r}")
    seeds = curve_seeds(master_seed)
    rec = reconstruct(study, plausible=plausible, seed=seeds["reconstruction"])
    with_curve = [a.curve.arm for a in rec.arms]
    arms = tuple(a.id for a in study.arms if a.id in with_curve)
    notes = list(rec.notes())
    reference = study.reference_arm if study.reference_arm in arms else arms[0]
    if reference != study.reference_arm:
        notes.append(
            f"the reference arm {study.reference_arm!r} has no digitised curve: the curves' "
            f"posterior is fitted with {reference!r} as its reference arm and gives no hazard "
            "ratio to set beside the printed figures'."
        )
    missing = [a.id for a in study.arms if a.id not in arms]
    if missing:
        notes.append(f"arms without a digitised curve, not in the curves' posterior: {missing}.")
    kwargs = {"hr_important": study.analysis.hr_important,
              "literature": study.analysis.literature, "time_unit": study.time_unit}  # fmt: skip
    pooled = pooled_fit(rec, arms=arms, reference_arm=reference, family=family, prior=prior,
                        prior_kwargs=kwargs, draws=draws, tune=tune, chains=chains,
                        seed=seeds["fit"], thresholds=thresholds)  # fmt: skip
    rows = _pooled_rows(study, pooled, arms, reference)
    return CurveAnalysis(
        reconstruction=rec,
        pooled=pooled,
        family=family,
        prior=prior,
        arms=arms,
        reference_arm=reference,
        seeds=seeds,
        comparison=side_by_side(figures_quantities, rows),
        notes=tuple(notes),
    )


def write_curve_tables(analysis: CurveAnalysis, tables) -> None:
    """Write the curves' tables into a results folder's ``tables/`` folder.

    ``curves_accuracy.csv`` (per arm: RMSE and maximum error against the digitised curve,
    deaths, censored, printed total events), ``curves_intervals.csv`` (per arm and at-risk
    interval: printed and reconstructed at risk, deaths, censorings), ``curves_ipd.csv``
    (Guyot's pseudo-individual data), ``curves_posterior.csv`` (the pooled posterior beside the
    printed figures', :data:`POSTERIOR_COLUMNS`) and ``curves_fits.csv`` (each plausible
    reconstruction's fit and its diagnostics).
    """
    rec = analysis.reconstruction
    number = {"float_format": "%.6g", "index": False}
    rec.summary().to_csv(tables / "curves_accuracy.csv", **number)
    rec.intervals().to_csv(tables / "curves_intervals.csv", **number)
    rec.ipd().to_csv(tables / "curves_ipd.csv", **number)
    analysis.comparison.to_csv(tables / "curves_posterior.csv", **number)
    analysis.fits_frame().to_csv(tables / "curves_fits.csv", **number)
