"""Validated inputs of a landmark build or search, and the transitions between states.

:func:`_prepare` checks an arm size, its checkpoints and the estimator, and returns the
:class:`_Problem` both :func:`resurv.audit.landmark_dp.build_landmark_graph` and
:func:`resurv.audit.landmark_search.find_configuration` work on: the cut points, the printable
interval of each checkpoint under each rule, and the printable range of the next checkpoint
per layer. :func:`_successors` yields the states one interval leads to from a state
``(at risk, running product)``, and :func:`_viable` drops those that cannot print the next
checkpoint; all arithmetic on the products is exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from resurv.audit.landmark_graph import Checkpoint, _layer_of
from resurv.audit.printing import RULES, PrintInterval, printed_interval, rules_for
from resurv.errors import AuditError
from resurv.study.schema import Printed

__all__ = ["ESTIMATORS"]

ESTIMATORS = ("actuarial", "kaplan-meier")


class _Problem(NamedTuple):
    """Validated inputs of a build or a search."""

    n: int
    estimator: str
    checkpoints: tuple[Checkpoint, ...]
    cuts: tuple[float, ...]
    layer_cp: dict[int, int]  # layer -> checkpoint index
    intervals: tuple[dict[str, PrintInterval], ...]  # per checkpoint: rule -> interval
    bounds: tuple[tuple[Fraction, Fraction], ...]  # per layer: printable range of next checkpoint


def _as_checkpoint(item) -> Checkpoint:
    if isinstance(item, Checkpoint):
        cp = item
    else:
        try:
            t, printed, rules = item
        except (TypeError, ValueError):
            raise AuditError(
                f"a checkpoint is (time, Printed, rules), got {item!r}; e.g. "
                "(4.0, Printed(92.6, 1), 'either')"
            ) from None
        rules = rules_for(rules) if isinstance(rules, str) else tuple(rules)
        cp = Checkpoint(float(t), printed, rules)
    if not (math.isfinite(cp.time) and cp.time > 0):
        raise AuditError(f"a checkpoint time must be > 0, got {cp.time!r}")
    if not cp.rules or any(r not in RULES for r in cp.rules):
        raise AuditError(f"checkpoint rules must be a non-empty subset of {RULES}, got {cp.rules}")
    if not isinstance(cp.printed, Printed):
        raise AuditError(f"a checkpoint's printed value must be a Printed, got {cp.printed!r}")
    return cp


def _cut_points(checkpoints, estimator, width, grid_width) -> tuple[float, ...]:
    step = width if estimator == "actuarial" else (grid_width or width / 4)
    what = "interval width" if estimator == "actuarial" else "Kaplan-Meier grid width"
    if not (math.isfinite(step) and step > 0):
        raise AuditError(f"the {what} must be > 0, got {step!r}")
    for cp in checkpoints:
        k = cp.time / step
        if round(k) < 1 or abs(k - round(k)) > 1e-9 * max(1.0, k):
            raise AuditError(
                f"checkpoint time {cp.time:g} is not a multiple of the {what} {step:g}; "
                "choose a width that divides every landmark time"
            )
    n_steps = round(checkpoints[-1].time / step)
    return tuple(i * step for i in range(n_steps + 1))


def _prepare(n, checkpoints, estimator, width, grid_width) -> _Problem:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise AuditError(f"n must be a positive integer, got {n!r}")
    if estimator not in ESTIMATORS:
        raise AuditError(f"estimator must be one of {list(ESTIMATORS)}, got {estimator!r}")
    cps = tuple(sorted((_as_checkpoint(c) for c in checkpoints), key=lambda c: c.time))
    if not cps:
        raise AuditError("at least one checkpoint (time, Printed, rules) is needed")
    if len({c.time for c in cps}) < len(cps):
        raise AuditError(f"two checkpoints share a time: {[c.time for c in cps]}")
    cuts = _cut_points(cps, estimator, width, grid_width)
    layer_cp = {_layer_of(c.time, cuts): i for i, c in enumerate(cps)}
    intervals = tuple({rule: printed_interval(c.printed, rule) for rule in c.rules} for c in cps)
    bounds: list = [None] * len(cuts)
    for layer in reversed(range(len(cuts))):
        if layer in layer_cp:
            ivs = intervals[layer_cp[layer]].values()
            nxt = (min(iv.lo for iv in ivs), max(iv.hi for iv in ivs))
        bounds[layer] = nxt
    return _Problem(int(n), estimator, cps, cuts, layer_cp, intervals, tuple(bounds))


def _successors(r, p, q, bounds, at_checkpoint, actuarial):
    """Yield ``(r_next, p_next, q_next, d, c)`` of one interval from state ``(r, p/q)``.

    An interval with ``r`` at risk multiplies ``P = p/q`` by ``(m - s d) / m``: ``m = 2r - c,
    s = 2`` for the life table (``1 - d / (r - c/2)``), ``m = r, s = 1`` for Kaplan-Meier.
    With ``[lo, hi]`` the printable range of the next checkpoint, the product never
    increases, so deaths stop at ``d_max = floor(m (1 - lo/P) / s)``; at a checkpoint layer
    only ``d >= d_min = ceil(m (1 - hi/P) / s)`` can print. Products are in lowest terms;
    all arithmetic is on exact integers.
    """
    lo, hi = bounds
    if r == 0:  # nobody at risk: the estimate is carried forward
        if p * lo.denominator >= lo.numerator * q:
            yield 0, p, q, 0, 0
        return
    step = 2 if actuarial else 1
    for c in range(r + 1) if actuarial else (0,):
        m = 2 * r - c if actuarial else r
        d_max = min(
            r - c, (m * (p * lo.denominator - lo.numerator * q)) // (step * p * lo.denominator)
        )
        d_min = 0
        if at_checkpoint:
            d_min = max(
                0, -((-m * (p * hi.denominator - hi.numerator * q)) // (step * p * hi.denominator))
            )
        for d in range(d_min, d_max + 1):
            num, den = p * (m - step * d), q * m
            g = math.gcd(num, den)
            if actuarial:
                yield r - d - c, num // g, den // g, d, c
            else:  # the Kaplan-Meier factor does not depend on the censored count
                for c_km in range(r - d + 1):
                    yield r - d - c_km, num // g, den // g, d, c_km


def _viable(r, p, q, bounds) -> bool:
    """Return False when ``P = p/q`` cannot reach the next checkpoint's printable range.

    That is when ``P`` is above the range while one more death already lands below it:
    every death multiplies ``P`` by at most ``1 - 1/r``.
    """
    lo, hi = bounds
    if p * hi.denominator <= hi.numerator * q:
        return True
    return r > 0 and p * (r - 1) * lo.denominator >= lo.numerator * q * r
