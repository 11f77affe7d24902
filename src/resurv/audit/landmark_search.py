"""Search for one configuration that prints a landmark figure, when the graph is too big.

:func:`find_configuration` is a depth-first search over the states and pruning of
:func:`resurv.audit.landmark_dp.build_landmark_graph`, ordered by closeness to a geometric path
towards the printed value(s) (:func:`_ideal_log_path`) and bounded by a work budget; it
answers whether the figure is printable without building the whole feasible set.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import NamedTuple

from resurv.audit.landmark_graph import Checkpoint
from resurv.audit.landmark_problem import _prepare, _Problem, _successors, _viable

__all__ = ["SearchResult", "find_configuration"]


class SearchResult(NamedTuple):
    """Outcome of :func:`find_configuration`.

    ``configuration`` is one feasible row (columns as :attr:`LandmarkGraph.columns`) or None;
    ``decided`` is False when the search stopped at its budget without finding one.
    """

    configuration: tuple[int, ...] | None
    decided: bool
    work: int


class _OutOfBudget(Exception):
    pass


def find_configuration(
    n: int,
    checkpoints: Iterable[Checkpoint | tuple],
    *,
    estimator: str = "actuarial",
    width: float = 1.0,
    grid_width: float | None = None,
    max_work: int = 300_000,
) -> SearchResult:
    """Look for one configuration that prints the figure(s), when the full graph is too big.

    A depth-first search over the same states and pruning as :func:`build_landmark_graph`,
    trying first the successors whose product is closest to a geometric path towards the
    printed value(s) (a float used for ordering only; every print is decided exactly) and
    remembering dead states. ``max_work`` bounds the successors generated.

    Returns
    -------
    SearchResult
        ``(configuration, decided, work)``: a feasible row; or None with ``decided=True``
        when no configuration exists; or None with ``decided=False`` when the budget ran out.

    Examples
    --------
    >>> find_configuration(19, [(4, Printed(92.6, 1), "either")], estimator="kaplan-meier")
    SearchResult(configuration=None, decided=True, work=...)
    """
    prob = _prepare(n, checkpoints, estimator, width, grid_width)
    actuarial = estimator == "actuarial"
    k = len(prob.cuts) - 1
    ideal = _ideal_log_path(prob)
    dead: set[tuple[int, int, int, int]] = set()
    work = 0

    def visit(j, r, p, q):
        nonlocal work
        if j == k:
            return [r]
        if (j, r, p, q) in dead:
            return None
        cp = prob.layer_cp.get(j + 1)
        children = []
        for r2, p2, q2, d, c in _successors(r, p, q, prob.bounds[j + 1], cp is not None, actuarial):
            work += 1
            if work > max_work:
                raise _OutOfBudget
            if cp is not None:
                x = Fraction(p2, q2)
                ok = any(iv.contains(x) for iv in prob.intervals[cp].values())
            else:
                ok = _viable(r2, p2, q2, prob.bounds[j + 1])
            if ok:
                gap = abs(math.log(p2 / q2) - ideal[j + 1]) if p2 else math.inf
                children.append((gap, c, d, r2, p2, q2))
        for _, c, d, r2, p2, q2 in sorted(children):
            rest = visit(j + 1, r2, p2, q2)
            if rest is not None:
                return [d, c, *rest]
        dead.add((j, r, p, q))
        return None

    try:
        found = visit(0, prob.n, 1, 1)
    except _OutOfBudget:
        return SearchResult(None, False, work)
    return SearchResult(None if found is None else tuple(found), True, work)


def _ideal_log_path(prob: _Problem) -> list[float]:
    """Log of a geometric path from 1 through the middle of each checkpoint's printable range."""
    anchors = [(0, 0.0)]
    for layer, i in sorted(prob.layer_cp.items()):
        ivs = prob.intervals[i].values()
        mid = float(min(iv.lo for iv in ivs) + max(iv.hi for iv in ivs)) / 2
        anchors.append((layer, math.log(max(mid, 1e-12))))
    path = []
    for j in range(len(prob.cuts)):
        (a, la), (b, lb) = next(
            (anchors[i], anchors[i + 1]) for i in range(len(anchors) - 1) if j <= anchors[i + 1][0]
        )
        path.append(la + (lb - la) * (j - a) / (b - a))
    return path
