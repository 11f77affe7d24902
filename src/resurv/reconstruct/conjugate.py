"""Closed-form posteriors of the Exponential model, for checks and large simulations.

With a ``Gamma(shape=a, rate=b)`` prior on an arm's hazard ``lam`` (``S(t) = exp(-lam t)``),
individual data with ``d`` deaths over a total follow-up ``T`` give the posterior
``Gamma(a + d, b + T)``. The hazard ratio of an arm to the reference arm is the ratio of two
independent such draws. The coverage simulation of reconstructions
(:mod:`resurv.reconstruct.coverage`) analyses thousands of data sets this way: exact,
instant and free of Monte-Carlo diagnostics. The default prior ``a = b = 0.001`` (time unit
of the data) is nearly flat on ``log lam``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["exponential_posterior"]


def exponential_posterior(
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    reference_arm: str,
    size: int,
    rng: np.random.Generator,
    a: float = 0.001,
    b: float = 0.001,
) -> dict[str, np.ndarray]:
    """Posterior draws of each arm's ``lam`` and of ``log_hr`` of the other arm.

    ``data[arm] = (time, event)``. With two arms, ``log_hr`` is ``log(lam_other /
    lam_reference)``. Returns ``{"lam_<arm>": ..., "log_hr": ...}``, ``size`` draws each.
    """
    out = {}
    for arm, (time, event) in data.items():
        d = float(np.sum(event))
        total = float(np.sum(time))
        out[f"lam_{arm}"] = rng.gamma(a + d, 1.0 / (b + total), size=size)
    others = [arm for arm in data if arm != reference_arm]
    if len(others) == 1:
        out["log_hr"] = np.log(out[f"lam_{others[0]}"]) - np.log(out[f"lam_{reference_arm}"])
    return out
