"""Recovery on real individual data (resurv.calibration.recovery).

Fast tests check the reduction of the Freireich 6-MP trial (lifelines ``load_leukemia``) to the
figures a paper would print, against closed forms from the data listing and against lifelines
(0.30), and the agreement measure against normal draws with known answers. The slow test fits
the full data and the printed figures and checks that the two posteriors agree.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from resurv.calibration.recovery import recovery_check
from resurv.calibration.recovery_data import (
    DATASETS,
    agreement,
    figure_study,
    followup_range,
    load_recovery_data,
    printed_figures,
)
from resurv.frequentist.life_table import life_table
from resurv.model.censoring import CensoringModel
from resurv.study.load import parse_study, study_to_mapping
from resurv.study.schema import SurvivalFigure

LEUKEMIA = DATASETS["leukemia"]


@pytest.fixture(scope="module")
def leukemia():
    return load_recovery_data("leukemia")


def test_leukemia_data_are_freireich_6mp_trial(leukemia):
    """21 + 21 patients; placebo: 21 relapses in 182 weeks; 6-MP: 9 relapses in 359 weeks."""
    counts = leukemia.groupby("arm").agg(n=("time", "size"), d=("event", "sum"), T=("time", "sum"))
    assert counts.loc["placebo"].tolist() == [21, 21, 182]
    assert counts.loc["six_mp"].tolist() == [21, 9, 359]
    assert followup_range(leukemia) == (6.0, 35.0)


# Actuarial survival from the data listing (a death or censoring at a boundary belongs to the
# interval that starts there; effective at risk = entered - withdrawn / 2):
#   placebo, no censoring, deaths before 10: 13 of 21; before 20: 19 of 21  -> 8/21, 2/21
#   6-MP, width 5: [5,10) 21 entered, 4 deaths, 2 withdrawn -> 1 - 4/20; [10,15) 15, 2, 2 ->
#   1 - 2/14; [15,20) 11, 1, 2 -> 1 - 1/10.  Width 10: [0,10) as above; [10,20) 15, 3, 4 ->
#   1 - 3/13.
CLOSED_FORM = {
    5.0: {
        ("placebo", 10): (Fraction(8, 21), "38.1"),
        ("placebo", 20): (Fraction(2, 21), "9.5"),
        ("six_mp", 10): (Fraction(4, 5), "80.0"),
        ("six_mp", 20): (Fraction(4, 5) * Fraction(6, 7) * Fraction(9, 10), "61.7"),
    },
    10.0: {
        ("placebo", 10): (Fraction(8, 21), "38.1"),
        ("placebo", 20): (Fraction(2, 21), "9.5"),
        ("six_mp", 10): (Fraction(4, 5), "80.0"),
        ("six_mp", 20): (Fraction(4, 5) * Fraction(10, 13), "61.5"),
    },
}


@pytest.mark.parametrize("width", [5.0, 10.0])
def test_printed_figures_are_the_life_table_values(leukemia, width):
    """Each printed landmark equals the closed form and resurv's full life table."""
    figures = printed_figures(leukemia, arms=LEUKEMIA.arms, landmarks=(10, 20), width=width)
    survival = figures[figures["kind"] == "survival"]
    assert len(survival) == 4
    for row in survival.itertuples():
        exact, printed = CLOSED_FORM[width][(row.arm, int(row.time))]
        assert row.value == pytest.approx(float(exact), rel=1e-12)
        assert row.printed == printed
        arm = leukemia[leukemia["arm"] == row.arm]
        table = life_table(arm["time"], arm["event"], width=width)
        at_end = table.loc[np.isclose(table["end"], row.time), "survival"]
        assert at_end.item() == pytest.approx(row.value, rel=1e-12)


def test_placebo_figures_match_lifelines_kaplan_meier(leukemia):
    """Without censoring and without deaths at 10 or 20 weeks, actuarial = Kaplan-Meier."""
    from lifelines import KaplanMeierFitter

    placebo = leukemia[leukemia["arm"] == "placebo"]
    assert not placebo["time"].isin([10.0, 20.0]).any() and placebo["event"].all()
    km = KaplanMeierFitter().fit(placebo["time"], placebo["event"])
    expected = km.survival_function_at_times([10.0, 20.0]).to_numpy()
    figures = printed_figures(leukemia, arms=LEUKEMIA.arms, landmarks=(10, 20), width=5.0)
    got = figures.loc[figures["arm"] == "placebo", "value"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_printed_logrank_p_matches_lifelines(leukemia):
    from lifelines.statistics import logrank_test

    a, b = (leukemia[leukemia["arm"] == arm] for arm in LEUKEMIA.arms)
    ref = logrank_test(a["time"], b["time"], a["event"], b["event"]).p_value
    figures = printed_figures(leukemia, arms=LEUKEMIA.arms, landmarks=(10,), width=5.0)
    row = figures[figures["kind"] == "logrank_p"].iloc[0]
    assert row["value"] == pytest.approx(ref, rel=1e-9)
    assert 1e-5 < ref < 1e-3 and row["printed"] == "<0.001"


def test_figure_study_holds_the_printed_figures_and_a_covering_censoring_model(leukemia):
    from resurv.model.study_terms import study_terms

    figures = printed_figures(leukemia, arms=LEUKEMIA.arms, landmarks=(10, 20), width=5.0)
    study = figure_study("leukemia", leukemia, figures, 5.0)
    assert [(a.id, a.n) for a in study.arms] == [("placebo", (21,)), ("six_mp", (21,))]
    assert study.reference_arm == "placebo" and study.time_unit == "weeks"
    printed = {(f.arm, f.time): str(f.percent) for f in study.figures_of(SurvivalFigure)}
    assert printed == {(a, float(t)): p for (a, t), (_, p) in CLOSED_FORM[5.0].items()}
    assert all(f.estimator == "actuarial" and f.interval_width == 5.0
               for f in study.figures_of(SurvivalFigure))  # fmt: skip
    censoring = CensoringModel.from_study(study)
    censored = leukemia.loc[~leukemia["event"], "time"]
    assert censoring.min_followup <= censored.min() and censoring.max_followup >= censored.max()
    assert censoring.min_followup == pytest.approx(6.0) and censoring.max_followup >= 35.0
    assert censoring.max_followup == pytest.approx(35.0, rel=1e-9)
    assert parse_study(study_to_mapping(study)) == study  # a valid study file
    _, methods = study_terms(study, censoring)
    assert set(methods) == {"placebo", "six_mp"}
    assert all(m.startswith("exact: actuarial") for m in methods.values())


def test_agreement_on_normal_draws_with_known_answers():
    """Normal draws: the median, SD and 95% ETI are known, so are z, width ratio and overlap.

    Full ~ N(0, 1) has the interval [-1.96, 1.96]. Monte Carlo error of a median or quantile of
    200,000 draws is below 0.01 SD; the tolerances are 0.03 (3+ SEs).
    """
    rng = np.random.default_rng(7)
    full = rng.normal(0.0, 1.0, 200_000)
    wide = agreement(full, rng.normal(0.5, 2.0, 200_000))
    assert wide["z"] == pytest.approx(0.5, abs=0.03)
    assert wide["width_ratio"] == pytest.approx(2.0, abs=0.03)
    assert wide["overlap"] == 1.0 and wide["full_median_inside"] and wide["agrees"]
    shifted = agreement(full, rng.normal(2.5, 1.0, 200_000))  # interval [0.54, 4.46]
    assert shifted["overlap"] == pytest.approx((3.92 - 2.5) / 3.92, abs=0.03)
    assert shifted["width_ratio"] == pytest.approx(1.0, abs=0.03) and not shifted["agrees"]
    off = agreement(full, rng.normal(3.0, 0.5, 200_000))  # interval [2.02, 3.98]
    assert off["z"] == pytest.approx(3.0, abs=0.03) and off["overlap"] == 0.0
    assert off["width_ratio"] == pytest.approx(0.5, abs=0.03) and not off["agrees"]
    assert not off["full_median_inside"]


def test_bad_inputs_are_refused_before_fitting(leukemia):
    with pytest.raises(ValueError, match="unknown dataset 'nope'; valid datasets are"):
        recovery_check("nope")
    with pytest.raises(ValueError, match="landmarks must be one or more times > 0"):
        recovery_check("leukemia", landmarks=())
    with pytest.raises(ValueError, match="not a life-table breakpoint for width=5"):
        recovery_check("leukemia", landmarks=(12,), width=5.0)
    with pytest.raises(ValueError, match="unknown family|valid families"):
        recovery_check("leukemia", family="gompertz")
    with pytest.raises(ValueError, match="at least 2 finite draws"):
        agreement([0.0, np.nan, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="no censored patient"):
        followup_range(leukemia[leukemia["arm"] == "placebo"])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("width", "families"), [(5.0, ("exponential", "weibull")), (10.0, ("exponential",))]
)
def test_figures_alone_recover_the_full_data_posterior(width, families):
    """Weakly informative prior, 2 chains x 1000 draws per fit, landmarks 10 and 20 weeks.

    For the log hazard ratio of 6-MP vs placebo and S(10), S(20) of each arm: the figure-based
    posterior median lies within 2 full-data posterior SDs of the full-data median, the
    full-data median lies inside the figure-based 95% interval, and the figure-based interval
    is wider (information is lost in printing). Width 10 is the setting of the notebook
    ``03_validation_recovery``.
    """
    result = recovery_check("leukemia", family=families, landmarks=(10, 20), width=width)
    assert result.passed, result.to_text()
    agree = result.agreement
    assert len(agree) == len(families) * (1 + 2 * 2)
    assert (agree["z"].abs() < 2).all(), result.to_text()
    assert agree["full_median_inside"].all(), result.to_text()
    assert (agree["width_ratio"] > 1).all(), result.to_text()
    assert result.agrees
    hr = result.table.query("quantity == 'hazard_ratio'")
    assert (hr["ub"] < 1).all()  # both sources: 6-MP lowers the hazard of relapse
