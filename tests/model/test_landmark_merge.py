"""The merged forward form of the exact landmark likelihood against independent computations.

References: the number of paths of the unmerged graph (its own dynamic programme and the
audit's brute force elsewhere), a sum of label weights over the unmerged graph's paths written
in NumPy, the log-space forward pass, and the enumeration form (a log-sum-exp over the listed
configurations), which must agree to 1e-8 in log density.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from resurv.audit.landmark_dp import build_landmark_graph
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_kernel import (
    ExactLandmarkOp,
    cell_log_probabilities,
    enumeration_kernel,
    forward_kernel,
    forward_log_likelihood,
)
from resurv.model.landmark_merge import merge_equivalent_states
from resurv.model.landmark_scaled import scaled_forward_log_likelihood
from resurv.model.landmark_terms import ExactLandmark
from resurv.study.schema import Printed

FLAGSHIP = CensoringModel(1981, 1998, 1999)
SMALL = CensoringModel(1990, 1992, 1992.5)
POINTS = [(0.02, 1.0), (0.2, 0.4), (0.005, 2.5), (1.0, 1.0), (0.08, 1.6), (3.0, 0.7)]

CASES = [  # sizes, checkpoints, estimator, censoring
    ((19,), [(4, Printed(92.6, 1), "either")], "actuarial", FLAGSHIP),
    ((3, 6, 9), [(4, Printed(18.5, 1), "either")], "actuarial", FLAGSHIP),
    ((16,), [(2, Printed(62.5, 1), "round")], "actuarial", SMALL),
    ((12,), [(1, Printed(80.0, 1), "truncate"), (2, Printed(60.0, 1), "either")], "actuarial",
     SMALL),
    ((6,), [(1, Printed(83, 0), "either"), (2, Printed(67, 0), "either")], "kaplan-meier",
     FLAGSHIP),
    ((8, 9), [(2, Printed(50.0, 1), "round")], "kaplan-meier", SMALL),
]  # fmt: skip


def _graphs(sizes, checkpoints, estimator):
    return [build_landmark_graph(n, checkpoints, estimator=estimator) for n in sizes]


def _unmerged_weight(g, edge_log_weight, final_log_weight):
    """log of the sum over the graph's paths of the product of label weights (NumPy)."""
    alpha = np.zeros(1)
    for j, e in enumerate(g.edges):
        nxt = np.full(len(g.layers[j + 1]), -np.inf)
        w = alpha[e.src] + edge_log_weight(j, e.deaths, e.censored)
        np.logaddexp.at(nxt, e.dst, w)
        alpha = nxt
    return special.logsumexp(alpha + final_log_weight(g.layers[-1].at_risk))


def _merged_weight(m, edge_log_weight, final_log_weight):
    alpha = m.root
    for j, (src, dst, d, c) in enumerate(m.edges):
        nxt = np.full(m.n_states[j + 1], -np.inf)
        np.logaddexp.at(nxt, dst, alpha[src] + edge_log_weight(j, d, c))
        alpha = nxt
    return special.logsumexp(alpha + final_log_weight(m.final_at_risk))


def _merge(g):
    edges = [(e.src, e.dst, e.deaths, e.censored) for e in g.edges]
    return merge_equivalent_states(np.zeros(1), edges, g.layers[-1].at_risk)


@pytest.mark.parametrize(("sizes", "checkpoints", "estimator", "cm"), CASES)
def test_merging_keeps_every_path_and_its_weight(sizes, checkpoints, estimator, cm):
    """Counts (every weight 1) and arbitrary label weights are the same after merging."""
    rng = np.random.default_rng(3)
    for g in _graphs(sizes, checkpoints, estimator):
        if not g.n_configurations():
            continue
        m = _merge(g)
        assert sum(m.n_states) <= g.n_states
        count = _merged_weight(m, lambda j, d, c: np.zeros(len(d)), lambda r: np.zeros(len(r)))
        assert np.exp(count) == pytest.approx(g.n_configurations(), rel=1e-12)
        table = rng.normal(size=(len(g.edges), g.n + 1, g.n + 1))
        final = rng.normal(size=g.n + 1)

        def edge(j, d, c, table=table):
            return table[j, d, c]

        def fin(r, final=final):
            return final[r]

        assert _merged_weight(m, edge, fin) == pytest.approx(
            _unmerged_weight(g, edge, fin), rel=1e-12, abs=1e-12
        )


def test_merging_shrinks_a_graph_whose_states_share_futures():
    """After the last checkpoint the product no longer matters: final states merge by r.

    20 patients printing 50.0% at 4 years: 1,148 final states hold only 11 distinct at-risk
    counts, and states before them that lead to the same merged states merge in turn.
    """
    g = build_landmark_graph(20, [(4, Printed(50.0, 1), "either")])
    m = _merge(g)
    assert m.n_states[-1] == len(set(g.layers[-1].at_risk.tolist())) < len(g.layers[-1])
    assert all(a <= len(b) for a, b in zip(m.n_states, g.layers, strict=True))
    assert sum(len(e[0]) for e in m.edges) < g.n_edges


def _arrays(term, lam, k):
    data = term.data()
    op = ExactLandmarkOp(term.form)
    return [np.asarray(lam), np.asarray(k), *(np.asarray(data[key]) for key in op.data_keys)]


@pytest.mark.parametrize(("sizes", "checkpoints", "estimator", "cm"), CASES)
def test_merged_forward_form_equals_the_enumeration_form(sizes, checkpoints, estimator, cm):
    """Log density and gradient of the merged forward pass vs the log-sum-exp, to 1e-8."""
    graphs = _graphs(sizes, checkpoints, estimator)
    forward = ExactLandmark("a", graphs, cm, form="forward")
    enum = ExactLandmark("a", graphs, cm, form="enumeration")
    for lam, k in POINTS:
        f = [float(v) for v in forward_kernel(*_arrays(forward, lam, k))]
        e = [float(v) for v in enumeration_kernel(*_arrays(enum, lam, k))]
        assert f[0] == pytest.approx(e[0], abs=1e-8)
        np.testing.assert_allclose(f[1:], e[1:], rtol=1e-7, atol=1e-8)


def _forward_inputs(term, lam, k):
    arrays = _arrays(term, lam, k)
    log_p, _, _ = cell_log_probabilities(lam, k, *[a for a in arrays[2:14]])
    return log_p, arrays[14:]


@pytest.mark.parametrize(("sizes", "checkpoints", "estimator", "cm"), CASES)
def test_scaled_pass_equals_the_log_space_pass(sizes, checkpoints, estimator, cm):
    term = ExactLandmark("a", _graphs(sizes, checkpoints, estimator), cm, form="forward")
    for lam, k in POINTS:
        log_p, rest = _forward_inputs(term, lam, k)
        ok, value, grad = scaled_forward_log_likelihood(log_p, *rest)
        ref_value, ref_grad = forward_log_likelihood(log_p, *rest)
        assert ok
        assert value == pytest.approx(ref_value, rel=1e-12, abs=1e-10)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)


def test_scaled_pass_says_when_a_layer_underflows():
    """Log probabilities of -1e4 per death: the linear pass gives up, the kernel falls back."""
    term = ExactLandmark("a", _graphs((16,), [(2, Printed(62.5, 1), "round")], "actuarial"),
                         SMALL, form="forward")  # fmt: skip
    log_p, rest = _forward_inputs(term, 0.2, 1.0)
    extreme = log_p.copy()
    extreme[0:-1:2] = -1e4  # every death costs e^-10000
    ok, _, _ = scaled_forward_log_likelihood(extreme, *rest)
    ref_value, _ = forward_log_likelihood(extreme, *rest)
    assert not ok
    assert np.isfinite(ref_value)
