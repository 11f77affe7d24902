"""Figures of a results folder, drawn from the synthetic folder of tests/fixtures/make_results."""

import re

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from fixtures.make_results import FAILED, PRIMARY, make_results
from resurv.report import plots
from resurv.report.results import load_results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return load_results(make_results(tmp_path_factory.mktemp("results")))


@pytest.fixture(scope="module")
def landmarks():
    return [
        plots.Landmark("resected", 4.0, 92.6, "92.6%"),
        plots.Landmark("not_resected", 4.0, 18.5, "18.5%"),
    ]


def assert_png(path, min_width=400):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    image = mpimg.imread(path)
    assert image.shape[1] >= min_width and image.shape[0] >= 200
    assert image[..., :3].std() > 0.05, "the image is blank"  # not a uniform canvas


def of_fit(frame, key):
    return frame[frame["fit_key"] == key]


def test_survival_curves_png_and_caption(results, landmarks, tmp_path):
    path = tmp_path / "surv.png"
    caption = plots.survival_curves(
        of_fit(results.table("survival_curves"), PRIMARY),
        path,
        pseudo=results.table("pseudo_datasets"),
        landmarks=landmarks,
        time_unit="years",
        arm_labels=results.arm_labels,
        fit="Weibull",
    )
    assert_png(path)
    n_pseudo = results.table("pseudo_datasets")["dataset"].nunique()
    assert f"Kaplan-Meier curves of {n_pseudo} pseudo-individual datasets" in caption
    assert "after resection 92.6% at 4 years" in caption
    assert plots.FAILED_MARK not in caption


def test_survival_curves_marks_a_failed_primary(results, tmp_path):
    caption = plots.survival_curves(
        of_fit(results.table("survival_curves"), FAILED),
        tmp_path / "s.png",
        fit=FAILED,
        failed=True,
    )
    assert f"Marked {plots.FAILED_MARK}: {FAILED}" in caption


def test_png_bytes_are_reproducible(results, landmarks, tmp_path):
    curves = of_fit(results.table("survival_curves"), PRIMARY)
    for name in ("a.png", "b.png"):
        plots.survival_curves(curves, tmp_path / name, landmarks=landmarks)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert b"Software" not in (tmp_path / "a.png").read_bytes()


def test_pngs_do_not_depend_on_the_process_matplotlib_settings(results, landmarks, tmp_path):
    """A user's style, or a library's setting for the whole process (preliz sets
    savefig.bbox = "tight" when imported), changes no figure."""
    import matplotlib as mpl

    curves = of_fit(results.table("survival_curves"), PRIMARY)
    sens = results.table("sensitivity")
    plots.survival_curves(curves, tmp_path / "a.png", landmarks=landmarks)
    plots.prior_sensitivity(sens, tmp_path / "c.png", primary=PRIMARY)
    changed = {"savefig.bbox": "tight", "lines.linewidth": 4.0, "font.size": 14,
               "axes.prop_cycle": mpl.cycler(color="km"), "figure.facecolor": "0.8"}  # fmt: skip
    with mpl.rc_context(changed):
        plots.survival_curves(curves, tmp_path / "b.png", landmarks=landmarks)
        plots.prior_sensitivity(sens, tmp_path / "d.png", primary=PRIMARY)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "c.png").read_bytes() == (tmp_path / "d.png").read_bytes()


def test_hazard_ratio_forest_marks_failed_fits(results, tmp_path):
    path = tmp_path / "forest.png"
    caption = plots.hazard_ratio_forest(
        results.table("sensitivity"), path, primary=PRIMARY, arm_labels=results.arm_labels
    )
    assert_png(path)
    assert f"Marked {plots.FAILED_MARK}: {FAILED} " in caption
    ok_fits = [f["fit_key"] for f in results.fits if f["status"] == "ok"]
    assert not any(k in caption for k in ok_fits)  # only the failed fit is named


def test_hazard_ratio_forest_leaves_out_the_reference_arms_constant(results, tmp_path):
    sens = results.table("sensitivity")
    ref = sens[sens["quantity"] == "hazard_ratio[not_resected]"].assign(
        quantity="hazard_ratio[resected]", median=1.0, lower_95=1.0, upper_95=1.0
    )
    caption = plots.hazard_ratio_forest(
        pd.concat([ref, sens]), tmp_path / "f.png", arm_labels=results.arm_labels,
        reference_label="after resection",
    )  # fmt: skip
    assert caption.startswith("Hazard ratio of without surgery vs after resection:")


def test_hazard_ratio_forest_needs_hazard_ratio_rows(results, tmp_path):
    sens = results.table("sensitivity")
    with pytest.raises(ValueError, match="no 'hazard_ratio\\[<arm>\\]' rows"):
        plots.hazard_ratio_forest(sens[sens["quantity"] == "p_recurrence"], tmp_path / "f.png")


def test_prior_vs_posterior_sd_ratios_match_the_conjugate_closed_form(results, tmp_path):
    """The fixture's posteriors are conjugate normal: posterior SD = (1/s0^2 + 1/s^2)^-1/2.

    Weakly informative prior: log_hr ~ N(0, 1.5), pseudo-likelihood SD 0.7; log_shape ~
    N(0, 0.5), pseudo-likelihood SD 1.2. The caption's ratios come from 400 draws each, so each
    is within a few Monte Carlo SEs (~5% relative) of the closed form.
    """
    path = tmp_path / "pp.png"
    caption = plots.prior_vs_posterior(
        of_fit(results.table("prior_posterior"), PRIMARY), path, fit="primary"
    )
    assert_png(path)
    expected = {
        "log_hr[not_resected]": (1 / 1.5**2 + 1 / 0.7**2) ** -0.5 / 1.5,
        "log_shape": (1 / 0.5**2 + 1 / 1.2**2) ** -0.5 / 0.5,
    }
    for name, ratio in expected.items():
        found = float(re.search(rf"{re.escape(name)} \(([0-9.]+)\)", caption).group(1))
        assert found == pytest.approx(ratio, rel=0.15)
    data_speak, prior_speaks = caption.split("The data speak for ")[1].split(
        "The prior speaks for "
    )
    assert "log_hr[not_resected]" in data_speak and "log_shape" not in data_speak
    assert prior_speaks.startswith("log_shape")


def test_audit_picture_shows_impossible_combinations(results, landmarks, tmp_path):
    """Kaplan-Meier for n = 19 has explicit zero rows; for n = 9 it has no row at all."""
    path = tmp_path / "audit.png"
    sizes = {a["id"]: a["n"] for a in results.study["arms"]}
    caption = plots.audit_picture(
        results.table("audit_deaths"), path, arm_sizes=sizes, landmarks=landmarks
    )
    assert_png(path)
    impossible = caption.split("impossible combinations:")[1]
    assert "kaplan-meier with n = 19" in impossible
    assert "kaplan-meier with n = 9" in impossible
    assert "actuarial" not in impossible and "kaplan-meier with n = 6" not in impossible


def test_audit_picture_tells_uncounted_from_impossible(results, tmp_path):
    """With the audit's list of enumerated combinations, an incomplete one is not impossible."""
    checked = {
        ("resected", 19, "actuarial"): True,
        ("resected", 19, "kaplan-meier"): True,
        ("not_resected", 9, "kaplan-meier"): False,  # enumeration stopped at its budget
    }
    caption = plots.audit_picture(
        results.table("audit_deaths"), tmp_path / "a.png", checked=checked
    )
    impossible, uncounted = caption.split("impossible combinations:")[1].split("not counted")
    assert "kaplan-meier with n = 19" in impossible and "n = 9" not in impossible
    assert "kaplan-meier with n = 9" in uncounted
    # combinations in the table are drawn even when the audit list leaves them out
    assert "kaplan-meier with n = 6" not in caption


def test_ppc_figures(results, tmp_path):
    path = tmp_path / "ppc.png"
    caption = plots.ppc_figures(
        results.table("ppc"), results.table("ppc_observed"), path, fit="primary", failed=True
    )
    assert_png(path)
    assert plots.FAILED_MARK in caption


def test_ppc_figures_refuses_tables_that_do_not_meet(results, tmp_path):
    observed = results.table("ppc_observed").assign(figure_id="elsewhere")
    with pytest.raises(ValueError, match="none of the figures in ppc_observed.csv has replicates"):
        plots.ppc_figures(results.table("ppc"), observed, tmp_path / "p.png")


def test_trace_rank_of_a_failed_fit(results, tmp_path):
    dt = xr.open_datatree(results.folder / "posterior" / f"{FAILED}.zarr", engine="zarr")
    path = tmp_path / "trace.png"
    failures = ["rhat of log_hr is 1.3 (> threshold 1.01); fix: run more draws"]
    caption = plots.trace_rank(dt, path, fit_key=FAILED, failed=True, failures=failures)
    assert_png(path, min_width=1000)
    assert plots.key_parameters(dt["posterior"].to_dataset()) == [
        "log_hazard_reference",
        "log_hr",
        "log_shape",
    ]
    assert f"Marked {plots.FAILED_MARK}: {FAILED}" in caption and failures[0] in caption


def test_fit_label():
    assert plots.fit_label("weibull", "weakly_informative", "1999") == (
        "Weibull, weakly informative prior, close 1999"
    )
    assert plots.fit_label("exponential", "sceptical", np.nan) == "Exponential, sceptical prior"
    assert plots.fit_label("weibull", "reference", "1999.0").endswith("close 1999")
    assert plots.fit_label("weibull", "reference", "mid-2000").endswith("close mid-2000")


def test_trace_rank_thins_long_chains_by_a_fixed_stride(tmp_path):
    rng = np.random.default_rng(7)
    draws = 4 * plots.RANK_DRAWS
    posterior = xr.Dataset(
        {"log_hazard_reference": (("chain", "draw"), rng.normal(size=(2, draws)))}
    )
    dt = xr.DataTree.from_dict({"posterior": posterior})
    caption = plots.trace_rank(dt, tmp_path / "t.png", fit_key="k")
    assert "(one draw in 4)" in caption and plots.FAILED_MARK not in caption
    assert_png(tmp_path / "t.png")


# -- log axes: tick labels never overlap ----------------------------------------------------


def _hr_rows(intervals):
    """Sensitivity rows of one hazard ratio per fit, with the given 95% intervals."""
    rows = []
    for i, (lo, hi) in enumerate(intervals):
        family = ("exponential", "weibull")[i % 2]
        base = {"fit_key": f"{family}-p{i}", "family": family, "prior": f"p{i}", "close": "1999",
                "status": "ok", "label": ""}  # fmt: skip
        rows.append(base | {"quantity": "hazard_ratio[b]", "median": np.sqrt(lo * hi),
                            "lower_95": lo, "upper_95": hi})  # fmt: skip
        for arm, s in (("a", 0.9), ("b", 0.2)):
            rows.append(base | {"quantity": f"surv[{arm}, t=4]", "median": s,
                                "lower_95": s / 2, "upper_95": min(1.0, 1.5 * s)})  # fmt: skip
    return pd.DataFrame(rows)


WIDE = [(0.05, 3.0), (1.5, 20000.0), (0.3, 40.0), (0.07, 900.0)]


def _log_axes_overlaps(fig):
    """Pairs of drawn tick labels, on every log axis of ``fig``, whose boxes overlap."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found, n_log = [], 0
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale != "log":
                continue
            n_log += 1
            lo, hi = sorted(axis.get_view_interval())
            labels = [
                x for x, t in zip(axis.get_majorticklabels(), axis.get_majorticklocs(), strict=True)
                if x.get_visible() and x.get_text() and lo <= t <= hi
            ]  # fmt: skip
            assert len(labels) >= 2, [x.get_text() for x in labels]
            boxes = [x.get_window_extent(renderer) for x in labels]
            for i, a in enumerate(boxes):
                for j in range(i + 1, len(boxes)):
                    if a.overlaps(boxes[j]):
                        found.append((labels[i].get_text(), labels[j].get_text()))
    assert n_log, "the figure has no log axis"
    return found


def test_forest_tick_labels_do_not_overlap_over_a_wide_range():
    """HR from 0.05 to 20000: the old fixed 1-2-5 ticks printed "50100200500100020000"."""
    fig, _ = plots._hazard_ratio_forest(
        _hr_rows(WIDE), primary=None, arm_labels={}, reference_label="a"
    )
    assert _log_axes_overlaps(fig) == []
    lo, hi = fig.axes[0].get_xlim()
    assert lo <= 0.05 and hi >= 20000


@pytest.mark.parametrize("n_fits", [1, 4, 12])
def test_sensitivity_log_axes_do_not_overlap(n_fits):
    from resurv.report.plot_sensitivity import _prior_predictive_check, _prior_sensitivity

    sens = _hr_rows((WIDE * 3)[:n_fits])
    predictive = sens.drop_duplicates("prior")[["prior", "family"]].assign(
        quantity="hazard_ratio[b]", median=1.0, lower_95=0.01, upper_95=100.0
    )
    kwargs = {"times": (4.0,), "primary": None, "arm_labels": {}, "reference_label": "a",
              "landmarks": (), "time_unit": "years"}  # fmt: skip
    for fig, _ in (
        _prior_sensitivity(sens, **kwargs),
        _prior_predictive_check(predictive, sens, **kwargs),
    ):
        assert _log_axes_overlaps(fig) == []


def test_ppc_log_axis_does_not_overlap(results, monkeypatch):
    """A replicated log-rank p down to 1e-16: sixteen decades on a 4-inch axis."""
    drawn = []
    monkeypatch.setattr("resurv.report.plot_checks._save", lambda fig, path: drawn.append(fig))
    ppc = results.table("ppc").copy()
    logrank = ppc["figure_id"] == "logrank"
    ppc.loc[logrank, "value"] = np.logspace(-16, 0, logrank.sum())
    plots.ppc_figures(ppc, results.table("ppc_observed"), "unused.png")
    assert _log_axes_overlaps(drawn[0]) == []


def test_log_ticks_thin_to_what_fits():
    from resurv.report.plot_style import _figure, _styled, log_ticks

    @_styled
    def ticks(width, lo, hi):
        fig = _figure(width, 2.0)
        ax = fig.add_subplot()
        ax.set_xscale("log")
        return log_ticks(ax.xaxis, lo, hi)

    assert ticks(8.0, 0.5, 20.0) == [0.5, 1, 2, 5, 10, 20]  # room for 1-2-5
    sparse = ticks(2.0, 1e-6, 1e6)
    assert len(sparse) >= 2 and all(np.log10(t).is_integer() for t in sparse)
    with pytest.raises(ValueError, match="a log axis needs 0 < lo < hi"):
        ticks(4.0, 0.0, 1.0)


# -- prior sensitivity and prior predictive check ---------------------------------------------


def test_quantity_key_reads_both_namings():
    assert plots.quantity_key("survival[resected], t=4.0") == plots.quantity_key(
        "surv[resected, t=4]"
    )
    assert plots.quantity_key("surv[resected, t=4]") == ("surv", "resected", 4.0)
    assert plots.quantity_key("hazard_ratio[not_resected]") == (
        "hazard_ratio",
        "not_resected",
        None,
    )
    assert plots.quantity_key("shape[None]") == ("shape", "", None)
    assert plots.quantity_key("p_recurrence") == ("p_recurrence", "", None)


def test_prior_sensitivity_png_and_caption(results, landmarks, tmp_path):
    path = tmp_path / "sens.png"
    sens = results.table("sensitivity")
    caption = plots.prior_sensitivity(
        sens, path, times=(4.0,), primary=PRIMARY, arm_labels=results.arm_labels,
        reference_label="after resection", landmarks=landmarks,
    )  # fmt: skip
    assert_png(path)
    assert caption.startswith("Posterior median (dot) and 95% credible interval")
    assert f"Marked {plots.FAILED_MARK}: {FAILED} " in caption
    panels = plots.sensitivity_panels(sens, (4.0,))
    assert [tuple(k) for k in panels] == [
        ("hazard_ratio", "not_resected", None),
        ("surv", "resected", 4.0),
        ("surv", "not_resected", 4.0),
    ]


def test_prior_predictive_check_png_and_caption(results, landmarks, tmp_path):
    path = tmp_path / "pp.png"
    caption = plots.prior_predictive_check(
        results.table("prior_predictive"), results.table("sensitivity"), path, times=(4.0,),
        primary=PRIMARY, arm_labels=results.arm_labels, landmarks=landmarks,
    )  # fmt: skip
    assert_png(path)
    assert caption.startswith("Prior predictive check: the 95% interval each prior set implies")
    assert f"Marked {plots.FAILED_MARK}: {FAILED} " in caption


def test_prior_sensitivity_needs_its_quantities(results, tmp_path):
    sens = results.table("sensitivity")
    with pytest.raises(ValueError, match="neither 'hazard_ratio\\[<arm>\\]' nor 'surv"):
        plots.prior_sensitivity(sens[sens["quantity"] == "p_recurrence"], tmp_path / "s.png")


def test_pngs_are_palette_images(results, landmarks, tmp_path):
    """Palette PNGs: a third of the bytes of RGBA ones, for the same pixels to the eye."""
    from PIL import Image

    path = tmp_path / "surv.png"
    plots.survival_curves(of_fit(results.table("survival_curves"), PRIMARY), path,
                          landmarks=landmarks)  # fmt: skip
    with Image.open(path) as image:
        assert image.mode == "P"
