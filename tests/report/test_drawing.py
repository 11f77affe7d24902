"""Trace plots drawn by helper processes: the same files and captions as drawn here."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from fixtures.make_results import make_results
from resurv.report.build import _trace_jobs, write_report
from resurv.report.drawing import (
    MIN_FIGURES_PER_HELPER,
    TraceDrawing,
    TraceJob,
    draw_trace,
    helper_count,
)
from resurv.report.results import load_results


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("results"))


def _jobs(folder, into):
    """The trace plots of ``folder``, written into ``into``."""
    into.mkdir()
    return _trace_jobs(load_results(folder), into)


def test_a_helper_draws_the_same_files_and_captions_as_this_process(folder, tmp_path):
    here = _jobs(folder, tmp_path / "here")
    helped = _jobs(folder, tmp_path / "helped")
    expected = [draw_trace(job) for job in here]
    with TraceDrawing(len(helped), workers=2) as traces:
        traces.start(helped)
        deadline = time.monotonic() + 120
        while len(traces._open) == len(helped) and time.monotonic() < deadline:
            time.sleep(0.05)  # this process is busy elsewhere until a helper takes a figure
        captions = traces.captions()
    assert traces.helpers == 1 and traces.helped >= 1
    assert captions == expected
    for a, b in zip(here, helped, strict=True):
        assert a.target.read_bytes() == b.target.read_bytes(), a.target.name


def test_write_report_gives_the_same_files_with_and_without_helpers(folder, tmp_path):
    one, three = tmp_path / "one", tmp_path / "three"
    shutil.copytree(folder, one)
    shutil.copytree(folder, three)
    alone = write_report(one, workers=1)
    helped = write_report(three, workers=3)
    assert [p.relative_to(one) for p in alone] == [p.relative_to(three) for p in helped]
    for a, b in zip(alone, helped, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_helpers_started_before_the_folder_exists_draw_its_trace_plots(folder, tmp_path):
    """What the pipeline does: helpers import while the results are written, draw after."""
    alone, early = tmp_path / "alone", tmp_path / "early"
    shutil.copytree(folder, alone)
    expected = write_report(alone, workers=1)
    with TraceDrawing(4, workers=2) as traces:
        shutil.copytree(folder, early)
        written = write_report(early, traces=traces)
    assert traces.helpers == 1
    for a, b in zip(expected, written, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    with pytest.raises(RuntimeError, match="started already"):
        traces.start([])


def test_trace_plots_need_their_jobs_first():
    with TraceDrawing(1, workers=1) as traces:
        with pytest.raises(RuntimeError, match="call start"):
            traces.captions()
        traces.start([])
        assert traces.captions() == []


def test_a_figure_a_helper_cannot_draw_is_drawn_here_and_raises_here(tmp_path):
    job = TraceJob(zarr=tmp_path / "missing.zarr", target=tmp_path / "t.png", fit_key="k")
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        with TraceDrawing(2, workers=2) as traces:
            traces.start([job, job])
            traces.captions()


def test_a_script_without_a_main_guard_is_not_run_again(folder, tmp_path):
    """Helpers never import the caller's main module (multiprocessing's spawn would)."""
    copy, log = tmp_path / "copy", tmp_path / "runs.log"
    shutil.copytree(folder, copy)
    script = tmp_path / "script.py"
    script.write_text(
        "from pathlib import Path\n"
        f"log = Path({str(log)!r})\n"
        "log.write_text((log.read_text() if log.exists() else '') + 'run\\n')\n"
        "from resurv.report.build import write_report\n"
        f"write_report({str(copy)!r}, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, str(script)], env=env, check=True, timeout=600)
    assert log.read_text() == "run\n"
    assert (copy / "report.html").is_file()


def test_helper_count():
    assert helper_count(12, workers=1) == 0
    assert helper_count(12, workers=3) == 2
    assert helper_count(1, workers=4) == 1  # never more helpers than figures
    assert helper_count(MIN_FIGURES_PER_HELPER - 1) == 0  # by default, only when it pays
    assert helper_count(0) == 0
    with pytest.raises(ValueError, match="at least 1"):
        helper_count(3, workers=0)
