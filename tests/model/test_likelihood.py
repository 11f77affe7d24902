"""Landmark likelihood terms against brute force, closed forms and each other.

The reference for the exact term is an independent computation: every multinomial
configuration of a small arm is listed, its life-table (or Kaplan-Meier) estimate computed in
exact fractions, those that print the figure kept, and their ``scipy.stats.multinomial``
probabilities summed with cells from ``scipy.integrate.quad``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, optimize, special, stats

from fixtures.reference import all_configurations, estimate
from resurv.audit.landmark_dp import build_landmark_graph
from resurv.audit.printing import format_percent, prints_as
from resurv.errors import AuditError
from resurv.model.censoring import CensoringModel, effective_sizes
from resurv.model.count_terms import (
    CountTerm,
    ProportionTerm,
    RateTerm,
    count_upper_bound,
    rule_of_three,
)
from resurv.model.hr_median_terms import HazardRatioTerm, MedianTerm, _log_normal_cdf
from resurv.model.landmark_terms import ApproxLandmark, ExactLandmark
from resurv.model.likelihood import QUICK_MODE, compile_loglik, feasible_counts, landmark_term
from resurv.model.terms import ArmParams
from resurv.study.schema import Arm, HazardRatioFigure, Printed, SurvivalFigure

FLAGSHIP = CensoringModel(1981, 1998, 1999)
SMALL = CensoringModel(1990, 1992, 1992.5)  # follow-up uniform on [0.5, 2.5] years
CUTS = np.array([0.0, 1.0, 2.0])


# -- independent references ---------------------------------------------------------------------


def quad_cells(cm, lam, k, cuts):
    def surv(t):
        return np.exp(-lam * t**k)

    death, cens = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        kw = {"points": [p for p in cm.breakpoints if a < p < b] or None, "epsabs": 1e-14}
        f = lambda t: lam * k * t ** (k - 1) * surv(t) * cm.survival(t)  # noqa: E731
        death.append(integrate.quad(f, a, b, **kw)[0])
        cens.append(integrate.quad(lambda t: cm.density(t) * surv(t), a, b, **kw)[0])
    p = np.concatenate(
        [np.column_stack([death, cens]).ravel(), [surv(cuts[-1]) * cm.survival(cuts[-1])]]
    )
    return p / p.sum()


def brute_loglik(n, rows, lam, k, cm=SMALL, cuts=CUTS):
    x = np.array([[*r, n - sum(r)] for r in rows])
    return special.logsumexp(stats.multinomial.logpmf(x, n, quad_cells(cm, lam, k, cuts)))


class _Edges(NamedTuple):
    src: np.ndarray
    dst: np.ndarray
    deaths: np.ndarray
    censored: np.ndarray


class _Layer(NamedTuple):
    at_risk: np.ndarray


class TrieGraph:
    """Prefix tree of listed configurations, shaped like a landmark graph (no DP involved)."""

    def __init__(self, n, cuts, rows):
        self.n, self.cuts = n, tuple(cuts)
        x = np.unique(np.array(rows, dtype=np.int64).reshape(len(rows), -1), axis=0)
        self._x = x
        layers, edges, prev = [_Layer(np.array([n]))], [], np.zeros(len(x), dtype=np.int64)
        for j in range(len(cuts) - 1):
            _, first, inv = np.unique(
                x[:, : 2 * j + 2], axis=0, return_index=True, return_inverse=True
            )
            layers.append(_Layer(n - x[first, : 2 * j + 2].sum(axis=1)))
            edges.append(
                _Edges(prev[first], np.arange(len(first)), x[first, 2 * j], x[first, 2 * j + 1])
            )
            prev = inv.reshape(-1)
        self.layers, self.edges = tuple(layers), tuple(edges)

    def enumerate(self, max_configurations=None):
        return _Layer(np.column_stack([self._x, self.n - self._x.sum(axis=1)]))


def feasible(n, printed, estimator="actuarial", rules=("round", "truncate"), k=2):
    return [
        r for r in all_configurations(n, k)
        if any(prints_as(estimate(r, n, estimator), printed, rule) for rule in rules)
    ]  # fmt: skip


def dp_graph(n, printed, rules="either", time=2.0, **kw):
    return build_landmark_graph(n, [(time, printed, rules)], **kw)


# -- exact term -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "printed", [Printed(85.7, 1), Printed(71.4, 1), Printed(84.6, 1), Printed(50.0, 1)]
)
def test_exact_equals_brute_force(printed):
    n = 7
    rows = feasible(n, printed)
    assert rows, "the test needs a printable figure"
    terms = {
        "dp_forward": ExactLandmark("a", [dp_graph(n, printed)], SMALL),
        "dp_enumeration": ExactLandmark("a", [dp_graph(n, printed)], SMALL, form="enumeration"),
        "trie_forward": ExactLandmark("a", [TrieGraph(n, CUTS, rows)], SMALL),
    }
    for lam, k in [(0.3, 1.0), (0.8, 0.5), (0.1, 2.5)]:
        expected = brute_loglik(n, rows, lam, k)
        for name, term in terms.items():
            assert compile_loglik(term)(lam, k) == pytest.approx(expected, abs=1e-9), name


@pytest.mark.parametrize("estimator", ["actuarial", "kaplan-meier"])
def test_exact_likelihood_is_a_probability(estimator):
    """Summed over every printable value (one decimal, rounded), the likelihood is 1."""
    n = 5
    printed = {
        str(format_percent(estimate(r, n, estimator), 1, "round")) for r in all_configurations(n, 2)
    }
    kw = {"estimator": estimator, "grid_width": 1.0} if estimator == "kaplan-meier" else {}
    terms = [
        ExactLandmark("a", [dp_graph(n, Printed(float(p), 1), "round", **kw)], SMALL)
        for p in printed
    ]
    assert len(terms) > 10
    fns = [compile_loglik(t) for t in terms]
    for lam, k in [(0.4, 1.0), (1.5, 0.7)]:
        assert sum(np.exp(f(lam, k)) for f in fns) == pytest.approx(1.0, abs=1e-10)


def test_exact_equals_brute_force_kaplan_meier_and_two_landmarks():
    n = 6
    km_rows = feasible(n, Printed(83.3, 1), "kaplan-meier")
    km = ExactLandmark(
        "a", [dp_graph(n, Printed(83.3, 1), estimator="kaplan-meier", grid_width=1.0)], SMALL
    )
    # 1-year and 2-year figures printed together: both must print
    two = [(1.0, Printed(83.3, 1), "either"), (2.0, Printed(66.7, 1), "either")]
    first, second = feasible(n, Printed(83.3, 1), k=1), feasible(n, Printed(66.7, 1))
    rows = [r for r in second if r[:2] in first]
    both = ExactLandmark("a", [build_landmark_graph(n, two)], SMALL)
    assert km_rows and rows
    for lam, k in [(0.3, 1.0), (0.6, 1.7)]:
        assert compile_loglik(km)(lam, k) == pytest.approx(
            brute_loglik(n, km_rows, lam, k), abs=1e-9
        )
        assert compile_loglik(both)(lam, k) == pytest.approx(
            brute_loglik(n, rows, lam, k), abs=1e-9
        )


def test_candidate_sizes_are_mixed_with_equal_weights():
    printed = Printed(83.3, 1)
    graphs = {n: dp_graph(n, printed) for n in (6, 9, 2)}
    assert graphs[2].n_configurations() == 0 and graphs[9].n_configurations() > 0
    mixed = compile_loglik(ExactLandmark("a", graphs.values(), SMALL))
    single = {
        n: compile_loglik(ExactLandmark("a", [g], SMALL)) for n, g in graphs.items() if n != 2
    }
    for lam in (0.1, 0.5):
        mean = (np.exp(single[6](lam)) + np.exp(single[9](lam)) + 0.0) / 3
        assert mixed(lam) == pytest.approx(np.log(mean), abs=1e-12)


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_argmax_closed_form_without_early_censoring(k):
    """Follow-up >= 5 years: 70.0% of 10 at 2 years means 3 deaths, a binomial in S(2).

    Its maximum is at S(2) = 0.7, i.e. lam = -log(0.7) / 2**k.
    """
    cm = CensoringModel(1990, 1995, 2000)
    f = compile_loglik(ExactLandmark("a", [dp_graph(10, Printed(70.0, 1))], cm))
    res = optimize.minimize_scalar(
        lambda x: -f(np.exp(x), k), bounds=(-8, 2), method="bounded", options={"xatol": 1e-10}
    )
    assert np.exp(res.x) == pytest.approx(-np.log(0.7) / 2**k, rel=1e-5)
    s2 = np.exp(-np.exp(res.x) * 2**k)
    assert -res.fun == pytest.approx(stats.binom.logpmf(3, 10, 1 - s2), abs=1e-8)


def flagship_term(**kw):
    return ExactLandmark("resected", [dp_graph(19, Printed(92.6, 1), time=4.0)], FLAGSHIP, **kw)


def mode_and_sd(f, bounds):
    """Mode of log lam and the sd of log lam from the curvature there."""
    x = optimize.minimize_scalar(lambda v: -f(np.exp(v)), bounds=bounds, method="bounded").x
    h = 1e-3
    curvature = (2 * f(np.exp(x)) - f(np.exp(x + h)) - f(np.exp(x - h))) / h**2
    return x, 1 / np.sqrt(curvature)


def test_flagship_argmax_near_printed_survival():
    """The mode of log lam is within half a likelihood sd of log(-log(0.926) / 4).

    One death carries the information (sd of log lam close to 1, as for one Poisson event);
    the censoring model expects less censoring before year 4 than the r - c/2 = 13.5 the
    printed 92.6% implies, so the mode sits somewhat below the naive value.
    """
    x, sd = mode_and_sd(compile_loglik(flagship_term()), (-9, 0))
    assert 0.8 < sd < 1.25
    assert abs(x - np.log(-np.log(0.926) / 4)) < 0.5 * sd


def test_gradient_finite_and_equal_to_finite_differences():
    term = flagship_term()
    lam, k = pt.dscalar("lam"), pt.dscalar("k")
    data = {key: pt.constant(v) for key, v in term.data().items()}
    ll = term.log_likelihood(ArmParams(("resected",), {"resected": lam}, k), data)
    fn = pytensor.function([lam, k], [ll, *pytensor.grad(ll, [lam, k])], mode=QUICK_MODE)
    h = 1e-6
    for lam_v, k_v in [(0.02, 1.0), (0.2, 0.4), (0.005, 2.5), (1.0, 1.0)]:
        value, g_lam, g_k = fn(lam_v, k_v)
        assert np.isfinite([value, g_lam, g_k]).all()
        fd_lam = (fn(lam_v * (1 + h), k_v)[0] - fn(lam_v * (1 - h), k_v)[0]) / (2 * h * lam_v)
        fd_k = (fn(lam_v, k_v + h)[0] - fn(lam_v, k_v - h)[0]) / (2 * h)
        assert g_lam == pytest.approx(fd_lam, rel=1e-5, abs=1e-6)
        assert g_k == pytest.approx(fd_k, rel=1e-5, abs=1e-6)


def test_same_structure_takes_new_data():
    """Another printed value of the same arm shares the structure; swapping data gives its value."""
    first, second = (
        flagship_term(),
        ExactLandmark("resected", [dp_graph(19, Printed(85.0, 1), time=4.0)], FLAGSHIP),
    )
    assert first.structure() == second.structure()
    roots = [np.isfinite(t.data()["root"]).sum() for t in (first, second)]  # padded to S
    assert roots[0] == roots[1]
    assert any(first.data()[k].shape != second.data()[k].shape for k in first.data())
    with pm.Model():
        lam = pt.dscalar("lam")
        containers = {k: pm.Data(first.data_name(k), v) for k, v in first.data().items()}
        ll = first.log_likelihood(ArmParams(("resected",), {"resected": lam}, 1.0), containers)
        fn = pytensor.function([lam], ll, mode=QUICK_MODE)
        before = fn(0.05)
        for key, value in second.data().items():
            containers[key].set_value(np.asarray(value, dtype=containers[key].dtype))
        after = fn(0.05)
    assert before == pytest.approx(compile_loglik(first)(0.05), abs=1e-12)
    assert after == pytest.approx(compile_loglik(second)(0.05), abs=1e-12)


def test_structurally_impossible_cells_are_pruned():
    """33.3% of 2 at 1 year needs a censoring in [0, 1): impossible if follow-up is >= 1."""
    assert prints_as(estimate((1, 1), 2, "actuarial"), Printed(33.3, 1), "round")
    graph = dp_graph(2, Printed(33.3, 1), time=1.0)
    assert graph.n_configurations() == 1
    with pytest.raises(AuditError, match="positive probability under the censoring model"):
        ExactLandmark("a", [graph], CensoringModel(1990, 1995, 1996))
    cm = CensoringModel(1990, 1995, 1995.5)  # follow-up 0.5 to 5.5 years
    f = compile_loglik(ExactLandmark("a", [graph], cm))
    assert f(0.3) == pytest.approx(brute_loglik(2, [(1, 1)], 0.3, 1.0, cm, np.array([0.0, 1.0])))


# -- approximate term, choice, sampling ------------------------------------------------------------


def test_approx_agrees_with_exact_in_location():
    """n = 40, 3-year actuarial 70.0%, censoring from year 1 (12 683 feasible configurations).

    Modes of log lam agree within 0.01 and the likelihood widths within 5% (measured: 0.001
    and 0.5%); Peto's effective size would give a width 14% too large.
    """
    cm, printed = CensoringModel(1990, 1996, 1997), Printed(70.0, 1)
    exact = compile_loglik(ExactLandmark("a", [dp_graph(40, printed, time=3.0)], cm))
    approx = compile_loglik(ApproxLandmark("a", [3.0], [printed], [40], cm))
    peto = compile_loglik(ApproxLandmark("a", [3.0], [printed], [40], cm, method="peto"))
    (x_exact, sd_exact), (x_approx, sd_approx) = (mode_and_sd(f, (-6, 1)) for f in (exact, approx))
    assert abs(x_exact - x_approx) < 0.01
    assert sd_approx == pytest.approx(sd_exact, rel=0.05)
    assert mode_and_sd(peto, (-6, 1))[1] > 1.1 * sd_exact
    assert x_approx == pytest.approx(np.log(-np.log(0.7) / 3), abs=1e-6)


def test_approx_mixture_and_closed_form():
    cm = CensoringModel(1990, 1995, 2005)  # no censoring before 10 years: sizes n, n S_1
    term = ApproxLandmark("a", [2.0, 5.0], [Printed(80.0, 1), Printed(50.0, 1)], [20, 30], cm)
    f = compile_loglik(term)
    lam = 0.13
    q = np.exp(-lam * np.array([2.0, 3.0]))

    def one(n):
        size, y = np.array([n, 0.8 * n]), np.array([0.8 * n, 0.5 * n])
        norm = special.gammaln(size + 1) - special.gammaln(y + 1) - special.gammaln(size - y + 1)
        return (norm + y * np.log(q) + (size - y) * np.log1p(-q)).sum()

    assert f(lam) == pytest.approx(np.log((np.exp(one(20)) + np.exp(one(30))) / 2), abs=1e-10)
    # integer y: equals the binomial pmf
    assert one(20) == pytest.approx(
        stats.binom.logpmf(16, 20, q[0]) + stats.binom.logpmf(10, 16, q[1])
    )


def survival_figure(percent, estimator="actuarial", time=4.0, arm="resected"):
    return SurvivalFigure(id="s4", arm=arm, time=time, percent=percent, estimator=estimator)


def test_landmark_term_chooses_and_says_why():
    arm = Arm("resected", (19,))
    choice = landmark_term(arm, [survival_figure(Printed(92.6, 1))], censoring=FLAGSHIP)
    assert choice.method == "exact" and isinstance(choice.term, ExactLandmark)
    assert "feasible configurations" in choice.reason
    unknown = landmark_term(arm, [survival_figure(Printed(92.6, 1), "unknown")], censoring=FLAGSHIP)
    assert unknown.method == "approximate" and "estimator is unknown" in unknown.reason
    small = landmark_term(
        arm, [survival_figure(Printed(92.6, 1))], censoring=FLAGSHIP, max_states=5
    )
    assert small.method == "approximate" and "max_states" in small.reason
    capped = landmark_term(
        arm, [survival_figure(Printed(92.6, 1))], censoring=FLAGSHIP, max_configurations=10
    )
    assert capped.method == "approximate" and "max_configurations=10" in capped.reason


def test_landmark_term_refuses_an_unprintable_figure():
    """No Kaplan-Meier curve of 19 patients prints 92.6% (DESIGN.md section 3)."""
    km = survival_figure(Printed(92.6, 1), "kaplan-meier")
    with pytest.raises(AuditError, match="no kaplan-meier estimate of arm 'resected'"):
        landmark_term(Arm("resected", (19,)), [km], censoring=FLAGSHIP)


def test_flagship_nuts_without_divergences():
    """PyMC NUTS on the exact potential alone (Grazi 2000 resected arm), LogNormal prior on lam.

    Compiled with the Python linker: slower sampling (~4 s), no Numba compilation.
    """
    term = flagship_term()
    with pm.Model():
        lam = pm.LogNormal("lam", np.log(0.05), 1.5)
        data = {k: pm.Data(term.data_name(k), v) for k, v in term.data().items()}
        term.add_to_model(ArmParams(("resected",), {"resected": lam}, 1.0), data)
        idata = pm.sample(
            nuts_sampler="pymc", chains=2, draws=300, tune=300, cores=1, random_seed=2000,
            progressbar=False, compute_convergence_checks=False,
            compile_kwargs={"mode": QUICK_MODE},
        )  # fmt: skip
    assert int(idata.sample_stats["diverging"].sum()) == 0
    # posterior median of log lam by quadrature of prior x likelihood; MCMC error of the
    # median of ~600 draws with posterior sd ~0.9 is about 0.05, so 0.2 is four of them
    f, prior = compile_loglik(term), stats.norm(np.log(0.05), 1.5)
    grid = np.linspace(-12, 2, 4001)
    density = np.exp(np.array([f(np.exp(x)) for x in grid]) - 10) * prior.pdf(grid)
    cdf = np.cumsum(density) / density.sum()
    assert np.log(float(idata.posterior["lam"].median())) == pytest.approx(
        np.interp(0.5, cdf, grid), abs=0.2
    )


# -- proportions, counts, rates -------------------------------------------------------------------


def test_feasible_counts_rule_out_impossible_denominators():

    fifty = feasible_counts(Printed(50.0, 1), [16, 19, 22, 28])
    assert fifty == {16: (8,), 19: (), 22: (11,), 28: (14,)}
    # Grazi 2000 prints 25/28 as 89.2% (truncated) and 11/19 as 57.9% (rounded)
    assert feasible_counts(Printed(89.2, 1), [28], "truncate") == {28: (25,)}
    assert feasible_counts(Printed(89.2, 1), [28], "round") == {28: ()}
    assert feasible_counts(Printed(57.9, 1), [19], "round") == {19: (11,)}
    assert feasible_counts(Printed(57.9, 1), [19], "truncate") == {19: ()}
    # a coarse print admits several counts
    assert feasible_counts(Printed(50.0, 0), [40], "round") == {40: (20,)}
    assert feasible_counts(Printed(12.0, 0), [100, 50], "either") == {100: (12,), 50: (6,)}


def test_proportion_term_is_the_binomial_mixture():

    term = ProportionTerm.from_printed("recurrence", Printed(50.0, 1), [16, 19, 22, 28])
    assert term.own_parameters == ("p_recurrence",)
    f = compile_loglik(term)
    for p in (0.2, 0.5, 0.71):
        expected = np.log(sum(stats.binom.pmf(m // 2, m, p) for m in (16, 22, 28)) / 4)
        assert f(p_recurrence=p) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(AuditError, match="no candidate denominator in \\[19\\]"):
        ProportionTerm.from_printed("recurrence", Printed(50.0, 1), [19])


def posterior_by_quadrature(prior_pdf, loglik, upper=1.0):
    """Posterior mean and normaliser by adaptive quadrature of prior x likelihood."""
    z = integrate.quad(lambda v: prior_pdf(v) * np.exp(loglik(v)), 0, upper, limit=200)[0]
    mean = integrate.quad(lambda v: v * prior_pdf(v) * np.exp(loglik(v)), 0, upper, limit=200)[0]
    return mean / z, z


def test_proportion_posterior_components_match_quadrature():

    term = ProportionTerm.from_printed(
        "recurrence", Printed(50.0, 1), [16, 19, 22, 28], prior=(2, 3)
    )
    f = compile_loglik(term)
    mean, _ = posterior_by_quadrature(stats.beta(2, 3).pdf, lambda p: f(p_recurrence=p))
    w, a, b = term.posterior_components()
    assert w.sum() == pytest.approx(1.0) and len(w) == 3
    assert float(np.sum(w * a / (a + b))) == pytest.approx(mean, rel=1e-9)


def test_operative_mortality_upper_bound_beside_rule_of_three():
    """0 deaths of 19: the uniform-prior 95% bound 1 - 0.05**(1/20) = 0.139; 3/19 = 0.158."""

    assert count_upper_bound(0, 19) == pytest.approx(1 - 0.05 ** (1 / 20), rel=1e-12)
    assert rule_of_three(19) == pytest.approx(3 / 19)
    assert count_upper_bound(0, 19) < rule_of_three(19)
    term = CountTerm("operative_mortality", 0, [19])
    f = compile_loglik(term)
    assert f(p_operative_mortality=0.1) == pytest.approx(19 * np.log(0.9), abs=1e-12)
    # the 95% point of prior x term likelihood, by quadrature and root finding
    z = integrate.quad(lambda p: np.exp(f(p_operative_mortality=p)), 0, 1)[0]
    cdf = lambda u: integrate.quad(lambda p: np.exp(f(p_operative_mortality=p)), 0, u)[0] / z  # noqa: E731
    assert optimize.brentq(lambda u: cdf(u) - 0.95, 1e-6, 0.9) == pytest.approx(
        count_upper_bound(0, 19), rel=1e-7
    )
    mixed = CountTerm("deaths", 3, [2, 10, 20])
    assert mixed.counts == {2: (), 10: (3,), 20: (3,)}


def test_count_term_in_a_model():

    term = CountTerm("operative_mortality", 0, [19, 28], prior=(1, 1))
    with pm.Model() as model:
        data = {k: pm.Data(term.data_name(k), v) for k, v in term.data().items()}
        term.add_to_model(ArmParams((), {}, 1.0), data)
    assert [v.name for v in model.free_RVs] == ["p_operative_mortality"]
    logp = model.compile_logp(jacobian=False)
    point = {"p_operative_mortality_logodds__": np.log(0.05 / 0.95)}
    expected = np.log((0.95**19 + 0.95**28) / 2)  # Beta(1, 1) density is 1
    assert logp(point) == pytest.approx(expected, abs=1e-10)


def test_rate_term_gamma_poisson():

    counts = feasible_counts(Printed(50.0, 1), [16, 22])
    term = RateTerm("recurrence", counts, mean_followup=5.0, prior=(1.0, 2.0))
    f = compile_loglik(term)
    rate = 0.1
    expected = np.log((stats.poisson.pmf(8, rate * 80) + stats.poisson.pmf(11, rate * 110)) / 2)
    assert f(rate_recurrence=rate) == pytest.approx(expected, abs=1e-12)
    mean, _ = posterior_by_quadrature(
        stats.gamma(1.0, scale=0.5).pdf, lambda r: f(rate_recurrence=r), 5.0
    )
    w, a, b = term.posterior_components()
    assert float(np.sum(w * a / b)) == pytest.approx(mean, rel=1e-8)
    with pytest.raises(ValueError, match="mean_followup must be > 0"):
        RateTerm("recurrence", counts, mean_followup=0.0)


# -- hazard ratio and median ---------------------------------------------------------------------


def test_hazard_ratio_term():

    se95 = np.log(4.0) / (2 * 1.959963984540054)
    term = HazardRatioTerm(("b", "a"), 0.5, (0.25, 1.0))
    assert float(term.data()["se"]) == pytest.approx(se95, rel=1e-12)
    f = compile_loglik(term)
    lam = {"a": 0.3, "b": 0.12}
    assert f(lam) == pytest.approx(stats.norm.logpdf(np.log(0.5), np.log(0.4), se95), abs=1e-12)
    fig = HazardRatioFigure(
        id="hr",
        arms=("b", "a"),
        hr=Printed(0.5, 2),
        ci=(Printed(0.25, 2), Printed(1.0, 2)),
        ci_level=0.9,
    )
    se90 = np.log(4.0) / (2 * stats.norm.ppf(0.95))
    assert float(HazardRatioTerm.from_figure(fig).data()["se"]) == pytest.approx(se90)
    with pytest.raises(ValueError, match="without a confidence interval"):
        HazardRatioTerm(("b", "a"), 0.5, None)


def test_median_terms():

    lam, k = 0.08, 1.3
    with_ci = compile_loglik(MedianTerm("a", Printed(7.5, 1), (Printed(5.0, 1), Printed(11.0, 1))))
    se = np.log(11 / 5) / (2 * 1.959963984540054)
    log_median = np.log((np.log(2) / lam) ** (1 / k))
    assert with_ci(lam, k) == pytest.approx(
        stats.norm.logpdf(np.log(7.5), log_median, se), abs=1e-12
    )

    cm = CensoringModel(1990, 2000, 2003)
    landmark = compile_loglik(MedianTerm("a", 7.5, n_candidates=[30], censoring=cm))
    approx = compile_loglik(
        ApproxLandmark("a", [7.5], [Printed(50.0, 1)], [30], cm, name="median_a")
    )
    assert landmark(lam, k) == pytest.approx(approx(lam, k), abs=1e-12)

    not_reached = compile_loglik(
        MedianTerm("a", None, n_candidates=[20, 30], censoring=cm, t_max=9.0)
    )
    s = np.exp(-lam * 9.0**k)
    probs = [
        stats.norm.cdf((s - 0.5) / np.sqrt(s * (1 - s) / effective_sizes(n, [9.0], [0.5], cm)[0]))
        for n in (20, 30)
    ]
    assert not_reached(lam, k) == pytest.approx(np.log(np.mean(probs)), abs=1e-10)
    # more deaths make "not reached" less likely
    assert not_reached(0.3, k) < not_reached(0.05, k)
    with pytest.raises(ValueError, match="needs t_max > 0"):
        MedianTerm("a", None, n_candidates=[20], censoring=cm)


def test_log_normal_cdf_both_tails_with_finite_gradient():

    z = pt.dvector("z")
    out = _log_normal_cdf(z)
    fn = pytensor.function([z], [out, pytensor.grad(out.sum(), z)], mode=QUICK_MODE)
    values = np.array([-40.0, -8.0, -1.0 - 1e-9, -1.0, 0.0, 3.0, 9.0])
    logcdf, grad = fn(values)
    np.testing.assert_allclose(logcdf, stats.norm.logcdf(values), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(
        grad, np.exp(stats.norm.logpdf(values) - stats.norm.logcdf(values)), rtol=1e-10
    )


# -- messages ----------------------------------------------------------------------------------


def _graph(n=6, time=2.0):
    return dp_graph(n, Printed(83.3, 1), time=time)


def _truncated():
    return build_landmark_graph(40, [(3, Printed(70.0, 1), "either")], max_states=10)


ERRORS = {
    "form": (lambda: ExactLandmark("a", [_graph()], SMALL, form="x"), ValueError, "form must be"),
    "no graphs": (lambda: ExactLandmark("a", [], SMALL), ValueError, "one landmark graph per"),
    "cuts": (
        lambda: ExactLandmark("a", [_graph(), _graph(time=3.0)], SMALL),
        ValueError,
        "share their cut points",
    ),
    "truncated": (lambda: ExactLandmark("a", [_truncated()], SMALL), AuditError, "incomplete"),
    "name": (lambda: ExactLandmark("a b", [_graph()], SMALL), ValueError, "an identifier"),
    "times": (
        lambda: ApproxLandmark("a", [1.0, 2.0], [Printed(80.0, 1)], [10], SMALL),
        ValueError,
        "one printed value per time",
    ),
    "median": (lambda: MedianTerm("a", 5.0), ValueError, "needs n_candidates and censoring"),
    "ci": (lambda: HazardRatioTerm(("a", "b"), 0.5, (1.0, 0.5)), ValueError, "0 < lower < upper"),
    "hr": (lambda: HazardRatioTerm(("a", "b"), 0.0, (0.5, 1.0)), ValueError, "must be > 0"),
    "events": (lambda: count_upper_bound(3, 2), ValueError, "need 0 <= events <= n"),
    "three": (lambda: rule_of_three(0), ValueError, "n must be >= 1"),
    "figures": (lambda: landmark_term("a", [], [5], SMALL), ValueError, "needs the arm's figures"),
    "arm": (
        lambda: landmark_term("x", [survival_figure(Printed(83.3, 1), time=2.0)], [6], SMALL),
        ValueError,
        "belong to another arm",
    ),
}


@pytest.mark.parametrize(("build", "error", "match"), ERRORS.values(), ids=ERRORS)
def test_errors_say_what_was_wrong(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_mixed_estimators_fall_back_to_the_approximation():
    figs = [
        survival_figure(Printed(83.3, 1), "actuarial", time=1.0),
        SurvivalFigure(
            id="s2", arm="resected", time=2.0, percent=Printed(66.7, 1), estimator="kaplan-meier"
        ),
    ]
    choice = landmark_term(Arm("resected", (6,)), figs, censoring=SMALL)
    assert choice.method == "approximate" and "mix estimators" in choice.reason
    assert choice.term.times == (1.0, 2.0)


def test_extreme_rates_give_a_finite_log_likelihood():
    """S(4) underflows for lam = 1000: the cell probabilities are floored, not 0 * log 0."""
    f = compile_loglik(flagship_term())
    assert np.isfinite(f(1000.0)) and f(1000.0) < f(10.0) < f(0.02)


def test_batched_log_likelihood_equals_the_scalar_one():
    """compile_loglik_batch evaluates D draws in one call: same numbers as D scalar calls."""
    from resurv.model.likelihood import compile_loglik, compile_loglik_batch, landmark_term
    from resurv.study.schema import Printed, SurvivalFigure

    cm = CensoringModel(1981.0, 1998.0, 1999.0)
    fig = SurvivalFigure(id="s", arm="a", time=4.0, percent=Printed(18.5, 1), estimator="actuarial")
    term = landmark_term("a", [fig], (6, 9), cm, rounding="either").term
    rng = np.random.default_rng(2)
    lam, k = np.exp(rng.normal(-1.5, 0.8, 40)), np.exp(rng.normal(0.0, 0.3, 40))
    scalar = compile_loglik(term)
    expected = np.array([scalar(lam=a, k=b) for a, b in zip(lam, k, strict=True)])
    np.testing.assert_allclose(compile_loglik_batch(term)(lam, k), expected, rtol=1e-12)
