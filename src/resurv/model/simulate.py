"""Simulate cohorts under the model: survival family, per-arm rates and the censoring model.

Death times come from ``S(t) = exp(-lam t**k)`` by inversion, ``T = (E / lam)**(1/k)`` with
``E ~ Exponential(1)``; censoring times and entry years from
:meth:`resurv.model.censoring.CensoringModel.sample`. :func:`simulate_many` draws one cohort per
parameter draw, vectorised, for posterior predictive replicate studies and simulation-based
calibration; :func:`interval_counts` reduces cohorts to the multinomial cells of a grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from resurv.model.censoring import CensoringModel

__all__ = ["interval_counts", "simulate_cohort", "simulate_many"]


def _shape(family: str | float, k: Any) -> Any:
    """Resolve the Weibull shape from ``family`` (a name or a number) and ``k``."""
    if isinstance(family, str):
        if family == "exponential":
            if k is not None and np.any(np.asarray(k) != 1):
                raise ValueError(f"the exponential family has k = 1; received k={k!r}")
            return 1.0
        if family == "weibull":
            if k is None:
                raise ValueError("the weibull family needs the shape k (> 0)")
            return k
        raise ValueError(
            f"family must be 'exponential', 'weibull' or a shape k > 0; received {family!r}"
        )
    if k is not None and np.any(np.asarray(k) != family):
        raise ValueError(f"family gives the shape {family!r} but k={k!r}; give one of them")
    return family


def _arms(values: Mapping[str, Any] | Sequence[Any]) -> tuple[tuple[str, ...], list]:
    if isinstance(values, Mapping):
        return tuple(str(a) for a in values), list(values.values())
    values = list(np.atleast_1d(values)) if np.ndim(values) <= 1 else list(np.asarray(values).T)
    return tuple(f"arm{i}" for i in range(len(values))), values


def simulate_many(
    rng: np.random.Generator,
    family: str | float,
    lam_per_arm: Mapping[str, Any] | Sequence[Any],
    k: Any = None,
    n_per_arm: Mapping[str, int] | Sequence[int] = (),
    censoring: CensoringModel | None = None,
    *,
    cure: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Simulate one cohort per parameter draw.

    Parameters
    ----------
    rng : numpy.random.Generator
    family : {"exponential", "weibull"} or float
        The family, or the shape ``k`` itself.
    lam_per_arm : mapping or array
        ``arm -> (D,)`` rates, or a ``(D, A)`` array (arms named ``arm0, arm1, ...``).
    k : float or array (D,), optional
        Shape per draw (Weibull); None for the exponential.
    n_per_arm : mapping or sequence of int
        Patients per arm (same order as ``lam_per_arm``).
    censoring : CensoringModel
    cure : mapping, optional
        ``arm -> (D,)`` cure fractions (the cure family): each patient is cured, and never
        has the event, with that probability. Drawn after everything else, so the other
        draws are the same with and without it.

    Returns
    -------
    dict
        ``time``, ``event`` (bool), ``entry`` (calendar year): ``(D, N)`` arrays;
        ``arm``: ``(N,)`` arm index; ``arms``: the arm ids.
    """
    if censoring is None:
        raise ValueError("censoring must be a CensoringModel (entry, close and loss to follow-up)")
    arms, lam = _arms(lam_per_arm)
    if isinstance(n_per_arm, Mapping):
        missing = [a for a in arms if a not in n_per_arm]
        if missing:
            raise ValueError(f"n_per_arm lacks arms {missing}; it has {list(n_per_arm)}")
        n = [int(n_per_arm[a]) for a in arms]
    else:
        n = [int(v) for v in np.atleast_1d(n_per_arm)]
    if len(n) != len(arms) or any(v < 0 for v in n):
        raise ValueError(f"give one size >= 0 per arm ({len(arms)}); received {n}")
    lam = np.stack([np.atleast_1d(np.asarray(v, dtype=float)) for v in lam], axis=-1)  # (D, A)
    if np.any(~np.isfinite(lam) | (lam <= 0)):
        raise ValueError(f"every lam must be finite and > 0; received {lam[~(lam > 0)][:5]}")
    shape = np.asarray(_shape(family, k), dtype=float)
    if np.any(~np.isfinite(shape) | (shape <= 0)):
        raise ValueError(f"the shape k must be finite and > 0; received {shape}")
    draws = max(lam.shape[0], shape.size)
    arm = np.repeat(np.arange(len(arms)), n)
    lam = np.broadcast_to(lam, (draws, len(arms)))[:, arm]
    shape = np.broadcast_to(shape.reshape(-1, 1), (draws, 1))
    death = (rng.standard_exponential(lam.shape) / lam) ** (1.0 / shape)
    cens, entry = censoring.sample(rng, lam.shape, return_entry=True)
    if cure is not None:
        pi = np.stack([np.atleast_1d(np.asarray(cure[a], dtype=float)) for a in arms], axis=-1)
        pi = np.broadcast_to(pi, (draws, len(arms)))[:, arm]
        death = np.where(rng.random(lam.shape) < pi, np.inf, death)
    return {
        "time": np.minimum(death, cens),
        "event": death <= cens,
        "entry": entry,
        "arm": arm,
        "arms": arms,
    }


def simulate_cohort(
    rng: np.random.Generator,
    family: str | float,
    lam_per_arm: Mapping[str, float] | Sequence[float],
    k: float | None = None,
    n_per_arm: Mapping[str, int] | Sequence[int] = (),
    censoring: CensoringModel | None = None,
) -> dict[str, Any]:
    """Simulate one cohort; same arguments as :func:`simulate_many` with scalar parameters.

    Returns ``time``, ``event``, ``entry`` and ``arm`` as ``(N,)`` arrays, and ``arms``.

    Examples
    --------
    >>> cm = CensoringModel(1981, 1998, 1999)
    >>> c = simulate_cohort(np.random.default_rng(1), "exponential", {"resected": 0.02},
    ...                     n_per_arm={"resected": 19}, censoring=cm)
    >>> c["time"].shape, c["arms"]
    ((19,), ('resected',))
    """
    if isinstance(lam_per_arm, Mapping):
        lam = {a: np.atleast_1d(np.asarray(v, dtype=float)) for a, v in lam_per_arm.items()}
    else:
        lam = {f"arm{i}": np.atleast_1d(float(v)) for i, v in enumerate(lam_per_arm)}
    if any(v.size != 1 for v in lam.values()) or np.size(k if k is not None else 1) != 1:
        raise ValueError("simulate_cohort takes one lam per arm and one k; use simulate_many")
    out = simulate_many(rng, family, lam, k, n_per_arm, censoring)
    return {key: (v[0] if key in ("time", "event", "entry") else v) for key, v in out.items()}


def interval_counts(time: Any, event: Any, cuts: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce cohorts to the cells of a grid: deaths, censorings per interval, alive at the end.

    Parameters
    ----------
    time, event : arrays (..., N)
    cuts : array (K + 1,)
        ``0 = t_0 < ... < t_K = L``; interval ``j`` is ``[t_j, t_{j+1})``.

    Returns
    -------
    deaths, censored : arrays (..., K)
    alive : array (...)
        Patients followed beyond ``L`` (``time >= L``), dead or not afterwards.
    """
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    cuts = np.asarray(cuts, dtype=float)
    n_cells, lead = cuts.size - 1, time.shape[:-1]
    cell = (np.searchsorted(cuts, time, side="right") - 1).reshape(-1, time.shape[-1])
    inside = cell < n_cells
    flat = np.arange(cell.shape[0])[:, None] * n_cells + cell

    def count(mask: np.ndarray) -> np.ndarray:
        out = np.bincount(flat[mask & inside], minlength=cell.shape[0] * n_cells)
        return out.reshape(*lead, n_cells)

    event = event.reshape(cell.shape)
    return count(event), count(~event), (time >= cuts[-1]).sum(axis=-1)
