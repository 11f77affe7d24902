"""The forward pass of the exact landmark likelihood in scaled linear space (few exponentials).

:func:`scaled_forward_log_likelihood` computes what
:func:`resurv.model.landmark_kernel.forward_log_likelihood` computes, ``log L`` and
``d log L / d log_p`` over the padded layer matrices, with one multiplication per edge instead
of two exponentials: the weight of an edge with ``d`` deaths and ``c`` censorings in interval
``j`` factorises as ``exp(d log p_d - log d!) * exp(c log p_c - log c!)``, so two tables of at
most ``n + 1`` entries per layer replace the per-edge exponentials, and each state carries
``exp(alpha - A_j)`` with ``A_j`` the layer's largest ``alpha`` (the scaling of hidden Markov
model forward passes; Rabiner 1989, section V.A).

Scaling keeps every stored number in ``[0, 1]``; a term below ``1e-308`` of a layer's largest
one underflows to 0, a relative change below ``1e-300`` of ``L``. Should a whole layer
underflow (log weights spread over more than about 700 within one layer), the function
says so (``ok = False``) and the caller uses the log-space pass instead, so the result is never
silently wrong.

References
----------
Rabiner LR. A tutorial on hidden Markov models and selected applications in speech
recognition. Proc IEEE 1989;77(2):257-86.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["scaled_forward_log_likelihood"]


@numba.njit(cache=True)
def _table(log_p, top):
    """``exp(i log_p - log i! - shift)`` for ``i = 0..top`` and the shift (the largest term)."""
    logs = np.empty(top + 1)
    shift = -np.inf
    for i in range(top + 1):
        v = i * log_p - math.lgamma(i + 1.0) if (i == 0 or np.isfinite(log_p)) else -np.inf
        logs[i] = v
        shift = max(shift, v)
    out = np.empty(top + 1)
    for i in range(top + 1):
        out[i] = np.exp(logs[i] - shift)
    return out, shift


@numba.njit(cache=True)
def scaled_forward_log_likelihood(
    log_p, root, src, dst, deaths, censored, const, final_at_risk, final_const
):
    """``(ok, log L, d log L / d log_p)`` of the forward pass, in scaled linear space.

    Same inputs as :func:`~resurv.model.landmark_kernel.forward_log_likelihood`; padding edges
    are those whose ``const`` is ``-inf``. ``ok`` is False when a layer underflowed.
    """
    n_layers, width = src.shape
    n_states = root.size
    grad = np.zeros(log_p.size)
    a = np.zeros((n_layers + 1, n_states))
    top = np.max(root)
    if not np.isfinite(top):
        return True, -np.inf, grad
    for s in range(n_states):
        a[0, s] = np.exp(root[s] - top) if np.isfinite(root[s]) else 0.0
    log_scale = top  # alpha_j = log a[j] + log_scale
    totals = np.zeros((n_layers, n_states))
    tables_d = []
    tables_c = []
    for j in range(n_layers):
        dmax, cmax = 0, 0
        for e in range(width):
            if np.isfinite(const[j, e]):
                dmax = max(dmax, int(deaths[j, e]))
                cmax = max(cmax, int(censored[j, e]))
        td, sd = _table(log_p[2 * j], dmax)
        tc, sc = _table(log_p[2 * j + 1], cmax)
        tables_d.append(td)
        tables_c.append(tc)
        for e in range(width):
            if np.isfinite(const[j, e]):
                w = a[j, src[j, e]] * td[int(deaths[j, e])] * tc[int(censored[j, e])]
                totals[j, dst[j, e]] += w
        peak = np.max(totals[j])
        if not peak > 0.0:
            return False, 0.0, grad
        for s in range(n_states):
            a[j + 1, s] = totals[j, s] / peak
        log_scale += sd + sc + np.log(peak)
    la = log_p[2 * n_layers]
    f = np.full(n_states, -np.inf)
    for s in range(n_states):
        if a[n_layers, s] > 0.0 and np.isfinite(final_const[s]):
            f[s] = np.log(a[n_layers, s]) + final_at_risk[s] * la + final_const[s]
    ftop = np.max(f)
    if not np.isfinite(ftop):
        return False, 0.0, grad
    weights = np.exp(f - ftop)
    total = np.sum(weights)
    value = ftop + np.log(total) + log_scale
    g = weights / total  # d log L / d alpha_K, per state
    grad[2 * n_layers] = np.sum(g * final_at_risk)
    for j in range(n_layers - 1, -1, -1):
        td, tc = tables_d[j], tables_c[j]
        previous = np.zeros(n_states)
        for e in range(width):
            s = dst[j, e]
            if g[s] == 0.0 or totals[j, s] <= 0.0 or not np.isfinite(const[j, e]):
                continue
            d, c = int(deaths[j, e]), int(censored[j, e])
            ge = g[s] * a[j, src[j, e]] * td[d] * tc[c] / totals[j, s]
            previous[src[j, e]] += ge
            grad[2 * j] += ge * d
            grad[2 * j + 1] += ge * c
        g = previous
    return True, value, grad
