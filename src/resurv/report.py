"""The report of a results folder: ``report.md``, ``report.html`` and ``figures/*.png``.

The report is a pure function of a results folder written by ``resurv run``: it reads only the
saved files (``run.json``, ``audit.json``, ``tables/*.csv``, ``posterior/*.zarr``) and never
refits, so ``resurv report results/<study>/`` rebuilds it at any time. The same folder gives
byte-identical ``report.md``, ``report.html`` and PNGs: no clock is read (the only dates are
those stored in ``run.json``), tables are formatted with fixed precision, and PNGs carry no
software or date metadata.

The content is built once as a list of blocks (headings, paragraphs, tables, lists, figures)
and rendered twice, to Markdown and to a self-contained HTML page (inline CSS, figures embedded
as base64 data URIs, no scripts, no external links), so both files say the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from resurv import plots
from resurv.errors import OutputError
from resurv.outputs import confined, safe_name

__all__ = ["Results", "load_results", "plain_answer", "rebuild_report", "write_report"]

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
}  # fmt: skip
NUMERIC_COLUMNS = frozenset(
    "posterior_median lower_95 upper_95 p_replicate_as_extreme p_replicate_prints median rhat "
    "ess_bulk ess_tail mcse_mean divergences bfmi_min log_ml_exponential log_ml_weibull "
    "log_bf_weibull_vs_exponential shape_sd_ratio n posterior_weight time q025 q25 q75 q975 "
    "draw hazard_ratio value printed_value replicate deaths n_configurations event".split()
)


# ------------------------------------------------------------------------------ loading ---
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
    import xarray as xr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to open Zarr store with consolidated")
        return xr.open_datatree(path, engine="zarr").load()


# ---------------------------------------------------------------------------- formatting ---
def _g(x, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; an em dash when missing."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "-"
    x = float(x)
    if x != 0 and (abs(x) >= 10**digits or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    text = f"{x:.{digits}g}"
    return text


def _interval(median, lower, upper, digits: int = 3) -> str:
    if not np.isfinite(float(lower if lower is not None else np.nan)):
        return _g(median, digits)
    return f"{_g(median, digits)} [{_g(lower, digits)}, {_g(upper, digits)}]"


def _prob(p) -> str:
    if p is None or not np.isfinite(p):
        return "-"
    if p >= 0.9995:
        return "> 0.999"
    if p <= 0.0005:
        return "< 0.001"
    return f"{p:.3f}"


def _percent(x) -> float:
    """Return a survival fraction in [0, 1] as percent."""
    return float(x) * 100.0


def _time(t) -> str:
    """Return a landmark time as the run writes it in quantity names (``4.0`` -> ``"4"``)."""
    return f"{float(t):g}"


def _text(x) -> str:
    """Return a table cell: whole floats without ".0", other floats to 3 significant digits."""
    if isinstance(x, float | np.floating):
        if np.isnan(x):
            return ""
        return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else _g(x)
    return "" if x is None else str(x)


# -------------------------------------------------------------------------------- blocks ---
@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    failed_rows: tuple[int, ...] = ()


@dataclass(frozen=True)
class Image:
    file: str  # relative to the results folder, e.g. "figures/survival_curves.png"
    label: str
    caption: str


def _table(frame: pd.DataFrame, failed_rows=()) -> Table:
    rows = tuple(tuple(_text(v) for v in row) for row in frame.itertuples(index=False))
    return Table(tuple(map(str, frame.columns)), rows, tuple(failed_rows))


# ------------------------------------------------------------------------ what the tables say ---
def _match_arm(text: str, labels: dict[str, str]) -> str:
    """Return the arm whose id or label occurs in ``text`` (the longest match wins)."""
    text = text.lower().replace("_", " ")
    best, length = "", 0
    for arm, label in labels.items():
        for key in {arm.lower().replace("_", " "), label.lower()}:
            if key and re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", text):
                if len(key) > length:
                    best, length = arm, len(key)
    return best


def _landmarks(r: Results) -> list[plots.Landmark]:
    """Return the printed landmark survival figures: arm, time, percent and text."""
    comp = r.table("comparison")
    if comp is None:
        return []
    times = [float(t) for t in r.study.get("landmark_times", [])]
    audit_figures = {
        str(f.get("id", f.get("figure_id"))): f
        for f in r.audit.get("figures", [])
        if isinstance(f, dict)
    }
    out = []
    for row in comp[comp["kind"] == "survival"].to_dict("records"):
        info = audit_figures.get(row["figure_id"], {})
        text = f"{row['figure_id']} {row['quantity']}"
        arm = row.get("arm") or info.get("arm") or _match_arm(text, r.arm_labels)
        time = row.get("time") or info.get("time")
        if not time:
            found = re.search(r"(\d+(?:\.\d+)?)[- ]?(?:year|month|week|day)", row["quantity"])
            time = found.group(1) if found else (times[0] if len(times) == 1 else None)
        number = re.search(r"\d+(?:\.\d+)?", row["printed"])
        if arm and time is not None and number:
            out.append(
                plots.Landmark(arm, float(time), float(number.group()), f"{number.group()}%")
            )
    return out


def _reference_arm(r: Results, compared: list[str]) -> str:
    arms = list(r.arm_labels)
    ref = r.study.get("reference_arm")
    if ref:
        return str(ref)
    others = [a for a in arms if a not in compared]
    return others[0] if others else (arms[0] if arms else "the reference arm")


def _hazard_ratio_rows(r: Results) -> pd.DataFrame:
    sens = r.table("sensitivity")
    if sens is None:
        return pd.DataFrame()
    hr = sens[sens["quantity"].str.startswith("hazard_ratio[")]
    hr = hr[hr["lower_95"] < hr["upper_95"]].copy()  # not the reference arm's constant 1
    hr["arm"] = hr["quantity"].str.slice(len("hazard_ratio["), -1)
    return hr


def _same_quantity(name: str) -> str:
    """Return a quantity name with its time written as :func:`_time` does ("t=4.0" -> "t=4")."""
    return re.sub(r"t=([0-9.eE+-]+)", lambda m: f"t={_time(m.group(1))}", name.replace(" ", ""))


def _quantity(r: Results, fit_key: str, quantity: str) -> dict | None:
    sens = r.table("sensitivity")
    if sens is None:
        return None
    names = sens["quantity"].map(_same_quantity)
    sel = sens[(sens["fit_key"] == fit_key) & (names == _same_quantity(quantity))]
    return None if sel.empty else sel.iloc[0].to_dict()


def _prior_sentence(r: Results, hr: pd.DataFrame, arm: str) -> str:
    rows = hr[hr["arm"] == arm]
    ok = rows[rows["status"] == "ok"]
    primary = rows[rows["fit_key"] == r.primary]
    if len(ok) < 2 or primary.empty:
        return ""
    p = primary.iloc[0]
    half = (np.log(p["upper_95"]) - np.log(p["lower_95"])) / 2
    spread = float(np.max(np.abs(np.log(ok["median"]) - np.log(p["median"]))))
    if spread < 0.25 * half:
        verdict = "so the choice of prior moves the answer little"
    elif spread < half:
        verdict = "so the prior moves the answer noticeably, though within the primary 95% interval"
    else:
        verdict = (
            "so the prior matters: some fits put their median outside the primary 95% interval"
        )
    sentence = (
        f"Across the {len(ok)} fits that passed their diagnostics (families x prior sets), the "
        f"median hazard ratio ranges from {_g(ok['median'].min())} to {_g(ok['median'].max())}, "
        f"{verdict}"
    )
    sens = r.table("sensitivity")
    probs = sens[(sens["quantity"] == f"p_hr_gt_1[{arm}]") & sens["fit_key"].isin(ok["fit_key"])][
        "median"
    ]
    if len(probs):
        sentence += f"; P(HR > 1) ranges from {_prob(probs.min())} to {_prob(probs.max())}"
    return sentence + "."


def plain_answer(r: Results) -> str:
    r"""Return the one-paragraph plain-language answer, built from the tables.

    It states, for the primary fit, the hazard ratio (median, 95% interval, P(HR > 1)), the
    landmark survival per arm, the audit's main finding, how far the hazard-ratio medians of
    the fits that passed their diagnostics move from the primary one, and which fits failed.

    Notes
    -----
    How much the prior matters is judged on the log scale: with :math:`m_i` the HR medians of
    the fits that passed and :math:`(l, u)` the primary 95% interval, the spread
    :math:`s = \max_i |\log m_i - \log m_{primary}|` is compared with the half-width
    :math:`h = (\log u - \log l) / 2`: :math:`s < h/4` "moves the answer little",
    :math:`s < h` "noticeably, though within the primary 95% interval", otherwise "matters".
    """
    words = r.fit_words(r.primary)
    labels = r.arm_labels
    hr = _hazard_ratio_rows(r)
    parts = []
    primary_hr = hr[hr["fit_key"] == r.primary] if len(hr) else hr
    arm = ""
    if len(primary_hr):
        row = primary_hr.iloc[0]
        arm = row["arm"]
        ref = _reference_arm(r, list(hr["arm"].unique()))
        p = _quantity(r, r.primary, f"p_hr_gt_1[{arm}]")
        text = (
            f"Given only what the abstract prints, the hazard of death in the "
            f"'{labels.get(arm, arm)}' arm is {_g(row['median'])} times that in the "
            f"'{labels.get(ref, ref)}' arm (posterior median; 95% credible interval "
            f"{_g(row['lower_95'])} to {_g(row['upper_95'])})"
        )
        if p is not None:
            text += (
                f", and the probability that it is higher at all, P(HR > 1), is "
                f"{_prob(p['median'])}"
            )
        parts.append(text + f", under the primary fit ({words}).")
    else:
        parts.append(f"Given only what the abstract prints, the primary fit is {words}.")
    times = r.study.get("printed_landmark_times") or r.study.get("landmark_times", [])
    for t in times:
        pieces = []
        for a, label in labels.items():
            q = _quantity(r, r.primary, f"surv[{a}, t={_time(t)}]")
            if q is not None:
                pieces.append(
                    f"{label} {_percent(q['median']):.0f}% (95% CrI "
                    f"{_percent(q['lower_95']):.0f}% to {_percent(q['upper_95']):.0f}%)"
                )
        if pieces:
            text = f"Survival at {_time(t)} {r.time_unit}: {', '.join(pieces)}"
            p = _quantity(r, r.primary, f"p_surv_diff_gt_20[t={_time(t)}]")
            if p is not None:
                text += (
                    "; the probability that the difference exceeds 20 percentage points is "
                    f"{_prob(p['median'])}"
                )
            parts.append(text + ".")
    findings = _findings(r)
    if findings:
        more = f" ({len(findings) - 1} further findings below.)" if len(findings) > 1 else ""
        parts.append(f"The audit's main finding: {findings[0].rstrip('.')}.{more}")
    if arm:
        parts.append(_prior_sentence(r, hr, arm))
    parts.append(_diagnostics_sentence(r))
    return " ".join(p for p in parts if p)


def _findings(r: Results) -> list[str]:
    return [str(f) for f in (r.run.get("findings") or r.audit.get("findings") or [])]


def _diagnostics_sentence(r: Results) -> str:
    n = len(r.fits)
    failed = r.failed
    if not failed:
        return f"All {n} fits passed their convergence diagnostics."
    primary = (
        f"the primary fit {'also failed' if r.primary in failed else 'passed'}" if r.primary else ""
    )
    return (
        f"{len(failed)} of {n} fits failed their convergence diagnostics "
        f"({', '.join(failed)}; marked {plots.FAILED_MARK} throughout); {primary}."
    )


# ------------------------------------------------------------------------------- sections ---
def _missing(name: str) -> Para:
    return Para(f"Not available: tables/{name}.csv is not in the results folder.")


def _mark(fit_key: str, r: Results) -> str:
    primary = " (primary)" if fit_key == r.primary else ""
    return fit_key + primary + (f" {plots.FAILED_MARK}" if fit_key in r.failed else "")


def _tab(columns: dict, failed_rows=()) -> Table:
    """Return a table from ``{header: column values}``, every value shown as text."""
    cells = [[_text(v) for v in column] for column in columns.values()]
    return Table(tuple(columns), tuple(zip(*cells, strict=True)), tuple(failed_rows))


def _cis(frame: pd.DataFrame, median: str = "median") -> list[str]:
    columns = (frame[median], frame["lower_95"], frame["upper_95"])
    return [_interval(m, lo, hi) for m, lo, hi in zip(*columns, strict=True)]


def _ordered_fits(r: Results, frame: pd.DataFrame) -> list[str]:
    present = set(frame["fit_key"])
    order = [f["fit_key"] for f in r.fits] + list(frame["fit_key"])
    return [k for k in dict.fromkeys(order) if k in present]


def _audit_section(r: Results, refs: str) -> list:
    blocks: list = [Heading(2, "The audit of the printed figures")]
    findings = _findings(r)
    blocks += [Bullets(tuple(findings))] if findings else []
    audit = r.table("audit")
    blocks.append(_missing("audit") if audit is None else _tab(audit.to_dict("list")))
    if refs:
        blocks.append(Para(f"{refs} shows the feasible death counts per arm and estimator."))
    return blocks


def _comparison_section(r: Results, refs: str) -> list:
    blocks: list = [Heading(2, "The paper and the posterior, side by side")]
    comp = r.table("comparison")
    if comp is None:
        return blocks + [_missing("comparison")]
    failed = f" {plots.FAILED_MARK}" if r.primary in r.failed else ""
    blocks.append(
        Para(
            f"Primary fit: {r.fit_words(r.primary)}{failed}. Posterior medians and 95% credible "
            "intervals are on the printed scale (percent for survival and proportions). "
            "P(replicate as extreme) is the posterior predictive probability that a replicate "
            "study prints a value at least as extreme as the paper's."
        )
    )
    columns = {
        "figure": comp["quantity"],
        "printed": comp["printed"],
        "recomputed": comp["recomputed"],
        "posterior median [95% CrI]": _cis(comp, "posterior_median"),
        "P(replicate as extreme)": comp["p_replicate_as_extreme"].map(_prob),
        "flag": comp["flag"],
    }
    if "note" in comp:
        columns["note"] = comp["note"]
    blocks.append(_tab(columns))
    pseudo = r.table("pseudo_frequentist")
    if pseudo is not None and len(pseudo):
        summary = pseudo.groupby("quantity", sort=False)["value"].agg(["min", "median", "max"])
        blocks.append(
            Para(
                f"The frequentist figures recomputed on {pseudo['dataset'].nunique()} "
                "pseudo-individual datasets (replicate cohorts drawn from the posterior "
                "predictive whose printed figures match the paper):"
            )
        )
        blocks.append(_tab({"quantity": summary.index} | {c: summary[c].map(_g) for c in summary}))
    return blocks + ([Para(f"See {refs}.")] if refs else [])


def _sensitivity_section(r: Results, refs: str) -> list:
    blocks: list = [Heading(2, "Prior sensitivity")]
    sens = r.table("sensitivity")
    if sens is None:
        return blocks + [_missing("sensitivity")]
    blocks.append(
        Para(
            "Every quantity under every fit: posterior median [95% credible interval], or the "
            "value alone for probabilities P(...) and bounds. Fits that failed their diagnostics "
            f"are marked {plots.FAILED_MARK}."
        )
    )
    pairs = zip(sens["median"], sens["quantity"], strict=True)
    single = [_prob(m) if "_gt_" in q else _g(m) for m, q in pairs]
    cells = sens.assign(cell=np.where(sens["lower_95"].notna(), _cis(sens), single))
    labels = dict(zip(sens["quantity"], sens["label"], strict=True))
    quantities = list(dict.fromkeys(sens["quantity"]))
    grid = cells.pivot_table(index="quantity", columns="fit_key", values="cell", aggfunc="first")
    keys = _ordered_fits(r, sens)
    for start in range(0, len(keys), 5):  # at most five fits per table, to stay readable
        columns = {"quantity": [labels[q] or q for q in quantities]}
        for k in keys[start : start + 5]:
            columns[_mark(k, r)] = grid[k].reindex(quantities).fillna("-")
        blocks.append(_tab(columns))
    predictive = r.table("prior_predictive")
    if predictive is not None and len(predictive):
        blocks.append(Para("Prior predictive check: what each prior set implies before the data."))
        columns = {c: predictive[c] for c in ("prior", "family", "quantity")}
        blocks.append(_tab(columns | {"median [95% interval]": _cis(predictive)}))
    return blocks + ([Para(f"See {refs}.")] if refs else [])


_EVIDENCE = (  # Kass & Raftery (1995), on the Bayes factor scale
    (3.0, "not worth more than a bare mention: the data cannot tell the two families apart"),
    (20.0, "positive"),
    (150.0, "strong"),
    (np.inf, "very strong"),
)


def _bayes_factor_words(log_bf: float) -> str:
    if not np.isfinite(log_bf):
        return "not available"
    bf = float(np.exp(abs(log_bf)))
    words = next(w for limit, w in _EVIDENCE if bf < limit)
    if bf < 3.0:
        return f"evidence {words}"
    return f"{words} evidence for the {'Weibull' if log_bf > 0 else 'Exponential'}"


def _shape_words(row: dict) -> str:
    ratio = row["shape_sd_ratio"]
    if not np.isfinite(ratio) and not row["shape_note"]:
        return "the Weibull shape's SD ratio is not available"
    if row["shape_note"]:
        return row["shape_note"]
    text = f"the Weibull shape's posterior SD is {_g(ratio, 2)} of its prior SD"
    return text + (" - the data cannot inform it, so the prior decides it" if ratio > 0.7 else "")


def _model_section(r: Results) -> list:
    blocks: list = [Heading(2, "Model comparison")]
    mc = r.table("model_comparison")
    if mc is None:
        blocks.append(_missing("model_comparison"))
    else:
        log_bf = mc["log_bf_weibull_vs_exponential"]
        two = "{:.2f}".format
        columns = {
            "prior": mc["prior"],
            "close": mc["close"],
            "log ML Exponential": mc["log_ml_exponential"].map(two),
            "log ML Weibull": mc["log_ml_weibull"].map(two),
            "log BF Weibull vs Exponential": log_bf.map(two),
            "BF": np.exp(log_bf).map(_g),
            "shape SD ratio (posterior/prior)": mc["shape_sd_ratio"].map(_g),
        }
        blocks.append(_tab(columns))
        items = [
            f"{row['prior'].replace('_', ' ')} prior, close {row['close']}: Bayes factor Weibull "
            f"vs Exponential {_g(np.exp(row['log_bf_weibull_vs_exponential']))}, "
            f"{_bayes_factor_words(row['log_bf_weibull_vs_exponential'])}; {_shape_words(row)}."
            for row in mc.to_dict("records")
        ]
        blocks.append(Bullets(tuple(items)))
    cand = r.table("candidates")
    if cand is not None and len(cand):
        key = r.primary if r.primary in set(cand["fit_key"]) else cand["fit_key"].iloc[0]
        sel = cand[cand["fit_key"] == key]
        blocks.append(Para(f"Candidate arm sizes and their posterior weights ({key}):"))
        columns = {
            "arm": [r.arm_labels.get(a, a) for a in sel["arm"]],
            "n": sel["n"].map("{:.0f}".format),
            "posterior weight": sel["posterior_weight"].map("{:.3f}".format),
        }
        blocks.append(_tab(columns))
    return blocks


def _split_failures(text: str) -> list[str]:
    """Split a ";"-separated failure list, keeping each failure's "; fix: ..." with it."""
    return [item.strip() for item in re.split(r";(?!\s*fix:)\s*", text) if item.strip()]


def _diagnostics_section(r: Results, refs: str) -> list:
    blocks: list = [Heading(2, "Diagnostics"), Para(_diagnostics_sentence(r))]
    diag = r.table("diagnostics")
    failures: dict[str, list[str]] = {}
    for f in r.fits:
        failures.setdefault(f["fit_key"], []).extend(str(x) for x in f.get("failures") or [])
    if diag is None:
        blocks.append(_missing("diagnostics"))
    else:
        rows, failed_rows = [], []
        for i, k in enumerate(_ordered_fits(r, diag)):
            d = diag[diag["fit_key"] == k]
            passed = bool(d["passed"].all()) and k not in r.failed
            failed_rows += [] if passed else [i]
            rows.append(
                [_mark(k, r), f"{d['rhat'].max():.3f}", f"{d['ess_bulk'].min():.0f}",
                 f"{d['ess_tail'].min():.0f}", f"{d['divergences'].max():.0f}",
                 f"{d['bfmi_min'].min():.2f}", "passed" if passed else "FAILED"]
            )  # fmt: skip
            for text in d["failures"]:
                failures.setdefault(k, []).extend(_split_failures(text))
        header = ("fit", "max R-hat", "min bulk ESS", "min tail ESS", "divergences",
                  "min E-BFMI", "result")  # fmt: skip
        blocks.append(Table(header, tuple(map(tuple, rows)), tuple(failed_rows)))
    for k, items in failures.items():
        if items:
            blocks.append(Para(f"Failures of {k} {plots.FAILED_MARK}:"))
            blocks.append(Bullets(tuple(dict.fromkeys(items))))
    return blocks + ([Para(refs)] if refs else [])


def _provenance_section(r: Results) -> list:
    study, seeds = r.study, r.run.get("seeds") or {}
    lines = [
        f"study file: {study.get('file', '-')} (sha256 {study.get('sha256', '-')})",
        f"primary fit: {r.primary}",
    ]
    lines += [f"{key}: {r.run[key]}" for key in ("created", "started", "finished") if key in r.run]
    settings = sorted((r.run.get("settings") or {}).items())
    lines += [f"setting {k}: {json.dumps(v, sort_keys=True)}" for k, v in settings]
    seed_rows = [("master", _text(seeds.get("master", "-")))]
    seed_rows += [(k, _text(v)) for k, v in sorted((seeds.get("per_fit") or {}).items())]
    versions = tuple(sorted((k, str(v)) for k, v in (r.run.get("versions") or {}).items()))
    return [
        Heading(2, "Versions and seeds"),
        Bullets(tuple(lines)),
        Table(("seed of", "seed"), tuple(seed_rows)),
        Table(("package", "version"), versions or (("-", "not recorded"),)),
    ]


# -------------------------------------------------------------------------------- figures ---
def _primary_only(frame: pd.DataFrame | None, r: Results) -> pd.DataFrame | None:
    if frame is None:
        return None
    sel = frame[frame["fit_key"] == r.primary]
    return sel if len(sel) else None


def _figures(r: Results, folder: Path) -> tuple[dict[str, Image], list[Image]]:
    """Draw every figure the tables allow; return the main figures by name and the appendix."""
    landmarks, words, failed = _landmarks(r), r.fit_words(r.primary), r.primary in r.failed
    arms = {"arm_labels": r.arm_labels}
    drawn: dict[str, tuple[str, str]] = {}

    def path(name: str) -> Path:
        return confined(folder, f"{name}.png")

    curves = _primary_only(r.table("survival_curves"), r)
    if curves is not None:
        caption = plots.survival_curves(
            curves, path("survival_curves"), pseudo=r.table("pseudo_datasets"),
            landmarks=landmarks, time_unit=r.time_unit, fit=words, failed=failed, **arms,
        )  # fmt: skip
        drawn["survival_curves"] = ("Posterior survival by arm", caption)
    hr = _hazard_ratio_rows(r)
    if len(hr):
        ref = _reference_arm(r, list(hr["arm"].unique()))
        caption = plots.hazard_ratio_forest(
            r.table("sensitivity"), path("hazard_ratio_forest"), primary=r.primary,
            reference_label=r.arm_labels.get(ref, ref), **arms,
        )  # fmt: skip
        drawn["hazard_ratio_forest"] = ("Hazard ratio under every prior set and family", caption)
    pp = _primary_only(r.table("prior_posterior"), r)
    if pp is not None:
        caption = plots.prior_vs_posterior(
            pp, path("prior_vs_posterior"), fit=words, failed=failed, time_unit=r.time_unit, **arms
        )
        drawn["prior_vs_posterior"] = ("Prior vs posterior", caption)
    deaths = r.table("audit_deaths")
    if deaths is not None and len(deaths):
        sizes = {a["id"]: a.get("n", []) for a in r.study.get("arms", [])}
        graphs = [g for g in r.audit.get("landmark_graphs", []) if isinstance(g, dict)]
        checked = {(g["arm"], int(g["n"]), g["estimator"]): bool(g.get("complete", True))
                   for g in graphs} or None  # fmt: skip
        caption = plots.audit_picture(
            deaths, path("audit_picture"), arm_sizes=sizes, checked=checked, landmarks=landmarks,
            time_unit=r.time_unit, **arms,
        )  # fmt: skip
        drawn["audit_picture"] = ("Audit: feasible death counts", caption)
    ppc, observed = r.table("ppc"), r.table("ppc_observed")
    if ppc is not None and observed is not None and len(ppc):
        comp = r.table("comparison")
        comp = pd.DataFrame(columns=TABLE_COLUMNS["comparison"]) if comp is None else comp
        by_id = {c: dict(zip(comp["figure_id"], comp[c], strict=True)) for c in comp.columns}
        caption = plots.ppc_figures(
            ppc, observed, path("ppc"), labels=by_id["quantity"], printed_text=by_id["printed"],
            p_extreme=by_id["p_replicate_as_extreme"], fit=words, failed=failed,
        )  # fmt: skip
        drawn["ppc"] = ("Posterior predictive check of the printed figures", caption)
    main = {k: Image(f"figures/{k}.png", label, cap) for k, (label, cap) in drawn.items()}
    appendix = []
    for f in r.fits:
        k = f["fit_key"]
        zarr = r.folder / "posterior" / f"{k}.zarr"
        if zarr.exists():
            target = path(f"trace_rank_{safe_name(k)}")
            caption = plots.trace_rank(
                _open_posterior(zarr), target, fit_key=k, failed=k in r.failed,
                failures=[str(x) for x in f.get("failures") or []],
            )  # fmt: skip
            appendix.append(
                Image(f"figures/{target.name}", f"Trace and rank plots of {k}", caption)
            )
    return main, appendix


# -------------------------------------------------------------------------------- report ---
def _blocks(r: Results, main: dict[str, Image], appendix: list[Image]) -> list:
    number = {name: i + 1 for i, name in enumerate(main)}

    def ref(*names: str) -> str:
        found = [f"Figure {number[n]}" for n in names if n in number]
        return " and ".join(found)

    study = r.study
    title = study.get("title") or study.get("id", "study")
    blocks: list = [
        Heading(1, f"Reanalysis: {title}"),
        Para(f"{study.get('citation', '')} Study id: {study.get('id', '-')}.".strip()),
        Heading(2, "The answer in plain words"),
        Para(plain_answer(r)),
    ]
    blocks += _audit_section(r, ref("audit_picture"))
    refs = ref("survival_curves", "ppc")
    blocks += _comparison_section(r, refs)
    refs = ref("hazard_ratio_forest", "prior_vs_posterior")
    blocks += _sensitivity_section(r, refs)
    blocks += _model_section(r)
    refs = f"Trace and rank plots of every fit are in the appendix ({len(appendix)} figures)."
    blocks += _diagnostics_section(r, refs if appendix else "")
    assumptions = [str(a) for a in r.run.get("assumptions", [])]
    blocks += [Heading(2, "Assumptions"), Bullets(tuple(assumptions or ["none recorded"]))]
    blocks += _provenance_section(r)
    if main:
        blocks.append(Heading(2, "Figures"))
        for name, image in main.items():
            blocks.append(Image(image.file, f"Figure {number[name]}. {image.label}", image.caption))
    if appendix:
        blocks.append(Heading(2, "Appendix: trace and rank plots"))
        for i, image in enumerate(appendix):
            blocks.append(Image(image.file, f"Figure A{i + 1}. {image.label}", image.caption))
    return blocks


def _md_text(text: str) -> str:
    """Escape what Markdown would read as emphasis or as an HTML tag."""
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text.replace("*", r"\*"))


def _to_markdown(blocks: list) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_text(b.text)}")
        elif isinstance(b, Para):
            out.append(_md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_text(i)}" for i in b.items))
        elif isinstance(b, Table):

            def row(cells) -> str:
                cells = (_md_text(c).replace("|", r"\|").replace("\n", " ") for c in cells)
                return "| " + " | ".join(cells) + " |"

            lines = [row(b.columns), "|" + "|".join("---" for _ in b.columns) + "|"]
            out.append("\n".join(lines + [row(r) for r in b.rows]))
        elif isinstance(b, Image):
            out.append(
                f"![{_md_text(b.label)}]({b.file})\n\n**{_md_text(b.label)}** {_md_text(b.caption)}"
            )
    return "\n\n".join(out) + "\n"


_CSS = """
body { margin: 0; background: #fafafa; color: #1d1d1f; font-size: 16px; line-height: 1.55;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; background: #fff; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem;
  border-bottom: 2px solid #0072B2; }
p, li { max-width: 48rem; }
table { border-collapse: collapse; margin: .8rem 0 1.2rem; font-size: .88rem; display: block;
  overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d0d7de; padding: .3rem .55rem; text-align: left; vertical-align: top; }
th { background: #eef3f8; font-weight: 600; }
tbody tr:nth-child(even) { background: #f6f8fa; }
tr.failed td { background: #fdecea; }
.failed { color: #a03000; font-weight: 600; }
figure { margin: 1.5rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e1e4e8; }
figcaption { font-size: .9rem; color: #444; max-width: 48rem; margin-top: .4rem; }
"""


def _html_text(text: str) -> str:
    escaped = html.escape(text, quote=False)
    mark = html.escape(plots.FAILED_MARK, quote=False)
    return escaped.replace(mark, f'<span class="failed">{mark}</span>')


def _to_html(blocks: list, folder: Path, title: str) -> str:
    body = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{_html_text(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{_html_text(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "".join(f"<li>{_html_text(i)}</li>" for i in b.items)
            body.append(f"<ul>{items}</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_html_text(c)}</th>" for c in b.columns)
            rows = []
            for i, row in enumerate(b.rows):
                cls = ' class="failed"' if i in b.failed_rows else ""
                cells = "".join(f"<td>{_html_text(c)}</td>" for c in row)
                rows.append(f"<tr{cls}>{cells}</tr>")
            body.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
        elif isinstance(b, Image):
            data = base64.b64encode((folder / b.file).read_bytes()).decode("ascii")
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(b.label)}">'
                f"<figcaption><strong>{_html_text(b.label)}</strong> {_html_text(b.caption)}"
                "</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_report(results_dir) -> list[Path]:
    """Write ``figures/*.png``, ``report.md`` and ``report.html`` into a results folder.

    Parameters
    ----------
    results_dir : str or path-like
        A folder written by ``resurv run`` (it holds ``run.json`` and ``tables/``).

    Returns
    -------
    list of pathlib.Path
        ``report.md``, ``report.html`` and every figure written, in that order.

    Raises
    ------
    resurv.errors.OutputError
        If the folder is not a resurv results folder (e.g. ``run.json`` is missing) or a
        table lacks the columns the report needs.

    Notes
    -----
    Reads only the saved files; never refits. Deterministic: the same folder gives
    byte-identical outputs. PNGs in ``figures/`` that this report did not write (left over
    from an earlier report) are removed.
    """
    r = load_results(results_dir)
    folder = confined(r.folder, "figures")
    folder.mkdir(exist_ok=True)
    main, appendix = _figures(r, folder)
    images = [*main.values(), *appendix]
    written = {r.folder / im.file for im in images}
    for stale in folder.glob("*.png"):
        if stale not in written:
            stale.unlink()
    blocks = _blocks(r, main, appendix)
    title = f"Reanalysis: {r.study.get('title') or r.study.get('id', 'study')}"
    md_path, html_path = r.folder / "report.md", r.folder / "report.html"
    _write_atomic(md_path, _to_markdown(blocks))
    _write_atomic(html_path, _to_html(blocks, r.folder, title))
    return [md_path, html_path, *(r.folder / im.file for im in images)]


def rebuild_report(results_dir) -> list[Path]:
    """Rebuild the report of a saved results folder without refitting (``resurv report``).

    Same as :func:`write_report`; raises :class:`~resurv.errors.OutputError` naming the
    missing file when ``results_dir`` is not a resurv results folder.
    """
    return write_report(results_dir)
