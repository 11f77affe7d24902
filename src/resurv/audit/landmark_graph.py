"""The landmark graph and its value objects: checkpoints, layers, edges, build summaries.

:class:`LandmarkGraph` is what :func:`resurv.audit.landmark_dp.build_landmark_graph` returns: the
layers of states (:class:`Layer`) and the edges between them (:class:`Edges`) of every
configuration that prints an arm's landmark figure(s) (:class:`Checkpoint`), with the
:class:`BuildSummary` of the build. Its methods answer questions by dynamic programming
over the graph (counts, deaths ranges and distributions, membership) and list the
configurations (:class:`Configurations`) when there are few enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from resurv.audit.printing import RULES, Rule
from resurv.errors import AuditError
from resurv.study.schema import Printed

__all__ = ["BuildSummary", "Checkpoint", "Configurations", "Edges", "LandmarkGraph", "Layer"]


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
    """The pruned state graph of one arm's landmark survival figure(s).

    Built by :func:`~resurv.audit.build_landmark_graph` (see :mod:`resurv.audit.landmark_dp`
    for the estimators and rules). Layer ``j`` holds the states at cut point ``cuts[j]``;
    ``edges[j]`` leads from layer ``j`` to ``j + 1``. Every state lies on at least one
    feasible path, and every state of the last layer is an accepted final state.
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


def _layer_of(t: float, cuts: Sequence[float]) -> int:
    return min(range(len(cuts)), key=lambda i: abs(cuts[i] - t))
