"""The feasible set of a landmark survival figure, as a pruned state graph.

A printed landmark survival ("92.6% at 4 years", or 1-, 3- and 5-year survival of one arm
printed together) is a deterministic function of the latent number of deaths ``d_j`` and
withdrawals ``c_j`` in each time interval ``j``. This module finds every sequence
``(d_0, c_0, ..., d_{K-1}, c_{K-1})`` that prints as the figure, by a dynamic programme over
states ``(at risk, running product)`` instead of brute force, so that arms of many patients
stay tractable. The exact likelihood reuses the graph for a forward algorithm.

The build lives here; the graph and its value objects in :mod:`resurv.audit.landmark_graph`, the
validated inputs and the transitions between states in :mod:`resurv.audit.landmark_problem`, and
the search for a single configuration in :mod:`resurv.audit.landmark_search`. Their public names
are importable from here.

Estimators
----------
``"actuarial"`` (Cutler-Ederer life table)
    Intervals ``[j w, (j + 1) w)`` of width ``w`` from 0 to the last checkpoint; an event
    exactly at a boundary belongs to the interval that starts there. With ``r_j`` patients at
    risk at the start of interval ``j``, withdrawals count as half at risk:
    ``S(L) = prod_{j: (j + 1) w <= L} (1 - d_j / (r_j - c_j / 2))``.
``"kaplan-meier"`` (grid convention)
    A grid of cells ``(g h, (g + 1) h]`` of width ``h`` (default ``w / 4``) over
    ``[0, L_last]``; within a cell the deaths come before the censorings, so the
    Kaplan-Meier factors of the cell's deaths telescope to ``1 - d_g / r_g`` and
    ``S(L) = prod_{g: (g + 1) h <= L} (1 - d_g / r_g)``. This equals the Kaplan-Meier estimate
    of every cohort whose censorings never precede a death in the same cell; cells are closed
    on the right, as the Kaplan-Meier curve is right-continuous (a death exactly at the
    landmark counts). A finer grid admits more orderings.

When nobody is at risk the estimate is carried forward unchanged (factor 1).

Rules
-----
Each checkpoint carries the printing rules it may have been printed under. A configuration
is feasible when, at every checkpoint, its estimate prints as the figure under at least one
of that checkpoint's rules: with ``rounding = "either"`` the rule may differ between two
figures of one arm, as papers do mix conventions (Grazi 2000 prints 25/28 truncated and
11/19 rounded). ``rule=`` in :meth:`LandmarkGraph.n_configurations` and friends restricts
the count to configurations that print every checkpoint under one rule.

Budget
------
The number of states grows with the number of distinct running products, fast for
mid-range values (50%) and large arms. :func:`build_landmark_graph` stops once it passes
``max_states`` or ``max_edges`` and returns a graph whose :class:`BuildSummary` says how far
it got, instead of hanging; :func:`resurv.audit.landmark_bounds.deaths_bounds` then still
decides exactly whether the figure prints and its deaths range, without the feasible set
(``benchmarks/bench_audit.py`` measures both).

References
----------
Cutler SJ, Ederer F. Maximum utilization of the life table method in analyzing survival.
J Chronic Dis 1958;8(6):699-712.
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc
1958;53(282):457-81.
"""

from __future__ import annotations

import time as _time
from array import array
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from resurv.audit.landmark_graph import (
    BuildSummary,
    Checkpoint,
    Configurations,
    Edges,
    LandmarkGraph,
    Layer,
)
from resurv.audit.landmark_problem import ESTIMATORS, _prepare, _Problem, _successors, _viable
from resurv.audit.landmark_search import SearchResult, find_configuration
from resurv.audit.printing import RULES

__all__ = [
    "DEFAULT_MAX_EDGES",
    "DEFAULT_MAX_STATES",
    "ESTIMATORS",
    "BuildSummary",
    "Checkpoint",
    "Configurations",
    "Edges",
    "LandmarkGraph",
    "Layer",
    "SearchResult",
    "build_landmark_graph",
    "find_configuration",
]

#: default budget of a build: reaching it takes a few seconds (see benchmarks/bench_audit.py)
DEFAULT_MAX_STATES = 300_000
DEFAULT_MAX_EDGES = 1_500_000


def build_landmark_graph(
    n: int,
    checkpoints: Iterable[Checkpoint | tuple],
    *,
    estimator: str = "actuarial",
    width: float = 1.0,
    grid_width: float | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    max_edges: int = DEFAULT_MAX_EDGES,
) -> LandmarkGraph:
    """Build the pruned state graph of one arm's printed landmark survival figure(s).

    Parameters
    ----------
    n : int
        Patients at risk at time 0.
    checkpoints : iterable of Checkpoint or (time, Printed, rules)
        The arm's printed landmarks; ``rules`` is ``"round"``, ``"truncate"``, ``"either"``
        or a tuple of rules.
    estimator : {"actuarial", "kaplan-meier"}
        How the paper computed the figure (see the module docstring).
    width : float
        Life-table interval width in the study's time unit (default 1).
    grid_width : float, optional
        Kaplan-Meier grid width ``h``; default ``width / 4``.
    max_states, max_edges : int
        Budget of the forward pass. Past it the build stops and returns a graph whose
        ``summary`` says how far it got; the defaults keep a build within seconds.

    Returns
    -------
    LandmarkGraph

    Notes
    -----
    State ``(r, P)``: ``r`` patients at risk, ``P`` the running product. Forward, a state is
    dropped once ``P`` falls below the lowest printable value of the next checkpoint (the
    product never increases), or when ``P`` is above that checkpoint's range and a single
    further death would already land below it; at a checkpoint layer only states whose ``P``
    prints as the figure are kept. Backward, states that reach no accepted final state are
    dropped. The work grows with the number of distinct products, not with the number of
    configurations.

    Examples
    --------
    >>> g = build_landmark_graph(19, [(4, Printed(92.6, 1), "either")])
    >>> g.deaths_range(), g.n_configurations()
    ((1, 1), 785)
    """
    start = _time.perf_counter()
    prob = _prepare(n, checkpoints, estimator, width, grid_width)
    states, prints, edges, stopped = _forward(prob, max_states, max_edges)
    n_intervals = len(prob.cuts) - 1
    if stopped is not None:
        summary = BuildSummary(False, len(edges), n_intervals, *stopped)
        layers, edge_arrays = (), ()
    else:
        layers, edge_arrays = _prune_backward(states, prints, edges, prob.layer_cp)
        summary = BuildSummary(
            True,
            n_intervals,
            n_intervals,
            sum(map(len, layers)),
            sum(len(e.src) for e in edge_arrays),
        )
    return LandmarkGraph(
        prob.n,
        estimator,
        prob.checkpoints,
        prob.cuts,
        layers,
        edge_arrays,
        summary,
        _time.perf_counter() - start,
    )


def _forward(prob: _Problem, max_states: int, max_edges: int):
    """Forward pass: layers of ``(r, p, q)`` states, print flags and edges, within budget."""
    states: list[list[tuple[int, int, int]]] = [[(prob.n, 1, 1)]]
    prints: dict[int, list[tuple[str, ...]]] = {}
    edges: list[tuple[array, array, array, array]] = []
    total_states, total_edges = 1, 0
    for j in range(len(prob.cuts) - 1):
        cp = prob.layer_cp.get(j + 1)
        kept, flags, arrays = _expand(
            states[j],
            prob.bounds[j + 1],
            None if cp is None else prob.intervals[cp],
            prob.estimator == "actuarial",
            max_states - total_states,
            max_edges - total_edges,
        )
        total_states += len(kept)
        total_edges += len(arrays[0])
        if total_states > max_states or total_edges > max_edges:
            limit = (
                f"max_states={max_states:,}"
                if total_states > max_states
                else f"max_edges={max_edges:,}"
            )
            return states, prints, edges, (total_states, total_edges, limit)
        states.append(kept)
        if cp is not None:
            prints[j + 1] = flags
        edges.append(arrays)
    return states, prints, edges, None


def _expand(layer, bounds, checkpoint, actuarial, states_left, edges_left):
    """Expand one interval: the next layer's states, their print flags, and the edges.

    ``checkpoint`` maps each rule to its :class:`PrintInterval` when the next layer is a
    checkpoint: a product is kept there only if it prints under one of the rules (decided
    as a Fraction). Stops early once the budget left is passed.
    """
    accept: dict[tuple[int, int], tuple[str, ...]] = {}
    index: dict[tuple[int, int, int], int] = {}
    kept: list[tuple[int, int, int]] = []
    flags: list[tuple[str, ...]] = []
    src, dst, dth, cen = array("q"), array("q"), array("q"), array("q")
    for s, (r, p, q) in enumerate(layer):
        for r_next, p_next, q_next, d, c in _successors(
            r, p, q, bounds, checkpoint is not None, actuarial
        ):
            key = (r_next, p_next, q_next)
            t = index.get(key)
            if t is None:
                rules = ()
                if checkpoint is not None:
                    rules = accept.get((p_next, q_next))
                    if rules is None:
                        x = Fraction(p_next, q_next)
                        rules = tuple(rule for rule, iv in checkpoint.items() if iv.contains(x))
                        accept[(p_next, q_next)] = rules
                    keep = bool(rules)
                else:
                    keep = _viable(r_next, p_next, q_next, bounds)
                t = index[key] = len(kept) if keep else -1
                if keep:
                    kept.append(key)
                    if checkpoint is not None:
                        flags.append(rules)
            if t >= 0:
                src.append(s)
                dst.append(t)
                dth.append(d)
                cen.append(c)
        if len(kept) > states_left or len(src) > edges_left:
            break
    return kept, flags, (src, dst, dth, cen)


def _prune_backward(states, prints, edges, layer_cp):
    """Drop states that reach no accepted final state; renumber; build numpy layers/edges."""
    arrays = [tuple(np.frombuffer(a, dtype=np.int64) for a in e) for e in edges]
    alive = [np.ones(len(states[-1]), dtype=bool)]
    for j in reversed(range(len(arrays))):
        src, dst = arrays[j][0], arrays[j][1]
        back = np.zeros(len(states[j]), dtype=bool)
        back[src[alive[0][dst]]] = True
        alive.insert(0, back)
    layers, out_edges = [], []
    for j, keep in enumerate(alive):
        kept = np.flatnonzero(keep)
        at_risk = np.array([states[j][i][0] for i in kept], dtype=np.int64)
        product = tuple(Fraction(states[j][i][1], states[j][i][2]) for i in kept)
        cp = layer_cp.get(j)
        flags = None
        if cp is not None:
            rules = [prints[j][i] for i in kept]
            flags = {rule: np.array([rule in f for f in rules], dtype=bool) for rule in RULES}
        layers.append(Layer(at_risk, product, cp, flags))
    for j, (src, dst, dth, cen) in enumerate(arrays):
        ok = alive[j + 1][dst] & alive[j][src]
        out_edges.append(
            Edges(
                (np.cumsum(alive[j]) - 1)[src[ok]],
                (np.cumsum(alive[j + 1]) - 1)[dst[ok]],
                dth[ok],
                cen[ok],
            )
        )
    return tuple(layers), tuple(out_edges)
