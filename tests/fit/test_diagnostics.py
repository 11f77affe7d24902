"""The diagnostics gate passes good samples and CAN fail: hand-built DataTrees with defects."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr

from resurv.fit.diagnostics import DEFAULT_THRESHOLDS, check

CHAINS, DRAWS = 4, 1000


def make_tree(rng, *, stuck_chain=None, divergent=0, energy=None, rho=0.0, saturated=None):
    """Four chains of independent N(0, 1) draws of a scalar and a 2-vector, and sampler stats.

    ``stuck_chain``: that chain of ``mu`` sits at 3 (as a chain stuck in another mode would).
    ``divergent``: number of transitions flagged divergent. ``energy``: replaces the i.i.d.
    N(0, 1) energies. ``rho``: AR(1) autocorrelation of ``mu`` (ESS about N (1 - rho) / (1 + rho)).
    ``saturated``: ``(name, count)``, record that many transitions as having hit the maximum tree
    depth under nutpie's (``maxdepth_reached``) or PyMC's (``reached_max_treedepth``) name.
    """
    mu = rng.normal(size=(CHAINS, DRAWS))
    if rho:
        for n in range(1, DRAWS):
            mu[:, n] = rho * mu[:, n - 1] + np.sqrt(1 - rho**2) * mu[:, n]
    if stuck_chain is not None:
        mu[stuck_chain] = 3.0 + 0.01 * rng.normal(size=DRAWS)
    beta = rng.normal(size=(CHAINS, DRAWS, 2))
    posterior = xr.Dataset(
        {
            "mu": (("chain", "draw"), mu),
            "beta": (("chain", "draw", "arm"), beta),
            "one": (("chain", "draw"), np.ones((CHAINS, DRAWS))),  # e.g. HR of the reference arm
        },
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS), "arm": ["a", "b"]},
    )
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.flat[rng.choice(CHAINS * DRAWS, size=divergent, replace=False)] = True
    energy = rng.normal(size=(CHAINS, DRAWS)) if energy is None else energy
    stats = xr.Dataset(
        {"diverging": (("chain", "draw"), diverging), "energy": (("chain", "draw"), energy)},
        coords={"chain": np.arange(CHAINS), "draw": np.arange(DRAWS)},
    )
    if saturated is not None:
        name, count = saturated
        hit = np.zeros((CHAINS, DRAWS), dtype=bool)
        hit.flat[rng.choice(CHAINS * DRAWS, size=count, replace=False)] = True
        stats[name] = (("chain", "draw"), hit)
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def test_good_sample_passes_silently(capsys):
    diag = check(make_tree(np.random.default_rng(1)))
    assert diag.passed, diag.to_text()
    assert diag.failures == ()
    assert capsys.readouterr().out == ""  # prints nothing unless asked
    assert list(diag.table.index) == ["mu", "beta[a]", "beta[b]"]  # the constant is not gated
    assert diag.divergences == 0
    assert diag.n_chains == CHAINS and diag.n_draws == DRAWS
    # i.i.d. draws: R-hat near 1, ESS near the number of draws, MCSE/SD near 1/sqrt(N)
    assert (diag.table["r_hat"] < 1.01).all()
    assert (diag.table["ess_bulk"] > 0.7 * CHAINS * DRAWS).all()
    np.testing.assert_allclose(diag.table["mcse_rel"], 1 / np.sqrt(CHAINS * DRAWS), rtol=0.3)
    assert "PASSED" in diag.to_text()
    json.dumps(diag.to_dict())  # JSON-safe for run.json


def test_ebfmi_matches_arviz_and_its_iid_value():
    """Independent of our formula: ``az.bfmi``; and for i.i.d. energies E-BFMI -> 2."""
    tree = make_tree(np.random.default_rng(2))
    diag = check(tree)
    np.testing.assert_allclose(diag.bfmi, az.bfmi(tree)["energy"].values, rtol=1e-12)
    # E[(E_n - E_{n-1})^2] / Var(E) = 2 for independent energies; SE about 0.07 at N = 1000
    np.testing.assert_allclose(diag.bfmi, 2.0, atol=0.3)


def test_stuck_chain_fails_rhat():
    diag = check(make_tree(np.random.default_rng(3), stuck_chain=2))
    assert not diag.passed
    rhat = [f for f in diag.failures if f.check == "rhat"]
    assert [f.where for f in rhat] == ["mu"]
    assert rhat[0].value > 1.5 and rhat[0].threshold == DEFAULT_THRESHOLDS["rhat_max"]
    assert "more tuning" in rhat[0].fix
    text = diag.to_text()
    assert "FAILED" in text and "rhat of mu is" in text and "threshold 1.01" in text


def test_divergences_fail_with_the_count():
    diag = check(make_tree(np.random.default_rng(4), divergent=7))
    (failure,) = diag.failures
    assert (failure.check, failure.value, failure.threshold) == ("divergences", 7, 0)
    assert "target_accept" in failure.fix
    assert check(make_tree(np.random.default_rng(4), divergent=7), max_divergences=7).passed


def test_low_ebfmi_flags_the_chain():
    rng = np.random.default_rng(5)
    energy = rng.normal(size=(CHAINS, DRAWS))
    energy[1] = np.cumsum(rng.normal(size=DRAWS))  # a random walk: E-BFMI near 0
    diag = check(make_tree(rng, energy=energy))
    (failure,) = diag.failures
    assert (failure.check, failure.where) == ("bfmi", "chain 1")
    assert failure.value < 0.05 and "tune" in failure.fix


def test_autocorrelated_chain_fails_ess_and_mcse():
    # AR(1) with rho = 0.98: ESS about 4000 * 0.02 / 1.98 = 40
    diag = check(make_tree(np.random.default_rng(6), rho=0.98))
    failed = {(f.check, f.where) for f in diag.failures}
    assert {("ess_bulk", "mu"), ("ess_tail", "mu"), ("mcse_rel", "mu")} <= failed
    assert all(f.where == "mu" for f in diag.failures)
    ess = diag.table.loc["mu", "ess_bulk"]
    assert 10 < ess < 150
    # thresholds are keyword arguments: relaxed ones pass the same sample
    assert check(
        make_tree(np.random.default_rng(6), rho=0.98),
        ess_bulk_min=10,
        ess_tail_min=10,
        mcse_rel_max=0.5,
        rhat_max=1.1,
    ).passed


def test_var_names_restrict_the_gate():
    tree = make_tree(np.random.default_rng(7), stuck_chain=0)
    assert check(tree, var_names=["beta"]).passed
    assert not check(tree, var_names=["mu", "beta"]).passed


def test_bad_inputs_say_what_is_allowed():
    tree = make_tree(np.random.default_rng(8))
    with pytest.raises(ValueError, match=r"var_names \['nope'\] are not in the posterior"):
        check(tree, var_names=["nope"])
    with pytest.raises(ValueError, match="idata has no posterior group"):
        check(xr.DataTree.from_dict({"sample_stats": tree["sample_stats"].to_dataset()}))


def test_without_sample_stats_only_convergence_is_checked():
    tree = make_tree(np.random.default_rng(9))
    diag = check(xr.DataTree.from_dict({"posterior": tree["posterior"].to_dataset()}))
    assert diag.passed and diag.divergences == -1 and diag.bfmi.size == 0


@pytest.mark.parametrize("name", ["maxdepth_reached", "reached_max_treedepth"])
def test_tree_depth_saturation_fails_above_the_threshold(name):
    # 1% of 4000 transitions = 40: 40 passes, 41 fails
    at_limit = check(make_tree(np.random.default_rng(8), saturated=(name, 40)))
    assert at_limit.passed, at_limit.to_text()
    assert at_limit.treedepth_frac == pytest.approx(0.01)
    diag = check(make_tree(np.random.default_rng(8), saturated=(name, 41)))
    (failure,) = diag.failures
    assert (failure.check, failure.where) == ("treedepth", "all")
    assert failure.value == pytest.approx(41 / 4000)
    assert failure.threshold == DEFAULT_THRESHOLDS["treedepth_frac_max"] == 0.01
    assert "reparameterise" in failure.fix
    assert "treedepth of all is 0.01025 (> threshold 0.01)" in diag.to_text()
    assert diag.to_dict()["treedepth_frac"] == pytest.approx(41 / 4000)
    assert check(
        make_tree(np.random.default_rng(8), saturated=(name, 41)), treedepth_frac_max=0.02
    ).passed


def test_tree_depth_not_recorded_is_not_a_failure():
    diag = check(make_tree(np.random.default_rng(9)))
    assert diag.passed and np.isnan(diag.treedepth_frac)
