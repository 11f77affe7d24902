"""The registry of prior sets and the ranges and references they are built from.

The sets are ``weakly_informative``, ``sceptical``, ``enthusiastic``, ``reference`` and
``literature``; each is built by a factory of the same name taking ``hr_important``,
``literature`` and ``time_unit``, and :data:`PRIOR_SETS` maps the names to the factories.
:func:`literature_baseline` turns a published range of ``S(t_L)`` into a prior on the log
median survival with PreliZ.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from scipy import stats

from resurv.model.prior_values import Prior, PriorSet, _fmt

#: study time units per year (Julian year), for stating priors given in years
TIME_UNITS_PER_YEAR = {"days": 365.25, "weeks": 365.25 / 7.0, "months": 12.0, "years": 1.0}

#: the weakly informative range of the reference arm's median survival, in years (95%)
MEDIAN_RANGE_YEARS = (0.25, 50.0)
#: the weakly informative range of the hazard ratio (95%)
HR_RANGE = (1.0 / 20.0, 20.0)
#: log k ~ Normal(0, 0.5): 95% of k in [0.38, 2.66], centred on the Exponential (k = 1)
LOG_SHAPE_PRIOR = Prior("Normal", mu=0.0, sigma=0.5)
#: cure fraction of each arm (cure family): uniform on [0, 1], the probability scale
CURE_PRIOR = Prior("Beta", alpha=1.0, beta=1.0)
#: the reference set's cure fraction: Jeffreys' prior of a binomial proportion
CURE_JEFFREYS = Prior("Beta", alpha=0.5, beta=0.5)

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
        cure=CURE_PRIOR,
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
        cure=CURE_PRIOR,
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
        cure=CURE_PRIOR,
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
        cure=CURE_JEFFREYS,
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
    mu, sigma, alpha, b = _maxent_log_median(t, lo, hi, mass)
    return Prior("Normal", mu=mu, sigma=sigma), pz.Beta(alpha, b)


@functools.lru_cache(maxsize=64)
def _maxent_log_median(t: float, lo: float, hi: float, mass: float) -> tuple[float, ...]:
    """``(mu, sigma, alpha, beta)`` of :func:`literature_baseline`, once per range.

    A run builds the literature set for every fit, marginal likelihood and table; the
    maximum-entropy optimisation took about half a second each time.
    """
    import preliz as pz

    beta = pz.Beta()
    pz.maxent(beta, lower=lo, upper=hi, mass=mass, plot=False)
    s = stats.beta(beta.alpha, beta.beta)

    def log_median(surv):
        return np.log(t) + np.log(np.log(2.0)) - np.log(-np.log(surv))

    mu = s.expect(log_median)
    sigma = np.sqrt(s.expect(lambda x: (log_median(x) - mu) ** 2))
    return float(mu), float(sigma), float(beta.alpha), float(beta.beta)


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
        cure=CURE_PRIOR,
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
