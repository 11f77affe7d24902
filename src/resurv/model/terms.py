"""Likelihood terms: the one interface through which data enter a survival model.

A model is built from a survival family, a prior set, the arms, and a list of terms.
Each term contributes to the log-likelihood given the per-arm proportional-hazards
parameters ``(lam[arm], k)`` of ``S(t) = exp(-lam * t**k)``:

- :class:`~resurv.model.individual_data.IndividualData` (right-censored times, ``pm.Censored``);
- figure terms from :mod:`resurv.model.likelihood` (exact landmark, approximate landmark,
  hazard ratio, median, proportion, count).

A term separates *structure* (what the compiled graph depends on) from *data* (arrays that
can be swapped into an already compiled model with ``nutpie``'s ``with_data``). Two terms
with equal :meth:`Term.structure` can share one compiled model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArmParams:
    """Per-arm PyTensor parameters handed to terms inside a model context.

    Attributes
    ----------
    arms : tuple of str
        Arm ids in model order (the ``arm`` coordinate).
    lam : dict
        ``arm -> scalar tensor``: proportional-hazards rate ``lam`` (per ``time_unit**k``).
    k : tensor
        Shared Weibull shape (the constant 1.0 for the Exponential family).
    cure : dict or None
        ``arm -> scalar tensor``: cure fraction ``pi`` of the cure family, whose survival is
        ``pi + (1 - pi) exp(-lam t)``; None for the other families.
    """

    arms: tuple[str, ...]
    lam: Mapping[str, Any]
    k: Any
    cure: Mapping[str, Any] | None = None


class Term(ABC):
    """One likelihood contribution."""

    #: unique, identifier-safe name within a model (used to name data containers)
    name: str

    def data(self) -> dict[str, np.ndarray]:
        """Arrays this term reads through ``pm.Data`` containers (swappable after compiling)."""
        return {}

    @abstractmethod
    def structure(self) -> tuple:
        """Hashable description of everything the compiled graph depends on."""

    @abstractmethod
    def add_to_model(self, params: ArmParams, data: Mapping[str, Any]) -> None:
        """Add the term to the current ``pm.Model`` context.

        ``data[key]`` is the ``pm.Data`` container for ``self.data()[key]``.
        """

    def data_name(self, key: str) -> str:
        """Name of the ``pm.Data`` container holding ``self.data()[key]``."""
        return f"{self.name}__{key}"


def term_name(figure_id: str) -> str:
    """Identifier-safe name of a figure's likelihood term and parameter."""
    out = "".join(c if c.isalnum() or c == "_" else "_" for c in figure_id)
    return out if out[:1].isalpha() else f"f_{out}"
