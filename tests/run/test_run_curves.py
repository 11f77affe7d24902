"""``resurv run`` of a study with digitised curves, end to end.

``tests/fixtures/curves/leukemia_printed.toml`` holds the leukemia curves (digitised from the
full data of Freireich's 6-MP trial by ``tests/fixtures/make_curves.py``) and the figures a
paper would print about the same data (medians, hazard ratio, log-rank p, from R; provenance
in the file). One quick run (Exponential, weakly informative prior, 2 chains x 1000 draws,
4 plausible reconstructions) is written through :func:`resurv.pipeline.run_study`. Its arms,
family, prior set and time unit are those of ``QUICK_FIT``, so the reconstructions' fits and
the full-data fit here share one compiled model with the other tests of a run.

Checks against things computed independently: the full data's own posterior and R's Cox
hazard ratio, the Exponential closed forms ``S(t) = exp(-lam t)`` and ``median = log 2 / lam``
applied to the pooled hazard's quantiles, the printed totals of events, the primary fit's
own table of quantities, and the SHA-256 of the curve files.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import QUICK_FIT
from resurv.cli import main
from resurv.fit import IndividualData, ResurvFitWarning, fit
from resurv.parallel import task_seeds
from resurv.pipeline import run_study
from resurv.report.results import TABLE_COLUMNS
from resurv.run.curves import analyse_curves, curve_seeds
from resurv.run.reanalysis import quick_settings

ROOT = Path(__file__).resolve().parents[2]
CURVES = ROOT / "tests" / "fixtures" / "curves"
STUDY = CURVES / "leukemia_printed.toml"
PLAUSIBLE = 4
SETTINGS = {"marginal_likelihood": False, "draws": QUICK_FIT["draws"], "tune": 500,
            "chains": QUICK_FIT["chains"], "plausible": PLAUSIBLE}  # fmt: skip
CURVE_TABLES = ("curves_accuracy", "curves_intervals", "curves_posterior", "curves_fits")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("curves") / "leukemia_printed"
    outcome = run_study(STUDY, out=folder, settings=quick_settings(**SETTINGS))
    return outcome


def _table(run, name: str) -> pd.DataFrame:
    return pd.read_csv(run.folder / "tables" / f"{name}.csv")


def test_the_folder_holds_the_curve_tables_and_run_json_says_how_they_were_made(run):
    for name in CURVE_TABLES:
        frame = _table(run, name)
        assert list(frame.columns[: len(TABLE_COLUMNS[name])]) == list(TABLE_COLUMNS[name])
        assert len(frame), name
    ipd = _table(run, "curves_ipd")
    assert ipd.groupby("arm").size().to_dict() == {"control": 21, "treated": 21}
    info = json.loads((run.folder / "run.json").read_text())
    curves = info["curves"]
    assert curves["plausible"] == PLAUSIBLE and info["settings"]["plausible"] == PLAUSIBLE
    assert (curves["family"], curves["prior"]) == ("exponential", "weakly_informative")
    assert curves["seeds"] == curve_seeds(info["seeds"]["master"])
    for arm in ("control", "treated"):
        sha = hashlib.sha256((CURVES / f"leukemia_{arm}.csv").read_bytes()).hexdigest()
        assert curves["files"][arm] == {"source": f"leukemia_{arm}.csv", "sha256": sha}
    fits = _table(run, "curves_fits")
    assert fits["reconstruction"].tolist() == list(range(PLAUSIBLE))
    assert (fits["status"] == "ok").all() and curves["passed"] and info["all_passed"]
    assert run.all_passed


def test_the_accuracy_table_meets_the_printed_totals(run):
    acc = _table(run, "curves_accuracy").set_index("arm")
    # the fixture prints 21 and 9 deaths (MASS::gehan: 21 relapses on placebo, 9 on 6-MP)
    assert acc.loc["control", "deaths"] == acc.loc["control", "total_events"] == 21
    assert acc.loc["treated", "deaths"] == acc.loc["treated", "total_events"] == 9
    assert (acc["n"] == 21).all()
    # reading error SD 0.005 in survival: an RMSE of a few SDs at most
    assert (acc["rmse"] < 0.03).all() and (acc["max_error"] < 0.05).all()
    iv = _table(run, "curves_intervals")
    assert (iv["at_risk_printed"] == iv["at_risk_reconstructed"]).all()
    assert iv.groupby("arm")["deaths"].sum().to_dict() == {"control": 21, "treated": 9}


def test_the_pooled_hazard_ratio_sits_on_the_full_data_posterior(run, leukemia):
    """The pooled HR against the full individual data the curves were digitised from.

    The reference is the posterior of the full data (lifelines ``load_leukemia`` =
    ``MASS::gehan``) under the same family, prior and sampler settings. Its log HR has
    posterior SD about 0.4 (``sqrt(1/9 + 1/21)`` for 9 and 21 deaths). The reconstructions
    reproduce the deaths and numbers at risk of every 5-week interval exactly (test above);
    what they cannot know is where in an interval each death and censoring fell, which moves
    the exposure time by a few percent. So the pooled median log HR must lie within 0.1
    (a quarter of the posterior SD) of the full data's, its spread within 0.8-1.3 of the
    full data's, and R's Cox estimate must lie inside the pooled 95% interval.
    """
    post = _table(run, "curves_posterior").set_index("quantity")
    full = fit(IndividualData.from_frame(leukemia, "t", "status", "arm"), arms=QUICK_FIT["arms"],
               family="exponential", prior=QUICK_FIT["prior"],
               prior_kwargs=QUICK_FIT["prior_kwargs"], draws=QUICK_FIT["draws"], tune=500,
               chains=QUICK_FIT["chains"], seed=7)  # fmt: skip
    hr_full = full.idata["posterior"]["hazard_ratio"].sel(arm="treated").values.ravel()
    row = post.loc["hazard_ratio[treated]"]
    assert abs(math.log(row["curves_median"]) - np.median(np.log(hr_full))) < 0.1
    width_pooled = math.log(row["curves_upper_95"] / row["curves_lower_95"])
    width_full = np.diff(np.log(np.quantile(hr_full, [0.025, 0.975])))[0]
    assert 0.8 < width_pooled / width_full < 1.3
    # R 4.2.2, survival 3.5.3: coxph(Surv(time, cens) ~ arm, data = gehan) gives HR 0.2076
    # (tests/reference/ref_reconstruct_full.csv)
    assert row["curves_lower_95"] < 0.2076 < row["curves_upper_95"]


def test_pooled_survival_and_medians_follow_the_pooled_hazard(run):
    """Exponential: ``S(t) = exp(-lam t)`` and ``median = log 2 / lam`` are monotone in lam,
    so their quantiles are the hazard's quantiles transformed (up to the interpolation of
    ``np.quantile`` between neighbouring draws: 1% relative at most here)."""
    post = _table(run, "curves_posterior").set_index("quantity")
    for arm in ("control", "treated"):
        lam = post.loc[f"hazard[{arm}]"]
        for t in (10, 20):
            s = post.loc[f"surv[{arm}, t={t}]"]
            assert s["curves_median"] == pytest.approx(math.exp(-lam["curves_median"] * t),
                                                       rel=0.01)  # fmt: skip
            assert s["curves_lower_95"] == pytest.approx(math.exp(-lam["curves_upper_95"] * t),
                                                         rel=0.01)  # fmt: skip
        m = post.loc[f"median[{arm}]"]
        assert m["curves_median"] == pytest.approx(math.log(2) / lam["curves_median"], rel=0.01)
        assert m["curves_upper_95"] == pytest.approx(math.log(2) / lam["curves_lower_95"],
                                                     rel=0.01)  # fmt: skip


def test_the_figures_side_is_the_primary_fit(run):
    post = _table(run, "curves_posterior").set_index("quantity")
    sens = _table(run, "sensitivity").set_index("quantity")
    assert list(post.index) == [
        "hazard[control]", "hazard[treated]", "hazard_ratio[treated]", "surv[control, t=10]",
        "surv[control, t=20]", "surv[treated, t=10]", "surv[treated, t=20]", "median[control]",
        "median[treated]",
    ]  # fmt: skip
    for q in post.index:
        for col in ("median", "lower_95", "upper_95"):
            assert post.loc[q, f"figures_{col}"] == pytest.approx(sens.loc[q, col], rel=1e-5)


def test_the_report_has_the_section_beside_the_printed_figures(run):
    md = (run.folder / "report.md").read_text()
    html = (run.folder / "report.html").read_text()
    assert "## From the digitised curves" in md and "From the digitised curves</h2>" in html
    section = md.split("## From the digitised curves", 1)[1].split("\n## ", 1)[0]
    assert "| placebo | 21 |" in section and "| 6-MP | 21 |" in section
    assert "from the digitised curves: median [95% CrI]" in section
    post = _table(run, "curves_posterior").set_index("quantity")
    row = post.loc["hazard_ratio[treated]"]
    assert f"{row['curves_median']:.3g} [" in section
    assert f"The fits of all {PLAUSIBLE} plausible reconstructions passed" in section
    assert md.index("## The paper and the posterior") < md.index("## From the digitised")


def test_same_seed_same_curves_numbers(run):
    r = run.reanalysis
    again = analyse_curves(r.study, r.primary.quantities, family="exponential",
                           prior="weakly_informative", master_seed=r.settings["master_seed"],
                           plausible=PLAUSIBLE, draws=SETTINGS["draws"], tune=SETTINGS["tune"],
                           chains=SETTINGS["chains"])  # fmt: skip
    pd.testing.assert_frame_equal(again.comparison, r.curves.comparison)
    # the curves' seeds come from a stream of their own: no fit task of a run shares them
    seeds = curve_seeds(r.settings["master_seed"])
    assert not set(seeds.values()) & set(task_seeds(r.settings["master_seed"], 64))


def test_plausible_must_be_positive(run, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", str(STUDY), "--plausible", "0"])
    assert exc.value.code == 2
    assert "--plausible: expected a number >= 1, got 0" in capsys.readouterr().err
    r = run.reanalysis
    with pytest.raises(ValueError, match=r"plausible must be an integer >= 1; received 0"):
        analyse_curves(r.study, r.primary.quantities, family="exponential",
                       prior="weakly_informative", master_seed=1, plausible=0)  # fmt: skip


def test_the_report_rebuilds_identically_from_the_saved_folder(run, tmp_path):
    from resurv.report import rebuild_report

    copy = tmp_path / "copy"
    shutil.copytree(run.folder, copy)
    rebuild_report(copy, workers=1)
    for name in ("report.md", "report.html"):
        assert (copy / name).read_bytes() == (run.folder / name).read_bytes(), name


def test_a_study_of_curves_alone_runs_and_says_its_figures_posterior_is_the_prior(tmp_path):
    """``leukemia.toml`` prints no figure: only the curves inform anything."""
    outcome = run_study(CURVES / "leukemia.toml", out=tmp_path / "leukemia",
                        settings=quick_settings(**{**SETTINGS, "plausible": 2}))  # fmt: skip
    md = (outcome.folder / "report.md").read_text()
    section = md.split("## From the digitised curves", 1)[1].split("\n## ", 1)[0]
    assert "holds no printed figure besides the curves" in section
    post = _table(outcome, "curves_posterior").set_index("quantity")
    # the curves inform the HR: its pooled interval is far narrower than the prior's
    # (weakly informative prior: log HR 95% interval about 6 wide, tables/prior_predictive.csv)
    prior = _table(outcome, "prior_predictive").set_index("quantity")
    hr_prior = prior.loc["hazard_ratio[treated]"]
    row = post.loc["hazard_ratio[treated]"]
    width = math.log(row["curves_upper_95"] / row["curves_lower_95"])
    assert width < 0.5 * math.log(hr_prior["upper_95"] / hr_prior["lower_95"])
    assert row["curves_lower_95"] < 0.2076 < row["curves_upper_95"]  # R coxph, full data


def test_a_failed_reconstruction_fit_is_said_and_fails_the_run(run, tmp_path):
    """An impossible ESS threshold fails every reconstruction's fit (after its retry)."""
    r = run.reanalysis
    with pytest.warns(ResurvFitWarning, match="failed its diagnostics"):
        failing = analyse_curves(r.study, r.primary.quantities, family="exponential",
                                 prior="weakly_informative", master_seed=3, plausible=2,
                                 draws=200, tune=200, chains=2,
                                 thresholds={"ess_bulk_min": 1e9})  # fmt: skip
    assert not failing.passed
    fits = failing.fits_frame()
    assert fits["status"].tolist() == ["failed", "failed"]
    assert fits["failures"].str.contains("ess_bulk").all()
    assert failing.to_json()["failed_reconstructions"] == [0, 1]
    assert not replace(r, curves=failing).all_passed and r.all_passed
    # the report of a folder whose run.json records the failures marks them
    from resurv.report import rebuild_report

    copy = tmp_path / "copy"
    shutil.copytree(run.folder, copy)
    info = json.loads((copy / "run.json").read_text())
    info["curves"] = failing.to_json()
    (copy / "run.json").write_text(json.dumps(info))
    rebuild_report(copy, workers=1)
    md = (copy / "report.md").read_text()
    section = md.split("## From the digitised curves", 1)[1].split("\n## ", 1)[0]
    assert "(failed diagnostics) The fits of reconstructions [0, 1] (of 2)" in section
    diagnostics = md.split("## Diagnostics", 1)[1].split("\n## ", 1)[0]
    assert "reconstructions [0, 1] (of 2) of the digitised curves failed" in diagnostics


def test_a_reference_arm_without_a_curve_gives_per_arm_quantities_and_says_why():
    """Only the 6-MP curve: the pooled fit has that arm alone and compares no hazard ratio."""
    import tomllib

    raw = tomllib.loads((CURVES / "leukemia.toml").read_text())
    curve = next(c for c in raw["curve"] if c["arm"] == "treated")
    curve["points"] = pd.read_csv(CURVES / curve["points"]).values.tolist()
    raw["curve"] = [curve]
    raw["analysis"] = {"landmarks": [10]}
    from resurv.study import parse_study

    study = parse_study(raw)
    out = analyse_curves(study, [], family="exponential", prior="weakly_informative",
                         master_seed=1, plausible=2, draws=500, tune=500, chains=2)  # fmt: skip
    assert out.arms == ("treated",) and out.reference_arm == "treated"
    assert out.comparison["quantity"].tolist() == ["hazard[treated]", "surv[treated, t=10]",
                                                   "median[treated]"]  # fmt: skip
    assert out.comparison["figures_median"].isna().all()
    assert any("reference arm 'control' has no digitised curve" in n for n in out.notes)
    assert any("['control']" in n for n in out.notes)
    # 9 deaths in about 359 patient-weeks (MASS::gehan): the rate's 95% interval holds 9/359
    row = out.comparison.set_index("quantity").loc["hazard[treated]"]
    assert row["curves_lower_95"] < 9 / 359 < row["curves_upper_95"]
