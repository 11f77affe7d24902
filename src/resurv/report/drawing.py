"""The trace plots of a report, drawn in helper processes beside the main figures.

A report draws one trace-and-rank figure per fit (:func:`resurv.report.plots.trace_rank`),
each from its saved posterior; for the flagship they are most of the report's drawing. They
need nothing from the other figures, so :class:`TraceDrawing` hands them to helper processes
while this process draws the main figures, and then draws itself every trace plot no helper
has taken: helpers take them from the last, this process from the first.

A helper is a new Python process, running :func:`_main` of this module, that reads jobs
from its standard input and answers each with the figure's caption; it never imports the
caller's main module, so a script without an ``if __name__ == "__main__":`` guard is not run
again. A helper that fails or dies leaves its figure to this process, which draws it (and
raises what drawing it raises). Jobs and answers are lines of JSON. The files and captions
do not depend on which process drew them: every figure is drawn in matplotlib's default style
(see :func:`resurv.report.plot_style._styled`) and written to its own file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from resurv.report import plots
from resurv.report.results import _open_posterior

__all__ = [
    "MIN_FIGURES_PER_HELPER",
    "TraceDrawing",
    "TraceJob",
    "draw_trace",
    "helper_count",
    "usable_cores",
]

#: trace plots a helper process needs before starting one pays: a helper first imports the
#: plotting libraries, which takes about as long as drawing three of them
MIN_FIGURES_PER_HELPER = 4
_READY = "ready"


@dataclass(frozen=True)
class TraceJob:
    """One trace-and-rank figure: the fit's store, the PNG to write and what the caption says."""

    zarr: Path
    target: Path
    fit_key: str
    failed: bool = False
    failures: tuple[str, ...] = ()


def draw_trace(job: TraceJob) -> str:
    """Draw one trace-and-rank figure and return its caption."""
    return plots.trace_rank(
        _open_posterior(job.zarr), job.target, fit_key=job.fit_key, failed=job.failed,
        failures=list(job.failures),
    )  # fmt: skip


def usable_cores() -> int:
    """The cores this process may use (its CPU affinity where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def helper_count(n_figures: int, workers: int | None = None) -> int:
    """Helper processes for ``n_figures`` trace plots when ``workers`` processes may draw.

    ``workers`` counts this process too. If given, it is honoured, with at most one helper per
    figure; by default it is the cores this process may use, with a helper only for every
    :data:`MIN_FIGURES_PER_HELPER` figures.
    """
    if workers is not None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (this process); got {workers}")
        return max(0, min(workers - 1, n_figures))
    if not sys.executable:  # an embedded interpreter cannot start another
        return 0
    return max(0, min(usable_cores() - 1, n_figures // MIN_FIGURES_PER_HELPER))


# ----------------------------------------------------------------------- the pipe protocol ---
def _send(stream: BinaryIO, message: Any) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _receive(stream: BinaryIO) -> Any:
    line = stream.readline()
    if not line:
        raise EOFError("the helper process closed its pipe")
    return json.loads(line)


def _job_message(job: TraceJob) -> dict:
    return {"zarr": str(job.zarr), "target": str(job.target), "fit_key": job.fit_key,
            "failed": job.failed, "failures": list(job.failures)}  # fmt: skip


def _job(message: dict) -> TraceJob:
    return TraceJob(
        zarr=Path(message["zarr"]), target=Path(message["target"]),
        fit_key=str(message["fit_key"]), failed=bool(message["failed"]),
        failures=tuple(str(f) for f in message["failures"]),
    )  # fmt: skip


def _serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    """A helper's loop: say it is ready (its imports done), then draw each job until ``null``."""
    import arviz  # noqa: F401 - what trace_rank imports when it first draws, imported before
    # saying ready: a helper started early has the time

    _send(answers, _READY)
    while (message := _receive(jobs)) is not None:
        try:
            _send(answers, {"caption": draw_trace(_job(message))})
        except Exception as exc:  # noqa: BLE001 - the caller draws the figure again itself
            _send(answers, {"error": f"{type(exc).__name__}: {exc}"})


class _Helper:
    """One helper process and the thread that feeds it jobs taken from a shared queue."""

    def __init__(self, drawing: TraceDrawing):
        self.drawing = drawing
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # this process's modules
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from resurv.report.drawing import _main; _main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )  # fmt: skip
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.thread.start()

    def _feed(self) -> None:
        process = self.process
        try:
            if _receive(process.stdout) != _READY:
                return
            while (i := self.drawing._take(last=True)) is not None:
                _send(process.stdin, _job_message(self.drawing.jobs[i]))
                answer = _receive(process.stdout)
                if "caption" in answer:  # else this process draws it again, and raises
                    self.drawing._finished(i, str(answer["caption"]))
            _send(process.stdin, None)
        except (EOFError, OSError, ValueError):  # ValueError: an answer that is not JSON
            pass  # the figure in hand stays unclaimed and this process draws it

    def close(self) -> None:
        self.thread.join()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TraceDrawing:
    """Trace plots drawn by helpers, started on entry, while the caller draws something else.

    ``figures`` is how many trace plots are expected (it sets how many helpers pay, see
    :func:`helper_count`); the helpers import the plotting libraries as soon as they start,
    so a caller that knows the number early (the pipeline, before writing the results
    folder) can start them early and hand the jobs over later, with :meth:`start`.

    >>> with TraceDrawing(len(jobs), workers=2) as traces:  # doctest: +SKIP
    ...     traces.start(jobs)
    ...     draw_the_main_figures()
    ...     captions = traces.captions()
    """

    def __init__(self, figures: int, workers: int | None = None):
        self.helpers = helper_count(figures, workers)
        self.jobs: list[TraceJob] = []
        self._lock = threading.Lock()
        self._given = threading.Event()  # the jobs are there, or drawing stopped
        self._open: list[int] = []  # jobs taken by no process yet
        self._done: dict[int, str] = {}
        self._stopped = False
        self._running: list[_Helper] = []
        #: figures the helpers drew
        self.helped = 0

    def start(self, jobs: Sequence[TraceJob]) -> None:
        """Hand the jobs over: the helpers take them from the last.

        A caller may start the jobs early (the pipeline does, as soon as the posteriors are
        saved); starting the same jobs again is then a no-op, other jobs an error.
        """
        with self._lock:
            if self._given.is_set():
                if list(jobs) == self.jobs:
                    return
                raise RuntimeError("these trace plots were started already; start them once")
            self.jobs = list(jobs)
            self._open = list(range(len(self.jobs)))
            self._given.set()

    def _take(self, *, last: bool = False) -> int | None:
        if last:  # a helper, ready before the jobs are there
            self._given.wait()
        with self._lock:
            if self._stopped or not self._open:
                return None
            return self._open.pop(-1 if last else 0)

    def _finished(self, i: int, caption: str) -> None:
        with self._lock:
            self._done[i] = caption
            self.helped += 1

    def __enter__(self) -> TraceDrawing:
        for _ in range(self.helpers):
            try:
                self._running.append(_Helper(self))
            except OSError:  # no process can be started: this one draws everything
                break
        return self

    def captions(self) -> list[str]:
        """Draw every figure no helper has taken, wait for the others; captions in job order."""
        if not self._given.is_set():
            raise RuntimeError("no trace plots to draw: call start(jobs) first")
        while (i := self._take()) is not None:
            self._done[i] = draw_trace(self.jobs[i])
        self._close()
        for i, job in enumerate(self.jobs):  # a helper failed or died on these
            if i not in self._done:
                self._done[i] = draw_trace(job)
        return [self._done[i] for i in range(len(self.jobs))]

    def _close(self) -> None:
        with self._lock:
            self._stopped = True
            self._given.set()  # a helper still waiting for jobs stops
        while self._running:
            self._running.pop().close()

    def __exit__(self, *exc) -> None:
        self._close()


def _main() -> None:
    """A helper process's entry: answers on a copy of stdout; anything printed goes to stderr.

    Once told to stop, the helper leaves at once (``os._exit``): every figure it drew is
    written and closed, and the interpreter's teardown (a second, with the plotting libraries
    loaded) would only keep the caller waiting.
    """
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, answers)
    answers.flush()
    sys.stderr.flush()
    os._exit(0)
