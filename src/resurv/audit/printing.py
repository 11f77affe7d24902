"""Exact printing rules: which proportions a paper's printed percentage can stand for.

A printed percentage such as "92.6" is a *set* of proportions, fixed by the number of
decimals shown and by the convention the authors (or their software) used to shorten it.
Every decision here is made in exact rational arithmetic (:class:`fractions.Fraction`);
no print is ever decided by a float comparison.

Conventions
-----------
``"round"``
    Round half up at the printed decimals: with ``h = 10**-decimals`` percent, a proportion
    ``x`` prints as ``p`` when ``p - h/2 <= 100 x < p + h/2``. A value exactly halfway
    between two printable numbers prints *up* (1/8 with no decimals prints as 13%, not 12%).
    Software that rounds ties to even would print 12%; such exact ties are rare and are the
    one place where the two kinds of rounding disagree.
``"truncate"``
    Cut the digits (floor): ``p <= 100 x < p + h``.
``"either"``
    The paper's convention is unknown: both of the above are tried (see :func:`rules_for`).

The same rules decide the simplest checks of the audit: whether a printed "a/b (x%)" holds
(:func:`check_percent_of`) and which counts of each candidate denominator print a
percentage (:func:`feasible_counts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from numbers import Integral, Rational
from typing import Any, Literal, NamedTuple

from resurv.errors import AuditError
from resurv.study.schema import Printed

Rule = Literal["round", "truncate"]

RULES: tuple[Rule, ...] = ("round", "truncate")
ROUNDINGS = ("round", "truncate", "either")


class PrintInterval(NamedTuple):
    """The proportions that print as one figure: from ``lo`` to ``hi`` (Fractions in [0, 1]).

    ``lo_closed`` and ``hi_closed`` say whether the end points themselves print as the figure.
    """

    lo: Fraction
    hi: Fraction
    lo_closed: bool
    hi_closed: bool

    def contains(self, x: Fraction) -> bool:
        """Return True when the proportion ``x`` lies in the interval."""
        above = x > self.lo or (self.lo_closed and x == self.lo)
        below = x < self.hi or (self.hi_closed and x == self.hi)
        return above and below


def rules_for(rounding: str) -> tuple[Rule, ...]:
    """Return the printing rules a study's ``rounding`` setting stands for.

    ``"round"`` and ``"truncate"`` stand for themselves; ``"either"`` stands for both.
    """
    if rounding == "either":
        return RULES
    if rounding in RULES:
        return (rounding,)
    raise ValueError(
        f"rounding must be one of {list(ROUNDINGS)}, got {rounding!r}; use 'either' when the "
        "paper does not say how it shortened its percentages"
    )


def printed_percent(printed: Printed) -> Fraction:
    """Return the printed percentage as an exact Fraction (``Printed(92.6, 1)`` -> 463/5).

    Raises ``ValueError`` when the value is not a percentage in [0, 100] or carries more
    decimals than ``printed.decimals`` declares.
    """
    if not isinstance(printed, Printed):
        raise TypeError(f"expected a Printed value, got {type(printed).__name__}: {printed!r}")
    value, decimals = printed.value, printed.decimals
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"Printed.decimals must be an integer >= 0, got {decimals!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise ValueError(
            f"a printed percentage must lie in [0, 100], got {value!r}; "
            "give percentages, not proportions (92.6, not 0.926)"
        )
    text = f"{value:.{decimals}f}"
    if abs(float(text) - value) > 1e-9 * max(1.0, abs(value)):
        raise ValueError(
            f"Printed({value!r}, {decimals}) shows more decimals than it declares; "
            f"write the number exactly as printed, with decimals set to its digit count"
        )
    return Fraction(Decimal(text))


def printed_interval(printed: Printed, rule: Rule) -> PrintInterval:
    """Return the interval of proportions that print as ``printed`` under ``rule``.

    Parameters
    ----------
    printed : Printed
        A percentage as printed, e.g. ``Printed(92.6, 1)``.
    rule : {"round", "truncate"}
        The printing convention (see the module docstring).

    Returns
    -------
    PrintInterval
        ``(lo, hi, lo_closed, hi_closed)`` as Fractions of the proportion, clipped to [0, 1].

    Notes
    -----
    With ``p`` the printed percentage and ``h = 10**-decimals``, the interval of ``100 x`` is
    ``[p - h/2, p + h/2)`` under round-half-up and ``[p, p + h)`` under truncation.

    Examples
    --------
    >>> printed_interval(Printed(92.6, 1), "round")
    PrintInterval(lo=Fraction(1851, 2000), hi=Fraction(1853, 2000), lo_closed=True, hi_closed=False)
    """
    p = printed_percent(printed)
    h = Fraction(1, 10**printed.decimals)
    if rule == "round":
        lo, hi = p - h / 2, p + h / 2
    elif rule == "truncate":
        lo, hi = p, p + h
    else:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
    lo_closed, hi_closed = True, False
    if lo < 0:
        lo = Fraction(0)
    if hi > 100:
        hi, hi_closed = Fraction(100), True
    return PrintInterval(lo / 100, hi / 100, lo_closed, hi_closed)


def _as_fraction(x: Fraction | int) -> Fraction:
    if isinstance(x, bool) or not isinstance(x, Rational):
        raise TypeError(
            f"x must be an exact Fraction (or int), got {type(x).__name__}: {x!r}; "
            "build it as Fraction(a, b) so that the print is decided exactly"
        )
    x = Fraction(x)
    if not 0 <= x <= 1:
        raise ValueError(f"x must be a proportion in [0, 1], got {x}")
    return x


def prints_as(x: Fraction | int, printed: Printed, rule: Rule) -> bool:
    """Return True when the proportion ``x`` prints as the percentage ``printed`` under ``rule``.

    Examples
    --------
    >>> prints_as(Fraction(25, 27), Printed(92.6, 1), "round")  # 1 - 1/13.5
    True
    >>> prints_as(Fraction(12, 13), Printed(92.6, 1), "round")  # 92.307...
    False
    """
    return printed_interval(printed, rule).contains(_as_fraction(x))


def format_percent(x: Fraction | int, decimals: int, rule: Rule) -> Printed:
    """Print the proportion ``x`` as a percentage with ``decimals`` decimals under ``rule``.

    The inverse view of :func:`prints_as`: ``prints_as(x, format_percent(x, d, r), r)`` holds
    for every ``x``, ``d`` and ``r``.

    Examples
    --------
    >>> str(format_percent(Fraction(25, 28), 1, "truncate")), str(format_percent(Fraction(25, 28), 1, "round"))
    ('89.2', '89.3')
    """  # noqa: E501
    x = _as_fraction(x)
    scaled = 100 * x * 10**decimals
    if rule == "round":
        digits = math.floor(scaled + Fraction(1, 2))
    elif rule == "truncate":
        digits = math.floor(scaled)
    else:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}")
    text = str(Decimal(digits).scaleb(-decimals))
    return Printed(float(text), decimals)


def percent_text(printed: Printed) -> str:
    """Return the figure as the paper printed it, with its percent sign ("92.6%")."""
    return f"{printed}%"


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise AuditError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_percent_of(a: int, b: int, printed: Printed) -> dict[str, bool]:
    """Say whether ``a/b`` prints as ``printed`` percent under each rule.

    Examples
    --------
    >>> check_percent_of(25, 28, Printed(89.2, 1))  # 89.2857...: truncated
    {'round': False, 'truncate': True}
    >>> check_percent_of(11, 19, Printed(57.9, 1))  # 57.8947...: rounded
    {'round': True, 'truncate': False}
    """
    b = _check_count("b", b, 1)
    a = _check_count("a", a, 0)
    if a > b:
        raise AuditError(f"a/b must have a <= b, got {a}/{b}; a percent of a group is at most 100")
    return {rule: prints_as(Fraction(a, b), printed, rule) for rule in RULES}


def feasible_counts(
    printed: Printed, candidates: Iterable[int], rounding: str = "either"
) -> dict[int, list[int]]:
    """Return, per candidate denominator ``n``, the counts ``a`` for which ``a/n`` prints.

    An empty list rules the denominator out.

    Examples
    --------
    >>> feasible_counts(Printed(50.0, 1), [16, 19, 22, 28])
    {16: [8], 19: [], 22: [11], 28: [14]}
    """
    rules = rules_for(rounding)
    intervals = [printed_interval(printed, rule) for rule in rules]
    lo, hi = min(iv.lo for iv in intervals), max(iv.hi for iv in intervals)
    out = {}
    for n in candidates:
        n = _check_count("a candidate denominator", n, 1)
        first, last = math.ceil(lo * n), min(n, math.floor(hi * n))
        out[n] = [
            a
            for a in range(first, last + 1)
            if any(iv.contains(Fraction(a, n)) for iv in intervals)
        ]
    return out
