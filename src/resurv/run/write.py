"""The results folder of a run: its tables, its posteriors, ``audit.json`` and ``run.json``.

:func:`write_results` writes everything a :class:`~resurv.run.Reanalysis` holds into a
folder: the audit, the comparison, the per-fit tables tagged with their fit, the hazard-ratio
and prior-versus-posterior draws, the posterior predictive tables of the primary fit, the
model comparison, one Zarr store per posterior and ``run.json``. Importable from
:mod:`resurv.run`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import zarr

from resurv import __version__
from resurv.compare.table import figure_kind
from resurv.model.priors import get_prior_set, sample_prior
from resurv.outputs import versions, write_json
from resurv.run.values import FitOutcome, Reanalysis
from resurv.study.schema import SurvivalFigure, report_times


def _prior_posterior(result: Reanalysis, rng_seed: int, prior_sets: dict) -> pd.DataFrame:
    study = result.study
    arms = tuple(a.id for a in study.arms)
    frames = []
    prior_draws: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for o in result.outcomes:
        post = o.idata["posterior"].dataset
        thin = {}
        for name in ("log_hazard",):
            da = post[name].stack(sample=("chain", "draw")).transpose("sample", "arm").values
            for i, arm in enumerate(arms):
                thin[f"log_hazard[{arm}]"] = da[:: max(1, da.shape[0] // 1000), i]
        if "shape" in post:
            k = post["shape"].stack(sample=("chain", "draw")).values
            thin["log_shape"] = np.log(k[:: max(1, k.size // 1000)])
        for p, values in thin.items():
            frames.append(
                pd.DataFrame(
                    {
                        "fit_key": o.task.key,
                        "parameter": p,
                        "source": "posterior",
                        "draw": np.arange(values.size),
                        "value": values,
                    }
                )
            )
        prior = prior_sets[o.task.prior]
        if prior.is_proper:
            # the same draws for every fit of a prior set and family (the sweep's closes)
            pair = (o.task.prior, o.task.family)
            if pair not in prior_draws:
                prior_draws[pair] = sample_prior(
                    prior, o.task.family, arms, study.reference_arm, draws=1000, seed=rng_seed
                )
            hz, k = prior_draws[pair]
            for i, arm in enumerate(arms):
                frames.append(
                    pd.DataFrame(
                        {
                            "fit_key": o.task.key,
                            "parameter": f"log_hazard[{arm}]",
                            "source": "prior",
                            "draw": np.arange(1000),
                            "value": np.log(hz[:, i]),
                        }
                    )
                )
            if "shape" in post:
                frames.append(
                    pd.DataFrame(
                        {
                            "fit_key": o.task.key,
                            "parameter": "log_shape",
                            "source": "prior",
                            "draw": np.arange(1000),
                            "value": np.log(k),
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def _prior_sets(result: Reanalysis) -> dict:
    """Each prior set of the run's fits, built once.

    Building the literature set solves a maximum-entropy problem, and the tables ask for
    every set several times.
    """
    study = result.study
    names = dict.fromkeys(o.task.prior for o in result.outcomes)
    return {
        name: get_prior_set(
            name,
            hr_important=study.analysis.hr_important,
            literature=study.analysis.literature,
            time_unit=study.time_unit,
        )
        for name in names
    }


def _write_zarr(tree: xr.DataTree, path: Path) -> None:
    """Write ``tree`` as a consolidated Zarr store at ``path``, which must not exist.

    The store holds the same files ``tree.to_zarr(path)`` writes. It is built in memory and
    consolidated once, for the whole tree, then written file by file: writing straight to
    disk sends every one of the store's ~120 small files through zarr's event loop and
    consolidates each group's metadata again, which made the posteriors the slowest part of
    the results folder.
    """
    if path.exists():
        raise FileExistsError(f"{path} exists; a posterior store is never written over.")
    files: dict[str, Any] = {}
    store = zarr.storage.MemoryStore(files)
    with warnings.catch_warnings():  # zarr 3 notes that consolidated metadata is an extension
        warnings.simplefilter("ignore", UserWarning)
        tree.to_zarr(store, consolidated=False)
        zarr.consolidate_metadata(store)
    for key, buffer in files.items():
        target = path / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(buffer.to_bytes())


def write_results(
    result: Reanalysis,
    folder: Path,
    *,
    study_file: Path | None = None,
    posteriors_written: Callable[[Path], None] | None = None,
) -> None:
    """Write every table, the posteriors, audit.json and run.json into ``folder``.

    ``posteriors_written(folder)``, if given, is called as soon as the posteriors, run.json
    and the fits' diagnostics and sensitivity tables are in ``folder`` (what the trace plots
    of the report need), before the other tables are written: the pipeline starts drawing
    the trace plots then.
    """
    study = result.study
    tables = folder / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    (folder / "posterior").mkdir(exist_ok=True)

    def tag(frame: pd.DataFrame, o: FitOutcome) -> pd.DataFrame:
        t = o.task
        frame = frame.copy()
        for col, value in reversed(
            [
                ("fit_key", t.key),
                ("family", t.family),
                ("prior", t.prior),
                ("close", t.close),
                ("status", o.status),
            ]
        ):
            frame.insert(0, col, value)
        return frame

    sens = [tag(pd.DataFrame(o.quantities), o) for o in result.outcomes]
    pd.concat(sens).to_csv(tables / "sensitivity.csv", index=False, float_format="%.6g")
    pd.concat([tag(o.diagnostics, o) for o in result.outcomes]).to_csv(
        tables / "diagnostics.csv", index=False, float_format="%.6g"
    )
    for o in result.outcomes:
        _write_zarr(o.idata, folder / "posterior" / f"{o.task.key}.zarr")
    info = _run_json(result, study_file)
    if result.curves is not None:
        info["curves"] = result.curves.to_json()
    write_json(folder / "run.json", info)
    if posteriors_written is not None:
        posteriors_written(folder)
    result.audit.to_json(folder / "audit.json")
    result.audit.to_frame().to_csv(tables / "audit.csv", index=False)
    result.audit.deaths_frame().to_csv(tables / "audit_deaths.csv", index=False)
    result.comparison.to_csv(tables / "comparison.csv", index=False, float_format="%.6g")
    pd.concat(
        [
            tag(pd.DataFrame(o.candidates), o)[["fit_key", "arm", "n", "posterior_weight"]]
            for o in result.outcomes
        ]
    ).to_csv(tables / "candidates.csv", index=False, float_format="%.6g")
    pd.concat(
        [
            tag(o.curves, o)[["fit_key", "arm", "time", "q025", "q25", "median", "q75", "q975"]]
            for o in result.outcomes
        ]
    ).to_csv(tables / "survival_curves.csv", index=False, float_format="%.6g")
    hr_rows = []
    for o in result.outcomes:
        post = o.idata["posterior"].dataset
        hr = post["hazard_ratio"].stack(sample=("chain", "draw")).transpose("sample", "arm")
        step = max(1, hr.shape[0] // 1000)
        for arm in hr["arm"].values:
            if str(arm) == study.reference_arm:
                continue
            values = hr.sel(arm=arm).values[::step]
            hr_rows.append(
                tag(
                    pd.DataFrame(
                        {"arm": str(arm), "draw": np.arange(values.size), "hazard_ratio": values}
                    ),
                    o,
                )
            )
    if hr_rows:
        pd.concat(hr_rows)[
            ["fit_key", "family", "prior", "close", "arm", "draw", "hazard_ratio"]
        ].to_csv(tables / "hazard_ratio_draws.csv", index=False, float_format="%.6g")
    prior_sets = _prior_sets(result)
    _prior_posterior(result, study.analysis.seed, prior_sets).to_csv(
        tables / "prior_posterior.csv", index=False, float_format="%.6g"
    )
    primary = result.primary
    if primary.ppc is not None:
        # survival in percent, as printed; p-values as numbers
        survival_ids = {f.id for f in study.figures if isinstance(f, SurvivalFigure)}
        ppc = primary.ppc.copy()
        is_survival = ppc["figure_id"].isin(survival_ids)
        ppc.loc[is_survival, "value"] = ppc.loc[is_survival, "value"] * 100.0
        ppc.to_csv(tables / "ppc.csv", index=False, float_format="%.6g")
        obs = [
            {
                "figure_id": f.id,
                "printed_value": f.percent.value if f.id in survival_ids else f.p.value,
                "kind": figure_kind(f),
            }
            for f in study.figures
            if f.id in set(ppc["figure_id"])
        ]
        obs_frame = pd.DataFrame(obs, columns=["figure_id", "printed_value", "kind"])
        obs_frame.to_csv(tables / "ppc_observed.csv", index=False, float_format="%.6g")
        pseudo = primary.pseudo.assign(event=primary.pseudo["event"].astype(int))
        pseudo.to_csv(tables / "pseudo_datasets.csv", index=False, float_format="%.6g")
        primary.pseudo_frequentist.to_csv(
            tables / "pseudo_frequentist.csv", index=False, float_format="%.6g"
        )
    checked = [o for o in result.outcomes if o.plateaus is not None]
    if checked:  # survival printed flat between two landmarks (resurv.compare.plateau)
        pd.concat([tag(o.plateaus, o) for o in checked]).to_csv(
            tables / "plateaus.csv", index=False, float_format="%.6g"
        )
    from resurv.run.tables import model_comparison_table, prior_predictive_table

    model_comparison_table(result, prior_sets=prior_sets).to_csv(
        tables / "model_comparison.csv", index=False, float_format="%.6g"
    )
    prior_predictive_table(result, prior_sets=prior_sets).to_csv(
        tables / "prior_predictive.csv", index=False, float_format="%.6g"
    )
    if result.curves is not None:  # a study without curves keeps its folder as it was
        from resurv.run.curves import write_curve_tables

        write_curve_tables(result.curves, tables)


def _run_json(result: Reanalysis, study_file: Path | None) -> dict[str, Any]:
    study = result.study
    return {
        "resurv": __version__,
        "study": {
            "id": study.id,
            "title": study.title,
            "citation": study.citation,
            "file": study_file.name if study_file else None,
            "sha256": study.source_sha256,
            "time_unit": study.time_unit,
            "landmark_times": list(report_times(study)),
            "printed_landmark_times": sorted(
                {f.time for f in study.figures if isinstance(f, SurvivalFigure)}
            ),
            "arms": [{"id": a.id, "label": a.label, "n": list(a.n)} for a in study.arms],
        },
        "primary": result.primary.task.key,
        "settings": result.settings,
        "seeds": {
            "master": result.settings["master_seed"],
            "per_fit": {o.task.key: o.task.seed for o in result.outcomes},
        },
        "versions": versions(),
        "fits": [
            {
                "fit_key": o.task.key,
                "family": o.task.family,
                "prior": o.task.prior,
                "close": o.task.close,
                "status": o.status,
                "seed": o.task.seed,
                "failures": o.failures,
            }
            for o in result.outcomes
        ],
        "assumptions": result.assumptions,
        "findings": list(result.audit.findings),
        "all_passed": result.all_passed,
    }
