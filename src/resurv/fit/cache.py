"""Compiled-model cache: compile each model structure once, then swap data.

Compiling a PyMC model for nutpie (``nutpie.compile_pymc_model``) costs seconds; sampling a
small survival model costs a fraction of a second. Fits of many data sets with one structure
(simulation-based calibration, sensitivity sweeps, candidate arm sizes) therefore share one
compiled model, keyed by everything its graph depends on:

``(family name, prior set, arms, reference arm, tuple of term.structure())``.

New data of the same structure enter through ``compiled.with_data(**arrays)``; arrays may
change length (the observed variables are built with ``shape=data.shape``).

On a miss the cache logs ``compiling Weibull model, 1 of 4`` (logger ``resurv.fit``, level
INFO; the command line prints these lines) where ``4`` is the number of new structures a run
announced with :func:`expect_structures`.

:func:`background_compiles` compiles the structures a run will need later in a second
process while this one compiles and samples the first (on a first run, compiling is most of
the time); that process fills the on-disk cache, and this one then loads from it. A structure
compiled once on this machine leaves a marker (:func:`on_disk`), so a later run starts no
second process.

The cache lives in this process only (a small LRU dict guarded by a lock, so threads may
share it). Each worker process of a process pool or a Dask cluster keeps its own cache;
across processes, PyTensor's on-disk compilation cache (Numba, ``~/.pytensor``) makes the
recompile of a structure already seen much cheaper than the first one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CompiledEntry",
    "background_compiles",
    "cache_info",
    "clear_cache",
    "expect_structures",
    "get_compiled",
    "on_disk",
    "set_cache_size",
]

logger = logging.getLogger("resurv.fit")


@dataclass(frozen=True)
class CompiledEntry:
    """A compiled model and what is needed to feed it new data.

    Attributes
    ----------
    model : pymc.Model
        The model as built with the first data set (used for log-likelihoods and MAP).
    compiled : nutpie.CompiledModel
        The nutpie compiled model.
    dtypes : dict
        ``container name -> dtype`` of every ``pm.Data`` container.
    """

    model: Any
    compiled: Any
    dtypes: Mapping[str, np.dtype]

    def with_data(self, arrays: Mapping[str, Any]) -> Any:
        """Return the compiled model with ``arrays`` swapped in (cast to the stored dtypes)."""
        unknown = sorted(set(arrays) - set(self.dtypes))
        if unknown:
            raise KeyError(
                f"data {unknown} have no container in the compiled model; "
                f"containers are {sorted(self.dtypes)}"
            )
        cast = {k: np.array(v, dtype=self.dtypes[k], order="C") for k, v in arrays.items()}
        if not cast:
            return self.compiled
        compiled = self.compiled.with_data(**cast)
        start = getattr(compiled, "initial_point_func", None)
        if hasattr(start, "bind"):  # start where a model compiled with these data would
            compiled = dataclasses.replace(compiled, initial_point_func=start.bind(cast))
        return compiled


class _LRU:
    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self.entries: OrderedDict[Hashable, CompiledEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.lock = threading.RLock()


_CACHE = _LRU(maxsize=32)
_EXPECTED: list[list[Hashable]] = []  # structures announced by the runs in progress


@contextlib.contextmanager
def expect_structures(keys: Iterable[Hashable]) -> Iterator[int]:
    """Announce the structures a run will compile, so progress lines say "k of n".

    Yields the number of them not compiled yet in this process.
    """
    with _CACHE.lock:
        new = [k for k in dict.fromkeys(keys) if k not in _CACHE.entries]
        _EXPECTED.append(new)
    try:
        yield len(new)
    finally:
        with _CACHE.lock:
            _EXPECTED.remove(new)


_BACKGROUND: dict[Hashable, Future] = {}  # structures a second process is compiling


def _marker(key: Hashable) -> Path:
    """A file that says this machine's compile cache holds ``key`` (versions included)."""
    import numba
    import nutpie
    import pytensor

    import resurv

    versions = [m.__version__ for m in (resurv, pytensor, numba, nutpie)]
    digest = sha256(repr((key, versions)).encode()).hexdigest()[:32]
    return Path(pytensor.config.base_compiledir) / "resurv-structures" / digest


def on_disk(key: Hashable) -> bool:
    """Whether a structure was compiled on this machine before (its kernels are cached)."""
    return _marker(key).exists()


def _mark(key: Hashable) -> None:
    path = _marker(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(repr(key)[:2000])
    except OSError:  # a read-only cache only costs a second process on the next run
        pass


@contextlib.contextmanager
def background_compiles(
    jobs: Sequence[tuple[Hashable, Callable[..., Any], tuple]],
) -> Iterator[int]:
    """Compile structures in a second process while this one works; yields how many.

    ``jobs`` are ``(key, function, args)`` in the order this process will need them; the
    ``function(*args)`` (picklable, module-level) must compile the structure ``key`` with
    :func:`get_compiled`. Jobs whose structure is already compiled here or on disk are
    dropped. When :func:`get_compiled` meets a key of a job, it waits for the job if it has
    started (and then loads the result from disk), or cancels it and compiles itself.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with _CACHE.lock:
        todo = [j for j in jobs if j[0] not in _CACHE.entries and not on_disk(j[0])]
    if not todo:
        yield 0
        return
    # one worker process (this one is the other); forkserver: safe with this process's threads
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))
    futures = {}
    try:
        for key, fn, args in todo:
            futures[key] = pool.submit(fn, *args)
        with _CACHE.lock:
            _BACKGROUND.update(futures)
        yield len(todo)
    finally:
        with _CACHE.lock:
            for key in futures:
                _BACKGROUND.pop(key, None)
        for future in futures.values():
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _wait_for_background(key: Hashable) -> None:
    future = _BACKGROUND.pop(key, None)
    if future is None or future.cancel():
        return  # no job, or not started: compile here
    logger.info("waiting for the second process to finish compiling it")
    try:
        future.result()
    except Exception as exc:  # noqa: BLE001 - compiled here instead, with the error then
        logger.debug("background compile failed (%s); compiling here", exc)


def _position(key: Hashable) -> str:
    for keys in reversed(_EXPECTED):
        if key in keys:
            done = sum(k in _CACHE.entries for k in keys)
            return f", {done + 1} of {len(keys)}"
    return ""


def get_compiled(
    key: Hashable, build: Callable[[], Any], *, label: str = "model"
) -> tuple[CompiledEntry, bool]:
    """Return the compiled entry for ``key``, building and compiling it on a miss.

    Parameters
    ----------
    key : hashable
        The model structure (see the module docstring).
    build : callable
        ``build() -> pm.Model``, called on a miss only.
    label : str
        What the progress line calls the model (e.g. ``"Weibull model"``).

    Returns
    -------
    entry : CompiledEntry
    hit : bool
        Whether the entry came from the cache.
    """
    from resurv.fit.compile import compile_model

    try:
        hash(key)
    except TypeError as exc:
        raise TypeError(
            f"a model structure must be hashable to be cached; {exc}. Make prior sets and "
            "term structures out of tuples, strings and numbers (no lists or dicts)."
        ) from None
    with _CACHE.lock:
        entry = _CACHE.entries.get(key)
        if entry is not None:
            _CACHE.entries.move_to_end(key)
            _CACHE.hits += 1
            return entry, True
        logger.info("compiling %s%s", label, _position(key))
        start = time.perf_counter()
        _wait_for_background(key)
        model = build()
        compiled = compile_model(model)
        _mark(key)
        logger.debug("compiled %s in %.1f s", label, time.perf_counter() - start)
        dtypes = {name: np.dtype(var.get_value().dtype) for name, var in _data_containers(model)}
        entry = CompiledEntry(model=model, compiled=compiled, dtypes=dtypes)
        _CACHE.entries[key] = entry
        _CACHE.misses += 1
        while len(_CACHE.entries) > _CACHE.maxsize:
            _CACHE.entries.popitem(last=False)
        return entry, False


def _data_containers(model) -> list[tuple[str, Any]]:
    return [(name, var) for name, var in model.named_vars.items() if var in model.data_vars]


def cache_info() -> dict[str, int]:
    """Return ``{"hits", "misses", "size", "maxsize"}`` of the compiled-model cache."""
    with _CACHE.lock:
        return {
            "hits": _CACHE.hits,
            "misses": _CACHE.misses,
            "size": len(_CACHE.entries),
            "maxsize": _CACHE.maxsize,
        }


def clear_cache() -> None:
    """Drop every compiled model and reset the counters."""
    with _CACHE.lock:
        _CACHE.entries.clear()
        _CACHE.hits = 0
        _CACHE.misses = 0


def set_cache_size(maxsize: int) -> None:
    """Keep at most ``maxsize`` compiled models (least recently used dropped first)."""
    if not isinstance(maxsize, int) or maxsize < 1:
        raise ValueError(f"maxsize must be a positive integer; received {maxsize!r}")
    with _CACHE.lock:
        _CACHE.maxsize = maxsize
        while len(_CACHE.entries) > maxsize:
            _CACHE.entries.popitem(last=False)
