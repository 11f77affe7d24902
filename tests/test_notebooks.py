"""The teaching notebooks: committed without outputs, seeded, concluded, and executed end to end.

Every ``notebooks/*.ipynb`` is checked: valid nbformat with no stored outputs, a first code cell
that sets a seed, a last markdown cell "What we learned"; and it is executed in a fresh kernel,
failing on any cell error (the notebooks assert their own claims), on a fit that failed its
diagnostics, on a printed machine path, and on any file written into ``notebooks/``.

Execution fits every model the notebooks show; all three together take about 70 s on an idle
2-core machine (each notebook compiles its few model structures once), so the test stays in the
default suite. Mark it slow if that total grows past about 3 minutes.

The kernel is always this interpreter (``sys.executable``): the test writes its own kernelspec
into a temporary folder instead of relying on one being installed.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
#: seconds a single cell may take before the execution fails
CELL_TIMEOUT = 300
KERNEL_NAME = "resurv-test-python"
#: a first code cell must set a seed: ``SEED = 20000``, ``seed = 1``, ``np.random.seed(1)``, ...
SEED_PATTERN = re.compile(r"(?im)^\s*\w*seed\w*\s*=\s*\d+|random\.seed\(\s*\d+|default_rng\(\s*\d+")
CONCLUSION_PATTERN = re.compile(r"(?im)^\s*#+\s*what we learned\b")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_flagship_reanalysis.ipynb", "02_small_cohort_inference.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_and_has_no_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    stored = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not stored, (
        f"{path.name}: cells {stored} hold stored outputs; clear them before committing"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_starts_with_a_seed_cell(path):
    first = read(path).cells[0]
    assert first.cell_type == "code", f"{path.name}: the first cell must be code that sets a seed"
    assert SEED_PATTERN.search(first.source), (
        f"{path.name}: the first cell sets no seed; received {first.source!r}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_ends_with_what_we_learned(path):
    last = read(path).cells[-1]
    assert last.cell_type == "markdown", f"{path.name}: the last cell must be markdown"
    assert CONCLUSION_PATTERN.search(last.source), (
        f"{path.name}: the last cell must be a 'What we learned' section; "
        f"it starts {last.source[:80]!r}"
    )


def test_patterns_reject_what_they_should():
    """The checks above can fail: a cell without a seed and a plain closing remark do not pass."""
    assert not SEED_PATTERN.search("import numpy as np\nx = 1")
    assert not SEED_PATTERN.search("# set the seed later")
    assert SEED_PATTERN.search("# seeds\nSEED = 2000")
    assert SEED_PATTERN.search("rng = np.random.default_rng(7)")
    assert not CONCLUSION_PATTERN.search("That is all. We learned a lot.")
    assert CONCLUSION_PATTERN.search("## What we learned\n\n- one thing")


# -- execution --------------------------------------------------------------------------------


def kernel_manager(kernel_dir: Path):
    """A kernel manager whose only kernelspec runs this interpreter's ipykernel."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    spec = kernel_dir / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "resurv test kernel",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    return AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def text_outputs(nb: nbformat.NotebookNode) -> list[str]:
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out.get("text", ""))
            elif "data" in out:
                texts += [v for k, v in out["data"].items() if k.startswith("text/")]
            elif out.get("output_type") == "error":
                texts.append("\n".join(out.get("traceback", [])))
    return texts


def machine_paths() -> set[str]:
    """Folders of this machine that a notebook must never print."""
    paths = {str(ROOT), str(Path.home()), tempfile.gettempdir(), sys.prefix}
    return {p for p in paths if len(p) > 1}


def execute(nb: nbformat.NotebookNode, cwd: Path, tmp_path: Path, monkeypatch) -> Path:
    """Run every cell of ``nb`` in place in a fresh kernel; return the kernel's temp folder.

    Raises ``nbclient.exceptions.CellExecutionError``, naming the cell and its error, if a cell
    fails. The kernel's ``TMPDIR`` is a folder under ``tmp_path``.
    """
    from nbclient import NotebookClient

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # inherited by the kernel process
    client = NotebookClient(
        nb,
        km=kernel_manager(tmp_path / "kernels"),
        timeout=CELL_TIMEOUT,
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(cleanup_kc=True)
    return scratch


def output_problems(nb: nbformat.NotebookNode, scratch: Path) -> list[str]:
    """What an executed notebook must not show: failed fits and paths of this machine."""
    joined = "\n".join(text_outputs(nb))
    problems = []
    if "ResurvFitWarning" in joined:
        problems.append("a fit failed its diagnostics (ResurvFitWarning)")
    leaked = sorted(p for p in machine_paths() | {str(scratch)} if p in joined)
    if leaked:
        problems.append(f"prints machine paths {leaked}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes(path, tmp_path, monkeypatch):
    """Run every cell in a fresh kernel with the notebook's folder as working directory."""
    nb = read(path)
    before = sorted(NOTEBOOK_DIR.rglob("*"))
    scratch = execute(nb, path.parent, tmp_path, monkeypatch)
    assert not output_problems(nb, scratch), f"{path.name}: {output_problems(nb, scratch)}"
    assert sorted(NOTEBOOK_DIR.rglob("*")) == before, f"{path.name} wrote into the repository"


def test_execution_fails_on_errors_and_leaked_paths(tmp_path, monkeypatch):
    """The execution checks can fail: a cell error raises, a printed home folder is caught."""
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("SEED = 1"),
        nbformat.v4.new_code_cell("import pathlib\nprint(pathlib.Path.home())"),
        nbformat.v4.new_code_cell("raise ValueError('boom')"),
    ]
    with pytest.raises(CellExecutionError, match="boom"):
        execute(nb, tmp_path, tmp_path, monkeypatch)
    problems = output_problems(nb, tmp_path / "tmp")
    assert problems and "prints machine paths" in problems[0]
