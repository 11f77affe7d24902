"""The pooled posterior over plausible reconstructions, fitted with MCMC.

The leukemia curves (``tests/fixtures/curves/leukemia.toml``) use the arms and settings of
``QUICK_FIT``, so every fit here shares the test run's compiled Exponential model.
"""

from __future__ import annotations

import numpy as np
import pytest
from tests_paths import CURVES

from conftest import QUICK_FIT
from resurv.fit import IndividualData, fit
from resurv.reconstruct import pooled_fit, reconstruct

SETTINGS = {k: QUICK_FIT[k] for k in ("prior", "prior_kwargs", "draws", "tune", "chains")}
DRAWS = 4


@pytest.fixture(scope="module")
def pooled():
    rec = reconstruct(CURVES / "leukemia.toml", plausible=DRAWS, seed=11)
    return rec, pooled_fit(rec, family="exponential", seed=3, **SETTINGS)


def test_pooled_draws_come_equally_from_every_reconstruction(pooled):
    rec, p = pooled
    assert p.passed and len(p.fits) == DRAWS
    assert p.hazard_ratio.sizes == {"sample": DRAWS * QUICK_FIT["chains"] * QUICK_FIT["draws"],
                                    "arm": 2}  # fmt: skip
    per_fit = QUICK_FIT["chains"] * QUICK_FIT["draws"]
    first = p.hazard.isel(sample=slice(0, per_fit)).sel(arm="treated").values
    own = p.fits[0].idata["posterior"]["hazard"].sel(arm="treated").values.ravel()
    assert np.array_equal(np.sort(first), np.sort(own))


def test_pooled_survival_is_each_draws_own_exponential_survival(pooled):
    """Sample i of ``surv_at`` is the same draw of the same fit as sample i of ``hazard``."""
    _, p = pooled
    times = np.array([5.0, 10.0, 20.0])
    surv = p.surv_at(times)
    assert (
        surv.dims == ("sample", "arm", "time") and surv.sizes["sample"] == p.hazard.sizes["sample"]
    )
    expected = np.exp(-p.hazard.values[:, :, None] * times)
    np.testing.assert_allclose(surv.values, expected, rtol=1e-12)


def test_pooled_posterior_sits_on_the_full_data_posterior(pooled, leukemia):
    """Reconstructions of a curve read with its at-risk table carry nearly the full data."""
    _, p = pooled
    full = fit(IndividualData.from_frame(leukemia, "t", "status", "arm"), arms=QUICK_FIT["arms"],
               family="exponential", seed=3, **SETTINGS)  # fmt: skip
    hr_full = full.idata["posterior"]["hazard_ratio"].sel(arm="treated").values.ravel()
    hr_pooled = p.hazard_ratio.sel(arm="treated").values
    assert abs(np.median(np.log(hr_pooled)) - np.median(np.log(hr_full))) < 0.1
    sd_ratio = np.std(np.log(hr_pooled)) / np.std(np.log(hr_full))
    assert 0.9 < sd_ratio < 1.2
    lo, hi = p.interval("hazard_ratio", "treated", prob=0.95)
    assert lo < 0.2076 < hi  # R coxph on the full data (tests/reference/ref_reconstruct_full.csv)


def test_same_seed_same_pooled_numbers(pooled):
    rec, p = pooled
    again = pooled_fit(rec, family="exponential", seed=3, **SETTINGS)
    assert np.array_equal(again.hazard_ratio.values, p.hazard_ratio.values)
    table = p.summary(prob=0.9)
    assert table["quantity"].tolist() == ["hazard[control]", "hazard[treated]",
                                          "hazard_ratio[treated]", "median[control]",
                                          "median[treated]"]  # fmt: skip


def test_pooled_fit_needs_plausible_reconstructions():
    rec = reconstruct(CURVES / "leukemia.toml")
    with pytest.raises(ValueError, match=r"needs the same number \(>= 1\) of plausible"):
        pooled_fit(rec)


def test_mcmc_pooling_of_a_bare_curve_matches_the_closed_form_pooling():
    """The pooled MCMC fit and the closed-form pooling of the coverage simulation agree.

    One simulated trial (150 per arm, Exponential, HR 0.7, censoring uniform over 150 weeks)
    whose bare curves (no at-risk table, no total events) are reconstructed 8 times with the
    censoring drawn from the study's (true) censoring model. With 150 patients per arm the
    prior barely matters, so the weakly informative MCMC fits and the nearly flat conjugate
    posteriors must give the same pooled log HR interval (within 0.05).
    """
    from resurv.reconstruct import digitise, exponential_posterior
    from resurv.study import parse_study
    from resurv.study.digitised import ReadingError

    rng = np.random.default_rng(42)
    weeks_per_year = 365.25 / 7
    lam = {"control": np.log(2) / 50.0, "treated": 0.7 * np.log(2) / 50.0}
    curves = []
    for arm, rate in lam.items():
        t, c = rng.exponential(1 / rate, 150), rng.uniform(0, 150, 150)
        curve = digitise(np.minimum(t, c), (t <= c) * 1, arm=arm, rng=rng,
                         error=ReadingError(1.5, 0.01), with_total_events=False)  # fmt: skip
        curves.append({"arm": arm, "points": [list(p) for p in zip(curve.time, curve.survival,
                                                                    strict=True)],
                       "reading_error": {"time": 1.5, "survival": 0.01}})  # fmt: skip
    end = 2000 + 150 / weeks_per_year
    study = parse_study({
        "study": {"id": "bare", "title": "t", "citation": "c", "time_unit": "weeks",
                  "reference_arm": "control"},
        "censoring": {"accrual": [2000.0, end], "close": end},
        "arm": [{"id": "control", "n": 150}, {"id": "treated", "n": 150}],
        "curve": curves,
    })  # fmt: skip
    rec = reconstruct(study, plausible=8, seed=5)
    mcmc = pooled_fit(rec, family="exponential", seed=9, **SETTINGS)
    assert mcmc.passed
    lo, hi = np.log(mcmc.interval("hazard_ratio", "treated", prob=0.9))
    draws = []
    for m in range(8):
        data = {a.curve.arm: (a.plausible[m].time, a.plausible[m].event) for a in rec.arms}
        post = exponential_posterior(data, reference_arm="control", size=4000,
                                     rng=np.random.default_rng(m))  # fmt: skip
        draws.append(post["log_hr"])
    clo, chi = np.quantile(np.concatenate(draws), [0.05, 0.95])
    assert abs(lo - clo) < 0.05 and abs(hi - chi) < 0.05, (lo, hi, clo, chi)
