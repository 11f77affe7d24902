"""The folder ``resurv reconstruct`` writes: pseudo-data, accuracy tables and provenance.

``ipd.csv`` (arm, time, event: the reconstruction of every curve), ``accuracy.csv`` (per arm:
RMSE and maximum error against the digitised curve, deaths, censored, printed total events),
``intervals.csv`` (per arm and at-risk interval: printed and reconstructed at risk, deaths,
censorings), ``plausible_ipd.csv`` when plausible reconstructions were drawn, and
``run.json`` (seed, versions, the study file's SHA-256). With a pooled fit, also
``posterior.csv`` (median and 95% interval of each arm's hazard, hazard ratio and median,
pooled over the plausible reconstructions) and ``fits.csv`` (each reconstruction's fit and
whether it passed its diagnostics). Written atomically: the folder is complete or absent.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from resurv.outputs import atomic_folder, versions, write_json
from resurv.reconstruct.core import Reconstruction

__all__ = ["write_reconstruction"]


def write_reconstruction(
    rec: Reconstruction, folder: str | PathLike[str], *, force: bool = False, pooled: Any = None
) -> Path:
    """Write a reconstruction's tables to ``folder`` (never over results without ``force``).

    ``pooled`` is an optional :class:`~resurv.reconstruct.pool.PooledFit` of ``rec``.
    """
    dest = Path(folder)
    with atomic_folder(dest, force=force) as tmp:
        if pooled is not None:
            pooled.summary(prob=0.95).to_csv(tmp / "posterior.csv", index=False)
            fits = [{"reconstruction": m, "family": f.family.name, "prior": f.prior_set.name,
                     "status": f.status} for m, f in enumerate(pooled.fits)]  # fmt: skip
            pd.DataFrame(fits).to_csv(tmp / "fits.csv", index=False)
        rec.ipd().to_csv(tmp / "ipd.csv", index=False)
        rec.summary().to_csv(tmp / "accuracy.csv", index=False)
        rec.intervals().to_csv(tmp / "intervals.csv", index=False)
        draws = max((len(a.plausible) for a in rec.arms), default=0)
        if draws:
            rec.plausible_ipd().to_csv(tmp / "plausible_ipd.csv", index=False)
        write_json(
            tmp / "run.json",
            {
                "study": rec.study.id,
                "study_sha256": rec.study.source_sha256,
                "seed": rec.seed,
                "plausible_draws": draws,
                "notes": rec.notes(),
                "reading_error": {a.curve.arm: vars(a.curve.reading_error) for a in rec.arms},
                "curves": {
                    a.curve.arm: {"source": a.curve.source, "sha256": a.curve.source_sha256}
                    for a in rec.arms
                },
                "versions": versions(),
            },
        )
    return dest
