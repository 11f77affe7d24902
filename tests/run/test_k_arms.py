"""Studies with three or more arms: the global log-rank p, HRs of every arm, end to end.

The fixture ``tests/fixtures/studies/three_arms.toml`` has three arms (complete, partial or
no resection), one landmark each, two printed hazard ratios (one between two arms neither of
which is the reference) and one log-rank p over all three arms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import multivariate_logrank_test

from resurv.compare.predictive import PosteriorDraws, predictive_checks, replicate_studies
from resurv.compare.table import _hr_key
from resurv.model.censoring import CensoringModel
from resurv.model.simulate import simulate_many
from resurv.study.load import load_study

FIXTURE = Path(__file__).parents[1] / "fixtures" / "studies" / "three_arms.toml"
ARMS = ("complete", "partial", "none")


@pytest.fixture(scope="module")
def study():
    return load_study(FIXTURE)


def _draws(lam: dict, size: int, study) -> PosteriorDraws:
    return PosteriorDraws(
        lam={a: np.full(size, lam[a]) for a in ARMS},
        k=np.ones(size),
        n={a.id: np.full(size, a.n[0]) for a in study.arms},
    )


def test_the_global_logrank_replicate_is_the_k_sample_test_over_all_arms(study):
    """Each replicate's p equals lifelines 0.30 ``multivariate_logrank_test`` on its cohort.

    The cohorts are simulated again from the same seed (the survival figures draw no random
    numbers), so the comparison is replicate by replicate.
    """
    censoring = CensoringModel.from_study(study)
    lam = {"complete": 0.1, "partial": 0.1, "none": 0.6}
    draws = _draws(lam, 40, study)
    reps = replicate_studies(study, draws, censoring, seed=11)
    got = reps[reps["figure_id"] == "logrank_global"].sort_values("replicate")["value"].to_numpy()
    sim = simulate_many(
        np.random.default_rng(11), "weibull", {a: draws.lam[a] for a in ARMS}, draws.k,
        {a.id: a.n[0] for a in study.arms}, censoring,
    )  # fmt: skip
    group = np.asarray(sim["arm"])
    want = [
        multivariate_logrank_test(sim["time"][i], group, sim["event"][i]).p_value
        for i in range(draws.size)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-8)
    assert len(set(group)) == 3  # the test ran over the three arms


def test_the_global_check_sees_a_difference_in_the_third_arm_only(study):
    """Arms 1 and 2 equal, arm 3 six times the hazard: the global p is small in most replicates.

    A check restricted to the first two arms would give p-values spread over (0, 1).
    """
    censoring = CensoringModel.from_study(study)
    far = _draws({"complete": 0.1, "partial": 0.1, "none": 0.6}, 200, study)
    same = _draws({"complete": 0.2, "partial": 0.2, "none": 0.2}, 200, study)
    checks = {}
    for name, draws in (("far", far), ("same", same)):
        reps = replicate_studies(study, draws, censoring, seed=5)
        checks[name] = predictive_checks(study, reps).set_index("figure_id")
    # printed P = 0.004: the share of replicates with p <= 0.004
    assert checks["far"].loc["logrank_global", "p_replicate_as_extreme"] > 0.3
    # under no difference the p-value is about uniform: P(p <= 0.004) is small
    assert checks["same"].loc["logrank_global", "p_replicate_as_extreme"] < 0.05


def test_a_printed_hr_maps_to_its_own_pair_of_arms(study):
    assert _hr_key(study.figure("hr_none"), study) == "hazard_ratio[none]"
    assert _hr_key(study.figure("hr_none_partial"), study) == "hazard_ratio[none/partial]"


@pytest.mark.slow
def test_three_arms_run_end_to_end(study, tmp_path):
    from resurv.pipeline import run_study
    from resurv.run.reanalysis import quick_settings

    settings = quick_settings(marginal_likelihood=False, draws=1000, tune=500, chains=2)
    outcome = run_study(FIXTURE, out=tmp_path / "out", settings=settings)
    assert outcome.all_passed
    folder = outcome.folder
    q = {r["quantity"]: r for r in outcome.reanalysis.primary.quantities}
    # an HR of every arm against the reference, and the printed HR between the other two
    assert {"hazard_ratio[partial]", "hazard_ratio[none]", "hazard_ratio[none/partial]"} <= set(q)
    draws = outcome.reanalysis.primary.idata["posterior"].dataset["hazard"]
    lam = {a: draws.sel(arm=a).values.ravel() for a in ARMS}
    assert q["hazard_ratio[none/partial]"]["median"] == pytest.approx(
        float(np.median(lam["none"] / lam["partial"])), rel=1e-9
    )
    assert q["hazard_ratio[none]"]["median"] == pytest.approx(
        float(np.median(lam["none"] / lam["complete"])), rel=1e-9
    )
    comparison = pd.read_csv(folder / "tables" / "comparison.csv").set_index("figure_id")
    assert comparison.loc["hr_none_partial", "posterior_median"] == pytest.approx(
        q["hazard_ratio[none/partial]"]["median"], rel=1e-5
    )
    # the global p is checked by posterior prediction over the three arms
    assert np.isfinite(comparison.loc["logrank_global", "p_replicate_as_extreme"])
    assert "partial resection vs no resection" in comparison.loc["logrank_global", "quantity"]
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "Against the same 'complete resection' arm, the hazard ratio of" in report
    assert "no resection" in report and "partial resection" in report
