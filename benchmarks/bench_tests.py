"""Wall time of the default test suite from a cold start: a fresh clone, empty caches.

The suite is the README's test command (``pytest -q -n auto``, what ``make test`` runs) in a
fresh ``git clone`` of this repository, with ``HOME``, the PyTensor compile directory (which
holds PyTensor's and resurv's Numba caches), ``NUMBA_CACHE_DIR``, ``MPLCONFIGDIR`` and
``XDG_CACHE_HOME`` pointed at new empty folders, so no compiled model survives from an
earlier run. The virtual environment is this checkout's ``.venv`` (already built), with the
clone's sources first on the path. Target (issue 11): under 5 minutes.

Run: ``python benchmarks/bench_tests.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 300.0


def main() -> None:
    print("command: python benchmarks/bench_tests.py")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="resurv-tests-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        env = dict(os.environ)
        env.update(
            HOME=f"{tmp}/home",
            PYTENSOR_FLAGS=f"base_compiledir={tmp}/pytensor",
            NUMBA_CACHE_DIR=f"{tmp}/numba",
            MPLCONFIGDIR=f"{tmp}/matplotlib",
            XDG_CACHE_HOME=f"{tmp}/cache",
            PYTHONPATH=str(clone / "src"),
        )
        os.makedirs(env["HOME"])
        cmd = [sys.executable, "-m", "pytest", "-q", "-n", "auto", "-p", "no:cacheprovider"]
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=clone, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    summary = [line for line in out.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(f"tests: {summary[-1] if summary else out.stdout[-500:]}")
    if out.returncode != 0:
        sys.exit(f"the test suite failed (exit {out.returncode}):\n{out.stdout[-3000:]}")
    verdict = "met" if wall <= TARGET_SECONDS else "NOT met"
    print(f"cold test suite: {wall:.0f} s / target {TARGET_SECONDS:.0f} s = "
          f"{wall / TARGET_SECONDS:.2f}: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
