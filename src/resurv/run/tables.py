"""Tables of a whole reanalysis: model comparison and the prior predictive check.

:func:`model_comparison_table` sets the marginal likelihoods of both families (importance
sampling, or SMC where the importance weights are unreliable), the Monte Carlo standard error
of their log Bayes factor and the Weibull shape's posterior/prior SD ratio side by side, per
prior set and close (and, when the cure family was fitted, its marginal likelihood and log
Bayes factors against the Exponential and the Weibull);
:func:`prior_predictive_table` says what each proper prior set implies for S(t), the HR and
the median.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from resurv.fit.marginal import shape_note, study_prior_set
from resurv.model.priors import prior_predictive

__all__ = [
    "model_comparison_table",
    "prior_predictive_table",
]


def _prior_set_getter(study, prior_sets: Mapping | None):
    """Return ``name -> prior set``, building each set at most once (from ``prior_sets`` first)."""
    built = dict(prior_sets or {})

    def get(name: str):
        if name not in built:
            built[name] = study_prior_set(study, name)
        return built[name]

    return get


def model_comparison_table(result, *, prior_sets: Mapping | None = None) -> pd.DataFrame:
    """Per prior set and close: log marginal likelihoods, log Bayes factor, shape SD ratio.

    ``prior_sets`` maps prior set names to the sets already built for the study (each one
    missing is built here, once).
    """
    study = result.study
    prior_set = _prior_set_getter(study, prior_sets)
    rows = []
    smc = {(r["family"], r["prior"], r["close"]): r for r in result.marginal}
    weibull = [o for o in result.outcomes if o.task.family == "weibull"]
    keys = sorted({(o.task.prior, o.task.close) for o in result.outcomes})
    for prior, close in keys:
        row = {"prior": prior, "close": close}
        exp = smc.get(("exponential", prior, close), {})
        wei = smc.get(("weibull", prior, close), {})
        exp_ml, wei_ml = exp.get("log_ml", np.nan), wei.get("log_ml", np.nan)
        row["log_ml_exponential"] = exp_ml
        row["log_ml_weibull"] = wei_ml
        row["log_bf_weibull_vs_exponential"] = wei_ml - exp_ml
        row["log_bf_mcse"] = float(
            np.hypot(exp.get("log_ml_se", np.nan), wei.get("log_ml_se", np.nan))
        )
        methods = sorted({m for m in (exp.get("method"), wei.get("method")) if m})
        row["ml_method"] = " + ".join(methods)
        fit = next((o for o in weibull if o.task.prior == prior and o.task.close == close), None)
        ratio = np.nan
        if fit is not None and "log_shape" in fit.idata["posterior"]:
            post_sd = float(fit.idata["posterior"]["log_shape"].std())
            prior_sd = prior_set(prior).log_shape.interval(0.6827)
            prior_sd = (prior_sd[1] - prior_sd[0]) / 2.0
            ratio = post_sd / prior_sd
        row["shape_sd_ratio"] = ratio
        if any(o.task.family == "cure" for o in result.outcomes):
            cure = smc.get(("cure", prior, close), {})
            row["log_ml_cure"] = cure.get("log_ml", np.nan)
            row["log_bf_cure_vs_exponential"] = row["log_ml_cure"] - exp_ml
            row["log_bf_cure_vs_weibull"] = row["log_ml_cure"] - wei_ml
            row["log_bf_cure_mcse"] = float(
                np.hypot(exp.get("log_ml_se", np.nan), cure.get("log_ml_se", np.nan))
            )
        row["shape_note"] = shape_note(ratio)
        if not prior_set(prior).is_proper:
            row["shape_note"] += "; improper prior set: no marginal likelihood"
        rows.append(row)
    return pd.DataFrame(rows)


def prior_predictive_table(
    result, *, draws: int = 4000, prior_sets: Mapping | None = None
) -> pd.DataFrame:
    """What each proper prior set and family implies for S(t), the HR and the median.

    ``prior_sets`` as for :func:`model_comparison_table`.
    """
    from resurv.study.schema import report_times

    study = result.study
    prior_set = _prior_set_getter(study, prior_sets)
    arms = tuple(a.id for a in study.arms)
    frames = []
    pairs = sorted({(o.task.prior, o.task.family) for o in result.outcomes})
    for prior, family in pairs:
        ps = prior_set(prior)
        if not ps.is_proper:
            continue
        table = prior_predictive(
            ps,
            family,
            arms,
            study.reference_arm,
            times=report_times(study),
            draws=draws,
            seed=study.analysis.seed,
        )
        q = table["quantity"].astype(str)
        if "arm" in table:
            q = q + "[" + table["arm"].astype(str) + "]"
        if "time" in table:
            t = table["time"]
            q = q + np.where(t.notna(), ", t=" + t.astype(str), "")
        frames.append(
            pd.DataFrame(
                {
                    "prior": prior,
                    "family": family,
                    "quantity": q,
                    "median": table["median"],
                    "lower_95": table["eti95_lower"],
                    "upper_95": table["eti95_upper"],
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=["prior", "family", "quantity", "median", "lower_95", "upper_95"]
        )
    return pd.concat(frames, ignore_index=True)
