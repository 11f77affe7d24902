"""Proportion, count and rate terms: mixtures over candidate denominators.

A printed percent or count decides exactly which event counts each candidate denominator
allows (:func:`feasible_counts`); :class:`ProportionTerm` and :class:`CountTerm` mix
binomials, :class:`RateTerm` Poisson terms, over those rows, each with its own parameter and
conjugate prior. :func:`rule_of_three` and :func:`count_upper_bound` bound a proportion
with no events.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special, stats

from resurv.audit.printing import prints_as, rules_for
from resurv.errors import AuditError
from resurv.model.figure_term import _FigureTerm, _log_weights
from resurv.model.terms import ArmParams
from resurv.study.schema import Printed

__all__ = [
    "CountTerm",
    "ProportionTerm",
    "RateTerm",
    "count_upper_bound",
    "feasible_counts",
    "rule_of_three",
]


def feasible_counts(
    printed: Printed, denominators: Sequence[int], rounding: str = "either"
) -> dict[int, tuple[int, ...]]:
    """Event counts ``a`` that print as ``printed`` percent of each candidate denominator ``m``.

    Decided exactly: ``a / m`` as a Fraction against the printing rule(s) of ``rounding``
    (see :mod:`resurv.audit.printing`). An empty tuple rules the denominator out.

    Examples
    --------
    >>> feasible_counts(Printed(50.0, 1), [16, 19, 22, 28])
    {16: (8,), 19: (), 22: (11,), 28: (14,)}
    """
    rules = rules_for(rounding)

    def prints(a: int, m: int) -> bool:
        return any(prints_as(Fraction(a, m), printed, rule) for rule in rules)

    return {int(m): tuple(a for a in range(int(m) + 1) if prints(a, int(m))) for m in denominators}


def rule_of_three(n: int) -> float:
    """Approximate one-sided 95% upper bound ``3 / n`` for a proportion with 0 events in ``n``.

    References
    ----------
    Hanley JA, Lippman-Hand A. If nothing goes wrong, is everything all right? JAMA
    1983;249:1743-5.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; received {n}")
    return 3.0 / n


def count_upper_bound(events: int, n: int, prior=(1.0, 1.0), prob: float = 0.95) -> float:
    """Posterior ``prob`` quantile of a proportion: ``Beta(a + events, b + n - events)``.

    With ``events = 0`` and the uniform prior it is ``1 - (1 - prob)**(1 / (n + 1))``, a little
    below the rule of three ``3 / n``.
    """
    if not 0 <= events <= n:
        raise ValueError(f"need 0 <= events <= n; received events={events}, n={n}")
    return float(stats.beta.ppf(prob, prior[0] + events, prior[1] + n - events))


class _CountMixture(_FigureTerm):
    """Rows ``(a, m)``: feasible event counts ``a`` of candidate denominators ``m``."""

    prefix = ""

    def __init__(self, name: str, counts: Mapping[int, Sequence[int]], prior, arm: str | None):
        self._set_name(name)
        self.arm, self.prior = arm, (float(prior[0]), float(prior[1]))
        self.parameter = f"{self.prefix}_{self.name}"
        self.own_parameters = (self.parameter,)
        if not counts:
            raise ValueError("counts must map at least one candidate denominator to its counts")
        rows = [(a, m) for m, feasible in counts.items() for a in feasible]
        if not rows:
            raise AuditError(
                f"{name}: no candidate denominator in {sorted(counts)} can produce the printed "
                "figure; check the denominators and the rounding convention"
            )
        self.counts = {int(m): tuple(int(a) for a in f) for m, f in counts.items()}
        self._a, self._m = (np.array(v, dtype=float) for v in zip(*rows, strict=True))
        self._log_weight = _log_weights(len(counts))[0]


class ProportionTerm(_CountMixture):
    """Binomial likelihood of a printed proportion, with its own probability ``p_{name}``.

    Parameters
    ----------
    name : str
        Names the term and its parameter ``p_{name} ~ Beta(*prior)``.
    counts : mapping
        ``denominator -> feasible event counts`` (see :func:`feasible_counts`).
    prior : (a, b), default (1, 1)

    Notes
    -----
    ``L(p) = (1/N) sum_m sum_{a in F(m)} Binomial(a | m, p)``: the probability that the
    figure prints, averaged over the ``N`` candidate denominators.
    """

    prefix = "p"

    def __init__(
        self, name: str, counts: Mapping[int, Sequence[int]], prior=(1.0, 1.0), *, arm=None
    ):
        super().__init__(name, counts, prior, arm)
        a, m = self._a, self._m
        const = special.gammaln(m + 1) - special.gammaln(a + 1) - special.gammaln(m - a + 1)
        self._data = {"events": a, "size": m, "const": const + self._log_weight}

    @classmethod
    def from_printed(
        cls, name, printed: Printed, denominators, rounding="either", prior=(1.0, 1.0), **kw
    ):
        """Build from a printed percent and candidate denominators."""
        return cls(name, feasible_counts(printed, denominators, rounding), prior, **kw)

    def _own_variables(self) -> dict[str, Any]:
        return {self.parameter: pm.Beta(self.parameter, alpha=self.prior[0], beta=self.prior[1])}

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Mixture of binomials over the feasible rows."""
        p, a, m = own[self.parameter], data["events"], data["size"]
        return pt.logsumexp(data["const"] + a * pt.log(p) + (m - a) * pt.log1p(-p))

    def posterior_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conjugate posterior: mixture weights and ``Beta(alpha, beta)`` parameters per row."""
        a0, b0 = self.prior
        alpha, beta = a0 + self._a, b0 + self._m - self._a
        log_w = self._data["const"] + special.betaln(alpha, beta) - special.betaln(a0, b0)
        return np.exp(log_w - special.logsumexp(log_w)), alpha, beta


class CountTerm(ProportionTerm):
    """A printed count of ``events`` among candidate denominators (e.g. 0 operative deaths).

    Set :func:`count_upper_bound` of the posterior beside :func:`rule_of_three`.
    """

    def __init__(
        self, name: str, events: int, denominators: Sequence[int], prior=(1.0, 1.0), *, arm=None
    ):
        counts = {int(m): (int(events),) if events <= m else () for m in denominators}
        super().__init__(name, counts, prior, arm=arm)


class RateTerm(_CountMixture):
    """Poisson likelihood of events per person-time, with its own rate ``rate_{name}``.

    Parameters
    ----------
    name : str
    counts : mapping
        ``patients -> feasible event counts`` (see :func:`feasible_counts`).
    mean_followup : float
        Assumed mean follow-up per patient (in the person-time unit, e.g. years): ``m``
        patients contribute ``m * mean_followup``. An assumption the report must state and
        vary in sensitivity analysis.
    prior : (alpha, beta), default (1, 1)
        ``rate_{name} ~ Gamma(alpha, beta)`` (``beta`` a rate), events per person-time unit.

    Notes
    -----
    ``L(rate) = (1/N) sum_m sum_{a in F(m)} Poisson(a | rate m F)``. The Gamma prior is
    conjugate: each row's posterior is ``Gamma(alpha + a, beta + m F)``
    (:meth:`posterior_components`). When each patient counts once (first recurrence), the
    Poisson form approximates a binomial with exposure-dependent probability.
    """

    prefix = "rate"

    def __init__(
        self,
        name,
        counts: Mapping[int, Sequence[int]],
        mean_followup: float,
        prior=(1.0, 1.0),
        *,
        arm=None,
    ):
        super().__init__(name, counts, prior, arm)
        if not mean_followup > 0:
            raise ValueError(
                f"mean_followup must be > 0 (person-time per patient); got {mean_followup!r}"
            )
        self.mean_followup = float(mean_followup)
        exposure = self._m * self.mean_followup
        const = self._a * np.log(exposure) - special.gammaln(self._a + 1) + self._log_weight
        self._data = {"events": self._a, "exposure": exposure, "const": const}

    def _own_variables(self) -> dict[str, Any]:
        return {self.parameter: pm.Gamma(self.parameter, alpha=self.prior[0], beta=self.prior[1])}

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Mixture of Poisson terms over the feasible rows."""
        rate = own[self.parameter]
        return pt.logsumexp(data["const"] + data["events"] * pt.log(rate) - rate * data["exposure"])

    def posterior_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conjugate posterior: mixture weights and ``Gamma(alpha, beta)`` parameters per row."""
        a0, b0 = self.prior
        alpha, beta = a0 + self._a, b0 + self._data["exposure"]
        log_w = self._data["const"] + special.gammaln(alpha) - alpha * np.log(beta)
        log_w += a0 * math.log(b0) - special.gammaln(a0)
        return np.exp(log_w - special.logsumexp(log_w)), alpha, beta
