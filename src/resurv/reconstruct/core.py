"""``resurv.reconstruct``: every digitised curve of a study reconstructed, with its accuracy.

:func:`reconstruct` reads the ``[[curve]]`` tables of a study, runs Guyot et al.'s algorithm
on each (:func:`~resurv.reconstruct.guyot.guyot`, with the total events where printed),
reports the accuracy table (:mod:`~resurv.reconstruct.accuracy`) and, when asked, draws
plausible reconstructions (:mod:`~resurv.reconstruct.plausible`) for the pooled posterior.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from resurv.errors import StudyError
from resurv.reconstruct.accuracy import Accuracy, accuracy
from resurv.reconstruct.guyot import PseudoData
from resurv.reconstruct.plausible import plausible_reconstructions, reconstruct_curve
from resurv.study import Study, load_study
from resurv.study.digitised import DigitisedCurve

__all__ = ["ArmReconstruction", "Reconstruction", "reconstruct"]

#: seed of the plausible reconstructions when none is given (the study's default seed)
DEFAULT_SEED = 20000


@dataclass(frozen=True)
class ArmReconstruction:
    """One arm: the digitised curve, Guyot's reconstruction, its accuracy, plausible ones."""

    curve: DigitisedCurve
    pseudo: PseudoData
    accuracy: Accuracy
    plausible: tuple[PseudoData, ...] = ()


@dataclass(frozen=True)
class Reconstruction:
    """The reconstructions of every digitised curve of a study, in file order."""

    study: Study
    arms: tuple[ArmReconstruction, ...]
    seed: int

    def arm(self, arm_id: str) -> ArmReconstruction:
        """The reconstruction of one arm."""
        for a in self.arms:
            if a.curve.arm == arm_id:
                return a
        raise KeyError(f"no curve for arm {arm_id!r}; curves: {[a.curve.arm for a in self.arms]}")

    def ipd(self) -> pd.DataFrame:
        """Pseudo-individual data of every arm: ``arm``, ``time``, ``event``."""
        frames = [a.pseudo.frame(a.curve.arm) for a in self.arms]
        return pd.concat(frames, ignore_index=True)[["arm", "time", "event"]]

    def summary(self) -> pd.DataFrame:
        """One row per arm: RMSE, maximum error, deaths, censored, printed total events."""
        rows = [{"arm": a.curve.arm, "n": a.pseudo.n, **a.accuracy.summary()} for a in self.arms]
        return pd.DataFrame(rows)

    def notes(self) -> list[str]:
        """Where a reconstruction misses what the paper printed, one sentence per problem."""
        out = []
        for a in self.arms:
            acc, arm = a.accuracy, a.curve.arm
            if acc.total_events is not None and acc.deaths != acc.total_events:
                out.append(
                    f"arm {arm!r}: {acc.deaths} deaths reconstructed, {acc.total_events} "
                    "printed; the curve's drops and the printed total disagree (check the "
                    "points near the end of the curve and the total)."
                )
            rows = acc.intervals
            unmet = rows[rows["at_risk_reconstructed"] != rows["at_risk_printed"]]
            for r in unmet.itertuples():
                out.append(
                    f"arm {arm!r}: {r.at_risk_reconstructed} at risk at {r.start:g} in the "
                    f"reconstruction, {r.at_risk_printed} printed (the drops before it imply "
                    "more deaths, or fewer, than the at-risk table allows)."
                )
            if a.curve.risk_time is None and a.curve.total_events is None:
                out.append(
                    f"arm {arm!r}: neither an at-risk table nor total events; the "
                    "reconstruction assumes no censoring, and plausible reconstructions draw "
                    "it from the study's [censoring] model."
                )
        return out

    def intervals(self) -> pd.DataFrame:
        """Per arm and at-risk interval: printed and reconstructed at risk, deaths, censored."""
        frames = [a.accuracy.intervals.assign(arm=a.curve.arm) for a in self.arms]
        df = pd.concat(frames, ignore_index=True)
        return df[["arm", *[c for c in df.columns if c != "arm"]]]

    def plausible_ipd(self) -> pd.DataFrame:
        """Every plausible reconstruction: ``draw``, ``arm``, ``time``, ``event``."""
        frames = [
            p.frame(a.curve.arm).assign(draw=m)
            for a in self.arms
            for m, p in enumerate(a.plausible)
        ]
        if not frames:
            return pd.DataFrame(columns=["draw", "arm", "time", "event"])
        return pd.concat(frames, ignore_index=True)[["draw", "arm", "time", "event"]]


def reconstruct(
    study: Study | str | PathLike[str],
    *,
    plausible: int = 0,
    seed: int | None = None,
) -> Reconstruction:
    """Reconstruct pseudo-individual data from every digitised curve of a study.

    Parameters
    ----------
    study : Study or path
        A study (or its file) with ``[[curve]]`` tables (``models/README.md``).
    plausible : int, default 0
        Plausible reconstructions to draw per arm (for :func:`resurv.reconstruct.pooled_fit`);
        a curve with neither at-risk table nor total events draws its censoring from the
        study's ``[censoring]`` model.
    seed : int, optional
        Seed of the plausible reconstructions (default: the study's ``analysis.seed``).

    Returns
    -------
    Reconstruction

    Raises
    ------
    StudyError
        When the study has no digitised curve (field ``curve``), or for bad input.

    Examples
    --------
    >>> rec = reconstruct("tests/fixtures/curves/leukemia.toml")  # doctest: +SKIP
    >>> rec.summary()  # doctest: +SKIP
    """
    if not isinstance(study, Study):
        study = load_study(study)
    if not study.curves:
        raise StudyError(
            "curve",
            "received no [[curve]] table; allowed: one or more digitised curves. Add a "
            '[[curve]] table per arm with arm = "..." and points = "file.csv" (schema in '
            "models/README.md).",
        )
    if isinstance(plausible, bool) or not isinstance(plausible, int) or plausible < 0:
        raise ValueError(f"plausible must be an integer >= 0; received {plausible!r}")
    seed = study.analysis.seed if seed is None else int(seed)
    children = np.random.SeedSequence(seed).spawn(len(study.curves))
    censoring = None
    if plausible:  # PyTensor is imported only when censoring may have to be drawn
        from resurv.model.censoring import CensoringModel

        censoring = CensoringModel.from_study(study)
    arms = []
    for curve, child in zip(study.curves, children, strict=True):
        pseudo = reconstruct_curve(curve)
        acc = accuracy(pseudo, total_events=curve.total_events, risk_time=curve.risk_time,
                       risk_n=curve.risk_n)  # fmt: skip
        draws = ()
        if plausible:
            draws = plausible_reconstructions(curve, plausible, seed=child, censoring=censoring)
        arms.append(ArmReconstruction(curve, pseudo, acc, draws))
    return Reconstruction(study, tuple(arms), seed)
