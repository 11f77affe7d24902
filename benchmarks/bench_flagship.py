"""Wall time of the full flagship reanalysis from a cold and from a warm start, and where it goes.

The run is ``resurv.pipeline.run_study("models/grazi2000.toml")``, what ``make run`` does: the
study file's settings (Exponential and Weibull x five prior sets, 4 chains x 1000 draws, the
sensitivity sweep over the study close, the SMC marginal likelihoods, the replicate studies of
the primary fit), then the results folder and the report (into a temporary folder).

"Cold" means a fresh Python process whose PyTensor compile directory (``PYTENSOR_FLAGS=
base_compiledir=...``, which holds PyTensor's and resurv's Numba caches), ``NUMBA_CACHE_DIR``,
``MPLCONFIGDIR`` and ``HOME`` point to new empty temporary folders. "Warm" is a second fresh
process with the same folders, as a user's second ``make run`` is. The operating system's
file cache is not cleared. Imports are timed separately from the run.

The parts are timed from outside by wrapping functions in the child process (no library file
is edited); a part's time excludes the parts nested inside it:

- compiling: ``resurv.fit.compile.compile_model`` (one per model structure);
- sampling: ``resurv.fit.sampling._sample`` (nutpie's NUTS, to the returned trace);
- enumerating: the audit (``resurv.audit.study_audit.audit``), the landmark graphs
  (``resurv.audit.landmark_dp.build_landmark_graph``) and the likelihood terms built from them
  (``resurv.model.study_terms.study_terms``);
- marginal: the marginal likelihoods (``resurv.fit.marginal.smc_task``);
- report: ``resurv.run.write.write_results`` and ``resurv.report.build.write_report``;
- the rest: model building, diagnostics, posterior quantities, replicate studies.

Targets (issue 11): cold <= 60 s, warm <= 20 s for the whole process.

Run: ``python benchmarks/bench_flagship.py --cold`` (cold then warm, the default), or
``--workers 2`` (a local process pool; the parts are then not timed, only the wall time).
``--study benchmarks/studies/two_arm_km.toml`` times another study the same way (the
two-arm Kaplan-Meier case of issue 11: target <= 60 s cold).
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
TARGETS = {"cold": 60.0, "warm": 20.0}
PARTS = ("compiling", "sampling", "enumerating", "marginal", "report", "the rest")


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


def child(workers: int, out: str, study: str) -> None:
    start = time.perf_counter()
    import nutpie  # noqa: F401 - its import is timed with the others

    import resurv.audit.landmark_dp
    import resurv.fit.compile
    import resurv.fit.sampling
    import resurv.pipeline
    import resurv.report.build
    import resurv.run.reanalysis
    from resurv.run.values import RunSettings

    imports = time.perf_counter() - start
    timers = Timers()
    if workers == 1:
        timers.wrap(resurv.fit.compile, "compile_model", "compiling")
        timers.wrap(resurv.fit.sampling, "_sample", "sampling")
        timers.wrap(resurv.run.reanalysis, "audit", "enumerating")
        timers.wrap(resurv.audit.landmark_dp, "build_landmark_graph", "enumerating")
        timers.wrap(resurv.run.reanalysis, "study_terms", "enumerating")
        timers.wrap(resurv.run.reanalysis, "smc_task", "marginal")
        timers.wrap(resurv.pipeline, "write_results", "report")
        timers.wrap(resurv.report.build, "write_report", "report")
    start = time.perf_counter()
    outcome = resurv.pipeline.run_study(study, out=out, settings=RunSettings(workers=workers))
    wall = time.perf_counter() - start
    result = outcome.reanalysis
    print(
        json.dumps(
            {
                "imports": imports,
                "wall": wall,
                "parts": timers.total,
                "calls": timers.calls,
                "fits": len(result.outcomes),
                "failed": [o.task.key for o in result.outcomes if o.status != "ok"],
                "marginal": len(result.marginal),
            }
        )
    )


def _run(env: dict, workers: int, out: Path, study: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", "--workers", str(workers), "--out", str(out)]
    cmd += ["--study", str(study)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    total = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"the run failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["process"] = total
    return r


def _print(label: str, r: dict, workers: int) -> None:
    print(
        f"{label}: process {r['process']:.1f} s = imports {r['imports']:.1f} s + run "
        f"{r['wall']:.1f} s + start-up {r['process'] - r['imports'] - r['wall']:.1f} s; "
        f"{r['fits']} NUTS fits + {r['marginal']} marginal likelihoods; failed diagnostics: "
        f"{r['failed'] or 'none'}"
    )
    if workers == 1:
        parts = dict(r["parts"])
        parts["the rest"] = r["wall"] - sum(parts.values())
        print(f"  {'part':<12} {'seconds':>8} {'share':>6} {'calls':>6}")
        for name in PARTS:
            calls = r["calls"].get(name, "")
            print(f"  {name:<12} {parts[name]:>8.1f} {parts[name] / r['wall']:>6.1%} {calls:>6}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cold", action="store_true", help="cold then warm (the default)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--study", type=Path, default=STUDY, help="a study file (the flagship)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.workers, args.out, str(args.study))
        return
    study = args.study.resolve()
    shown = study.relative_to(ROOT) if study.is_relative_to(ROOT) else study
    print(f"command: python benchmarks/bench_flagship.py --cold --workers {args.workers} "
          f"--study {shown}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="resurv-cold-") as tmp:
        env = dict(os.environ)
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp}/pytensor"
        env["NUMBA_CACHE_DIR"] = f"{tmp}/numba"
        env["MPLCONFIGDIR"] = f"{tmp}/matplotlib"
        env["HOME"] = f"{tmp}/home"
        env["XDG_CACHE_HOME"] = f"{tmp}/cache"
        os.makedirs(env["HOME"])
        runs = {}
        for label in ("cold", "warm"):
            runs[label] = _run(env, args.workers, Path(tmp) / f"results-{label}", study)
            _print(label, runs[label], args.workers)
    cold, warm = runs["cold"]["process"], runs["warm"]["process"]
    print(f"cold / warm = {cold:.1f} s / {warm:.1f} s = {cold / warm:.1f}")
    for label, r in runs.items():
        target = TARGETS[label]
        verdict = "met" if r["process"] <= target else "NOT met"
        print(f"{label}: {r['process']:.1f} s / target {target:.0f} s = "
              f"{r['process'] / target:.2f}: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
