"""Life table, Kaplan-Meier and log-rank against R (survival, KMsurv) and lifelines.

Reference values: tests/reference/*.csv, written by tests/reference/make_reference.R on
2026-11-25 with R 4.2.2 Patched (2022-11-10 r83330), survival 3.5.3, KMsurv 0.1.5,
MASS 7.3.58.2 (see tests/reference/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_leukemia
from lifelines.statistics import logrank_test as ll_logrank_test
from lifelines.statistics import multivariate_logrank_test

from resurv.frequentist.kaplan_meier import kaplan_meier, km_median, km_median_ci, km_survival_at
from resurv.frequentist.life_table import life_table, life_table_survival
from resurv.frequentist.logrank import logrank_test

REF = Path(__file__).parents[1] / "reference"
RTOL = 1e-10  # the CSVs hold 15 significant digits


def ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name)


def gehan_arm(arm: str):
    d = ref("gehan.csv")
    d = d[d.treat == arm]
    return d.time.to_numpy(float), d.cens.to_numpy(int)


# ----------------------------------------------------------------------- data ----------
def test_gehan_csv_is_lifelines_leukemia():
    """MASS::gehan (R 4.2.2, MASS 7.3.58.2) holds the patients of lifelines' load_leukemia.

    lifelines codes the arm as Rx (0 = 6-MP, 1 = placebo/control) and relapse as status.
    """
    g = ref("gehan.csv")
    ll = load_leukemia()
    for arm, rx in (("6-MP", 0), ("control", 1)):
        a = g[g.treat == arm].sort_values(["time", "cens"])[["time", "cens"]].to_numpy()
        b = ll[ll.Rx == rx].sort_values(["t", "status"])[["t", "status"]].to_numpy()
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- Kaplan-Meier ---
def _km_cases():
    gehan = ref("gehan.csv").rename(columns={"treat": "group", "cens": "event"})
    vet = ref("veteran.csv").rename(columns={"celltype": "group", "status": "event"})
    return [("ref_km_gehan.csv", gehan), ("ref_km_veteran.csv", vet)]


@pytest.mark.parametrize("ci", ["log", "log-log"])
@pytest.mark.parametrize(("ref_file", "data"), _km_cases(), ids=["gehan", "veteran"])
def test_kaplan_meier_matches_r_survfit(ref_file, data, ci):
    """Every row of summary(survfit(Surv(time, cens) ~ treat, MASS::gehan, conf.type = ci),
    censored = TRUE) and of the same for Surv(time, status) ~ celltype on survival::veteran,
    R 4.2.2, survival 3.5.3, 2026-11-25: at risk, deaths, censored, S, SE(S), SE(-log S) and
    95% limits (NA where R leaves them undefined).
    """
    r = ref(ref_file)
    suffix = ci.replace("-", "")
    for grp, rg in r.groupby("group"):
        d = data[data.group == grp]
        km = kaplan_meier(d.time, d.event, ci=ci, level=0.95)
        np.testing.assert_array_equal(km.time, rg.time)
        np.testing.assert_array_equal(km.at_risk, rg.n_risk)
        np.testing.assert_array_equal(km.deaths, rg.n_event)
        np.testing.assert_array_equal(km.censored, rg.n_censor)
        np.testing.assert_allclose(km.survival, rg.surv, rtol=RTOL, atol=1e-14)
        np.testing.assert_allclose(km.se, rg.std_err, rtol=RTOL)
        np.testing.assert_allclose(km.se_cumhaz, rg.se_cumhaz, rtol=RTOL)
        np.testing.assert_allclose(km.lower, rg[f"lower_{suffix}"], rtol=RTOL)
        np.testing.assert_allclose(km.upper, rg[f"upper_{suffix}"], rtol=RTOL)


def test_km_survival_at_matches_r_summary_times():
    """summary(survfit(Surv(time, cens) ~ treat, MASS::gehan), times = c(0, 0.5, 5, 6, 10,
    12.5, 22, 23, 30, 35, 40), extend = TRUE)$surv; R 4.2.2, survival 3.5.3, 2026-11-25.
    Includes times before the first death and beyond the last observation (carried forward).
    """
    r = ref("ref_km_landmark_gehan.csv")
    for grp, rg in r.groupby("group"):
        t, e = gehan_arm(grp)
        np.testing.assert_allclose(km_survival_at(t, e, rg.time.to_numpy()), rg.surv, rtol=RTOL)
        assert km_survival_at(t, e, float(rg.time.iloc[3])) == pytest.approx(rg.surv.iloc[3])


@pytest.mark.parametrize("ci", ["log", "log-log"])
def test_km_median_and_ci_match_r_quantile(ci):
    """quantile(survfit(..., conf.type = ci), probs = 0.5) for MASS::gehan by treat,
    survival::veteran by celltype and the constructed cases of median_cases.csv (flat stretches
    at exactly S = 0.5, median not reached); R 4.2.2, survival 3.5.3, 2026-11-25.
    """
    r = ref("ref_km_median.csv")
    r = r[r.conf_type == ci]
    data = {
        "gehan": ref("gehan.csv").rename(columns={"treat": "group", "cens": "event"}),
        "veteran": ref("veteran.csv").rename(columns={"celltype": "group", "status": "event"}),
        "cases": ref("median_cases.csv").rename(columns={"case": "group", "status": "event"}),
    }
    assert len(r) == 11
    for row in r.itertuples():
        d = data[row.dataset]
        d = d[d.group == row.group]
        got = km_median_ci(d.time, d.event, ci=ci, level=0.95)
        np.testing.assert_allclose(got, (row.median, row.lower, row.upper), rtol=RTOL)
        np.testing.assert_allclose(km_median(d.time, d.event), row.median, rtol=RTOL)


def test_km_without_censoring_is_the_empirical_survival():
    """With no censoring the KM estimate is the share of patients with time > t (closed form)."""
    rng = np.random.default_rng(11)
    t = np.round(rng.exponential(3.0, 40), 1)
    km = kaplan_meier(t, np.ones_like(t, dtype=bool))
    expected = np.array([(t > u).mean() for u in km.time])
    np.testing.assert_allclose(km.survival, expected, atol=1e-14)


@pytest.mark.parametrize("seed", range(6))
def test_kaplan_meier_matches_lifelines(seed):
    """KaplanMeierFitter (lifelines 0.30) on random data with ties: S and the log-log 95% CI,
    lifelines' default transformation. lifelines reports the limits as 1 where S = 1; R (and
    resurv) leave them undefined there, so only defined limits are compared.
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    t = np.round(rng.weibull(1.3, n) * 5, 1)
    e = rng.random(n) < 0.7
    km = kaplan_meier(t, e, ci="log-log", level=0.9)
    kmf = KaplanMeierFitter(alpha=0.1).fit(t, e)
    sf = kmf.survival_function_.iloc[:, 0]
    np.testing.assert_allclose(km.survival, sf.loc[km.time].to_numpy(), rtol=1e-12)
    ci = kmf.confidence_interval_survival_function_.loc[km.time]
    ok = km.lower.notna().to_numpy()
    np.testing.assert_allclose(km.lower[ok], ci.iloc[:, 0].to_numpy()[ok], rtol=1e-9)
    np.testing.assert_allclose(km.upper[ok], ci.iloc[:, 1].to_numpy()[ok], rtol=1e-9)
    assert np.all(km.survival.diff().dropna() <= 0)


# ----------------------------------------------------------------------- log-rank -------
@pytest.mark.parametrize("dataset", ["gehan", "veteran", "lung"])
def test_logrank_matches_r_survdiff(dataset):
    """survdiff(Surv(time, cens) ~ treat, MASS::gehan) (2 groups),
    survdiff(Surv(time, status) ~ celltype, survival::veteran) (4 groups) and
    survdiff(Surv(time, status) ~ ph.ecog, survival::lung) (4 groups, one of size 1; the NA
    row dropped, as survdiff does); R 4.2.2, survival 3.5.3, 2026-11-25.
    """
    r = ref("ref_logrank.csv")
    r = r[r.dataset == dataset]
    if dataset == "gehan":
        d = ref("gehan.csv")
        time, event, group = d.time, d.cens, d.treat
    elif dataset == "veteran":
        d = ref("veteran.csv")
        time, event, group = d.time, d.status, d.celltype
    else:
        d = ref("lung.csv").dropna(subset=["ph.ecog"])
        time, event, group = d.time, d.status == 2, d["ph.ecog"].astype(int).astype(str)
    res = logrank_test(time, event, group)
    assert res.groups.tolist() == r.group.astype(str).tolist()
    np.testing.assert_array_equal(res.n, r.n)
    np.testing.assert_array_equal(res.observed, r.observed)
    np.testing.assert_allclose(res.expected, r.expected, rtol=RTOL)
    np.testing.assert_allclose(np.diag(res.variance), r.var_diag, rtol=RTOL)
    assert res.statistic == pytest.approx(r.chisq.iloc[0], rel=RTOL)
    assert res.df == r.df.iloc[0]
    assert res.p_value == pytest.approx(r.p.iloc[0], rel=1e-9)
    # O - E sums to zero and V has zero row sums (a contrast), whatever the number of groups
    assert (res.observed - res.expected).sum() == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(res.variance.sum(axis=1), 0.0, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_logrank_matches_lifelines(seed):
    """lifelines 0.30 logrank_test (2 groups) and multivariate_logrank_test (3 and 4 groups)
    on random data with tied times."""
    rng = np.random.default_rng(100 + seed)
    for k in (2, 3, 4):
        n = int(rng.integers(6 * k, 20 * k))
        group = rng.integers(0, k, n)
        t = np.round(rng.exponential(1.0 + 0.5 * group), 1)
        e = rng.random(n) < 0.75
        res = logrank_test(t, e, group)
        if k == 2:
            a, b = group == 0, group == 1
            ll = ll_logrank_test(t[a], t[b], e[a], e[b])
        else:
            ll = multivariate_logrank_test(t, group, e)
        assert res.statistic == pytest.approx(ll.test_statistic, rel=1e-9)
        assert res.p_value == pytest.approx(ll.p_value, rel=1e-8)
        assert res.df == k - 1


def test_logrank_drops_groups_with_no_expected_deaths():
    """A group that has left before the first death has E = 0 and is dropped (survdiff)."""
    t = np.array([0.5, 0.7, 1, 2, 3, 4, 1.5, 2.5, 3.5, 5])
    e = np.array([0, 0, 1, 1, 1, 0, 1, 0, 1, 1])
    g = np.array(["z", "z", "a", "a", "a", "a", "b", "b", "b", "b"])
    res = logrank_test(t, e, g)
    two = logrank_test(t[g != "z"], e[g != "z"], g[g != "z"])
    assert res.expected[res.groups.tolist().index("z")] == 0.0
    assert res.df == 1
    assert res.statistic == pytest.approx(two.statistic, rel=1e-12)


# ----------------------------------------------------------------------- life table -----
def _compare_lifetab(tab: pd.DataFrame, r: pd.DataFrame):
    np.testing.assert_array_equal(tab.start, r.start)
    np.testing.assert_array_equal(tab.end, r.end)
    np.testing.assert_array_equal(tab.entered, r.nsubs)
    np.testing.assert_array_equal(tab.withdrawn, r.nlost)
    np.testing.assert_array_equal(tab.deaths, r.nevent)
    np.testing.assert_allclose(tab.effective, r.nrisk, rtol=RTOL)
    # lifetab gives S at the start of an interval, life_table at its end
    np.testing.assert_allclose(tab.survival[:-1], r.surv[1:], rtol=RTOL)
    np.testing.assert_allclose(tab.se[:-1], r.se_surv[1:], rtol=RTOL)


def test_life_table_matches_kmsurv_lifetab_bfeed():
    """KMsurv::lifetab(tis, 927, nlost, nevent) on KMsurv::bfeed grouped by findInterval into
    tis = c(0, 2, 3, 5, 7, 11, 17, 25, 37, 53, NA) (open last interval); R 4.2.2,
    KMsurv 0.1.5, 2026-11-25. Durations are whole weeks, so many fall on boundaries.
    """
    d = ref("bfeed.csv")
    breaks = [0, 2, 3, 5, 7, 11, 17, 25, 37, 53, np.inf]
    tab = life_table(d.duration, d.delta, breaks=breaks)
    _compare_lifetab(tab, ref("ref_lifetab_bfeed.csv"))


def test_life_table_matches_kmsurv_lifetab_help_example():
    """The grouped example of help(lifetab), KMsurv 0.1.5 / R 4.2.2, 2026-11-25. The grouped
    counts are expanded into patients whose deaths and withdrawals fall exactly on the start
    of their interval, which must place them in that interval.
    """
    r = ref("ref_lifetab_example.csv")
    n_total = int(r.nsubs.iloc[0])
    time = np.concatenate([np.repeat(r.start, r.nevent), np.repeat(r.start, r.nlost)])
    event = np.concatenate([np.ones(r.nevent.sum(), bool), np.zeros(r.nlost.sum(), bool)])
    survivors = n_total - time.size
    time = np.concatenate([time, np.full(survivors, 1000.0)])
    event = np.concatenate([event, np.zeros(survivors, bool)])
    tab = life_table(time, event, breaks=np.r_[r.start, r.end.iloc[-1]])
    # the expanded cohort has `survivors` more withdrawals in the open last interval
    r = r.copy()
    r.loc[r.index[-1], "nlost"] += survivors
    r.loc[r.index[-1], "nrisk"] -= survivors / 2
    _compare_lifetab(tab, r)


@pytest.mark.parametrize("arm", ["6-MP", "control"])
def test_life_table_matches_kmsurv_lifetab_gehan(arm):
    """lifetab(seq(0, 40, by = 5), ...) per arm of MASS::gehan; R 4.2.2, KMsurv 0.1.5,
    2026-11-25. The control arm is empty after week 25: lifetab gives NaN there, life_table
    keeps 0 once everybody has died (documented difference), so those rows are checked apart.
    """
    r = ref("ref_lifetab_gehan.csv")
    r = r[r.group == arm].reset_index(drop=True)
    t, e = gehan_arm(arm)
    tab = life_table(t, e, breaks=np.arange(0, 41, 5))
    defined = r.surv[1:].notna().to_numpy()
    np.testing.assert_array_equal(tab.entered, r.nsubs)
    np.testing.assert_array_equal(tab.deaths, r.nevent)
    np.testing.assert_array_equal(tab.withdrawn, r.nlost)
    np.testing.assert_allclose(tab.survival[:-1][defined], r.surv[1:][defined], rtol=RTOL)
    if arm == "control":
        assert not defined.all()
        assert np.all(tab.survival[tab.start >= 20] == 0.0)
    # width-based breaks give the same table where it covers the data
    auto = life_table(t, e, width=5.0)
    np.testing.assert_allclose(auto.survival, tab.survival[: len(auto)], rtol=1e-14)


def test_life_table_closed_form_and_survival_at():
    """Hand-computed Cutler-Ederer table: 1 - d/(n - w/2) per interval, product at the end."""
    time = [0.2, 0.5, 1.0, 1.0, 1.5, 2.0, 2.5, 3.2, 3.9, 5.0]
    event = [1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    tab = life_table(time, event, width=1.0)
    # intervals [0,1) [1,2) [2,3) [3,4) [4,5) [5,6); events at 1.0 and 2.0 start their interval
    np.testing.assert_array_equal(tab.entered, [10, 8, 5, 3, 1, 1])
    np.testing.assert_array_equal(tab.deaths, [1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(tab.withdrawn, [1, 2, 1, 1, 0, 1])
    cond = np.array([1 - 1 / 9.5, 1 - 1 / 7, 1 - 1 / 4.5, 1 - 1 / 2.5, 1, 1])
    np.testing.assert_allclose(tab.survival, np.cumprod(cond), rtol=1e-14)
    for k in range(7):
        expected = 1.0 if k == 0 else np.prod(cond[:k])
        assert life_table_survival(time, event, float(k), 1.0) == pytest.approx(expected)
    # beyond the table, survival is undefined (nobody left, survival not 0)
    assert np.isnan(life_table_survival(time, event, 8.0, width=1.0))


def test_life_table_boundary_in_floating_point():
    """0.3 lies in [0.3, 0.4) although 3 * 0.1 > 0.3 in floating point."""
    tab = life_table([0.3, 0.35, 0.7], [1, 0, 0], width=0.1)
    assert tab.loc[tab.deaths == 1, "start"].item() == pytest.approx(0.3)
    assert life_table_survival([0.3, 0.35, 0.7], [1, 0, 0], 0.3, width=0.1) == 1.0
    # [0.3, 0.4): 3 enter, 1 death, 1 withdrawal: 1 - 1 / 2.5
    assert life_table_survival([0.3, 0.35, 0.7], [1, 0, 0], 0.4, width=0.1) == pytest.approx(0.6)


def test_life_table_after_everyone_died_stays_zero():
    tab = life_table([0.5, 1.5, 1.7], [1, 1, 1], breaks=[0, 1, 2, 3, 4])
    np.testing.assert_allclose(tab.survival, [2 / 3, 0.0, 0.0, 0.0], rtol=1e-15)
    assert np.isnan(tab.conditional.iloc[-1])


# ----------------------------------------------------------------------- input checks ---
@pytest.mark.parametrize(
    ("time", "event", "match"),
    [
        ([1.0, -2.0], [1, 0], "time must be finite and >= 0"),
        ([1.0, np.nan], [1, 0], "time must be finite and >= 0"),
        ([], [], "time must be a non-empty 1-D array"),
        ([[1.0, 2.0]], [[1, 0]], "time must be a non-empty 1-D array"),
        (["a", "b"], [1, 0], "time must be an array of numbers"),
        ([1.0, 2.0], [1], r"event must have the same shape as time \(2,\)"),
        ([1.0, 2.0], [1, 2], r"event must be bool or 0/1 .* got values \[2\]"),
        ([1.0, 2.0], ["y", "n"], "event must be bool or 0/1"),
    ],
)
def test_bad_survival_data_is_refused(time, event, match):
    with pytest.raises(ValueError, match=match):
        kaplan_meier(time, event)


def test_bad_arguments_are_refused():
    t, e = [1.0, 2.0, 3.0], [1, 0, 1]
    with pytest.raises(ValueError, match="t=2.5 is not a life-table breakpoint.*t=2"):
        life_table_survival(t, e, 2.5, width=1.0)
    with pytest.raises(ValueError, match="width must be a finite number > 0; got 0"):
        life_table(t, e, width=0)
    with pytest.raises(ValueError, match="breaks must be strictly increasing"):
        life_table(t, e, breaks=[0, 2, 1])
    with pytest.raises(ValueError, match="breaks start at 1 but the earliest time is 0.5"):
        life_table([0.5, 2.0], [1, 0], breaks=[1, 2, 3])
    with pytest.raises(ValueError, match="ci must be one of .* got 'plain'"):
        kaplan_meier(t, e, ci="plain")
    with pytest.raises(ValueError, match=r"level must lie in \(0, 1\); got 95"):
        km_median_ci(t, e, level=95)
    with pytest.raises(ValueError, match="at least two distinct labels; got only \\['a'\\]"):
        logrank_test(t, e, ["a", "a", "a"])
    with pytest.raises(ValueError, match="group has 1 missing label"):
        logrank_test(t, e, [0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match=r"one label per patient, shape \(3,\); got shape \(2,\)"):
        logrank_test(t, e, [0, 1])
