"""One mechanism for every multi-fit operation: tasks through a ``concurrent.futures.Executor``.

A study run, a sensitivity sweep, simulation-based calibration and coverage studies all call
:func:`run_tasks`. By default tasks run in this process, one after the other; pass
``local_executor(2)`` for a process pool on local cores, or a Dask ``distributed`` client's
executor (``client.get_executor()``) for a cluster. Nothing else changes: each task carries
its own seed, so results do not depend on the executor or on the order tasks finish in.

With ``checkpoint_dir``, each finished task's (JSON-safe) result is stored under its key and
a re-run skips finished tasks, so an interrupted study picks up where it stopped.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from resurv.outputs import safe_name


class InProcessExecutor(Executor):
    """An executor that runs each task immediately in the calling process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` now and return a completed future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            future.set_exception(exc)
        return future


def local_executor(workers: int | None = None) -> Executor:
    """Return a process pool on local cores (``forkserver`` start: safe with threads)."""
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        return InProcessExecutor()
    ctx = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=workers, mp_context=ctx)


def task_seeds(seed: int, n: int) -> list[int]:
    """Return ``n`` independent 32-bit seeds derived from ``seed`` (``SeedSequence.spawn``)."""
    children = np.random.SeedSequence(seed).spawn(n)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def _checkpoint_path(folder: Path, key: Hashable) -> Path:
    return folder / f"{safe_name(str(key))}.json"


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    keys: Sequence[Hashable] | None = None,
    executor: Executor | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """Run ``fn(task)`` for every task and return the results in task order.

    Parameters
    ----------
    fn : callable
        A module-level function (picklable, for process and Dask executors).
    tasks : sequence
        The tasks' arguments; each should carry its own seed.
    keys : sequence of hashable, optional
        Unique names of the tasks, used for checkpoints (default: their index).
    executor : concurrent.futures.Executor, optional
        Where to run; default :class:`InProcessExecutor`.
    checkpoint_dir : path, optional
        Store each result as JSON here and skip tasks whose result is already stored.
        Results must then be JSON-serialisable.
    on_done : callable, optional
        Called as ``on_done(n_finished, n_total)`` after each task (progress reporting).
    """
    keys = list(range(len(tasks))) if keys is None else list(keys)
    if len(keys) != len(tasks) or len(set(keys)) != len(keys):
        raise ValueError(f"keys must be unique and one per task; got {len(keys)} for {len(tasks)}")
    executor = executor or InProcessExecutor()
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)

    results: list[Any] = [None] * len(tasks)
    pending: list[int] = []
    for i, key in enumerate(keys):
        path = _checkpoint_path(folder, key) if folder is not None else None
        if path is not None and path.exists():
            results[i] = json.loads(path.read_text())
        else:
            pending.append(i)
    done = len(tasks) - len(pending)
    if on_done is not None and done:
        on_done(done, len(tasks))

    if isinstance(executor, InProcessExecutor):
        # one at a time, so each result is stored (and reported) as soon as it exists
        completed = ((executor.submit(fn, tasks[i]), i) for i in pending)
    else:
        futures = {executor.submit(fn, tasks[i]): i for i in pending}
        completed = ((f, futures[f]) for f in _completed(futures))
    for future, i in completed:
        results[i] = future.result()
        if folder is not None:
            path = _checkpoint_path(folder, keys[i])
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(results[i], sort_keys=True))
            os.replace(tmp, path)  # a checkpoint is whole or absent
            results[i] = json.loads(path.read_text())  # same types whether resumed or not
        done += 1
        if on_done is not None:
            on_done(done, len(tasks))
    return results


def _completed(futures: dict[Future, int]) -> Iterable[Future]:
    try:
        yield from as_completed(futures)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
