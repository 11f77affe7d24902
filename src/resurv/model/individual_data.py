"""The individual-data likelihood term: right-censored survival times of one or more arms.

:class:`IndividualData` holds each patient's follow-up time, event status and arm and adds
them to a model as one ``pm.Censored`` observed variable (exponential when the shape is the
constant 1, Weibull otherwise), or for the cure family one ``pm.CustomDist`` of the same
pointwise log likelihood. It is importable from :mod:`resurv.fit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor.exceptions import NotScalarConstantError

from resurv.errors import FitError
from resurv.model.families import get_family
from resurv.model.terms import ArmParams, Term

__all__ = ["IndividualData"]


class IndividualData(Term):
    """Right-censored individual survival times of one or more arms.

    Parameters
    ----------
    time : array-like of float
        Follow-up time of each patient (> 0, study time unit).
    event : array-like of bool or {0, 1}
        1 if the patient died (event at ``time``), 0 if censored at ``time``.
    arm : str or array-like of str
        Arm of each patient, or one arm id for all.
    arms : sequence of str, optional
        The arms this term covers, in the order of the arm index (default: the sorted distinct
        labels of ``arm``). Part of :meth:`structure`: pass it explicitly when fitting many data
        sets so they share one compiled model even if an arm is missing from one of them.
    name : str, default "individual"
        Name of the observed variable (and prefix of its data containers).

    Notes
    -----
    Patient ``i`` of arm ``a`` contributes ``log f(t_i) = log h(t_i) - H(t_i)`` if dead and
    ``log S(t_i) = -H(t_i)`` if censored, with ``H(t) = lam_a t**k``. It enters the model as
    ``pm.Censored(name, dist, lower=None, upper=upper, observed=time)`` with
    ``upper = where(event, inf, time)``, so the pointwise log-likelihood keeps censored
    patients (PSIS-LOO needs them). ``dist`` is ``pm.Exponential`` when the shape is the
    constant 1 and ``pm.Weibull(alpha=k, beta=lam**(-1/k))`` otherwise.
    """

    def __init__(self, time, event, arm, *, arms: Sequence[str] | None = None, name="individual"):
        time = np.asarray(time, dtype=float)
        if time.ndim != 1 or time.size == 0:
            raise ValueError(f"time must be a non-empty 1-D array; received shape {time.shape}")
        if not np.all(np.isfinite(time) & (time > 0)):
            bad = time[~(np.isfinite(time) & (time > 0))]
            raise ValueError(
                f"every time must be finite and > 0; received {bad[:5].tolist()}. Replace "
                "zero follow-up by a small positive time (e.g. half a day) or drop the patient."
            )
        event = np.asarray(event)
        if event.shape != time.shape or not np.all(np.isin(event, (0, 1))):
            raise ValueError(
                f"event must hold one 0/1 (or bool) per patient ({time.size}); received shape "
                f"{event.shape} with values {np.unique(event)[:5].tolist()}"
            )
        labels = np.full(time.shape, arm, dtype=object) if isinstance(arm, str) else arm
        labels = np.asarray(labels, dtype=object)
        if labels.shape != time.shape:
            raise ValueError(
                f"arm must be one arm id or one per patient ({time.size}); received shape "
                f"{labels.shape}"
            )
        labels = np.array([str(x) for x in labels.ravel()], dtype=object)
        arms = tuple(sorted(set(labels))) if arms is None else tuple(str(a) for a in arms)
        if len(set(arms)) != len(arms):
            raise ValueError(f"arms must be unique; received {arms}")
        unknown = sorted(str(x) for x in set(labels) - set(arms))
        if unknown:
            raise ValueError(f"patients belong to arms {unknown} not listed in arms={arms}")
        if not str(name).isidentifier():
            raise ValueError(f"name must be an identifier (letters, digits, _); got {name!r}")
        self.name = str(name)
        self.time = time
        self.event = event.astype(bool)
        self.arm = labels
        self.arms = arms

    @classmethod
    def from_frame(cls, df: pd.DataFrame, duration_col: str, event_col: str, arm_col: str, **kw):
        """Build from a data frame, lifelines-style (``**kw``: ``arms``, ``name``)."""
        missing = [c for c in (duration_col, event_col, arm_col) if c not in df.columns]
        if missing:
            raise ValueError(f"columns {missing} not in the data frame; it has {list(df.columns)}")
        return cls(df[duration_col], df[event_col], df[arm_col].astype(str).to_numpy(), **kw)

    def data(self) -> dict[str, np.ndarray]:
        """``time``, ``upper`` (``inf`` for deaths, ``time`` if censored) and ``arm`` (index)."""
        index = np.array([self.arms.index(a) for a in self.arm], dtype=np.int64)
        return {"time": self.time, "upper": np.where(self.event, np.inf, self.time), "arm": index}

    def structure(self) -> tuple:
        """Return the name and the arms: the graph never depends on the number of patients."""
        return ("IndividualData", self.name, self.arms)

    def add_to_model(self, params: ArmParams, data: Mapping[str, Any]) -> None:
        """Add ``pm.Censored(name, ...)`` for all patients."""
        missing = [a for a in self.arms if a not in params.lam]
        if missing:
            raise FitError(
                f"individual data {self.name!r} has arms {missing} that the model lacks; "
                f"the model's arms are {list(params.arms)}: add them to fit(arms=...)"
            )
        lam = pt.stack([params.lam[a] for a in self.arms])[data["arm"]]
        if params.cure is not None:
            self._add_cure(params, data, lam)
            return
        family = get_family("exponential" if _is_unit(params.k) else "weibull")
        dist = family.pymc_dist(lam, params.k)
        time = data["time"]
        upper = data["upper"]
        pm.Censored(self.name, dist, lower=None, upper=upper, observed=time, shape=time.shape)

    def _add_cure(self, params: ArmParams, data: Mapping[str, Any], lam) -> None:
        """The cure family: ``log f`` for events, ``log S`` for censored times (pointwise).

        A cured patient never has the event, so there is no PyMC distribution to censor: a
        ``pm.CustomDist`` keeps the pointwise log likelihood that LOO needs.
        """
        cure = pt.stack([params.cure[a] for a in self.arms])[data["arm"]]
        family = get_family("cure")

        def logp(value, lam, cure, upper):
            return pt.switch(
                pt.isinf(upper),
                family.log_pdf(value, lam, cure=cure),
                family.log_survival(value, lam, cure=cure),
            )

        time = data["time"]
        pm.CustomDist(
            self.name, lam, cure, data["upper"], logp=logp, observed=time, shape=time.shape
        )

    def __len__(self) -> int:
        return self.time.size

    def __repr__(self) -> str:
        return f"IndividualData(name={self.name!r}, n={len(self)}, deaths={int(self.event.sum())})"


def _is_unit(k) -> bool:
    try:
        return float(pt.get_underlying_scalar_constant_value(pt.as_tensor_variable(k))) == 1.0
    except NotScalarConstantError:
        return False
