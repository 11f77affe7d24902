"""The compiled exact-landmark kernel against independent computations.

References: the NumPy cell probabilities of ``CellQuadrature`` (and ``scipy.integrate.quad``),
a log-sum-exp over the configurations written with ``scipy.special.logsumexp``, central
finite differences for the gradient, and the same Op evaluated by PyTensor's Python backend
and by its Numba backend (what the sampler runs).
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, special

from resurv.audit.landmark_dp import build_landmark_graph
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_kernel import (
    ExactLandmarkOp,
    cell_log_probabilities,
    enumeration_kernel,
    forward_kernel,
    quadrature_data,
)
from resurv.model.landmark_terms import ExactLandmark
from resurv.model.likelihood import QUICK_MODE, compile_loglik_batch
from resurv.model.terms import ArmParams
from resurv.study.schema import Printed

FLAGSHIP = CensoringModel(1981, 1998, 1999)
SMALL = CensoringModel(1990, 1992, 1992.5)
POINTS = [(0.02, 1.0), (0.2, 0.4), (0.005, 2.5), (1.0, 1.0), (0.08, 1.6)]


def _quadrature(cm, cuts):
    q = quadrature_data(cm.cells(cuts))
    return [q[k] for k in ExactLandmarkOp("forward").data_keys[:12]]


@pytest.mark.parametrize(("lam", "k"), POINTS)
def test_cell_probabilities_match_numpy_and_quad(lam, k):
    cuts = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    log_p, _, _ = cell_log_probabilities(lam, k, *_quadrature(FLAGSHIP, cuts))
    p_death, p_cens, p_alive = FLAGSHIP.cells(cuts).probabilities(lam, k)
    cells = FLAGSHIP.cells(cuts)
    numpy_p = np.concatenate([np.column_stack([p_death, p_cens]).ravel(), [p_alive]])
    possible = np.concatenate(
        [np.column_stack([cells.death_possible, cells.censoring_possible]).ravel(), [True]]
    )
    assert not possible.all()  # the flagship has no censoring in the first year
    np.testing.assert_allclose(np.exp(log_p[possible]), numpy_p[possible], rtol=1e-12)
    np.testing.assert_array_equal(log_p[~possible], 0.0)  # log 1: impossible cells drop out

    def surv(t):
        return np.exp(-lam * t**k)

    for j, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        pts = [p for p in FLAGSHIP.breakpoints if a < p < b] or None
        dens = lambda t: lam * k * t ** (k - 1) * surv(t) * FLAGSHIP.survival(t)  # noqa: E731
        death = integrate.quad(dens, a, b, points=pts, epsabs=1e-14)[0]
        cens = integrate.quad(lambda t: FLAGSHIP.density(t) * surv(t), a, b, points=pts)[0]
        for i, exact in ((2 * j, death), (2 * j + 1, cens)):
            if possible[i]:
                assert np.exp(log_p[i]) == pytest.approx(exact, rel=1e-7, abs=1e-13)
            else:
                assert exact == pytest.approx(0.0, abs=1e-13)


@pytest.mark.parametrize(("lam", "k"), POINTS)
def test_cell_gradients_equal_finite_differences(lam, k):
    q = _quadrature(FLAGSHIP, np.arange(5.0))
    _, d_lam, d_k = cell_log_probabilities(lam, k, *q)
    h = 1e-6
    up, down = (
        cell_log_probabilities(lam * (1 + h), k, *q)[0],
        cell_log_probabilities(lam * (1 - h), k, *q)[0],
    )
    np.testing.assert_allclose(d_lam, (up - down) / (2 * h * lam), rtol=1e-5, atol=1e-6)
    up, down = cell_log_probabilities(lam, k + h, *q)[0], cell_log_probabilities(lam, k - h, *q)[0]
    np.testing.assert_allclose(d_k, (up - down) / (2 * h), rtol=1e-5, atol=1e-6)


def _term(form, n=12, printed=None, cm=SMALL, time=2.0):
    printed = Printed(66.7, 1) if printed is None else printed
    graph = build_landmark_graph(n, [(time, printed, "either")])
    return ExactLandmark("a", [graph], cm, form=form)


def _kernel(term, lam, k):
    data = term.data()
    op = ExactLandmarkOp(term.form)
    arrays = [np.asarray(lam), np.asarray(k), *(np.asarray(data[key]) for key in op.data_keys)]
    fn = enumeration_kernel if term.form == "enumeration" else forward_kernel
    return [float(v) for v in fn(*arrays)]


@pytest.mark.parametrize(("lam", "k"), POINTS)
def test_enumeration_kernel_is_a_logsumexp_over_configurations(lam, k):
    term = _term("enumeration")
    data = term.data()
    log_p, _, _ = cell_log_probabilities(lam, k, *_quadrature(SMALL, term.cells.cuts))
    reference = special.logsumexp(data["counts"] @ log_p + data["const"])
    assert _kernel(term, lam, k)[0] == pytest.approx(reference, rel=1e-13, abs=1e-12)


@pytest.mark.parametrize(("lam", "k"), POINTS)
def test_forward_and_enumeration_kernels_agree_with_their_gradients(lam, k):
    forward, enum = _term("forward", n=14), _term("enumeration", n=14)
    f, e = _kernel(forward, lam, k), _kernel(enum, lam, k)
    np.testing.assert_allclose(f, e, rtol=1e-9, atol=1e-9)
    h = 1e-6
    fd_lam = (_kernel(forward, lam * (1 + h), k)[0] - _kernel(forward, lam * (1 - h), k)[0]) / (
        2 * h * lam
    )
    fd_k = (_kernel(forward, lam, k + h)[0] - _kernel(forward, lam, k - h)[0]) / (2 * h)
    assert f[1] == pytest.approx(fd_lam, rel=1e-5, abs=1e-6)
    assert f[2] == pytest.approx(fd_k, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("form", ["forward", "enumeration"])
def test_python_and_numba_backends_agree_and_gradient_flows(form):
    term = _term(form, n=19, printed=Printed(92.6, 1), cm=FLAGSHIP, time=4.0)
    lam, k = pt.dscalar("lam"), pt.dscalar("k")
    data = {key: pt.constant(v) for key, v in term.data().items()}
    ll = term.log_likelihood(ArmParams(("a",), {"a": lam}, k), data)
    outputs = [ll, *pytensor.grad(ll, [lam, k])]
    py = pytensor.function([lam, k], outputs, mode=QUICK_MODE)
    nb = pytensor.function([lam, k], outputs, mode="NUMBA")
    for lam_v, k_v in POINTS:
        a, b = py(lam_v, k_v), nb(lam_v, k_v)
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)
        assert a[1] == pytest.approx(_kernel(term, lam_v, k_v)[1], rel=1e-13)


def test_batched_evaluation_equals_the_scalar_one():
    term = _term("forward", n=19, printed=Printed(92.6, 1), cm=FLAGSHIP, time=4.0)
    lam = np.array([0.01, 0.02, 0.05])
    k = np.array([0.8, 1.0, 1.4])
    batch = compile_loglik_batch(term)(lam, k)
    expected = [_kernel(term, a, b)[0] for a, b in zip(lam, k, strict=True)]
    np.testing.assert_allclose(batch, expected, rtol=1e-13)


def test_second_derivatives_are_refused():
    term = _term("forward")
    lam, k = pt.dscalar("lam"), pt.dscalar("k")
    data = {key: pt.constant(v) for key, v in term.data().items()}
    op = ExactLandmarkOp("forward")
    _, d_lam, _ = op(lam, k, *(data[key] for key in op.data_keys))
    with pytest.raises(NotImplementedError, match="first derivatives"):
        pytensor.grad(d_lam, lam)


def test_every_close_shares_one_structure():
    """The censoring model is data: terms under different closes have one structure."""
    graph = build_landmark_graph(19, [(4.0, Printed(92.6, 1), "either")])
    terms = [
        ExactLandmark("a", [graph], CensoringModel(1981, 1998, close), form="enumeration")
        for close in (1998.5, 1999.0, 2000.0)
    ]
    assert len({t.structure() for t in terms}) == 1
    values = {_kernel(t, 0.02, 1.0)[0] for t in terms}
    assert len(values) == 3  # and the data differ
