"""The package layout follows the data flow: the import-linter contracts in pyproject.toml.

``lint-imports`` is run on the installed tree, and once on a copy with one upward import
added, to show the contract can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_contracts_are_kept():
    out = _lint()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 3 kept, 0 broken." in out.stdout


def _lint_with(tmp_path, module: str, line: str) -> subprocess.CompletedProcess:
    """``lint-imports`` on a copy of the package with ``line`` appended to ``module``."""
    shutil.copytree(ROOT / "src" / "resurv", tmp_path / "resurv")
    path = tmp_path / "resurv" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    return _lint(pythonpath=tmp_path)


def test_an_upward_import_breaks_the_layers(tmp_path):
    out = _lint_with(tmp_path, "study/schema.py", "import resurv.report.plots")
    assert out.returncode != 0
    assert "resurv.study is not allowed to import resurv.report" in out.stdout


def test_a_circle_between_siblings_breaks_the_acyclic_contract(tmp_path):
    out = _lint_with(tmp_path, "audit/printing.py", "import resurv.audit.wording")
    assert out.returncode != 0
    assert "no import circles between the modules of any package BROKEN" in out.stdout


def test_a_check_that_words_its_own_findings_breaks_the_audit_contract(tmp_path):
    out = _lint_with(tmp_path, "audit/counts.py", "import resurv.audit.wording")
    assert out.returncode != 0
    assert "resurv.audit.counts is not allowed to import resurv.audit.wording" in out.stdout
