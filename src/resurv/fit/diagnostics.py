"""The diagnostics gate: decide whether a posterior sample is good enough to report.

:func:`check` computes, for the gated variables of a posterior (the free parameters and the
key derived quantities, not every Deterministic), the rank-normalised split R-hat, the bulk
and tail effective sample sizes and the Monte Carlo standard error of the mean; from the
sampler statistics it counts divergent transitions, computes E-BFMI per chain and the share of
transitions that stopped at the maximum tree depth. Every
threshold is a keyword-only argument, and every failure carries the number, the threshold and
the fix. Nothing is printed: ask for :meth:`Diagnostics.to_text` or :meth:`Diagnostics.to_frame`.

Modelled on ``arviz_stats.diagnose`` (CmdStan's ``diagnose``), returning data instead of text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["DEFAULT_THRESHOLDS", "Diagnostics", "Failure", "check"]

#: Default thresholds of :func:`check` (Vehtari et al. 2021 for R-hat and ESS; Betancourt 2016
#: for E-BFMI). ``mcse_rel_max`` bounds MCSE(mean) / posterior SD: 0.1 means the Monte Carlo
#: error of a posterior mean is at most a tenth of the posterior's own spread.
#: ``treedepth_frac_max`` bounds the share of post-warmup transitions whose trajectory was cut
#: at the sampler's maximum tree depth (CmdStan and ``arviz_stats.diagnose`` warn at any).
DEFAULT_THRESHOLDS = {
    "rhat_max": 1.01,
    "ess_bulk_min": 400.0,
    "ess_tail_min": 400.0,
    "max_divergences": 0,
    "bfmi_min": 0.3,
    "mcse_rel_max": 0.1,
    "treedepth_frac_max": 0.01,
}

_FIXES = {
    "rhat": "run more tuning and draws (tune, draws) or more chains; if it persists the "
    "posterior may be multimodal or a parameter unidentified",
    "ess_bulk": "increase draws (or chains); a low ESS despite long runs means strong "
    "posterior correlation or a weakly identified parameter: use a more informative prior",
    "ess_tail": "increase draws (or chains); tail ESS governs the 95% interval limits",
    "mcse_rel": "increase draws so that the Monte Carlo error is small against the posterior SD",
    "divergences": "raise target_accept (e.g. 0.95 or 0.99); if divergences remain, the "
    "posterior has a funnel or a hard boundary: use a more informative prior",
    "treedepth": "a trajectory cut at the maximum tree depth explores slowly: reparameterise "
    "or use a more informative prior (a long flat ridge, e.g. an unidentified Weibull shape, "
    "is the usual cause); raising the sampler's maximum depth only hides it",
    "bfmi": "increase tune; a low E-BFMI means the momentum resampling explores the energy "
    "levels poorly, often because of heavy tails: try a more informative prior",
}


@dataclass(frozen=True)
class Failure:
    """One failed check: what, where, the number, the threshold, and what to do.

    Attributes
    ----------
    check : str
        One of ``"rhat"``, ``"ess_bulk"``, ``"ess_tail"``, ``"mcse_rel"``, ``"divergences"``,
        ``"treedepth"``, ``"bfmi"``.
    where : str
        The variable (e.g. ``"log_hazard[resected]"``), the chain (``"chain 2"``) or ``"all"``.
    value : float
        The value found.
    threshold : float
        The threshold it broke.
    fix : str
        What to try.
    """

    check: str
    where: str
    value: float
    threshold: float
    fix: str

    def message(self) -> str:
        """Return a one-line description of the failure with its fix."""
        relation = ">" if self.check in ("rhat", "mcse_rel", "divergences", "treedepth") else "<"
        return (
            f"{self.check} of {self.where} is {self.value:.4g} ({relation} threshold "
            f"{self.threshold:.4g}); fix: {self.fix}"
        )


@dataclass(frozen=True)
class Diagnostics:
    """The result of :func:`check`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per gated scalar (``"var"`` or ``"var[coord]"``), columns ``r_hat``,
        ``ess_bulk``, ``ess_tail``, ``mcse_mean``, ``sd`` and ``mcse_rel`` (``mcse_mean / sd``).
    divergences : int
        Number of divergent post-warmup transitions (all chains); ``-1`` if not recorded.
    bfmi : numpy.ndarray
        E-BFMI per chain (empty if the sampler stored no energy).
    n_chains, n_draws : int
        Chains and draws per chain.
    failures : tuple of Failure
        Every failed check, in the order above.
    thresholds : dict
        The thresholds used.
    treedepth_frac : float
        Share of post-warmup transitions that hit the maximum tree depth (all chains); NaN if
        the sampler did not record it.
    """

    table: pd.DataFrame
    divergences: int
    bfmi: np.ndarray
    n_chains: int
    n_draws: int
    failures: tuple[Failure, ...]
    thresholds: dict = field(default_factory=dict)
    treedepth_frac: float = float("nan")

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return not self.failures

    def to_frame(self) -> pd.DataFrame:
        """Return the per-variable table (a copy)."""
        return self.table.copy()

    def to_text(self) -> str:
        """Return a short human-readable account of the checks."""
        t = self.thresholds
        lines = [
            f"{self.n_chains} chains x {self.n_draws} draws; "
            f"{'PASSED' if self.passed else f'FAILED ({len(self.failures)} checks)'}",
            f"max R-hat {_fmax(self.table['r_hat']):.4f} (<= {t['rhat_max']}); "
            f"min bulk ESS {_fmin(self.table['ess_bulk']):.0f} (>= {t['ess_bulk_min']:.0f}); "
            f"min tail ESS {_fmin(self.table['ess_tail']):.0f} (>= {t['ess_tail_min']:.0f})",
            f"divergences {self.divergences} (<= {t['max_divergences']}); "
            f"min E-BFMI {_fmin(self.bfmi):.3f} (>= {t['bfmi_min']}); "
            f"max tree depth reached in {self.treedepth_frac:.1%} of transitions "
            f"(<= {t['treedepth_frac_max']:.0%})",
        ]
        lines += [f"- {f.message()}" for f in self.failures]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Return a JSON-safe summary (for ``run.json``)."""
        return {
            "passed": self.passed,
            "n_chains": self.n_chains,
            "n_draws": self.n_draws,
            "divergences": self.divergences,
            "bfmi": [float(b) for b in self.bfmi],
            "treedepth_frac": self.treedepth_frac,
            "max_rhat": _fmax(self.table["r_hat"]),
            "min_ess_bulk": _fmin(self.table["ess_bulk"]),
            "min_ess_tail": _fmin(self.table["ess_tail"]),
            "thresholds": dict(self.thresholds),
            "failures": [f.message() for f in self.failures],
        }


def _fmax(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.nanmax(x)) if np.isfinite(x).any() else float("nan")


def _fmin(x) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.nanmin(x)) if np.isfinite(x).any() else float("nan")


def _flatten(ds: xr.Dataset) -> dict[str, float]:
    """``{"var[c1, c2]": value}`` for every scalar of a reduced Dataset (C order)."""
    out = {}
    for name, da in ds.data_vars.items():
        values = np.asarray(da.values, dtype=float)
        if da.ndim == 0:
            out[name] = float(values)
            continue
        labels = [[str(c) for c in da[d].values] for d in da.dims]
        for index in np.ndindex(values.shape):
            where = ", ".join(labels[axis][i] for axis, i in enumerate(index))
            out[f"{name}[{where}]"] = float(values[index])
    return out


def _ebfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain: ``sum(diff(E)**2) / sum((E - mean E)**2)`` (Betancourt 2016)."""
    num = np.sum(np.diff(energy, axis=1) ** 2, axis=1)
    den = np.sum((energy - energy.mean(axis=1, keepdims=True)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def check(
    idata: xr.DataTree,
    *,
    var_names: Sequence[str] | None = None,
    rhat_max: float = DEFAULT_THRESHOLDS["rhat_max"],
    ess_bulk_min: float = DEFAULT_THRESHOLDS["ess_bulk_min"],
    ess_tail_min: float = DEFAULT_THRESHOLDS["ess_tail_min"],
    max_divergences: int = DEFAULT_THRESHOLDS["max_divergences"],
    bfmi_min: float = DEFAULT_THRESHOLDS["bfmi_min"],
    mcse_rel_max: float = DEFAULT_THRESHOLDS["mcse_rel_max"],
    treedepth_frac_max: float = DEFAULT_THRESHOLDS["treedepth_frac_max"],
) -> Diagnostics:
    r"""Check the convergence and sampler diagnostics of a posterior sample.

    Parameters
    ----------
    idata : xarray.DataTree
        With a ``posterior`` group (dims ``chain``, ``draw``) and, optionally, a
        ``sample_stats`` group with ``diverging``, ``energy`` and ``maxdepth_reached``
        (nutpie) or ``reached_max_treedepth`` (PyMC).
    var_names : sequence of str, optional
        Posterior variables to gate. Default: every posterior variable. :func:`resurv.fit.fit`
        passes the free parameters and the key derived quantities.
    rhat_max, ess_bulk_min, ess_tail_min, max_divergences, bfmi_min, mcse_rel_max
        Thresholds; see :data:`DEFAULT_THRESHOLDS`. Scalars that are constant across draws
        (e.g. the hazard ratio of the reference arm, identically 1) are not gated.
    treedepth_frac_max
        Largest allowed share of transitions that hit the maximum tree depth.

    Returns
    -------
    Diagnostics

    Notes
    -----
    R-hat is the rank-normalised split R-hat and the ESS the bulk/tail ESS of Vehtari et al.
    (``az.rhat``, ``az.ess``); MCSE is ``az.mcse`` of the mean, reported relative to the
    posterior SD. E-BFMI of chain :math:`c` with energies :math:`E_{c,1..N}` is

    .. math:: \mathrm{E\text{-}BFMI}_c = \frac{\sum_{n=2}^N (E_{c,n} - E_{c,n-1})^2}
              {\sum_{n=1}^N (E_{c,n} - \bar E_c)^2}.

    References
    ----------
    .. [1] Vehtari A, Gelman A, Simpson D, Carpenter B, Bürkner P-C. Rank-normalization,
       folding, and localization: an improved R-hat for assessing convergence of MCMC.
       Bayesian Analysis 2021;16(2):667-718. doi:10.1214/20-BA1221
    .. [2] Betancourt M. Diagnosing suboptimal cotangent disintegrations in Hamiltonian Monte
       Carlo. arXiv:1604.00695 (2016).
    """
    if "posterior" not in idata.children:
        raise ValueError(
            f"idata has no posterior group (groups: {sorted(idata.children)}); pass the "
            "DataTree returned by resurv.fit.fit or nutpie.sample"
        )
    posterior = idata["posterior"].to_dataset()
    if var_names is None:
        var_names = list(posterior.data_vars)
    missing = [v for v in var_names if v not in posterior.data_vars]
    if missing:
        raise ValueError(
            f"var_names {missing} are not in the posterior; it holds {sorted(posterior.data_vars)}"
        )
    thresholds = {
        "rhat_max": rhat_max,
        "ess_bulk_min": ess_bulk_min,
        "ess_tail_min": ess_tail_min,
        "max_divergences": max_divergences,
        "bfmi_min": bfmi_min,
        "mcse_rel_max": mcse_rel_max,
        "treedepth_frac_max": treedepth_frac_max,
    }
    ds = posterior[list(var_names)].astype(float)
    sd = _flatten(ds.std(dim=("chain", "draw"), ddof=1))
    gated = [name for name, s in sd.items() if s > 0 and np.isfinite(s)]
    with np.errstate(divide="ignore", invalid="ignore"):  # constant scalars give 0/0
        columns = {
            "r_hat": _flatten(az.rhat(ds)),
            "ess_bulk": _flatten(az.ess(ds, method="bulk")),
            "ess_tail": _flatten(az.ess(ds, method="tail")),
            "mcse_mean": _flatten(az.mcse(ds, method="mean")),
            "sd": sd,
        }
    table = pd.DataFrame({k: pd.Series(v) for k, v in columns.items()}).loc[gated]
    table["mcse_rel"] = table["mcse_mean"] / table["sd"]

    failures: list[Failure] = []
    rules = [
        ("rhat", "r_hat", lambda v: not v <= rhat_max, rhat_max),
        ("ess_bulk", "ess_bulk", lambda v: not v >= ess_bulk_min, ess_bulk_min),
        ("ess_tail", "ess_tail", lambda v: not v >= ess_tail_min, ess_tail_min),
        ("mcse_rel", "mcse_rel", lambda v: not v <= mcse_rel_max, mcse_rel_max),
    ]
    for check_name, column, broken, threshold in rules:
        for where, value in table[column].items():
            if broken(value):  # NaN counts as broken
                failures.append(Failure(check_name, where, value, threshold, _FIXES[check_name]))

    stats = idata["sample_stats"].to_dataset() if "sample_stats" in idata.children else None
    divergences = -1
    if stats is not None and "diverging" in stats:
        divergences = int(stats["diverging"].sum())
        if divergences > max_divergences:
            failures.append(
                Failure("divergences", "all", divergences, max_divergences, _FIXES["divergences"])
            )
    treedepth_frac = float("nan")
    saturated = next(
        (
            stats[k]
            for k in ("maxdepth_reached", "reached_max_treedepth")
            if stats is not None and k in stats
        ),
        None,
    )
    if saturated is not None:
        treedepth_frac = float(saturated.astype(float).mean())
        if treedepth_frac > treedepth_frac_max:
            failures.append(
                Failure("treedepth", "all", treedepth_frac, treedepth_frac_max, _FIXES["treedepth"])
            )
    bfmi = np.array([])
    if stats is not None and "energy" in stats:
        energy = stats["energy"].transpose("chain", "draw").to_numpy().astype(float)
        bfmi = _ebfmi(energy)
        for c, value in enumerate(bfmi):
            if not value >= bfmi_min:
                failures.append(Failure("bfmi", f"chain {c}", value, bfmi_min, _FIXES["bfmi"]))

    return Diagnostics(
        table=table,
        divergences=divergences,
        bfmi=bfmi,
        n_chains=int(posterior.sizes["chain"]),
        n_draws=int(posterior.sizes["draw"]),
        failures=tuple(failures),
        thresholds=thresholds,
        treedepth_frac=treedepth_frac,
    )
