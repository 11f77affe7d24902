"""The fitting engine: build a survival model from terms, compile it once, sample it with nutpie.

:func:`fit` turns likelihood terms (:class:`IndividualData` here, the figure terms of
:mod:`resurv.likelihood`), a survival family and a prior set into a posterior sample,
gated by :func:`resurv.diagnostics.check`. Models of one structure are compiled once
(:mod:`resurv._compile`) and new data are swapped in, so thousands of small fits (SBC,
sensitivity sweeps) cost a fraction of a second each. :func:`compare_loo` compares families
fitted to the same individual data by PSIS-LOO.

Parameterisation: ``S(t) = exp(-lam * t**k)`` per arm, ``k`` shared, ``HR = lam_B / lam_A``
(see :mod:`resurv.families` for the lifelines and R ``survreg`` conversions).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pytensor.tensor.exceptions import NotScalarConstantError

from resurv import _compile
from resurv.diagnostics import DEFAULT_THRESHOLDS, Diagnostics, check
from resurv.errors import FitError
from resurv.families import SurvivalFamily, get_family
from resurv.priors import PriorSet, build_parameters, get_prior_set, prior_data, prior_structure
from resurv.terms import ArmParams, Term

__all__ = [
    "DEFAULT_SEED",
    "FitResult",
    "IndividualData",
    "ResurvFitWarning",
    "build_model",
    "compare_loo",
    "fit",
    "log_likelihood",
]

#: the seed used when none is given (the default seed of a study's ``[analysis]``)
DEFAULT_SEED = 20000
#: settings of the single retry of a fit that fails its diagnostics
RETRY_TARGET_ACCEPT = 0.95
RETRY_TUNE_FACTOR = 2
#: the retry multiplies the draws by this when the effective sample size or MCSE failed
RETRY_DRAWS_FACTOR = 2
_NEEDS_DRAWS = frozenset({"ess_bulk", "ess_tail", "mcse_rel"})


class ResurvFitWarning(UserWarning):
    """A fit failed its diagnostics, even after the retry: its numbers must not be trusted."""


# -- individual data -----------------------------------------------------------------------


class IndividualData(Term):
    """Right-censored individual survival times of one or more arms.

    Parameters
    ----------
    time : array-like of float
        Follow-up time of each patient (> 0, study time unit).
    event : array-like of bool or {0, 1}
        1 if the patient died (event at ``time``), 0 if censored at ``time``.
    arm : str or array-like of str
        Arm of each patient, or one arm id for all.
    arms : sequence of str, optional
        The arms this term covers, in the order of the arm index (default: the sorted distinct
        labels of ``arm``). Part of :meth:`structure`: pass it explicitly when fitting many data
        sets so they share one compiled model even if an arm is missing from one of them.
    name : str, default "individual"
        Name of the observed variable (and prefix of its data containers).

    Notes
    -----
    Patient ``i`` of arm ``a`` contributes ``log f(t_i) = log h(t_i) - H(t_i)`` if dead and
    ``log S(t_i) = -H(t_i)`` if censored, with ``H(t) = lam_a t**k``. It enters the model as
    ``pm.Censored(name, dist, lower=None, upper=upper, observed=time)`` with
    ``upper = where(event, inf, time)``, so the pointwise log-likelihood keeps censored
    patients (PSIS-LOO needs them). ``dist`` is ``pm.Exponential`` when the shape is the
    constant 1 and ``pm.Weibull(alpha=k, beta=lam**(-1/k))`` otherwise.
    """

    def __init__(self, time, event, arm, *, arms: Sequence[str] | None = None, name="individual"):
        time = np.asarray(time, dtype=float)
        if time.ndim != 1 or time.size == 0:
            raise ValueError(f"time must be a non-empty 1-D array; received shape {time.shape}")
        if not np.all(np.isfinite(time) & (time > 0)):
            bad = time[~(np.isfinite(time) & (time > 0))]
            raise ValueError(
                f"every time must be finite and > 0; received {bad[:5].tolist()}. Replace "
                "zero follow-up by a small positive time (e.g. half a day) or drop the patient."
            )
        event = np.asarray(event)
        if event.shape != time.shape or not np.all(np.isin(event, (0, 1))):
            raise ValueError(
                f"event must hold one 0/1 (or bool) per patient ({time.size}); received shape "
                f"{event.shape} with values {np.unique(event)[:5].tolist()}"
            )
        labels = np.full(time.shape, arm, dtype=object) if isinstance(arm, str) else arm
        labels = np.asarray(labels, dtype=object)
        if labels.shape != time.shape:
            raise ValueError(
                f"arm must be one arm id or one per patient ({time.size}); received shape "
                f"{labels.shape}"
            )
        labels = np.array([str(x) for x in labels.ravel()], dtype=object)
        arms = tuple(sorted(set(labels))) if arms is None else tuple(str(a) for a in arms)
        if len(set(arms)) != len(arms):
            raise ValueError(f"arms must be unique; received {arms}")
        unknown = sorted(str(x) for x in set(labels) - set(arms))
        if unknown:
            raise ValueError(f"patients belong to arms {unknown} not listed in arms={arms}")
        if not str(name).isidentifier():
            raise ValueError(f"name must be an identifier (letters, digits, _); got {name!r}")
        self.name = str(name)
        self.time = time
        self.event = event.astype(bool)
        self.arm = labels
        self.arms = arms

    @classmethod
    def from_frame(cls, df: pd.DataFrame, duration_col: str, event_col: str, arm_col: str, **kw):
        """Build from a data frame, lifelines-style (``**kw``: ``arms``, ``name``)."""
        missing = [c for c in (duration_col, event_col, arm_col) if c not in df.columns]
        if missing:
            raise ValueError(f"columns {missing} not in the data frame; it has {list(df.columns)}")
        return cls(df[duration_col], df[event_col], df[arm_col].astype(str).to_numpy(), **kw)

    def data(self) -> dict[str, np.ndarray]:
        """``time``, ``upper`` (``inf`` for deaths, ``time`` if censored) and ``arm`` (index)."""
        index = np.array([self.arms.index(a) for a in self.arm], dtype=np.int64)
        return {"time": self.time, "upper": np.where(self.event, np.inf, self.time), "arm": index}

    def structure(self) -> tuple:
        """Return the name and the arms: the graph never depends on the number of patients."""
        return ("IndividualData", self.name, self.arms)

    def add_to_model(self, params: ArmParams, data: Mapping[str, Any]) -> None:
        """Add ``pm.Censored(name, ...)`` for all patients."""
        missing = [a for a in self.arms if a not in params.lam]
        if missing:
            raise FitError(
                f"individual data {self.name!r} has arms {missing} that the model lacks; "
                f"the model's arms are {list(params.arms)}: add them to fit(arms=...)"
            )
        lam = pt.stack([params.lam[a] for a in self.arms])[data["arm"]]
        family = get_family("exponential" if _is_unit(params.k) else "weibull")
        dist = family.pymc_dist(lam, params.k)
        time = data["time"]
        upper = data["upper"]
        pm.Censored(self.name, dist, lower=None, upper=upper, observed=time, shape=time.shape)

    def __len__(self) -> int:
        return self.time.size

    def __repr__(self) -> str:
        return f"IndividualData(name={self.name!r}, n={len(self)}, deaths={int(self.event.sum())})"


def _is_unit(k) -> bool:
    try:
        return float(pt.get_underlying_scalar_constant_value(pt.as_tensor_variable(k))) == 1.0
    except NotScalarConstantError:
        return False


# -- model -----------------------------------------------------------------------------------


def _resolve(family, prior, arms, reference_arm, terms, prior_kwargs=None):
    family = get_family(family)
    if isinstance(prior, str):
        prior = get_prior_set(prior, **(prior_kwargs or {}))
    elif not isinstance(prior, PriorSet):
        raise TypeError(f"prior must be a prior set name or a PriorSet; received {prior!r}")
    if isinstance(arms, str) or not arms:
        raise ValueError(f"arms must be a non-empty sequence of arm ids; received {arms!r}")
    arms = tuple(str(a) for a in arms)
    reference_arm = arms[0] if reference_arm is None else reference_arm
    terms = (terms,) if isinstance(terms, Term) else tuple(terms)
    bad = [t for t in terms if not isinstance(t, Term)]
    if bad:
        raise TypeError(f"terms must be resurv.terms.Term instances; received {bad[:3]}")
    names = [t.name for t in terms]
    if len(set(names)) != len(names):
        raise ValueError(f"term names must be unique within a model; received {names}")
    return family, prior, arms, reference_arm, terms


def build_model(
    family: str | SurvivalFamily,
    prior_set: str | PriorSet,
    arms: Sequence[str],
    reference_arm: str | None,
    terms: Term | Sequence[Term],
) -> pm.Model:
    """Build the PyMC model of a survival family, a prior set and likelihood terms.

    Each term's arrays become ``pm.Data`` containers named ``term.data_name(key)``, so
    the compiled model can take new data (of any length) through ``with_data``.

    Parameters
    ----------
    family : str or SurvivalFamily
        ``"exponential"`` or ``"weibull"``.
    prior_set : str or PriorSet
        A registered prior set name (default options) or a :class:`~resurv.priors.PriorSet`.
    arms : sequence of str
        Arm ids (the ``"arm"`` coordinate).
    reference_arm : str or None
        Hazard ratios are relative to it (default: the first arm).
    terms : Term or sequence of Term
        Likelihood terms; none gives the prior.
    """
    family, prior_set, arms, reference_arm, terms = _resolve(
        family, prior_set, arms, reference_arm, terms
    )
    with pm.Model(coords={"arm": arms}) as model:
        params = build_parameters(
            prior_set, family, arms, reference_arm, hyperparameters_as_data=True
        )
        for term in terms:
            containers = {k: pm.Data(term.data_name(k), v) for k, v in term.data().items()}
            term.add_to_model(params, containers)
    return model


def _structure_key(family, prior_set, arms, reference_arm, terms) -> tuple:
    """Prior sets enter by their distributions only: hyperparameters are data."""
    return (
        family.name,
        prior_structure(prior_set),
        arms,
        reference_arm,
        tuple(t.structure() for t in terms),
    )


def _data_arrays(terms, prior_set=None, family=None, arms=(), reference_arm=None):
    arrays = {t.data_name(k): np.asarray(v) for t in terms for k, v in t.data().items()}
    if prior_set is not None:
        arrays.update(prior_data(prior_set, family, arms, reference_arm))
    return arrays


def _versions() -> dict[str, str]:
    import nutpie
    import pytensor

    import resurv

    mods = {"resurv": resurv, "pymc": pm, "nutpie": nutpie, "arviz": az, "pytensor": pytensor}
    return {name: str(getattr(m, "__version__", "unknown")) for name, m in mods.items()}


# -- results ---------------------------------------------------------------------------------


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

    def surv_at(self, times) -> xr.DataArray:
        """Posterior draws of ``S(t)``: DataArray (chain, draw, arm, time)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        lam, k = self._lam_k()
        kk = 1.0 if k is None else k.values[..., None, None]
        surv = self.family.survival(times, lam.values[..., None], kk)
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
        return lam.copy(data=self.family.median(lam.values, kk)).rename("median")

    def rmst(self, tau: float) -> xr.DataArray:
        """Posterior draws of the restricted mean survival time to ``tau``: (chain, draw, arm)."""
        lam, k = self._lam_k()
        kk = 1.0 if k is None else k.values[..., None]
        return lam.copy(data=self.family.rmst(float(tau), lam.values, kk)).rename("rmst")

    def summary(self, prob: float = 0.95, kind: str = "eti", times=None) -> pd.DataFrame:
        """Posterior summary of the key quantities.

        Parameters
        ----------
        prob : float, default 0.95
            Probability of the credible interval (never ArviZ's 89% default).
        kind : {"eti", "hdi"}, default "eti"
            Equal-tailed or highest-density interval.
        times : sequence of float, optional
            Times for ``S(t)`` rows (default: the ``times`` given to :func:`fit`).

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
        if len(times):
            parts.append(self.surv_at(times))
        frames = []
        for da in parts:
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


# -- fitting ---------------------------------------------------------------------------------


def _check_settings(draws, tune, chains, cores, seed, target_accept, thresholds):
    for name, value, low in (("draws", draws, 1), ("tune", tune, 0), ("chains", chains, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; received {value!r}")
    if cores is not None and (not isinstance(cores, int | np.integer) or cores < 1):
        raise ValueError(f"cores must be a positive integer or None; received {cores!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**63:
        raise ValueError(
            f"seed must be an integer in [0, 2**63); received {seed!r}. Fits are always seeded "
            f"(default {DEFAULT_SEED}) so that they reproduce bit for bit."
        )
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must lie in (0, 1); received {target_accept!r}")
    unknown = sorted(set(thresholds or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown thresholds {unknown}; valid are {sorted(DEFAULT_THRESHOLDS)}")


def _sample(entry, arrays, *, draws, tune, chains, cores, seed, target_accept):
    import nutpie

    return nutpie.sample(
        entry.with_data(arrays),
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=int(seed),
        target_accept=float(target_accept),
        save_warmup=False,
        progress_bar=False,
    )


def _gated_variables(model, posterior) -> list[str]:
    """Free parameters and the key derived quantities (not every Deterministic)."""
    names = [rv.name for rv in model.free_RVs]
    names += ["log_hazard", "hazard_ratio", "shape"]
    return [n for n in dict.fromkeys(names) if n in posterior.data_vars]


def _add_data_groups(idata: xr.DataTree, terms) -> None:
    constant, observed = {}, {}
    for term in terms:
        for key, value in term.data().items():
            name = term.data_name(key)
            value = np.asarray(value)
            dims = [f"{name}_dim_{i}" for i in range(value.ndim)]
            constant[name] = xr.DataArray(value, dims=dims)
        if isinstance(term, IndividualData):  # event status as az.plot_ppc_censored reads it
            dims = [f"{term.name}_dim_0"]
            observed[term.name] = xr.DataArray(term.time, dims=dims)
            constant[term.name] = xr.DataArray(term.event.astype(np.int64), dims=dims)
    if constant:
        idata["constant_data"] = xr.DataTree(xr.Dataset(constant))
    if observed:
        idata["observed_data"] = xr.DataTree(xr.Dataset(observed))


def fit(
    terms: Term | Sequence[Term],
    *,
    arms: Sequence[str],
    reference_arm: str | None = None,
    family: str | SurvivalFamily = "weibull",
    prior: str | PriorSet = "weakly_informative",
    prior_kwargs: Mapping[str, Any] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    seed: int = DEFAULT_SEED,
    target_accept: float = 0.8,
    times: Sequence[float] = (),
    thresholds: Mapping[str, float] | None = None,
    retry: bool = True,
) -> FitResult:
    """Fit a survival model to likelihood terms with nutpie, gated by the diagnostics.

    Parameters
    ----------
    terms : Term or sequence of Term
        Likelihood terms (:class:`IndividualData`, figure terms). Models that hold only
        ``pm.Potential`` terms work as well as models with observed variables.
    arms : sequence of str
        Arm ids, in the order of the ``"arm"`` coordinate.
    reference_arm : str, optional
        The arm the baseline prior describes; hazard ratios are relative to it (default: the
        first arm).
    family : {"weibull", "exponential"} or SurvivalFamily, default "weibull"
    prior : str or PriorSet, default "weakly_informative"
        A registered prior set (:func:`resurv.priors.get_prior_set`) or a PriorSet.
    prior_kwargs : dict, optional
        Options of a registered prior set: ``hr_important``, ``literature``, ``time_unit``.
    draws, tune, chains : int
        Post-warmup draws and warmup iterations per chain; number of chains.
    cores : int, optional
        Chains run in parallel (default ``min(chains, os.cpu_count())``); results do not
        depend on it.
    seed : int, default :data:`DEFAULT_SEED`
        Seed of the sampler: the same seed, data and settings give bit-identical draws.
    target_accept : float, default 0.8
        Target acceptance rate of NUTS step-size adaptation.
    times : sequence of float
        Landmark times for ``S(t)`` in :meth:`FitResult.summary`.
    thresholds : dict, optional
        Overrides of the diagnostics thresholds (:data:`resurv.diagnostics.DEFAULT_THRESHOLDS`).
    retry : bool, default True
        Retry a fit that fails its diagnostics once, with ``target_accept >= 0.95``, twice the
        tuning and, when an effective sample size or MCSE check failed, twice the draws (so the
        posterior of a retried fit may hold ``2 * draws`` draws per chain).

    Returns
    -------
    FitResult
        ``status`` is ``"failed"`` (and a :class:`ResurvFitWarning` is issued naming the failed
        checks and their fixes) if the diagnostics still fail; such a fit is never returned as
        good.

    Notes
    -----
    The model structure ``(family, prior set, arms, reference arm, term structures)`` is compiled
    once per process with ``nutpie.compile_pymc_model``; later fits of the same structure swap
    their data in with ``with_data`` (see :mod:`resurv._compile`). The retry uses the same
    seed; ``settings["attempts"]`` records both attempts.

    Examples
    --------
    Freireich's 6-MP trial (lifelines ``load_leukemia``, weeks; ``Rx == 1`` is placebo):

    >>> from lifelines.datasets import load_leukemia
    >>> df = load_leukemia()
    >>> df["arm"] = np.where(df["Rx"] == 1, "placebo", "6-MP")
    >>> data = IndividualData.from_frame(df, "t", "status", "arm")
    >>> res = fit(data, arms=("placebo", "6-MP"), family="weibull",
    ...           prior_kwargs={"time_unit": "weeks"}, times=(10, 20), seed=1)
    >>> res.status
    'ok'
    >>> table = res.summary(prob=0.95)  # rows hazard_ratio[6-MP], surv[placebo, 10.0], ...
    """
    family, prior_set, arms, reference_arm, terms = _resolve(
        family, prior, arms, reference_arm, terms, prior_kwargs
    )
    _check_settings(draws, tune, chains, cores, seed, target_accept, thresholds)
    cores = int(cores or min(chains, os.cpu_count() or 1))
    key = _structure_key(family, prior_set, arms, reference_arm, terms)
    try:
        entry, hit = _compile.get_compiled(
            key, lambda: build_model(family, prior_set, arms, reference_arm, terms)
        )
    except (ValueError, TypeError, FitError):
        raise
    except Exception as exc:  # compilation errors surface with the model named
        raise FitError(
            f"could not compile the {family.name} model with prior set {prior_set.name!r} "
            f"and terms {[t.name for t in terms]}: {exc}"
        ) from exc
    arrays = _data_arrays(terms, prior_set, family, arms, reference_arm)
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}

    attempts = []
    run = {"draws": int(draws), "tune": int(tune), "target_accept": float(target_accept)}
    while True:
        idata = _sample(entry, arrays, chains=chains, cores=cores, seed=seed, **run)
        gated = _gated_variables(entry.model, idata["posterior"])
        diagnostics = check(idata, var_names=gated, **limits)
        attempts.append({**run, "passed": diagnostics.passed})
        if diagnostics.passed or not retry or len(attempts) == 2:
            break
        short = any(f.check in _NEEDS_DRAWS for f in diagnostics.failures)
        run = {
            "draws": int(draws) * (RETRY_DRAWS_FACTOR if short else 1),
            "tune": max(RETRY_TUNE_FACTOR * int(tune), 1000),
            "target_accept": max(RETRY_TARGET_ACCEPT, float(target_accept)),
        }
    status = "ok" if diagnostics.passed else "failed"
    if status == "failed":
        warnings.warn(
            f"the {family.name} fit with prior set {prior_set.name!r} failed its diagnostics "
            f"after {len(attempts)} attempt(s) (last: draws={run['draws']}, tune={run['tune']}, "
            f"target_accept={run['target_accept']}); do not report it:\n{diagnostics.to_text()}",
            ResurvFitWarning,
            stacklevel=2,
        )
    _add_data_groups(idata, terms)
    settings = {
        "family": family.name,
        "prior": prior_set.name,
        "prior_set": repr(prior_set),
        "arms": list(arms),
        "reference_arm": reference_arm,
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "cores": cores,
        "seed": int(seed),
        "target_accept": float(target_accept),
        "sampler": "nutpie (NUTS, diagonal mass matrix adaptation)",
        "attempts": attempts,
        "compiled_from_cache": hit,
        "versions": _versions(),
    }
    return FitResult(
        idata=idata,
        family=family,
        prior_set=prior_set,
        arms=arms,
        reference_arm=reference_arm,
        terms=terms,
        status=status,
        diagnostics=diagnostics,
        settings=settings,
        times=tuple(float(t) for t in times),
    )


# -- model comparison ------------------------------------------------------------------------


def log_likelihood(result: FitResult) -> xr.DataTree:
    """Return ``result.idata`` with a ``log_likelihood`` group (pointwise, per patient).

    nutpie's output has no log-likelihood, so the model is rebuilt with the fit's data and
    ``pm.compute_log_likelihood`` evaluates each observed variable at every posterior draw.
    Censored patients contribute ``log S(t_i)`` (``pm.Censored`` keeps them).

    Raises
    ------
    FitError
        If the model has no observed variable (figure terms are ``pm.Potential`` and have no
        pointwise log-likelihood).
    """
    model = build_model(
        result.family, result.prior_set, result.arms, result.reference_arm, result.terms
    )
    if not model.observed_RVs:
        raise FitError(
            f"the fit has no observed variable (terms {[t.name for t in result.terms]}); "
            "PSIS-LOO needs a pointwise log-likelihood: fit IndividualData terms to compare by LOO"
        )
    ll = pm.compute_log_likelihood(
        result.idata, model=model, extend_inferencedata=False, progressbar=False
    )
    out = result.idata.copy()
    out["log_likelihood"] = ll if isinstance(ll, xr.DataTree) else xr.DataTree(ll)
    return out


def compare_loo(fits: Mapping[str, FitResult], **kwargs) -> pd.DataFrame:
    """Compare fits to the same individual data by PSIS-LOO (``az.compare``).

    Parameters
    ----------
    fits : mapping of str to FitResult
        E.g. ``{"exponential": fit_a, "weibull": fit_b}``; every fit must have the same
        observed data.
    **kwargs
        Passed to ``az.compare`` (e.g. ``method="stacking"``).

    Returns
    -------
    pandas.DataFrame
        ``az.compare``'s table (unrounded), best model first: ``rank``, ``elpd_diff``, ``dse``,
        ``p_worse``, ``diag_diff``, ``diag_elpd``, ``p``, ``elpd``, ``se``, ``weight``.

    Notes
    -----
    Pareto k: ``diag_elpd`` reads ``"K k_psis > threshold"`` when ``K`` patients have a Pareto
    k above ArviZ's ``good_k`` (``min(1 - 1/log10(S), 0.7)`` for ``S`` draws). Their
    importance weights are unreliable: a few influential patients (often the longest
    survivors) dominate, and the ELPD of that model is biased; read the difference with care,
    refit with more draws, or use K-fold cross-validation. ``diag_diff`` flags ``N < 100``
    (small cohorts: always, here) and ``|elpd_diff| < 4``, when the normal approximation of
    ``p_worse`` is poor.
    """
    if len(fits) < 2:
        raise ValueError(f"compare_loo needs at least two fits; received {list(fits)}")
    observed = {}
    for name, result in fits.items():
        data = {t.name: t.data() for t in result.terms if isinstance(t, IndividualData)}
        observed[name] = data
    first_name, first = next(iter(observed.items()))
    for name, data in observed.items():
        same = data.keys() == first.keys() and all(
            all(np.array_equal(data[t][k], first[t][k]) for k in first[t]) for t in first
        )
        if not same:
            raise ValueError(
                f"fits {first_name!r} and {name!r} have different individual data; PSIS-LOO "
                "compares models of the same observations"
            )
    trees = {name: log_likelihood(result) for name, result in fits.items()}
    return az.compare(trees, **{"round_to": "none", **kwargs})
