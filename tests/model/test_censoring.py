"""Censoring model and cell probabilities: closed forms, scipy quad, simulation."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate

from resurv.errors import AuditError, StudyError
from resurv.model.censoring import CensoringModel, cell_probabilities, effective_sizes
from resurv.model.likelihood import QUICK_MODE
from resurv.study.schema import Censoring, Study

FLAGSHIP = CensoringModel(1981, 1998, 1999)  # Grazi 2000: accrual 1981-1998, close 1999
MODELS = {
    "flagship": FLAGSHIP,
    "close_at_end_with_loss": CensoringModel(1990, 1995, 1995, loss_rate=0.1),
    "months_with_loss": CensoringModel(1990, 1991, 1993, loss_rate=0.02, time_unit="months"),
}
GRIDS = {
    "yearly": np.arange(5.0),
    "uneven": np.array([0.0, 0.5, 1.0, 3.0, 4.0, 10.0]),
    "past_max_followup": np.linspace(0.0, 30.0, 7),
}
PARAMS = [(0.02, 1.0), (0.5, 0.3), (2.0, 0.3), (0.1, 3.0), (1.5, 2.2), (0.05, 0.5), (8.0, 1.0)]


def quad_cells(cm, lam, k, cuts):
    """Cells by adaptive quadrature of the defining integrals (no integration by parts)."""

    def surv(t):
        return np.exp(-lam * t**k)

    def dens(t):
        return lam * k * t ** (k - 1) * surv(t)

    death, cens = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        pts = [p for p in cm.breakpoints if a < p < b] or None
        kw = {"points": pts, "epsabs": 1e-14, "epsrel": 1e-12, "limit": 200}
        death.append(integrate.quad(lambda t: dens(t) * cm.survival(t), a, b, **kw)[0])
        cens.append(integrate.quad(lambda t: cm.density(t) * surv(t), a, b, **kw)[0])
    return np.array(death), np.array(cens), surv(cuts[-1]) * cm.survival(cuts[-1])


def test_survival_and_density_closed_form():
    cm = MODELS["close_at_end_with_loss"]  # follow-up uniform on [0, 5] years, loss 0.1/year
    t = np.array([-1.0, 0.0, 1.0, 2.5, 5.0, 7.0])
    expected = np.exp(-0.1 * np.maximum(t, 0)) * np.clip((5 - t) / 5, 0, 1)
    np.testing.assert_allclose(cm.survival(t), expected, rtol=1e-14)
    # g = -G' by central differences away from the breakpoints
    s = np.array([0.3, 1.7, 4.2, 6.0])
    h = 1e-6
    numeric = -(cm.survival(s + h) - cm.survival(s - h)) / (2 * h)
    np.testing.assert_allclose(cm.density(s), numeric, rtol=1e-7, atol=1e-12)
    assert FLAGSHIP.breakpoints == (1.0, 18.0)
    assert MODELS["close_at_end_with_loss"].breakpoints == (5.0,)


def test_from_study_and_time_units():
    study = Study(
        id="s",
        title="t",
        citation="c",
        time_unit="months",
        rounding="either",
        cohort_n=None,
        reference_arm="a",
        arms=(),
        figures=(),
        censoring=Censoring(1981.0, 1998.0, 1999.0),
    )
    cm = CensoringModel.from_study(study)
    assert (cm.min_followup, cm.max_followup) == (12.0, 216.0)
    assert CensoringModel.from_study(study, close=2001.0).max_followup == 240.0
    weeks = CensoringModel(2000, 2001, 2001, time_unit="weeks")
    assert weeks.max_followup == pytest.approx(365.25 / 7)


BAD_SETTINGS = {
    "accrual": ({"accrual_end": 1990}, "censoring.accrual", "positive length"),
    "close": ({"close": 1994}, "censoring.close", "before the end"),
    "loss": ({"loss_rate": -1}, "censoring.loss_rate", ">= 0"),
    "unit": ({"time_unit": "hours"}, "study.time_unit", "allowed"),
}


@pytest.mark.parametrize(("change", "field", "match"), BAD_SETTINGS.values(), ids=BAD_SETTINGS)
def test_invalid_settings_name_the_field(change, field, match):
    settings = {"accrual_start": 1990, "accrual_end": 1995, "close": 1996} | change
    with pytest.raises(StudyError, match=match) as info:
        CensoringModel(**settings)
    assert info.value.field == field


def test_sample_matches_survival_function():
    cm = MODELS["close_at_end_with_loss"]
    rng = np.random.default_rng(11)
    c, entry = cm.sample(rng, 200_000, return_entry=True)
    assert np.all((entry >= 1990) & (entry <= 1995))
    t = np.array([0.5, 1.0, 2.5, 4.0, 4.9])
    emp = (c[:, None] > t).mean(axis=0)
    se = np.sqrt(cm.survival(t) * (1 - cm.survival(t)) / c.size)
    assert np.all(np.abs(emp - cm.survival(t)) < 4 * se)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("grid", GRIDS)
def test_cells_sum_to_one_and_match_quad(model, grid):
    cm, cuts = MODELS[model], GRIDS[grid]
    cells = cm.cells(cuts)
    for lam, k in PARAMS:
        p_death, p_cens, p_alive = cells.probabilities(lam, k)
        assert abs(p_death.sum() + p_cens.sum() + p_alive - 1) < 1e-10
        q_death, q_cens, q_alive = quad_cells(cm, lam, k, cuts)
        np.testing.assert_allclose(p_death, q_death, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(p_cens, q_cens, rtol=1e-9, atol=1e-11)
        assert p_alive == pytest.approx(q_alive, rel=1e-12, abs=1e-15)
        assert np.all(p_death >= 0) and np.all(p_cens >= 0)


def test_cells_closed_form_without_censoring_before_horizon():
    """Follow-up >= 5 for everyone: only deaths before t = 4, p_d = S(t_j) - S(t_j+1)."""
    cm = CensoringModel(1990, 1995, 2000)
    cuts = np.arange(5.0)
    p_death, p_cens, p_alive = cell_probabilities(0.3, 1.4, cuts, cm)
    s = np.exp(-0.3 * cuts**1.4)
    np.testing.assert_allclose(p_death, -np.diff(s), rtol=1e-13)
    assert np.all(p_cens == 0) and p_alive == pytest.approx(s[-1], rel=1e-14)
    cells = cm.cells(cuts)
    assert not cells.censoring_possible.any() and cells.death_possible.all()


def test_cells_pytensor_equal_numpy_with_finite_gradient():
    cells = FLAGSHIP.cells(np.arange(5.0))
    lam, k = pt.dscalar("lam"), pt.dscalar("k")
    p_death, p_cens, p_alive = cells.probabilities(lam, k)
    total = pt.log(p_death).sum() + pt.log(p_cens[1:]).sum() + pt.log(p_alive)
    outputs = [p_death, p_cens, p_alive, *pytensor.grad(total, [lam, k])]
    fn = pytensor.function([lam, k], outputs, mode=QUICK_MODE)
    for lam_v, k_v in [(0.02, 1.0), (0.4, 0.3), (0.05, 3.0)]:
        out = fn(lam_v, k_v)
        ref = cells.probabilities(lam_v, k_v)
        for a, b in zip(out[:3], ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        assert np.all(np.isfinite(out[3:]))


def test_cells_match_simulated_frequencies():
    """Independent check by simulation: 200 000 patients, chi-square over the 2K + 1 cells."""
    from resurv.model.simulate import interval_counts, simulate_cohort

    cm, cuts = MODELS["close_at_end_with_loss"], np.array([0.0, 1.0, 2.0, 4.0, 6.0])
    cohort = simulate_cohort(np.random.default_rng(5), "weibull", [0.2], 0.7, [200_000], cm)
    deaths, censored, alive = interval_counts(cohort["time"], cohort["event"], cuts)
    observed = np.concatenate([deaths, censored, [alive]])
    p_death, p_cens, p_alive = cm.cells(cuts).probabilities(0.2, 0.7)
    expected = 200_000 * np.concatenate([p_death, p_cens, [p_alive]])
    keep = expected > 0
    assert np.all(observed[~keep] == 0)
    chi2 = (((observed - expected) ** 2)[keep] / expected[keep]).sum()
    assert chi2 < 30.0  # 99.9% point of chi-square with <= 8 degrees of freedom is 26.1


def test_effective_sizes_closed_forms():
    no_censoring = CensoringModel(1990, 1995, 2005)  # everyone followed >= 10 years
    sizes = effective_sizes(40, [2.0, 5.0], [0.8, 0.5], no_censoring)
    np.testing.assert_allclose(sizes, [40.0, 40 * 0.8], rtol=1e-10)
    np.testing.assert_allclose(
        effective_sizes(40, [2.0, 5.0], [0.8, 0.5], no_censoring, "peto"), [40, 32]
    )
    # no deaths: the limit n * width / integral of 1/G; uniform follow-up on [0, 10], t = 5:
    uniform = CensoringModel(1990, 2000, 2000)
    expected = 30 * 5.0 / (10 * np.log(10 / 5))
    assert effective_sizes(30, [5.0], [1.0], uniform)[0] == pytest.approx(expected, rel=1e-9)
    greenwood = effective_sizes(30, [5.0], [0.6], uniform)[0]
    peto = effective_sizes(30, [5.0], [0.6], uniform, "peto")[0]
    assert 30 * 0.5 == pytest.approx(peto) and peto < greenwood < 30


def test_effective_size_matches_simulated_variance():
    """Variance of the actuarial estimate over simulated studies vs S (1 - S) / n_eff."""
    from resurv.model.simulate import interval_counts, simulate_many

    cm, n, lam, cuts = CensoringModel(1990, 1996, 1997), 200, 0.12, np.arange(4.0)
    sim = simulate_many(np.random.default_rng(3), "exponential", [[lam]] * 4000, None, [n], cm)
    deaths, censored, _ = interval_counts(sim["time"], sim["event"], cuts)
    at_risk = n - np.concatenate([np.zeros((4000, 1)), np.cumsum(deaths + censored, 1)[:, :-1]], 1)
    estimate = np.prod(1 - deaths / (at_risk - censored / 2), axis=1)
    s = np.exp(-lam * 3)
    n_eff = effective_sizes(n, [3.0], [s], cm)[0]
    assert n_eff < n
    assert estimate.var() == pytest.approx(
        s * (1 - s) / n_eff, rel=0.07
    )  # MC error of a variance from 4000 studies: 2.2%


def test_effective_sizes_refuse_impossible_landmarks():
    with pytest.raises(AuditError, match="no patient can be followed"):
        effective_sizes(10, [20.0], [0.5], FLAGSHIP)
    with pytest.raises(AuditError, match="non-increasing"):
        effective_sizes(10, [1.0, 2.0], [0.5, 0.6], FLAGSHIP)


@pytest.mark.parametrize("lam", [1e30, 1e300, np.inf])
@pytest.mark.parametrize("k", [0.01, 1.0, 20.0])
def test_overflowing_rates_give_cells_not_nan(lam, k):
    """Far prior tails (as SMC visits them) must give valid cells, never NaN (inf - inf)."""
    cm = CensoringModel(1981.0, 1998.0, 1999.0)
    p_death, p_cens, p_alive = cm.cells([0.0, 1.0, 2.0, 3.0, 4.0]).probabilities(lam, k)
    cells = np.concatenate([p_death, p_cens, [p_alive]])
    assert np.all(np.isfinite(cells)) and np.all(cells >= -1e-12)
    assert cells.sum() == pytest.approx(1.0, abs=1e-9)
