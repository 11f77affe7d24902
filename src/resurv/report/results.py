"""The loading of a results folder: ``run.json``, ``audit.json``, ``tables/*.csv``, posteriors.

:class:`Results` holds what a ``resurv run`` wrote; :func:`load_results` reads it and checks
each table against :data:`TABLE_COLUMNS`, parsing the columns of :data:`NUMERIC_COLUMNS` as
floats and the flags ``passed`` and ``event`` as booleans. Nothing here writes or refits.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from resurv.errors import OutputError
from resurv.report import plots

#: columns each table must have (tables may carry more); numeric columns are parsed as floats
TABLE_COLUMNS = {
    "audit": ("figure_id", "kind", "printed", "verdict", "words"),
    "comparison": ("figure_id", "kind", "quantity", "printed", "recomputed", "posterior_median",
                   "lower_95", "upper_95", "p_replicate_as_extreme", "flag"),
    "sensitivity": ("fit_key", "family", "prior", "close", "status", "quantity", "label",
                    "median", "lower_95", "upper_95"),
    "diagnostics": ("fit_key", "status", "variable", "rhat", "ess_bulk", "ess_tail",
                    "divergences", "bfmi_min", "passed", "failures"),
    "model_comparison": ("prior", "close", "log_ml_exponential", "log_ml_weibull",
                         "log_bf_weibull_vs_exponential", "shape_sd_ratio", "shape_note"),
    "candidates": ("fit_key", "arm", "n", "posterior_weight"),
    "survival_curves": ("fit_key", "arm", "time", "q025", "q25", "median", "q75", "q975"),
    "prior_posterior": ("fit_key", "parameter", "source", "value"),
    "ppc": ("replicate", "figure_id", "value"),
    "ppc_observed": ("figure_id", "printed_value", "kind"),
    "pseudo_datasets": ("dataset", "arm", "time", "event"),
    "pseudo_frequentist": ("dataset", "quantity", "value"),
    "audit_deaths": ("arm", "n", "estimator", "deaths", "n_configurations"),
    "prior_predictive": ("prior", "family", "quantity", "median", "lower_95", "upper_95"),
    # written only for a study with digitised curves (resurv.run.curves)
    "curves_accuracy": ("arm", "n", "rmse", "max_error", "deaths", "censored", "total_events"),
    "curves_intervals": ("arm", "start", "end", "at_risk_printed", "at_risk_reconstructed",
                         "deaths", "censored"),
    "curves_posterior": ("quantity", "label", "figures_median", "figures_lower_95",
                         "figures_upper_95", "curves_median", "curves_lower_95",
                         "curves_upper_95"),
    "curves_fits": ("reconstruction", "family", "prior", "seed", "status", "failures"),
}  # fmt: skip
NUMERIC_COLUMNS = frozenset(
    "posterior_median lower_95 upper_95 p_replicate_as_extreme p_replicate_prints median rhat "
    "ess_bulk ess_tail mcse_mean divergences bfmi_min treedepth_frac log_ml_exponential "
    "log_ml_weibull log_bf_weibull_vs_exponential log_bf_mcse shape_sd_ratio n posterior_weight "
    "log_ml_cure log_bf_cure_vs_exponential log_bf_cure_vs_weibull log_bf_cure_mcse "
    "time q025 "
    "q25 q75 q975 draw hazard_ratio value printed_value replicate deaths n_configurations "
    "event".split()
) | frozenset(
    "rmse max_error censored total_events start end at_risk_printed at_risk_reconstructed "
    "figures_median figures_lower_95 figures_upper_95 curves_median curves_lower_95 "
    "curves_upper_95 reconstruction seed".split()
)


@dataclass(frozen=True)
class Results:
    """A results folder, loaded: ``run.json``, ``audit.json`` and the tables that exist."""

    folder: Path
    run: dict
    audit: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame | None:
        """Return ``tables/<name>.csv`` as a DataFrame, or ``None`` if the run did not write it."""
        return self.tables.get(name)

    @property
    def study(self) -> dict:
        """The ``study`` entry of ``run.json``."""
        return self.run.get("study", {})

    @property
    def time_unit(self) -> str:
        """The study's time unit (``"years"``, ...)."""
        return str(self.study.get("time_unit", "time units"))

    @property
    def arm_labels(self) -> dict[str, str]:
        """Arm id -> label (the id when no label was given)."""
        return {a["id"]: a.get("label") or a["id"] for a in self.study.get("arms", [])}

    @property
    def primary(self) -> str:
        """The fit key of the primary fit."""
        return str(self.run.get("primary", ""))

    @property
    def fits(self) -> list[dict]:
        """The fits of ``run.json`` (fit_key, family, prior, close, status, seed, failures)."""
        return list(self.run.get("fits", []))

    @property
    def failed(self) -> list[str]:
        """Fit keys whose diagnostics failed, from ``run.json`` and the tables, in run order."""
        keys = [f["fit_key"] for f in self.fits if f.get("status") != "ok"]
        for name in ("sensitivity", "diagnostics"):
            t = self.table(name)
            if t is not None:
                keys += list(t.loc[~t["status"].isin(("ok", "")), "fit_key"])
        diagnostics = self.table("diagnostics")
        if diagnostics is not None:
            keys += list(diagnostics.loc[~diagnostics["passed"], "fit_key"])
        return list(dict.fromkeys(keys))

    def fit_words(self, fit_key: str) -> str:
        """Plain words for a fit key, from ``run.json``'s fits (the key itself if unknown)."""
        for f in self.fits:
            if f.get("fit_key") == fit_key:
                return plots.fit_label(f.get("family", ""), f.get("prior", ""), f.get("close"))
        return fit_key


def _read_table(path: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in TABLE_COLUMNS.get(name, ()) if c not in frame.columns]
    if missing:
        raise OutputError(
            f"tables/{name}.csv in {path.parent.parent} lacks the columns {missing} (it has "
            f"{list(frame.columns)}). It was written by an incompatible version of resurv; "
            "rerun 'resurv run' to rebuild the folder."
        )
    for column in frame.columns:
        if column in NUMERIC_COLUMNS:
            text = frame[column]
            frame[column] = pd.to_numeric(text.where(text != "", None), errors="coerce")
    for column in ("passed", "event"):
        if column in frame.columns:
            values = frame[column]
            if pd.api.types.is_numeric_dtype(values):
                frame[column] = values.fillna(0) != 0
            else:
                frame[column] = values.str.lower().isin(("true", "1", "yes"))
    return frame


def load_results(results_dir) -> Results:
    """Load a results folder; raise :class:`~resurv.errors.OutputError` if it is not one.

    Parameters
    ----------
    results_dir : str or path-like
        A folder written by ``resurv run`` (``results/<study id>``).

    Returns
    -------
    Results
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise OutputError(
            f"{folder} is not a folder. Give the results folder written by 'resurv run', "
            "e.g. results/grazi2000."
        )
    run_path = folder / "run.json"
    if not run_path.is_file():
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise OutputError(
            f"{folder} is not a resurv results folder: run.json is missing (found: "
            f"{present or 'nothing'}). Give the folder written by 'resurv run' (it holds run.json "
            "and tables/), or run the study first: resurv run models/<study>.toml."
        )
    try:
        run = json.loads(run_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OutputError(
            f"{run_path} is not valid JSON ({exc}); the run did not finish writing it. "
            "Rerun 'resurv run' with --force."
        ) from None
    if not isinstance(run, dict) or not isinstance(run.get("study"), dict):
        raise OutputError(
            f"{run_path} has no 'study' entry; it was not written by 'resurv run'. "
            "Rerun the study: resurv run models/<study>.toml --force."
        )
    audit = {}
    if (folder / "audit.json").is_file():
        try:
            audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise OutputError(f"{folder / 'audit.json'} is not valid JSON ({exc}).") from None
    tables = {}
    for name in TABLE_COLUMNS:
        path = folder / "tables" / f"{name}.csv"
        if path.is_file():
            tables[name] = _read_table(path, name)
    return Results(folder=folder, run=run, audit=audit if isinstance(audit, dict) else {},
                   tables=tables)  # fmt: skip


def _open_posterior(path: Path):
    """Load what the trace plots of a saved fit read: its draws and its divergence flags.

    The store's other groups (the other sampler statistics, the likelihood's constant data)
    stay unread; a store without a posterior group is returned whole, for the caller to name
    the groups it has.
    """
    import xarray as xr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to open Zarr store with consolidated")
        tree = xr.open_datatree(path, engine="zarr")
        if "posterior" not in tree.children:
            return tree.load()
        groups = {"posterior": tree["posterior"].to_dataset()}
        if "sample_stats" in tree.children and "diverging" in tree["sample_stats"].data_vars:
            groups["sample_stats"] = tree["sample_stats"].to_dataset()[["diverging"]]
        return xr.DataTree.from_dict(groups).load()
