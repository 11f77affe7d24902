"""A short flagship run end to end: the results-folder contract, and ``resurv run``'s exits.

One quick run of ``models/grazi2000.toml`` (one family, one prior set, 2 chains x 1000 draws,
no SMC marginal likelihood, no sensitivity sweep; the diagnostics gate at its defaults passes)
is written through :func:`resurv.pipeline.run_study` and checked against the contract: every
table with its columns, the posterior as zarr, ``run.json`` with versions, seeds, settings
and the study file's SHA-256, the report. The numbers in the tables are checked against
things computed here independently: the posterior draws read back from zarr, the exponential
closed forms ``S(t) = exp(-lam t)`` and ``median = log 2 / lam``, the audit's arithmetic, and a
Cutler-Ederer table of every pseudo-individual dataset computed in exact fractions.

The first fit of a process compiles the flagship model (the dominant cost of this file);
later runs of the same structure in the same process reuse it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import shutil
from fractions import Fraction
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from resurv.cli import EXIT_OK, EXIT_OUTPUT, main
from resurv.parallel import task_seeds
from resurv.pipeline import run_study
from resurv.report.results import TABLE_COLUMNS
from resurv.run.reanalysis import quick_settings
from resurv.study.load import load_study
from resurv.study.schema import SurvivalFigure

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "models" / "grazi2000.toml"
QUICK = {"marginal_likelihood": False, "draws": 1000, "tune": 500, "chains": 2}
PRIMARY = "exponential-weakly_informative-close1999"

#: the results-folder contract: table -> columns it must have (in this order)
CONTRACT = {
    "comparison": ["figure_id", "kind", "quantity", "printed", "recomputed", "posterior_median",
                   "lower_95", "upper_95", "p_replicate_as_extreme", "p_replicate_prints",
                   "flag", "note"],
    "sensitivity": ["fit_key", "family", "prior", "close", "status", "quantity", "label",
                    "median", "lower_95", "upper_95"],
    "diagnostics": ["fit_key", "family", "prior", "close", "status", "variable", "rhat",
                    "ess_bulk", "ess_tail", "mcse_mean", "sd", "mcse_rel", "divergences",
                    "bfmi_min", "treedepth_frac", "passed", "failures"],
    "candidates": ["fit_key", "arm", "n", "posterior_weight"],
    "survival_curves": ["fit_key", "arm", "time", "q025", "q25", "median", "q75", "q975"],
    "hazard_ratio_draws": ["fit_key", "family", "prior", "close", "arm", "draw", "hazard_ratio"],
    "prior_posterior": ["fit_key", "parameter", "source", "draw", "value"],
    "ppc": ["replicate", "figure_id", "value"],
    "ppc_observed": ["figure_id", "printed_value", "kind"],
    "pseudo_datasets": ["dataset", "arm", "time", "event", "entry"],
    "pseudo_frequentist": ["dataset", "quantity", "value"],
    "model_comparison": ["prior", "close", "log_ml_exponential", "log_ml_weibull",
                         "log_bf_weibull_vs_exponential", "shape_sd_ratio", "shape_note"],
    "prior_predictive": ["prior", "family", "quantity", "median", "lower_95", "upper_95"],
    "audit": ["figure_id", "kind", "printed", "verdict", "words", "n_configurations",
              "deaths_min", "deaths_max"],
    "audit_deaths": ["arm", "n", "estimator", "deaths", "n_configurations"],
}  # fmt: skip
FIGURES = (
    "survival_curves",
    "hazard_ratio_forest",
    "prior_vs_posterior",
    "audit_picture",
    "ppc",
    f"trace_rank_{PRIMARY}",
)


def folder_hashes(folder: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "grazi2000"
    outcome = run_study(FLAGSHIP, out=out, settings=quick_settings(**QUICK))
    return outcome


@pytest.fixture(scope="module")
def folder(run) -> Path:
    return run.folder


@pytest.fixture(scope="module")
def tables(folder) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in sorted((folder / "tables").glob("*.csv"))}


@pytest.fixture(scope="module")
def run_json(folder) -> dict:
    return json.loads((folder / "run.json").read_text())


@pytest.fixture(scope="module")
def posterior(folder):
    return az.from_zarr(str(folder / "posterior" / f"{PRIMARY}.zarr"))


def draws(posterior, name: str, arm: str | None = None) -> np.ndarray:
    da = posterior["posterior"][name]
    return (da.sel(arm=arm) if arm is not None else da).values.ravel()


# -- the folder ---------------------------------------------------------------------------------


def test_the_run_passes_and_writes_every_part_of_the_folder(run, folder):
    assert run.all_passed
    assert [o.status for o in run.reanalysis.outcomes] == ["ok"]
    top = {p.name for p in folder.iterdir()}
    expected = {
        "audit.json",
        "figures",
        "posterior",
        "report.html",
        "report.md",
        "run.json",
        "tables",
    }
    assert expected <= top and not any(name.startswith(".") for name in top)
    assert sorted(p.name for p in (folder / "posterior").iterdir()) == [f"{PRIMARY}.zarr"]
    for name in FIGURES:
        png = (folder / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    # nothing was left beside the folder (the temporary folder was swapped into place)
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]


def test_every_table_of_the_contract_with_its_columns(tables):
    assert set(CONTRACT) <= set(tables), sorted(set(CONTRACT) - set(tables))
    for name, columns in CONTRACT.items():
        assert [c for c in tables[name].columns if c in columns] == columns, name
    for name, columns in TABLE_COLUMNS.items():  # what the report reads is written
        if name.startswith("curves_"):  # only for a study with digitised curves
            assert name not in tables, name
            continue
        assert set(columns) <= set(tables[name].columns), name
    for name in ("comparison", "sensitivity", "diagnostics", "candidates", "survival_curves",
                 "ppc", "pseudo_datasets", "pseudo_frequentist", "hazard_ratio_draws"):  # fmt: skip
        assert len(tables[name]) > 0, name


def test_the_posterior_is_readable_zarr_with_the_run_settings(posterior):
    post = posterior["posterior"]
    assert post.sizes["chain"] == QUICK["chains"] and post.sizes["draw"] == QUICK["draws"]
    assert {"log_hazard", "hazard_ratio"} <= set(post.data_vars)
    assert list(post["log_hazard"]["arm"].values) == ["resected", "not_resected"]
    assert "sample_stats" in posterior.children
    assert np.all(np.isfinite(draws(posterior, "log_hazard")))


def test_run_json_records_versions_seeds_settings_and_the_file_hash(run_json):
    assert run_json["study"]["sha256"] == hashlib.sha256(FLAGSHIP.read_bytes()).hexdigest()
    assert run_json["study"]["file"] == FLAGSHIP.name
    for package in ("pymc", "arviz", "nutpie", "numpy", "pytensor", "lifelines", "preliz"):
        assert run_json["versions"][package] == importlib.metadata.version(package), package
    master = load_study(FLAGSHIP).analysis.seed
    assert run_json["seeds"]["master"] == master == run_json["settings"]["master_seed"]
    assert run_json["seeds"]["per_fit"] == {PRIMARY: task_seeds(master, 1)[0]}
    settings = run_json["settings"]
    assert (settings["draws"], settings["tune"], settings["chains"]) == (1000, 500, 2)
    assert settings["families"] == ["exponential"]
    assert settings["priors"] == ["weakly_informative"]
    assert settings["sensitivity"] is False
    assert run_json["primary"] == PRIMARY and run_json["all_passed"] is True
    assert [(f["fit_key"], f["status"], f["failures"]) for f in run_json["fits"]] == [
        (PRIMARY, "ok", [])
    ]
    # the flagship has no [[curve]] table: nothing of the curves' analysis is written
    assert "curves" not in run_json and "plausible" not in settings


# -- the numbers ---------------------------------------------------------------------------------


def test_the_comparison_table_has_one_row_per_printed_figure(tables):
    study = load_study(FLAGSHIP)
    comparison = tables["comparison"]
    assert comparison["figure_id"].tolist() == [f.id for f in study.figures]
    rows = comparison.set_index("figure_id")
    # the audit's arithmetic, checked here by hand: 9/19 = 47.4%, 10/19 = 52.6%
    assert "19 ruled out" in rows.loc["recurrence", "recomputed"]
    assert rows.loc["surgery_indicated", "recomputed"].startswith("89.286% (truncate")
    assert f"{25 / 28:.3%}" == "89.286%"
    assert rows.loc["major_hepatectomy", "recomputed"].startswith("57.895% (round)")
    # 4-year actuarial survival 25/27: one death among 19 at risk minus 9 censored halves
    assert "25/27 = 92.59%" in rows.loc["survival_4y_resected", "recomputed"]
    assert Fraction(25, 27) == 1 - Fraction(1, Fraction(27, 2))
    for figure in ("survival_4y_resected", "survival_4y_not_resected"):
        p = rows.loc[figure, "p_replicate_as_extreme"]
        assert 0.0 <= p <= 1.0


def test_the_audit_facts_appear_in_the_report_and_run_json(folder, run_json, tables):
    report = (folder / "report.md").read_text()
    facts = (
        "92.6% at 4 years with n = 19 is impossible for Kaplan-Meier",
        "exactly 1 death before year 4",
        "50.0% rules out n = 19 (9/19 = 47.4%, 10/19 = 52.6%)",
        "18.5% at 4 years with n = 3 is impossible for the actuarial table",
    )
    for fact in facts:
        assert fact in report, fact
        assert any(fact in finding for finding in run_json["findings"]), fact
    audit = tables["audit"].set_index("figure_id")
    assert audit.loc["recurrence", "verdict"] == "feasible"
    assert audit.loc["survival_4y_resected", ["deaths_min", "deaths_max"]].tolist() == [1, 1]
    assert (folder / "report.html").read_text().count("<table") >= 3


def test_the_posterior_summaries_are_those_of_the_saved_draws(tables, posterior):
    """Sensitivity rows against the zarr draws and the exponential closed forms."""
    rows = tables["sensitivity"].set_index("quantity")
    assert set(rows["status"]) == {"ok"}
    for arm in ("resected", "not_resected"):
        lam = np.exp(draws(posterior, "log_hazard", arm))
        assert rows.loc[f"hazard[{arm}]", "median"] == pytest.approx(np.median(lam), rel=1e-5)
        lo, hi = np.quantile(lam, [0.025, 0.975])
        assert rows.loc[f"hazard[{arm}]", "lower_95"] == pytest.approx(lo, rel=1e-5)
        assert rows.loc[f"hazard[{arm}]", "upper_95"] == pytest.approx(hi, rel=1e-5)
        # S(4) = exp(-4 lam) and median = log 2 / lam are monotone in lam: their posterior
        # medians are the transforms of its median (up to the mean of the two middle draws)
        assert rows.loc[f"surv[{arm}, t=4]", "median"] == pytest.approx(
            np.median(np.exp(-4 * lam)), rel=1e-5
        )
        assert rows.loc[f"surv[{arm}, t=4]", "median"] == pytest.approx(
            math.exp(-4 * np.median(lam)), rel=1e-3
        )
        assert rows.loc[f"median[{arm}]", "median"] == pytest.approx(
            math.log(2) / np.median(lam), rel=1e-3
        )
    hr = draws(posterior, "hazard_ratio", "not_resected")
    ratio = np.exp(draws(posterior, "log_hazard", "not_resected")) / np.exp(
        draws(posterior, "log_hazard", "resected")
    )
    np.testing.assert_allclose(hr, ratio, rtol=1e-10)
    assert rows.loc["hazard_ratio[not_resected]", "median"] == pytest.approx(
        np.median(hr), rel=1e-5
    )
    assert rows.loc["p_hr_gt_1[not_resected]", "median"] == pytest.approx(np.mean(hr > 1))


def test_candidate_weights_follow_the_audit(tables):
    """18.5% at 4 years cannot be printed by an actuarial table of 3 patients: weight 0."""
    weights = tables["candidates"].set_index(["arm", "n"])["posterior_weight"]
    assert weights.loc[("resected", 19)] == 1.0
    assert weights.loc[("not_resected", 3)] == 0.0
    assert weights.loc["not_resected"].sum() == pytest.approx(1.0, abs=1e-9)


def test_survival_curves_are_ordered_probabilities(tables):
    curves = tables["survival_curves"]
    q = curves[["q025", "q25", "median", "q75", "q975"]].to_numpy()
    assert np.all((q >= 0) & (q <= 1)) and np.all(np.diff(q, axis=1) >= -1e-12)
    for _, arm in curves.groupby("arm"):
        arm = arm.sort_values("time")
        assert arm["median"].iloc[0] == pytest.approx(1.0)
        assert np.all(np.diff(arm["median"].to_numpy()) <= 1e-12)


def exact_actuarial(times, events, landmark: int) -> Fraction:
    """Cutler-Ederer S(landmark), yearly intervals, in fractions (independent of resurv)."""
    s = Fraction(1)
    pairs = [(Fraction(t), bool(e)) for t, e in zip(times, events, strict=True)]
    for j in range(landmark):
        at_risk = sum(t >= j for t, _ in pairs)
        d = sum(e and j <= t < j + 1 for t, e in pairs)
        c = sum((not e) and j <= t < j + 1 for t, e in pairs)
        if at_risk:
            s *= 1 - Fraction(d) / (at_risk - Fraction(c, 2))
    return s


def test_pseudo_datasets_reproduce_the_printed_figures(tables):
    """Every pseudo-individual dataset has feasible arm sizes and prints 92.6% and 18.5%."""
    pseudo = tables["pseudo_datasets"]
    assert sorted(pseudo["dataset"].unique()) == list(range(5))
    assert set(pseudo["event"].unique()) <= {0, 1}
    printed = {
        f.arm: f.percent for f in load_study(FLAGSHIP).figures if isinstance(f, SurvivalFigure)
    }
    for _, data in pseudo.groupby("dataset"):
        sizes = data["arm"].value_counts()
        assert sizes["resected"] == 19 and sizes["not_resected"] in (6, 9)
        assert np.all(data["time"] > 0)
        for arm, p in printed.items():
            arm_data = data[data["arm"] == arm]
            s = exact_actuarial(arm_data["time"], arm_data["event"], 4) * 100
            # printed at one decimal by rounding half up or truncation (the CSV's 6 significant
            # digits keep every time in its yearly interval: the counts are exact)
            rounded, truncated = math.floor(s * 10 + Fraction(1, 2)), math.floor(s * 10)
            shown = {f"{rounded / 10:.1f}", f"{truncated / 10:.1f}"}
            assert str(p) in shown, (arm, float(s))
    freq = tables["pseudo_frequentist"]
    survival = freq[freq["quantity"].str.startswith("actuarial survival")]
    assert set(np.round(survival["value"] * 1000).astype(int)) == {926, 185}


def test_replicate_studies_and_their_probabilities(tables):
    """P(a replicate prints the figure) and P(at least as extreme), recomputed from ppc.csv:
    survival replicates in percent, the tail beyond the printed value +- half its last digit
    on the side away from the predictive median; for "P < 0.001", the share below 0.001."""
    ppc, observed = tables["ppc"], tables["ppc_observed"]
    assert set(ppc["figure_id"]) == {"survival_4y_resected", "survival_4y_not_resected", "logrank"}
    assert ppc.groupby("figure_id")["replicate"].nunique().eq(300).all()
    values = observed.set_index("figure_id")["printed_value"]
    assert values.to_dict() == {
        "survival_4y_resected": 92.6,
        "survival_4y_not_resected": 18.5,
        "logrank": 0.001,
    }
    rows = tables["comparison"].set_index("figure_id")
    # the CSV keeps 6 significant digits: a replicate within 1e-4 of a boundary may move
    one = 1 / 300
    for figure, printed in (("survival_4y_resected", 92.6), ("survival_4y_not_resected", 18.5)):
        rep = ppc.loc[ppc["figure_id"] == figure, "value"].to_numpy()
        rep = rep[np.isfinite(rep)]  # NaN: nobody left at risk, nothing to print
        assert rep.size > 250 and np.all((rep >= 0) & (rep <= 100))
        extreme = min(np.mean(rep <= printed + 0.05), np.mean(rep >= printed - 0.05))
        assert rows.loc[figure, "p_replicate_as_extreme"] == pytest.approx(extreme, abs=one)
        rounded, truncated = np.floor(rep * 10 + 0.5) / 10, np.floor(rep * 10) / 10
        prints = np.isclose(rounded, printed) | np.isclose(truncated, printed)
        assert rows.loc[figure, "p_replicate_prints"] == pytest.approx(np.mean(prints), abs=one)
    p = ppc.loc[ppc["figure_id"] == "logrank", "value"].to_numpy()
    assert np.all((p >= 0) & (p <= 1))
    assert rows.loc["logrank", "p_replicate_as_extreme"] == pytest.approx(np.mean(p < 0.001))


# -- the command line -------------------------------------------------------------------------


def test_cli_refuses_to_overwrite_without_force_and_replaces_with_it(folder, tmp_path, capsys):
    """``resurv run``: exit 3 and the earlier results byte-identical without ``--force``;
    exit 0 and complete new results (another seed) with it. This run includes the SMC
    marginal likelihood (the command line has no switch for it)."""
    target = tmp_path / "grazi2000"
    shutil.copytree(folder, target)
    before = folder_hashes(target)
    args = ["run", str(FLAGSHIP), "--out", str(target), "--family", "exponential", "--prior",
            "weakly_informative", "--draws", "1000", "--tune", "500", "--chains", "2",
            "--no-sensitivity", "--seed", "7"]  # fmt: skip
    assert main(args) == EXIT_OUTPUT
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped at 100 columns
    assert "already holds results; they are kept. Pass --force" in err
    assert folder_hashes(target) == before

    assert main([*args, "--force"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "every fit passed its diagnostics" in out
    after = folder_hashes(target)
    assert after != before
    assert set(before) <= set(after)  # every file of the contract is there again
    new = json.loads((target / "run.json").read_text())
    assert new["seeds"]["master"] == 7 and new["all_passed"] is True
    assert new["seeds"]["per_fit"] == {PRIMARY: task_seeds(7, 1)[0]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grazi2000"]  # no temp left over
    assert (
        pd.read_csv(target / "tables" / "model_comparison.csv")["log_ml_exponential"].notna().all()
    )


def test_the_close_sweep_is_stated_only_when_it_runs():
    from resurv.run.assumptions import assumptions
    from resurv.study.load import load_study

    study = load_study(FLAGSHIP)
    on = assumptions(study, {}, sensitivity=True)
    off = assumptions(study, {}, sensitivity=False)
    assert any(line.startswith("Sensitivity: study close") for line in on)
    assert not any(line.startswith("Sensitivity") for line in off)
