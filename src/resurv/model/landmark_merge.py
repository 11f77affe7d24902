"""Merge the states of a landmark graph whose futures are the same: an exact reduction.

The forward pass of :class:`~resurv.model.landmark_terms.ExactLandmark` sums, over the paths of
the pruned graph, a product of edge weights that depend only on the interval ``j`` and the
edge's labels ``(d, c)`` (``p_d[j]**d p_c[j]**c / (d! c!)``), a root weight and a final
weight that depends only on the final at-risk count ``r`` (``p_a**r / r!``). Where the path
came from and what running product it carries do not enter the weights; the product has
already decided which edges exist. :func:`merge_equivalent_states` merges, layer by layer from
the end, the states whose sets of labelled out-edges lead to the same merged states: the
minimal graph with the same path weights (the minimisation of an acyclic automaton).

Exactness
---------
Let ``beta_j(s)`` be the sum over the paths from state ``s`` of layer ``j`` to the last layer
of the product of their edge weights times the final weight. Final states with the same
``r`` have the same ``beta`` (the final weight depends on ``r`` only). If two states of layer
``j`` have the same set of labels ``(d, c, class of the target)``, then, by induction on
``K - j``, ``beta_j`` is the same for both, as ``beta_j(s) = sum_e w_j(d_e, c_e)
beta_{j+1}(dst_e)``. Write ``alpha_j(C)`` for the summed root-to-``C`` weight of the members
of a class ``C``. Keeping the out-edges of one member per class gives
``alpha_{j+1}(C') = sum_{C} alpha_j(C) sum_{e: C -> C'} w_j(e)``, the sum over members of the
original recursion, because every member has the same out-edges. At layer 0 the roots of a
class add (``log-sum-exp`` of their root weights). So ``L = sum_C alpha_K(C) beta_K(C)`` is
the original sum term by term: the likelihood, its gradient and the number of paths (every
weight 1) are unchanged, not approximated. The tests check this against the unmerged graph and
the enumeration form.

Nothing about the printed figure is lost: the audit keeps its exact graph (with the products
the estimates need); only the likelihood reads the merged one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = ["MergedGraph", "merge_equivalent_states"]


class MergedGraph(NamedTuple):
    """A merged graph: ``root`` log weights of layer 0, edges per interval, final at-risk counts.

    ``edges[j]`` is ``(src, dst, deaths, censored)`` as int64 arrays between the classes of
    layers ``j`` and ``j + 1``; ``n_states[j]`` is the number of classes of layer ``j``.
    """

    root: np.ndarray
    edges: tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]
    final_at_risk: np.ndarray
    n_states: tuple[int, ...]


def merge_equivalent_states(root, edges, final_at_risk) -> MergedGraph:
    """Merge states with the same future, from the last layer back to the first.

    Parameters
    ----------
    root : (S_0,) float array
        Log weight of each state of layer 0 (``-inf`` for none).
    edges : sequence of (src, dst, deaths, censored)
        Int arrays per interval between consecutive layers; states are numbered from 0 in
        every layer and every state lies on a path (pruned beforehand).
    final_at_risk : (S_K,) int array
        At-risk count of each state of the last layer.

    Returns
    -------
    MergedGraph
    """
    k = len(edges)
    final_at_risk = np.asarray(final_at_risk, dtype=np.int64)
    r_values, cls = np.unique(final_at_risk, return_inverse=True)
    classes = [None] * (k + 1)
    classes[k] = cls.astype(np.int64)
    counts = [0] * (k + 1)
    counts[k] = len(r_values)
    n_states = [len(root)] + [0] * k  # states per layer (each has in- and out-edges)
    for j in range(1, k):
        if len(edges[j][0]):
            n_states[j] = int(np.max(edges[j][0])) + 1
    kept_edges: list = [None] * k
    for j in range(k - 1, -1, -1):
        src, dst, d, c = (np.asarray(a, dtype=np.int64) for a in edges[j])
        n_here = n_states[j]
        target = classes[j + 1][dst]
        order = np.lexsort((target, c, d, src))
        src, target, d, c = src[order], target[order], d[order], c[order]
        labels = np.ascontiguousarray(np.column_stack([d, c, target]))
        start = np.searchsorted(src, np.arange(n_here + 1))
        index: dict[bytes, int] = {}
        cls = np.empty(n_here, dtype=np.int64)
        rep = np.zeros(len(src), dtype=bool)
        for s in range(n_here):
            key = labels[start[s] : start[s + 1]].tobytes()
            t = index.get(key)
            if t is None:
                t = index[key] = len(index)
                rep[start[s] : start[s + 1]] = True
            cls[s] = t
        classes[j], counts[j] = cls, len(index)
        kept_edges[j] = (classes[j][src[rep]], target[rep], d[rep], c[rep])
    merged_root = np.full(counts[0], -np.inf)
    for cl in range(counts[0]):
        members = np.asarray(root)[classes[0] == cl]
        merged_root[cl] = special.logsumexp(members) if members.size else -np.inf
    return MergedGraph(merged_root, tuple(kept_edges), r_values, tuple(counts))
