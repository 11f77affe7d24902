"""The report of a results folder: report.md, report.html and figures, rebuilt without refitting."""

import base64
import html
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from fixtures.make_results import FAILED, PRIMARY, make_results
from resurv.errors import OutputError
from resurv.report.answer import _landmarks, plain_answer
from resurv.report.build import rebuild_report, write_report
from resurv.report.plot_style import FAILED_MARK, Landmark
from resurv.report.results import load_results
from resurv.report.sections import _bayes_factor_words

# the order a reader needs: the answer and its figures first, the diagnostics and the
# versions at the end; each figure sits in the section that discusses it
SECTIONS = (
    "# Reanalysis: ",
    "## The answer in plain words",
    "![Figure 1. Posterior survival by arm](figures/survival_curves.png)",
    "![Figure 2. Hazard ratio under every prior set and family]",
    "## The audit of the printed figures",
    "![Figure 3. Audit",
    "## The paper and the posterior, side by side",
    "![Figure 4. Posterior predictive check",
    "## Prior sensitivity",
    "![Figure 5. Prior sensitivity",
    "### Prior predictive check",
    "![Figure 6. Prior predictive check",
    "![Figure 7. Prior vs posterior",
    "## Model comparison",
    "## Assumptions",
    "## Diagnostics",
    "## Versions and seeds",
    "## Appendix: trace and rank plots",
)
MAIN_FIGURES = (
    "survival_curves",
    "hazard_ratio_forest",
    "audit_picture",
    "ppc",
    "prior_sensitivity",
    "prior_predictive_check",
    "prior_vs_posterior",
)
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_results(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def written(folder):
    return write_report(folder)


@pytest.fixture(scope="module")
def markdown(folder, written):
    return (folder / "report.md").read_text()


@pytest.fixture(scope="module")
def page(folder, written):
    return (folder / "report.html").read_text()


def test_every_figure_is_written_and_not_empty(folder, written):
    fits = json.loads((folder / "run.json").read_text())["fits"]
    primary = next(f for f in fits if f["fit_key"] == PRIMARY)
    # trace plots: the primary prior set and close under each family, and the failed fit
    traced = [
        f["fit_key"]
        for f in fits
        if (f["prior"], f["close"]) == (primary["prior"], primary["close"])
        or f["fit_key"] == FAILED
    ]
    assert PRIMARY in traced and FAILED in traced and len(traced) < len(fits)
    expected = [f"{n}.png" for n in MAIN_FIGURES] + [f"trace_rank_{k}.png" for k in traced]
    assert [p.name for p in written] == ["report.md", "report.html", *expected]
    for path in written[2:]:
        assert path.parent == folder / "figures"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_markdown_has_every_section_in_order(markdown):
    positions = [markdown.find(s) for s in SECTIONS]
    assert -1 not in positions, [s for s, p in zip(SECTIONS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    for n, name in enumerate(MAIN_FIGURES, start=1):
        assert f"![Figure {n}. " in markdown and f"](figures/{name}.png)" in markdown


def test_diagnostics_table_shows_the_tree_depth_share(markdown):
    section = markdown.split("## Diagnostics")[1]
    assert "| min E-BFMI | at max tree depth | result |" in section
    row = next(x for x in section.splitlines() if x.startswith(f"| {PRIMARY}"))
    assert row.endswith("| 0.0% | passed |")


def test_markdown_marks_the_failed_fit(markdown):
    lines = markdown.splitlines()
    header = next(x for x in lines if x.startswith("| quantity | ") and PRIMARY in x)
    assert f"{FAILED} {FAILED_MARK}" in header and f"{PRIMARY} (primary) |" in header
    row = next(x for x in lines if x.startswith(f"| {FAILED} "))
    assert row.endswith("| FAILED |") and FAILED_MARK in row
    assert f"Failures of {FAILED} {FAILED_MARK}:" in markdown
    # the failure text keeps its "; fix: ..." (the contract separates failures by ";")
    assert re.search(r"- rhat of log_hr\[not_resected\] is [0-9.]+ .*; fix: ", markdown)
    assert "1 of 4 fits failed their convergence diagnostics" in markdown
    for caption in ("Figure 2. Hazard ratio", rf"Figure A\d+. Trace and rank plots of {FAILED}"):
        line = next(x for x in lines if re.match(rf"\*\*{caption}", x))
        assert f"Marked {FAILED_MARK}: {FAILED}" in line


def test_audit_figure_caption_names_the_impossible_estimators(markdown):
    line = next(x for x in markdown.splitlines() if x.startswith("**Figure 3. Audit"))
    impossible = line.split("impossible combinations:")[1]
    assert "kaplan-meier with n = 19 (after resection)" in impossible
    assert "kaplan-meier with n = 9 (without surgery)" in impossible
    assert "actuarial" not in impossible


def test_landmarks_are_found_without_the_audit(folder):
    """Arm and time come from audit.json; without it, from the comparison table's words."""
    results = load_results(folder)
    expected = [
        Landmark("resected", 4.0, 92.6, "92.6%"),
        Landmark("not_resected", 4.0, 18.5, "18.5%"),
    ]
    assert _landmarks(results) == expected
    assert _landmarks(replace(results, audit={})) == expected
    comparison = results.table("comparison").copy()
    comparison["printed"] = comparison["printed"].str.replace("92.6", "92.6% at 4 years")
    tables = results.tables | {"comparison": comparison}
    assert _landmarks(replace(results, audit={}, tables=tables)) == expected


def test_answer_agrees_with_the_saved_posterior(folder, markdown):
    """The answer's hazard ratio is the median of the primary fit's draws in posterior/*.zarr."""
    answer = markdown.split("## The answer in plain words\n\n")[1].split("\n")[0]
    assert answer.startswith("Given only what the abstract prints, ")
    dt = xr.open_datatree(folder / "posterior" / f"{PRIMARY}.zarr", engine="zarr")
    hr = np.exp(dt["posterior"]["log_hr"].to_numpy()).ravel()
    median, lower, upper = np.quantile(hr, [0.5, 0.025, 0.975])
    assert f"is {median:.3g} times that in the 'after resection' arm" in answer
    assert f"95% credible interval {lower:.3g} to {upper:.3g}" in answer
    assert f"P(HR > 1), is {'> 0.999' if np.mean(hr > 1) > 0.9995 else ''}" in answer
    # the sceptical fit's median (about 2.2) lies outside the primary interval (about 3 to 37)
    assert "so the prior matters" in answer
    assert "The audit's main finding: With 19 patients no Kaplan-Meier curve" in answer


def test_answer_reads_landmark_times_however_they_are_written(folder):
    results = load_results(folder)
    before = plain_answer(results)
    assert "Survival at 4 years: after resection " in before
    sens = results.table("sensitivity")
    sens["quantity"] = sens["quantity"].str.replace("t=4]", "t=4.0]")
    assert plain_answer(results) == before


def test_answer_says_when_the_prior_matters_little(folder):
    results = load_results(folder)
    sens = results.table("sensitivity")
    hr = sens["quantity"] == "hazard_ratio[not_resected]"
    primary = sens[hr & (sens["fit_key"] == PRIMARY)].iloc[0]
    sens.loc[hr, ["median", "lower_95", "upper_95"]] = primary[
        ["median", "lower_95", "upper_95"]
    ].to_numpy(float)
    assert "so the choice of prior moves the answer little" in plain_answer(results)


def test_model_comparison_states_the_bayes_factor_and_the_shape(markdown):
    """Savage-Dickey for the fixture's conjugate normal shape: the Exponential is log k = 0, so
    BF(Weibull vs Exponential) = N(y | 0, sqrt(s0^2 + s^2)) / N(y | 0, s) with y = 0.15,
    s = 1.2 and the prior SD s0 = 0.5."""
    bf = stats.norm.pdf(0.15, 0, np.hypot(0.5, 1.2)) / stats.norm.pdf(0.15, 0, 1.2)
    section = markdown.split("## Model comparison")[1].split("## Diagnostics")[0]
    assert f"Bayes factor Weibull vs Exponential {bf:.3g}, evidence not worth more" in section
    assert "the data barely inform the Weibull shape" in section


def test_model_comparison_says_how_the_marginal_likelihoods_were_estimated(markdown):
    section = markdown.split("## Model comparison")[1].split("## Diagnostics")[0]
    assert "MCSE of log BF" in section and "| 0.02 |" in section
    assert "by importance sampling from a Student-t proposal" in section
    assert "sequential Monte Carlo" not in section  # every estimate of the fixture is by IS


@pytest.mark.parametrize(
    ("bf", "words"),
    [
        (2.0, "evidence not worth more than a bare mention"),
        (10.0, "positive evidence for the Weibull"),
        (1 / 50, "strong evidence for the Exponential"),
        (1000.0, "very strong evidence for the Weibull"),
    ],
)
def test_bayes_factor_words_follow_kass_and_raftery(bf, words):
    """Kass RE, Raftery AE. Bayes factors. JASA 1995;90:773-95: 1-3, 3-20, 20-150, > 150."""
    assert _bayes_factor_words(np.log(bf)).startswith(words)


def test_html_is_self_contained_with_one_embedded_image_per_figure(folder, written, page):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    figures = written[2:]
    assert len(images) == len(figures) == page.count("<img ")
    for data, path in zip(images, figures, strict=True):
        assert base64.b64decode(data) == path.read_bytes()
    assert not re.search(r"https?://", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "<style>" in page
    assert str(folder) not in page  # nothing of the machine's file system leaks into the page


def test_html_says_what_the_markdown_says(markdown, page):
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    text = re.sub(r"\s+", " ", text)
    for line in markdown.splitlines():
        if line.startswith("#"):
            assert line.lstrip("# ") in text
        elif line.startswith("- "):
            assert re.sub(r"\s+", " ", line[2:]) in text
    answer = markdown.split("## The answer in plain words\n\n")[1].split("\n")[0]
    assert answer in text
    assert f'<span class="failed">{FAILED_MARK}</span>' in page and '<tr class="failed">' in page


def test_markdown_escapes_only_what_markdown_would_misread(markdown):
    assert "| <0.001 |" in markdown  # "<" before a digit is no HTML tag
    assert r"\<" not in markdown


def test_rebuild_gives_identical_files(folder, written, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    before = {p.relative_to(folder): p.read_bytes() for p in written}
    paths = rebuild_report(copy)
    assert [p.relative_to(copy) for p in paths] == list(before)
    for p in paths:
        assert p.read_bytes() == before[p.relative_to(copy)], p.name


def test_results_without_the_tree_depth_column_still_rebuild(folder, tmp_path):
    """Results written before the tree-depth check: the column shows "-"."""
    copy = tmp_path / "older"
    shutil.copytree(folder, copy)
    table = copy / "tables" / "diagnostics.csv"
    pd.read_csv(table).drop(columns="treedepth_frac").to_csv(table, index=False)
    rebuild_report(copy)
    section = (copy / "report.md").read_text().split("## Diagnostics")[1]
    row = next(x for x in section.splitlines() if x.startswith(f"| {PRIMARY}"))
    assert row.endswith("| - | passed |")


def test_missing_run_json_names_it(tmp_path):
    (tmp_path / "tables").mkdir()
    with pytest.raises(OutputError, match="not a resurv results folder: run.json is missing"):
        rebuild_report(tmp_path)
    with pytest.raises(OutputError, match="is not a folder"):
        rebuild_report(tmp_path / "nowhere")


def test_unreadable_run_json_and_incompatible_tables(folder, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text("{ half written")
    with pytest.raises(OutputError, match="run.json is not valid JSON"):
        rebuild_report(bad)
    (bad / "run.json").write_text(json.dumps({"fits": []}))
    with pytest.raises(OutputError, match="has no 'study' entry"):
        rebuild_report(bad)
    shutil.copy(folder / "run.json", bad / "run.json")
    (bad / "tables").mkdir()
    (bad / "tables" / "sensitivity.csv").write_text("fit_key,median\nx,1\n")
    with pytest.raises(
        OutputError, match=r"tables/sensitivity.csv .* lacks the columns \['family'"
    ):
        rebuild_report(bad)


def test_missing_tables_are_said_and_stale_figures_removed(folder, written, tmp_path):
    copy = tmp_path / "partial"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "posterior")
    for name in ("model_comparison", "ppc"):
        (copy / "tables" / f"{name}.csv").unlink()
    paths = rebuild_report(copy)
    md = (copy / "report.md").read_text()
    assert "Not available: tables/model_comparison.csv is not in the results folder." in md
    assert "## Appendix" not in md and "ppc.png" not in md
    assert sorted(p.name for p in (copy / "figures").iterdir()) == sorted(p.name for p in paths[2:])
    assert len(paths) == 2 + len(MAIN_FIGURES) - 1


def _chromium(*args, tmp):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # a fetch from the network would fail, and show
        f"--user-data-dir={tmp / 'profile'}",
    ]
    return subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )


#: measures the page after load and writes its findings, as JSON, into <body data-probe>
PROBE = """<script>window.addEventListener('load', function () {
  var firstImage = document.querySelector('img'), answer = document.querySelector('.lede > p');
  function box(e) { var r = e.getBoundingClientRect();
    return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }
  var out = {viewport: innerWidth, height: innerHeight, answer: box(answer),
    figure: box(firstImage)};
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  out.page = document.documentElement.scrollWidth;
  out.scrolling = [];
  document.querySelectorAll('.table-wrap, table, figure, details, main').forEach(function (e) {
    if (e.scrollWidth > e.clientWidth + 1) {
      out.scrolling.push(e.tagName + '.' + e.className + ' ' + e.scrollWidth + '>' + e.clientWidth
        + ' ' + e.textContent.slice(0, 60)); } });
  out.images = Array.prototype.map.call(document.images, function (im) {
    return im.complete && im.naturalWidth > 0 ? im.naturalWidth : 0; });
  out.fetched = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  document.body.setAttribute('data-probe', JSON.stringify(out)); });</script>"""


@pytest.fixture(scope="module")
def browser(folder, written, page, tmp_path_factory):
    """Measure report.html in headless Chromium at 1280 and 800 px; screenshot the first screen.

    The probe runs in a copy of the page (the report itself carries no scripts).
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed; .ci/run installs it")
    tmp = tmp_path_factory.mktemp("chromium")
    probed = folder / "probe.html"  # beside report.html, so relative links resolve the same
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    found = {}
    try:
        for width in (1280, 800):
            dom = _chromium(f"--window-size={width},800", "--virtual-time-budget=10000",
                            "--dump-dom", probed.as_uri(), tmp=tmp).stdout  # fmt: skip
            data = re.search(r'data-probe="([^"]*)"', dom)
            assert data, "the probe did not run: the page did not finish loading"
            found[width] = json.loads(html.unescape(data.group(1)))
        shot = tmp / "first_screen.png"
        report = (folder / "report.html").as_uri()
        _chromium("--window-size=1280,800", f"--screenshot={shot}", report, tmp=tmp)
        found["screenshot"] = shot
    finally:
        probed.unlink()
    return found


def test_browser_no_table_or_figure_scrolls_sideways_at_1280px(browser):
    at = browser[1280]
    assert at["viewport"] == 1280
    assert at["scrolling"] == [], at["scrolling"]
    assert at["page"] <= 1280


def test_browser_the_page_never_scrolls_sideways_at_800px(browser):
    at = browser[800]
    assert at["viewport"] == 800 and at["page"] <= 800, at


def test_browser_every_image_loads_and_nothing_is_fetched(browser, written):
    expected = [int.from_bytes(p.read_bytes()[16:20], "big") for p in written[2:]]  # PNG IHDR
    for width in (1280, 800):
        assert browser[width]["images"] == expected and min(expected) > 0
        assert browser[width]["fetched"] == []


def test_browser_first_screen_shows_the_answer_and_a_figure(browser):
    import matplotlib.image as mpimg

    at = browser[1280]
    answer, figure = at["answer"], at["figure"]
    assert answer["top"] < at["height"] / 3, answer
    assert figure["top"] < at["height"] / 3, figure
    visible = min(figure["bottom"], at["height"]) - figure["top"]
    assert visible > 0.6 * (figure["bottom"] - figure["top"]), (figure, at["height"])
    pixels = mpimg.imread(browser["screenshot"])[..., :3]
    assert pixels.shape[1] == 1280 and pixels.shape[0] >= at["height"]

    def drawn(b):  # ink in the region of the screen shot where the probe found the element
        region = pixels[int(b["top"]) : int(b["bottom"]), int(b["left"]) : int(b["right"])]
        return region.size and region.std() > 0.05 and (region.mean(axis=2) < 0.5).mean() > 0.01

    assert drawn(answer) and drawn(figure)


def test_html_renders_in_chromium_with_every_image(folder, written, page, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed; .ci/run installs it")
    # a copy with a probe script: the report itself carries no scripts
    probe = (
        "<script>window.addEventListener('load', function () {"
        "document.querySelectorAll('img').forEach(function (im) {"
        "im.setAttribute('data-natural-width', im.naturalWidth); });"
        "document.body.setAttribute('data-probe', 'done'); });</script>"
    )
    probed = tmp_path / "probe.html"
    probed.write_text(page.replace("</body>", probe + "</body>"))
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri(), tmp=tmp_path)
    assert 'data-probe="done"' in dom.stdout
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom.stdout)]
    expected = [int.from_bytes(p.read_bytes()[16:20], "big") for p in written[2:]]  # PNG IHDR
    assert widths == expected and min(widths) > 0

    shot = tmp_path / "shot.png"
    _chromium("--window-size=1000,1400", f"--screenshot={shot}", probed.as_uri(), tmp=tmp_path)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.std() > 0.05  # text and tables drawn, not a blank page


def test_html_stays_small_and_links_its_tables(folder, written, page):
    """Figures at screen resolution as palette PNGs; the data stay in tables/, linked."""
    # the flagship's 12 fits give 1.74 MB (was 4.2 MB); these 4 fits must stay well below
    assert len(page.encode()) < 1_000_000
    for path in written[2:]:
        assert path.stat().st_size < 250_000, path.name
    links = re.findall(r'<a href="([^"]+)"', page)
    assert "tables/sensitivity.csv" in links and "tables/audit.csv" in links
    for link in links:
        assert link.startswith("tables/") and (folder / link).is_file(), link
    assert page.count("<details") >= 4  # the long tables, versions and trace plots


def test_every_fit_gets_a_trace_plot_when_asked(folder, tmp_path):
    copy = tmp_path / "all"
    shutil.copytree(folder, copy)
    fits = [f["fit_key"] for f in json.loads((copy / "run.json").read_text())["fits"]]
    written = rebuild_report(copy, workers=1, trace_plots="all")
    traces = [p.name for p in written if p.name.startswith("trace_rank_")]
    assert traces == [f"trace_rank_{k}.png" for k in fits]
    assert (
        "Trace and rank plots of every fit are in the appendix" in (copy / "report.md").read_text()
    )
    with pytest.raises(ValueError, match="trace plots: one of"):
        rebuild_report(copy, trace_plots="some")
