"""Compile time of the exact landmark likelihood against the size of its feasible set.

The forward form of the exact landmark term (``landmark_term(..., form="forward")``) takes the
audit's pruned graph of interval counts as data: padded edge matrices read by one
``pytensor.scan`` over the life-table cells. Its compiled graph depends on the number of cells,
never on the arm size or the number of feasible configurations, so compile time should stay
flat while the graph grows by orders of magnitude. Each case is compiled in a fresh process with
an empty PyTensor compile directory (``nutpie.compile_pymc_model``, Numba backend; one Weibull
arm, weakly informative prior, the flagship's censoring: accrual 1981-1998, close 1999), so
no case profits from another's cache. Printed: states and edges of the graph, compile seconds,
log-density + gradient evaluations per second, and the ratio of the slowest to the fastest
compile among cases with the same number of cells.

Before this form, the pass was unrolled cell by cell into the graph: a two-landmark
Kaplan-Meier arm (16 cells) did not finish compiling in several minutes.

Run: ``python benchmarks/bench_compile_size.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CASES = [  # (estimator, arm sizes, [(time, printed percent)])
    ("actuarial", (9,), [(4, "55.6")]),
    ("actuarial", (19,), [(4, "92.6")]),
    ("actuarial", (30,), [(4, "70.0")]),
    ("kaplan-meier", (10,), [(2, "80.0"), (4, "60.0")]),
    ("kaplan-meier", (20,), [(2, "80.0"), (4, "60.0")]),
]

CHILD = r"""
import json, sys, time
import numpy as np
import nutpie
from resurv.fit import build_model
from resurv.model import CensoringModel, landmark_term
from resurv.study import Printed, SurvivalFigure

est, ns, lms = json.loads(sys.argv[1])
cens = CensoringModel(1981.0, 1998.0, 1999.0)
figs = [SurvivalFigure(f"s{i}", arm="a", time=float(t), percent=Printed(float(p), 1),
                       estimator=est) for i, (t, p) in enumerate(lms)]
choice = landmark_term("a", figs, ns, cens, rounding="either", form="forward")
term = choice.term
data = term.data()
model = build_model("weibull", "weakly_informative", ("a",), "a", [term])
t0 = time.perf_counter()
compiled = nutpie.compile_pymc_model(model)
compile_s = time.perf_counter() - t0
logp = model.compile_logp()
dlogp = model.compile_dlogp()
point = model.initial_point()
logp(point); dlogp(point)  # compile before timing
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 1.0:
    logp(point); dlogp(point); n += 1
print(json.dumps({
    "cells": int(data["src"].shape[0]), "states": int(np.isfinite(data["root"]).size),
    "edges": int(np.isfinite(data["const"]).sum()), "compile_s": compile_s,
    "evals_per_s": n / (time.perf_counter() - t0),
}))
"""


def main() -> None:
    print(f"$ {sys.executable} {' '.join(sys.argv)}")
    rows = []
    for est, ns, lms in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, PYTENSOR_FLAGS=f"compiledir={tmp}/pytensor",
                       NUMBA_CACHE_DIR=f"{tmp}/numba")  # fmt: skip
            out = subprocess.run(
                [sys.executable, "-c", CHILD, json.dumps([est, ns, lms])],
                capture_output=True, text=True, env=env, timeout=900,
            )  # fmt: skip
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"{est} n={ns} {lms}: failed ({last})", flush=True)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1]) | {"case": f"{est} n={ns} {lms}"}
        rows.append(r)
        print(
            f"{r['case']:<48} cells {r['cells']:>3}  states {r['states']:>6}  edges "
            f"{r['edges']:>8}  compile {r['compile_s']:6.1f} s  {r['evals_per_s']:8.0f} evals/s",
            flush=True,
        )
    for cells in sorted({r["cells"] for r in rows}):
        same = [r for r in rows if r["cells"] == cells]
        if len(same) > 1:
            ct = [r["compile_s"] for r in same]
            ed = [r["edges"] for r in same]
            print(
                f"{cells} cells: edges grow x{max(ed) / min(ed):.1f}, compile time "
                f"slowest/fastest = {max(ct) / min(ct):.2f}"
            )


if __name__ == "__main__":
    main()
