"""Where the exact audit and the exact likelihood of a landmark figure hold, and how fast.

For arm sizes n = 10 ... 150, yearly life-table intervals K = 4 ... 10 and printed values
(50.0%, 90.0% and 26.0% at year K, rounding "either"), each row gives:

- the landmark graph (``build_landmark_graph``, default budget): build time, states kept
  (or reached when it stopped at its budget) and the exact number of configurations;
- the exact feasibility and deaths range (``deaths_bounds``): time, range, and whether it
  was decided exactly;
- when the graph is complete, evaluations per second of the exact likelihood's compiled
  kernel (log density and gradient, forward form, merged graph; the flagship's censoring,
  accrual 1981-1998, close 1999), called directly (no PyTensor
  overhead; ``bench_loglik.py`` measures the compiled model).

Then two or three landmarks per arm (1, 3 and 5 years), both estimators.

Run: ``python benchmarks/bench_audit.py [--sizes 10 20 30 50 75 100 150] [--intervals 4 6 8 10]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from resurv.audit.landmark_bounds import deaths_bounds
from resurv.audit.landmark_dp import DEFAULT_MAX_EDGES, DEFAULT_MAX_STATES, build_landmark_graph
from resurv.errors import AuditError
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_kernel import ExactLandmarkOp, forward_kernel
from resurv.model.landmark_terms import ExactLandmark
from resurv.study.schema import Printed

PRINTED = (Printed(50.0, 1), Printed(90.0, 1), Printed(26.0, 1))
JOINT = (
    (Printed(90.0, 1), Printed(70.0, 1), Printed(50.0, 1)),
    (Printed(80.0, 1), Printed(50.0, 1), Printed(26.0, 1)),
)


def evaluations_per_second(graph, k: int, seconds: float = 0.5) -> float:
    """Log density + gradient evaluations per second of the forward kernel on ``graph``."""
    censoring = CensoringModel(1981.0, 1998.0, 1999.0)
    term = ExactLandmark("a", [graph], censoring, form="forward")
    data = term.data()
    arrays = [np.asarray(data[key]) for key in ExactLandmarkOp("forward").data_keys]
    lams = np.exp(np.random.default_rng(1).normal(np.log(0.15), 0.5, 50))
    forward_kernel(np.asarray(lams[0]), np.asarray(1.0), *arrays)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for lam in lams:
            forward_kernel(np.asarray(lam), np.asarray(1.0), *arrays)
        count += len(lams)
    return count / (time.perf_counter() - start)


def row(n, checkpoints, estimator, budget, k_for_rate):
    start = time.perf_counter()
    g = build_landmark_graph(n, checkpoints, estimator=estimator, **budget)
    built = time.perf_counter() - start
    start = time.perf_counter()
    b = deaths_bounds(n, checkpoints, estimator=estimator)
    decided = time.perf_counter() - start
    count = "not counted" if g.truncated else f"{g.n_configurations():,}"
    rate = ""
    if not g.truncated and g.n_configurations():
        try:
            rate = f"{evaluations_per_second(g, k_for_rate):,.0f}"
        except AuditError:  # e.g. it needs withdrawals where the censoring model has none
            rate = "n/a"
    states = f"{g.summary.n_states:,}" + ("" if g.summary.complete else "+")
    if b.feasible is False:
        deaths = "impossible"
    elif b.deaths_range is None:
        deaths = "undecided"
    else:
        lo, hi = b.deaths_range
        deaths = f"{lo}-{hi}" + ("" if b.exact else " (bounds)")
    return built, states, count, decided, deaths, b.exact, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 30, 50, 75, 100, 150])
    parser.add_argument("--intervals", type=int, nargs="+", default=[4, 6, 8, 10])
    args = parser.parse_args()
    budget = {"max_states": DEFAULT_MAX_STATES, "max_edges": DEFAULT_MAX_EDGES}
    print(f"command: python benchmarks/bench_audit.py --sizes {' '.join(map(str, args.sizes))} "
          f"--intervals {' '.join(map(str, args.intervals))}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    print(f"graph budget: max_states={DEFAULT_MAX_STATES:,}, max_edges={DEFAULT_MAX_EDGES:,}\n")
    head = (
        "| printed | K | n | graph s | states | configurations | evals/s | "
        "deaths s | deaths | exact |"
    )
    print(head)
    print("|" + "---|" * 10)
    for printed in PRINTED:
        for k in args.intervals:
            for n in args.sizes:
                built, states, count, decided, deaths, exact, rate = row(
                    n, [(k, printed, "either")], "actuarial", budget, k
                )
                print(
                    f"| {printed}% | {k} | {n} | {built:.2f} | {states} | {count} | {rate} | "
                    f"{decided:.2f} | {deaths} | {'yes' if exact else 'no'} |",
                    flush=True,
                )
    print("\nseveral landmarks per arm (1, 3 and 5 years)\n")
    print("| printed | estimator | n | graph s | states | configurations | evals/s | "
          "deaths s | deaths | exact |")  # fmt: skip
    print("|" + "---|" * 10)
    for values in JOINT:
        cps = [(t, p, "either") for t, p in zip((1, 3, 5), values, strict=True)]
        text = ", ".join(f"{p}%" for p in values)
        for estimator in ("actuarial", "kaplan-meier"):
            for n in (20, 50, 100):
                built, states, count, decided, deaths, exact, rate = row(
                    n, cps, estimator, budget, 5
                )
                print(
                    f"| {text} | {estimator} | {n} | {built:.2f} | {states} | {count} | "
                    f"{rate} | {decided:.2f} | {deaths} | {'yes' if exact else 'no'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
