"""Helpers of :mod:`resurv.audit.landmark_bounds`: printable windows and short tails.

The float pre-checks here are sound (they only ever keep too much, never drop a feasible
continuation: every bound is widened past the rounding error, see the soundness note of
:mod:`resurv.audit.landmark_bounds`); every configuration they return is checked in exact
rational arithmetic by :func:`_tail_prints`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from resurv.audit.landmark_problem import _Problem


def _window(prob: _Problem, cp: int) -> tuple[float, float]:
    ivs = prob.intervals[cp].values()
    return float(min(iv.lo for iv in ivs)), float(max(iv.hi for iv in ivs))


def _prints(prob: _Problem, cp: int, num: int, den: int) -> bool:
    x = Fraction(num, den)
    return any(iv.contains(x) for iv in prob.intervals[cp].values())


def _meets(p, lo, hi, window, margin):
    """Float mask, sound: whether ``p * [lo, hi]`` (widened by ``margin``) may meet ``window``."""
    w_lo, w_hi = window
    return (p * hi * (1 + margin) >= w_lo * (1 - margin)) & (
        p * lo * (1 - margin) <= w_hi * (1 + margin)
    )


def _one_death_can_print(p, r, rest, window, margin, actuarial):
    """Float mask, sound: whether, with one death still to come, a single factor may print.

    The one factor left is ``1 - s/m``: ``s = 2`` and ``2 <= m <= 2r`` for the life table
    (``m = 2 r_t - c_t``, ``r_t <= r``), ``s = 1`` and ``1 <= m <= r`` for Kaplan-Meier. The
    printable range ``[lo, hi]`` of ``p (1 - s/m)`` asks for ``s / (1 - lo/p) <= m <=
    s / (1 - hi/p)``: is there an integer ``m`` there (bounds widened by ``margin``)?
    Entries with another number of deaths to come are left True.
    """
    s, top = (2.0, 2.0 * r) if actuarial else (1.0, 1.0 * r)
    w_lo, w_hi = window
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.clip(w_lo * (1 - margin) / p, 0.0, 1.0)
        b = w_hi * (1 + margin) / p
        m_lo = np.floor(s / (1.0 - a) * (1 - margin))  # one below the least m, or fewer
        m_hi = np.where(b >= 1.0, np.inf, np.ceil(s / (1.0 - np.minimum(b, 1.0)) * (1 + margin)))
    first = np.maximum(m_lo, s)
    last = np.minimum(m_hi, top)
    return (rest != 1) | ((p > 0) & (r >= 1) & (first <= last))


def _in_window(p: float, window, margin: float = 1e-9) -> bool:
    """Float pre-check, sound: whether ``p`` may lie in ``window`` (widened by ``margin``)."""
    return window[0] * (1 - margin) <= p <= window[1] * (1 + margin)


def _tail_prints(prob: _Problem, j: int, r: int, num: int, den: int, tail) -> bool:
    """Exact check: whether ``tail``, from layer ``j`` (``r`` at risk, ``num/den``), prints."""
    actuarial = prob.estimator == "actuarial"
    for i in range(len(tail) // 2):
        d, c = tail[2 * i], tail[2 * i + 1]
        if r > 0:
            m = 2 * r - c if actuarial else r
            num, den = num * (m - (2 if actuarial else 1) * d), den * m
        r -= d + c
        layer = j + i + 1
        if layer in prob.layer_cp and not _prints(prob, prob.layer_cp[layer], num, den):
            return False
    return r == tail[-1] and r >= 0


def _short_tail(prob: _Problem, j: int, r: int, num: int, den: int, rest: int):
    """The rest of a configuration from layer ``j`` with ``rest`` <= 1 deaths to come, or None.

    With no death to come the product stays ``num/den``: every checkpoint ahead must print it.
    With one, it falls once by ``1 - s/m`` (``s = 2`` life table, ``s = 1`` Kaplan-Meier) in
    some interval ``i >= j``: with ``i > j`` any ``m`` from ``s`` to ``s r`` can be reached
    (withdraw patients in interval ``j`` down to ``r_t``, then one dies: ``m = 2 r_t - c_t``,
    ``c_t <= r_t - 1``, or ``m = r_t``), with ``i = j`` only ``r < m <= 2r`` (life table) or
    ``m = r``. Every death interval and every integer ``m`` that the float range of the
    windows admits (widened) is checked exactly with :func:`_tail_prints`, so a None is a
    proof and a tail is a witness.
    """
    k_last = len(prob.cuts) - 1
    left = k_last - j
    zeros = [0, 0] * left
    p = num / den
    ahead = [t for t in sorted(prob.layer_cp) if t > j]
    if rest == 0:
        if not all(_in_window(p, _window(prob, prob.layer_cp[t])) for t in ahead):
            return None
        tail = [*zeros, r]
        return tail if _tail_prints(prob, j, r, num, den, tail) else None
    if r < 1 or num == 0:
        return None
    actuarial = prob.estimator == "actuarial"
    s = 2 if actuarial else 1
    # a death in interval i: only which checkpoints come after it matters, and whether i = j
    # (no withdrawal before it is possible); so one i = j and one later i per segment
    starts = [j, *ahead[:-1]]
    deaths_at = sorted(
        {j} | {t_end - 1 for t_start, t_end in zip(starts, ahead, strict=True) if t_end - 1 > j}
    )
    for i in deaths_at:
        later = [t for t in ahead if t >= i + 1]
        if any(t <= i for t in ahead) and not all(
            _prints(prob, prob.layer_cp[t], num, den) for t in ahead if t <= i
        ):
            break  # a checkpoint before the death does not print the current product
        wins = [_window(prob, prob.layer_cp[t]) for t in later]
        a = max(w[0] for w in wins) / p * (1 - 1e-9)
        b = min(w[1] for w in wins) / p * (1 + 1e-9)
        if a >= 1 or a > b:
            continue
        m_lo = max(s, math.floor(s / (1.0 - max(a, 0.0))) - 1)
        m_hi = s * r if b >= 1 else min(s * r, math.ceil(s / (1.0 - b)) + 1)
        for m in range(m_lo, m_hi + 1):
            tail = list(zeros)
            if actuarial and r < m:  # die in interval i with c = 2r - m
                c_t, r_t, withdraw = 2 * r - m, r, 0
            elif actuarial and i > j:  # withdraw down to r_t = m - 1 in interval j
                r_t = m - 1
                c_t, withdraw = 2 * r_t - m, r - r_t
            elif not actuarial and m == r:
                c_t, r_t, withdraw = 0, r, 0
            elif not actuarial and m < r and i > j:
                c_t, r_t, withdraw = 0, m, r - m
            else:
                continue
            tail[1] = withdraw
            tail[2 * (i - j)] = 1
            tail[2 * (i - j) + 1] += c_t
            tail.append(r_t - 1 - c_t)
            if _tail_prints(prob, j, r, num, den, tail):
                return tail
    return None
