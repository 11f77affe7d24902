"""The settings of a simulation-based calibration.

:class:`SimulationSettings` holds the number of replicates, the seed, the family and prior
set the parameters are drawn from, the sampler settings of each fit, the form of the
landmark terms and the thresholds of the rank and coverage checks; it checks them when
built. Importable from :mod:`resurv.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resurv.study.schema import FAMILIES


@dataclass(frozen=True)
class SimulationSettings:
    """Settings of a simulation-based calibration.

    Parameters
    ----------
    replicates : int, default 200
        Number of simulated studies.
    seed : int, optional
        Master seed (default: the study file's ``analysis.seed``). Replicate ``i`` gets the
        ``i``-th child seed of ``SeedSequence(seed)``, whatever the number of replicates, so
        a run of 100 replicates is the first half of a run of 200.
    workers : int, default 1
        Local processes (``resurv.parallel.local_executor``) when no executor is given.
    family : {"exponential", "weibull"}
    prior : str
        A proper prior set (parameters are drawn from it).
    draws, tune, chains : int
        Sampler settings of each fit.
    thin : int, default 10
        Keep every ``thin``-th draw of each chain for the ranks (near-independent draws).
    cores : int, default 1
        Chains sampled in parallel within a fit; replicates are the unit of parallelism.
    landmark : {"auto", "exact", "approximate"}
        ``"auto"``: the landmark term a real run chooses; ``"exact"``: the same, but a
        replicate without an exact term is unhandled; ``"approximate"``: the approximate
        (effective sample size) term for every arm.
    landmark_form : {"auto", "enumeration", "forward"}
        Form of the exact landmark terms (both give the same value). ``"auto"`` (default):
        as a real run, the enumeration form up to ``resurv.model.likelihood.ENUMERATION_LIMIT``
        configurations and the forward pass above it (two model structures, so each worker
        compiles at most twice per family). ``"enumeration"``: one structure, and a replicate
        with more configurations than the limit is unhandled. ``"forward"``: one structure.
    sizes : {"uniform", "first"}
        ``"uniform"``: each replicate's arm size is drawn uniformly among the candidates, the
        generative model of the likelihood's equal-weight mixture; ``"first"``: the first
        candidate only, and the likelihood is told so.
    max_term_entries : int, default 1_000_000
        A replicate whose likelihood terms read more array entries per evaluation is
        unhandled (a guard against fits that would take hours; 19 patients printing 0.0%,
        the largest flagship replicate, read 268,488). Such exclusions depend on the data
        only, so they keep the ranks of the other replicates uniform.
    bins : int, optional
        Bins of the rank histograms (default ``clip(ranked // 10, 2, 20)``).
    levels : tuple of float
        Probabilities of the central intervals whose coverage is recorded.
    alpha : float, default 0.01
        Level of the chi-square test of rank uniformity.
    max_failed_share : float, default 0.05
        Largest share of fits failing their diagnostics for the calibration to pass.
    """

    replicates: int = 200
    seed: int | None = None
    workers: int = 1
    family: str = "exponential"
    prior: str = "weakly_informative"
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    thin: int = 10
    cores: int = 1
    landmark: str = "auto"
    sizes: str = "uniform"
    landmark_form: str = "auto"
    max_term_entries: int = 1_000_000
    bins: int | None = None
    levels: tuple[float, ...] = (0.5, 0.9, 0.95)
    alpha: float = 0.01
    max_failed_share: float = 0.05

    def __post_init__(self):
        ints = ("replicates", "workers", "draws", "chains", "thin", "cores", "max_term_entries")
        for name, low in (*((n, 1) for n in ints), ("tune", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; received {value!r}")
        choices = (("family", FAMILIES), ("landmark", ("auto", "exact", "approximate")),
                   ("sizes", ("uniform", "first")),
                   ("landmark_form", ("auto", "enumeration", "forward")))  # fmt: skip
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {list(allowed)}; received {getattr(self, name)!r}"
                )
        problems = [
            (self.seed is not None and not (isinstance(self.seed, int) and 0 <= self.seed < 2**32),
             f"seed must be an integer in [0, 2**32) or None; received {self.seed!r}"),
            (self.thin > self.draws, f"thin ({self.thin}) exceeds draws ({self.draws}): no "
             "draw would be kept; use thin <= draws (e.g. draws=1000, thin=10)"),
            (self.bins is not None and not (isinstance(self.bins, int) and self.bins >= 2),
             f"bins must be an integer >= 2 or None; received {self.bins!r}"),
            (not self.levels or not all(0 < lv < 1 for lv in self.levels),
             f"levels must be probabilities in (0, 1); received {self.levels!r}"),
            (not (0 < self.alpha < 1 and 0 <= self.max_failed_share <= 1),
             f"need 0 < alpha < 1 and 0 <= max_failed_share <= 1; received alpha="
             f"{self.alpha!r}, max_failed_share={self.max_failed_share!r}"),
        ]  # fmt: skip
        for bad, message in problems:
            if bad:
                raise ValueError(message)

    @property
    def kept_draws(self) -> int:
        """Thinned posterior draws per fit: the ranks lie in ``0 .. kept_draws``."""
        return self.chains * len(range(0, self.draws, self.thin))
