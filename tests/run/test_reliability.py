"""Reliability: bad input, interrupted runs, failed fits and reproducibility, end to end.

Every check runs the real thing: ``resurv.pipeline.run_study`` or the command line
(``resurv.cli.main`` in this process, or a separate Python process that receives a real
signal). The flagship study is run with quick settings (one family and prior set, 2 chains x
1000 draws, no SMC marginal likelihood, no sensitivity sweep); its first fit in a process
compiles the model, later runs of the same structure reuse it.

What is forced, and how:

- a failed fit: the diagnostics gate is given a bulk-ESS threshold no sample can reach
  (``ess_bulk_min = 1e9``). This fails the *gate*, not the sampler - the tables still show
  a healthy R-hat and ESS - which is exactly what must be marked everywhere. The command line
  has no thresholds option, so the test replaces ``resurv.run.RunSettings`` (which
  ``resurv run`` builds its settings from) by one whose default carries that gate, and calls
  ``resurv.cli.main``: the exit status logic under test is the real one.
- an interruption: the run is started in another process by a two-line launcher that imports
  resurv, prints ``ready`` and then does exactly what ``python -m resurv`` does
  (``sys.exit(main())``). The signal is sent a second after ``ready``, while the run is
  auditing and compiling; the slow variant waits for the temporary results folder to appear
  and so interrupts the writing itself.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import resurv.run
from resurv.cli import EXIT_BAD_INPUT, EXIT_DIAGNOSTICS, EXIT_INTERRUPTED, main
from resurv.fit.sampling import ResurvFitWarning
from resurv.outputs import atomic_folder, confined, safe_name, sigterm_as_interrupt
from resurv.pipeline import run_study
from resurv.report.plot_style import FAILED_MARK
from resurv.run.reanalysis import quick_settings
from resurv.run.values import RunSettings

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "resurv"
FLAGSHIP = ROOT / "models" / "grazi2000.toml"
BAD = ROOT / "tests" / "bad_inputs"
QUICK = {"marginal_likelihood": False, "draws": 1000, "tune": 500, "chains": 2}
PRIMARY = "exponential-weakly_informative-close1999"
CLI_QUICK = ["--family", "exponential", "--prior", "weakly_informative", "--draws", "1000",
             "--tune", "500", "--chains", "2", "--no-sensitivity"]  # fmt: skip
#: a diagnostics gate that no sample passes (bulk ESS >= 1e9)
IMPOSSIBLE_GATE = {"ess_bulk_min": 1e9}
#: runs the command line in a fresh process, announcing when the imports are done
LAUNCHER = (
    "import sys, resurv.run; print('ready', flush=True); "
    "from resurv.cli import main; sys.exit(main(sys.argv[1:]))"
)


def quick(**kw) -> RunSettings:
    return quick_settings(**{**QUICK, **kw})


def folder_hashes(folder: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def comparable_files(folder: Path) -> list[str]:
    """Every file whose bytes must repeat: tables, reports, run.json, audit, figures.

    The zarr stores are compared by their values: zarr writes a creation time into them.
    """
    files = [p for p in folder.rglob("*") if p.is_file() and "posterior" not in p.parts]
    return sorted(str(p.relative_to(folder)) for p in files)


def assert_complete(folder: Path) -> None:
    """The folder is a complete results folder of one run (not a mix of two)."""
    run_json = json.loads((folder / "run.json").read_text())
    keys = [f["fit_key"] for f in run_json["fits"]]
    for name in ("report.md", "report.html", "audit.json", "tables/comparison.csv",
                 "tables/sensitivity.csv", "tables/diagnostics.csv"):  # fmt: skip
        assert (folder / name).is_file(), name
    assert sorted(p.stem for p in (folder / "posterior").iterdir()) == sorted(keys)
    assert set(pd.read_csv(folder / "tables" / "sensitivity.csv")["fit_key"]) == set(keys)


def only(folder: Path) -> list[str]:
    """Names in the parent of ``folder`` (temporary folders would show up here)."""
    return sorted(p.name for p in folder.parent.iterdir())


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Path:
    """A complete results folder of the flagship (quick settings, the study's seed)."""
    out = tmp_path_factory.mktemp("first") / "grazi2000"
    return run_study(FLAGSHIP, out=out, settings=quick()).folder


@pytest.fixture
def previous(first, tmp_path) -> tuple[Path, dict[str, str]]:
    """A copy of ``first`` to overwrite, with the hashes of its files."""
    target = tmp_path / "grazi2000"
    shutil.copytree(first, target)
    return target, folder_hashes(target)


# -- reproducibility ---------------------------------------------------------------------------


def test_same_study_file_and_seed_give_identical_results(first, tmp_path):
    again = run_study(FLAGSHIP, out=tmp_path / "again", settings=quick()).folder
    files = comparable_files(first)
    assert files == comparable_files(again)
    assert {"report.md", "tables/comparison.csv", "tables/sensitivity.csv"} <= set(files)
    for name in files:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    a = az.from_zarr(str(first / "posterior" / f"{PRIMARY}.zarr"))
    b = az.from_zarr(str(again / "posterior" / f"{PRIMARY}.zarr"))
    for group in ("posterior", "sample_stats"):
        for name, values in a[group].data_vars.items():
            np.testing.assert_array_equal(values.values, b[group][name].values, err_msg=name)


def test_another_seed_gives_other_numbers(first, tmp_path):
    other = run_study(FLAGSHIP, out=tmp_path / "seed7", settings=quick(seed=7)).folder
    a = pd.read_csv(first / "tables" / "sensitivity.csv")
    b = pd.read_csv(other / "tables" / "sensitivity.csv")
    assert a["quantity"].tolist() == b["quantity"].tolist()
    assert not np.allclose(a["median"], b["median"], rtol=1e-9)
    assert (first / "report.md").read_text() != (other / "report.md").read_text()
    # the audit does not depend on the seed
    for name in ("tables/audit.csv", "tables/audit_deaths.csv", "audit.json"):
        assert (first / name).read_bytes() == (other / name).read_bytes(), name
    seeds = [json.loads((f / "run.json").read_text())["seeds"] for f in (first, other)]
    assert seeds[0]["master"] == 20000 and seeds[1]["master"] == 7
    assert seeds[0]["per_fit"] != seeds[1]["per_fit"]


@pytest.mark.slow
def test_a_fresh_process_reproduces_the_results(first, tmp_path):
    """The same run in another Python process (its own compilation): the same bytes."""
    code = (
        "import sys; from resurv.run import run_study, quick_settings; "
        f"run_study(sys.argv[1], out=sys.argv[2], settings=quick_settings(**{QUICK!r}))"
    )
    out = tmp_path / "fresh"
    subprocess.run([sys.executable, "-c", code, str(FLAGSHIP), str(out)], check=True, timeout=1800)
    for name in comparable_files(first):
        assert (first / name).read_bytes() == (out / name).read_bytes(), name


# -- interrupted runs ---------------------------------------------------------------------------


def _default_sigint() -> None:  # a shell may start children with SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli_run(target: Path) -> subprocess.Popen:
    args = ["run", str(FLAGSHIP), "--out", str(target), "--force", *CLI_QUICK]
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=target.parent,
        preexec_fn=_default_sigint,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    """Wait for the run; its exit status and its stderr with the wrapping undone."""
    _, err = proc.communicate(timeout=600)
    return proc.returncode, " ".join(err.split())


def assert_old_or_new_never_a_mix(target: Path, before: dict[str, str]) -> None:
    if folder_hashes(target) != before:  # the run got to the swap: the new results, whole
        assert_complete(target)
    assert only(target) == [target.name]  # no temporary or old folder left beside it


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_keeps_the_previous_results(previous, sig):
    target, before = previous
    proc = start_cli_run(target)
    time.sleep(1.0)  # auditing and compiling by now
    proc.send_signal(sig)
    status, err = finish(proc)
    assert status == EXIT_INTERRUPTED, err  # the run takes far longer than 1 s
    assert "interrupted; results that were already complete are untouched" in err
    assert "Traceback" not in err
    assert folder_hashes(target) == before
    assert_old_or_new_never_a_mix(target, before)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_run_interrupted_while_writing_keeps_old_or_new_results(previous, sig):
    """The signal arrives once the temporary results folder exists: mid-write.

    The folder then holds the old results (the usual case) or, if the swap had already
    happened, the new ones - never a mix. Exit 0 means the interrupt was lost (see
    ``test_an_interrupt_inside_a_finaliser_still_stops_the_swap``)."""
    target, before = previous
    proc = start_cli_run(target)
    deadline = time.monotonic() + 1800
    while not any(p.name.startswith(f".{target.name}.tmp-") for p in target.parent.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(sig)
    status, err = finish(proc)
    assert status in (EXIT_INTERRUPTED, 0), err
    assert_old_or_new_never_a_mix(target, before)


class SignalInFinaliser:
    """Sends a signal to this process from ``__del__``: its handler runs inside a finaliser."""

    def __init__(self, sig):
        self.sig = sig

    def __del__(self):
        os.kill(os.getpid(), self.sig)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_inside_a_finaliser_still_stops_the_swap(tmp_path, sig):
    dest = tmp_path / "study"
    with atomic_folder(dest) as tmp:
        (tmp / "x").write_text("old")
    with sigterm_as_interrupt(), pytest.raises(KeyboardInterrupt):
        with atomic_folder(dest, force=True) as tmp:
            (tmp / "x").write_text("new")
            finaliser = SignalInFinaliser(sig)
            del finaliser  # the handler's KeyboardInterrupt is raised inside __del__
    assert (dest / "x").read_text() == "old"


# -- failed fits --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    """``resurv run`` with a gate no fit passes: exit status, printed summary, folder."""
    folder = tmp_path_factory.mktemp("failed") / "grazi2000"
    gate = functools.partial(RunSettings, thresholds=IMPOSSIBLE_GATE, marginal_likelihood=False)
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.setattr(resurv.run, "RunSettings", gate)
        with pytest.warns(ResurvFitWarning, match="failed its diagnostics"):
            status = main(["run", str(FLAGSHIP), "--out", str(folder), *CLI_QUICK])
    return status, stdout.getvalue(), folder


def test_a_failed_fit_sets_the_exit_status_and_says_so(failed):
    status, stdout, folder = failed
    assert status == EXIT_DIAGNOSTICS
    assert f"FAILED DIAGNOSTICS (1): {PRIMARY}" in stdout
    assert_complete(folder)  # results are written, and marked


def test_a_failed_fit_is_marked_in_every_table(failed):
    _, _, folder = failed
    tables = folder / "tables"
    sensitivity = pd.read_csv(tables / "sensitivity.csv")
    assert set(sensitivity["status"]) == {"failed"}
    diagnostics = pd.read_csv(tables / "diagnostics.csv")
    assert set(diagnostics["status"]) == {"failed"} and not diagnostics["passed"].any()
    assert diagnostics["failures"].str.contains("1e\\+09|1000000000", regex=True).all()
    # the gate failed, not the sampler: the chains themselves are healthy
    assert (diagnostics["ess_bulk"] >= 400).all() and (diagnostics["rhat"] <= 1.01).all()
    assert (diagnostics["divergences"] == 0).all()
    candidates = pd.read_csv(tables / "candidates.csv")
    assert set(candidates["fit_key"]) == {PRIMARY}


def test_a_failed_fit_is_listed_in_run_json(failed):
    _, _, folder = failed
    run_json = json.loads((folder / "run.json").read_text())
    assert run_json["all_passed"] is False
    (fit,) = run_json["fits"]
    assert fit["fit_key"] == PRIMARY and fit["status"] == "failed"
    assert fit["failures"] and any("ess" in f.lower() for f in fit["failures"])


def test_run_json_records_the_gate_the_run_was_held_to(failed):
    _, _, folder = failed
    settings = json.loads((folder / "run.json").read_text())["settings"]
    assert settings["thresholds"]["ess_bulk_min"] == IMPOSSIBLE_GATE["ess_bulk_min"]
    assert settings["marginal_likelihood"] is False


def test_a_failed_fit_is_marked_in_the_report_and_the_captions(failed):
    _, _, folder = failed
    report = (folder / "report.md").read_text()
    assert "1 of 1 fits failed their convergence diagnostics" in report
    assert f"{PRIMARY} {FAILED_MARK}" in report or f"{PRIMARY}{FAILED_MARK}" in report
    captions = [line for line in report.splitlines() if line.startswith("**Figure ")]
    assert len(captions) >= 6
    from_the_fit = [c for c in captions if "Audit:" not in c]  # the audit needs no fit
    assert len(from_the_fit) == len(captions) - 1
    for caption in from_the_fit:  # every figure drawn from the failed fit carries the mark
        assert FAILED_MARK in caption, caption
    page = (folder / "report.html").read_text()
    assert f'<span class="failed">{FAILED_MARK}</span>' in page
    assert '<tr class="failed">' in page


# -- input is data only --------------------------------------------------------------------------

OUTPUT_DIR_FILES = sorted(BAD.glob("output_dir_*.toml"))


@pytest.mark.parametrize("path", OUTPUT_DIR_FILES, ids=lambda p: p.stem)
def test_an_output_dir_outside_results_is_refused_by_the_cli(path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(path), "--force"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "output.dir" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing was created anywhere below


def test_the_corpus_holds_the_escapes():
    assert len(OUTPUT_DIR_FILES) >= 8
    dirs = " ".join(p.read_text() for p in OUTPUT_DIR_FILES)
    for escape in ('"/etc', '"../../etc"', '"C:/', '"~/', '"//', "runs/../../etc", "\\\\"):
        assert escape in dirs, escape


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(name=st.text(min_size=0, max_size=80))
def test_file_names_from_ids_stay_in_the_results_folder(name, tmp_path_factory):
    folder = tmp_path_factory.getbasetemp()
    token = safe_name(name)
    assert re.fullmatch(r"[A-Za-z0-9._-]{1,120}", token) and not token.startswith(".")
    path = confined(folder, "figures", f"{token}.png")
    assert path.parent == (folder / "figures").resolve()


def test_every_written_file_lies_inside_the_results_folder(first):
    root = first.resolve()
    for p in first.rglob("*"):
        assert not p.is_symlink(), p
        assert root in p.resolve().parents, p


#: code that would run what a file contains
DANGEROUS = re.compile(
    r"(?<![\w.])(eval|exec)\s*\(|pickle\.loads?\b|yaml\.(unsafe_)?load\b|marshal\.loads?\b|"
    r"shelve\.open|os\.system\s*\(|dill\.|cloudpickle\."
)


def test_the_package_never_evaluates_input():
    """A cheap static check: no eval/exec/pickle/yaml.load/marshal anywhere in the package."""
    sources = sorted(SRC.rglob("*.py"))
    assert len(sources) > 20
    hits = [
        f"{p.name}:{i}: {line.strip()}"
        for p in sources
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if DANGEROUS.search(line)
    ]
    assert hits == []
    assert DANGEROUS.search("x = eval(s)") and DANGEROUS.search("pickle.load(f)")
    assert not DANGEROUS.search("executor.submit(fn)") and not DANGEROUS.search("evaluate(x)")


HOSTILE = '<script>alert("x")</script> [link](javascript:alert(1)) ../../etc/passwd &amp; |a|b|'


def test_text_of_the_study_file_stays_text(first, tmp_path):
    """Titles, labels, quotes and notes are escaped in report.html and change no number."""
    text = FLAGSHIP.read_text(encoding="utf-8")
    hostile = text
    for key in ("title", "label", "quote", "note"):
        hostile = re.sub(
            rf'^({key} = ")(.*)"$',
            lambda m: f'{m.group(1)}{m.group(2)} {json.dumps(HOSTILE)[1:-1]}"',
            hostile,
            flags=re.M,
        )
    assert hostile.count("<script>") >= 20
    study = tmp_path / "hostile.toml"
    study.write_text(hostile, encoding="utf-8")
    folder = run_study(study, out=tmp_path / "hostile", settings=quick()).folder
    assert only(folder) == ["hostile", "hostile.toml"]
    page = (folder / "report.html").read_text()
    assert "<script>alert" not in page and 'href="javascript' not in page.lower()
    assert "&lt;script&gt;alert" in page
    run_json = json.loads((folder / "run.json").read_text())
    assert run_json["study"]["sha256"] == hashlib.sha256(study.read_bytes()).hexdigest()
    numbers = ["median", "lower_95", "upper_95"]
    a = pd.read_csv(first / "tables" / "sensitivity.csv")
    b = pd.read_csv(folder / "tables" / "sensitivity.csv")
    pd.testing.assert_frame_equal(a[["quantity", *numbers]], b[["quantity", *numbers]])
    for p in folder.rglob("*"):
        assert folder.resolve() in p.resolve().parents


# -- bad input never loses a result -----------------------------------------------------------

BAD_EXAMPLES = [
    "syntax_error.toml",
    "binary_garbage.toml",
    "output_dir_escapes.toml",
    "arm_too_large.toml",
    "unknown_kind.toml",
    "figure_rounding_two_values.toml",
]


@pytest.mark.parametrize("name", BAD_EXAMPLES)
def test_bad_input_with_force_leaves_earlier_results_intact(previous, name, capsys):
    target, before = previous
    assert main(["run", str(BAD / name), "--out", str(target), "--force"]) == EXIT_BAD_INPUT
    assert "Traceback" not in capsys.readouterr().err
    assert folder_hashes(target) == before
    assert only(target) == [target.name]


def test_an_unprintable_figure_found_mid_run_leaves_earlier_results_intact(
    previous, tmp_path, capsys
):
    """A file that loads, but whose 92.6% no actuarial table of 4 patients prints: the run
    stops at the likelihood (after the destination check) with exit 2; nothing is lost."""
    target, before = previous
    text = FLAGSHIP.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip() == 'id = "resected"')
    assert lines[at + 1].strip() == "n = 19"
    lines[at + 1] = "n = 4\n"
    study = tmp_path / "unprintable.toml"
    study.write_text("".join(lines), encoding="utf-8")
    status = main(["run", str(study), "--out", str(target), "--force", *CLI_QUICK])
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT, err
    assert "prints" in err and "Traceback" not in err
    assert folder_hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grazi2000", "unprintable.toml"]
