"""Simulation-based calibration: its statistics, the printed replicates, executors, and SBC runs.

The fast tests fit a tiny two-arm design (one life-table interval per arm, so each fit takes
a fraction of a second; compiling its model costs most of the time, once per process). The
SBC of the flagship design, exact and approximate landmark likelihoods, is marked slow.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from resurv.calibration.figures import (
    cox_hazard_ratio,
    print_figures,
    simulate_figures,
    simulation_design,
)
from resurv.calibration.results import coverage_table, sbc_chi_square
from resurv.calibration.sbc import calibrate, simulate_study
from resurv.calibration.settings import SimulationSettings
from resurv.errors import OutputError, StudyError
from resurv.parallel import local_executor
from resurv.study.load import load_study, loads_study

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "models" / "grazi2000.toml"

#: two arms, one yearly life-table interval each (a small graph: fast fits); the arms are not
#: in alphabetical order, so tables must keep the design's order (checkpoints sort keys)
TINY = """
[study]
id = "tiny"
title = "A small two-arm design for calibration tests"
citation = "Constructed for the resurv test suite"
time_unit = "years"
rounding = "round"
reference_arm = "surgery"

[censoring]
accrual = [1990, 1994]
close = 1996.0

[[arm]]
id = "surgery"
n = 8

[[arm]]
id = "none"
n = [4, 6]

[[figure]]
kind = "survival"
id = "s1_surgery"
arm = "surgery"
time = 1
percent = "75.0"
estimator = "actuarial"

[[figure]]
kind = "survival"
id = "s1_none"
arm = "none"
time = 1
percent = "50.0"
estimator = "actuarial"

[[figure]]
kind = "logrank_p"
id = "p"
arms = ["surgery", "none"]
p = "0.04"
"""

#: a design printing every simulated kind: survival (both estimators), HR with CI, median
RICH = """
[study]
id = "rich"
title = "A design printing every figure kind a replicate reproduces"
citation = "Constructed for the resurv test suite"
time_unit = "years"
rounding = "either"
reference_arm = "a"

[censoring]
accrual = [1990, 1995]
close = 2000.0

[[arm]]
id = "a"
n = 40

[[arm]]
id = "b"
n = [30, 35]

[[figure]]
kind = "survival"
id = "s3_a"
arm = "a"
time = 3
percent = "60.0"
estimator = "actuarial"

[[figure]]
kind = "survival"
id = "s2_b"
arm = "b"
time = 2
percent = "41"
estimator = "kaplan-meier"
rounding = "truncate"

[[figure]]
kind = "hazard_ratio"
id = "hr"
arms = ["b", "a"]
hr = "1.85"
ci = ["1.02", "3.36"]

[[figure]]
kind = "median"
id = "median_b"
arm = "b"
value = "1.7"
ci = ["1.1", "2.9"]

[[figure]]
kind = "proportion"
id = "recurrence"
percent = "50.0"
n = [16, 20]
"""

#: fast fits of the tiny design: 2 chains x 1000 draws, thinned by 10 to 200 draws
FAST = {"draws": 1000, "tune": 1000, "chains": 2, "thin": 10}


def half_up(x: float, decimals: int) -> float:
    """Round half up with decimal arithmetic (independent of resurv's printing)."""
    q = Decimal(1).scaleb(-decimals)
    return float(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))


# -- statistics -----------------------------------------------------------------------------


def test_sbc_chi_square_equals_scipy_with_unequal_bins():
    # ranks 0..9 in 4 bins: {0,1,2}, {3,4}, {5,6,7}, {8,9}, i.e. floor(4 r / 10)
    ranks = np.array([0, 1, 1, 2, 3, 5, 5, 6, 7, 8, 9, 9, 9, 4, 2])
    test = sbc_chi_square(ranks, n_draws=9, bins=4)
    np.testing.assert_allclose(test["prob"], [0.3, 0.2, 0.3, 0.2])
    np.testing.assert_array_equal(test["observed"], [5, 2, 4, 4])
    ref = stats.chisquare(test["observed"], ranks.size * np.array([0.3, 0.2, 0.3, 0.2]))
    assert test["chi2"] == pytest.approx(ref.statistic, rel=1e-12)
    assert test["p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert test["df"] == 3
    with pytest.raises(ValueError, match=r"ranks must lie in \[0, 9\]"):
        sbc_chi_square([10], n_draws=9, bins=4)
    with pytest.raises(ValueError, match="bins must lie in"):
        sbc_chi_square([1], n_draws=9, bins=11)


def test_sbc_chi_square_size_and_power_by_simulation():
    """Calibrated posteriors pass at the nominal rate; an overconfident one is caught."""
    rng = np.random.default_rng(7)
    n_sets, replicates, n_draws = 2000, 100, 99
    uniform = rng.integers(0, n_draws + 1, size=(n_sets, replicates))
    p = np.array([sbc_chi_square(r, n_draws, 10)["p_value"] for r in uniform])
    rejected = int(np.sum(p < 0.01))
    assert stats.binom.cdf(rejected, n_sets, 0.01) > 0.001
    assert stats.binom.sf(rejected - 1, n_sets, 0.01) > 0.001
    # truth ~ N(0, 1) but the "posterior" is N(0, 0.6^2), too narrow: ranks pile up at both
    # ends, and 100 replicates detect it at the 1% level in most simulated studies
    truth = rng.normal(size=(200, replicates, 1))
    draws = rng.normal(scale=0.6, size=(200, replicates, n_draws))
    ranks = (draws < truth).sum(axis=2)
    power = np.mean([sbc_chi_square(r, n_draws, 10)["p_value"] < 0.01 for r in ranks])
    assert power >= 0.9


def test_coverage_table_is_clopper_pearson():
    frame = pd.DataFrame({
        "parameter": ["x"] * 20,
        "covered_0.5": [True] * 9 + [False] * 11,
        "covered_0.9": [True] * 20,
    })  # fmt: skip
    table = coverage_table(frame, (0.5, 0.9)).set_index("nominal")
    lower = stats.beta.ppf(0.025, 9, 20 - 9 + 1)
    upper = stats.beta.ppf(0.975, 9 + 1, 20 - 9)
    assert table.loc[0.5, "empirical"] == 9 / 20
    assert table.loc[0.5, ["ci_lower", "ci_upper"]].tolist() == pytest.approx([lower, upper])
    assert table.loc[0.9, "ci_lower"] == pytest.approx(0.025 ** (1 / 20))  # all covered
    assert table.loc[0.9, "ci_upper"] == 1.0
    assert table["consistent"].tolist() == [True, True]


def test_cox_hazard_ratio_equals_lifelines():
    """Reference: lifelines 0.30 ``CoxPHFitter`` (Efron ties; the times are distinct)."""
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(3)
    x = np.repeat([1, 0], [25, 30])
    death = rng.exponential(1 / np.where(x == 1, 0.4, 0.2))
    cens = rng.uniform(1, 8, size=x.size)
    df = pd.DataFrame({"t": np.minimum(death, cens), "e": death <= cens, "x": x})
    cph = CoxPHFitter().fit(df, "t", "e", fit_options={"precision": 1e-12, "step_size": 0.5})
    hr, lo, hi = cox_hazard_ratio(df["t"], df["e"], df["x"] == 1)
    assert hr == pytest.approx(float(np.exp(cph.params_["x"])), rel=1e-8)
    ref = np.exp(cph.confidence_intervals_.loc["x"].to_numpy())
    assert [lo, hi] == pytest.approx(ref.tolist(), rel=1e-6)
    with pytest.raises(ValueError, match="no finite maximum"):
        cox_hazard_ratio([1, 2, 3, 4], [1, 1, 0, 0], [True, True, False, False])
    with pytest.raises(ValueError, match="no deaths"):
        cox_hazard_ratio([1, 2], [0, 0], [True, False])


# -- the design and the printed replicates ----------------------------------------------------


def test_design_keeps_the_figures_a_replicate_prints():
    from resurv.study.load import load_study

    design = simulation_design(load_study(FLAGSHIP))
    assert [f.id for f in design.figures] == ["survival_4y_resected", "survival_4y_not_resected"]
    assert [a.n for a in design.arms] == [(19,), (3, 6, 9)]
    first = simulation_design(load_study(FLAGSHIP), sizes="first")
    assert [a.n for a in first.arms] == [(19,), (3,)]
    rich = simulation_design(loads_study(RICH))
    assert [f.id for f in rich.figures] == ["s3_a", "s2_b", "hr", "median_b"]
    no_figures = TINY.split("[[figure]]")[0]
    with pytest.raises(StudyError, match="prints no survival, hazard_ratio or median figure"):
        simulation_design(loads_study(no_figures))


def test_replicate_prints_what_independent_estimators_give():
    """Life table (resurv.frequentist), KM and Cox (lifelines), decimal rounding."""
    from lifelines import CoxPHFitter, KaplanMeierFitter

    from resurv.frequentist.life_table import life_table

    design = simulation_design(loads_study(RICH))
    checked = 0
    for seed in range(12):
        sim = simulate_figures(design, "weibull", "weakly_informative", seed)
        c = sim["cohort"]
        group = np.asarray(c["arms"])[c["arm"]]
        assert {a: int(np.sum(group == a)) for a in ("a", "b")} == sim["n"]
        assert sim["n"]["b"] in (30, 35)
        if sim["study"] is None:
            assert sim["reason"]
            continue
        fig = {f.id: f for f in sim["study"].figures}
        a, b = group == "a", group == "b"
        table = life_table(c["time"][a], c["event"][a], breaks=[0.0, 1.0, 2.0, 3.0, np.inf])
        s3 = float(table["survival"].iloc[2])
        assert fig["s3_a"].percent.value == half_up(100 * s3, 1)
        km = KaplanMeierFitter().fit(c["time"][b], c["event"][b])
        s2 = float(km.survival_function_at_times(2.0).iloc[0])
        assert fig["s2_b"].percent.value == math.floor(100 * s2 + 1e-9)  # truncated, 0 dec.
        df = pd.DataFrame({"t": c["time"], "e": c["event"], "x": (group == "b").astype(int)})
        cph = CoxPHFitter().fit(df, "t", "e", fit_options={"precision": 1e-12})
        assert fig["hr"].hr.value == half_up(float(np.exp(cph.params_["x"])), 2)
        lo, hi = np.exp(cph.confidence_intervals_.loc["x"].to_numpy())
        assert [c.value for c in fig["hr"].ci] == [half_up(lo, 2), half_up(hi, 2)]
        median = km.median_survival_time_
        if np.isfinite(median):
            assert fig["median_b"].value.value == half_up(float(median), 1)
        else:
            assert fig["median_b"].value is None
        checked += 1
    assert checked >= 8


def test_unprintable_cohort_gives_a_reason():
    design = simulation_design(loads_study(RICH))
    # every death in arm b: no finite Cox estimate, so no paper could print the hazard ratio
    cohort = {"time": np.array([0.5, 0.6, 0.7, 1.5, 2.5, 4.0]),
              "event": np.array([False, False, False, True, True, False]),
              "arm": np.array([1, 1, 1, 0, 0, 0]), "arms": ("a", "b")}  # fmt: skip
    figures, reason = print_figures(design, cohort)
    assert figures == () and reason.startswith("hr: the Cox partial likelihood has no finite")


def test_survival_is_carried_forward_past_the_last_patient_at_risk():
    """As the likelihood counts it: arm a's life table ends in year 1 at 1 - 1/(3 - 2/2)."""
    design = simulation_design(loads_study(RICH))
    design = replace(design, figures=tuple(f for f in design.figures if f.id == "s3_a"))
    cohort = {"time": np.array([0.5, 0.6, 0.7, 1.5, 2.5, 4.0, 0.2]),
              "event": np.array([True, False, False, True, True, False, True]),
              "arm": np.array([0, 0, 0, 1, 1, 1, 1]), "arms": ("a", "b")}  # fmt: skip
    figures, reason = print_figures(design, cohort)
    assert reason == ""
    (s3_a,) = figures
    assert s3_a.time == 3 and s3_a.percent.value == 50.0


def test_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="replicates must be an integer >= 1; received 0"):
        SimulationSettings(replicates=0)
    with pytest.raises(ValueError, match="family must be one of"):
        SimulationSettings(family="gompertz")
    with pytest.raises(ValueError, match=r"thin \(20\) exceeds draws \(10\)"):
        SimulationSettings(draws=10, thin=20)
    with pytest.raises(ValueError, match="landmark must be one of"):
        SimulationSettings(landmark="exactly")
    with pytest.raises(ValueError, match="prior set 'reference' is improper"):
        calibrate(loads_study(TINY), SimulationSettings(prior="reference", replicates=1))


def test_existing_results_are_kept_without_force(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "run.json").write_text("{}")
    with pytest.raises(OutputError, match="already holds results"):
        simulate_study(loads_study(TINY), out=tmp_path / "out", settings=SimulationSettings())


# -- fitting: end to end, resume, process pool -----------------------------------------------


class Interrupt:
    """A progress callback that interrupts the run after ``after`` replicates."""

    def __init__(self, after: int):
        self.after = after

    def __call__(self, done: int, total: int) -> None:
        if done >= self.after:
            raise KeyboardInterrupt("stopped by the test")


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Six replicates: interrupted after 3 and resumed in this process; a 2-process pool.

    The pool runs in a background thread while this process fits, so that the three model
    compilations (one here, one per worker) overlap.
    """
    study = loads_study(TINY)
    settings = SimulationSettings(replicates=6, seed=11, **FAST)
    out = tmp_path_factory.mktemp("sbc") / "tiny-simulation"
    checkpoints = out.parent / ".tiny-simulation.checkpoints"
    pool = local_executor(2)
    try:
        with ThreadPoolExecutor(1) as background:
            pooled = background.submit(calibrate, study, settings, executor=pool)
            with pytest.raises(KeyboardInterrupt):
                simulate_study(study, out=out, settings=settings, progress=Interrupt(3))
            stored = {p.name: json.loads(p.read_text()) for p in checkpoints.glob("*/*.json")}
            exists_after_interrupt = out.exists()
            resumed = simulate_study(study, out=out, settings=settings)
            pooled = pooled.result()
    finally:
        pool.shutdown()
    return {
        "stored": stored,
        "exists_after_interrupt": exists_after_interrupt,
        "resumed": resumed,
        "pooled": pooled,
        "out": out,
        "checkpoints": checkpoints,
    }


def test_sbc_runs_end_to_end(tiny_runs):
    out, outcome = tiny_runs["out"], tiny_runs["resumed"]
    for name in ("tables/ranks.csv", "tables/coverage.csv", "tables/sbc.csv",
                 "tables/replicates.csv", "figures/sbc_ranks.png", "figures/coverage.png",
                 "run.json"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    ranks = pd.read_csv(out / "tables" / "ranks.csv")
    ok = outcome.replicates.loc[outcome.replicates["status"] == "ok", "replicate"]
    assert sorted(set(ranks["replicate"])) == sorted(ok)
    params = ["log_hazard[surgery]", "log_hazard[none]"]
    assert ranks["parameter"].tolist() == params * (len(ranks) // 2)
    assert ranks["rank"].between(0, 200).all() and (ranks["n_draws"] == 200).all()
    sbc = pd.read_csv(out / "tables" / "sbc.csv")
    assert sbc["replicates"].tolist() == [len(ok), len(ok)]
    run = json.loads((out / "run.json").read_text())
    assert run["seeds"]["master"] == 11 and len(run["seeds"]["per_replicate"]) == 6
    assert run["settings"]["replicates"] == 6 and "pymc" in run["versions"]
    assert (
        run["passed"]
        == outcome.passed
        == bool((sbc["p_value"] >= 0.01).all() and outcome.failed_share <= 0.05 and len(ok) > 0)
    )
    # the logrank_p figure is a predictive check, not simulated; survival figures are
    printed = outcome.replicates.filter(like="printed_").columns.tolist()
    assert printed == ["printed_s1_surgery", "printed_s1_none"]
    assert not tiny_runs["checkpoints"].exists()  # removed once the folder is written
    text = outcome.summary_text()
    assert "6 replicates" in text and "log_hazard[surgery]: chi-square" in text


def test_interrupted_run_resumes_without_redoing_replicates(tiny_runs):
    stored, outcome = tiny_runs["stored"], tiny_runs["resumed"]
    assert not tiny_runs["exists_after_interrupt"]
    assert sorted(stored) == [f"replicate-{i:05d}.json" for i in range(3)]
    # the resumed call fitted the three missing replicates only (its fits, counted by the
    # compile cache of this process: the model was compiled before the interruption)
    reps = outcome.replicates
    fitted = int(((reps["replicate"] >= 3) & (reps["status"] != "unhandled")).sum())
    assert outcome.cache["this_process_misses"] == 0
    assert outcome.cache["this_process_hits"] == fitted
    for name, result in stored.items():
        i = int(name[10:15])
        assert outcome.results[i] == result  # same seconds: read back, not recomputed


def test_process_pool_gives_identical_ranks(tiny_runs):
    here, pooled = tiny_runs["resumed"], tiny_runs["pooled"]
    keep = ("replicate", "seed", "status", "truth", "n", "printed", "rank", "covered")
    for a, b in zip(here.results, pooled.results, strict=True):
        assert {k: a.get(k) for k in keep} == {k: b.get(k) for k in keep}
    assert here.ranks.equals(pooled.ranks)
    # compile once per process: one compilation here, at most one per worker
    assert here.cache["compiles"] == 1
    assert 1 <= pooled.cache["compiles"] <= 2
    assert pooled.cache["compiles"] + pooled.cache["cache_hits"] == pooled.count(
        "ok"
    ) + pooled.count("failed")


@pytest.mark.slow
def test_dask_cluster_gives_identical_ranks():
    distributed = pytest.importorskip("distributed")
    study = loads_study(TINY)
    settings = SimulationSettings(replicates=4, seed=11, **FAST)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        ThreadPoolExecutor(1) as background,
    ):
        on_dask = background.submit(calibrate, study, settings, executor=client.get_executor())
        here = calibrate(study, settings)
        on_dask = on_dask.result()
    assert here.ranks.equals(on_dask.ranks)
    assert [r["status"] for r in here.results] == [r["status"] for r in on_dask.results]


# -- slow: SBC of the flagship design ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("landmark", ["exact", "approximate"])
def test_flagship_sbc_ranks_are_uniform(landmark):
    """SBC of the flagship design: 200 replicates, Exponential, weakly informative prior."""
    from resurv.study.load import load_study

    settings = SimulationSettings(
        replicates=200, seed=2000, workers=2, landmark=landmark, family="exponential"
    )
    outcome = calibrate(load_study(FLAGSHIP), settings)
    print(outcome.summary_text())
    assert outcome.count("ok") >= 150
    assert outcome.failed_share <= 0.05
    sbc = outcome.sbc.set_index("parameter")
    for arm in ("resected", "not_resected"):
        assert sbc.loc[f"log_hazard[{arm}]", "p_value"] >= 0.01, outcome.summary_text()


@pytest.mark.parametrize("factor", [1, 2])
def test_ranks_thin_a_retried_fit_to_the_same_number_of_draws(factor):
    """A retry that doubled the draws is thinned twice as hard: ranks stay in 0 .. kept_draws."""
    import xarray as xr

    from resurv.calibration.replicate import _ranks

    s = SimulationSettings(draws=100, thin=10, chains=2)
    draws = np.arange(2 * 100 * factor, dtype=float).reshape(2, 100 * factor)
    posterior = xr.Dataset(
        {"log_hazard": (("chain", "draw", "arm"), draws[..., None])},
        coords={"arm": ["a"]},
    )
    out = _ranks(posterior, {"log_hazard[a]": float(draws.max()) + 1}, s)
    assert out["n_draws"] == s.kept_draws == 20
    assert out["rank"]["log_hazard[a]"] == 20  # above every kept draw
    out = _ranks(posterior, {"log_hazard[a]": float(draws[0, 10 * factor]) - 0.5}, s)
    assert out["rank"]["log_hazard[a]"] == 1  # only chain 0's first draw lies below


def test_a_replicate_past_the_enumeration_limit_takes_the_forward_form():
    """A flagship replicate whose 19 resected patients print 0.0% (142,102 configurations):
    by default it is fitted with the forward pass, as a real run would; with the enumeration
    form only, it is set aside with the reason."""
    from resurv.calibration.replicate import _terms
    from resurv.errors import AuditError
    from resurv.model.censoring import CensoringModel
    from resurv.study.schema import Printed

    design = simulation_design(load_study(FLAGSHIP))
    figures = tuple(
        replace(f, percent=Printed(0.0, 1)) if f.arm == "resected" else f for f in design.figures
    )
    study = replace(design, figures=figures)
    censoring = CensoringModel.from_study(study)
    terms, methods = _terms(study, SimulationSettings(), censoring)
    assert "142,102 feasible configurations" in methods["resected"]
    assert "(forward form)" in methods["resected"]
    resected = next(t for t in terms if t.arms == ("resected",))
    assert sum(np.asarray(v).size for v in resected.data().values()) < 1_000_000
    with pytest.raises(AuditError, match="more than max_configurations=100,000"):
        _terms(study, SimulationSettings(landmark_form="enumeration"), censoring)
