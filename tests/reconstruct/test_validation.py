"""Reconstruction of real curves against the full data they were drawn from.

Four real two-arm data sets (``tests/fixtures/make_curves.py`` gives their sources) had each
arm's Kaplan-Meier curve digitised by program with a reading error of SD 0.5% of the time
axis and 0.005 in survival, the at-risk table at regular times and the total events. The
reconstruction's Cox hazard ratio and Kaplan-Meier medians are compared with the full data's,
computed in R (``tests/reference/ref_reconstruct_full.csv``, written by
``tests/reference/make_reference_curves.R`` on 2026-12-03 with R 4.2.2 Patched
(2022-11-10 r83330), survival 3.5.3: ``coxph(Surv(time, event) ~ arm)`` with Efron ties and
``quantile(survfit(...), 0.5)``).

Tolerances, fixed before looking at the results: the log hazard ratio within 0.1 (a tenth of
the typical width of a trial's 95% CI on the log scale), and each median within three times
the reading error carried through the curve, ``3 (sd_time + sd_surv / |slope|)``, with the
slope of the full-data curve around its median (a horizontal line at 0.5 read with error
``sd_surv`` crosses a curve of slope ``s`` with error ``sd_surv / s`` in time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from tests_paths import CURVES, REFERENCE

from resurv.frequentist import km_median
from resurv.frequentist.kaplan_meier import km_survival_at
from resurv.reconstruct import reconstruct

REF = pd.read_csv(REFERENCE / "ref_reconstruct_full.csv")
DATASETS = REF["dataset"].tolist()


def full_data(name: str) -> pd.DataFrame:
    """The individual data a fixture's curves were drawn from, as ``arm, time, event``."""
    from lifelines.datasets import load_gbsg2

    if name == "leukemia":
        d = pd.read_csv(REFERENCE / "gehan.csv")
        return pd.DataFrame({"arm": np.where(d.treat == "6-MP", "treated", "control"),
                             "time": d.time, "event": d.cens})  # fmt: skip
    if name == "veteran":
        d = pd.read_csv(REFERENCE / "veteran.csv")
        return pd.DataFrame({"arm": np.where(d.trt == 1, "standard", "test"), "time": d.time,
                             "event": d.status})  # fmt: skip
    if name == "lung":
        d = pd.read_csv(REFERENCE / "lung.csv")
        return pd.DataFrame({"arm": np.where(d.sex == 1, "male", "female"), "time": d.time,
                             "event": (d.status == 2).astype(int)})  # fmt: skip
    d = load_gbsg2()
    return pd.DataFrame({"arm": np.where(d.horTh == "yes", "tamoxifen", "none"),
                         "time": d.time, "event": d.cens})  # fmt: skip


def cox_hr(ipd: pd.DataFrame, other: str) -> float:
    df = pd.DataFrame({"time": ipd.time, "event": ipd.event, "x": (ipd.arm == other) * 1})
    fit = CoxPHFitter().fit(df, "time", "event", fit_options={"precision": 1e-10})
    return float(np.exp(fit.params_["x"]))


def comparison(name: str) -> dict:
    ref = REF.set_index("dataset").loc[name]
    rec = reconstruct(CURVES / f"{name}.toml")
    ipd = rec.ipd()
    full = full_data(name)
    out = {"dataset": name, "hr_full": ref.hr, "hr_reconstructed": cox_hr(ipd, ref.other_arm)}
    for role in ("reference", "other"):
        arm = ref[f"{role}_arm"]
        a = ipd[ipd.arm == arm]
        f = full[full.arm == arm]
        curve = rec.arm(arm).curve
        median = ref[f"median_{role}"]
        w = 0.05 * max(curve.time)
        s = km_survival_at(f.time, f.event, [median - w, median + w])
        slope = abs(s[0] - s[1]) / (2 * w)
        err = curve.reading_error
        out[f"median_{role}_full"] = median
        out[f"median_{role}_reconstructed"] = km_median(a.time, a.event)
        out[f"median_{role}_tolerance"] = 3 * (err.time + err.survival / slope)
    return out


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return pd.DataFrame([comparison(name) for name in DATASETS]).set_index("dataset")


def test_the_full_data_agree_with_the_r_reference():
    """The fixtures' full data are those R analysed (lifelines' Cox fit agrees with coxph)."""
    for name in DATASETS:
        ref = REF.set_index("dataset").loc[name]
        assert cox_hr(full_data(name), ref.other_arm) == pytest.approx(ref.hr, rel=1e-5)


@pytest.mark.parametrize("name", DATASETS)
def test_hazard_ratio_from_the_reconstruction(results, name):
    r = results.loc[name]
    assert abs(np.log(r.hr_reconstructed / r.hr_full)) < 0.1, r.to_dict()


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("role", ["reference", "other"])
def test_medians_from_the_reconstruction(results, name, role):
    r = results.loc[name]
    diff = abs(r[f"median_{role}_reconstructed"] - r[f"median_{role}_full"])
    assert diff <= r[f"median_{role}_tolerance"], r.to_dict()


@pytest.mark.parametrize("name", DATASETS)
def test_reconstruction_reproduces_the_curve_and_the_counts(name):
    rec = reconstruct(CURVES / f"{name}.toml")
    full = full_data(name)
    for a in rec.arms:
        assert a.pseudo.n == int((full.arm == a.curve.arm).sum())
        # the reading error is 0.005 in survival: the curve is met to within a few of it
        assert a.accuracy.rmse < 0.02
        assert abs(a.accuracy.deaths - a.curve.total_events) <= 0.02 * a.pseudo.n + 1


if __name__ == "__main__":  # the README's table: python tests/reconstruct/test_validation.py
    table = pd.DataFrame([comparison(name) for name in DATASETS])
    print("| data set | HR full (R coxph) | HR reconstructed | median full (ref / other) | "
          "median reconstructed (ref / other) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for r in table.itertuples():
        print(
            f"| {r.dataset} | {r.hr_full:.3f} | {r.hr_reconstructed:.3f} | "
            f"{r.median_reference_full:g} / {r.median_other_full:g} | "
            f"{r.median_reference_reconstructed:.1f} / {r.median_other_reconstructed:.1f} |"
        )
