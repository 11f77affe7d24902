"""Likelihood terms built from the figures a paper prints (DESIGN.md section 4).

Landmark survival enters exactly (:class:`ExactLandmark`, a forward algorithm over the
pruned graph of interval counts that print the figure, :mod:`resurv.audit.landmark_dp`) or
approximately (:class:`ApproxLandmark`, binomials with effective sample sizes);
:func:`landmark_term` picks one and says why. Hazard ratios and medians with a confidence
interval enter as normal terms on the log scale; proportions, counts and rates as binomial or
Poisson mixtures over candidate denominators. Every term is a :class:`resurv.model.terms.Term`,
differentiable in ``(lam, k)`` of ``S(t) = exp(-lam t**k)`` and added to a model as a
``pm.Potential`` named ``term.name``; :func:`compile_loglik` evaluates one outside a model.

The terms are defined in :mod:`resurv.model.landmark_terms` (landmark survival),
:mod:`resurv.model.hr_median_terms` (hazard ratios and medians) and :mod:`resurv.model.count_terms`
(proportions, counts and rates), on the shared base of :mod:`resurv.model.figure_term`, and are
importable from here; this module compiles them and chooses the landmark term.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode

from resurv.audit import landmark_dp as _landmark_dp
from resurv.errors import AuditError
from resurv.model.censoring import CensoringModel, effective_sizes
from resurv.model.count_terms import (
    CountTerm,
    ProportionTerm,
    RateTerm,
    count_upper_bound,
    feasible_counts,
    rule_of_three,
)
from resurv.model.hr_median_terms import HazardRatioTerm, MedianTerm
from resurv.model.hr_median_terms import _log_normal_cdf as _log_normal_cdf
from resurv.model.landmark_terms import ApproxLandmark, ExactLandmark
from resurv.model.terms import ArmParams, Term
from resurv.study.schema import Arm, SurvivalFigure

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


def compile_loglik(term: Term, *, mode: Any = None) -> Callable[..., float]:
    """Compile ``term`` into ``f(lam=..., k=1.0, **own) -> float``.

    ``lam`` is a float (one arm) or a mapping ``arm -> float``; ``own`` gives the term's own
    parameters (e.g. ``p_recurrence=0.4``). The data enter as inputs, so terms of one
    :meth:`~resurv.model.terms.Term.structure` share one compiled function (kept in this process).
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


# -- choosing the landmark term ----------------------------------------------------------------


class LandmarkChoice(NamedTuple):
    """The term :func:`landmark_term` chose, its ``method`` (exact or approximate), and why."""

    term: ExactLandmark | ApproxLandmark
    method: str
    reason: str


#: most configurations for which ``landmark_term(form="auto")`` enumerates them (measured
#: by benchmarks/bench_loglik.py: at 52,880 configurations the enumeration form evaluates
#: twice as fast as the forward pass; its arrays are data, so compiling does not grow)
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
