"""Build time, size and configuration count of the landmark graph, and where the budget bites.

For arm sizes n = 10, 15, ..., 40, yearly life-table intervals (4 and 5 of them) and two
printed values (a median-like 50.0% and a high 90.0%), the actuarial landmark graph is built
with the default budget (``DEFAULT_MAX_STATES``, ``DEFAULT_MAX_EDGES``). The table shows the
build time, the states and edges kept (or reached, when the build stopped at its budget) and
the number of feasible configurations. Then, for larger arms, the time the bounded build
takes to give up and the time the depth-first search takes to find one configuration.

Run: ``python benchmarks/bench_audit.py [--sizes 10 15 20 25 30 35 40] [--max-states N]``.
"""

from __future__ import annotations

import argparse
import time

from resurv.audit.landmark_dp import DEFAULT_MAX_EDGES, DEFAULT_MAX_STATES, build_landmark_graph
from resurv.audit.landmark_search import find_configuration
from resurv.study.schema import Printed

PRINTED = (Printed(50.0, 1), Printed(90.0, 1))
INTERVALS = (4, 5)
LIMIT_SECONDS = 10.0


def build_row(n: int, k: int, printed: Printed, budget: dict) -> dict:
    start = time.perf_counter()
    g = build_landmark_graph(n, [(k, printed, "either")], **budget)
    seconds = time.perf_counter() - start
    count = None if g.truncated else g.n_configurations()
    return {
        "printed": f"{printed}%",
        "intervals": k,
        "n": n,
        "seconds": seconds,
        "complete": not g.truncated,
        "states": g.summary.n_states,
        "edges": g.summary.n_edges,
        "configurations": count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 15, 20, 25, 30, 35, 40])
    parser.add_argument("--large", type=int, nargs="+", default=[60, 100, 200])
    parser.add_argument("--max-states", type=int, default=DEFAULT_MAX_STATES)
    parser.add_argument("--max-edges", type=int, default=DEFAULT_MAX_EDGES)
    args = parser.parse_args()
    budget = {"max_states": args.max_states, "max_edges": args.max_edges}

    print(f"budget: max_states={args.max_states:,}, max_edges={args.max_edges:,}\n")
    head = (
        f"{'printed':>8} {'K':>2} {'n':>4} {'seconds':>8} {'states':>10} {'edges':>11} "
        f"{'configurations':>16}"
    )
    print(head)
    print("-" * len(head))
    rows = []
    for printed in PRINTED:
        for k in INTERVALS:
            for n in args.sizes:
                row = build_row(n, k, printed, budget)
                rows.append(row)
                configs = f"{row['configurations']:,}" if row["complete"] else "stopped (budget)"
                print(
                    f"{row['printed']:>8} {k:>2} {n:>4} {row['seconds']:>8.2f} "
                    f"{row['states']:>10,} {row['edges']:>11,} {configs:>16}",
                    flush=True,
                )

    print("\nlargest n whose exact graph is built within the budget and under 10 s:")
    for printed in PRINTED:
        for k in INTERVALS:
            ok = [
                r["n"]
                for r in rows
                if r["printed"] == f"{printed}%"
                and r["intervals"] == k
                and r["complete"]
                and r["seconds"] < LIMIT_SECONDS
            ]
            worst = max(
                (
                    r["seconds"]
                    for r in rows
                    if r["printed"] == f"{printed}%" and r["intervals"] == k
                ),
                default=0.0,
            )
            print(
                f"  {printed}% at {k} years: n <= {max(ok) if ok else 'none'} "
                f"(slowest build of the row {worst:.2f} s)"
            )

    print("\nlarger arms: bounded build, then a search for one configuration (50.0%, 5 years)")
    print(f"{'n':>5} {'build s':>8} {'complete':>9} {'search s':>9}  found")
    for n in args.large:
        start = time.perf_counter()
        g = build_landmark_graph(n, [(5, Printed(50.0, 1), "either")], **budget)
        built = time.perf_counter() - start
        start = time.perf_counter()
        found = find_configuration(n, [(5, Printed(50.0, 1), "either")])
        searched = time.perf_counter() - start
        deaths = sum(found.configuration[0:-1:2]) if found.configuration else None
        what = f"{deaths} deaths before year 5" if deaths is not None else "no"
        print(f"{n:>5} {built:>8.2f} {str(not g.truncated):>9} {searched:>9.2f}  {what}")


if __name__ == "__main__":
    main()
