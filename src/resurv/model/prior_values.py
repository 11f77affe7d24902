"""Priors as values: :class:`Prior`, :class:`PriorSet` and the names they accept.

A :class:`Prior` is a distribution name and its parameters, hashable and compared by value,
that can become a PyMC variable or a frozen ``scipy.stats`` distribution. A :class:`PriorSet`
gathers the three priors of the model (the reference arm's baseline, the log hazard ratio and
the Weibull log shape) with its rationale and references. :data:`DISTRIBUTIONS` lists the
distributions and their parameters, :data:`BASELINE_VARIABLES` the scales a baseline prior
may be stated on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
from scipy import stats

#: distribution name -> (parameter names in order, parameters that must be > 0)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Normal": (("mu", "sigma"), ("sigma",)),
    "StudentT": (("nu", "mu", "sigma"), ("nu", "sigma")),
    "LogNormal": (("mu", "sigma"), ("sigma",)),
    "Gamma": (("alpha", "beta"), ("alpha", "beta")),
    "HalfNormal": (("sigma",), ("sigma",)),
    "Exponential": (("lam",), ("lam",)),
    "Uniform": (("lower", "upper"), ()),
    "Beta": (("alpha", "beta"), ("alpha", "beta")),
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
            case "Beta":
                return stats.beta(p["alpha"], p["beta"])
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
    """A named set of priors for the model's parameters (see :mod:`resurv.model.priors`).

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
    cure : Prior
        Prior of each arm's cure fraction ``pi``, on the probability scale (a Beta; used by
        the ``cure`` family only). Default ``Beta(1, 1)``, uniform on [0, 1].
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
    cure: Prior = field(default_factory=lambda: Prior("Beta", alpha=1.0, beta=1.0))

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
        return all(p.is_proper for p in (self.baseline, self.log_hr, self.log_shape, self.cure))

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
            ("cure_fraction", self.cure, "cure fraction pi (cure family)", False),
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
