"""Plausible reconstructions: the digitising error and the unknown censoring made visible.

One digitised curve is one reading of the figure. The reading error of every point is stated
in the study file (:class:`~resurv.study.digitised.ReadingError`), and Guyot's algorithm
places censorings at assumed times. A plausible reconstruction redraws both: every point's
time and survival are perturbed by a normal draw with the stated standard deviations and made
monotone again (:func:`~resurv.reconstruct.digitise.monotone_curve`), the numbers-at-risk
table and the total events are kept (they are printed as integers), and the censorings of
each interval are placed uniformly at random within it. When the paper prints neither an
at-risk table nor the total events, the curve does not identify the censoring at all
(Guyot's algorithm then assumes none); a plausible reconstruction then draws every patient's
censoring time from the study's censoring model (``[censoring]``: uniform entry, close, loss
rate; :class:`~resurv.model.censoring.CensoringModel`) and inverts the curve with it
(:func:`~resurv.reconstruct.guyot.invert_with_censoring`). Analysing every plausible
reconstruction and pooling the posteriors with equal weights (:mod:`resurv.reconstruct.pool`)
carries the reconstruction's uncertainty into the result, as multiple imputation carries
missing data: the spread between reconstructions adds to the spread within each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from resurv.reconstruct.digitise import monotone_curve
from resurv.reconstruct.guyot import PseudoData, guyot, invert_with_censoring
from resurv.study.digitised import DigitisedCurve

if TYPE_CHECKING:
    from resurv.model.censoring import CensoringModel

__all__ = ["perturb", "plausible_reconstructions", "reconstruct_curve"]


def reconstruct_curve(curve: DigitisedCurve, rng: np.random.Generator | None = None) -> PseudoData:
    """Guyot's reconstruction of one digitised curve (censorings evenly spread unless ``rng``)."""
    return guyot(
        curve.time,
        curve.survival,
        curve.risk_time,
        curve.risk_n,
        n=curve.n,
        total_events=curve.total_events,
        rng=rng,
    )


def perturb(curve: DigitisedCurve, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One redrawn reading of the curve's points: normal reading errors, made monotone."""
    t = np.asarray(curve.time, dtype=float)
    s = np.asarray(curve.survival, dtype=float)
    t = t + rng.normal(0.0, curve.reading_error.time, size=t.size)
    s = s + rng.normal(0.0, curve.reading_error.survival, size=s.size)
    return monotone_curve(t, s)


def plausible_reconstructions(
    curve: DigitisedCurve,
    draws: int,
    *,
    seed: int | np.random.SeedSequence,
    censoring: CensoringModel | None = None,
) -> tuple[PseudoData, ...]:
    """``draws`` plausible reconstructions of one curve (same seed, same reconstructions).

    Parameters
    ----------
    curve : DigitisedCurve
    draws : int
        Number of reconstructions (>= 1); 20 to 50 are enough for a 90% interval of a hazard
        ratio (the between-reconstruction variance is estimated from them).
    seed : int or numpy.random.SeedSequence
        Each reconstruction gets its own child stream.
    censoring : CensoringModel, optional
        Used only for a curve with neither an at-risk table nor total events (see above);
        without it such a curve is reconstructed with no censoring, as Guyot's algorithm does.
    """
    if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 1:
        raise ValueError(f"draws must be an integer >= 1; received {draws!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    out = []
    for child in seq.spawn(int(draws)):
        rng = np.random.default_rng(child)
        t, s = perturb(curve, rng)
        if censoring is not None and curve.risk_time is None and curve.total_events is None:
            potential = censoring.sample(rng, curve.n)
            out.append(invert_with_censoring(t, s, curve.n, potential))
            continue
        out.append(
            guyot(
                t,
                s,
                curve.risk_time,
                curve.risk_n,
                n=curve.n,
                total_events=curve.total_events,
                rng=rng,
            )  # fmt: skip
        )
    return tuple(out)
