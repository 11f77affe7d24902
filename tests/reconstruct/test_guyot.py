"""Guyot's algorithm against cases whose answer is known.

- A curve without censoring, read exactly: the deaths at each step are ``n`` times the drop.
- Brute force on random small cohorts: with the curve read exactly and the at-risk table
  printed at every step, the Kaplan-Meier product is invertible step by step, so the
  reconstruction must give the true deaths at every death time and the true curve.
- The printed total events and the printed numbers at risk are honoured.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests_paths import REFERENCE

from resurv.frequentist import kaplan_meier
from resurv.frequentist.kaplan_meier import km_survival_at
from resurv.reconstruct import accuracy, at_risk_table, guyot, invert_with_censoring
from resurv.reconstruct.digitise import monotone_curve, non_increasing


def test_no_censoring_gives_n_times_each_drop():
    # 10 patients, deaths 2, 1, 3 at t = 1, 2, 4; 4 alive at the end (t = 6)
    t = [1.0, 2.0, 4.0, 6.0]
    s = [0.8, 0.7, 0.4, 0.4]
    r = guyot(t, s, n=10)
    assert r.deaths.tolist() == [0, 2, 1, 3, 0]
    assert r.n == 10 and r.event.sum() == 6
    assert np.all(r.time[r.event == 0] == 6.0)
    assert np.allclose(km_survival_at(r.time, r.event, t), s)


def _exact_digitisation(time, event):
    km = kaplan_meier(time, event)
    steps = km[km["deaths"] > 0]
    return steps["time"].to_numpy(), steps["survival"].to_numpy(), steps["deaths"].to_numpy()


@pytest.mark.parametrize("seed", range(40))
def test_brute_force_exact_reading_recovers_every_death(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 16))
    t = np.round(rng.exponential(5.0, n), 1) + 0.1
    c = np.round(rng.uniform(0, 12, n), 1) + 0.05  # censorings never tie with deaths
    time, event = np.minimum(t, c), (t <= c).astype(int)
    if event.sum() == 0:
        pytest.skip("no death to reconstruct")
    pt, ps, true_deaths = _exact_digitisation(time, event)
    risk_time = np.concatenate([[0.0], pt])
    risk_n = at_risk_table(time, risk_time)
    r = guyot(pt, ps, risk_time, risk_n, total_events=int(event.sum()))
    got = pd.Series(r.time[r.event == 1]).value_counts().sort_index()
    assert got.index.tolist() == pytest.approx(pt.tolist())
    assert got.tolist() == true_deaths.tolist()
    assert r.n == n
    assert np.allclose(km_survival_at(r.time, r.event, pt), ps)


def test_total_events_are_honoured_without_an_at_risk_table():
    g = pd.read_csv(REFERENCE / "gehan.csv").query("treat == '6-MP'")
    pt, ps, _ = _exact_digitisation(g.time, g.cens)
    none = guyot(pt, ps, n=21)  # no censoring assumed: too many deaths
    given = guyot(pt, ps, n=21, total_events=9)
    assert none.event.sum() > 9
    assert given.event.sum() == 9 and given.n == 21


def test_printed_numbers_at_risk_are_met():
    g = pd.read_csv(REFERENCE / "gehan.csv").query("treat == '6-MP'")
    pt, ps, _ = _exact_digitisation(g.time, g.cens)
    rt = np.arange(0.0, 35.0, 5.0)
    rn = at_risk_table(g.time, rt)
    r = guyot(pt, ps, rt, rn, total_events=9)
    acc = accuracy(r, total_events=9)
    table = acc.intervals
    assert table["at_risk_reconstructed"].tolist() == table["at_risk_printed"].tolist()
    assert table["deaths"].sum() == 9 and table["censored"].sum() == 12
    assert acc.deaths == 9 and acc.censored == 12


def test_accuracy_is_the_error_at_the_digitised_points():
    t, s = [1.0, 2.0, 3.0], [0.9, 0.62, 0.5]  # 0.62 cannot be read from 10 patients
    r = guyot(t, s, n=10)
    km = km_survival_at(r.time, r.event, r.point_time)
    diff = km - r.point_survival
    acc = accuracy(r)
    assert acc.rmse == pytest.approx(np.sqrt(np.mean(diff**2)))
    assert acc.max_error == pytest.approx(0.02)  # 0.6 reconstructed (6 of 10 alive)


def test_same_input_same_output_and_random_censoring_only_moves_censorings():
    g = pd.read_csv(REFERENCE / "gehan.csv").query("treat == '6-MP'")
    pt, ps, _ = _exact_digitisation(g.time, g.cens)
    rt, rn = np.arange(0.0, 35.0, 5.0), at_risk_table(g.time, np.arange(0.0, 35.0, 5.0))
    a, b = guyot(pt, ps, rt, rn), guyot(pt, ps, rt, rn)
    assert np.array_equal(a.time, b.time) and np.array_equal(a.event, b.event)
    c = guyot(pt, ps, rt, rn, rng=np.random.default_rng(3))
    d = guyot(pt, ps, rt, rn, rng=np.random.default_rng(3))
    assert np.array_equal(c.time, d.time)
    assert not np.array_equal(np.sort(a.time[a.event == 0]), np.sort(c.time[c.event == 0]))


def test_inversion_with_known_censoring_times_is_exact():
    g = pd.read_csv(REFERENCE / "gehan.csv").query("treat == '6-MP'")
    pt, ps, _ = _exact_digitisation(g.time, g.cens)
    # the true censoring times, and "never" for patients who died
    potential = np.where(g.cens == 0, g.time, np.inf)
    r = invert_with_censoring(pt, ps, 21, potential)
    assert r.event.sum() == 9
    assert np.allclose(km_survival_at(r.time, r.event, pt), ps)


def test_monotone_projection_is_least_squares_and_monotone():
    y = np.array([1.0, 0.9, 0.95, 0.7, 0.72, 0.71, 0.3])
    p = non_increasing(y)
    assert np.all(np.diff(p) <= 0)
    assert p.tolist() == pytest.approx([1.0, 0.925, 0.925, 0.71, 0.71, 0.71, 0.3])
    t, s = monotone_curve([2.0, 1.0, -0.1], [0.5, 0.6, 1.2])
    assert t.tolist() == [0.0, 1.0, 2.0] and s.max() <= 1.0


@pytest.mark.parametrize("seed", range(20))
def test_noisy_readings_keep_every_patient(seed):
    """Whatever the reading error, a reconstruction has exactly the arm's patients."""
    from resurv.reconstruct import digitise
    from resurv.study.digitised import ReadingError

    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(5, 80))
    t, c = rng.exponential(10.0, n), rng.uniform(0, 30, n)
    time, event = np.minimum(t, c), (t <= c).astype(int)
    error = ReadingError(time=float(rng.uniform(0, 1.0)), survival=float(rng.uniform(0, 0.03)))
    risk = np.arange(0.0, 30.0, float(rng.choice([3.0, 5.0, 10.0])))
    curve = digitise(time, event, arm="a", error=error, rng=rng, risk_times=risk,
                     with_total_events=bool(rng.integers(2)))  # fmt: skip
    r = guyot(curve.time, curve.survival, curve.risk_time, curve.risk_n,
              total_events=curve.total_events)  # fmt: skip
    assert r.n == n
    assert np.all(r.time > 0) and set(np.unique(r.event)) <= {0, 1}
    assert np.all(np.diff(r.km) <= 1e-12)


def test_accuracy_table_lists_every_printed_at_risk_row():
    """A printed row whose interval holds no digitised point is still shown, and met."""
    from tests_paths import CURVES

    from resurv.reconstruct import reconstruct

    rec = reconstruct(CURVES / "leukemia.toml")
    table = rec.intervals().query("arm == 'treated'")
    curve = rec.arm("treated").curve
    assert table["start"].tolist() == list(curve.risk_time)  # includes week 25 (no point)
    assert table["at_risk_reconstructed"].tolist() == list(curve.risk_n)
    assert table["deaths"].sum() == 9 and table["censored"].sum() == 12
