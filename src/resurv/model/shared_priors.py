"""One compiled model for the proper and the improper (reference) prior sets of a family.

A compiled model depends on the distributions of its priors, not on their parameters, which
enter as data (:func:`resurv.model.priors.prior_data`). The registry's sets differ in one more
way: the reference set puts improper Flat priors on ``log lam[ref]`` (``baseline_scale
"log_rate"``) and on ``log_hr``, the others Normal priors on ``log median[ref]`` and
``log_hr``. Compiled separately, a study with both needs two structures per family, and a
structure costs seconds to compile. This module writes both as one model, with the
difference switched by data.

The switched model
------------------
Its free variables are :data:`BASELINE` (the reference arm's baseline on the prior set's own
scale), ``log_hr`` and, for the Weibull, ``log_shape``, with Normal distributions whose
parameters are data, plus a ``pm.Potential`` named :data:`POTENTIAL`::

    log lam[ref] = on_log_rate * b + (1 - on_log_rate) * (log(log 2) - k * b)
    potential    = - flat_baseline * log N(b | mu_b, sigma_b)
                   - flat_hr       * sum log N(log_hr | mu_hr, sigma_hr)

with ``b`` = :data:`BASELINE`. For a Normal set (a Normal prior on the log median) the
switches are 0 and the model is that set's native model, in the same coordinates. A set with
a Flat baseline cancels the Normal density exactly (the same graph evaluated twice, so
``x - x = 0`` in floating point, gradient included), leaving a flat density on ``b``; with
``on_log_rate = 1`` (the reference set: Flat on ``log lam[ref]``) ``b`` *is* ``log lam[ref]``,
so the model is again the native one, coordinates included. The coordinates matter to NUTS:
with few events the flat posterior is far better conditioned in ``log lam`` than in the log
median, where the Weibull's reference fit of the flagship diverged. The line for ``log_hr``
does the same for a Flat prior on the log hazard ratio. The Normal parameters of a
cancelled density are placeholders (mean 0, SD 1). The model adds the deterministic
``log_median_reference`` (``(log(log 2) - log lam[ref]) / k``) whatever the scale.

The forward-sampling view of a switched model with a Flat prior is not its prior: PyMC
ignores potentials when it draws from a model, so an improper set must never be sampled
from the model (its marginal likelihood and prior predictive are undefined, and resurv
computes neither).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from resurv.model.prior_values import Prior, PriorSet

__all__ = [
    "BASELINE",
    "POTENTIAL",
    "STRUCTURE",
    "switchable",
    "switched_data",
    "switched_parameters",
]

#: name of the model's potential that switches the Normal densities off
POTENTIAL = "prior__improper"
#: the free baseline variable of a switched model (log median or log rate of the reference arm)
BASELINE = "baseline_reference"
#: the structure tag of a switched model (in place of the baseline and log_hr distributions)
STRUCTURE = "Normal|Flat"

_PLACEHOLDER = (("mu", 0.0), ("sigma", 1.0))


def _baseline_kind(prior_set: PriorSet) -> str | None:
    """``"normal"``, ``"flat_median"``, ``"flat_rate"``, or None if the baseline is another."""
    dist, scale = prior_set.baseline.distribution, prior_set.baseline_scale
    if dist == "Normal" and scale == "log_median":
        return "normal"
    if dist == "Flat" and scale == "log_median":
        return "flat_median"
    if dist == "Flat" and scale == "log_rate":
        return "flat_rate"
    return None


def switchable(prior_set: PriorSet) -> bool:
    """Whether ``prior_set`` compiles as the switched model (Normal or Flat, as above)."""
    return _baseline_kind(prior_set) is not None and prior_set.log_hr.distribution in (
        "Normal",
        "Flat",
    )


def _normal_params(prior: Prior, flat: bool) -> tuple[tuple[str, float], ...]:
    return _PLACEHOLDER if flat else tuple((n, float(v)) for n, v in prior.params)


def switched_data(
    prior_set: PriorSet, prefix: str, *, with_hr: bool, with_shape: bool
) -> dict[str, np.ndarray]:
    """The data of the baseline and ``log_hr`` priors of a switched model, by container name.

    ``with_hr``: the model has non-reference arms; ``with_shape``: a free shape (Weibull),
    without which the scale switch changes nothing (``k = 1``) and is left out.
    """
    kind = _baseline_kind(prior_set)
    if kind is None or not switchable(prior_set):
        raise ValueError(f"prior set {prior_set.name!r} cannot be switched: {prior_set}")
    base = f"{prefix}{BASELINE}__"
    out = {base + n: v for n, v in _normal_params(prior_set.baseline, kind != "normal")}
    out[base + "flat"] = float(kind != "normal")
    if with_shape:
        out[base + "on_log_rate"] = float(kind == "flat_rate")
    if with_hr:
        flat_hr = prior_set.log_hr.distribution == "Flat"
        hr = f"{prefix}log_hr__"
        out.update({hr + n: v for n, v in _normal_params(prior_set.log_hr, flat_hr)})
        out[hr + "flat"] = float(flat_hr)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def switched_parameters(
    prior_set: PriorSet, prefix: str, *, log_shape, k, has_hr: bool
) -> tuple[pt.TensorVariable, pt.TensorVariable | None]:
    """Create :data:`BASELINE`, ``log_hr`` (if ``has_hr``), the potential and the median.

    ``log_shape`` and ``k`` are the model's log shape variable and shape (None and 1 for the
    Exponential). Returns ``log lam[ref]`` and ``log_hr`` (dims ``"comparison"``, which the
    caller has added).
    """
    data = {
        name: pm.Data(name, value)
        for name, value in switched_data(
            prior_set, prefix, with_hr=has_hr, with_shape=log_shape is not None
        ).items()
    }
    base = f"{prefix}{BASELINE}__"
    mu, sigma = data[base + "mu"], data[base + "sigma"]
    b = pm.Normal(BASELINE, mu=mu, sigma=sigma)
    improper = -data[base + "flat"] * pm.logp(pm.Normal.dist(mu=mu, sigma=sigma), b)
    log_lam_ref = np.log(np.log(2.0)) - k * b
    if log_shape is not None:  # for the Exponential the two scales are the same up to a sign
        on_rate = data[base + "on_log_rate"]
        log_lam_ref = on_rate * b + (1.0 - on_rate) * log_lam_ref
    pm.Deterministic("log_median_reference", (np.log(np.log(2.0)) - log_lam_ref) / k)
    log_hr = None
    if has_hr:
        hr = f"{prefix}log_hr__"
        mu, sigma = data[hr + "mu"], data[hr + "sigma"]
        log_hr = pm.Normal("log_hr", mu=mu, sigma=sigma, dims="comparison")
        density = pm.logp(pm.Normal.dist(mu=mu, sigma=sigma), log_hr)
        improper = improper - data[hr + "flat"] * pt.sum(density)
    pm.Potential(POTENTIAL, improper)
    return log_lam_ref, log_hr
