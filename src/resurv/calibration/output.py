"""The results folder of a calibration: its tables, its two figures and ``run.json``.

:func:`write_simulation` writes a :class:`~resurv.calibration.SimulationOutcome` atomically,
with the histograms of the ranks against their uniform band and the coverage of the central
intervals against their nominal probability. Importable from :mod:`resurv.calibration`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy import stats

from resurv import __version__
from resurv.calibration.figures import simulation_design
from resurv.calibration.results import SimulationOutcome, sbc_chi_square
from resurv.outputs import atomic_folder, versions, write_json


def write_simulation(outcome: SimulationOutcome, folder: Path, *, force: bool = False) -> None:
    """Write the tables, the two figures and ``run.json`` of ``outcome`` atomically."""
    with atomic_folder(folder, force=force) as tmp:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        for name in ("replicates", "ranks", "coverage", "sbc"):
            frame = getattr(outcome, name)
            frame.to_csv(tmp / "tables" / f"{name}.csv", index=False, float_format="%.6g")
        _plot_ranks(outcome, tmp / "figures" / "sbc_ranks.png")
        _plot_coverage(outcome, tmp / "figures" / "coverage.png")
        study = outcome.study
        write_json(tmp / "run.json", {
            "resurv": __version__,
            "study": {"id": study.id, "title": study.title, "sha256": study.source_sha256,
                      "arms": [{"id": a.id, "n": list(a.n)} for a in study.arms],
                      "figures": [f.id for f in simulation_design(study).figures]},
            "settings": {**asdict(outcome.settings), "master_seed": outcome.master_seed},
            "seeds": {"master": outcome.master_seed,
                      "per_replicate": outcome.replicates["seed"].tolist()},
            "counts": {s: outcome.count(s) for s in ("ok", "failed", "unhandled")},
            "compile_cache": outcome.cache,
            "sbc": outcome.sbc.to_dict(orient="records"),
            "passed": outcome.passed,
            "seconds": outcome.seconds,
            "versions": versions(),
        })  # fmt: skip


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _plot_ranks(outcome: SimulationOutcome, path: Path) -> None:
    rows = list(outcome.sbc.itertuples())
    fig = _figure(3.6 * max(len(rows), 1), 3.2)
    axes = fig.subplots(1, max(len(rows), 1), squeeze=False)[0]
    for ax, row in zip(axes, rows, strict=False):
        r = outcome.ranks.loc[outcome.ranks["parameter"] == row.parameter, "rank"].to_numpy()
        test = sbc_chi_square(r, row.n_draws, row.bins)
        edges = np.arange(row.bins + 1)
        lo = stats.binom.ppf(0.005, r.size, test["prob"])
        hi = stats.binom.ppf(0.995, r.size, test["prob"])
        ax.fill_between(edges, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                        color="0.85", label="99% band if uniform")  # fmt: skip
        ax.stairs(test["expected"], edges, color="0.4", linestyle="--", label="expected")
        ax.stairs(test["observed"], edges, color="#0072B2", linewidth=1.8, label="observed")
        ax.set(title=f"{row.parameter}\nchi-square p = {row.p_value:.3f}", ylabel="replicates",
               xlabel=f"rank bin ({row.bins} bins of ranks 0-{row.n_draws})")  # fmt: skip
    axes[0].legend(loc="lower center", fontsize=8)
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})


def _plot_coverage(outcome: SimulationOutcome, path: Path) -> None:
    fig = _figure(4.2, 3.8)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.5", linestyle="--", label="nominal")
    if len(outcome.coverage):
        for i, (name, g) in enumerate(outcome.coverage.groupby("parameter", sort=False)):
            x = g["nominal"].to_numpy() + 0.008 * (i - 0.5)
            err = [g["empirical"] - g["ci_lower"], g["ci_upper"] - g["empirical"]]
            ax.errorbar(x, g["empirical"], yerr=err, fmt="o", capsize=3, label=name)
    ax.set(xlim=(0.4, 1.0), ylim=(0.0, 1.02), xlabel="nominal probability of the central interval",
           ylabel="share of replicates covered (95% CI)",
           title=f"Interval coverage, {outcome.count('ok')} replicates")  # fmt: skip
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, format="png", dpi=110, metadata={"Software": None})
