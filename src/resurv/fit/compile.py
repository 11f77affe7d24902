"""Compile a PyMC model for nutpie so that a new process loads it from disk instead of compiling.

``nutpie.compile_pymc_model`` (Numba backend) compiles the model's log density and gradient
with PyTensor's Numba backend, whose kernels PyTensor caches in its compile directory
(``~/.pytensor``), and then wraps them in two ``numba.cfunc`` entry points that nuts-rs calls
without the GIL. Those wrappers are built around closures over the data containers and cannot
be cached, and compiling them links the whole log density again: about 8 s for a two-arm
model here, in every new process, however often the model has been compiled before.

:func:`compile_model` builds the same two functions (the log density with its gradient, and
the "expand" function mapping a point of the sampler's unconstrained space to every variable of
the trace) and writes the two entry points as plain source: the positions of the data in
nutpie's user-data record are constants of the source, so the entry points hold no dynamic
global and Numba caches them (``cache=True``), under a key made of the source and PyTensor's own
cache key of the log density. A structure compiled once on a machine then loads in about a
second in any later process, and the sampler, its adaptation, ``with_data`` and the output
(an ``xarray.DataTree``, variables named as nutpie names them) are nutpie's own
(``CompiledPyMCModel``). When PyTensor gives no cache key (a graph it cannot cache), the entry
points are compiled for this process only, as nutpie does.
"""

from __future__ import annotations

import threading
from hashlib import sha256
from math import prod
from typing import Any

import numpy as np

__all__ = ["compile_model"]

_VERSION = "1"  # bump when the generated source changes meaning


class _InitialPoint:
    """``seed -> x0``: PyMC's initial point (support point, jittered), flattened in order.

    The support point of a prior depends on its hyperparameters (a Normal's is its mean),
    which are data: a model compiled for one prior set and given another's through
    ``with_data`` must start where a model compiled for the other would. So the point is
    computed with the model's data containers set to this object's ``values`` (the compiled
    data, or those of :meth:`bind`), under one lock: the same seed and data give the same
    start whichever data set the structure was first compiled with.
    """

    _lock = threading.Lock()  # chains ask from several threads; the containers are shared

    def __init__(self, point_fn, containers: dict, values: dict, names: list[str], size: int):
        self.point_fn, self.containers, self.values = point_fn, containers, values
        self.names, self.size = names, size

    def bind(self, values) -> _InitialPoint:
        """The initial point of the same model with data ``values`` (by container name)."""
        merged = {**self.values, **{k: v for k, v in values.items() if k in self.containers}}
        return _InitialPoint(self.point_fn, self.containers, merged, self.names, self.size)

    def __call__(self, seed: int) -> np.ndarray:
        with self._lock:
            for name, value in self.values.items():
                self.containers[name].set_value(value)
            point = self.point_fn(seed)
        parts = [np.asarray(point[n], dtype=np.float64).ravel() for n in self.names]
        x = np.concatenate(parts) if parts else np.zeros(0)
        if x.size != self.size:
            raise RuntimeError(f"initial point of size {x.size}; the model has {self.size}")
        return x


def _flat_initial_point(model, names: list[str], size: int) -> _InitialPoint:
    """The model's :class:`_InitialPoint`, bound to the data it was built with."""
    from pymc.initial_point import make_initial_point_fn

    point_fn = make_initial_point_fn(
        model=model,
        jitter_rvs=set(model.free_RVs),
        default_strategy="support_point",
        return_transformed=True,
    )
    containers = {v.name: v for v in model.data_vars}
    values = {n: np.array(v.get_value(), copy=True) for n, v in containers.items()}
    return _InitialPoint(point_fn, containers, values, names, size)


def _functions(model):
    """PyTensor (Numba mode) functions ``x -> (logp, grad)`` and ``x -> trace vector``."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as compile_pymc
    from pytensor.graph.replace import clone_replace
    from pytensor.graph.rewriting.utils import rewrite_graph

    point = model.initial_point()
    free = list(model.free_RVs)
    value_vars = [model.rvs_to_values[rv] for rv in free]
    names = [v.name for v in value_vars]
    shapes = [tuple(int(s) for s in np.shape(point[n])) for n in names]
    sizes = [int(prod(s)) for s in shapes]
    n_dim = sum(sizes)

    logp = model.logp()
    rewrites = ["canonicalize", "stabilize"]
    if not model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    logp = rewrite_graph(logp, include=rewrites)
    grad = pt.concatenate([pt.as_tensor(g).ravel() for g in pt.grad(logp, value_vars)])

    x = pt.TensorType("float64", shape=(n_dim,))(name="_unconstrained_point")
    offsets = np.cumsum([0, *sizes])
    replacements = {
        v: x[offsets[i] : offsets[i + 1]].reshape(shape).astype(rv.dtype)
        for i, (rv, v, shape) in enumerate(zip(free, value_vars, shapes, strict=True))
    }
    logp, grad = clone_replace([logp, grad], replacements)
    with model:
        logp_fn = compile_pymc([x], [logp, grad], mode="NUMBA")

    # The trace: the unconstrained values, then every other unobserved variable (constrained
    # values and deterministics), one vector, as nutpie's own PyMC compilation stores them.
    others = [v for v in model.unobserved_value_vars if v.name not in set(names)]
    at_point = [(v, pt.as_tensor(np.asarray(point[v.name], dtype=v.dtype))) for v in value_vars]
    shape_fn = pytensor.function(
        [], [pt.as_tensor(v).shape for v in others], givens=at_point, mode="FAST_COMPILE"
    )
    trace_shapes = [tuple(int(s) for s in shape) for shape in shape_fn()] if others else []
    joined = pt.concatenate(
        [*(x[offsets[i] : offsets[i + 1]] for i in range(len(free))),
         *(pt.as_tensor(v).ravel() for v in others)]
    )  # fmt: skip
    with model:
        expand_fn = compile_pymc([x], [joined], givens=list(replacements.items()), mode="NUMBA")
    trace_names = [*names, *(v.name for v in others)]
    all_shapes = [*shapes, *trace_shapes]
    ends = np.cumsum([0, *(int(prod(s)) for s in all_shapes)])
    slices = [slice(int(a), int(b)) for a, b in zip(ends[:-1], ends[1:], strict=True)]
    shape_info = (trace_names, slices, all_shapes)
    initial = _flat_initial_point(model, names, n_dim)
    transformed = [
        model.rvs_to_values[rv].name for rv in free if model.rvs_to_transforms.get(rv) is not None
    ]
    return n_dim, int(ends[-1]), logp_fn, expand_fn, initial, shape_info, transformed


def _entry_source(kind: str, n_dim: int, n_expanded: int, arrays: list[tuple[int, int, str]],
                  n_keys: int, shape_offsets: list[int]) -> str:  # fmt: skip
    """Source of a C entry point reading its arrays from nutpie's user-data record.

    The record is ``n_keys`` data addresses, ``n_keys`` sizes, then each array's shape; all
    fields are 8-byte unsigned integers, so it is read as one ``uint64`` vector.
    ``arrays`` lists, in the callee's argument order, ``(key index, ndim, dtype name)``.
    """
    words = 2 * n_keys + sum(nd for _, nd, _ in arrays)
    lines = []
    args = []
    for j, (i, nd, dtype) in enumerate(arrays):
        shape = ", ".join(f"int(ud[{shape_offsets[i] + d}])" for d in range(nd))
        shape = f"({shape},)" if nd == 1 else f"({shape})"
        lines.append(f"        a{j} = numba.carray(_pointer(ud[{i}]), {shape}, dtype=np.{dtype})")
        args.append(f"a{j}")
    # A call with more than about 30 arguments compiles to a bytecode Numba does not read
    # (LIST_TO_TUPLE), so the arguments are gathered in tuples of at most 16 and joined.
    names = ["x", *args]
    chunks = [names[i : i + 16] for i in range(0, len(names), 16)]
    for c, chunk in enumerate(chunks):
        lines.append(f"        t{c} = ({', '.join(chunk)},)")
    lines.append(f"        arguments = {' + '.join(f't{c}' for c in range(len(chunks)))}")
    call = "*arguments"
    body = "\n".join(lines)
    if kind == "logp":
        return f"""
def logp_entry(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        ud = numba.carray(user_data_, ({max(words, 1)},), dtype=np.uint64)
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, (1,))
{body}
        value, grad = callee({call})
        logp[0] = value
        out[:] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(value):
            return 4
    except Exception:  # noqa: BLE001
        return 1
    return 0
"""
    return f"""
def expand_entry(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        ud = numba.carray(user_data_, ({max(words, 1)},), dtype=np.uint64)
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
{body}
        (values,) = callee({call})
        out[:] = values
    except Exception:  # noqa: BLE001
        return -2
    return 0
"""


def _entry(kind, callee, fn_pt, shared_keys, key_order, n_dim, n_expanded):
    """Compile (or load) the cached ``numba.cfunc`` entry point of a PyTensor function."""
    import numba
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    from resurv.fit._pointer import pointer

    n_keys = len(key_order)
    ndims = [int(var.ndim) for var in key_order.values()]
    offsets = list(np.cumsum([2 * n_keys, *ndims[:-1]])) if n_keys else []
    index = {key: i for i, key in enumerate(key_order.keys())}
    arrays = [
        (index[shared_keys[var]], int(var.ndim), np.dtype(var.type.dtype).name)
        for var in fn_pt.get_shared()
    ]
    src = _entry_source(kind, n_dim, n_expanded, arrays, n_keys, [int(o) for o in offsets])
    callee_key = CACHED_SRC_FUNCTIONS.get(getattr(callee, "py_func", None))
    cache_key = None
    if callee_key is not None:
        cache_key = sha256(f"resurv-entry-{_VERSION}\n{callee_key}\n{src}".encode()).hexdigest()
    name = f"{kind}_entry"
    env = {"__name__": __name__, "numba": numba, "np": np, "callee": callee, "_pointer": pointer}
    fn = compile_numba_function_src(src, name, env, cache_key=cache_key)
    u64, f64 = numba.types.uint64, numba.types.CPointer(numba.types.double)
    if kind == "logp":
        sig = numba.types.int64(u64, f64, f64, f64, numba.types.voidptr)
    else:
        sig = numba.types.int64(u64, u64, f64, f64, numba.types.voidptr)
    return numba.cfunc(sig, cache=cache_key is not None)(fn)


def compile_model(model) -> Any:
    """Compile ``model`` for ``nutpie.sample``, loading its entry points from disk when cached.

    Parameters
    ----------
    model : pymc.Model
        A model whose free variables are continuous (every model resurv builds).

    Returns
    -------
    nutpie.compile_pymc.CompiledPyMCModel
        What ``nutpie.sample`` takes; ``compiled.with_data(name=array, ...)`` returns it with
        new values of the model's ``pm.Data`` containers (of any length).
    """
    import pytensor

    # Without fastmath, code compiled in this process and code loaded from the cache compute
    # bit for bit the same numbers (with it, cross-module inlining on a first compile
    # reassociates some sums), so a first and a second run of a seeded fit agree exactly.
    with pytensor.config.change_flags(numba__fastmath=False):
        return _compile_model(model)


def _compile_model(model):
    from nutpie.compile_pymc import CompiledPyMCModel, make_user_data

    n_dim, n_expanded, logp_fn, expand_fn, initial, shape_info, transformed = _functions(model)
    shared_vars = list(dict.fromkeys([*logp_fn.get_shared(), *expand_fn.get_shared()]))
    shared_keys = {var: f"d{i}_{var.name}" for i, var in enumerate(shared_vars)}
    key_order = {shared_keys[var]: var for var in shared_vars}
    shared_data = {}
    for var in shared_vars:
        value = np.array(var.get_value(), order="C", copy=True)
        value.flags.writeable = False
        shared_data[shared_keys[var]] = value
    user_data = make_user_data(shared_keys, shared_data)

    logp_entry = _entry(
        "logp", logp_fn.vm.jit_fn, logp_fn, shared_keys, key_order, n_dim, n_expanded
    )
    expand_entry = _entry(
        "expand", expand_fn.vm.jit_fn, expand_fn, shared_keys, key_order, n_dim, n_expanded
    )
    names, _, shapes = shape_info
    dims, coords = {}, {}
    for name in names:
        var_dims = model.named_vars_to_dims.get(name)
        if var_dims and all(d is not None and model.coords.get(d) is not None for d in var_dims):
            dims[name] = tuple(var_dims)
            coords.update({d: list(model.coords[d]) for d in var_dims})
    return CompiledPyMCModel(
        _n_dim=n_dim,
        dims=dims,
        _coords=coords,
        _shapes={n: tuple(s) for n, s in zip(names, shapes, strict=True)},
        compiled_logp_func=logp_entry,
        compiled_expand_func=expand_entry,
        initial_point_func=initial,
        shared_data=shared_data,
        shared_var_keys=shared_keys,
        user_data=user_data,
        n_expanded=n_expanded,
        shape_info=shape_info,
        logp_func=logp_fn,
        expand_func=expand_fn,
        reparameterized_names=transformed,
    )
