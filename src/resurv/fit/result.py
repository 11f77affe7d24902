"""The result of a fit: the posterior sample with its model, diagnostics and settings.

:class:`FitResult` holds what :func:`resurv.fit.fit` returns and derives the survival
quantities (``S(t)``, hazard ratios, medians, restricted mean survival times) and a posterior
summary table from the posterior draws with NumPy. It is importable from :mod:`resurv.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from resurv.fit.diagnostics import Diagnostics
from resurv.model.families import SurvivalFamily
from resurv.model.prior_values import PriorSet
from resurv.model.terms import Term

__all__ = ["FitResult"]


@dataclass
class FitResult:
    """A posterior sample with its model, diagnostics and settings.

    Attributes
    ----------
    idata : xarray.DataTree
        Groups ``posterior`` (free parameters and the deterministics ``log_hazard``,
        ``hazard``, ``hazard_ratio``, ``median``, ``shape``), ``sample_stats``,
        ``constant_data`` (every term's data by container name, and the 0/1 event status of
        individual data under the observed variable's name, as ``az.plot_ppc_censored``
        reads it) and ``observed_data`` (individual times).
    family : SurvivalFamily
    prior_set : PriorSet
    arms : tuple of str
    reference_arm : str
    terms : tuple of Term
    status : {"ok", "failed"}
        ``"failed"`` if the diagnostics failed even after the retry.
    diagnostics : Diagnostics
    settings : dict
        Everything needed to reproduce the fit (JSON-safe).
    times : tuple of float
        Landmark times reported by :meth:`summary`.
    """

    idata: xr.DataTree
    family: SurvivalFamily
    prior_set: PriorSet
    arms: tuple[str, ...]
    reference_arm: str
    terms: tuple[Term, ...]
    status: str
    diagnostics: Diagnostics
    settings: dict
    times: tuple[float, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """Whether the fit passed its diagnostics."""
        return self.status == "ok"

    # derived quantities, from the posterior draws with NumPy
    def _lam_k(self):
        post = self.idata["posterior"]
        lam = post["hazard"].transpose("chain", "draw", "arm")
        k = post["shape"].transpose("chain", "draw") if self.family.has_shape else None
        return lam, k

    def _cure(self, extra_dims: int) -> dict:
        """``{"cure": pi}`` draws (chain, draw, arm, ...) for the cure family, else ``{}``."""
        if not self.family.has_cure:
            return {}
        pi = self.idata["posterior"]["cure_fraction"].transpose("chain", "draw", "arm").values
        return {"cure": pi.reshape(pi.shape + (1,) * extra_dims)}

    def surv_at(self, times) -> xr.DataArray:
        """Posterior draws of ``S(t)``: DataArray (chain, draw, arm, time)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        lam, k = self._lam_k()
        kk = 1.0 if k is None else k.values[..., None, None]
        surv = self.family.survival(times, lam.values[..., None], kk, **self._cure(1))
        coords = {**{d: lam[d].values for d in lam.dims}, "time": times}
        return xr.DataArray(surv, dims=(*lam.dims, "time"), coords=coords, name="surv")

    @property
    def hazard_ratio(self) -> xr.DataArray:
        """Posterior draws of ``lam[arm] / lam[reference_arm]``: (chain, draw, arm)."""
        lam, _ = self._lam_k()
        return (lam / lam.sel(arm=self.reference_arm)).rename("hazard_ratio")

    @property
    def median(self) -> xr.DataArray:
        """Posterior draws of the median survival ``(log 2 / lam)**(1/k)``: (chain, draw, arm)."""
        lam, k = self._lam_k()
        kk = 1.0 if k is None else k.values[..., None]
        return lam.copy(data=self.family.median(lam.values, kk, **self._cure(0))).rename("median")

    def rmst(self, tau: float) -> xr.DataArray:
        """Posterior draws of the restricted mean survival time to ``tau``: (chain, draw, arm)."""
        lam, k = self._lam_k()
        kk = 1.0 if k is None else k.values[..., None]
        rmst = self.family.rmst(float(tau), lam.values, kk, **self._cure(0))
        return lam.copy(data=rmst).rename("rmst")

    def summary(self, prob: float = 0.95, kind: str = "eti", times=None) -> pd.DataFrame:
        """Posterior summary of the key quantities.

        Parameters
        ----------
        prob : float, default 0.95
            Probability of the credible interval (never ArviZ's 89% default).
        kind : {"eti", "hdi"}, default "eti"
            Equal-tailed or highest-density interval.
        times : sequence of float, optional
            Times for ``S(t)`` rows (default: the ``times`` given to :func:`resurv.fit.fit`).

        Returns
        -------
        pandas.DataFrame
            Rows ``log_hazard[arm]``, ``hazard[arm]``, ``hazard_ratio[arm]`` (non-reference
            arms, relative to the reference arm), ``median[arm]``, ``shape`` (Weibull) and
            ``surv[arm, t]``. Columns ``mean``, ``sd``, ``median``, the interval limits named
            as ArviZ names them, ``f"{kind}{100 * prob:g}_lb"`` and ``..._ub`` (e.g.
            ``eti95_lb``, ``eti95_ub``: the 2.5% and 97.5% quantiles), then ``ess_bulk``,
            ``ess_tail``, ``r_hat``, ``mcse_mean``, ``mcse_sd``.
        """
        if kind not in ("eti", "hdi"):
            raise ValueError(f"kind must be 'eti' or 'hdi'; received {kind!r}")
        if not 0 < prob < 1:
            raise ValueError(f"prob must lie in (0, 1); received {prob!r}")
        times = self.times if times is None else tuple(np.atleast_1d(times))
        post = self.idata["posterior"]
        others = [a for a in self.arms if a != self.reference_arm]
        parts = [post["log_hazard"], post["hazard"]]
        if others:
            parts.append(self.hazard_ratio.sel(arm=others))
        parts.append(self.median)
        if self.family.has_shape:
            parts.append(post["shape"])
        if self.family.has_cure:
            parts.append(post["cure_fraction"])
        if len(times):
            parts.append(self.surv_at(times))
        frames = []
        for da in parts:
            if not np.isfinite(da.values).all():  # a median not reached: no sampling statistics
                da = da.where(np.isfinite(da))
            ds = da.to_dataset(name=da.name)
            frame = az.summary(ds, kind="all", ci_prob=prob, ci_kind=kind, round_to="none")
            frame.insert(2, "median", _flat_values(ds.median(dim=("chain", "draw"))))
            frames.append(frame)
        table = pd.concat(frames)
        table.attrs["interval"] = f"{prob:.0%} {kind.upper()}"
        return table

    def __repr__(self) -> str:
        return (
            f"FitResult(family={self.family.name!r}, prior={self.prior_set.name!r}, "
            f"arms={self.arms}, status={self.status!r})"
        )


def _flat_values(ds: xr.Dataset) -> np.ndarray:
    (da,) = ds.data_vars.values()
    return np.asarray(da.values, dtype=float).ravel()
