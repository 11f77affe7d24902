"""What the approximate landmark term costs: exact vs approximate posterior, side by side.

For landmark figures whose exact graph is still built within the default budget (the largest
sizes of ``bench_audit.py``), both likelihood terms of ``resurv.model.landmark_terms`` are
evaluated for an Exponential model on a fine grid of the hazard ``lam`` (k = 1), under a prior
flat in ``log lam``, with the flagship's censoring (accrual 1981-1998, close 1999). The
posterior of ``S(L) = exp(-lam L)`` from each term is then summarised by its median and 95%
equal-tailed interval, and the two compared by the total-variation distance between the
grid posteriors. Grid quadrature (4,001 points over ``log lam``) stands in for MCMC: with one
parameter it is exact to the grid's resolution and has no Monte Carlo error.

Run: ``python benchmarks/bench_approx.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pytensor
import pytensor.tensor as pt

from resurv.audit.landmark_dp import build_landmark_graph
from resurv.model.censoring import CensoringModel
from resurv.model.landmark_terms import ApproxLandmark, ExactLandmark
from resurv.model.terms import ArmParams
from resurv.study.schema import Printed

CASES = (  # n, landmark, printed
    (19, 4, Printed(92.6, 1)),
    (30, 4, Printed(50.0, 1)),
    (30, 4, Printed(70.0, 1)),
    (50, 4, Printed(90.0, 1)),
    (20, 6, Printed(50.0, 1)),
    (10, 10, Printed(50.0, 1)),
)
CENSORING = CensoringModel(1981.0, 1998.0, 1999.0)


def log_likelihood_fn(term):
    lam = pt.dscalar("lam")
    data = {key: pt.constant(v) for key, v in term.data().items()}
    ll = term.log_likelihood(ArmParams(("a",), {"a": lam}, pt.constant(1.0)), data)
    return pytensor.function([lam], ll)


def grid_posterior(fn, log_lam):
    ll = np.array([float(fn(np.exp(x))) for x in log_lam])
    w = np.exp(ll - ll.max())
    return w / w.sum()


def summary(weights, surv):
    order = np.argsort(surv)
    cdf = np.cumsum(weights[order])
    q = [surv[order][np.searchsorted(cdf, p)] for p in (0.025, 0.5, 0.975)]
    return q


def main() -> None:
    print("command: python benchmarks/bench_approx.py")
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}\n")
    print("| n | printed | exact S(L) median [95%] | approximate S(L) median [95%] | "
          "width ratio approx/exact | total variation |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for n, t, printed in CASES:
        g = build_landmark_graph(n, [(t, printed, "either")])
        exact = ExactLandmark("a", [g], CENSORING, form="forward")
        approx = ApproxLandmark("a", [t], [printed], [n], CENSORING)
        s = printed.value / 100
        centre = np.log(-np.log(s) / t)
        log_lam = np.linspace(centre - 4.0, centre + 4.0, 4001)
        surv = np.exp(-np.exp(log_lam) * t)
        we = grid_posterior(log_likelihood_fn(exact), log_lam)
        wa = grid_posterior(log_likelihood_fn(approx), log_lam)
        qe, qa = summary(we, surv), summary(wa, surv)
        ratio = (qa[2] - qa[0]) / (qe[2] - qe[0])
        tv = 0.5 * np.abs(we - wa).sum()
        print(
            f"| {n} | {printed}% at {t} y | {qe[1]:.3f} [{qe[0]:.3f}, {qe[2]:.3f}] | "
            f"{qa[1]:.3f} [{qa[0]:.3f}, {qa[2]:.3f}] | {ratio:.2f} | {tv:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
