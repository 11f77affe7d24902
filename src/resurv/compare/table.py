"""Posterior quantities of a fit, and the paper's figures set beside them.

:func:`posterior_quantities` turns one fit into the rows of the sensitivity table (per-arm
hazards, hazard ratios, P(HR > 1), landmark survival, survival differences and
P(difference > 20 points), medians, proportions, rates and operative mortality with its upper
bound). :func:`comparison_table` sets each printed figure beside its value recomputed from the
feasible data, the posterior of the same quantity, and the posterior predictive check.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from resurv.audit.landmark_dp import ESTIMATORS
from resurv.audit.printing import check_percent_of, feasible_counts, rules_for
from resurv.audit.result import Audit
from resurv.audit.wording import ESTIMATOR_NAMES, deaths_text
from resurv.fit.result import FitResult
from resurv.model.count_terms import RateTerm, rule_of_three
from resurv.model.terms import term_name
from resurv.study.schema import (
    FIGURE_KINDS,
    CountFigure,
    HazardRatioFigure,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    ProportionFigure,
    Study,
    SurvivalFigure,
    report_times,
)

__all__ = [
    "comparison_table",
    "conjugate_draws",
    "figure_kind",
    "posterior_quantities",
    "report_times",
    "term_name",
]

#: survival difference (percentage points) whose posterior probability is reported
DIFFERENCE_POINTS = 20.0


def figure_kind(figure) -> str:
    """The study-file ``kind`` of a figure object (inverse of ``FIGURE_KINDS``)."""
    return next(k for k, cls in FIGURE_KINDS.items() if type(figure) is cls)


def _draws(da) -> np.ndarray:
    return np.asarray(da.values, dtype=float).reshape(-1, *da.shape[2:])


def _interval(x: np.ndarray) -> tuple[float, float, float]:
    # a median not reached (cure fraction >= 1/2) is infinite: quantiles without interpolation
    method = "linear" if np.all(np.isfinite(x)) else "lower"
    lo, med, hi = np.quantile(x, [0.025, 0.5, 0.975], method=method)
    return float(med), float(lo), float(hi)


def _row(quantity: str, label: str, x: np.ndarray) -> dict:
    med, lo, hi = _interval(x)
    return {"quantity": quantity, "label": label, "median": med, "lower_95": lo, "upper_95": hi}


def _prob(quantity: str, label: str, p: float) -> dict:
    return {"quantity": quantity, "label": label, "median": float(p)}


def conjugate_draws(terms, *, size: int, seed: int) -> dict:
    """Exact posterior draws of proportion, count and rate terms: ``term -> (size,)``.

    Each term's posterior is a mixture over its feasible (events, denominator) rows of Beta
    (proportions, counts) or Gamma (rates) components (``term.posterior_components()``),
    sampled here by drawing a row by its weight, then the parameter.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for term in terms:
        weights, alpha, beta = term.posterior_components()
        rows = rng.choice(weights.size, size=size, p=weights / weights.sum())
        if isinstance(term, RateTerm):
            out[term] = rng.gamma(alpha[rows], 1.0 / beta[rows])
        else:
            out[term] = rng.beta(alpha[rows], beta[rows])
    return out


def posterior_quantities(study: Study, res: FitResult, conjugate: dict | None = None) -> list[dict]:
    """Rows (quantity, label, median, lower_95, upper_95) of one fit; 95% equal-tailed.

    ``conjugate`` maps proportion, count and rate terms to their exact posterior draws
    (:func:`conjugate_draws`).
    """
    rows: list[dict] = []
    ref = study.reference_arm
    labels = {a.id: a.label or a.id for a in study.arms}
    post = res.idata["posterior"].dataset
    hazard = post["hazard"].transpose("chain", "draw", "arm")
    unit = study.time_unit
    for arm in res.arms:
        rows.append(
            _row(
                f"hazard[{arm}]", f"hazard, {labels[arm]} (per {unit})", _draws(hazard.sel(arm=arm))
            )
        )
    hr = res.hazard_ratio
    for arm in res.arms:
        if arm == ref:
            continue
        x = _draws(hr.sel(arm=arm))
        rows.append(
            _row(f"hazard_ratio[{arm}]", f"hazard ratio, {labels[arm]} vs {labels[ref]}", x)
        )
        rows.append(
            _prob(f"p_hr_gt_1[{arm}]", f"P(HR > 1), {labels[arm]} vs {labels[ref]}", np.mean(x > 1))
        )
    for f in study.figures_of(HazardRatioFigure):  # a printed HR of two arms, neither the reference
        a, b = f.arms
        if b != ref and a in res.arms and b in res.arms:
            x = _draws(hr.sel(arm=a)) / _draws(hr.sel(arm=b))
            rows.append(
                _row(f"hazard_ratio[{a}/{b}]", f"hazard ratio, {labels[a]} vs {labels[b]}", x)
            )
    times = report_times(study)
    if times:
        surv = res.surv_at(times).transpose("chain", "draw", "arm", "time")
        for arm in res.arms:
            for t in times:
                x = _draws(surv.sel(arm=arm, time=t))
                rows.append(_row(f"surv[{arm}, t={t:g}]", f"S({t:g} {unit}), {labels[arm]}", x))
        others = [a for a in res.arms if a != ref]
        if len(others) == 1:
            other = others[0]
            for t in times:
                diff = _draws(surv.sel(arm=ref, time=t)) - _draws(surv.sel(arm=other, time=t))
                words = f"{labels[ref]} minus {labels[other]} at {t:g} {unit}"
                rows.append(_row(f"surv_diff[t={t:g}]", f"survival difference, {words}", diff))
                rows.append(
                    _prob(
                        f"p_surv_diff_gt_{DIFFERENCE_POINTS:g}[t={t:g}]",
                        f"P(difference > {DIFFERENCE_POINTS:g} points), {words}",
                        np.mean(diff > DIFFERENCE_POINTS / 100),
                    )
                )
    median = res.median
    for arm in res.arms:
        rows.append(
            _row(
                f"median[{arm}]",
                f"median survival, {labels[arm]} ({unit})",
                _draws(median.sel(arm=arm)),
            )
        )
    for term, x in (conjugate or {}).items():
        if isinstance(term, RateTerm):
            what = term.name.removesuffix("_rate").replace("_", " ")
            rows.append(_row(term.name, f"{what} rate per patient-{unit[:-1]}", x))
            continue
        rows.append(_row(term.parameter, f"proportion: {term.name}", x))
        events = {a for feasible in term.counts.values() for a in feasible}
        if events == {0}:
            bounds = ", ".join(f"3/{m} = {rule_of_three(m):.3f}" for m in sorted(term.counts))
            rows.append(
                _prob(
                    f"{term.name}_upper95",
                    f"{term.name}: one-sided 95% upper bound (rule of three: {bounds})",
                    float(np.quantile(x, 0.95)),
                )
            )
    return rows


def _hr_key(f: HazardRatioFigure, study: Study) -> str:
    """The posterior quantity of a printed HR: against the reference arm, or of its two arms."""
    a, b = f.arms
    return f"hazard_ratio[{a}]" if b == study.reference_arm else f"hazard_ratio[{a}/{b}]"


def _fraction_text(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator} = {float(x) * 100:.2f}%"


def _recomputed_survival(audit: Audit, f: SurvivalFigure, study: Study) -> str:
    """The landmark values (and deaths) the feasible data give, per candidate arm size.

    Every estimator the figure may have been printed with is looked at (both when it is
    "unknown"), as the audit's verdict does. A graph that passed the audit's budget is not
    counted, but its search may still have found a configuration: that is said as
    "feasible, e.g. with k deaths", never as infeasible; a size the audit could not decide is
    said to be undecided. "no feasible configuration" is said only when the audit decided
    every size and every such estimator impossible.
    """
    row = audit.row(f.id)
    declared = ESTIMATORS if f.estimator == "unknown" else (f.estimator,)
    named = len(declared) > 1
    parts, undecided, impossible = [], [], 0
    for n in study.arm(f.arm).n:
        for estimator in declared:
            detail = next(
                (d for d in row.details if d.get("n") == n and d.get("estimator") == estimator),
                None,
            )
            label = f"n={n}, {ESTIMATOR_NAMES[estimator]}" if named else f"n={n}"
            try:
                g = audit.graph_of(f.id, n, estimator)
            except (KeyError, ValueError):
                g = None
            if g is not None and not g.truncated:
                if g.n_configurations():
                    parts.append(_counted_text(g, label))
                else:
                    impossible += 1
            elif detail is not None and detail["status"] == "feasible":
                parts.append(f"{label}: {_uncounted_text(detail)}")
            elif detail is not None and detail["status"] == "impossible":
                impossible += 1
            elif detail is not None:  # the search could not decide within its budget either
                undecided.append(f"{label}: not decided within the audit's budget")
    if parts or undecided:
        return "; ".join(parts + undecided)
    return "no feasible configuration" if impossible else "not audited"


def _uncounted_text(detail) -> str:
    """A feasible figure the audit decided without counting: its deaths, or one example."""
    if detail.get("deaths_exact") and detail.get("deaths_range"):
        lo, hi = detail["deaths_range"]
        deaths = deaths_text(lo) if lo == hi else f"{lo}-{hi} deaths"
        return f"feasible with {deaths} (too many configurations to count)"
    deaths = deaths_text(sum(detail["example"][0:-1:2]))
    return f"feasible, e.g. with {deaths} (too many configurations to count)"


def _counted_text(g, label: str) -> str:
    values = sorted(set(g.final_product))
    deaths = g.deaths_range()
    span = (
        _fraction_text(values[0])
        if len(values) == 1
        else f"{float(values[0]) * 100:.2f}-{float(values[-1]) * 100:.2f}%"
    )
    if deaths[0] != deaths[1]:
        return f"{label}: {span} ({deaths[0]}-{deaths[1]} deaths)"
    return f"{label}: {span} ({deaths_text(deaths[0])})"


def comparison_table(
    study: Study,
    audit: Audit,
    quantities: list[dict],
    checks: pd.DataFrame,
    frequentist: pd.DataFrame,
) -> pd.DataFrame:
    """One row per printed figure: printed | recomputed | posterior | predictive | flag.

    ``quantities`` are the primary fit's :func:`posterior_quantities` rows.
    """
    quantities = {r["quantity"]: r for r in quantities}
    checks = checks.set_index("figure_id") if len(checks) else checks
    labels = {a.id: a.label or a.id for a in study.arms}
    unit = study.time_unit
    rows = []
    for f in study.figures:
        row = {"figure_id": f.id, "kind": figure_kind(f)}
        verdict = audit.row(f.id).verdict if f.id in {r.figure_id for r in audit.rows} else ""
        flag, note = "", ""
        post = None
        if isinstance(f, SurvivalFigure):
            row["quantity"] = f"{f.time:g}-{unit[:-1]} survival, {labels[f.arm]}"
            row["printed"] = f"{f.percent}%"
            row["recomputed"] = _recomputed_survival(audit, f, study)
            post = quantities.get(f"surv[{f.arm}, t={f.time:g}]")
            scale = 100.0
        elif isinstance(f, LogrankFigure):
            row["quantity"] = "log-rank p, " + " vs ".join(labels[a] for a in f.arms)
            row["printed"] = f"P {f.relation} {f.p}"
            ps = frequentist.loc[frequentist["quantity"] == f"log-rank p ({f.id})", "value"]
            row["recomputed"] = (
                f"median {np.median(ps):.2g} over {ps.size} pseudo-datasets; "
                f"{np.mean(ps < f.p.value):.0%} print P < {f.p}"
                if ps.size
                else "no pseudo-dataset matched the printed figures"
            )
            note = "checked by posterior prediction, not used as a likelihood term"
        elif isinstance(f, PercentOfFigure):
            row["quantity"] = f.name or f.id
            row["printed"] = f"{f.a}/{f.b}" + (f" ({f.percent}%)" if f.percent else "")
            exact = f"{f.a / f.b * 100:.3f}%"
            if f.percent is not None:
                ok = check_percent_of(f.a, f.b, f.percent)
                how = [r for r in ("round", "truncate") if ok[r]]
                row["recomputed"] = exact + (
                    f" ({' and '.join(how)})" if how else " (neither rule)"
                )
                flag = "" if how else "inconsistent"
            else:
                row["recomputed"] = exact
            note = "checked by the audit; no unknowns"
        elif isinstance(f, ProportionFigure | CountFigure):
            name = term_name(f.id)
            if isinstance(f, ProportionFigure):
                row["printed"] = f"{f.percent}%"
                feas = feasible_counts(f.percent, f.n, f.rounding or study.rounding)
                row["recomputed"] = "; ".join(
                    f"{a[0]}/{m}" if len(a) == 1 else f"{a}/{m}" for m, a in feas.items() if a
                ) + "".join(f"; {m} ruled out" for m, a in feas.items() if not a)
            else:
                row["printed"] = f"{f.events} of " + " or ".join(str(m) for m in f.n)
                row["recomputed"] = "; ".join(f"{f.events}/{m} = {f.events / m:.1%}" for m in f.n)
                if f.events == 0:
                    row["recomputed"] += "; rule of three: " + ", ".join(
                        f"<= {rule_of_three(m):.1%}" for m in f.n
                    )
            row["quantity"] = f.name or f.id if hasattr(f, "name") else f.id
            post = quantities.get(f"p_{name}")
            scale = 100.0
        elif isinstance(f, HazardRatioFigure | MedianFigure):
            row["quantity"] = f.id
            row["printed"] = str(
                getattr(f, "hr", None) or getattr(f, "value", None) or "not reached"
            )
            row["recomputed"] = ""
            key = f"median[{f.arm}]" if isinstance(f, MedianFigure) else _hr_key(f, study)
            post = quantities.get(key)
            scale = 1.0
        else:
            row["quantity"] = f.id
            row["printed"] = f.quote or ""
            row["recomputed"] = ""
            note = "descriptive; not used"
        if post is not None:
            row["posterior_median"] = post["median"] * scale
            row["lower_95"] = post.get("lower_95", np.nan) * scale
            row["upper_95"] = post.get("upper_95", np.nan) * scale
        if len(checks) and f.id in checks.index:
            row["p_replicate_as_extreme"] = checks.loc[f.id, "p_replicate_as_extreme"]
            row["p_replicate_prints"] = checks.loc[f.id, "p_replicate_prints"]
            if checks.loc[f.id, "p_replicate_as_extreme"] < 0.05:
                flag = flag or "tension"
        if verdict in ("impossible", "inconsistent"):
            flag = verdict
        row["flag"], row["note"] = flag, note
        rows.append(row)
    columns = [
        "figure_id",
        "kind",
        "quantity",
        "printed",
        "recomputed",
        "posterior_median",
        "lower_95",
        "upper_95",
        "p_replicate_as_extreme",
        "p_replicate_prints",
        "flag",
        "note",
    ]
    return pd.DataFrame(rows).reindex(columns=columns)


def rules_text(rounding: str) -> str:
    """Plain words for a rounding setting."""
    return " or ".join("rounding" if r == "round" else "truncation" for r in rules_for(rounding))
