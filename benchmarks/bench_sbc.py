"""Scaling of simulation-based calibration of the flagship design: 1 vs 2 local workers.

The same SBC (``resurv.calibration.calibrate`` on ``models/grazi2000.toml``: Exponential,
weakly informative prior, exact landmark likelihood, 2 chains x 1000 draws per fit, the
default settings of ``SimulationSettings``) runs twice with the same seeds:

(1) in this process, one replicate after the other (the model is compiled once, here);
(2) on ``resurv.parallel.local_executor(2)``, a pool of two fresh processes (each compiles
    the model once).

Printed: both wall times, the parallel efficiency ``T1 / (2 T2)`` (target >= 0.8), the
replicate statuses, the compile counts, whether both runs gave identical ranks, and whether
a 200-replicate SBC on 2 workers finishes in under 15 minutes (measured, or extrapolated
from ``--replicates N`` when N < 200: the replicates that compiled once, the others scaled).

Run: ``python benchmarks/bench_sbc.py [--replicates 200] [--seed 2000]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "models" / "grazi2000.toml"


def timed_run(study, settings, executor=None):
    from resurv.calibration.sbc import calibrate

    start = time.perf_counter()
    outcome = calibrate(study, settings, executor=executor)
    return outcome, time.perf_counter() - start


def describe(label: str, outcome, seconds: float) -> None:
    counts = {s: outcome.count(s) for s in ("ok", "failed", "unhandled")}
    fitted = outcome.replicates.loc[outcome.replicates["status"] != "unhandled", "seconds"]
    print(
        f"{label}: {seconds:7.1f} s; statuses {counts}; compiles {outcome.cache['compiles']}; "
        f"seconds per fitted replicate: mean {fitted.mean():.1f}, median {fitted.median():.1f}, "
        f"max {fitted.max():.1f}"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2000)
    args = parser.parse_args(argv)
    from resurv.calibration.settings import SimulationSettings
    from resurv.parallel import local_executor
    from resurv.study.load import load_study

    print(f"command: python benchmarks/bench_sbc.py --replicates {args.replicates} "
          f"--seed {args.seed}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    study = load_study(STUDY)
    settings = SimulationSettings(replicates=args.replicates, seed=args.seed)
    print(
        f"SBC of {study.id}: {args.replicates} replicates, {settings.family}, "
        f"{settings.prior}, {settings.chains} x {settings.draws} draws (tune {settings.tune})"
    )
    one, t1 = timed_run(study, settings)
    describe("1 worker  (in process)", one, t1)
    pool = local_executor(2)
    try:
        two, t2 = timed_run(study, settings, executor=pool)
    finally:
        pool.shutdown()
    describe("2 workers (process pool)", two, t2)
    efficiency = t1 / (2 * t2)
    print(f"parallel efficiency T1 / (2 T2) = {t1:.1f} / (2 x {t2:.1f}) = {efficiency:.2f} "
          f"(target >= 0.8: {'met' if efficiency >= 0.8 else 'NOT met'})")  # fmt: skip
    print(f"identical ranks in both runs: {one.ranks.equals(two.ranks)}")
    # extrapolation: the compiling replicates once, the others scaled to 200 replicates
    reps = two.replicates
    startup = reps.loc[reps["compiled_from_cache"] == False, "seconds"].max()  # noqa: E712
    t200 = startup + (t2 - startup) * 200 / args.replicates
    how = "measured" if args.replicates == 200 else f"extrapolated from {args.replicates}"
    print(f"200 replicates on 2 workers: {t200 / 60:.1f} min ({how}); "
          f"under 15 min: {'yes' if t200 < 900 else 'no'}")  # fmt: skip
    print(one.summary_text())


if __name__ == "__main__":
    main()
