"""Prior sets of one structure share a compiled model; their hyperparameters are data."""

from __future__ import annotations

import numpy as np
import pytest

from resurv.fit import cache as _compile
from resurv.fit.sampling import fit
from resurv.model.individual_data import IndividualData
from resurv.model.priors import get_prior_set, prior_data, prior_structure

ARMS = ("a", "b")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    t = rng.exponential([5.0] * 15 + [2.0] * 15)
    c = rng.uniform(1, 8, 30)
    arm = np.array(["a"] * 15 + ["b"] * 15)
    return IndividualData(np.minimum(t, c), t <= c, arm, arms=ARMS)


def test_normal_and_flat_prior_sets_share_a_structure():
    names = ("weakly_informative", "sceptical", "enthusiastic", "reference")
    sets = [get_prior_set(n) for n in names]
    assert len({prior_structure(s) for s in sets}) == 1  # the Flat set is switched by data
    arrays = [prior_data(s, "weibull", ARMS, "a") for s in sets]
    assert arrays[0].keys() == arrays[1].keys()
    assert arrays[0]["prior__log_hr__sigma"] != arrays[1]["prior__log_hr__sigma"]
    assert "prior__log_shape__mu" not in prior_data(sets[0], "exponential", ARMS, "a")


def test_swapped_hyperparameters_give_the_freshly_compiled_posterior(data):
    """A fit served from the cache with another prior's hyperparameters equals a fit whose
    model was compiled for that prior alone: the prior really changes, nothing is stale."""
    kw = dict(arms=ARMS, family="exponential", draws=1000, tune=500, chains=2, seed=3)
    _compile.clear_cache()
    fit(data, prior="weakly_informative", **kw)
    hits = _compile.cache_info()
    via_cache = fit(data, prior="sceptical", **kw)
    assert _compile.cache_info()["hits"] == hits["hits"] + 1
    _compile.clear_cache()
    fresh = fit(data, prior="sceptical", **kw)
    a = via_cache.idata["posterior"]["log_hr"].values
    b = fresh.idata["posterior"]["log_hr"].values
    np.testing.assert_array_equal(a, b)
    wide = fit(data, prior="weakly_informative", **kw).idata["posterior"]["log_hr"].values
    assert not np.array_equal(a, wide)
    # the improper reference set through the same compiled model: switched off, not stale
    flat_via_cache = fit(data, prior="reference", **kw).idata["posterior"]["log_hr"].values
    _compile.clear_cache()
    flat_fresh = fit(data, prior="reference", **kw).idata["posterior"]["log_hr"].values
    np.testing.assert_array_equal(flat_via_cache, flat_fresh)
    assert not np.array_equal(flat_fresh, wide)
