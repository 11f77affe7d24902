"""Exact feasibility and deaths range of a landmark figure, without the whole feasible set.

When the landmark graph of :mod:`resurv.audit.landmark_dp` passes its budget, the number of
configurations is not known, but whether the figure is printable, and with how few and how
many deaths, can still be decided exactly. :func:`deaths_bounds` does it in two steps.

1. **Hull tables** (:func:`_hull_table`, compiled). For ``m`` intervals still to go, ``r`` at
   risk and exactly ``k`` deaths in them, ``H[m, r, k] = [lo, hi]`` encloses every product of
   the ``m`` interval factors (life table ``(2r - c - 2d) / (2r - c)``, Kaplan-Meier
   ``(r - d) / r``; factor 1 with nobody at risk). The recursion takes the least and the
   largest product over the first interval's ``(d, c)`` and the tables of ``m - 1``; the
   factors are positive or zero, so the extremes of a product are products of extremes.
   When no checkpoint can print 0, products 0 (everyone at risk dies in one interval) are
   left out: a path through a factor 0 stays at 0 and can never print, and the least
   positive product with few deaths is far from 0, which proves most low totals impossible
   for a low printed survival at once.
2. **Search per total** (:func:`_search`). For a total ``D`` of deaths, a depth-first search
   over ``(interval, at risk, exact running product, deaths so far)`` tries the successors
   whose enclosure can still print every remaining checkpoint, closest to the printed value
   first, and checks every checkpoint it reaches in exact rational arithmetic.

Soundness
---------
The tables are computed in binary floating point, each value a product of at most ``2 M``
correctly rounded operations (``M`` intervals: one division and one multiplication per
interval), so its relative error is at most ``gamma = 2 M u / (1 - 2 M u)`` with
``u = 2**-53`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., lemma
3.1); every comparison below widens the enclosure by ``8 (M + 2) u``, more than the error of
the at most ``2 M + 8`` operations behind it.
The running product of the search is an exact fraction, turned into a float with one
correctly rounded division before it is compared, inside the same margin. Hence:

- a successor is dropped only if no continuation with the required deaths can print the next
  checkpoint or the last one: the search never drops a feasible configuration, and a search
  that ends without one *proves* that no configuration with ``D`` deaths prints the figure;
- a configuration is accepted only after every checkpoint was checked exactly: a found
  configuration is a proof that ``D`` is feasible;
- a total for which the enclosure ``H[K, n, D]`` misses the last checkpoint's printable range
  is proved infeasible without a search.

So every answer is exact; a search that runs out of its ``max_work`` leaves ``D`` undecided
and says so (the deaths range is then given as bounds, never as fact). The property tests
check the answers against brute-force enumeration and the full graph for small arms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numba
import numpy as np

from resurv.audit._landmark_tails import (
    _meets,
    _one_death_can_print,
    _prints,
    _short_tail,
    _window,
)
from resurv.audit.landmark_graph import Checkpoint
from resurv.audit.landmark_problem import _prepare, _Problem

__all__ = ["DeathsBounds", "deaths_bounds"]

_U = 2.0**-53


class DeathsBounds(NamedTuple):
    """What :func:`deaths_bounds` decided.

    ``feasible`` is True (a configuration was found), False (proved impossible) or None
    (undecided within the budget). ``deaths_range`` is the exact ``(min, max)`` total deaths
    of the feasible configurations when ``exact`` is True; otherwise ``deaths_range`` holds
    the proven bounds ``(lowest possible, highest possible)``, or None. ``examples`` maps
    each total found feasible to one configuration (columns as
    :attr:`~resurv.audit.LandmarkGraph.columns`); ``work`` counts the successors looked at.
    """

    feasible: bool | None
    deaths_range: tuple[int, int] | None
    exact: bool
    examples: dict[int, tuple[int, ...]]
    work: int


@numba.njit(cache=True)
def _hull_table(n, m_max, actuarial, positive):
    """``lo, hi`` of shape ``(m_max + 1, n + 1, n + 1)``: products over ``m`` intervals.

    Empty entries have ``lo = inf, hi = -inf``. With ``positive``, only the products that are
    not 0 are enclosed (a factor 0, everybody at risk dying, is left out): the figure's
    printable range does not hold 0, and the least positive product is far above 0.
    """
    lo = np.full((m_max + 1, n + 1, n + 1), np.inf)
    hi = np.full((m_max + 1, n + 1, n + 1), -np.inf)
    for r in range(n + 1):
        lo[0, r, 0] = 1.0
        hi[0, r, 0] = 1.0
    for m in range(1, m_max + 1):
        lo[m, 0, 0] = 1.0
        hi[m, 0, 0] = 1.0
        if not actuarial:  # censorings after the deaths of a cell: any r' <= r - d
            plo = np.full((n + 1, n + 1), np.inf)
            phi = np.full((n + 1, n + 1), -np.inf)
            for k in range(n + 1):
                run_lo, run_hi = np.inf, -np.inf
                for s in range(n + 1):
                    run_lo = min(run_lo, lo[m - 1, s, k])
                    run_hi = max(run_hi, hi[m - 1, s, k])
                    plo[s, k], phi[s, k] = run_lo, run_hi
        for r in range(1, n + 1):
            if actuarial:
                for c in range(r + 1):
                    den = 2 * r - c
                    for d in range(r - c + 1):
                        f = (den - 2 * d) / den
                        if positive and f == 0.0:
                            continue
                        rn = r - c - d
                        for k in range(d, n + 1):
                            a = lo[m - 1, rn, k - d]
                            if a == np.inf:
                                continue
                            lo[m, r, k] = min(lo[m, r, k], f * a)
                            hi[m, r, k] = max(hi[m, r, k], f * hi[m - 1, rn, k - d])
            else:
                for d in range(r + 1):
                    f = (r - d) / r
                    if positive and f == 0.0:
                        continue
                    for k in range(d, n + 1):
                        a = plo[r - d, k - d]
                        if a == np.inf:
                            continue
                        lo[m, r, k] = min(lo[m, r, k], f * a)
                        hi[m, r, k] = max(hi[m, r, k], f * phi[r - d, k - d])
    return lo, hi


class _Tables(NamedTuple):
    lo: np.ndarray  # (M + 1, n + 1, n + 1): exactly k deaths
    hi: np.ndarray
    cum_lo: np.ndarray  # (M + 1, n + 1, n + 1): at most k deaths
    cum_hi: np.ndarray
    margin: float


def _tables(prob: _Problem) -> _Tables:
    k = len(prob.cuts) - 1
    # a product 0 prints only where some checkpoint's printable range starts at 0
    positive = all(iv.lo > 0 for ivs in prob.intervals for iv in ivs.values())
    lo, hi = _hull_table(prob.n, k, prob.estimator == "actuarial", positive)
    return _Tables(
        lo, hi, np.minimum.accumulate(lo, axis=2), np.maximum.accumulate(hi, axis=2),
        8.0 * (k + 2) * _U,
    )  # fmt: skip


class _OutOfWork(Exception):
    pass


def _search(prob: _Problem, tab: _Tables, total: int, max_work: int, work: list[int], dead: set):
    """One configuration with ``total`` deaths that prints every checkpoint, or None (proof).

    ``dead`` holds the states ``(interval, at risk, product, deaths still to come)`` proved to
    lead nowhere; it is shared by the searches of all totals (the future of a state does not
    depend on the total, only on the deaths it still needs).
    """
    k_last = len(prob.cuts) - 1
    cp_layers = sorted(prob.layer_cp)
    windows = {t: _window(prob, prob.layer_cp[t]) for t in cp_layers}
    target = math.log(max(sum(windows[k_last]) / 2, 1e-300))
    actuarial = prob.estimator == "actuarial"

    def visit(j, r, num, den, deaths):
        left = total - deaths
        if j == k_last:
            return [r] if left == 0 else None
        key = (j, r, num, den, left)
        if key in dead:
            return None
        if r == 0:
            pairs = np.zeros((1, 2), dtype=np.int64)
        elif actuarial:
            cc, dd = np.meshgrid(np.arange(r + 1), np.arange(min(left, r) + 1), indexing="ij")
            ok = cc + dd <= r
            pairs = np.column_stack([dd[ok], cc[ok]])
        else:
            dd, cc = np.meshgrid(np.arange(min(left, r) + 1), np.arange(r + 1), indexing="ij")
            ok = cc + dd <= r
            pairs = np.column_stack([dd[ok], cc[ok]])
        d, c = pairs[:, 0], pairs[:, 1]
        work[0] += len(d)
        if work[0] > max_work:
            raise _OutOfWork
        if r == 0:
            num_f = np.ones(1)
            den_f = np.ones(1)
        elif actuarial:
            den_f = (2 * r - c).astype(float)
            num_f = den_f - 2 * d
        else:
            den_f = np.full(len(d), float(r))
            num_f = den_f - d
        p_next = (num / den) * num_f / den_f
        r_next = r - d - c
        rest = left - d
        m_last = k_last - (j + 1)
        keep = _meets(
            p_next, tab.lo[m_last, r_next, rest], tab.hi[m_last, r_next, rest],
            windows[k_last], tab.margin,
        )  # fmt: skip
        t_next = next(t for t in cp_layers if t >= j + 1)
        if t_next < k_last:
            m = t_next - (j + 1)
            keep &= _meets(
                p_next, tab.cum_lo[m, r_next, rest], tab.cum_hi[m, r_next, rest],
                windows[t_next], tab.margin,
            )  # fmt: skip
        if t_next == k_last:
            keep &= _one_death_can_print(
                p_next, r_next, rest, windows[k_last], tab.margin, actuarial
            )
        idx = np.flatnonzero(keep)
        mid = np.sqrt(
            tab.lo[m_last, r_next[idx], rest[idx]] * tab.hi[m_last, r_next[idx], rest[idx]]
        )
        with np.errstate(divide="ignore"):
            gap = np.abs(np.log(p_next[idx] * mid) - target)
        for i in idx[np.argsort(gap, kind="stable")]:
            dn, cn = int(d[i]), int(c[i])
            if r == 0:
                n2, d2 = num, den
            elif actuarial:
                n2, d2 = num * (2 * r - cn - 2 * dn), den * (2 * r - cn)
            else:
                n2, d2 = num * (r - dn), den * r
            g = math.gcd(n2, d2)
            n2, d2 = n2 // g, d2 // g
            if (j + 1) in prob.layer_cp and not _prints(prob, prob.layer_cp[j + 1], n2, d2):
                continue
            if rest[i] <= 1 and j + 1 < k_last:
                tail = _short_tail(prob, j + 1, int(r_next[i]), n2, d2, int(rest[i]))
                if tail is not None:
                    return [dn, cn, *tail]
                continue
            found = visit(j + 1, int(r_next[i]), n2, d2, deaths + dn)
            if found is not None:
                return [dn, cn, *found]
        dead.add(key)
        return None

    found = visit(0, prob.n, 1, 1, 0)
    return None if found is None else tuple(found)


def deaths_bounds(
    n: int,
    checkpoints: Iterable[Checkpoint | tuple],
    *,
    estimator: str = "actuarial",
    width: float = 1.0,
    grid_width: float | None = None,
    max_work: int = 2_000_000,
) -> DeathsBounds:
    """Decide exactly whether the figure(s) print, and the range of total deaths.

    Same arguments as :func:`~resurv.audit.landmark_dp.build_landmark_graph`; ``max_work``
    bounds the successors the searches look at (all totals together).

    Returns
    -------
    DeathsBounds

    Examples
    --------
    >>> b = deaths_bounds(19, [(4, Printed(92.6, 1), "either")])
    >>> b.feasible, b.deaths_range, b.exact
    (True, (1, 1), True)
    """
    prob = _prepare(n, checkpoints, estimator, width, grid_width)
    tab = _tables(prob)
    k_last = len(prob.cuts) - 1
    window = _window(prob, prob.layer_cp[k_last])
    totals = np.arange(prob.n + 1)
    maybe = totals[_meets(1.0, tab.lo[k_last, prob.n], tab.hi[k_last, prob.n], window, tab.margin)]
    work, examples, proved_out, dead = [0], {}, set(), set()
    lowest = highest = None
    undecided = False
    try:
        for order in (maybe, maybe[::-1]):
            for total in order:
                total = int(total)
                if total in examples:
                    break
                if total in proved_out:
                    continue
                row = _search(prob, tab, total, max_work, work, dead)
                if row is None:
                    proved_out.add(total)
                    continue
                examples[total] = row
                break
    except _OutOfWork:
        undecided = True
    if examples:
        lowest, highest = min(examples), max(examples)
    candidates = [int(t) for t in maybe if int(t) not in proved_out]
    if not undecided:
        if not examples:
            return DeathsBounds(False, None, True, {}, work[0])
        return DeathsBounds(True, (lowest, highest), True, examples, work[0])
    if not candidates:
        return DeathsBounds(False, None, True, {}, work[0])
    bounds = (min(candidates), max(candidates))
    return DeathsBounds(True if examples else None, bounds, False, examples, work[0])
