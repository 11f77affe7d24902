"""The censoring model of a study and the multinomial cell probabilities it implies.

A patient enters uniformly over the accrual window ``[a, b]`` (calendar years) and is
followed until the administrative close ``c``, so the potential follow-up ``c - e`` is
uniform on ``[lo, hi] = [(c - b) u, (c - a) u]`` with ``u`` the number of study time units
per year. An optional constant hazard ``mu`` of loss to follow-up (per time unit) competes
with it. The censoring time is ``C = min(c - e, loss)`` and

    G(t) = P(C > t) = exp(-mu t) * clip((hi - t) / (hi - lo), 0, 1).

With death times ``T`` from ``S(t) = exp(-lam t**k)`` and a grid ``0 = t_0 < ... < t_K = L``
each patient falls in exactly one of ``2K + 1`` cells: died in interval ``j`` before being
censored, censored in interval ``j`` while alive, or alive and followed at ``L``.
:class:`CellQuadrature` computes their probabilities with NumPy or PyTensor (one code path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Variable
from scipy import integrate

from resurv.errors import AuditError, StudyError
from resurv.study.schema import TIME_UNIT_PER_YEAR, Study

__all__ = ["CellQuadrature", "CensoringModel", "cell_probabilities", "effective_sizes"]

_NP = SimpleNamespace(exp=np.exp, expm1=np.expm1, dot=np.dot, minimum=np.minimum)
_PT = SimpleNamespace(exp=pt.exp, expm1=pt.expm1, dot=pt.dot, minimum=pt.minimum)


@dataclass(frozen=True)
class CensoringModel:
    """Uniform entry over ``[accrual_start, accrual_end]``, close at ``close``, loss rate ``mu``.

    Parameters
    ----------
    accrual_start, accrual_end, close : float
        Calendar years; ``accrual_start < accrual_end <= close``.
    loss_rate : float, default 0
        Constant hazard of loss to follow-up, per study time unit.
    time_unit : {"days", "weeks", "months", "years"}
        The study's time unit; follow-up in years is multiplied by
        :data:`resurv.study.TIME_UNIT_PER_YEAR` (12 months, 365.25/7 weeks, 365.25 days).
    """

    accrual_start: float
    accrual_end: float
    close: float
    loss_rate: float = 0.0
    time_unit: str = "years"

    def __post_init__(self) -> None:
        if self.time_unit not in TIME_UNIT_PER_YEAR:
            raise StudyError(
                "study.time_unit",
                f"received {self.time_unit!r}; allowed: {sorted(TIME_UNIT_PER_YEAR)}",
            )
        values = (self.accrual_start, self.accrual_end, self.close, self.loss_rate)
        if not all(math.isfinite(v) for v in values):
            raise StudyError("censoring", f"every setting must be a finite number, got {values}")
        if not self.accrual_start < self.accrual_end:
            raise StudyError(
                "censoring.accrual",
                f"received [{self.accrual_start}, {self.accrual_end}]; the window must have "
                "positive length (accrual_start < accrual_end). For one calendar year of "
                "accrual write e.g. [1990, 1991].",
            )
        if self.close < self.accrual_end:
            raise StudyError(
                "censoring.close",
                f"received {self.close}, before the end of accrual {self.accrual_end}; the "
                "study cannot close before its last patient enters: give close >= accrual_end.",
            )
        if self.loss_rate < 0:
            raise StudyError(
                "censoring.loss_rate",
                f"received {self.loss_rate}; a hazard of loss to follow-up must be >= 0 "
                "(0 means no loss).",
            )

    @classmethod
    def from_study(cls, study: Study, close: float | None = None) -> CensoringModel:
        """Build the model from ``study.censoring``; ``close`` overrides the close date."""
        c = study.censoring
        return cls(
            accrual_start=float(c.accrual_start),
            accrual_end=float(c.accrual_end),
            close=float(c.close if close is None else close),
            loss_rate=float(c.loss_rate),
            time_unit=study.time_unit,
        )

    @property
    def per_year(self) -> float:
        """Study time units per calendar year."""
        return TIME_UNIT_PER_YEAR[self.time_unit]

    @property
    def min_followup(self) -> float:
        """Shortest potential follow-up ``lo = close - accrual_end`` (study time unit)."""
        return (self.close - self.accrual_end) * self.per_year

    @property
    def max_followup(self) -> float:
        """Longest potential follow-up ``hi = close - accrual_start`` (study time unit)."""
        return (self.close - self.accrual_start) * self.per_year

    @property
    def breakpoints(self) -> tuple[float, ...]:
        """Times > 0 where the censoring density ``g`` is not smooth (``lo`` and ``hi``)."""
        return tuple(t for t in (self.min_followup, self.max_followup) if t > 0)

    def _admin_survival(self, t: np.ndarray) -> np.ndarray:
        lo, hi = self.min_followup, self.max_followup
        return np.clip((hi - t) / (hi - lo), 0.0, 1.0)

    def survival(self, t: Any) -> np.ndarray:
        """Censoring survivor function ``G(t) = P(C > t)``."""
        t = np.asarray(t, dtype=float)
        return np.exp(-self.loss_rate * np.maximum(t, 0.0)) * self._admin_survival(t)

    def density(self, t: Any) -> np.ndarray:
        """Censoring density ``g(t) = -G'(t)`` (right-continuous at the breakpoints)."""
        t = np.asarray(t, dtype=float)
        lo, hi = self.min_followup, self.max_followup
        uniform = np.where((t >= lo) & (t < hi), 1.0 / (hi - lo), 0.0)
        loss = self.loss_rate * self._admin_survival(t)
        return np.where(t >= 0, np.exp(-self.loss_rate * np.maximum(t, 0.0)) * (uniform + loss), 0)

    def sample(
        self, rng: np.random.Generator, size: Any, *, return_entry: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Draw censoring times ``C`` (study time unit); optionally also the entry years."""
        entry = rng.uniform(self.accrual_start, self.accrual_end, size=size)
        admin = (self.close - entry) * self.per_year
        if self.loss_rate > 0:
            admin = np.minimum(admin, rng.exponential(1.0 / self.loss_rate, size=size))
        return (admin, entry) if return_entry else admin

    def cells(self, cuts: Any, **kwargs: Any) -> CellQuadrature:
        """Return the :class:`CellQuadrature` of the grid ``cuts`` under this model."""
        return CellQuadrature(self, cuts, **kwargs)


#: largest rate used in cell probabilities (beyond it every cell but the first is 0 anyway)
_LAM_MAX = np.float64(1e300)


def _masked_power(t: np.ndarray, k: Any) -> Any:
    """``t**k`` for constant ``t >= 0``; exactly 0 at ``t = 0`` with a finite gradient in k."""
    safe = np.where(t > 0, t, 1.0)
    mask = (t > 0).astype(float)
    return safe**k * mask


class CellQuadrature:
    r"""Fixed quadrature for the ``2K + 1`` cell probabilities of a grid.

    Parameters
    ----------
    censoring : CensoringModel
    cuts : array_like
        ``0 = t_0 < t_1 < ... < t_K = L`` in the study time unit.
    nodes : int, default 16
        Gauss-Legendre nodes per sub-interval.
    max_pieces : int, default 8
        Every interval is split so that no sub-interval is longer than ``L / max_pieces``.
    grading : int, default 12
        Sub-intervals starting at 0 are refined geometrically (ratio 1/5, ``grading``
        levels) because ``t**k`` is not smooth there.

    Notes
    -----
    Sub-intervals ``[a, b]`` are split at the cuts and at the censoring breakpoints, so
    ``g`` is smooth on each. Integrating the death cell by parts,

    .. math::

        \int_a^b f(t) G(t)\,dt = G(a)\{S(a) - S(b)\} - \int_a^b g(c)\{S(c) - S(b)\}\,dc,
        \qquad \int_a^b g(c) S(c)\,dc \text{ (censored cell)},

    only bounded, continuous integrands are left: ``f = lam k t**(k-1) S`` is singular at 0
    for ``k < 1``, ``S`` is not. Differences of ``S`` are computed as
    ``S(c) * -expm1(-lam (b**k - c**k))`` so that they keep their relative accuracy.
    Every quantity is linear in values of ``S`` at constant points, so the same code runs
    with NumPy (floats) and PyTensor (tensors); its gradient is finite for ``lam, k > 0``.
    ``p_alive = S(L) G(L)``. Cells that are structurally 0 (``G = 0`` or ``g = 0`` on the
    whole interval) are listed in :attr:`death_possible` and :attr:`censoring_possible`.
    """

    def __init__(
        self,
        censoring: CensoringModel,
        cuts: Any,
        *,
        nodes: int = 16,
        max_pieces: int = 8,
        grading: int = 12,
    ):
        cuts = np.asarray(cuts, dtype=float)
        if cuts.ndim != 1 or cuts.size < 2 or cuts[0] != 0 or np.any(np.diff(cuts) <= 0):
            raise ValueError(
                f"cuts must be increasing and start at 0, e.g. [0, 1, 2, 3, 4]; received {cuts}"
            )
        self.censoring = censoring
        self.cuts = cuts
        self.horizon = float(cuts[-1])
        n_cells = cuts.size - 1
        inner = [b for b in censoring.breakpoints if b < self.horizon]
        edges = np.unique(np.concatenate([cuts, inner]))
        pieces = _pieces(edges, self.horizon / max_pieces)
        levels = pieces[0][1] * 0.2 ** np.arange(grading + 1)
        graded = [(0.0, levels[-1])]
        graded += [(levels[i + 1], levels[i]) for i in reversed(range(grading))]
        pieces = graded + pieces[1:]
        a, b = np.array(pieces).T
        cell = np.searchsorted(cuts, a, side="right") - 1
        x_std, w_std = np.polynomial.legendre.leggauss(nodes)
        x = (a[:, None] + b[:, None]) / 2 + (b - a)[:, None] / 2 * x_std
        wg = (b - a)[:, None] / 2 * w_std * censoring.density(x)
        g_a = censoring.survival(a)
        keep_piece = g_a > 0
        keep_node = wg > 0
        self.piece_a, self.piece_b, g_a = a[keep_piece], b[keep_piece], g_a[keep_piece]
        self.piece_weight = g_a
        self.piece_cell = _indicator(cell[keep_piece], n_cells)
        self.node_t = x[keep_node]
        self.node_right = np.broadcast_to(b[:, None], x.shape)[keep_node]
        self.node_weight = wg[keep_node]
        self.node_cell = _indicator(np.broadcast_to(cell[:, None], x.shape)[keep_node], n_cells)
        self.alive_weight = float(censoring.survival(self.horizon))
        self.death_possible = self.piece_cell.sum(axis=1) > 0
        self.censoring_possible = self.node_cell.sum(axis=1) > 0

    @property
    def n_cells(self) -> int:
        """Number of intervals ``K``."""
        return self.cuts.size - 1

    def probabilities(self, lam: Any, k: Any = 1.0) -> tuple[Any, Any, Any]:
        """Return ``(p_death (K,), p_censored (K,), p_alive)`` for scalar ``lam`` and ``k``.

        NumPy floats in, NumPy out; any PyTensor argument gives PyTensor graphs.
        """
        xp = _PT if isinstance(lam, Variable) or isinstance(k, Variable) else _NP
        # A rate that overflowed (far tails of a prior, as SMC visits them) is capped, and
        # hazard differences are formed as lam * (a**k - b**k), never as inf - inf.
        with np.errstate(over="ignore"):  # exp(-inf) = 0 is the right answer there
            lam = xp.minimum(lam, _LAM_MAX)
            t_node, t_right = _masked_power(self.node_t, k), _masked_power(self.node_right, k)
            s_node = xp.exp(-lam * t_node)
            ds_node = s_node * -xp.expm1(lam * (t_node - t_right))
            t_a, t_b = _masked_power(self.piece_a, k), _masked_power(self.piece_b, k)
            ds_piece = xp.exp(-lam * t_a) * -xp.expm1(lam * (t_a - t_b))
            p_cens = xp.dot(self.node_cell, self.node_weight * s_node)
            p_death = xp.dot(self.piece_cell, self.piece_weight * ds_piece) - xp.dot(
                self.node_cell, self.node_weight * ds_node
            )
            p_alive = xp.exp(-lam * self.horizon**k) * self.alive_weight
        return p_death, p_cens, p_alive


def _pieces(edges: np.ndarray, width: float) -> list[tuple[float, float]]:
    """Split each ``[edges[i], edges[i+1]]`` into equal sub-intervals no longer than ``width``."""
    out = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        m = max(1, math.ceil((b - a) / width - 1e-9))
        grid = np.linspace(a, b, m + 1)
        out.extend(zip(grid[:-1], grid[1:], strict=True))
    return out


def _indicator(cell: np.ndarray, n_cells: int) -> np.ndarray:
    """``(n_cells, len(cell))`` 0/1 matrix mapping pieces or nodes to their cell."""
    return (np.arange(n_cells)[:, None] == np.asarray(cell)[None, :]).astype(float)


def cell_probabilities(
    lam: Any, k: Any, cuts: Any, censoring: CensoringModel
) -> tuple[Any, Any, Any]:
    """Shortcut for ``censoring.cells(cuts).probabilities(lam, k)``."""
    return censoring.cells(cuts).probabilities(lam, k)


def effective_sizes(
    n: int,
    times: Sequence[float],
    survival: Sequence[float],
    censoring: CensoringModel,
    method: str = "greenwood",
) -> np.ndarray:
    r"""Effective binomial sizes of the conditional survival between successive landmarks.

    Parameters
    ----------
    n : int
        Patients at time 0.
    times : sequence of float
        Landmark times ``t_1 < ... < t_M``.
    survival : sequence of float
        Survival proportions at the landmarks (the plug-in ``S_i``, non-increasing).
    censoring : CensoringModel
    method : {"greenwood", "peto"}

    Returns
    -------
    ndarray (M,)
        ``m_i``: a binomial of size ``m_i`` has the variance of the estimated conditional
        survival ``q_i = S_i / S_{i-1}`` expected under the censoring model.

    Notes
    -----
    The hazard is taken piecewise constant at the plug-in values,
    ``lam_i = -log(q_i) / (t_i - t_{i-1})``. ``"greenwood"`` matches the asymptotic
    (Greenwood) variance of the actuarial and Kaplan-Meier estimators,
    ``Var(log q_i) = (1/n) int h(t) / (S(t) G(t)) dt`` over ``(t_{i-1}, t_i]``, to the
    binomial's ``(1 - q_i) / (m_i q_i)``:

    .. math:: m_i = n\,S_{i-1}\,\frac{(1 - q_i)/\lambda_i}{q_i
        \int_{t_{i-1}}^{t_i} e^{\lambda_i (t - t_{i-1})} / G(t)\,dt}

    (``(1 - q_i)/lam_i -> t_i - t_{i-1}`` when ``q_i = 1``). Without censoring
    ``m_i = n S_{i-1}``, the expected number entering the period. ``"peto"`` uses Peto's
    effective number, the expected number at risk at ``t_i`` over the conditional survival,
    ``m_i = n S_{i-1} G(t_i)``: it treats patients censored within the period as giving no
    information, so it is smaller.

    References
    ----------
    Peto R et al. Br J Cancer 1977;35:1-39. Greenwood M. Reports on Public Health and Medical
    Subjects 1926;33.
    """
    if method not in ("greenwood", "peto"):
        raise ValueError(f"method must be 'greenwood' or 'peto'; received {method!r}")
    times, survival = np.asarray(times, dtype=float), np.asarray(survival, dtype=float)
    if (
        times.shape != survival.shape
        or times.ndim != 1
        or np.any(np.diff(times) <= 0)
        or times[0] <= 0
    ):
        raise ValueError(
            f"times must be increasing and > 0, one per survival value; got {times}, {survival}"
        )
    prev_s = np.concatenate([[1.0], survival[:-1]])
    if np.any(survival <= 0) or np.any(survival > prev_s):
        raise AuditError(
            f"landmark survival must be > 0 and non-increasing in time; received {survival}"
        )
    out = np.empty(times.size)
    for i, (t0, t1) in enumerate(zip(np.concatenate([[0.0], times[:-1]]), times, strict=True)):
        if censoring.survival(t1) <= 0:
            raise AuditError(
                f"no patient can be followed to t = {t1:g} under the censoring model (longest "
                f"potential follow-up {censoring.max_followup:g}); a figure at that time cannot "
                "be modelled: check the close date"
            )
        q = survival[i] / prev_s[i]
        if method == "peto":
            out[i] = n * prev_s[i] * censoring.survival(t1)
            continue
        lam = -math.log(q) / (t1 - t0)
        mean_time = t1 - t0 if lam == 0 else -math.expm1(-lam * (t1 - t0)) / lam
        points = [b for b in censoring.breakpoints if t0 < b < t1] or None
        integral = integrate.quad(
            lambda t, lam=lam, t0=t0: math.exp(lam * (t - t0)) / censoring.survival(t),
            t0,
            t1,
            points=points,
            limit=200,
        )[0]
        out[i] = n * prev_s[i] * mean_time / (q * integral)
    return out
