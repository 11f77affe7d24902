"""The feasible set of a landmark survival figure, as a pruned state graph.

A printed landmark survival ("92.6% at 4 years", or 1-, 3- and 5-year survival of one arm
printed together) is a deterministic function of the latent number of deaths ``d_j`` and
withdrawals ``c_j`` in each time interval ``j``. This module finds every sequence
``(d_0, c_0, ..., d_{K-1}, c_{K-1})`` that prints as the figure, by a dynamic programme over
states ``(at risk, running product)`` instead of brute force, so that arms of many patients
stay tractable. The exact likelihood reuses the graph for a forward algorithm.

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
it got, instead of hanging; :func:`find_configuration` then still looks for one
configuration that prints the figure (``benchmarks/bench_audit.py`` measures both).

References
----------
Cutler SJ, Ederer F. Maximum utilization of the life table method in analyzing survival.
J Chronic Dis 1958;8(6):699-712.
Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc
1958;53(282):457-81.
"""

from __future__ import annotations

import math
import time as _time
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from resurv._printing import RULES, PrintInterval, Rule, printed_interval, rules_for
from resurv.errors import AuditError
from resurv.study import Printed

ESTIMATORS = ("actuarial", "kaplan-meier")
#: default budget of a build: reaching it takes a few seconds (see benchmarks/bench_audit.py)
DEFAULT_MAX_STATES = 300_000
DEFAULT_MAX_EDGES = 1_500_000


@dataclass(frozen=True)
class Checkpoint:
    """One printed landmark of an arm: survival at ``time`` printed as ``printed`` percent."""

    time: float
    printed: Printed
    rules: tuple[Rule, ...] = RULES


class Edges(NamedTuple):
    """Transitions of one interval as int64 arrays: ``src`` state -> ``dst`` state."""

    src: np.ndarray
    dst: np.ndarray
    deaths: np.ndarray
    censored: np.ndarray


@dataclass(frozen=True, eq=False)
class Layer:
    """States at one cut point: at-risk counts, running products, and print flags.

    ``prints[rule]`` (checkpoint layers only) flags the states that print the checkpoint's
    figure under ``rule``; ``checkpoint`` is the checkpoint's index or None.
    """

    at_risk: np.ndarray
    product: tuple[Fraction, ...]
    checkpoint: int | None = None
    prints: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.at_risk)


class Configurations(NamedTuple):
    """Enumerated configurations: ``counts`` (C, 2K + 1) ints and ``estimates`` (C, M) Fractions.

    Columns of ``counts`` are ``d_0, c_0, ..., d_{K-1}, c_{K-1}, at_risk_end``; column ``m``
    of ``estimates`` is the estimate at checkpoint ``m``.
    """

    counts: np.ndarray
    estimates: np.ndarray


@dataclass(frozen=True)
class BuildSummary:
    """What a build found, and whether it stopped at its budget before the end.

    ``n_states`` and ``n_edges`` count what was kept after pruning when the build is
    complete, and what the forward pass had reached when it stopped.
    """

    complete: bool
    intervals_built: int
    n_intervals: int
    n_states: int
    n_edges: int
    limit: str = ""  # "max_states=..." or "max_edges=..." when the build stopped

    def __str__(self) -> str:
        if self.complete:
            return (
                f"complete: {self.n_intervals} intervals, {self.n_states:,} states, "
                f"{self.n_edges:,} edges"
            )
        return (
            f"stopped after {self.intervals_built} of {self.n_intervals} intervals: "
            f"{self.n_states:,} states and {self.n_edges:,} edges passed the budget "
            f"({self.limit}); the feasible set is not known. Raise max_states/max_edges, "
            "or use the approximate landmark term"
        )


class LandmarkGraph:
    """The pruned state graph of one arm's landmark survival figure(s); see the module doc.

    Built by :func:`build_landmark_graph`. Layer ``j`` holds the states at cut point
    ``cuts[j]``; ``edges[j]`` leads from layer ``j`` to ``j + 1``. Every state lies on at
    least one feasible path, and every state of the last layer is an accepted final state.
    An unprintable figure gives layers without states (``layers[0].at_risk`` is empty); a
    build stopped at its budget gives no layers at all (``truncated`` is True).

    Attributes
    ----------
    n : int
        Patients at risk at time 0.
    estimator : {"actuarial", "kaplan-meier"}
    checkpoints : tuple of Checkpoint
        Sorted by time.
    cuts : tuple of float
        Interval edges ``0 = cuts[0] < ... < cuts[K]`` (the last checkpoint).
    layers : tuple of Layer
        ``K + 1`` layers of states (``at_risk`` int64 array, ``product`` Fractions).
    edges : tuple of Edges
        ``K`` int64 edge arrays ``(src, dst, deaths, censored)``.
    summary : BuildSummary
    build_seconds : float
        Wall time of the build (informative only; not part of any result).
    """

    def __init__(self, n, estimator, checkpoints, cuts, layers, edges, summary, build_seconds):
        self.n: int = n
        self.estimator: str = estimator
        self.checkpoints: tuple[Checkpoint, ...] = checkpoints
        self.cuts: tuple[float, ...] = cuts
        self.layers: tuple[Layer, ...] = layers
        self.edges: tuple[Edges, ...] = edges
        self.summary: BuildSummary = summary
        self.build_seconds: float = build_seconds

    def __repr__(self) -> str:
        figs = ", ".join(f"{c.printed}% at {c.time:g}" for c in self.checkpoints)
        return f"LandmarkGraph(n={self.n}, {self.estimator}, [{figs}]; {self.summary})"

    @property
    def truncated(self) -> bool:
        """True when the build stopped at its budget (the feasible set is unknown)."""
        return not self.summary.complete

    @property
    def n_intervals(self) -> int:
        """Number of intervals (life-table rows or grid cells) K."""
        return len(self.cuts) - 1

    @property
    def n_states(self) -> int:
        """Number of states kept (after pruning), over all layers."""
        return sum(len(layer) for layer in self.layers)

    @property
    def n_edges(self) -> int:
        """Number of edges kept (after pruning), over all intervals."""
        return sum(len(e.src) for e in self.edges)

    @property
    def checkpoint_layers(self) -> tuple[int, ...]:
        """Layer index of each checkpoint."""
        return tuple(_layer_of(c.time, self.cuts) for c in self.checkpoints)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :meth:`enumerate`'s ``counts``."""
        pairs = [(f"d_{j}", f"c_{j}") for j in range(self.n_intervals)]
        return (*[name for pair in pairs for name in pair], "at_risk_end")

    @property
    def final_at_risk(self) -> np.ndarray:
        """At-risk count of each accepted final state (alive and observed at the last landmark)."""
        self._require_complete()
        return self.layers[-1].at_risk

    @property
    def final_product(self) -> tuple[Fraction, ...]:
        """Estimate at the last checkpoint of each accepted final state."""
        self._require_complete()
        return self.layers[-1].product

    def _require_complete(self) -> None:
        if self.truncated:
            raise AuditError(f"the landmark graph of n = {self.n} is incomplete: {self.summary}")

    def _mask(self, layer: int, rule: str | None) -> np.ndarray | None:
        prints = self.layers[layer].prints
        if rule is None or prints is None:
            return None
        if rule not in RULES:
            raise ValueError(f"rule must be None or one of {list(RULES)}, got {rule!r}")
        return prints.get(rule, np.zeros(len(self.layers[layer]), dtype=bool))

    def n_configurations(self, rule: Rule | None = None) -> int:
        """Count the feasible configurations by dynamic programming over the graph.

        With ``rule``, count only those that print every checkpoint under that rule.
        The count is a Python int and may exceed ``2**63``.
        """
        self._require_complete()
        if not self.layers[0].at_risk.size:
            return 0
        approx = self._forward_counts(rule, dtype=np.float64)
        if approx < 2.0**60:
            return int(self._forward_counts(rule, dtype=np.int64))
        return int(self._forward_counts(rule, dtype=object))

    def _forward_counts(self, rule, dtype):
        counts = np.ones(1, dtype=dtype)
        for j, e in enumerate(self.edges):
            nxt = np.zeros(len(self.layers[j + 1]), dtype=dtype)
            np.add.at(nxt, e.dst, counts[e.src])
            mask = self._mask(j + 1, rule)
            if mask is not None:
                nxt[~mask] = 0
            counts = nxt
        return counts.sum()

    def deaths_range(self, rule: Rule | None = None) -> tuple[int, int] | None:
        """Return (min, max) total deaths before the last checkpoint, or None if infeasible."""
        self._require_complete()
        if not self.layers[0].at_risk.size:
            return None
        big = 2**40
        lo, hi = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
        for j, e in enumerate(self.edges):
            size = len(self.layers[j + 1])
            nlo, nhi = np.full(size, big, dtype=np.int64), np.full(size, -big, dtype=np.int64)
            np.minimum.at(nlo, e.dst, lo[e.src] + e.deaths)
            np.maximum.at(nhi, e.dst, hi[e.src] + e.deaths)
            mask = self._mask(j + 1, rule)
            if mask is not None:
                nlo[~mask], nhi[~mask] = big, -big
            lo, hi = nlo, nhi
        if lo.size == 0 or lo.min() >= big // 2:
            return None
        return int(lo.min()), int(hi.max())

    def deaths_distribution(self, rule: Rule | None = None) -> dict[int, int]:
        """Count the feasible configurations by their total deaths: ``{deaths: count}``.

        Dynamic programming over (state, deaths so far); empty when the figure is
        unprintable. The counts sum to :meth:`n_configurations`.
        """
        span = self.deaths_range(rule)
        if span is None:
            return {}
        width = span[1] + 1
        dtype = np.int64 if self.n_configurations(rule) < 2**62 else object
        counts = np.zeros((1, width), dtype=dtype)
        counts[0, 0] = 1
        for j, e in enumerate(self.edges):
            nxt = np.zeros((len(self.layers[j + 1]), width), dtype=dtype)
            for d in np.unique(e.deaths[e.deaths < width]):
                sel = e.deaths == d
                np.add.at(nxt[:, d:], e.dst[sel], counts[e.src[sel], : width - d])
            mask = self._mask(j + 1, rule)
            if mask is not None:
                nxt[~mask] = 0
            counts = nxt
        total = counts.sum(axis=0)
        return {deaths: int(c) for deaths, c in enumerate(total) if c}

    def _alive(self, rule: str | None) -> list[np.ndarray]:
        """Per layer, the states on at least one path that prints every checkpoint under rule."""
        fwd = [np.ones(1, dtype=bool)]
        for j, e in enumerate(self.edges):
            reach = np.zeros(len(self.layers[j + 1]), dtype=bool)
            reach[e.dst[fwd[j][e.src]]] = True
            mask = self._mask(j + 1, rule)
            fwd.append(reach if mask is None else reach & mask)
        alive = [fwd[-1]]
        for j in reversed(range(len(self.edges))):
            e = self.edges[j]
            back = np.zeros(len(self.layers[j]), dtype=bool)
            back[e.src[alive[0][e.dst]]] = True
            alive.insert(0, back & fwd[j])
        return alive

    def contains(self, row) -> bool:
        """Whether configuration ``row`` is a path of the graph ending in an accepted state.

        ``row`` is ``[d_0, c_0, ..., at_risk_at_end]``; the check walks the edges (no
        enumeration).
        """
        if not self.layers[0].at_risk.size:
            return False
        state = 0
        for j, e in enumerate(self.edges):
            hit = np.flatnonzero(
                (e.src == state) & (e.deaths == row[2 * j]) & (e.censored == row[2 * j + 1])
            )
            if hit.size != 1:
                return False
            state = int(e.dst[hit[0]])
        return int(self.layers[-1].at_risk[state]) == row[-1]

    def enumerate(
        self, max_configurations: int = 100_000, *, rule: Rule | None = None
    ) -> Configurations:
        """List every feasible configuration, sorted, with its estimate(s).

        Raises :class:`~resurv.errors.AuditError` when there are more than
        ``max_configurations``; :meth:`n_configurations` counts them without listing.
        """
        total = self.n_configurations(rule)
        if total > max_configurations:
            raise AuditError(
                f"n = {self.n} ({self.estimator}) has {total:,} feasible configurations, more "
                f"than max_configurations={max_configurations:,}; raise the limit or use "
                "n_configurations() and the graph's edges instead of a list"
            )
        k = self.n_intervals
        if total == 0:
            return Configurations(
                np.zeros((0, 2 * k + 1), dtype=np.int64),
                np.zeros((0, len(self.checkpoints)), dtype=object),
            )
        alive = self._alive(rule)
        path = np.zeros((1, 1), dtype=np.int64)  # state index per layer
        counts = np.zeros((1, 0), dtype=np.int64)
        for j, e in enumerate(self.edges):
            ok = alive[j][e.src] & alive[j + 1][e.dst]
            src, dst, dth, cen = e.src[ok], e.dst[ok], e.deaths[ok], e.censored[ok]
            order = np.argsort(src, kind="stable")
            degree = np.bincount(src, minlength=len(self.layers[j]))
            start = np.cumsum(degree) - degree
            cur = path[:, -1]
            reps = degree[cur]
            row = np.repeat(np.arange(len(cur)), reps)
            offset = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
            pick = order[start[cur][row] + offset]
            path = np.column_stack([path[row], dst[pick]])
            counts = np.column_stack([counts[row], dth[pick], cen[pick]])
        counts = np.column_stack([counts, self.layers[-1].at_risk[path[:, -1]]])
        order = np.lexsort(counts.T[::-1])
        counts, path = counts[order], path[order]
        estimates = np.empty((len(counts), len(self.checkpoints)), dtype=object)
        for m, layer in enumerate(self.checkpoint_layers):
            product = np.array(self.layers[layer].product + (None,), dtype=object)[:-1]
            estimates[:, m] = product[path[:, layer]]
        return Configurations(counts, estimates)


class _Problem(NamedTuple):
    """Validated inputs of a build or a search."""

    n: int
    estimator: str
    checkpoints: tuple[Checkpoint, ...]
    cuts: tuple[float, ...]
    layer_cp: dict[int, int]  # layer -> checkpoint index
    intervals: tuple[dict[str, PrintInterval], ...]  # per checkpoint: rule -> interval
    bounds: tuple[tuple[Fraction, Fraction], ...]  # per layer: printable range of next checkpoint


def _layer_of(t: float, cuts: Sequence[float]) -> int:
    return min(range(len(cuts)), key=lambda i: abs(cuts[i] - t))


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
