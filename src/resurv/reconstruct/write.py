"""The folder ``resurv reconstruct`` writes: pseudo-data, accuracy tables and provenance.

``ipd.csv`` (arm, time, event: the reconstruction of every curve), ``accuracy.csv`` (per arm:
RMSE and maximum error against the digitised curve, deaths, censored, printed total events),
``intervals.csv`` (per arm and at-risk interval: printed and reconstructed at risk, deaths,
censorings), ``plausible_ipd.csv`` when plausible reconstructions were drawn, and
``run.json`` (seed, versions, the study file's SHA-256). Written atomically: the folder is
complete or absent.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from resurv.outputs import atomic_folder, versions, write_json
from resurv.reconstruct.core import Reconstruction

__all__ = ["write_reconstruction"]


def write_reconstruction(
    rec: Reconstruction, folder: str | PathLike[str], *, force: bool = False
) -> Path:
    """Write a reconstruction's tables to ``folder`` (never over results without ``force``)."""
    dest = Path(folder)
    with atomic_folder(dest, force=force) as tmp:
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
                "reading_error": {a.curve.arm: vars(a.curve.reading_error) for a in rec.arms},
                "versions": versions(),
            },
        )
    return dest
