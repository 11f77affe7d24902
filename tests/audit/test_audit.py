"""The audit: printing rules, a/b checks, and the study-level audit (Grazi 2000 built in code).

Reference values are computed by hand in the docstrings (exact fractions) and, for the
landmark figures, by the brute force of ``test_landmark_dp.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from fractions import Fraction
from pathlib import Path

import pytest

from resurv.audit.printing import (
    check_percent_of,
    format_percent,
    printed_interval,
    printed_percent,
    prints_as,
    rules_for,
)
from resurv.audit.result import Audit
from resurv.audit.study_audit import audit, audit_figure, feasible_counts
from resurv.errors import AuditError, OutputError
from resurv.study.schema import (
    Arm,
    Censoring,
    CountFigure,
    FollowupFigure,
    HazardRatioFigure,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    Printed,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

ROOT = Path(__file__).resolve().parents[2]

# -- printing rules -----------------------------------------------------------------------------


def test_printed_interval_round_and_truncate():
    """92.6 at one decimal: round half up covers [92.55, 92.65), truncation [92.6, 92.7)."""
    assert printed_interval(Printed(92.6, 1), "round") == (
        Fraction(9255, 10000),
        Fraction(9265, 10000),
        True,
        False,
    )
    assert printed_interval(Printed(92.6, 1), "truncate")[:2] == (
        Fraction(926, 1000),
        Fraction(927, 1000),
    )
    # the ends are clipped to proportions in [0, 1]
    assert printed_interval(Printed(0.0, 1), "round")[:3] == (0, Fraction(5, 10000), True)
    assert printed_interval(Printed(100.0, 1), "truncate") == (1, 1, True, True)
    assert printed_interval(Printed(100.0, 0), "round") == (Fraction(995, 1000), 1, True, True)


def test_ties_print_up_under_round():
    """1/8 = 12.5% exactly: half up prints 13%; truncation prints 12%."""
    assert prints_as(Fraction(1, 8), Printed(13.0, 0), "round")
    assert not prints_as(Fraction(1, 8), Printed(12.0, 0), "round")
    assert prints_as(Fraction(1, 8), Printed(12.0, 0), "truncate")
    assert str(format_percent(Fraction(1, 8), 0, "round")) == "13"
    # the upper end is open: 92.65% exactly prints 92.7, not 92.6
    assert not prints_as(Fraction(9265, 10000), Printed(92.6, 1), "round")
    assert prints_as(Fraction(9255, 10000), Printed(92.6, 1), "round")


def test_printed_percent_is_exact():
    assert printed_percent(Printed(92.6, 1)) == Fraction(463, 5)
    assert printed_percent(Printed(50.0, 0)) == 50
    with pytest.raises(ValueError, match=r"Printed\(92.65, 1\) shows more decimals"):
        printed_percent(Printed(92.65, 1))
    with pytest.raises(ValueError, match=r"must lie in \[0, 100\], got 120.0"):
        printed_percent(Printed(120.0, 1))
    with pytest.raises(ValueError, match="decimals must be an integer >= 0"):
        printed_percent(Printed(12.0, -1))


def test_prints_as_refuses_floats_and_bad_rules():
    with pytest.raises(TypeError, match="x must be an exact Fraction"):
        prints_as(0.926, Printed(92.6, 1), "round")
    with pytest.raises(ValueError, match=r"x must be a proportion in \[0, 1\], got 3/2"):
        prints_as(Fraction(3, 2), Printed(92.6, 1), "round")
    with pytest.raises(ValueError, match=r"rule must be one of \['round', 'truncate'\]"):
        printed_interval(Printed(92.6, 1), "ceil")
    assert rules_for("either") == ("round", "truncate")
    assert rules_for("truncate") == ("truncate",)
    with pytest.raises(ValueError, match=r"rounding must be one of .*got 'nearest'"):
        rules_for("nearest")


# -- a/b checks ----------------------------------------------------------------------------------


def test_grazi_percent_of_conventions():
    """25/28 = 89.2857% (truncated to 89.2), 11/19 = 57.8947% (rounded to 57.9),
    8/19 = 42.1053% (both), 15/22 = 68.1818% (truncated to 68.1)."""
    assert check_percent_of(25, 28, Printed(89.2, 1)) == {"round": False, "truncate": True}
    assert check_percent_of(11, 19, Printed(57.9, 1)) == {"round": True, "truncate": False}
    assert check_percent_of(8, 19, Printed(42.1, 1)) == {"round": True, "truncate": True}
    assert check_percent_of(15, 22, Printed(68.1, 1)) == {"round": False, "truncate": True}
    assert check_percent_of(15, 22, Printed(68.0, 1)) == {"round": False, "truncate": False}
    with pytest.raises(AuditError, match="a <= b, got 5/4"):
        check_percent_of(5, 4, Printed(100.0, 1))
    with pytest.raises(AuditError, match="b must be an integer >= 1, got 0"):
        check_percent_of(0, 0, Printed(0.0, 1))


def test_feasible_counts_rules_out_19_for_50_percent():
    """9/19 = 47.4% and 10/19 = 52.6%: no count of 19 prints 50.0%."""
    assert feasible_counts(Printed(50.0, 1), [16, 19, 22, 28]) == {
        16: [8],
        19: [],
        22: [11],
        28: [14],
    }
    # 33% of 100 at no decimals: round takes 33 (32.5 <= x < 33.5 -> a = 33), as does floor
    assert feasible_counts(Printed(33.0, 0), [100, 3], "round") == {100: [33], 3: [1]}
    # a coarse print admits several counts: 1/3 .. 2/3 of 1000 would be absurd, 50% of 1000
    # at no decimals is 495..504 when rounding and 500..509 when truncating
    assert feasible_counts(Printed(50.0, 0), [1000], "round")[1000] == list(range(495, 505))
    assert feasible_counts(Printed(50.0, 0), [1000], "truncate")[1000] == list(range(500, 510))
    assert feasible_counts(Printed(50.0, 0), [1000])[1000] == list(range(495, 510))
    with pytest.raises(AuditError, match="a candidate denominator must be an integer >= 1"):
        feasible_counts(Printed(50.0, 1), [0])


# -- the study audit -------------------------------------------------------------------------------


def grazi(**changes) -> Study:
    """The flagship study, built in code from the abstract."""
    figures = (
        PercentOfFigure("surgery_indicated", a=25, b=28, percent=Printed(89.2, 1)),
        PercentOfFigure("major_hepatectomy", a=11, b=19, percent=Printed(57.9, 1)),
        PercentOfFigure("primary_removed", a=8, b=19, percent=Printed(42.1, 1)),
        PercentOfFigure("liver_resection", a=19, b=22),
        CountFigure("operative_mortality", events=0, n=(19, 22)),
        ProportionFigure("recurrence", percent=Printed(50.0, 1), n=(16, 19, 22, 28)),
        SurvivalFigure(
            "surv_resected", arm="resected", time=4, percent=Printed(92.6, 1), estimator="actuarial"
        ),
        SurvivalFigure(
            "surv_not_resected",
            arm="not_resected",
            time=4,
            percent=Printed(18.5, 1),
            estimator="actuarial",
        ),
        LogrankFigure(
            "logrank", arms=("resected", "not_resected"), p=Printed(0.001, 3), relation="<"
        ),
    )
    base = Study(
        id="grazi2000",
        title="Highly aggressive policy of hepatic resections",
        citation="Grazi GL et al. Hepatogastroenterology 2000;47(32):481-6",
        time_unit="years",
        rounding="either",
        cohort_n=28,
        reference_arm="resected",
        arms=(Arm("resected", (19,)), Arm("not_resected", (3, 6, 9))),
        figures=figures,
        censoring=Censoring(1981, 1998, 1999),
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def grazi_audit() -> Audit:
    return audit(grazi())


def test_flagship_survival_rows(grazi_audit):
    row = grazi_audit.row("surv_resected")
    assert row.verdict == "feasible"
    assert row.n_configurations == 785 and row.deaths_range == (1, 1)
    assert row.words.startswith(
        "92.6% at 4 years with n = 19 is impossible for Kaplan-Meier; the actuarial table gives "
        "it only with exactly 1 death before year 4 (785 configurations"
    )
    km = [d for d in row.details if d["estimator"] == "kaplan-meier"]
    assert km[0]["status"] == "impossible" and km[0]["n_configurations"] == 0
    row = grazi_audit.row("surv_not_resected")
    assert row.verdict == "feasible"
    assert row.n_configurations == 5 + 77 and row.deaths_range == (3, 7)
    assert "with n = 3 is impossible for the actuarial table and Kaplan-Meier" in row.words
    assert (
        "with n = 6 is impossible for Kaplan-Meier; the actuarial table gives it only with "
        "exactly 3 deaths" in row.words
    )
    status = {(d["n"], d["estimator"]): d["status"] for d in row.details}
    assert status[(9, "kaplan-meier")] == "feasible" and status[(3, "actuarial")] == "impossible"


def test_flagship_other_rows_and_findings(grazi_audit):
    rec = grazi_audit.row("recurrence")
    assert rec.verdict == "feasible"
    assert rec.words == (
        "50.0% rules out n = 19 (9/19 = 47.4%, 10/19 = 52.6%); it fits 8/16, 11/22 and 14/28."
    )
    assert grazi_audit.row("surgery_indicated").verdict == "consistent"
    assert (
        "truncation gives it; rounding would print 89.3%"
        in grazi_audit.row("surgery_indicated").words
    )
    assert (
        "rounding gives it; truncation would print 57.8%"
        in grazi_audit.row("major_hepatectomy").words
    )
    assert grazi_audit.row("operative_mortality").verdict == "consistent"
    log = grazi_audit.row("logrank")
    assert log.verdict == "not audited" and "posterior prediction" in log.words
    findings = grazi_audit.findings
    assert findings[0].startswith("Arm resected: 92.6% at 4 years with n = 19 is impossible")
    assert any(f.startswith("50.0% rules out n = 19") for f in findings)
    assert (
        "The paper mixes conventions: 25/28 (89.2%) is truncation only, while 11/19 (57.9%) is "
        "rounding only." in findings
    )
    assert not any("do not add up" in f for f in findings)  # 19 + 9 = 28


def test_declared_rounding_makes_a_truncated_print_inconsistent():
    study = grazi(rounding="round")
    row = audit_figure(study.figures[0], study)
    assert row.verdict == "inconsistent"
    assert row.words.endswith("The convention declared for it is rounding.")
    # a per-figure override wins over the study's convention
    fig = dataclasses.replace(study.figures[0], rounding="truncate")
    assert audit_figure(fig, study).verdict == "consistent"


def test_landmark_graphs_for_the_likelihood(grazi_audit):
    graphs = grazi_audit.landmark_graphs
    assert set(graphs) == {
        ("resected", 19),
        ("not_resected", 3),
        ("not_resected", 6),
        ("not_resected", 9),
    }
    g = graphs[("resected", 19)]
    assert g.estimator == "actuarial" and g.n_configurations() == 785
    assert graphs[("not_resected", 3)].n_configurations() == 0
    assert ("resected", 19, "kaplan-meier") in grazi_audit.graphs


def test_outputs(grazi_audit, tmp_path):
    frame = grazi_audit.to_frame()
    assert list(frame.columns) == [
        "figure_id", "kind", "printed", "verdict", "words", "n_configurations",
        "deaths_min", "deaths_max",
    ]  # fmt: skip
    assert len(frame) == len(grazi().figures)
    resected = frame.set_index("figure_id").loc["surv_resected"]
    assert resected.n_configurations == 785 and type(resected.n_configurations) is int
    assert frame.set_index("figure_id").loc["logrank"].n_configurations is None
    deaths = grazi_audit.deaths_frame()
    sel = deaths[
        (deaths.arm == "not_resected") & (deaths.n == 9) & (deaths.estimator == "actuarial")
    ]
    assert sel.n_configurations.sum() == 77 and sel.deaths.min() == 3 and sel.deaths.max() == 7
    path = grazi_audit.to_json(tmp_path / "audit.json")
    data = json.loads(path.read_text())
    assert data["study"] == "grazi2000" and len(data["figures"]) == len(frame)
    assert data["figures"][6]["figure_id"] == "surv_resected"
    assert data["figures"][6]["deaths_min"] == 1 and data["findings"] == list(grazi_audit.findings)
    assert data == json.loads(json.dumps(grazi_audit.to_dict()))
    text = grazi_audit.to_text()
    lines = text.splitlines()
    assert lines[0] == "Audit of grazi2000 (rounding: either)"
    assert lines[2].split() == ["figure", "kind", "printed", "verdict", "configurations", "deaths"]
    assert "Findings" in lines and max(len(x) for x in lines) <= 100
    assert "Kaplan-Meier" in text and not any(x.endswith("Kaplan-") for x in lines)
    with pytest.raises(OutputError, match="cannot write the audit to"):
        grazi_audit.to_json(tmp_path / "missing" / "audit.json")


def test_not_audited_kinds_say_why():
    study = grazi(
        figures=(
            HazardRatioFigure("hr", arms=("not_resected", "resected"), hr=Printed(3.1, 1)),
            MedianFigure("median", arm="resected"),
            FollowupFigure("fu", median=4.5, range=(0.5, 12.0)),
            ProportionFigure("free", percent=Printed(10.0, 1)),
        )
    )
    result = audit(study)
    assert [r.verdict for r in result.rows] == ["not audited"] * 4
    assert "likelihood term" in result.row("hr").words
    assert result.row("median").printed == "not reached"
    assert "censoring model" in result.row("fu").words
    assert "no candidate denominator" in result.row("free").words


def test_counts_and_impossible_proportions():
    study = grazi(
        figures=(
            CountFigure("too_many", events=7, n=(5, 6)),
            CountFigure("some", events=7, n=(5, 9)),
            CountFigure("by_arm", events=2, arm="not_resected"),
            ProportionFigure("nowhere", percent=Printed(50.0, 1), n=(19, 21)),
        )
    )
    result = audit(study)
    assert result.row("too_many").verdict == "inconsistent"
    assert (
        result.row("some").verdict == "consistent" and "rule out n = 5" in result.row("some").words
    )
    assert result.row("by_arm").verdict == "consistent"
    assert result.row("by_arm").details[0] == {"n": 3, "possible": True}
    row = result.row("nowhere")
    assert row.verdict == "impossible" and row.n_configurations == 0
    assert (
        "fits none of the candidate denominators (9/19 = 47.4%, 10/19 = 52.6%; 10/21" in row.words
    )


def test_arm_totals_past_the_cohort_are_reported_not_fixed():
    study = grazi(arms=(Arm("resected", (19,)), Arm("not_resected", (6, 12))))
    findings = audit(study).findings
    assert any(
        f.startswith(
            "Some candidate arm sizes do not add up: resected 19 + not_resected [6, 12] reaches 31"
        )
        for f in findings
    )
    study = grazi(arms=(Arm("resected", (19,)), Arm("not_resected", (12,))), cohort_n=28)
    assert any("is at least 31, more than the cohort of 28" in f for f in audit(study).findings)


TOTALS_STUDY = """\
[study]
id = "totals"
title = "A two-arm study"
citation = "Example A, et al. J Example 2001;1:1-2"
time_unit = "years"
cohort_n = {cohort}
reference_arm = "a"

[censoring]
accrual = [1990, 2000]
close = 2002.0

[[arm]]
id = "a"
n = {a}

[[arm]]
id = "b"
n = [6, 9]
"""


@pytest.mark.parametrize(
    ("cohort", "a", "expected"),
    [
        # an arm of 40 in a cohort of 30 (this file used to be refused)
        (
            30,
            40,
            [
                "Arm a has 40 patients, more than the whole cohort of 30",
                "The arms do not add up: a 40 + b [6, 9] is at least 46, more than the cohort "
                "of 30",
            ],
        ),
        # 12 + 6 > 15 (this file used to be refused)
        (
            15,
            12,
            ["The arms do not add up: a 12 + b [6, 9] is at least 18, more than the cohort of 15"],
        ),
        # 12 + 9 = 21 < 30: nine patients are in no arm, whichever candidate is right
        (
            30,
            12,
            [
                "The arms hold fewer patients than the cohort: a 12 + b [6, 9] is at most 21, "
                "9 fewer than the cohort of 30"
            ],
        ),
        (21, 12, []),  # 12 + 9 = 21: nothing to say
    ],
)
def test_totals_that_do_not_add_up_are_findings_not_errors(cohort, a, expected):
    from resurv.study.load import loads_study

    study = loads_study(TOTALS_STUDY.format(cohort=cohort, a=a))
    assert study.arm("a").n == (a,) and study.cohort_n == cohort  # the file's sizes, unchanged
    findings = [f for f in audit(study).findings if "cohort" in f]
    assert len(findings) == len(expected), findings
    for finding, start in zip(findings, expected, strict=True):
        assert finding.startswith(start), finding


def test_several_landmarks_of_one_arm_are_checked_together():
    """83.3% at 1 year and 50.0% at 3 years of 6 patients (Kaplan-Meier, quarter-year grid).

    The joint feasible set is the set of 3-year configurations that also print 83.3% at
    1 year (5/6: exactly one death by then), so it is a subset of the 3-year figure's set and
    its first 4 cells are a configuration of the 1-year figure.
    """
    figs = (
        SurvivalFigure("s1", arm="a", time=1, percent=Printed(83.3, 1), estimator="kaplan-meier"),
        SurvivalFigure("s3", arm="a", time=3, percent=Printed(50.0, 1), estimator="kaplan-meier"),
    )
    study = grazi(arms=(Arm("a", (6,)),), figures=figs, cohort_n=None)
    result = audit(study)
    joint = result.landmark_graphs[("a", 6)]
    assert [c.time for c in joint.checkpoints] == [1, 3] and joint.n_intervals == 12
    rows = {tuple(int(v) for v in r) for r in joint.enumerate().counts}
    assert rows and all(sum(r[0:8:2]) == 1 for r in rows)
    three = {tuple(int(v) for v in r) for r in result.graph_of("s3", 6).enumerate().counts}
    one = {tuple(int(v) for v in r[:8]) for r in result.graph_of("s1", 6).enumerate().counts}
    assert rows == {r for r in three if r[:8] in one}
    assert len(rows) < result.row("s3").n_configurations == len(three)
    assert any(
        f.startswith("Together, 83.3% at 1 year and 50.0% at 3 years (a) with n = 6")
        for f in result.findings
    )


def test_unknown_estimator_audits_both_and_leaves_the_choice_open():
    fig = SurvivalFigure("s", arm="resected", time=4, percent=Printed(92.6, 1), estimator="unknown")
    study = grazi(figures=(fig,), arms=(Arm("resected", (19,)),))
    result = audit(study)
    assert result.row("s").verdict == "feasible"  # the actuarial table gives it
    assert result.landmark_graphs == {}
    assert {k[2] for k in result.graphs} == {"actuarial", "kaplan-meier"}
    fig = dataclasses.replace(fig, estimator="kaplan-meier")
    assert audit(grazi(figures=(fig,))).row("s").verdict == "impossible"


def test_large_arm_is_decided_exactly_without_its_graph():
    """120 patients printing 50.0% at 4 years: 1 to 60 deaths, decided without counting.

    1 death: withdraw all but two, then one dies, 1 - 1/2 = 1/2 (0 deaths print 100%).
    60 deaths without withdrawals telescope to 1 - 60/120 = 1/2. With D deaths the product is
    at most 1 - D/120 (a withdrawal only shrinks later denominators, and
    1 - d/(r - c/2) <= 1 - d/r), so 61 or more print at most 49.2%.
    """
    fig = SurvivalFigure("s", arm="big", time=4, percent=Printed(50.0, 1), estimator="actuarial")
    study = grazi(figures=(fig,), arms=(Arm("big", (120,)),), cohort_n=None)
    start = time.perf_counter()
    row = audit(study, max_states=20_000).row("s")
    assert time.perf_counter() - start < 15
    assert row.verdict == "feasible" and row.n_configurations is None
    assert row.deaths_range == (1, 60)
    assert "gives it with 1 to 60 deaths before year 4 (decided exactly; too many" in row.words
    act = next(d for d in row.details if d["estimator"] == "actuarial")
    assert act["deaths_exact"] and "stopped after" in act["summary"]


def test_a_budget_changes_no_verdict_and_no_deaths_range():
    """The flagship audited with a tiny budget: same verdicts and deaths ranges, no counts."""
    study = grazi()
    full, small = audit(study), audit(study, max_states=30, max_edges=60)
    survival = [r.figure_id for r in full.rows if r.kind == "survival"]
    assert survival
    for fid in survival:
        a, b = full.row(fid), small.row(fid)
        assert b.verdict == a.verdict and b.deaths_range == a.deaths_range
        assert b.n_configurations is None
        assert "configurations to count" in b.words


def test_undefined_arm_is_not_audited():
    fig = SurvivalFigure("s", arm="ghost", time=4, percent=Printed(50.0, 1))
    row = audit_figure(fig, grazi())
    assert row.verdict == "not audited" and "its arm 'ghost' is not defined" in row.words


def test_unusable_figures_are_not_audited_with_the_reason():
    fig = PercentOfFigure("p", quote="3/4 (75.25%)", a=3, b=4, percent=Printed(75.25, 1))
    row = audit_figure(fig, grazi())
    assert row.verdict == "not audited" and "shows more decimals than it declares" in row.words
    fig = ProportionFigure("q", percent=Printed(50.0, 1), n=(0, 4))
    row = audit_figure(fig, grazi())
    assert row.verdict == "not audited"
    assert row.words == "a candidate denominator must be an integer >= 1, got 0."


def test_bad_interval_width_is_not_audited():
    fig = SurvivalFigure(
        "s", arm="resected", time=2.5, percent=Printed(50.0, 1), estimator="actuarial"
    )
    row = audit_figure(fig, grazi())
    assert row.verdict == "not audited" and "not a multiple of the interval width 1" in row.words


@pytest.mark.skipif(not (ROOT / "models" / "grazi2000.toml").is_file(), reason="no study file")
def test_grazi2000_study_file_audits_quickly():
    from resurv.study.load import load_study

    study = load_study(ROOT / "models" / "grazi2000.toml")
    start = time.perf_counter()
    result = audit(study)
    assert time.perf_counter() - start < 5
    survival = [r for r in result.rows if r.kind == "survival"]
    resected = next(r for r in survival if r.arm == "resected")
    assert resected.n_configurations == 785 and resected.deaths_range == (1, 1)
    assert "impossible for Kaplan-Meier" in resected.words
    assert any(f.startswith("The paper mixes conventions") for f in result.findings)
    assert any("rules out n = 19" in f for f in result.findings)
    json.dumps(result.to_dict())


def test_json_keeps_big_counts_exact_as_strings():
    """100.0% at 10 years of 60 patients on the quarter-year Kaplan-Meier grid: no death, any
    censoring pattern over 40 cells, C(100, 40) configurations (beyond 2**53)."""
    fig = SurvivalFigure("s", arm="a", time=10, percent=Printed(100.0, 1), estimator="kaplan-meier")
    study = grazi(arms=(Arm("a", (60,)),), figures=(fig,), cohort_n=None)
    result = audit(study)
    assert result.row("s").n_configurations == math.comb(100, 40)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["figures"][0]["n_configurations"] == str(math.comb(100, 40))
    act = next(d for d in data["figures"][0]["details"] if d["estimator"] == "actuarial")
    assert act["n_configurations"] == math.comb(70, 10)  # small enough to stay a number
    deaths = [d for d in data["deaths"] if d["estimator"] == "kaplan-meier"]
    assert deaths == [
        {"arm": "a", "n": 60, "estimator": "kaplan-meier", "deaths": 0,
         "n_configurations": str(math.comb(100, 40))}
    ]  # fmt: skip
