"""Compile time of the exact landmark likelihood against the size of its feasible set.

The forward form of the exact landmark term (``landmark_term(..., form="forward")``) takes the
audit's pruned graph of interval counts, the cut points and the censoring model's cell
quadrature as data, read by one compiled kernel (``resurv.model.landmark_kernel``). Its
compiled graph is the same for every arm size, number of cells and number of feasible
configurations, so compile time should stay flat while the graph grows by orders of
magnitude. Each case is compiled in a fresh process with an empty compile cache
(``resurv.fit.compile.compile_model``; one Weibull arm, weakly informative prior, the flagship's
censoring: accrual 1981-1998, close 1999), so no case profits from another's cache, then in a
second process with that cache ("warm"). Printed: cells, states and edges of the graph, cold and
warm compile seconds, log-density + gradient evaluations per second (the compiled entry point
nuts-rs calls), and the ratio of the slowest to the fastest cold compile over all cases.

Before the kernel, the pass was a ``scan`` in the graph (compile flat, ~15 s per case); before
that it was unrolled cell by cell: a two-landmark Kaplan-Meier arm did not finish compiling in
several minutes.

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
import ctypes, json, sys, time
import numpy as np
from resurv.fit import build_model
from resurv.fit.compile import compile_model
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
compiled = compile_model(model)
compile_s = time.perf_counter() - t0
proto = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p, ctypes.c_void_p)
logp = proto(compiled.compiled_logp_func.address)
x = np.array([0.1, 1.0]); grad = np.zeros(2); value = np.zeros(1)
ptr = lambda a: a.ctypes.data
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 1.0:
    for _ in range(100):
        logp(2, ptr(x), ptr(grad), ptr(value), compiled.user_data.ctypes.data)
    n += 100
print(json.dumps({
    "cells": int(data["src"].shape[0]), "states": int(data["root"].size),
    "edges": int(np.isfinite(data["const"]).sum()), "compile_s": compile_s,
    "evals_per_s": n / (time.perf_counter() - t0),
}))
"""


def main() -> None:
    print(f"$ {sys.executable} {' '.join(sys.argv)}")
    rows = []
    for est, ns, lms in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp}/pytensor",
                       NUMBA_CACHE_DIR=f"{tmp}/numba")  # fmt: skip
            runs = []
            for _ in ("cold", "warm"):
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, json.dumps([est, ns, lms])],
                    capture_output=True, text=True, env=env, timeout=900,
                )  # fmt: skip
                if out.returncode != 0:
                    break
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if len(runs) < 2:
            last = (out.stderr.strip().splitlines() or ["no message"])[-1]
            print(f"{est} n={ns} {lms}: failed ({last})", flush=True)
            continue
        r = runs[0] | {"case": f"{est} n={ns} {lms}", "warm_s": runs[1]["compile_s"]}
        rows.append(r)
        print(
            f"{r['case']:<48} cells {r['cells']:>3}  states {r['states']:>6}  edges "
            f"{r['edges']:>8}  compile cold {r['compile_s']:5.1f} s, warm {r['warm_s']:4.1f} s"
            f"  {r['evals_per_s']:8.0f} evals/s",
            flush=True,
        )
    if len(rows) > 1:
        ct = [r["compile_s"] for r in rows]
        ed = [r["edges"] for r in rows]
        print(
            f"all cases: edges grow x{max(ed) / min(ed):.0f}, cold compile time "
            f"slowest/fastest = {max(ct) / min(ct):.2f}"
        )


if __name__ == "__main__":
    main()
