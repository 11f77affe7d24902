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
