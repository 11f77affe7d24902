"""Shared base of the figure terms and their equal mixture weights.

:class:`_FigureTerm` holds what every likelihood term of :mod:`resurv.model.likelihood` has in
common: its name, its data arrays and the constants baked into its graph
(:meth:`~resurv.model.terms.Term.structure`), and how it enters a PyMC model as a
``pm.Potential``. :func:`_log_weights` gives the equal weights of a mixture over candidate
arm sizes or denominators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pymc as pm

from resurv.model.terms import ArmParams, Term


class _FigureTerm(Term):
    """Shared plumbing: subclasses set ``_data`` and ``_static`` and state their math."""

    arms: tuple[str, ...] = ()
    own_parameters: tuple[str, ...] = ()
    _static: tuple = ()

    def _set_name(self, name: str) -> None:
        if not str(name).isidentifier():
            raise ValueError(
                f"a term name must be an identifier (letters, digits, _); got {name!r}"
            )
        self.name = str(name)

    def data(self) -> dict[str, np.ndarray]:
        """Arrays of the term (swappable into a compiled model of the same structure)."""
        return dict(self._data)

    def structure(self) -> tuple:
        """Class, name, arms and the constants baked into the graph."""
        return (type(self).__name__, self.name, self.arms, *self._static)

    def log_likelihood(self, params: ArmParams, data: Mapping[str, Any], own: Mapping = ()) -> Any:
        """Return the term's log-likelihood as a PyTensor scalar."""
        raise NotImplementedError

    def add_to_model(self, params: ArmParams, data: Mapping[str, Any]) -> None:
        """Add ``pm.Potential(self.name, log_likelihood)`` (and the term's own parameters)."""
        pm.Potential(self.name, self.log_likelihood(params, data, self._own_variables()))

    def _own_variables(self) -> dict[str, Any]:
        return {}


def _log_weights(n: int) -> np.ndarray:
    """Equal mixture weights ``log(1/n)`` of ``n`` candidates."""
    return np.full(n, -math.log(n))
