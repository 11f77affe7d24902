"""Wall time of the full flagship reanalysis from a cold start, and where it goes.

The run is ``resurv.run.reanalyse(load_study("models/grazi2000.toml"), RunSettings())``: the
study file's settings (Exponential and Weibull x five prior sets, 4 chains x 1000 draws, the
sensitivity sweep over the study close, the SMC marginal likelihoods and the replicate
studies of the primary fit).

"Cold" means: a fresh Python process (the in-memory compiled-model cache of
``resurv.fit.cache`` is empty) whose PyTensor compile directory (``PYTENSOR_FLAGS=
base_compiledir=...``, which holds PyTensor's Numba cache) and ``NUMBA_CACHE_DIR`` point to new
empty temporary folders. The operating system's file cache is not cleared. Imports are timed
separately from the run.

The parts are timed from outside by wrapping functions in the child process (no library file
is edited); a part's time excludes the parts nested inside it:

- compiling: ``nutpie.compile_pymc_model`` (one per model structure);
- sampling: ``nutpie.sample`` (NUTS);
- enumerating: the audit (``resurv.audit.study_audit.audit``), the landmark graphs
  (``resurv.audit.landmark_dp.build_landmark_graph``) and the likelihood terms built from them
  (``resurv.model.study_terms.study_terms``);
- SMC: ``pymc.sample_smc`` (marginal likelihoods, its own PyTensor compilation included);
- the rest: model building, diagnostics, posterior quantities, replicate studies, tables.

With ``--workers 2`` the run uses a local process pool; the parts are then not timed (they
run in the workers), only the wall time. Target: the whole run in under 3 minutes.

Run: ``python benchmarks/bench_flagship.py [--workers 1]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "models" / "grazi2000.toml"
TARGET_SECONDS = 180.0
PARTS = ("compiling", "sampling", "enumerating", "SMC", "the rest")


class Timers:
    """Exclusive timers: time in a wrapped call minus the wrapped calls nested inside it."""

    def __init__(self):
        self.total = dict.fromkeys(PARTS[:-1], 0.0)
        self.calls = dict.fromkeys(PARTS[:-1], 0)
        self.stack: list[list[float]] = []  # [start, time of nested wrapped calls]

    def wrap(self, owner, name: str, part: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            self.stack.append([time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                start, nested = self.stack.pop()
                elapsed = time.perf_counter() - start
                self.total[part] += elapsed - nested
                self.calls[part] += 1
                if self.stack:
                    self.stack[-1][1] += elapsed

        setattr(owner, name, timed)


def child(workers: int) -> None:
    start = time.perf_counter()
    import nutpie
    import pymc

    import resurv.audit.landmark_dp
    import resurv.run.reanalysis
    from resurv.run.reanalysis import reanalyse
    from resurv.run.values import RunSettings
    from resurv.study.load import load_study

    imports = time.perf_counter() - start
    timers = Timers()
    if workers == 1:
        timers.wrap(nutpie, "compile_pymc_model", "compiling")
        timers.wrap(nutpie, "sample", "sampling")
        timers.wrap(resurv.run.reanalysis, "audit", "enumerating")
        timers.wrap(resurv.audit.landmark_dp, "build_landmark_graph", "enumerating")
        timers.wrap(resurv.run.reanalysis, "study_terms", "enumerating")
        timers.wrap(pymc, "sample_smc", "SMC")
    start = time.perf_counter()
    result = reanalyse(load_study(STUDY), RunSettings(workers=workers))
    wall = time.perf_counter() - start
    print(
        json.dumps(
            {
                "imports": imports,
                "wall": wall,
                "parts": timers.total,
                "calls": timers.calls,
                "fits": len(result.outcomes),
                "failed": [o.task.key for o in result.outcomes if o.status != "ok"],
                "smc": len(result.marginal),
            }
        )
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.workers)
        return
    print(f"command: python benchmarks/bench_flagship.py --workers {args.workers}")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="resurv-cold-") as tmp:
        env = dict(os.environ)
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp}/pytensor"
        env["NUMBA_CACHE_DIR"] = f"{tmp}/numba"
        cmd = [sys.executable, __file__, "--child", "--workers", str(args.workers)]
        start = time.perf_counter()
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
        total = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"the run failed:\n{out.stderr[-3000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"cold run, {r['fits']} NUTS fits + {r['smc']} SMC runs, {args.workers} worker(s); "
        f"failed diagnostics: {r['failed'] or 'none'}"
    )
    print(f"process wall time {total:.1f} s = imports {r['imports']:.1f} s + run {r['wall']:.1f} s")
    if args.workers == 1:
        parts = dict(r["parts"])
        parts["the rest"] = r["wall"] - sum(parts.values())
        print(f"{'part':<12} {'seconds':>8} {'share':>6} {'calls':>6}")
        for name in PARTS:
            calls = r["calls"].get(name, "")
            share = parts[name] / r["wall"]
            print(f"{name:<12} {parts[name]:>8.1f} {share:>6.1%} {calls:>6}")
    verdict = "met" if r["wall"] < TARGET_SECONDS else "NOT met"
    print(
        f"run / target = {r['wall']:.0f} s / {TARGET_SECONDS:.0f} s = "
        f"{r['wall'] / TARGET_SECONDS:.2f}: target < 3 min {verdict}"
    )


if __name__ == "__main__":
    main()
