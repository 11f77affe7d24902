"""Priors as data: printable value objects, a registry of prior sets, and the model's parameters.

A :class:`Prior` is a distribution name and its parameters; a :class:`PriorSet` is three priors
stated on scales a clinician can check (the reference arm's median survival, the hazard ratio,
the Weibull shape) with their rationale and references. Neither touches PyMC until
:func:`build_parameters` turns a prior set into the free variables and named deterministics of a
model. :func:`prior_predictive` shows what a prior set implies for ``S(t)``, the hazard ratio and
the median survival, from NumPy draws of the same priors.

Parameterisation (``S(t) = exp(-lam * t**k)``, ``k`` shared by the arms)::

    k                = exp(log_shape)                     (Weibull; 1 for the Exponential)
    log lam[ref]     = log(log 2) - k * log_median_reference     (baseline_scale "log_median")
                     = log(hazard_reference)                      (baseline_scale "rate")
                     = log_hazard_reference                       (baseline_scale "log_rate")
    log lam[arm]     = log lam[ref] + log_hr[arm]         (arm != ref, coordinate "comparison")

Deterministics (dims ``"arm"``): ``log_hazard``, ``hazard``, ``hazard_ratio`` (``lam[arm] /
lam[ref]``, 1 for the reference arm), ``median`` (time units); ``shape`` (Weibull only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from resurv.families import SurvivalFamily, get_family
from resurv.terms import ArmParams

__all__ = [
    "BASELINE_SCALES",
    "BASELINE_VARIABLES",
    "DISTRIBUTIONS",
    "Prior",
    "PriorSet",
    "PRIOR_SETS",
    "TIME_UNITS_PER_YEAR",
    "PRIOR_DATA_PREFIX",
    "build_parameters",
    "prior_data",
    "prior_structure",
    "get_prior_set",
    "literature_baseline",
    "prior_predictive",
    "sample_prior",
    "survival_summary",
]

#: distribution name -> (parameter names in order, parameters that must be > 0)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma"), ("sigma",)),
    "StudentT": (("nu", "mu", "sigma"), ("nu", "sigma")),
    "LogNormal": (("mu", "sigma"), ("sigma",)),
    "Gamma": (("alpha", "beta"), ("alpha", "beta")),
    "HalfNormal": (("sigma",), ("sigma",)),
    "Exponential": (("lam",), ("lam",)),
    "Uniform": (("lower", "upper"), ()),
    "Flat": ((), ()),
}
_POSITIVE_SUPPORT = ("LogNormal", "Gamma", "HalfNormal", "Exponential")

#: baseline_scale -> name of the free variable holding the reference arm's baseline
BASELINE_VARIABLES = {
    "log_median": "log_median_reference",
    "rate": "hazard_reference",
    "log_rate": "log_hazard_reference",
}
BASELINE_SCALES = tuple(BASELINE_VARIABLES)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


@dataclass(frozen=True, init=False)
class Prior:
    """A prior distribution as a value: ``Prior("Normal", mu=0, sigma=0.42)``.

    Parameters
    ----------
    distribution : str
        A PyMC distribution name, one of :data:`DISTRIBUTIONS`.
    **params : float
        Its parameters, by PyMC name. They are stored as a tuple of ``(name, value)`` pairs in
        the distribution's canonical order, so priors are hashable and compare by value.

    Examples
    --------
    >>> p = Prior("Normal", sigma=0.42, mu=0)
    >>> str(p)
    'Normal(mu=0, sigma=0.42)'
    >>> p == Prior("Normal", mu=0.0, sigma=0.42)
    True
    """

    distribution: str
    params: tuple[tuple[str, float], ...]

    def __init__(self, distribution: str, **params: float):
        if distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"unknown prior distribution {distribution!r}; "
                f"valid distributions are {sorted(DISTRIBUTIONS)}."
            )
        names, positive = DISTRIBUTIONS[distribution]
        if set(params) != set(names):
            raise ValueError(
                f"{distribution} takes parameters {list(names)}; received {sorted(params)}."
            )
        values = {n: float(params[n]) for n in names}
        for n, v in values.items():
            if not np.isfinite(v) or (n in positive and v <= 0):
                rule = "finite and > 0" if n in positive else "finite"
                raise ValueError(f"{distribution} parameter {n} must be {rule}; received {v!r}.")
        if distribution == "Uniform" and not values["lower"] < values["upper"]:
            raise ValueError(f"Uniform needs lower < upper; received {values}.")
        object.__setattr__(self, "distribution", distribution)
        object.__setattr__(self, "params", tuple(values.items()))

    def __str__(self) -> str:
        inner = ", ".join(f"{n}={_fmt(v)}" for n, v in self.params)
        return f"{self.distribution}({inner})"

    def __repr__(self) -> str:
        inner = "".join(f", {n}={v!r}" for n, v in self.params)
        return f"Prior({self.distribution!r}{inner})"

    @property
    def kwargs(self) -> dict[str, float]:
        """The parameters as a dict."""
        return dict(self.params)

    @property
    def is_proper(self) -> bool:
        """Whether the prior is a proper distribution (``Flat`` is not)."""
        return self.distribution != "Flat"

    def to_pymc(self, name: str, *, data_prefix: str | None = None, **kwargs: Any):
        """Create the PyMC variable ``name`` in the current model (``kwargs``: dims, shape...).

        Parameters are passed as float64 arrays: PyTensor would store a Python float such as
        ``2.0`` as a float32 constant and compute its logarithm in single precision. With
        ``data_prefix``, each parameter is a ``pm.Data`` container named
        ``f"{data_prefix}{parameter}"`` instead, so a compiled model can take the
        hyperparameters of another prior of the same distribution without recompiling.
        """
        params = {n: np.asarray(v, dtype=np.float64) for n, v in self.params}
        if data_prefix is not None:
            params = {n: pm.Data(f"{data_prefix}{n}", v) for n, v in params.items()}
        return getattr(pm, self.distribution)(name, **params, **kwargs)

    def to_scipy(self):
        """Return the frozen ``scipy.stats`` distribution (independent of PyMC)."""
        p = self.kwargs
        match self.distribution:
            case "Normal":
                return stats.norm(p["mu"], p["sigma"])
            case "StudentT":
                return stats.t(p["nu"], p["mu"], p["sigma"])
            case "LogNormal":
                return stats.lognorm(s=p["sigma"], scale=np.exp(p["mu"]))
            case "Gamma":
                return stats.gamma(a=p["alpha"], scale=1.0 / p["beta"])
            case "HalfNormal":
                return stats.halfnorm(scale=p["sigma"])
            case "Exponential":
                return stats.expon(scale=1.0 / p["lam"])
            case "Uniform":
                return stats.uniform(p["lower"], p["upper"] - p["lower"])
        raise ValueError(
            f"{self} is improper and has no probability distribution; "
            "use a proper prior (e.g. Normal) to draw from it or to compute probabilities."
        )

    def sample(self, rng: np.random.Generator, size=None) -> np.ndarray:
        """Draw from the prior with NumPy/SciPy (raises ``ValueError`` for ``Flat``)."""
        return self.to_scipy().rvs(size=size, random_state=rng)

    def interval(self, prob: float = 0.95) -> tuple[float, float]:
        """Central (equal-tailed) interval holding ``prob`` of the prior mass."""
        lo, hi = self.to_scipy().interval(prob)
        return float(lo), float(hi)


@dataclass(frozen=True)
class PriorSet:
    """A named set of priors for the model's parameters (see the module docstring).

    Attributes
    ----------
    name, label, rationale : str
        Registry name, a short title, and why these priors (with their numbers).
    references : tuple of str
        Papers the set follows.
    baseline : Prior
        Prior for the reference arm, on the scale ``baseline_scale``: ``"log_median"`` (log
        median survival, study time units), ``"rate"`` (``lam`` itself, e.g. a Gamma for the
        conjugate check) or ``"log_rate"`` (``log lam``).
    baseline_scale : str
        One of :data:`BASELINE_SCALES`.
    log_hr : Prior
        Prior of each non-reference arm's log hazard ratio ``log(lam[arm] / lam[ref])``.
    log_shape : Prior
        Prior of the Weibull ``log k`` (unused by the Exponential family).
    baseline_arm : str or None
        The arm the baseline prior was elicited for (literature priors); ``None`` means
        "whichever arm is the reference".
    """

    name: str
    label: str
    rationale: str
    references: tuple[str, ...]
    baseline: Prior
    baseline_scale: str
    log_hr: Prior
    log_shape: Prior
    baseline_arm: str | None = None

    def __post_init__(self):
        if self.baseline_scale not in BASELINE_SCALES:
            raise ValueError(
                f"baseline_scale must be one of {list(BASELINE_SCALES)}; "
                f"received {self.baseline_scale!r}."
            )
        if self.baseline_scale == "rate" and self.baseline.distribution not in _POSITIVE_SUPPORT:
            raise ValueError(
                f"a prior on the rate lam needs positive support ({list(_POSITIVE_SUPPORT)}); "
                f"received {self.baseline}. Put a Normal or Flat prior on baseline_scale "
                "'log_rate' instead."
            )

    @property
    def is_proper(self) -> bool:
        """Whether every prior of the set is proper (prior predictive checks need it)."""
        return all(p.is_proper for p in (self.baseline, self.log_hr, self.log_shape))

    def describe(self, prob: float = 0.95) -> pd.DataFrame:
        """Table of the priors with their central ``prob`` intervals on the natural scale."""
        baseline_meaning = {
            "log_median": "median survival of the reference arm",
            "rate": "hazard rate lam of the reference arm",
            "log_rate": "hazard rate lam of the reference arm",
        }[self.baseline_scale]
        rows = [  # (variable, prior, what it says, is it on the log scale of that quantity)
            (
                BASELINE_VARIABLES[self.baseline_scale],
                self.baseline,
                baseline_meaning,
                self.baseline_scale != "rate",
            ),
            ("log_hr", self.log_hr, "hazard ratio", True),
            ("log_shape", self.log_shape, "Weibull shape k", True),
        ]
        out = []
        for variable, prior, meaning, on_log_scale in rows:
            if prior.is_proper:
                lo, hi = np.exp(prior.interval(prob)) if on_log_scale else prior.interval(prob)
                interval = f"[{_fmt(lo)}, {_fmt(hi)}]"
            else:
                interval = "improper (flat)"
            out.append((variable, str(prior), meaning, interval))
        columns = ["variable", "prior", "natural scale", f"{prob:.0%} interval"]
        return pd.DataFrame(out, columns=columns)

    def __str__(self) -> str:
        lines = [f"{self.label} ({self.name})", self.describe().to_string(index=False)]
        if self.baseline_arm is not None:
            lines.append(f"baseline elicited for arm {self.baseline_arm!r}")
        lines += [self.rationale, *(f"- {r}" for r in self.references)]
        return "\n".join(lines)


def _ensure_coord(model: pm.Model, name: str, values: tuple[str, ...]) -> None:
    if name not in model.coords:
        model.add_coord(name, values)
    elif tuple(model.coords[name]) != values:
        raise ValueError(
            f"the model's {name!r} coordinate is {tuple(model.coords[name])}, but the arms give "
            f"{values}; create the model with coords={{{name!r}: {values}}} or leave it unset."
        )


def _check_arms(prior_set: PriorSet, arms, reference_arm: str) -> tuple[str, ...]:
    arms = tuple(arms)
    if not arms or len(set(arms)) != len(arms):
        raise ValueError(f"arms must be non-empty and unique; received {arms}.")
    if reference_arm not in arms:
        raise ValueError(f"reference_arm {reference_arm!r} is not one of the arms {arms}.")
    if prior_set.baseline_arm is not None and prior_set.baseline_arm != reference_arm:
        raise ValueError(
            f"prior set {prior_set.name!r} states its baseline for arm "
            f"{prior_set.baseline_arm!r}, but the reference arm is {reference_arm!r}; make "
            f"{prior_set.baseline_arm!r} the study's reference_arm (hazard ratios are then "
            "relative to it), or elicit the literature range for the reference arm."
        )
    return arms


#: prefix of the ``pm.Data`` containers that hold prior hyperparameters
PRIOR_DATA_PREFIX = "prior__"


def _prior_slots(prior_set: PriorSet, family: SurvivalFamily, arms, reference_arm):
    """``(variable name, Prior)`` of every prior a model of ``family`` and ``arms`` uses."""
    slots = [(BASELINE_VARIABLES[prior_set.baseline_scale], prior_set.baseline)]
    if any(a != reference_arm for a in arms):
        slots.append(("log_hr", prior_set.log_hr))
    if family.has_shape:
        slots.append(("log_shape", prior_set.log_shape))
    return slots


def prior_structure(prior_set: PriorSet) -> tuple:
    """What a compiled model depends on: the distributions and the baseline scale, not values.

    Prior sets with equal structure share one compiled model; their hyperparameters enter
    as data (:func:`prior_data`).
    """
    return (
        prior_set.baseline.distribution,
        prior_set.baseline_scale,
        prior_set.log_hr.distribution,
        prior_set.log_shape.distribution,
    )


def prior_data(
    prior_set: PriorSet, family: SurvivalFamily | str, arms: tuple[str, ...], reference_arm: str
) -> dict[str, np.ndarray]:
    """Hyperparameters as the ``pm.Data`` arrays of :func:`build_parameters` (``as_data``)."""
    family = get_family(family)
    return {
        f"{PRIOR_DATA_PREFIX}{var}__{n}": np.asarray(v, dtype=np.float64)
        for var, prior in _prior_slots(prior_set, family, tuple(arms), reference_arm)
        for n, v in prior.params
    }


def build_parameters(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    hyperparameters_as_data: bool = False,
) -> ArmParams:
    """Create the model's free variables and named deterministics in the current ``pm.Model``.

    Parameters
    ----------
    prior_set : PriorSet
        The priors.
    family : SurvivalFamily or str
        ``"exponential"`` (``k = 1``) or ``"weibull"`` (free ``k``, shared by the arms).
    arms : tuple of str
        Arm ids, in the order of the model's ``"arm"`` coordinate (added if missing).
    reference_arm : str
        The arm the baseline prior describes; hazard ratios are relative to it.
    hyperparameters_as_data : bool, default False
        Hold the priors' parameters in ``pm.Data`` containers (named as the keys of
        :func:`prior_data`), so that one compiled model serves every prior set of the same
        :func:`prior_structure`.

    Returns
    -------
    ArmParams
        ``lam`` per arm (scalar tensors) and the shared ``k``, for the likelihood terms.

    Notes
    -----
    Free variables: the baseline (:data:`BASELINE_VARIABLES`), ``log_hr`` (dims
    ``"comparison"``: the non-reference arms, in ``arms`` order) and, for the Weibull,
    ``log_shape``. Deterministics: ``log_hazard``, ``hazard``, ``hazard_ratio``, ``median``
    (dims ``"arm"``) and ``shape`` (Weibull). With ``baseline_scale="log_median"``,
    ``lam[ref] = log(2) / median_ref**k``.
    """
    family = get_family(family)
    arms = _check_arms(prior_set, arms, reference_arm)
    model = pm.modelcontext(None)
    _ensure_coord(model, "arm", arms)
    others = tuple(a for a in arms if a != reference_arm)

    def prefix(var: str) -> str | None:
        return f"{PRIOR_DATA_PREFIX}{var}__" if hyperparameters_as_data else None

    if family.has_shape:
        log_shape = prior_set.log_shape.to_pymc("log_shape", data_prefix=prefix("log_shape"))
        k = pm.Deterministic("shape", pt.exp(log_shape))
    else:
        k = pt.as_tensor_variable(np.float64(1.0))

    base_var = BASELINE_VARIABLES[prior_set.baseline_scale]
    base = prior_set.baseline.to_pymc(base_var, data_prefix=prefix(base_var))
    if prior_set.baseline_scale == "log_median":
        log_lam_ref = np.log(np.log(2.0)) - k * base
    elif prior_set.baseline_scale == "rate":
        log_lam_ref = pt.log(base)
    else:
        log_lam_ref = base

    if others:
        _ensure_coord(model, "comparison", others)
        log_hr = prior_set.log_hr.to_pymc("log_hr", dims="comparison", data_prefix=prefix("log_hr"))
        zero = pt.as_tensor_variable(np.float64(0.0))
        log_hr_arm = pt.stack(
            [zero if a == reference_arm else log_hr[others.index(a)] for a in arms]
        )
    else:
        log_hr_arm = pt.zeros(1, dtype="float64")

    log_hazard = pm.Deterministic("log_hazard", log_lam_ref + log_hr_arm, dims="arm")
    hazard = pm.Deterministic("hazard", pt.exp(log_hazard), dims="arm")
    pm.Deterministic("hazard_ratio", pt.exp(log_hr_arm), dims="arm")
    pm.Deterministic("median", family.median(hazard, k), dims="arm")
    return ArmParams(arms=arms, lam={a: hazard[i] for i, a in enumerate(arms)}, k=k)


# -- prior predictive ---------------------------------------------------------------------------


def sample_prior(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    draws: int = 4000,
    seed,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(hazard, shape)`` from a prior set with NumPy, mirroring :func:`build_parameters`.

    Returns
    -------
    hazard : ndarray, shape (draws, len(arms))
        ``lam`` per arm, columns in ``arms`` order.
    shape : ndarray, shape (draws,)
        ``k`` (ones for the Exponential family).

    Raises
    ------
    ValueError
        If the set contains an improper (``Flat``) prior.
    """
    family = get_family(family)
    arms = _check_arms(prior_set, arms, reference_arm)
    if not prior_set.is_proper:
        raise ValueError(
            f"prior set {prior_set.name!r} has an improper (Flat) prior, so it implies no "
            "prior predictive distribution; check a proper set (e.g. 'weakly_informative')."
        )
    rng = np.random.default_rng(seed)
    draws = int(draws)
    k = np.exp(prior_set.log_shape.sample(rng, draws)) if family.has_shape else np.ones(draws)
    base = prior_set.baseline.sample(rng, draws)
    if prior_set.baseline_scale == "log_median":
        log_lam_ref = np.log(np.log(2.0)) - k * base
    elif prior_set.baseline_scale == "rate":
        log_lam_ref = np.log(base)
    else:
        log_lam_ref = base
    n_other = len(arms) - 1
    log_hr = prior_set.log_hr.sample(rng, (draws, n_other)) if n_other else np.zeros((draws, 0))
    ref = arms.index(reference_arm)
    log_hr_arm = np.insert(log_hr, ref, 0.0, axis=1)
    return np.exp(log_lam_ref[:, None] + log_hr_arm), k


def survival_summary(hazard, shape, family, arms, reference_arm, *, times) -> pd.DataFrame:
    """Median and 95% equal-tailed interval of ``S(t)``, the hazard ratio and the median.

    Parameters
    ----------
    hazard : array, shape (draws, n_arms)
        Draws of ``lam`` per arm (columns in ``arms`` order), prior or posterior.
    shape : array, shape (draws,)
        Draws of ``k`` (ones for the Exponential).
    family, arms, reference_arm
        As in :func:`build_parameters`.
    times : sequence of float
        Times (study units) at which to summarise ``S(t)``.

    Returns
    -------
    pandas.DataFrame
        One row per quantity (``"survival"`` per arm and time, ``"hazard_ratio"`` per
        non-reference arm, ``"median"`` per arm, ``"shape"`` for the Weibull) with columns
        ``quantity, arm, time, median, eti95_lower, eti95_upper`` (2.5% and 97.5% quantiles).
    """
    family = get_family(family)
    hazard = np.asarray(hazard, dtype=float)
    shape = np.asarray(shape, dtype=float)
    ref = arms.index(reference_arm)
    rows = []

    def add(quantity, arm, time, x):
        lo, mid, hi = np.quantile(x, [0.025, 0.5, 0.975])
        rows.append((quantity, arm, time, mid, lo, hi))

    for i, arm in enumerate(arms):
        for t in times:
            add("survival", arm, float(t), family.survival(t, hazard[:, i], shape))
    for i, arm in enumerate(arms):
        if i != ref:
            add("hazard_ratio", arm, np.nan, hazard[:, i] / hazard[:, ref])
    for i, arm in enumerate(arms):
        add("median", arm, np.nan, family.median(hazard[:, i], shape))
    if family.has_shape:
        add("shape", None, np.nan, shape)
    columns = ["quantity", "arm", "time", "median", "eti95_lower", "eti95_upper"]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["interval"] = "95% equal-tailed (2.5% and 97.5% quantiles)"
    return table


def prior_predictive(
    prior_set: PriorSet,
    family: SurvivalFamily | str,
    arms: tuple[str, ...],
    reference_arm: str,
    *,
    times,
    draws: int = 4000,
    seed,
) -> pd.DataFrame:
    """Summarise what a prior set implies for ``S(t)``, the hazard ratio and the median.

    Draws the priors with NumPy (:func:`sample_prior`), maps them through the parameterisation
    of :func:`build_parameters`, and summarises with :func:`survival_summary` (median and 95%
    equal-tailed interval). The same draws come from ``pm.sample_prior_predictive`` on a model
    built by :func:`build_parameters` (checked in the tests).

    Raises
    ------
    ValueError
        If the set contains an improper prior (``reference``).
    """
    hazard, shape = sample_prior(prior_set, family, arms, reference_arm, draws=draws, seed=seed)
    return survival_summary(hazard, shape, family, tuple(arms), reference_arm, times=times)


# -- the registry --------------------------------------------------------------------------------

#: study time units per year (Julian year), for stating priors given in years
TIME_UNITS_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}

#: the weakly informative range of the reference arm's median survival, in years (95%)
MEDIAN_RANGE_YEARS = (0.25, 50.0)
#: the weakly informative range of the hazard ratio (95%)
HR_RANGE = (1.0 / 20.0, 20.0)
#: log k ~ Normal(0, 0.5): 95% of k in [0.38, 2.66], centred on the Exponential (k = 1)
LOG_SHAPE_PRIOR = Prior("Normal", mu=0.0, sigma=0.5)

_Z95 = float(stats.norm.ppf(0.975))  # two-sided 95%: 1.96
_Z90 = float(stats.norm.ppf(0.95))  # one-sided 5%: 1.6449

_SPIEGELHALTER = (
    "Spiegelhalter DJ, Freedman LS, Parmar MKB. Bayesian approaches to randomized trials. "
    "J R Stat Soc A 1994;157(3):357-416."
)
_GELMAN = (
    "Gelman A, Jakulin A, Pittau MG, Su YS. A weakly informative default prior distribution "
    "for logistic and other regression models. Ann Appl Stat 2008;2(4):1360-83."
)
_KASS = (
    "Kass RE, Wasserman L. The selection of prior distributions by formal rules. "
    "J Am Stat Assoc 1996;91(435):1343-70."
)
_PRELIZ = (
    "Icazatti A, Abril-Pla O, Klami A, Martin OA. PreliZ: a tool-box for prior elicitation. "
    "J Open Source Softw 2023;8(89):5499."
)


def _check_time_unit(time_unit: str) -> float:
    try:
        return TIME_UNITS_PER_YEAR[time_unit]
    except KeyError:
        raise ValueError(
            f"unknown time_unit {time_unit!r}; valid units are {list(TIME_UNITS_PER_YEAR)}."
        ) from None


def _check_hr_important(hr_important: float) -> float:
    hr = float(hr_important)
    if not (np.isfinite(hr) and hr > 0 and hr != 1.0):
        raise ValueError(
            f"hr_important must be a hazard ratio > 0 and != 1; received {hr_important!r}. "
            "Use e.g. 2.0 (the non-reference arm's hazard doubled) or 0.5 (halved)."
        )
    return hr


def _weak_baseline(time_unit: str) -> Prior:
    """Return the Normal on the log median with 95% in MEDIAN_RANGE_YEARS, in ``time_unit``."""
    per_year = _check_time_unit(time_unit)
    lo, hi = np.log(np.asarray(MEDIAN_RANGE_YEARS) * per_year)
    return Prior("Normal", mu=(lo + hi) / 2.0, sigma=(hi - lo) / (2.0 * _Z95))


def _weak_log_hr() -> Prior:
    return Prior("Normal", mu=0.0, sigma=np.log(HR_RANGE[1]) / _Z95)


def weakly_informative(*, time_unit: str = "years", **_: Any) -> PriorSet:
    """Build the weakly informative set: median 3 months-50 years, HR 1/20-20, k near 1."""
    base = _weak_baseline(time_unit)
    return PriorSet(
        name="weakly_informative",
        label="Weakly informative",
        rationale=(
            "The reference arm's median survival lies between 3 months and 50 years with 95% "
            f"probability (log median ~ {base} in {time_unit}); the hazard ratio of each other "
            "arm lies between 1/20 and 20 (log HR ~ Normal(0, log 20 / 1.96)); log k ~ "
            "Normal(0, 0.5) puts 95% of the Weibull shape in [0.38, 2.66], shrinking towards "
            "the Exponential."
        ),
        references=(_GELMAN,),
        baseline=base,
        baseline_scale="log_median",
        log_hr=_weak_log_hr(),
        log_shape=LOG_SHAPE_PRIOR,
    )


def sceptical(*, hr_important: float = 2.0, time_unit: str = "years", **_: Any) -> PriorSet:
    """Build the sceptical set: log HR ~ Normal(0, sigma), P(HR beyond hr_important) = 5%."""
    hr = _check_hr_important(hr_important)
    sigma = abs(np.log(hr)) / _Z90
    return PriorSet(
        name="sceptical",
        label="Sceptical",
        rationale=(
            f"No difference is most likely: log HR ~ Normal(0, |log {_fmt(hr)}| / 1.645), so "
            f"P(HR > {_fmt(max(hr, 1 / hr))}) = P(HR < {_fmt(min(hr, 1 / hr))}) = 5%. The "
            "baseline and the Weibull shape are as in 'weakly_informative'."
        ),
        references=(_SPIEGELHALTER,),
        baseline=_weak_baseline(time_unit),
        baseline_scale="log_median",
        log_hr=Prior("Normal", mu=0.0, sigma=sigma),
        log_shape=LOG_SHAPE_PRIOR,
    )


def enthusiastic(*, hr_important: float = 2.0, time_unit: str = "years", **_: Any) -> PriorSet:
    """Build the enthusiastic set: log HR ~ Normal(log hr_important, sigma), P(wrong side) 5%."""
    hr = _check_hr_important(hr_important)
    sigma = abs(np.log(hr)) / _Z90
    side = "<" if hr > 1 else ">"
    return PriorSet(
        name="enthusiastic",
        label="Enthusiastic",
        rationale=(
            f"The clinically important difference is most likely: log HR ~ Normal(log "
            f"{_fmt(hr)}, |log {_fmt(hr)}| / 1.645), so P(HR {side} 1) = 5%. HR > 1 means the "
            "non-reference arm has the higher hazard (the reference arm does better). The "
            "baseline and the Weibull shape are as in 'weakly_informative'."
        ),
        references=(_SPIEGELHALTER,),
        baseline=_weak_baseline(time_unit),
        baseline_scale="log_median",
        log_hr=Prior("Normal", mu=np.log(hr), sigma=sigma),
        log_shape=LOG_SHAPE_PRIOR,
    )


def reference(**_: Any) -> PriorSet:
    """Build the reference set: flat on log lam (reference arm) and log HR; log k ~ N(0, 0.5)."""
    return PriorSet(
        name="reference",
        label="Reference (Jeffreys-type)",
        rationale=(
            "Flat priors on the reference arm's log hazard and on each log hazard ratio (the "
            "Jeffreys prior of an exponential rate is flat on log lam), so the posterior "
            "follows the likelihood and can be set beside the paper's frequentist figures. "
            "The posterior is proper only if every arm has at least one event in the data "
            "(or an informative figure). The Weibull log k keeps Normal(0, 0.5): one landmark "
            "per arm cannot inform the shape, and a flat prior on it would leave the "
            "posterior improper."
        ),
        references=(_KASS,),
        baseline=Prior("Flat"),
        baseline_scale="log_rate",
        log_hr=Prior("Flat"),
        log_shape=LOG_SHAPE_PRIOR,
    )


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def literature_baseline(literature: Any) -> tuple[Prior, Any]:
    r"""Return a Normal prior on the log median of an arm, from a published survival range.

    Parameters
    ----------
    literature : object or dict
        With ``arm`` (the arm it describes), ``time`` (the landmark ``t_L``, study time units),
        ``lower``, ``upper`` (the published range of ``S(t_L)``, fractions in (0, 1)),
        ``mass`` (how much prior probability the range holds, e.g. 0.9) and ``source``.

    Returns
    -------
    prior : Prior
        ``Normal(mu, sigma)`` on ``log median`` of that arm.
    beta : preliz.Beta
        The maximum-entropy Beta for ``S(t_L)`` it was mapped from.

    Notes
    -----
    ``pz.maxent`` finds the Beta with the largest entropy that puts ``mass`` on
    ``[lower, upper]``. Under the Exponential (``k = 1``, the centre of the shape prior)
    ``S(t_L) = exp(-log 2 * t_L / median)``, so

    .. math:: \log \mathrm{median} = \log t_L + \log\log 2 - \log(-\log S(t_L)).

    The Normal keeps the mean and variance of this transform of the Beta (computed by
    quadrature, so no seed is involved). Its mass on the image of ``[lower, upper]`` differs
    from ``mass`` by the Normal's misfit, about one percentage point for typical ranges. Under
    the Weibull the same prior on the median gives ``S(t_L)`` a slightly wider spread, because
    ``S(t_L)`` then also depends on ``k``.

    References
    ----------
    Icazatti A et al. PreliZ: a tool-box for prior elicitation. JOSS 2023;8(89):5499.
    """
    import preliz as pz

    fields = {n: _field(literature, n) for n in ("arm", "time", "lower", "upper", "mass")}
    missing = [n for n, v in fields.items() if v is None]
    if missing:
        raise ValueError(
            f"the literature range lacks {missing}; give arm, time, lower, upper, mass "
            "(and source), e.g. arm='resected', time=5, lower=0.6, upper=0.85, mass=0.9."
        )
    t, lo, hi, mass = (float(fields[n]) for n in ("time", "lower", "upper", "mass"))
    if not (t > 0 and 0 < lo < hi < 1 and 0 < mass < 1):
        raise ValueError(
            f"the literature range needs time > 0, 0 < lower < upper < 1 (survival as a "
            f"fraction, not a percent) and 0 < mass < 1; received time={t}, lower={lo}, "
            f"upper={hi}, mass={mass}."
        )
    beta = pz.Beta()
    pz.maxent(beta, lower=lo, upper=hi, mass=mass, plot=False)
    s = stats.beta(beta.alpha, beta.beta)

    def log_median(surv):
        return np.log(t) + np.log(np.log(2.0)) - np.log(-np.log(surv))

    mu = s.expect(log_median)
    sigma = np.sqrt(s.expect(lambda x: (log_median(x) - mu) ** 2))
    return Prior("Normal", mu=mu, sigma=sigma), beta


def literature(
    *, literature: Any = None, time_unit: str = "years", hr_important: float = 2.0, **_: Any
) -> PriorSet:
    """Build the literature set: baseline from a published range of ``S(t_L)`` (PreliZ)."""
    if literature is None:
        raise ValueError(
            "the 'literature' prior set needs literature=<object with arm, time, lower, upper, "
            "mass, source>, e.g. a review's 5-year survival range after resection."
        )
    base, beta = literature_baseline(literature)
    source = _field(literature, "source") or "unstated source"
    arm = str(_field(literature, "arm"))
    t, lo, hi = (float(_field(literature, n)) for n in ("time", "lower", "upper"))
    mass = float(_field(literature, "mass"))
    return PriorSet(
        name="literature",
        label="Literature",
        rationale=(
            f"S({_fmt(t)} {time_unit}) of arm {arm!r} lies in [{_fmt(lo)}, {_fmt(hi)}] with "
            f"probability {_fmt(mass)} ({source}); PreliZ maxent gives {beta}, mapped to log "
            f"median ~ {base} by matching mean and variance under k = 1. Log HR and the "
            "Weibull shape are as in 'weakly_informative'."
        ),
        references=(str(source), _PRELIZ),
        baseline=base,
        baseline_scale="log_median",
        log_hr=_weak_log_hr(),
        log_shape=LOG_SHAPE_PRIOR,
        baseline_arm=arm,
    )


#: name -> factory(hr_important=..., literature=..., time_unit=...) -> PriorSet
PRIOR_SETS = {
    "weakly_informative": weakly_informative,
    "sceptical": sceptical,
    "enthusiastic": enthusiastic,
    "reference": reference,
    "literature": literature,
}


def get_prior_set(
    name: str,
    *,
    hr_important: float = 2.0,
    literature: Any = None,
    time_unit: str = "years",
) -> PriorSet:
    """Return the prior set ``name`` from :data:`PRIOR_SETS`.

    Parameters
    ----------
    name : str
        One of ``weakly_informative``, ``sceptical``, ``enthusiastic``, ``reference``,
        ``literature``.
    hr_important : float, default 2.0
        The clinically important hazard ratio (non-reference arm over reference arm) for
        ``sceptical`` and ``enthusiastic``.
    literature : object, optional
        The published range for ``literature`` (see :func:`literature_baseline`).
    time_unit : str, default "years"
        The study's time unit; the weakly informative median range is converted to it.

    Examples
    --------
    >>> ps = get_prior_set("sceptical", hr_important=2.0)
    >>> str(ps.log_hr)
    'Normal(mu=0, sigma=0.421)'
    """
    try:
        factory = PRIOR_SETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown prior set {name!r}; valid prior sets are {list(PRIOR_SETS)}."
        ) from None
    _check_time_unit(time_unit)
    return factory(hr_important=hr_important, literature=literature, time_unit=time_unit)
