"""Shared fixtures. Keep small: one fixture per idea, seeded, no fitting here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

#: arms of the two-arm fits in the tests (the first is the reference arm)
ARMS = ("control", "treated")
#: settings of quick fits that pass the default diagnostics on the test data sets; with ARMS,
#: the weakly informative prior in weeks and an IndividualData term named "individual", every
#: fast exponential fit shares one compiled model (one compile per test run)
QUICK_FIT = {
    "arms": ARMS,
    "prior": "weakly_informative",
    "prior_kwargs": {"time_unit": "weeks"},
    "draws": 1000,
    "tune": 700,
    "chains": 2,
}


@pytest.fixture(scope="session")
def leukemia() -> pd.DataFrame:
    """Freireich 6-MP vs placebo (lifelines ``load_leukemia``), weeks, with an ``arm`` column.

    ``Rx == 1`` is placebo ("control", 21 patients, 21 relapses, 182 patient-weeks) and
    ``Rx == 0`` is 6-MP ("treated", 21 patients, 9 relapses, 359 patient-weeks).
    """
    from lifelines.datasets import load_leukemia

    df = load_leukemia()
    return df.assign(arm=np.where(df["Rx"] == 1, "control", "treated"))


def simulate_arms(rng, lam, k, n, censor_max, family="weibull"):
    """Simulate right-censored times: ``S(t) = exp(-lam t**k)`` per arm, ``C ~ U(0, censor_max)``.

    ``lam`` and ``n`` are per arm (in ``ARMS`` order). Returns ``(time, event, arm)``.
    """
    from resurv.model.families import get_family

    fam = get_family(family)
    times, events, arms = [], [], []
    for arm, lam_a, n_a in zip(ARMS, lam, n, strict=True):
        t = fam.sample(rng, lam_a, k, size=n_a)
        c = rng.uniform(0.0, censor_max, size=n_a)
        times.append(np.minimum(t, c))
        events.append(t <= c)
        arms.append(np.full(n_a, arm))
    return np.concatenate(times), np.concatenate(events), np.concatenate(arms)


@pytest.fixture(scope="session")
def quick_fit() -> dict:
    """A copy of :data:`QUICK_FIT` (keyword arguments of ``resurv.fit.fit``)."""
    return {**QUICK_FIT, "prior_kwargs": dict(QUICK_FIT["prior_kwargs"])}


@pytest.fixture
def simulate():
    """The cohort simulator :func:`simulate_arms` (times are > 0 almost surely)."""
    return simulate_arms
