"""The report of a results folder: ``report.md``, ``report.html`` and ``figures/*.png``.

The report is a pure function of a results folder written by ``resurv run``: it reads only the
saved files (``run.json``, ``audit.json``, ``tables/*.csv``, ``posterior/*.zarr``) and never
refits, so ``resurv report results/<study>/`` rebuilds it at any time. The same folder gives
byte-identical ``report.md``, ``report.html`` and PNGs: no clock is read (the only dates are
those stored in ``run.json``), tables are formatted with fixed precision, and PNGs carry no
software or date metadata.

The content is built once as a list of blocks (headings, paragraphs, tables, lists, figures,
collapsed details, links to the CSV tables) and rendered twice, to Markdown and to a
self-contained HTML page (inline CSS, figures embedded as base64 data URIs, no scripts, no
external links), so both files say the same thing. The page opens with the answer and the two
figures that carry it; every figure sits in the section that discusses it; long tables are
collapsed and the full tables are the CSV files in ``tables/``, linked.

The trace plots, one per fit and most of the drawing, are drawn by helper processes while
this one draws the main figures (:mod:`resurv.report.drawing`); the files are the same
whichever process draws them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pandas as pd

from resurv.outputs import confined, safe_name
from resurv.report import plots
from resurv.report.answer import _hazard_ratio_rows, _landmarks, _reference_arm, plain_answer
from resurv.report.blocks import (
    Bullets,
    Details,
    Group,
    Heading,
    Image,
    Para,
    _to_html,
    _to_markdown,
)
from resurv.report.blocks import Table as Table
from resurv.report.curves import curves_diagnostics, curves_section
from resurv.report.drawing import TraceDrawing, TraceJob
from resurv.report.endpoints import endpoints_section
from resurv.report.plateau import plateau_section
from resurv.report.results import NUMERIC_COLUMNS as NUMERIC_COLUMNS
from resurv.report.results import TABLE_COLUMNS, Results, load_results
from resurv.report.sections import (
    _audit_section,
    _comparison_section,
    _diagnostics_section,
    _model_section,
    _provenance_section,
)
from resurv.report.sections import _bayes_factor_words as _bayes_factor_words
from resurv.report.sensitivity import _sensitivity_section, _sensitivity_times

__all__ = [
    "Results",
    "load_results",
    "plain_answer",
    "rebuild_report",
    "TRACE_CHOICES",
    "trace_jobs",
    "traced_fits",
    "write_report",
]


# -------------------------------------------------------------------------------- figures ---
def _primary_only(frame: pd.DataFrame | None, r: Results) -> pd.DataFrame | None:
    if frame is None:
        return None
    sel = frame[frame["fit_key"] == r.primary]
    return sel if len(sel) else None


#: the main figures, in the order the page shows them
FIGURES = (
    "survival_curves",
    "hazard_ratio_forest",
    "audit_picture",
    "ppc",
    "prior_sensitivity",
    "prior_predictive_check",
    "prior_vs_posterior",
)


#: which fits get a trace plot: "key" (default) or "all" (see :func:`traced_fits`)
TRACE_CHOICES = ("key", "all")


def traced_fits(r: Results, which: str = "key") -> list[str]:
    """The fit keys whose trace plots the report shows, in run order.

    ``"all"``: every fit. ``"key"``: the fit of the primary prior set and study close under
    each family (the primary fit and its counterparts), and every fit that failed its
    diagnostics. Every fit's diagnostics are in the report's table either way; trace plots
    of the passing sensitivity fits add pages a reader skips and most of the drawing time.
    """
    if which not in TRACE_CHOICES:
        raise ValueError(f"trace plots: one of {list(TRACE_CHOICES)}; received {which!r}")
    keys = [str(f["fit_key"]) for f in r.fits]
    if which == "all":
        return keys
    primary = next((f for f in r.fits if f["fit_key"] == r.primary), None)
    failed = set(r.failed)
    key = [
        str(f["fit_key"])
        for f in r.fits
        if f["fit_key"] in failed
        or f["fit_key"] == r.primary
        or (
            primary is not None
            and (f.get("prior"), f.get("close")) == (primary.get("prior"), primary.get("close"))
        )
    ]
    return [k for k in keys if k in key]


def trace_jobs(results_dir, which: str = "key") -> list[TraceJob]:
    """The trace plots :func:`write_report` draws for a results folder, for an early start.

    Needs only the posteriors, ``run.json`` and the diagnostics and sensitivity tables (see
    ``posteriors_written`` of :func:`resurv.run.write.write_results`).
    """
    r = load_results(results_dir)
    return _trace_jobs(r, confined(r.folder, "figures"), which)


def _trace_jobs(r: Results, folder: Path, which: str = "key") -> list[TraceJob]:
    """The trace plot of every fit :func:`traced_fits` picks whose posterior was saved."""
    jobs = []
    chosen = set(traced_fits(r, which))
    for f in r.fits:
        k = f["fit_key"]
        if k not in chosen:
            continue
        zarr = r.folder / "posterior" / f"{k}.zarr"
        if zarr.exists():
            jobs.append(
                TraceJob(
                    zarr=zarr, target=confined(folder, f"trace_rank_{safe_name(k)}.png"),
                    fit_key=k, failed=k in r.failed,
                    failures=tuple(str(x) for x in f.get("failures") or []),
                )
            )  # fmt: skip
    return jobs


def _figures(
    r: Results,
    folder: Path,
    workers: int | None = None,
    traces: TraceDrawing | None = None,
    which: str = "key",
) -> tuple[dict[str, Image], dict[str, Image]]:
    """Draw every figure the tables allow; return the main figures and the appendix by name.

    The trace plots are drawn by helper processes while this one draws the main figures
    (see :class:`~resurv.report.drawing.TraceDrawing`): those of ``traces`` if given, else
    helpers started here; ``workers`` counts the processes.
    """
    jobs = _trace_jobs(r, folder, which)
    with contextlib.ExitStack() as stack:
        if traces is None:
            traces = stack.enter_context(TraceDrawing(len(jobs), workers))
        traces.start(jobs)
        main = _main_figures(r, folder)
        captions = traces.captions()
    appendix = {
        job.fit_key: Image(f"figures/{job.target.name}", f"Trace and rank plots of {job.fit_key}",
                           caption)
        for job, caption in zip(jobs, captions, strict=True)
    }  # fmt: skip
    return main, appendix


def _main_figures(r: Results, folder: Path) -> dict[str, Image]:
    """Draw the main figures the tables allow, by name, in the order the page shows them."""
    landmarks, words, failed = _landmarks(r), r.fit_words(r.primary), r.primary in r.failed
    arms = {"arm_labels": r.arm_labels}
    drawn: dict[str, tuple[str, str]] = {}

    def path(name: str) -> Path:
        return confined(folder, f"{name}.png")

    curves = _primary_only(r.table("survival_curves"), r)
    if curves is not None:
        caption = plots.survival_curves(
            curves, path("survival_curves"), pseudo=r.table("pseudo_datasets"),
            landmarks=landmarks, time_unit=r.time_unit, fit=words, failed=failed, **arms,
        )  # fmt: skip
        drawn["survival_curves"] = ("Posterior survival by arm", caption)
    hr = _hazard_ratio_rows(r)
    sens = r.table("sensitivity")
    ref = _reference_arm(r, list(hr["arm"].unique())) if len(hr) else _reference_arm(r, [])
    across = {"primary": r.primary, "reference_label": r.arm_labels.get(ref, ref), **arms}
    if len(hr):
        caption = plots.hazard_ratio_forest(sens, path("hazard_ratio_forest"), **across)
        drawn["hazard_ratio_forest"] = ("Hazard ratio under every prior set and family", caption)
    deaths = r.table("audit_deaths")
    if deaths is not None and len(deaths):
        sizes = {a["id"]: a.get("n", []) for a in r.study.get("arms", [])}
        graphs = [g for g in r.audit.get("landmark_graphs", []) if isinstance(g, dict)]
        checked = {(g["arm"], int(g["n"]), g["estimator"]): bool(g.get("complete", True))
                   for g in graphs} or None  # fmt: skip
        caption = plots.audit_picture(
            deaths, path("audit_picture"), arm_sizes=sizes, checked=checked, landmarks=landmarks,
            time_unit=r.time_unit, **arms,
        )  # fmt: skip
        drawn["audit_picture"] = ("Audit: feasible death counts", caption)
    ppc, observed = r.table("ppc"), r.table("ppc_observed")
    if ppc is not None and observed is not None and len(ppc):
        comp = r.table("comparison")
        comp = pd.DataFrame(columns=TABLE_COLUMNS["comparison"]) if comp is None else comp
        by_id = {c: dict(zip(comp["figure_id"], comp[c], strict=True)) for c in comp.columns}
        caption = plots.ppc_figures(
            ppc, observed, path("ppc"), labels=by_id["quantity"], printed_text=by_id["printed"],
            p_extreme=by_id["p_replicate_as_extreme"], fit=words, failed=failed,
        )  # fmt: skip
        drawn["ppc"] = ("Posterior predictive check of the printed figures", caption)
    if sens is not None and len(sens) and plots.sensitivity_panels(sens):
        times = _sensitivity_times(r, sens)
        more = {"times": times, "landmarks": landmarks, "time_unit": r.time_unit, **across}
        caption = plots.prior_sensitivity(sens, path("prior_sensitivity"), **more)
        drawn["prior_sensitivity"] = ("Prior sensitivity of the answer", caption)
        predictive = r.table("prior_predictive")
        if predictive is not None and len(predictive):
            caption = plots.prior_predictive_check(
                predictive, sens, path("prior_predictive_check"), **more
            )
            drawn["prior_predictive_check"] = ("Prior predictive check", caption)
    pp = _primary_only(r.table("prior_posterior"), r)
    if pp is not None:
        caption = plots.prior_vs_posterior(
            pp, path("prior_vs_posterior"), fit=words, failed=failed, time_unit=r.time_unit, **arms
        )
        drawn["prior_vs_posterior"] = ("Prior vs posterior", caption)
    order = [k for k in FIGURES if k in drawn]
    return {k: Image(f"figures/{k}.png", *drawn[k]) for k in order}


# -------------------------------------------------------------------------------- report ---
def _blocks(r: Results, main: dict[str, Image], appendix: dict[str, Image]) -> list:
    """Return the page's blocks, in the order a reader needs them.

    The answer and its two figures, the audit, the paper beside the posterior, the prior
    sensitivity; then the model comparison, assumptions, diagnostics, versions and seeds, and
    the trace plots, collapsed.
    """
    number = {name: i + 1 for i, name in enumerate(main)}
    numbered = {
        n: Image(im.file, f"Figure {number[n]}. {im.label}", im.caption) for n, im in main.items()
    }

    def ref(*names: str) -> str:
        found = [f"Figure {number[n]}" for n in names if n in number]
        return " and ".join(found)

    def figures(*names: str) -> list:
        return [numbered[n] for n in names if n in numbered]

    study = r.study
    title = study.get("title") or study.get("id", "study")
    blocks: list = [
        Heading(1, f"Reanalysis: {title}"),
        Para(f"{study.get('citation', '')} Study id: {study.get('id', '-')}.".strip()),
        Group(
            "lede",
            (
                Heading(2, "The answer in plain words"),
                Para(plain_answer(r)),
                *figures("survival_curves", "hazard_ratio_forest"),
            ),
        ),
    ]
    blocks += plateau_section(r)
    blocks += endpoints_section(r)
    blocks += _audit_section(r, figures("audit_picture"), ref("audit_picture"))
    blocks += _comparison_section(r, figures("ppc"), ref("ppc"))
    blocks += curves_section(r)  # only for a study with digitised curves
    names = ("prior_sensitivity", "prior_predictive_check", "prior_vs_posterior")
    blocks += _sensitivity_section(r, {n: figures(n) for n in names}, {n: ref(n) for n in names})
    blocks += _model_section(r)
    assumptions = [str(a) for a in r.run.get("assumptions", [])]
    blocks += [Heading(2, "Assumptions"), Bullets(tuple(assumptions or ["none recorded"]))]
    every = len(appendix) == len(r.fits)
    refs = (
        f"Trace and rank plots of every fit are in the appendix ({len(appendix)} figures)."
        if every
        else f"Trace and rank plots of the primary prior set's fit under each family and of "
        f"every fit that failed its diagnostics are in the appendix ({len(appendix)} of "
        f"{len(r.fits)} fits; 'resurv report --traces all' draws every fit's)."
    )
    blocks += _diagnostics_section(r, refs if appendix else "")
    blocks += curves_diagnostics(r)  # only for a study with digitised curves
    blocks += _provenance_section(r)
    if appendix:
        blocks.append(Heading(2, "Appendix: trace and rank plots"))
        for i, (k, image) in enumerate(appendix.items()):
            bad = k in r.failed
            summary = k + (" (primary)" if k == r.primary else "")
            summary += f" {plots.FAILED_MARK}" if bad else ""
            label = f"Figure A{i + 1}. {image.label}"
            blocks.append(Details(summary, (Image(image.file, label, image.caption),), open=bad))
    return blocks


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_report(
    results_dir,
    *,
    workers: int | None = None,
    traces: TraceDrawing | None = None,
    trace_plots: str = "key",
) -> list[Path]:
    """Write ``figures/*.png``, ``report.md`` and ``report.html`` into a results folder.

    Parameters
    ----------
    results_dir : str or path-like
        A folder written by ``resurv run`` (it holds ``run.json`` and ``tables/``).
    workers : int, optional
        Processes that may draw the figures, this one included: the others draw trace plots
        while this one draws the main figures. Default: the cores this process may use, with
        a helper process only for every
        :data:`~resurv.report.drawing.MIN_FIGURES_PER_HELPER` fits; 1 draws everything here.
        The files are the same whatever the number.
    traces : resurv.report.drawing.TraceDrawing, optional
        Helpers started earlier (entered, not yet started), to draw the trace plots instead
        of helpers started here; ``workers`` is then not used.
    trace_plots : {"key", "all"}, default "key"
        Which fits get a trace-and-rank figure in the appendix (:func:`traced_fits`).

    Returns
    -------
    list of pathlib.Path
        ``report.md``, ``report.html`` and every figure written, in that order.

    Raises
    ------
    resurv.errors.OutputError
        If the folder is not a resurv results folder (e.g. ``run.json`` is missing) or a
        table lacks the columns the report needs.

    Notes
    -----
    Reads only the saved files; never refits. Deterministic: the same folder gives
    byte-identical outputs. PNGs in ``figures/`` that this report did not write (left over
    from an earlier report) are removed.
    """
    r = load_results(results_dir)
    folder = confined(r.folder, "figures")
    folder.mkdir(exist_ok=True)
    main, appendix = _figures(r, folder, workers, traces, trace_plots)
    images = [*main.values(), *appendix.values()]
    written = {r.folder / im.file for im in images}
    for stale in folder.glob("*.png"):
        if stale not in written:
            stale.unlink()
    blocks = _blocks(r, main, appendix)
    title = f"Reanalysis: {r.study.get('title') or r.study.get('id', 'study')}"
    md_path, html_path = r.folder / "report.md", r.folder / "report.html"
    _write_atomic(md_path, _to_markdown(blocks))
    _write_atomic(html_path, _to_html(blocks, r.folder, title))
    return [md_path, html_path, *(r.folder / im.file for im in images)]


def rebuild_report(
    results_dir, *, workers: int | None = None, trace_plots: str = "key"
) -> list[Path]:
    """Rebuild the report of a saved results folder without refitting (``resurv report``).

    Same as :func:`write_report`; raises :class:`~resurv.errors.OutputError` naming the
    missing file when ``results_dir`` is not a resurv results folder.
    """
    return write_report(results_dir, workers=workers, trace_plots=trace_plots)
