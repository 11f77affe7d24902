"""The exact landmark likelihood and its gradient as compiled kernels: one PyTensor Op.

:class:`ExactLandmarkOp` computes ``log L(lam, k)`` of :class:`~resurv.model.landmark_terms.
ExactLandmark` and its two partial derivatives in one pass, from arrays only: the cell
quadrature of the censoring model (:class:`~resurv.model.censoring.CellQuadrature`) and either
the configuration matrix (enumeration form) or the padded layer matrices of the pruned graphs
(forward form). Nothing of the feasible set or of the censoring model is a constant of the
graph, so one compiled model serves every arm size, feasible set, number of cells and study
close, and its compile time is that of a few small kernels.

The kernels are Numba functions cached on disk (``cache=True``): PyTensor's Numba backend
calls them (the Op registers its own Numba implementation), and its Python backend calls the
same functions from :meth:`ExactLandmarkOp.perform`. They follow the formulas of
:class:`~resurv.model.censoring.CellQuadrature` (cell probabilities, differences of ``S``
as ``S(c) * -expm1(lam (c**k - b**k))``) and of
:func:`~resurv.model.landmark_terms.ExactLandmark` (log-sum-exp over configurations; forward
pass over the layers in scaled linear space, :mod:`resurv.model.landmark_scaled`, or, should a
layer underflow there, in log space with the largest edge term of a layer as shift, floored at
``1e-300``);
the gradient is the exact reverse pass of the same computation. The tests check both against
the NumPy cell probabilities, brute-force enumeration and finite differences.
"""

from __future__ import annotations

import numba
import numpy as np
import pytensor.tensor as pt
from pytensor.gradient import DisconnectedType
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from resurv.model.landmark_scaled import scaled_forward_log_likelihood

__all__ = ["QUADRATURE_KEYS", "ExactLandmarkOp", "cell_log_probabilities", "quadrature_data"]

_TINY = 1e-300
_FLOOR = -1e300
_LAM_MAX = 1e300

#: the arrays of a cell quadrature, in the Op's input order
QUADRATURE_KEYS = (
    "node_t",
    "node_right",
    "node_weight",
    "node_cell",
    "piece_a",
    "piece_b",
    "piece_weight",
    "piece_cell",
    "death_possible",
    "censoring_possible",
    "alive_weight",
    "horizon",
)
_FORM_KEYS = {
    "enumeration": ("counts", "const"),
    "forward": ("root", "src", "dst", "deaths", "censored", "const", "final_at_risk",
                "final_const"),
}  # fmt: skip


def quadrature_data(cells) -> dict[str, np.ndarray]:
    """The arrays of a :class:`~resurv.model.censoring.CellQuadrature` the kernels read."""
    return {
        "node_t": np.asarray(cells.node_t, dtype=float),
        "node_right": np.asarray(cells.node_right, dtype=float),
        "node_weight": np.asarray(cells.node_weight, dtype=float),
        "node_cell": np.argmax(cells.node_cell, axis=0).astype(np.int64),
        "piece_a": np.asarray(cells.piece_a, dtype=float),
        "piece_b": np.asarray(cells.piece_b, dtype=float),
        "piece_weight": np.asarray(cells.piece_weight, dtype=float),
        "piece_cell": np.argmax(cells.piece_cell, axis=0).astype(np.int64),
        "death_possible": np.asarray(cells.death_possible, dtype=float),
        "censoring_possible": np.asarray(cells.censoring_possible, dtype=float),
        "alive_weight": np.asarray(float(cells.alive_weight)),
        "horizon": np.asarray(float(cells.horizon)),
    }


# -- kernels -------------------------------------------------------------------------------


@numba.njit(cache=True)
def _power(t, k):
    """``t**k`` and its derivative in ``k``; both 0 at ``t = 0``."""
    if t > 0.0:
        v = t**k
        return v, v * np.log(t)
    return 0.0, 0.0


@numba.njit(cache=True)
def _log_cell(p, dp_lam, dp_k, impossible):
    """``log(max(p, tiny) + impossible)`` and its two derivatives."""
    value = max(p, _TINY) + impossible
    if p > _TINY:
        return np.log(value), dp_lam / value, dp_k / value
    return np.log(value), 0.0, 0.0


@numba.njit(cache=True)
def cell_log_probabilities(
    lam, k, node_t, node_right, node_weight, node_cell, piece_a, piece_b, piece_weight,
    piece_cell, death_possible, censoring_possible, alive_weight, horizon,
):  # fmt: skip
    """``(log p, d log p / d lam, d log p / d k)`` of the ``2K + 1`` cells.

    Death and censored cells are interleaved (``d_0, c_0, d_1, c_1, ..., alive``), floored at
    ``1e-300``; impossible cells give ``log 1 = 0``.
    """
    n_cells = death_possible.size
    dlam_eff = 1.0
    if lam > _LAM_MAX:
        lam, dlam_eff = _LAM_MAX, 0.0
    pd = np.zeros(n_cells)
    pd_l = np.zeros(n_cells)
    pd_k = np.zeros(n_cells)
    pc = np.zeros(n_cells)
    pc_l = np.zeros(n_cells)
    pc_k = np.zeros(n_cells)
    for i in range(node_t.size):
        tn, tn_k = _power(node_t[i], k)
        tr, tr_k = _power(node_right[i], k)
        s = np.exp(-lam * tn)
        sb = np.exp(-lam * tr)
        ds = s * -np.expm1(lam * (tn - tr))
        c, w = node_cell[i], node_weight[i]
        pc[c] += w * s
        pc_l[c] -= w * tn * s
        pc_k[c] -= w * lam * tn_k * s
        pd[c] -= w * ds
        pd_l[c] -= w * (tr * sb - tn * s)
        pd_k[c] -= w * lam * (tr_k * sb - tn_k * s)
    for i in range(piece_a.size):
        ta, ta_k = _power(piece_a[i], k)
        tb, tb_k = _power(piece_b[i], k)
        sa = np.exp(-lam * ta)
        sb = np.exp(-lam * tb)
        ds = sa * -np.expm1(lam * (ta - tb))
        c, w = piece_cell[i], piece_weight[i]
        pd[c] += w * ds
        pd_l[c] += w * (tb * sb - ta * sa)
        pd_k[c] += w * lam * (tb_k * sb - ta_k * sa)
    th, th_k = _power(horizon, k)
    pa = np.exp(-lam * th) * alive_weight
    out = np.empty(2 * n_cells + 1)
    out_l = np.empty(2 * n_cells + 1)
    out_k = np.empty(2 * n_cells + 1)
    for c in range(n_cells):
        v, gl, gk = _log_cell(pd[c], pd_l[c], pd_k[c], 1.0 - death_possible[c])
        out[2 * c], out_l[2 * c], out_k[2 * c] = v, gl * dlam_eff, gk
        v, gl, gk = _log_cell(pc[c], pc_l[c], pc_k[c], 1.0 - censoring_possible[c])
        out[2 * c + 1], out_l[2 * c + 1], out_k[2 * c + 1] = v, gl * dlam_eff, gk
    impossible = 1.0 if alive_weight == 0.0 else 0.0
    v, gl, gk = _log_cell(pa, -th * pa, -lam * th_k * pa, impossible)
    out[2 * n_cells], out_l[2 * n_cells], out_k[2 * n_cells] = v, gl * dlam_eff, gk
    return out, out_l, out_k


@numba.njit(cache=True)
def enumeration_log_likelihood(log_p, counts, const):
    """``logsumexp(counts @ log_p + const)`` and its gradient in ``log_p``."""
    m, j = counts.shape
    v = np.empty(m)
    top = -np.inf
    for i in range(m):
        acc = const[i]
        for c in range(j):
            if counts[i, c] != 0.0:
                acc += counts[i, c] * log_p[c]
        v[i] = acc
        top = max(top, acc)
    grad = np.zeros(j)
    if not np.isfinite(top):
        return top, grad
    total = 0.0
    for i in range(m):
        v[i] = np.exp(v[i] - top)
        total += v[i]
    for i in range(m):
        w = v[i] / total
        for c in range(j):
            grad[c] += w * counts[i, c]
    return top + np.log(total), grad


@numba.njit(cache=True)
def forward_log_likelihood(
    log_p, root, src, dst, deaths, censored, const, final_at_risk, final_const
):
    """Forward pass over the layers and its reverse pass: ``log L`` and ``d log L / d log_p``."""
    n_layers, width = src.shape
    n_states = root.size
    alpha = np.empty((n_layers + 1, n_states))
    alpha[0] = root
    shift = np.empty(n_layers)
    totals = np.zeros((n_layers, n_states))
    for j in range(n_layers):
        ld, lc = log_p[2 * j], log_p[2 * j + 1]
        m = _FLOOR
        for e in range(width):
            w = alpha[j, src[j, e]] + const[j, e] + deaths[j, e] * ld + censored[j, e] * lc
            m = max(m, w)
        for e in range(width):
            w = alpha[j, src[j, e]] + const[j, e] + deaths[j, e] * ld + censored[j, e] * lc
            totals[j, dst[j, e]] += np.exp(w - m)
        for s in range(n_states):
            alpha[j + 1, s] = np.log(max(totals[j, s], _TINY)) + m
        shift[j] = m
    la = log_p[2 * n_layers]
    f = alpha[n_layers] + final_at_risk * la + final_const
    top = np.max(f)
    grad = np.zeros(log_p.size)
    if not np.isfinite(top):
        return top, grad
    weights = np.exp(f - top)
    total = np.sum(weights)
    value = top + np.log(total)
    g = weights / total
    grad[2 * n_layers] = np.sum(g * final_at_risk)
    for j in range(n_layers - 1, -1, -1):
        ld, lc = log_p[2 * j], log_p[2 * j + 1]
        previous = np.zeros(n_states)
        for e in range(width):
            s = dst[j, e]
            if g[s] == 0.0 or totals[j, s] <= _TINY:
                continue
            w = alpha[j, src[j, e]] + const[j, e] + deaths[j, e] * ld + censored[j, e] * lc
            ge = g[s] * np.exp(w - shift[j]) / totals[j, s]
            previous[src[j, e]] += ge
            grad[2 * j] += ge * deaths[j, e]
            grad[2 * j + 1] += ge * censored[j, e]
        g = previous
    return value, grad


@numba.njit(cache=True)
def _chain(value, grad, log_p_l, log_p_k):
    return (
        np.asarray(value),
        np.asarray(np.sum(grad * log_p_l)),
        np.asarray(np.sum(grad * log_p_k)),
    )


@numba.njit(cache=True)
def enumeration_kernel(
    lam, k, node_t, node_right, node_weight, node_cell, piece_a, piece_b, piece_weight,
    piece_cell, death_possible, censoring_possible, alive_weight, horizon, counts, const,
):  # fmt: skip
    """``(log L, d/d lam, d/d k)`` of the enumeration form, as 0-d arrays."""
    log_p, log_p_l, log_p_k = cell_log_probabilities(
        lam[()], k[()], node_t, node_right, node_weight, node_cell, piece_a, piece_b,
        piece_weight, piece_cell, death_possible, censoring_possible, alive_weight[()],
        horizon[()],
    )  # fmt: skip
    value, grad = enumeration_log_likelihood(log_p, counts, const)
    return _chain(value, grad, log_p_l, log_p_k)


@numba.njit(cache=True)
def forward_kernel(
    lam, k, node_t, node_right, node_weight, node_cell, piece_a, piece_b, piece_weight,
    piece_cell, death_possible, censoring_possible, alive_weight, horizon, root, src, dst,
    deaths, censored, const, final_at_risk, final_const,
):  # fmt: skip
    """``(log L, d/d lam, d/d k)`` of the forward form, as 0-d arrays."""
    log_p, log_p_l, log_p_k = cell_log_probabilities(
        lam[()], k[()], node_t, node_right, node_weight, node_cell, piece_a, piece_b,
        piece_weight, piece_cell, death_possible, censoring_possible, alive_weight[()],
        horizon[()],
    )  # fmt: skip
    ok, value, grad = scaled_forward_log_likelihood(
        log_p, root, src, dst, deaths, censored, const, final_at_risk, final_const
    )
    if not ok:  # a layer underflowed in linear space: the log-space pass
        value, grad = forward_log_likelihood(
            log_p, root, src, dst, deaths, censored, const, final_at_risk, final_const
        )
    return _chain(value, grad, log_p_l, log_p_k)


_KERNELS = {"enumeration": enumeration_kernel, "forward": forward_kernel}
_INT_KEYS = frozenset({"node_cell", "piece_cell", "src", "dst"})
_NDIM = {
    "enumeration": {"alive_weight": 0, "horizon": 0, "counts": 2},
    "forward": {"alive_weight": 0, "horizon": 0, "src": 2, "dst": 2, "deaths": 2, "censored": 2,
                "const": 2},
}  # fmt: skip


# -- the Op --------------------------------------------------------------------------------


class ExactLandmarkOp(Op):
    """``(log L, d log L / d lam, d log L / d k)`` of an exact landmark figure.

    Inputs: ``lam``, ``k`` (scalars), the arrays of :data:`QUADRATURE_KEYS`, then the arrays of
    the form (``counts, const`` for ``"enumeration"``; ``root, src, dst, deaths, censored,
    const, final_at_risk, final_const`` for ``"forward"``). Only the first output has a
    gradient (first derivatives are what NUTS needs); the data have none.
    """

    __props__ = ("form",)

    def __init__(self, form: str):
        if form not in _KERNELS:
            raise ValueError(f"form must be one of {sorted(_KERNELS)}; received {form!r}")
        self.form = form

    @property
    def data_keys(self) -> tuple[str, ...]:
        """Names of the data inputs, in order."""
        return QUADRATURE_KEYS + _FORM_KEYS[self.form]

    @property
    def gufunc_signature(self) -> str:
        """Core signature: scalars ``lam, k``, the data with their dimensions.

        With it ``vectorize_graph`` batches the Op over parameter draws (as ``Blockwise``).
        """
        cores = ["()", "()"]
        for i, key in enumerate(self.data_keys):
            nd = _NDIM[self.form].get(key, 1)
            cores.append("(" + ",".join(f"d{i}_{j}" for j in range(nd)) + ")")
        return ",".join(cores) + "->(),(),()"

    def make_node(self, lam, k, *data):
        """Apply the Op to ``lam``, ``k`` and the data arrays (cast to float64 or int64)."""
        keys = self.data_keys
        if len(data) != len(keys):
            raise TypeError(f"{type(self).__name__} takes lam, k and {keys}; got {len(data)}")
        inputs = [pt.as_tensor_variable(lam), pt.as_tensor_variable(k)]
        inputs = [x if x.dtype == "float64" else pt.cast(x, "float64") for x in inputs]
        for key, value in zip(keys, data, strict=True):
            value = pt.as_tensor_variable(value)
            dtype = "int64" if key in _INT_KEYS else "float64"
            inputs.append(value if value.dtype == dtype else pt.cast(value, dtype))
            ndim = _NDIM[self.form].get(key, 1)
            if value.ndim != ndim:
                raise TypeError(f"{key} must have {ndim} dimension(s); got {value.ndim}")
        if inputs[0].ndim or inputs[1].ndim:
            raise TypeError("lam and k must be scalars")
        return Apply(self, inputs, [pt.dscalar(), pt.dscalar(), pt.dscalar()])

    def perform(self, node, inputs, output_storage):
        """Evaluate the kernel (the same compiled function as the Numba backend's)."""
        arrays = [np.asarray(x) for x in inputs]
        for out, value in zip(output_storage, _KERNELS[self.form](*arrays), strict=True):
            out[0] = np.asarray(value, dtype=np.float64)

    def infer_shape(self, fgraph, node, input_shapes):
        """Three scalars."""
        return [(), (), ()]

    def connection_pattern(self, node):
        """The outputs depend on ``lam`` and ``k`` only (the data carry no gradient)."""
        return [[True, True, True], [True, True, True]] + [[False] * 3] * (len(node.inputs) - 2)

    def pullback(self, inputs, outputs, cotangents):
        """``g * d log L / d lam`` and ``g * d log L / d k``, read off the Op's own outputs."""
        if not all(isinstance(g.type, DisconnectedType) for g in cotangents[1:]):
            raise NotImplementedError(
                "ExactLandmarkOp gives first derivatives only (its gradient outputs have none)"
            )
        g = cotangents[0]
        return [g * outputs[1], g * outputs[2]] + [DisconnectedType()() for _ in inputs[2:]]


@register_funcify_default_op_cache_key(ExactLandmarkOp)
def _numba_exact_landmark(op, node=None, **kwargs):
    return _KERNELS[op.form]
