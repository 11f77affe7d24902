"""The sections of the report, each a list of blocks built from the tables.

The audit of the printed figures, the paper beside the posterior, the prior sensitivity,
the model comparison (Bayes factors in the words of Kass and Raftery), the diagnostics, and
the versions and seeds. A section whose table the run did not write says so instead. Each
section shows its figures (passed in as blocks) where it discusses them, keeps its tables
short, puts long ones in collapsed :class:`~resurv.report.blocks.Details` and links the
full CSV files.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from resurv.report import plots
from resurv.report.answer import _diagnostics_sentence, _findings
from resurv.report.blocks import (
    Bullets,
    Details,
    Files,
    Heading,
    Para,
    Table,
    _g,
    _interval,
    _prob,
    _text,
)
from resurv.report.results import Results


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


def _files(r: Results, *names: str) -> list:
    """A line linking the run's full tables ``tables/<name>.csv`` that exist."""
    found = tuple(f"tables/{n}.csv" for n in names if (r.folder / "tables" / f"{n}.csv").is_file())
    if not found:
        return []
    return [Files("Full table:" if len(found) == 1 else "Full tables:", found)]


#: the audit table's columns shown in the page (the CSV has all of them)
_AUDIT_COLUMNS = {"figure_id": "figure", "printed": "printed", "verdict": "verdict",
                  "words": "what the audit finds"}  # fmt: skip


def _audit_section(r: Results, figures: list, refs: str) -> list:
    blocks: list = [Heading(2, "The audit of the printed figures")]
    findings = _findings(r)
    blocks += [Bullets(tuple(findings))] if findings else []
    if refs:
        blocks.append(Para(f"{refs} shows the feasible death counts per arm and estimator."))
    blocks += figures
    audit = r.table("audit")
    if audit is None:
        return blocks + [_missing("audit")]
    blocks.append(_tab({label: audit[c] for c, label in _AUDIT_COLUMNS.items()}))
    return blocks + _files(r, "audit", "audit_deaths")


def _comparison_section(r: Results, figures: list, refs: str) -> list:
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
    blocks += [Para(f"{refs} shows what replicate studies would print.")] if refs else []
    return blocks + figures + _files(r, "comparison", "ppc", "pseudo_datasets")


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


def _method_words(methods: set) -> str:
    words = (
        "Marginal likelihoods (survival figures only) by importance sampling from a Student-t "
        "proposal fitted to the posterior, checked by PSIS Pareto k; MCSE is their Monte Carlo "
        "standard error"
    )
    if any("smc" in m for m in methods):
        words += "; where Pareto k exceeded 0.7, by sequential Monte Carlo (no MCSE)"
    return words + "."


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
        if "log_bf_mcse" in mc:  # results written before the MCSE was recorded lack it
            columns["MCSE of log BF"] = mc["log_bf_mcse"].map(two)
        if "log_ml_cure" in mc:  # the cure family was fitted
            columns["log ML cure"] = mc["log_ml_cure"].map(two)
            columns["log BF cure vs Exponential"] = mc["log_bf_cure_vs_exponential"].map(two)
            columns["log BF cure vs Weibull"] = mc["log_bf_cure_vs_weibull"].map(two)
        blocks.append(_tab(columns))
        methods = set(mc["ml_method"].dropna()) if "ml_method" in mc else set()
        if methods:
            blocks.append(Para(_method_words(methods)))
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
            # results written before the tree-depth check have no such column
            depth = d["treedepth_frac"].max() if "treedepth_frac" in d else float("nan")
            rows.append(
                [_mark(k, r), f"{d['rhat'].max():.3f}", f"{d['ess_bulk'].min():.0f}",
                 f"{d['ess_tail'].min():.0f}", f"{d['divergences'].max():.0f}",
                 f"{d['bfmi_min'].min():.2f}", "-" if np.isnan(depth) else f"{depth:.1%}",
                 "passed" if passed else "FAILED"]
            )  # fmt: skip
            for text in d["failures"]:
                failures.setdefault(k, []).extend(_split_failures(text))
        header = ("fit", "max R-hat", "min bulk ESS", "min tail ESS", "divergences",
                  "min E-BFMI", "at max tree depth", "result")  # fmt: skip
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
        Details(
            "Study file, settings, seeds and package versions",
            (
                Bullets(tuple(lines)),
                Table(("seed of", "seed"), tuple(seed_rows)),
                Table(("package", "version"), versions or (("-", "not recorded"),)),
            ),
        ),
    ]
