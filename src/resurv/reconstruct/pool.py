"""The pooled posterior: one Bayesian fit per plausible reconstruction, mixed with equal weights.

Each plausible reconstruction (:mod:`resurv.reconstruct.plausible`) is pseudo-individual data
for every arm; it is fitted with :func:`resurv.fit.fit` as :class:`~resurv.fit.IndividualData`
(all reconstructions share one compiled model: the structure does not depend on the number
of patients), and the posterior draws of all fits are pooled. The pooled sample is a draw
from the mixture ``(1/M) sum_m p(theta | reconstruction m)``, which approximates the
posterior given the figure when the reconstructions are draws of the data given the figure;
its variance is the mean within-reconstruction variance plus the between-reconstruction
variance (as Rubin's rules for multiple imputation). The simulation of
:mod:`resurv.reconstruct.coverage` shows what this buys over one reconstruction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from resurv.errors import FitError
from resurv.fit import FitResult, IndividualData, fit
from resurv.reconstruct.core import Reconstruction

__all__ = ["PooledFit", "pooled_fit"]


@dataclass(frozen=True)
class PooledFit:
    """Posterior draws pooled over plausible reconstructions.

    Attributes
    ----------
    hazard, hazard_ratio, median : xarray.DataArray
        Pooled draws, dims ``(sample, arm)``; ``sample`` is ``reconstruction x chain x
        draw`` flattened, the same number of draws from every reconstruction.
    fits : tuple of FitResult
        The fit of each reconstruction, in draw order.
    reference_arm : str
    """

    hazard: xr.DataArray
    hazard_ratio: xr.DataArray
    median: xr.DataArray
    fits: tuple[FitResult, ...]
    reference_arm: str

    @property
    def passed(self) -> bool:
        """Whether every fit passed its diagnostics."""
        return all(f.passed for f in self.fits)

    def interval(self, quantity: str, arm: str, prob: float = 0.9) -> tuple[float, float]:
        """Equal-tailed ``prob`` interval of ``hazard``, ``hazard_ratio`` or ``median``."""
        x = getattr(self, quantity).sel(arm=arm).values
        q = np.quantile(x, [(1 - prob) / 2, (1 + prob) / 2])
        return float(q[0]), float(q[1])

    def surv_at(self, times) -> xr.DataArray:
        """Pooled draws of ``S(t)``, dims ``(sample, arm, time)``, thinned as the other draws.

        Each fit's ``S(t)`` (:meth:`resurv.fit.FitResult.surv_at`, with its own Weibull shape
        where there is one) is thinned to the same evenly spaced draws as ``hazard``, so
        sample ``i`` of every pooled quantity is one draw of one fit.
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        take = self.hazard.sizes["sample"] // len(self.fits)
        parts = []
        for f in self.fits:
            surv = f.surv_at(times).stack(sample=("chain", "draw"))
            surv = surv.transpose("sample", "arm", "time")
            index = np.linspace(0, surv.sizes["sample"] - 1, take).round().astype(int)
            parts.append(surv.isel(sample=index).drop_vars(["sample", "chain", "draw"]))
        return xr.concat(parts, dim="sample").rename("surv")

    def summary(self, prob: float = 0.95) -> pd.DataFrame:
        """Median and equal-tailed interval of each pooled quantity and arm."""
        rows = []
        for name in ("hazard", "hazard_ratio", "median"):
            da = getattr(self, name)
            for arm in da["arm"].values:
                if name == "hazard_ratio" and arm == self.reference_arm:
                    continue
                lo, hi = self.interval(name, str(arm), prob)
                med = float(np.median(da.sel(arm=arm).values))
                rows.append({"quantity": f"{name}[{arm}]", "median": med, "lower": lo,
                             "upper": hi})  # fmt: skip
        return pd.DataFrame(rows)


def _flat(da: xr.DataArray, take: int) -> xr.DataArray:
    flat = da.stack(sample=("chain", "draw")).transpose("sample", "arm")
    index = np.linspace(0, flat.sizes["sample"] - 1, take).round().astype(int)
    return flat.isel(sample=index).drop_vars(["sample", "chain", "draw"])


def pooled_fit(
    rec: Reconstruction,
    *,
    arms: Sequence[str] | None = None,
    reference_arm: str | None = None,
    family: str = "exponential",
    prior: str = "weakly_informative",
    prior_kwargs: Mapping[str, Any] | None = None,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    seed: int | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> PooledFit:
    """Fit every plausible reconstruction of ``rec`` and pool the posteriors.

    ``rec`` must hold plausible reconstructions (``reconstruct(..., plausible=M)``), the same
    number for every arm. ``arms`` defaults to the study's arms with curves, the reference arm
    to the study's. Fit ``m`` is seeded ``seed + m`` (default seed: the reconstruction's).
    Other arguments are those of :func:`resurv.fit.fit` (``thresholds``: overrides of the
    diagnostics thresholds); ``prior_kwargs`` defaults to the study's time unit.
    """
    counts = {len(a.plausible) for a in rec.arms}
    if counts == {0} or len(counts) != 1:
        raise ValueError(
            "pooled_fit needs the same number (>= 1) of plausible reconstructions for every "
            f"arm; received {[len(a.plausible) for a in rec.arms]}. Call "
            "reconstruct(study, plausible=20) first."
        )
    arms = tuple(arms) if arms is not None else tuple(a.curve.arm for a in rec.arms)
    reference_arm = reference_arm or rec.study.reference_arm
    if reference_arm not in arms:
        raise FitError(f"reference arm {reference_arm!r} has no curve; curves: {list(arms)}")
    kwargs = dict(prior_kwargs) if prior_kwargs is not None else {"time_unit": rec.study.time_unit}
    seed = rec.seed if seed is None else int(seed)
    fits = []
    for m in range(counts.pop()):
        time, event, arm = [], [], []
        for a in rec.arms:
            p = a.plausible[m]
            time.append(p.time)
            event.append(p.event)
            arm.append(np.full(p.n, a.curve.arm, dtype=object))
        term = IndividualData(np.concatenate(time), np.concatenate(event),
                              np.concatenate(arm), arms=arms)  # fmt: skip
        fits.append(
            fit(term, arms=arms, reference_arm=reference_arm, family=family, prior=prior,
                prior_kwargs=kwargs, draws=draws, tune=tune, chains=chains, seed=seed + m,
                thresholds=thresholds)
        )  # fmt: skip
    take = chains * draws
    parts = {name: [] for name in ("hazard", "hazard_ratio", "median")}
    for f in fits:
        post = f.idata["posterior"]
        for name in parts:
            parts[name].append(_flat(post[name], take))
    pooled = {name: xr.concat(v, dim="sample").rename(name) for name, v in parts.items()}
    return PooledFit(pooled["hazard"], pooled["hazard_ratio"], pooled["median"], tuple(fits),
                     reference_arm)  # fmt: skip
