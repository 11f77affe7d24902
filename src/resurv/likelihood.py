"""Likelihood terms built from the figures a paper prints (DESIGN.md section 4).

Landmark survival enters exactly (:class:`ExactLandmark`, a forward algorithm over the
pruned graph of interval counts that print the figure, :mod:`resurv._landmark_dp`) or
approximately (:class:`ApproxLandmark`, binomials with effective sample sizes);
:func:`landmark_term` picks one and says why. Hazard ratios and medians with a confidence
interval enter as normal terms on the log scale; proportions, counts and rates as binomial or
Poisson mixtures over candidate denominators. Every term is a :class:`resurv.terms.Term`,
differentiable in ``(lam, k)`` of ``S(t) = exp(-lam t**k)`` and added to a model as a
``pm.Potential`` named ``term.name``; :func:`compile_loglik` evaluates one outside a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode
from scipy import special, stats

from resurv import _landmark_dp
from resurv._printing import prints_as, rules_for
from resurv.censoring import CellQuadrature, CensoringModel, _masked_power, effective_sizes
from resurv.errors import AuditError
from resurv.study import Arm, HazardRatioFigure, MedianFigure, Printed, SurvivalFigure
from resurv.terms import ArmParams, Term

__all__ = [
    "QUICK_MODE",
    "ApproxLandmark",
    "CountTerm",
    "ExactLandmark",
    "HazardRatioTerm",
    "LandmarkChoice",
    "MedianTerm",
    "ProportionTerm",
    "RateTerm",
    "compile_loglik",
    "compile_loglik_batch",
    "count_upper_bound",
    "effective_sizes",
    "feasible_counts",
    "landmark_term",
    "rule_of_three",
]

#: PyTensor mode of :func:`compile_loglik`: Python linker, fast-compile rewrites
QUICK_MODE = Mode(linker="py", optimizer="fast_compile")
_COMPILED: dict[tuple, Any] = {}


class _FigureTerm(Term):
    """Shared plumbing: subclasses set ``_data`` and ``_static`` and state their math."""

    arms: tuple[str, ...] = ()
    own_parameters: tuple[str, ...] = ()
    _static: tuple = ()

    def _set_name(self, name: str) -> None:
        if not str(name).isidentifier():
            raise ValueError(
                f"a term name must be an identifier (letters, digits, _); got {name!r}"
            )
        self.name = str(name)

    def data(self) -> dict[str, np.ndarray]:
        """Arrays of the term (swappable into a compiled model of the same structure)."""
        return dict(self._data)

    def structure(self) -> tuple:
        """Class, name, arms and the constants baked into the graph."""
        return (type(self).__name__, self.name, self.arms, *self._static)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Return the term's log-likelihood as a PyTensor scalar."""
        raise NotImplementedError

    def add_to_model(self, params: ArmParams, data: Mapping[str, Any]) -> None:
        """Add ``pm.Potential(self.name, log_likelihood)`` (and the term's own parameters)."""
        pm.Potential(self.name, self.log_likelihood(params, data, self._own_variables()))

    def _own_variables(self) -> dict[str, Any]:
        return {}


def compile_loglik(term: Term, *, mode: Any = None) -> Callable[..., float]:
    """Compile ``term`` into ``f(lam=..., k=1.0, **own) -> float``.

    ``lam`` is a float (one arm) or a mapping ``arm -> float``; ``own`` gives the term's own
    parameters (e.g. ``p_recurrence=0.4``). The data enter as inputs, so terms of one
    :meth:`~resurv.terms.Term.structure` share one compiled function (kept in this process).
    ``mode`` goes to ``pytensor.function``; the default :data:`QUICK_MODE` compiles in a
    fraction of a second and evaluates in about a millisecond (``"NUMBA"``: seconds to
    compile, faster to evaluate).
    """
    mode = QUICK_MODE if mode is None else mode
    values = {key: np.asarray(v) for key, v in term.data().items()}
    kinds = tuple((key, v.dtype.str, v.ndim) for key, v in values.items())
    mode_key = mode if isinstance(mode, str) else id(mode)
    key = (term.structure(), kinds, tuple(term.arms), tuple(term.own_parameters), mode_key)
    fn = _COMPILED.get(key)
    if fn is None:
        lam = {a: pt.dscalar(f"lam_{a}") for a in term.arms}
        k = pt.dscalar("k")
        own = {name: pt.dscalar(name) for name in term.own_parameters}
        data = {name: pt.tensor(name, dtype=dt, shape=(None,) * nd) for name, dt, nd in kinds}
        out = term.log_likelihood(ArmParams(term.arms, lam, k), data, own)
        inputs = [*lam.values(), k, *own.values(), *data.values()]
        fn = pytensor.function(inputs, out, on_unused_input="ignore", mode=mode)
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = fn

    def loglik(lam: float | Mapping[str, float] = 1.0, k: float = 1.0, **own_values: float):
        lam_map = lam if isinstance(lam, Mapping) else dict.fromkeys(term.arms, lam)
        args = [lam_map[a] for a in term.arms] + [k]
        args += [own_values[n] for n in term.own_parameters] + list(values.values())
        return float(fn(*args))

    return loglik


def compile_loglik_batch(term: Term) -> Callable[..., np.ndarray]:
    """Compile ``term`` into ``f(lam, k) -> (D,)`` for ``D`` parameter draws at once.

    ``lam`` is an array ``(D,)`` (one arm) or a mapping ``arm -> (D,)``; ``k`` an array
    ``(D,)`` or a float. The scalar graph of :meth:`log_likelihood` is batched over the draws
    with ``pytensor.graph.replace.vectorize_graph`` and compiled once per structure with
    :data:`QUICK_MODE` (each operation is one vectorised NumPy call over the draws, so no C
    compilation is needed), and posterior-wide evaluations (e.g. the weights of candidate
    arm sizes) cost one call instead of ``D``. Terms with their own parameters are not supported.
    """
    from pytensor.graph.replace import vectorize_graph

    if term.own_parameters:
        raise ValueError(f"{term.name} has its own parameters {term.own_parameters}")
    values = {key: np.asarray(v) for key, v in term.data().items()}
    kinds = tuple((key, v.dtype.str, v.ndim) for key, v in values.items())
    key = ("batch", term.structure(), kinds, tuple(term.arms))
    fn = _COMPILED.get(key)
    if fn is None:
        lam = {a: pt.dscalar(f"lam_{a}") for a in term.arms}
        k = pt.dscalar("k")
        data = {name: pt.tensor(name, dtype=dt, shape=(None,) * nd) for name, dt, nd in kinds}
        out = term.log_likelihood(ArmParams(term.arms, lam, k), data, {})
        lam_vec = {a: pt.dvector(f"lam_{a}_draws") for a in term.arms}
        k_vec = pt.dvector("k_draws")
        batched = vectorize_graph(out, {**{lam[a]: lam_vec[a] for a in term.arms}, k: k_vec})
        inputs = [*lam_vec.values(), k_vec, *data.values()]
        fn = pytensor.function(inputs, batched, on_unused_input="ignore", mode=QUICK_MODE)
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = fn

    def loglik(lam, k=1.0) -> np.ndarray:
        lam_map = lam if isinstance(lam, Mapping) else dict.fromkeys(term.arms, lam)
        arrays = [np.atleast_1d(np.asarray(lam_map[a], dtype=float)) for a in term.arms]
        size = arrays[0].size
        k_arr = np.broadcast_to(np.asarray(k, dtype=float), (size,)).copy()
        return np.asarray(fn(*arrays, k_arr, *values.values()), dtype=float)

    return loglik


# -- exact landmark ----------------------------------------------------------------------------

_TINY = 1e-300
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
    """Concatenate the candidate graphs, drop impossible edges, pad the in-edges per state."""
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
    data = {"root": special.gammaln(at_risk[0][alive[0]] + 1.0) - math.log(len(graphs))}
    for j, (src, dst, d, c) in enumerate(edges):
        ok = alive[j][src] & alive[j + 1][dst]
        new_src, new_dst = (
            (np.cumsum(alive[j]) - 1)[src[ok]],
            (np.cumsum(alive[j + 1]) - 1)[dst[ok]],
        )
        d, c = d[ok], c[ok]
        order = np.argsort(new_dst, kind="stable")
        degree = np.bincount(new_dst, minlength=int(alive[j + 1].sum()))
        incoming = np.full((degree.size, int(degree.max())), len(new_src), dtype=np.int64)
        incoming[
            new_dst[order], np.arange(len(order)) - np.repeat(np.cumsum(degree) - degree, degree)
        ] = order
        data |= {
            f"src_{j}": new_src,
            f"deaths_{j}": d.astype(float),
            f"censored_{j}": c.astype(float),
            f"const_{j}": -special.gammaln(d + 1.0) - special.gammaln(c + 1.0),
            f"incoming_{j}": incoming,
        }
    r_end = at_risk[k][alive[k]].astype(float)
    return data | {"final_at_risk": r_end, "final_const": -special.gammaln(r_end + 1.0)}


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
        :func:`resurv._landmark_dp.build_landmark_graph`, or any object with their ``n``,
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
    :class:`~resurv.censoring.CellQuadrature`, a configuration ``x`` of ``n`` patients has
    probability ``Multinomial(x | n, p)``, and the figure's likelihood is

    .. math:: L(\theta) = \frac{1}{N}\sum_{n}\sum_{x \in F_n} n! \prod_j
        \frac{p_{d,j}^{d_j} p_{c,j}^{c_j}}{d_j!\, c_j!} \frac{p_a^{r}}{r!}

    over the ``N`` candidate sizes and the feasible sets ``F_n``. The forward algorithm sums
    layer by layer: ``alpha_{j+1}[s] = logsumexp`` over the edges into ``s`` of
    ``alpha_j[src] + d log p_d[j] + c log p_c[j] - log d! - log c!``, from
    ``log n! - log N`` at the roots to ``+ r log p_a - log r!`` at the accepted final states.
    Each state's in-edges are gathered through a padded index matrix (padding: ``-inf``).
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
        self._static = (form, tuple(self.cells.cuts), censoring)
        if form == "forward":
            self._data = _forward_data(graphs, self.cells)
        else:
            self._data = _enumeration_data(graphs, self.cells, max_configurations)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Log-probability that a study run under the model prints the figure(s)."""
        cells = self.cells
        p_death, p_cens, p_alive = cells.probabilities(params.lam[self.arm], params.k)
        # impossible cells: log 1 = 0 (their edges are gone); underflow: floored, never 0 * -inf
        log_d = pt.log(pt.maximum(p_death, _TINY) + ~cells.death_possible)
        log_c = pt.log(pt.maximum(p_cens, _TINY) + ~cells.censoring_possible)
        log_a = pt.log(pt.maximum(p_alive, _TINY) + float(cells.alive_weight == 0))
        if self.form == "enumeration":
            log_p = pt.concatenate([pt.stack([log_d, log_c], axis=1).reshape((-1,)), log_a[None]])
            return pt.logsumexp(pt.dot(data["counts"], log_p) + data["const"])
        alpha, pad = data["root"], pt.constant(np.array([-np.inf]))
        for j in range(cells.n_cells):
            edge = alpha[data[f"src_{j}"]] + data[f"const_{j}"]
            edge = edge + data[f"deaths_{j}"] * log_d[j] + data[f"censored_{j}"] * log_c[j]
            alpha = pt.logsumexp(pt.concatenate([edge, pad])[data[f"incoming_{j}"]], axis=1)
        return pt.logsumexp(alpha + data["final_at_risk"] * log_a + data["final_const"])


# -- approximate landmark ----------------------------------------------------------------------


def _log_weights(n: int) -> np.ndarray:
    """Equal mixture weights ``log(1/n)`` of ``n`` candidates."""
    return np.full(n, -math.log(n))


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
        Effective sizes, see :func:`~resurv.censoring.effective_sizes`.
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

    ``q_i(theta) = exp(-lam (t_i**k - t_{i-1}**k))``; successive periods are independent to
    Greenwood's order. The rounding of the printed values is ignored. For when the exact
    feasible set is too large or the estimator is unknown.
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
        log_q = -params.lam[self.arm] * (_masked_power(t[1:], k) - _masked_power(t[:-1], k))
        y, size = data["y"], data["size"]
        per_n = data["norm"] + y * log_q + (size - y) * pt.log(-pt.expm1(log_q))
        return pt.logsumexp(per_n.sum(axis=1) + data["log_weight"])


# -- hazard ratio and median -------------------------------------------------------------------


def _value(x: Printed | float) -> float:
    return float(x.value if isinstance(x, Printed) else x)


def _log_se(ci: tuple, level: float, what: str) -> float:
    """``(log upper - log lower) / (2 z)`` with ``z = Phi^{-1}((1 + level) / 2)``."""
    lo, hi = (_value(c) for c in ci)
    if not (0 < lo < hi and 0 < level < 1):
        raise ValueError(f"{what}: need 0 < lower < upper and 0 < level < 1; got {ci}, {level}")
    return (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf((1 + level) / 2))


def _normal_logpdf(x: Any, mu: Any, sigma: Any) -> Any:
    return -0.5 * ((x - mu) / sigma) ** 2 - pt.log(sigma) - 0.5 * math.log(2 * math.pi)


def _log_normal_cdf(z: Any) -> Any:
    """``log Phi(z)``, accurate in both tails; each branch is evaluated on its own side only."""
    lo, hi = pt.minimum(z, -1.0) / math.sqrt(2), pt.maximum(z, -1.0) / math.sqrt(2)
    return pt.switch(z < -1.0, pt.log(pt.erfcx(-lo) / 2) - lo**2, pt.log1p(-pt.erfc(hi) / 2))


class HazardRatioTerm(_FigureTerm):
    """Normal likelihood of a printed log hazard ratio, SE from its confidence interval.

    ``hr`` is the hazard ratio of ``arms[0]`` relative to ``arms[1]``; with a shared shape,
    ``log HR = log lam[arms[0]] - log lam[arms[1]]``.

    Notes
    -----
    ``SE = (log upper - log lower) / (2 z)`` with ``z = Phi^{-1}((1 + level) / 2)``
    (1.95996 for a 95% CI); the observation is the log of the printed HR.
    """

    def __init__(self, arms, hr: Printed | float, ci: tuple, ci_level=0.95, *, name=None):
        if ci is None:
            raise ValueError(
                "a hazard ratio without a confidence interval carries no usable precision; "
                "give its CI (or its p-value as a logrank_p figure for a predictive check)"
            )
        if _value(hr) <= 0:
            raise ValueError(f"a hazard ratio must be > 0; received {hr}")
        self.arms = (str(arms[0]), str(arms[1]))
        self._set_name(name or f"hr_{self.arms[0]}_{self.arms[1]}")
        se = _log_se(ci, ci_level, "hazard ratio")
        self._data = {"log_hr": np.array(math.log(_value(hr))), "se": np.array(se)}

    @classmethod
    def from_figure(cls, figure: HazardRatioFigure, **kwargs: Any) -> HazardRatioTerm:
        """Build from a study's :class:`~resurv.study.HazardRatioFigure`."""
        return cls(figure.arms, figure.hr, figure.ci, figure.ci_level, **kwargs)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """``Normal(log_hr | log lam_a - log lam_b, se)``."""
        mu = pt.log(params.lam[self.arms[0]]) - pt.log(params.lam[self.arms[1]])
        return _normal_logpdf(data["log_hr"], mu, data["se"])


class MedianTerm(_FigureTerm):
    """Likelihood of a printed median survival: with CI, without CI, or "not reached".

    Parameters
    ----------
    arm : str
    value : Printed or float or None
        The printed median (study time unit); None means "not reached".
    ci : (lower, upper), optional
    ci_level : float, default 0.95
    n_candidates, censoring
        Needed without a CI.
    t_max : float, optional
        Needed for "not reached": the last follow-up time, up to which the curve was seen.

    Notes
    -----
    With a CI: ``Normal(log m | log median(theta), SE)``, ``SE`` as for
    :class:`HazardRatioTerm`, ``log median = (log log 2 - log lam) / k``.
    Without a CI: the landmark statement "S(m) = 50%", an :class:`ApproxLandmark`.
    Not reached: the estimated curve never increases, so "not reached by ``t_max``" is the
    event ``S_hat(t_max) > 1/2``, whose probability is approximated with
    ``S_hat(t_max) ~ Normal(S, S (1 - S) / m)``, ``S = S(t_max; theta)`` and ``m`` the
    Greenwood effective size at the boundary plug-in ``S = 1/2``; mixed over candidate sizes.
    """

    def __init__(
        self,
        arm: str,
        value: Printed | float | None = None,
        ci: tuple | None = None,
        ci_level: float = 0.95,
        *,
        n_candidates: Sequence[int] = (),
        censoring: CensoringModel | None = None,
        t_max: float | None = None,
        name: str | None = None,
    ):
        self.arm, self.arms, self._inner = str(arm), (str(arm),), None
        self._set_name(name or f"median_{arm}")
        if value is not None and ci is not None:
            self.mode = "ci"
            se = _log_se(ci, ci_level, "median")
            self._data = {"log_median": np.array(math.log(_value(value))), "se": np.array(se)}
        elif censoring is None or not n_candidates:
            raise ValueError(
                "a median without a CI (or not reached) needs n_candidates and censoring"
            )
        elif value is not None:
            self.mode = "landmark"
            self._inner = ApproxLandmark(
                arm, [_value(value)], [Printed(50.0, 1)], n_candidates, censoring, name=self.name
            )
            self._data, self._static = self._inner.data(), self._inner.structure()
        elif t_max is None or not t_max > 0:
            raise ValueError(
                f"a median 'not reached' needs t_max > 0, the last follow-up time; got {t_max!r}. "
                "Take it from the paper's follow-up range"
            )
        else:
            self.mode, self.t_max = "not_reached", float(t_max)
            size = [effective_sizes(n, [self.t_max], [0.5], censoring)[0] for n in n_candidates]
            self._data = {"size": np.array(size), "log_weight": _log_weights(len(size))}
            self._static = (self.t_max,)
        self._static = (self.mode, *self._static)

    @classmethod
    def from_figure(cls, figure: MedianFigure, **kwargs: Any) -> MedianTerm:
        """Build from a study's :class:`~resurv.study.MedianFigure`."""
        return cls(figure.arm, figure.value, figure.ci, figure.ci_level, **kwargs)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """See the class Notes."""
        lam, k = params.lam[self.arm], params.k
        if self.mode == "ci":
            log_median = (math.log(math.log(2.0)) - pt.log(lam)) / k
            return _normal_logpdf(data["log_median"], log_median, data["se"])
        if self.mode == "landmark":
            return self._inner.log_likelihood(params, data, own)
        s = pt.exp(-lam * self.t_max**k)
        z = (s - 0.5) / pt.sqrt(s * (1 - s) / data["size"])
        return pt.logsumexp(_log_normal_cdf(z) + data["log_weight"])


# -- proportions, counts and rates -------------------------------------------------------------


def feasible_counts(
    printed: Printed, denominators: Sequence[int], rounding: str = "either"
) -> dict[int, tuple[int, ...]]:
    """Event counts ``a`` that print as ``printed`` percent of each candidate denominator ``m``.

    Decided exactly: ``a / m`` as a Fraction against the printing rule(s) of ``rounding``
    (see :mod:`resurv._printing`). An empty tuple rules the denominator out.

    Examples
    --------
    >>> feasible_counts(Printed(50.0, 1), [16, 19, 22, 28])
    {16: (8,), 19: (), 22: (11,), 28: (14,)}
    """
    rules = rules_for(rounding)

    def prints(a: int, m: int) -> bool:
        return any(prints_as(Fraction(a, m), printed, rule) for rule in rules)

    return {int(m): tuple(a for a in range(int(m) + 1) if prints(a, int(m))) for m in denominators}


def rule_of_three(n: int) -> float:
    """Approximate one-sided 95% upper bound ``3 / n`` for a proportion with 0 events in ``n``.

    References
    ----------
    Hanley JA, Lippman-Hand A. If nothing goes wrong, is everything all right? JAMA
    1983;249:1743-5.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1; received {n}")
    return 3.0 / n


def count_upper_bound(events: int, n: int, prior=(1.0, 1.0), prob: float = 0.95) -> float:
    """Posterior ``prob`` quantile of a proportion: ``Beta(a + events, b + n - events)``.

    With ``events = 0`` and the uniform prior it is ``1 - (1 - prob)**(1 / (n + 1))``, a little
    below the rule of three ``3 / n``.
    """
    if not 0 <= events <= n:
        raise ValueError(f"need 0 <= events <= n; received events={events}, n={n}")
    return float(stats.beta.ppf(prob, prior[0] + events, prior[1] + n - events))


class _CountMixture(_FigureTerm):
    """Rows ``(a, m)``: feasible event counts ``a`` of candidate denominators ``m``."""

    prefix = ""

    def __init__(self, name: str, counts: Mapping[int, Sequence[int]], prior, arm: str | None):
        self._set_name(name)
        self.arm, self.prior = arm, (float(prior[0]), float(prior[1]))
        self.parameter = f"{self.prefix}_{self.name}"
        self.own_parameters = (self.parameter,)
        if not counts:
            raise ValueError("counts must map at least one candidate denominator to its counts")
        rows = [(a, m) for m, feasible in counts.items() for a in feasible]
        if not rows:
            raise AuditError(
                f"{name}: no candidate denominator in {sorted(counts)} can produce the printed "
                "figure; check the denominators and the rounding convention"
            )
        self.counts = {int(m): tuple(int(a) for a in f) for m, f in counts.items()}
        self._a, self._m = (np.array(v, dtype=float) for v in zip(*rows, strict=True))
        self._log_weight = _log_weights(len(counts))[0]


class ProportionTerm(_CountMixture):
    """Binomial likelihood of a printed proportion, with its own probability ``p_{name}``.

    Parameters
    ----------
    name : str
        Names the term and its parameter ``p_{name} ~ Beta(*prior)``.
    counts : mapping
        ``denominator -> feasible event counts`` (see :func:`feasible_counts`).
    prior : (a, b), default (1, 1)

    Notes
    -----
    ``L(p) = (1/N) sum_m sum_{a in F(m)} Binomial(a | m, p)``: the probability that the
    figure prints, averaged over the ``N`` candidate denominators.
    """

    prefix = "p"

    def __init__(
        self, name: str, counts: Mapping[int, Sequence[int]], prior=(1.0, 1.0), *, arm=None
    ):
        super().__init__(name, counts, prior, arm)
        a, m = self._a, self._m
        const = special.gammaln(m + 1) - special.gammaln(a + 1) - special.gammaln(m - a + 1)
        self._data = {"events": a, "size": m, "const": const + self._log_weight}

    @classmethod
    def from_printed(
        cls, name, printed: Printed, denominators, rounding="either", prior=(1.0, 1.0), **kw
    ):
        """Build from a printed percent and candidate denominators."""
        return cls(name, feasible_counts(printed, denominators, rounding), prior, **kw)

    def _own_variables(self) -> dict[str, Any]:
        return {self.parameter: pm.Beta(self.parameter, alpha=self.prior[0], beta=self.prior[1])}

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Mixture of binomials over the feasible rows."""
        p, a, m = own[self.parameter], data["events"], data["size"]
        return pt.logsumexp(data["const"] + a * pt.log(p) + (m - a) * pt.log1p(-p))

    def posterior_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conjugate posterior: mixture weights and ``Beta(alpha, beta)`` parameters per row."""
        a0, b0 = self.prior
        alpha, beta = a0 + self._a, b0 + self._m - self._a
        log_w = self._data["const"] + special.betaln(alpha, beta) - special.betaln(a0, b0)
        return np.exp(log_w - special.logsumexp(log_w)), alpha, beta


class CountTerm(ProportionTerm):
    """A printed count of ``events`` among candidate denominators (e.g. 0 operative deaths).

    Set :func:`count_upper_bound` of the posterior beside :func:`rule_of_three`.
    """

    def __init__(
        self, name: str, events: int, denominators: Sequence[int], prior=(1.0, 1.0), *, arm=None
    ):
        counts = {int(m): (int(events),) if events <= m else () for m in denominators}
        super().__init__(name, counts, prior, arm=arm)


class RateTerm(_CountMixture):
    """Poisson likelihood of events per person-time, with its own rate ``rate_{name}``.

    Parameters
    ----------
    name : str
    counts : mapping
        ``patients -> feasible event counts`` (see :func:`feasible_counts`).
    mean_followup : float
        Assumed mean follow-up per patient (in the person-time unit, e.g. years): ``m``
        patients contribute ``m * mean_followup``. An assumption the report must state and
        vary in sensitivity analysis.
    prior : (alpha, beta), default (1, 1)
        ``rate_{name} ~ Gamma(alpha, beta)`` (``beta`` a rate), events per person-time unit.

    Notes
    -----
    ``L(rate) = (1/N) sum_m sum_{a in F(m)} Poisson(a | rate m F)``. The Gamma prior is
    conjugate: each row's posterior is ``Gamma(alpha + a, beta + m F)``
    (:meth:`posterior_components`). When each patient counts once (first recurrence), the
    Poisson form approximates a binomial with exposure-dependent probability.
    """

    prefix = "rate"

    def __init__(
        self,
        name,
        counts: Mapping[int, Sequence[int]],
        mean_followup: float,
        prior=(1.0, 1.0),
        *,
        arm=None,
    ):
        super().__init__(name, counts, prior, arm)
        if not mean_followup > 0:
            raise ValueError(
                f"mean_followup must be > 0 (person-time per patient); got {mean_followup!r}"
            )
        self.mean_followup = float(mean_followup)
        exposure = self._m * self.mean_followup
        const = self._a * np.log(exposure) - special.gammaln(self._a + 1) + self._log_weight
        self._data = {"events": self._a, "exposure": exposure, "const": const}

    def _own_variables(self) -> dict[str, Any]:
        return {self.parameter: pm.Gamma(self.parameter, alpha=self.prior[0], beta=self.prior[1])}

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Mixture of Poisson terms over the feasible rows."""
        rate = own[self.parameter]
        return pt.logsumexp(data["const"] + data["events"] * pt.log(rate) - rate * data["exposure"])

    def posterior_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conjugate posterior: mixture weights and ``Gamma(alpha, beta)`` parameters per row."""
        a0, b0 = self.prior
        alpha, beta = a0 + self._a, b0 + self._data["exposure"]
        log_w = self._data["const"] + special.gammaln(alpha) - alpha * np.log(beta)
        log_w += a0 * math.log(b0) - special.gammaln(a0)
        return np.exp(log_w - special.logsumexp(log_w)), alpha, beta


# -- choosing the landmark term ----------------------------------------------------------------


class LandmarkChoice(NamedTuple):
    """The term :func:`landmark_term` chose, its ``method`` (exact or approximate), and why."""

    term: ExactLandmark | ApproxLandmark
    method: str
    reason: str


#: most configurations for which ``landmark_term(form="auto")`` enumerates them (measured
#: by benchmarks/bench_loglik.py: at 52,880 configurations the enumeration form evaluates
#: 18 times faster than the forward pass; its arrays are data, so compiling does not grow)
ENUMERATION_LIMIT = 100_000


def landmark_term(
    arm: Arm | str,
    figures: Sequence[SurvivalFigure],
    n_candidates: Sequence[int] | None = None,
    censoring: CensoringModel | None = None,
    *,
    rounding: str = "either",
    form: str = "auto",
    max_states: int = _landmark_dp.DEFAULT_MAX_STATES,
    max_edges: int = _landmark_dp.DEFAULT_MAX_EDGES,
    max_configurations: int | None = None,
    grid_width: float | None = None,
    name: str | None = None,
) -> LandmarkChoice:
    """Return the likelihood term of one arm's landmark figures: exact when it can be.

    The exact term is used when the estimator is known and the pruned graph of every
    candidate size is built within ``max_states`` and ``max_edges`` (and, if given, holds at
    most ``max_configurations`` configurations); otherwise the approximate term, with the
    reason. ``rounding`` applies to figures that do not set their own; ``n_candidates``
    defaults to ``arm.n``.

    ``form="auto"`` takes the enumeration form (one matrix product and a log-sum-exp over
    the configurations) when there are at most :data:`ENUMERATION_LIMIT` configurations,
    and the forward pass over the graph otherwise. Both give the same value (tested); the
    enumeration form has far fewer operations, so its model compiles about twice as fast.
    """
    arm_id = arm.id if isinstance(arm, Arm) else str(arm)
    if n_candidates is None and isinstance(arm, Arm):
        n_candidates = arm.n
    n_candidates = tuple(n_candidates or ())
    if not figures or not n_candidates or censoring is None:
        raise ValueError("landmark_term needs the arm's figures, its candidate sizes and censoring")
    figures = sorted(figures, key=lambda f: f.time)
    bad = [f.id for f in figures if f.arm != arm_id]
    if bad:
        raise ValueError(f"figures {bad} belong to another arm than {arm_id!r}")
    estimators, widths = {f.estimator for f in figures}, {f.interval_width for f in figures}
    times, printed = [f.time for f in figures], [f.percent for f in figures]

    def approximate(reason: str) -> LandmarkChoice:
        term = ApproxLandmark(arm_id, times, printed, n_candidates, censoring, name=name)
        return LandmarkChoice(term, "approximate", reason)

    if len(estimators) > 1 or len(widths) > 1:
        return approximate(
            f"the figures mix estimators {sorted(estimators)} or widths {sorted(widths)}"
        )
    estimator = estimators.pop()
    if estimator == "unknown":
        return approximate("the estimator is unknown (actuarial or Kaplan-Meier)")
    checkpoints = [(f.time, f.percent, f.rounding or rounding) for f in figures]
    graphs, width = [], widths.pop()
    for n in n_candidates:
        g = _landmark_dp.build_landmark_graph(
            n, checkpoints, estimator=estimator, width=width, grid_width=grid_width,
            max_states=max_states, max_edges=max_edges,
        )  # fmt: skip
        if g.truncated:
            return approximate(f"the exact feasible set of n = {n} is too large: {g.summary}")
        graphs.append(g)
    total = sum(g.n_configurations() for g in graphs)
    if total == 0:
        shown = ", ".join(f"{p}% at {t:g}" for p, t in zip(printed, times, strict=True))
        raise AuditError(
            f"no {estimator} estimate of arm {arm_id!r} with n in {list(n_candidates)} prints "
            f"{shown}; the audit explains why: check the estimator, the rounding and the arm sizes"
        )
    if max_configurations is not None and total > max_configurations:
        return approximate(
            f"{total:,} feasible configurations exceed max_configurations={max_configurations:,}"
        )
    if form == "auto":
        form = "enumeration" if total <= ENUMERATION_LIMIT else "forward"
    term = ExactLandmark(arm_id, graphs, censoring, form=form, name=name)
    edges = sum(g.n_edges for g in graphs)
    return LandmarkChoice(
        term,
        "exact",
        f"{estimator}: {total:,} feasible configurations, {edges:,} graph edges ({form} form)",
    )
