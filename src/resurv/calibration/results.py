"""What a calibration produces: the rank and coverage statistics and their tables.

:func:`sbc_chi_square` tests that ranks are uniform, :func:`coverage_table` gives the
empirical coverage of the central intervals; :class:`SimulationOutcome` holds the tables of a
calibration (replicates, ranks, rank tests, coverage) with its verdict and summary, built
from the replicates' results. Importable from :mod:`resurv.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from resurv.calibration.settings import SimulationSettings
from resurv.study.schema import Study


def sbc_chi_square(ranks, n_draws: int, bins: int) -> dict[str, Any]:
    """Chi-square test that ranks are uniform on ``0 .. n_draws``, in ``bins`` bins.

    Rank ``r`` falls in bin ``floor(r * bins / (n_draws + 1))``; bin ``b`` has probability
    ``#{r in b} / (n_draws + 1)`` (exact even when ``bins`` does not divide ``n_draws + 1``).
    The statistic ``sum (O - E)^2 / E`` is compared with a chi-square on ``bins - 1`` degrees
    of freedom.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    if ranks.size and (ranks.min() < 0 or ranks.max() > n_draws):
        raise ValueError(f"ranks must lie in [0, {n_draws}]; got {ranks.min()}..{ranks.max()}")
    if not 2 <= bins <= n_draws + 1:
        raise ValueError(f"bins must lie in [2, n_draws + 1 = {n_draws + 1}]; received {bins}")
    prob = np.bincount(np.arange(n_draws + 1) * bins // (n_draws + 1), minlength=bins)
    prob = prob / (n_draws + 1)
    observed = np.bincount(ranks * bins // (n_draws + 1), minlength=bins)
    expected = ranks.size * prob
    chi2 = float(np.sum((observed - expected) ** 2 / expected)) if ranks.size else math.nan
    return {"chi2": chi2, "df": bins - 1, "p_value": float(stats.chi2.sf(chi2, bins - 1)),
            "observed": observed, "expected": expected, "prob": prob}  # fmt: skip


def coverage_table(ranks: pd.DataFrame, levels) -> pd.DataFrame:
    """Empirical coverage of the central intervals per parameter, with Clopper-Pearson 95%."""
    rows = []
    for name, group in ranks.groupby("parameter", sort=False):
        for level in levels:
            hits = int(group[f"covered_{level:g}"].sum())
            total = len(group)
            ci = stats.binomtest(hits, total).proportion_ci(0.95, method="exact")
            rows.append({
                "parameter": name, "nominal": level, "covered": hits, "replicates": total,
                "empirical": hits / total, "ci_lower": ci.low, "ci_upper": ci.high,
                "consistent": bool(ci.low <= level <= ci.high),
            })  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class SimulationOutcome:
    """Everything a calibration produces: tables, counts, and where they were written."""

    study: Study
    settings: SimulationSettings
    master_seed: int
    replicates: pd.DataFrame
    ranks: pd.DataFrame
    sbc: pd.DataFrame
    coverage: pd.DataFrame
    cache: dict[str, int]
    seconds: float
    folder: Path | None = None
    results: list[dict] = field(default_factory=list, repr=False)

    def count(self, status: str) -> int:
        """Replicates with ``status`` ("ok", "failed", "unhandled")."""
        return int((self.replicates["status"] == status).sum())

    @property
    def failed_share(self) -> float:
        """Failed fits among the fitted (not unhandled) replicates."""
        fitted = self.count("ok") + self.count("failed")
        return self.count("failed") / fitted if fitted else 1.0

    @property
    def passed(self) -> bool:
        """Ranks uniform (every p >= alpha) and failed fits within ``max_failed_share``."""
        s, uniform = self.settings, bool((self.sbc["p_value"] >= self.settings.alpha).all())
        return self.count("ok") > 0 and uniform and self.failed_share <= s.max_failed_share

    def summary_text(self) -> str:
        """A few lines with the numbers, for the terminal."""
        s = self.settings
        lines = [
            f"simulation-based calibration of {self.study.id}: {s.replicates} replicates, "
            f"{s.family}, prior {s.prior!r}, {s.chains} x {s.draws} draws thinned by {s.thin} "
            f"to {s.kept_draws}; {self.seconds:.0f} s",
            f"ranked: {self.count('ok')}; unhandled printed figures: {self.count('unhandled')}; "
            f"failed fits: {self.count('failed')} ({self.failed_share:.1%}, allowed "
            f"{s.max_failed_share:.0%}); compiled models: {self.cache.get('compiles', 'n/a')}",
        ]
        lines += [f"  {r.parameter}: chi-square {r.chi2:.2f} on {r.df} df ({r.bins} bins), "
                  f"p = {r.p_value:.3f}" for r in self.sbc.itertuples()]  # fmt: skip
        for name, group in self.coverage.groupby("parameter", sort=False):
            cells = [f"{r.nominal:.0%}: {r.empirical:.2f} [{r.ci_lower:.2f}, {r.ci_upper:.2f}]"
                     for r in group.itertuples()]  # fmt: skip
            lines.append(f"  coverage of {name}: {', '.join(cells)}")
        bad = [r.parameter for r in self.sbc.itertuples() if not r.p_value >= s.alpha]
        why = [f"ranks not uniform ({', '.join(bad)})"] if bad else []
        if self.failed_share > s.max_failed_share:
            why.append(f"failed fits above {s.max_failed_share:.0%}")
        verdict = f"PASSED: every rank test has p >= {s.alpha:g}, failed fits within the share"
        lines.append(verdict if self.passed else "FAILED: " + "; ".join(why or ["nothing ranked"]))
        if self.folder is not None:
            lines.append(f"results in {self.folder}")
        return "\n".join(lines)


def _frames(results: list[dict], settings: SimulationSettings, design: Study, parameters):
    rep_rows, rank_rows = [], []  # in design order: checkpoints store dicts with sorted keys
    for r in results:
        row = {"replicate": r["replicate"], "seed": r["seed"], "status": r["status"],
               "reason": r["reason"], "seconds": r["seconds"], "attempts": r.get("attempts"),
               "compiled_from_cache": r.get("compiled_from_cache")}  # fmt: skip
        row |= {f"n_{a.id}": r["n"][a.id] for a in design.arms}
        row |= {f"printed_{f.id}": r["printed"].get(f.id) for f in design.figures}
        row |= {f"truth_{k}": r["truth"][k] for k in parameters}
        rep_rows.append(row)
        if r["status"] != "ok":
            continue
        for name in parameters:
            rank_rows.append({
                "replicate": r["replicate"], "seed": r["seed"], "parameter": name,
                "truth": r["truth"][name], "rank": r["rank"][name], "n_draws": r["n_draws"],
                "posterior_median": r["posterior_median"][name],
                **{f"covered_{lv:g}": r["covered"][name][f"{lv:g}"] for lv in settings.levels},
            })  # fmt: skip
    columns = ["replicate", "seed", "parameter", "truth", "rank", "n_draws", "posterior_median"]
    columns += [f"covered_{lv:g}" for lv in settings.levels]
    return pd.DataFrame(rep_rows), pd.DataFrame(rank_rows, columns=columns)


def _sbc_frame(ranks: pd.DataFrame, settings: SimulationSettings, parameters) -> pd.DataFrame:
    rows = []
    n_draws = settings.kept_draws
    for name in parameters:
        r = ranks.loc[ranks["parameter"] == name, "rank"].to_numpy()
        bins = settings.bins or int(min(max(r.size // 10, 2), 20, n_draws + 1))
        test = sbc_chi_square(r, n_draws, bins)
        rows.append({
            "parameter": name, "replicates": r.size, "n_draws": n_draws, "bins": bins,
            "chi2": test["chi2"], "df": test["df"], "p_value": test["p_value"],
            "min_expected": float(test["expected"].min()),
            "uniform": bool(test["p_value"] >= settings.alpha),
        })  # fmt: skip
    return pd.DataFrame(rows)
