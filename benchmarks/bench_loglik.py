"""Log-density + gradient evaluations per second of the exact landmark likelihood.

For each arm below, the exact landmark term (``resurv.model.likelihood.landmark_term``) is built in
both of its forms, the log-sum-exp over the enumerated feasible configurations and the forward
pass over the pruned graph of interval counts (``landmark_term`` takes the enumeration up to
``ENUMERATION_LIMIT`` configurations), and put in a one-arm Exponential model
(weakly informative prior, the flagship's censoring: accrual 1981-1998, close 1999, yearly
life-table intervals, rounding "either"). The model's log density and its gradient are
compiled once with PyTensor (Numba backend, one function returning both) and evaluated at 200
posterior-like points, many times over; the table gives evaluations per second with the size
of the graph and of the arrays one evaluation reads.

- the flagship: 19 patients printing 92.6% at 4 years; 3, 6 or 9 patients printing 18.5%;
- a larger arm: 30 patients printing 70.0% at 4 years (actuarial);
- a replicate that prints 0.0% for 19 patients (what simulation-based calibration draws
  often), to show what an unusually large graph costs.

A NUTS fit of 2 chains x 2000 iterations takes about 2 x 2000 x (leapfrog steps per
iteration, typically 3-7) evaluations: divide by the rate for the sampling time.

Run: ``python benchmarks/bench_loglik.py [--seconds 2] [--skip-zero]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

CASES = (  # label, candidate sizes, printed percent
    ("flagship resected", (19,), "92.6"),
    ("flagship not resected", (3, 6, 9), "18.5"),
    ("arm of 30", (30,), "70.0"),
    ("replicate printing 0.0%", (19,), "0.0"),
)
TIME = 4.0


def term_for(sizes, percent, form):
    from resurv.model.censoring import CensoringModel
    from resurv.model.likelihood import landmark_term
    from resurv.study.schema import Printed, SurvivalFigure

    decimals = len(percent.split(".")[1]) if "." in percent else 0
    fig = SurvivalFigure(
        "s", arm="arm", time=TIME, percent=Printed(float(percent), decimals), estimator="actuarial"
    )
    censoring = CensoringModel(1981.0, 1998.0, 1999.0)
    return landmark_term("arm", [fig], sizes, censoring, rounding="either", form=form)


def compiled_logp_dlogp(term):
    import pytensor
    import pytensor.tensor as pt

    from resurv.fit.build import build_model

    model = build_model("exponential", "weakly_informative", ("arm",), "arm", [term])
    (value,) = model.value_vars
    logp = model.logp()
    start = time.perf_counter()
    fn = pytensor.function([value], [logp, pt.grad(logp, value)], mode="NUMBA")
    return fn, time.perf_counter() - start, value.name


def points(percent: str, rng, size=200):
    """Log medians where S(4) lies around the printed value (a posterior-like spread)."""
    s = float(percent) / 100
    s = np.clip(rng.normal(max(s, 0.02), 0.08, size), 0.005, 0.995)
    lam = -np.log(s) / TIME
    return np.log(np.log(2.0) / lam)


def rate(fn, xs, seconds: float) -> float:
    for x in xs[:5]:
        fn(np.asarray(x))  # warm up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for x in xs:
            fn(np.asarray(x))
        n += len(xs)
    return n / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per case")
    parser.add_argument("--skip-zero", action="store_true", help="skip the 0.0%% replicate")
    args = parser.parse_args(argv)
    cmd = "python benchmarks/bench_loglik.py" + (" --skip-zero" if args.skip_zero else "")
    print(f"command: {cmd} --seconds {args.seconds:g}")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(1)
    head = (
        f"{'case':<25} {'n':>9} {'printed':>7} {'configs':>9} {'edges':>8} {'form':>11} "
        f"{'entries':>10} {'compile s':>9} {'evals/s':>9} {'us/eval':>9} {'NUTS 2x2000x5 s':>15}"
    )
    print(head)
    print("-" * len(head))
    for label, sizes, percent in CASES:
        if args.skip_zero and percent == "0.0":
            continue
        for form in ("enumeration", "forward"):
            start = time.perf_counter()
            try:
                choice = term_for(sizes, percent, form)
            except Exception as exc:  # noqa: BLE001 - e.g. too many configurations to list
                print(f"{label:<25} {str(list(sizes)):>9} {percent + '%':>7} {form:>31}: {exc}")
                continue
            build = time.perf_counter() - start
            term = choice.term
            entries = sum(np.asarray(v).size for v in term.data().values())
            configs, edges = choice.reason.split(": ")[-1].split(", ")[:2]
            fn, compile_s, _ = compiled_logp_dlogp(term)
            r = rate(fn, points(percent, rng), args.seconds)
            print(
                f"{label:<25} {str(list(sizes)):>9} {percent + '%':>7} "
                f"{configs.split()[0]:>9} {edges.split()[0]:>8} {form:>11} {entries:>10,} "
                f"{compile_s:>9.1f} {r:>9,.0f} {1e6 / r:>9.1f} {2 * 2000 * 5 / r:>15.1f}"
            )
            print(f"{'':<25} ({choice.method}, {form} form; term built in {build:.2f} s)")


if __name__ == "__main__":
    main()
