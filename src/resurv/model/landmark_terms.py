"""Landmark survival terms: exact (forward algorithm or enumeration) and approximate.

:class:`ExactLandmark` is the exact likelihood of an arm's printed landmark survival, a
forward algorithm over the pruned graphs of :mod:`resurv.audit.landmark_dp` (or a log-sum-exp
over their listed configurations), with the data arrays built by :func:`_forward_data` and
:func:`_enumeration_data`. :class:`ApproxLandmark` replaces it with binomials of effective
sample sizes when the exact feasible set is too large or the estimator is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytensor.tensor as pt
from scipy import special

from resurv.errors import AuditError
from resurv.model.censoring import CellQuadrature, CensoringModel, _masked_power, effective_sizes
from resurv.model.figure_term import _FigureTerm, _log_weights
from resurv.model.landmark_kernel import ExactLandmarkOp, quadrature_data
from resurv.model.landmark_merge import merge_equivalent_states
from resurv.model.terms import ArmParams
from resurv.study.schema import Printed

__all__ = ["APPROXIMATION_COST", "ApproxLandmark", "ExactLandmark"]

#: what the approximate term costs, as measured by benchmarks/bench_approx.py (2026-12-03):
#: exact and approximate posteriors of S(L) side by side for arms of 10-50 patients
APPROXIMATION_COST = (
    "The approximate term (binomials with effective sample sizes) ignores the rounding of the "
    "printed value and the integer counts behind it; where both can be computed (arms of 10 to "
    "50 patients, one landmark) its posterior of S(L) is within 0.03 of the exact one in median "
    "and 0.87-1.09 times as wide (total-variation distance 0.006-0.11), furthest off for small "
    "arms and survival near 100%."
)


# -- exact landmark ----------------------------------------------------------------------------

_TINY = 1e-300
_FLOOR = np.float64(-1e300)  # a finite floor for the largest edge term of a layer
_NO_PATH = "no configuration that prints the figure has positive probability under the censoring"


def _prune(at_risk, edges, cells: CellQuadrature) -> list[np.ndarray]:
    """States on a path from a root to an admissible final state, per layer."""
    k = cells.n_cells
    fwd = [np.ones(at_risk[0].size, dtype=bool)]
    for j, (src, dst, _, _) in enumerate(edges):
        reach = np.zeros(at_risk[j + 1].size, dtype=bool)
        reach[dst[fwd[j][src]]] = True
        fwd.append(reach)
    alive = [fwd[k] & ((at_risk[k] == 0) | (cells.alive_weight > 0))]
    for j in reversed(range(k)):
        src, dst = edges[j][0], edges[j][1]
        back = np.zeros(at_risk[j].size, dtype=bool)
        back[src[alive[0][dst]]] = True
        alive.insert(0, back & fwd[j])
    if not alive[0].any():
        cm = cells.censoring
        raise AuditError(
            f"{_NO_PATH} model (potential follow-up {cm.min_followup:g} to {cm.max_followup:g}, "
            f"grid to {cells.horizon:g}); check the accrual and close dates, or the landmark time"
        )
    return alive


def _forward_data(graphs: Sequence[Any], cells: CellQuadrature) -> dict[str, np.ndarray]:
    """Concatenate the candidate graphs, drop impossible edges, merge equivalent states.

    States with the same future are merged (:mod:`resurv.model.landmark_merge`, exact).
    """
    k = cells.n_cells
    at_risk = [np.concatenate([g.layers[j].at_risk for g in graphs]) for j in range(k + 1)]
    offsets = [np.cumsum([0] + [len(g.layers[j].at_risk) for g in graphs]) for j in range(k + 1)]
    edges = []
    for j in range(k):
        parts = [(e.src + offsets[j][i], e.dst + offsets[j + 1][i], e.deaths, e.censored)
                 for i, e in enumerate(g.edges[j] for g in graphs)]  # fmt: skip
        src, dst, d, c = (np.concatenate(a).astype(np.int64) for a in zip(*parts, strict=True))
        ok = (cells.death_possible[j] | (d == 0)) & (cells.censoring_possible[j] | (c == 0))
        edges.append((src[ok], dst[ok], d[ok], c[ok]))
    alive = _prune(at_risk, edges, cells)
    kept = []
    for j, (src, dst, d, c) in enumerate(edges):
        ok = alive[j][src] & alive[j + 1][dst]
        kept.append(
            (
                (np.cumsum(alive[j]) - 1)[src[ok]],
                (np.cumsum(alive[j + 1]) - 1)[dst[ok]],
                d[ok],
                c[ok],
            )
        )
    r0 = at_risk[0][alive[0]]
    merged = merge_equivalent_states(
        special.gammaln(r0 + 1.0) - math.log(len(graphs)), kept, at_risk[k][alive[k]]
    )
    # One padded (K, E) matrix per edge field and one (S,) vector per state field, S and E the
    # largest merged layer: the number of containers and the size of the graph (a scan over the
    # K layers) do not depend on the feasible set, only the lengths of the arrays do.
    # Padding edges have const = -inf (they add exp(-inf) = 0); padding states -inf.
    n_states = max(merged.n_states)
    width = max(1, max(len(e[0]) for e in merged.edges))
    src_m = np.zeros((k, width), dtype=np.int64)
    dst_m = np.zeros((k, width), dtype=np.int64)
    d_m, c_m = np.zeros((k, width)), np.zeros((k, width))
    const_m = np.full((k, width), -np.inf)
    for j, (src, dst, d, c) in enumerate(merged.edges):
        m = len(src)
        src_m[j, :m], dst_m[j, :m], d_m[j, :m], c_m[j, :m] = src, dst, d, c
        const_m[j, :m] = -special.gammaln(d + 1.0) - special.gammaln(c + 1.0)
    root = np.full(n_states, -np.inf)
    root[: merged.root.size] = merged.root
    r_end = merged.final_at_risk.astype(float)
    final_at_risk, final_const = np.zeros(n_states), np.full(n_states, -np.inf)
    final_at_risk[: r_end.size], final_const[: r_end.size] = r_end, -special.gammaln(r_end + 1.0)
    return {
        "root": root,
        "src": src_m,
        "dst": dst_m,
        "deaths": d_m,
        "censored": c_m,
        "const": const_m,
        "final_at_risk": final_at_risk,
        "final_const": final_const,
    }


def _enumeration_data(
    graphs, cells: CellQuadrature, max_configurations: int
) -> dict[str, np.ndarray]:
    """The configuration matrix of every candidate, impossible configurations dropped."""
    k, rows, consts = cells.n_cells, [], []
    for g in graphs:
        if len(g.layers[0].at_risk):
            x = np.asarray(g.enumerate(max_configurations).counts, dtype=np.int64)
            d, c, r = x[:, 0 : 2 * k : 2], x[:, 1 : 2 * k : 2], x[:, -1]
            ok = np.all(cells.death_possible | (d == 0), axis=1)
            ok &= np.all(cells.censoring_possible | (c == 0), axis=1)
            ok &= (r == 0) | (cells.alive_weight > 0)
            rows.append(x[ok])
            log_n = special.gammaln(x[0].sum() + 1.0) - math.log(len(graphs))
            consts.append(log_n - special.gammaln(x[ok] + 1.0).sum(axis=1))
    if not sum(len(r) for r in rows):
        raise AuditError(f"{_NO_PATH} model; check the accrual and close dates")
    return {"counts": np.concatenate(rows).astype(float), "const": np.concatenate(consts)}


class ExactLandmark(_FigureTerm):
    r"""Exact likelihood of an arm's printed landmark survival figure(s).

    Parameters
    ----------
    arm : str
        Arm id.
    graphs : sequence of landmark graphs
        One per candidate arm size, on the same cut points: the pruned graphs of
        :func:`resurv.audit.landmark_dp.build_landmark_graph`, or any object with their ``n``,
        ``cuts``, ``layers[j].at_risk``, ``edges[j]`` and ``enumerate``. A candidate whose
        figure is unprintable (an empty graph) still counts in the mixture.
    censoring : CensoringModel
    form : {"forward", "enumeration"}
        Forward algorithm over the graph (default; cost grows with its edges), or a
        log-sum-exp over the listed configurations (cost grows with their number).
    name : str, optional
        Default ``f"landmark_{arm}"``.
    max_configurations : int
        Limit of the enumeration form.

    Notes
    -----
    With cells ``p = (p_death[j], p_censored[j], p_alive)`` from
    :class:`~resurv.model.censoring.CellQuadrature`, a configuration ``x`` of ``n`` patients has
    probability ``Multinomial(x | n, p)``, and the figure's likelihood is

    .. math:: L(\theta) = \frac{1}{N}\sum_{n}\sum_{x \in F_n} n! \prod_j
        \frac{p_{d,j}^{d_j} p_{c,j}^{c_j}}{d_j!\, c_j!} \frac{p_a^{r}}{r!}

    over the ``N`` candidate sizes and the feasible sets ``F_n``. The forward algorithm sums
    layer by layer: ``alpha_{j+1}[s] = logsumexp`` over the edges into ``s`` of
    ``alpha_j[src] + d log p_d[j] + c log p_c[j] - log d! - log c!``, from
    ``log n! - log N`` at the roots to ``+ r log p_a - log r!`` at the accepted final states.
    Both forms are one compiled kernel with its exact gradient
    (:class:`~resurv.model.landmark_kernel.ExactLandmarkOp`); the forward pass reads padded
    ``(K, E)`` edge matrices (``E`` the largest layer) and shifts each layer by its largest
    edge term. The feasible set, the cut points and the censoring model (its cell quadrature)
    are all data (``pm.Data``), so the compiled graph is the same for every arm size, feasible
    set, number of cells and study close; only the lengths of the arrays change.
    Edges through cells of probability 0 under the censoring model (deaths after the longest
    follow-up; censorings before the shortest, without loss) are removed beforehand, so no
    ``0 * log 0`` arises and the gradient stays finite.
    """

    def __init__(
        self,
        arm: str,
        graphs: Sequence[Any],
        censoring: CensoringModel,
        *,
        form: str = "forward",
        name: str | None = None,
        max_configurations: int = 100_000,
    ):
        graphs = list(graphs)
        if form not in ("forward", "enumeration"):
            raise ValueError(f"form must be 'forward' or 'enumeration'; received {form!r}")
        if not graphs:
            raise ValueError("graphs must hold one landmark graph per candidate arm size; got none")
        for g in graphs:
            if getattr(g, "truncated", False):
                raise AuditError(
                    f"the landmark graph of n = {g.n} is incomplete ({g.summary}); use "
                    "ApproxLandmark (landmark_term does so automatically)"
                )
        cuts = {tuple(float(t) for t in g.cuts) for g in graphs}
        if len(cuts) != 1:
            raise ValueError(
                f"the candidate graphs must share their cut points; got {sorted(cuts)}"
            )
        self._set_name(name or f"landmark_{arm}")
        self.arm, self.arms, self.form = str(arm), (str(arm),), form
        self.cells = censoring.cells(cuts.pop())
        self.n_candidates = tuple(int(g.n) for g in graphs)
        # the censoring model and the cut points enter as data (the cell quadrature), so
        # models of every close, landmark time and feasible set share one compiled structure
        self._static = (form,)
        if form == "forward":
            self._data = _forward_data(graphs, self.cells)
        else:
            self._data = _enumeration_data(graphs, self.cells, max_configurations)
        self._data.update(quadrature_data(self.cells))

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Log-probability that a study run under the model prints the figure(s).

        One :class:`~resurv.model.landmark_kernel.ExactLandmarkOp`: a compiled kernel of the
        cell probabilities and of the log-sum-exp (enumeration) or forward pass, with its
        exact gradient, reading every array from ``data``.
        """
        op = ExactLandmarkOp(self.form)
        value, _, _ = op(params.lam[self.arm], params.k, *(data[key] for key in op.data_keys))
        return value


# -- approximate landmark ----------------------------------------------------------------------


class ApproxLandmark(_FigureTerm):
    r"""Approximate likelihood of landmark survival: binomials with effective sizes.

    Parameters
    ----------
    arm : str
    times : sequence of float
        Landmark times (study time unit), increasing.
    printed : sequence of Printed
        The printed percents, one per time.
    n_candidates : sequence of int
        Candidate arm sizes, mixed with equal weights.
    censoring : CensoringModel
    method : {"greenwood", "peto"}
        Effective sizes, see :func:`~resurv.model.censoring.effective_sizes`.
    name : str, optional
        Default ``f"landmark_{arm}"``.

    Notes
    -----
    The printed conditional survival ``q_i = S_i / S_{i-1}`` (``S_0 = 1``; a printed 0 is
    read as half its last digit) is taken as ``y_i / m_i``, with the effective size ``m_i``
    expected under the censoring model at the printed values (plug-in), and

    .. math:: \log L = \log \frac{1}{N}\sum_n \prod_i
        \frac{\Gamma(m_i + 1)}{\Gamma(y_i + 1)\Gamma(m_i - y_i + 1)}
        q_i(\theta)^{y_i} (1 - q_i(\theta))^{m_i - y_i},

    ``q_i(theta) = exp(-lam (t_i**k - t_{i-1}**k))`` (for the cure family
    ``S(t_i) / S(t_{i-1})`` with ``S = pi + (1 - pi) exp(-lam t)``); successive periods are
    independent to Greenwood's order. The rounding of the printed values is ignored. For when
    the exact feasible set is too large or the estimator is unknown.
    """

    def __init__(
        self,
        arm: str,
        times: Sequence[float],
        printed: Sequence[Printed],
        n_candidates: Sequence[int],
        censoring: CensoringModel,
        *,
        method: str = "greenwood",
        name: str | None = None,
    ):
        self._set_name(name or f"landmark_{arm}")
        self.arm, self.arms = str(arm), (str(arm),)
        self.times, self.printed = tuple(float(t) for t in times), tuple(printed)
        if len(self.printed) != len(self.times) or not self.times:
            raise ValueError(f"give one printed value per time; got {self.times}, {self.printed}")
        self.n_candidates = tuple(int(n) for n in n_candidates)
        self._static = (self.times,)
        s = np.array([max(p.value, 0.5 * 10.0**-p.decimals) / 100 for p in self.printed])
        size = np.array(
            [effective_sizes(n, self.times, s, censoring, method) for n in self.n_candidates]
        )
        y = s / np.concatenate([[1.0], s[:-1]]) * size
        log_binom = (
            special.gammaln(size + 1) - special.gammaln(y + 1) - special.gammaln(size - y + 1)
        )
        log_weight = _log_weights(len(self.n_candidates))
        self._data = {"y": y, "size": size, "norm": log_binom, "log_weight": log_weight}

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Mixture over candidate sizes of products of continuous binomials."""
        t, k = np.array((0.0, *self.times)), params.k
        if params.cure is not None:  # S = pi + (1 - pi) exp(-H): q_i = S(t_i) / S(t_{i-1})
            pi = params.cure[self.arm]
            log_s = pt.log(pi + (1.0 - pi) * pt.exp(-params.lam[self.arm] * _masked_power(t, k)))
            log_q = log_s[1:] - log_s[:-1]
        else:
            log_q = -params.lam[self.arm] * (_masked_power(t[1:], k) - _masked_power(t[:-1], k))
        y, size = data["y"], data["size"]
        # a floor on 1 - q: a plateau printed exactly (y = size) under a cure fraction can make
        # q = 1 in floating point, and 0 * log(0) would be NaN rather than the limit 0
        log_1mq = pt.log(pt.maximum(-pt.expm1(log_q), 1e-300))
        per_n = data["norm"] + y * log_q + (size - y) * log_1mq
        return pt.logsumexp(per_n.sum(axis=1) + data["log_weight"])
