"""The checks of single values in a study file, and the messages they raise.

:func:`fail` builds the one-paragraph :class:`~resurv.errors.StudyError` of every check
(what was received, what is allowed, what to try) and :func:`show` describes the value
received. :class:`Table` wraps one table of the file and refuses unknown keys; :func:`real`,
:func:`integer`, :func:`candidates`, :func:`text`, :func:`ident`, :func:`choice`,
:func:`subset`, :func:`printed` and :func:`bounded` check one value each; :class:`Context`
checks references to arms and times against the rest of the study.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from resurv.errors import StudyError
from resurv.study.schema import ENDPOINTS, MAX_ARM_N, Arm, Printed

MAX_DECIMALS = 10
_ID_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_PREFIXES = {"<=": "<=", ">=": ">=", "≤": "<=", "≥": ">=", "<": "<", ">": ">", "=": "="}
_ID_RULE = "an identifier of letters, digits, _ and - that starts with a letter (at most 64)"


# --------------------------------------------------------------------------- messages


def fail(path: str, received: str, allowed: str, fix: str) -> StudyError:
    """Build the one-paragraph error: ``received ...; allowed: .... <what to try>``."""
    return StudyError(path, f"received {received}; allowed: {allowed}. {fix}")


def show(value: Any) -> str:
    """Describe a TOML value and its type, short and on one line."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"{json.dumps(text, ensure_ascii=False)} (a string)"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} item(s)"
    if isinstance(value, dt.date | dt.time):
        return f"{value.isoformat()} (a date or time)"
    return f"a value of type {type(value).__name__}"


def _finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the range of floats
        return False


def _fmt(x: float) -> str:
    return f"{x:g}"


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _did_you_mean(word: Any, choices: Sequence[str]) -> str:
    if isinstance(word, str):
        close = difflib.get_close_matches(word, choices, n=1)
        if close:
            return f"Did you mean {close[0]!r}?"
    return ""


# --------------------------------------------------------------------------- typed values


class Table:
    """One table of the file with its dotted path; unknown keys are refused on creation."""

    def __init__(self, value: Any, path: str, keys: Sequence[str], what: str):
        if not isinstance(value, Mapping):
            raise fail(path, show(value), what, "Check the brackets: see models/README.md.")
        for key in value:
            if key not in keys:
                hint = _did_you_mean(key, keys) or "Remove it or fix its spelling."
                allowed = "the keys " + ", ".join(keys)
                name = repr(key) if len(str(key)) <= 40 else repr(str(key)[:37] + "...")
                raise fail(_at(path, str(key)), f"the unknown key {name}", allowed, hint)
        self.m, self.path = value, path

    def at(self, key: str) -> str:
        """Dotted path of ``key`` in this table."""
        return _at(self.path, key)

    def __contains__(self, key: str) -> bool:
        return key in self.m

    def get(self, key: str, default: Any = None) -> Any:
        """Return the raw value of ``key``, or ``default`` when absent."""
        return self.m.get(key, default)

    def need(self, key: str, allowed: str, fix: str = "") -> Any:
        """Return the raw value of a required key."""
        if key not in self.m:
            fix = fix or (f"Add {key} = ... to this table." if self.path else f"Add [{key}].")
            raise fail(self.at(key), "nothing (the key is missing)", allowed, fix)
        return self.m[key]


def real(value: Any, path: str, *, gt=None, ge=None, lt=None, le=None, fix: str = "") -> float:
    """Check a finite number (int or float, not bool) within the given bounds."""
    bounds = ((">", gt), (">=", ge), ("<", lt), ("<=", le))
    parts = [f"{op} {_fmt(b)}" for op, b in bounds if b is not None]
    allowed = "a number" + (" " + " and ".join(parts) if parts else "")
    if not _finite(value):
        raise fail(path, show(value), allowed, fix or "Write a plain number without quotes.")
    x = float(value)
    if (
        (gt is not None and not x > gt)
        or (ge is not None and not x >= ge)
        or (lt is not None and not x < lt)
        or (le is not None and not x <= le)
    ):
        raise fail(path, show(value), allowed, fix or "Check the value against the paper.")
    return x


def integer(value: Any, path: str, lo: int, hi: int, fix: str = "") -> int:
    """Check an integer (not bool) in ``[lo, hi]``."""
    allowed = f"an integer from {lo} to {hi}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(path, show(value), allowed, fix or "Write a whole number without quotes.")
    if not lo <= value <= hi:
        raise fail(path, show(value), allowed, fix or "Check the value against the paper.")
    return value


def candidates(value: Any, path: str, lo: int = 1, hi: int = MAX_ARM_N, fix: str = "") -> tuple:
    """Check one integer or a non-empty array of distinct integers in ``[lo, hi]``."""
    allowed = f"an integer from {lo} to {hi}, or an array of distinct such integers"
    items = value if isinstance(value, list) else [value]
    if not items:
        raise fail(path, "an empty array", allowed, "Give at least one candidate, e.g. n = 19.")
    for x in items:
        if isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi:
            where = " in the array" if isinstance(value, list) else ""
            raise fail(path, show(x) + where, allowed, fix or "Check the value against the paper.")
    if len(set(items)) != len(items):
        dup = next(x for x in items if items.count(x) > 1)
        raise fail(path, f"{items} with {dup} twice", allowed, "List each candidate once.")
    return tuple(items)


def text(value: Any, path: str, *, required: bool = False, limit: int = 4000) -> str:
    """Check a string (non-empty when ``required``) of at most ``limit`` characters."""
    allowed = ("a non-empty" if required else "a") + f" string of at most {limit} characters"
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise fail(path, show(value), allowed, 'Write the text in double quotes: "...".')
    return value


def ident(value: Any, path: str) -> str:
    """Check an identifier-safe name."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise fail(path, show(value), _ID_RULE, 'Use a name like "grazi2000" or "not_resected".')
    return value


def choice(value: Any, path: str, choices: Sequence[str], fix: str = "") -> str:
    """Check a value is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        hint = _did_you_mean(value, choices) or fix or "Pick one of the allowed values."
        raise fail(path, show(value), "one of " + ", ".join(choices), hint)
    return value


def subset(value: Any, path: str, choices: Sequence[str]) -> tuple[str, ...]:
    """Check a non-empty array of distinct names from ``choices``."""
    allowed = "a non-empty array of distinct names from: " + ", ".join(choices)
    if not isinstance(value, list) or not value:
        raise fail(path, show(value), allowed, f'Write e.g. ["{choices[0]}"].')
    for x in value:
        if not isinstance(x, str) or x not in choices:
            hint = _did_you_mean(x, choices) or "Remove it or fix its spelling."
            raise fail(path, show(x) + " in the array", allowed, hint)
    if len(set(value)) != len(value):
        raise fail(path, json.dumps(value), allowed, "List each name once.")
    return tuple(value)


def printed(
    value: Any, path: str, decimals: int | None, *, relation: bool = False
) -> tuple[Printed, str | None]:
    """Read a printed number and its precision; with ``relation``, a prefix like ``<``.

    Returns the :class:`Printed` and the relation prefix found in a string (None if none).
    """
    if relation:
        allowed = 'a p-value as printed, as a string with an optional relation ("<0.001", "0.04")'
    else:
        allowed = 'a number as printed, as a string ("92.6") or a number with optional decimals'
    if isinstance(value, str):
        body, rel = value.strip(), None
        if relation:
            for prefix, canonical in _PREFIXES.items():
                if body.startswith(prefix):
                    body, rel = body[len(prefix) :].strip(), canonical
                    break
        if not _NUMBER_RE.fullmatch(body):
            fix = 'Write only the digits as printed, e.g. "92.6": no % sign, units or spaces.'
            if not relation and body[:1] in "<>=≤≥":
                fix = 'A relation like "<" is allowed only for p-values; give the number.'
            raise fail(path, show(value), allowed, fix)
        own = len(body.split(".")[1]) if "." in body else 0
        if decimals is not None and decimals != own:
            raise fail(
                path,
                f"{show(value)} with decimals = {decimals}",
                "decimals equal to the decimals the string shows",
                "Drop decimals: a string already fixes the printed precision.",
            )
        if own > MAX_DECIMALS or not math.isfinite(float(body)):
            raise fail(path, show(value), f"at most {MAX_DECIMALS} decimals", "Check the value.")
        return Printed(float(body), own), rel
    if not _finite(value):
        raise fail(path, show(value), allowed, 'Write the number as printed, e.g. "92.6".')
    if decimals is None:
        exponent = Decimal(repr(value)).as_tuple().exponent if isinstance(value, float) else 0
        decimals = max(0, -int(exponent))
        if decimals > MAX_DECIMALS:
            fix = 'Give the number as a string exactly as printed, e.g. "0.3".'
            raise fail(path, show(value), f"at most {MAX_DECIMALS} decimals", fix)
    elif abs(round(value, decimals) - value) > 1e-9 * max(1.0, abs(value)):
        raise fail(
            path,
            f"{show(value)} with decimals = {decimals}",
            f"a value with at most {decimals} decimals",
            "Make decimals match the printed number, or give the number as a string.",
        )
    return Printed(float(value), decimals), None


def bounded(p: Printed, path: str, lo: float, hi: float, what: str, fix: str) -> Printed:
    """Check ``lo <= p.value <= hi``."""
    if not lo <= p.value <= hi:
        raise fail(path, str(p), f"{what} from {_fmt(lo)} to {_fmt(hi)}", fix)
    return p


# --------------------------------------------------------------------------- the study context


@dataclass(frozen=True)
class Context:
    """What figure and analysis checks need to know about the rest of the study."""

    time_unit: str
    max_followup: float
    followup_rule: str
    arms: Mapping[str, Arm]
    endpoints: tuple[str, ...] = tuple(ENDPOINTS)

    def endpoint(self, value: Any, path: str) -> str:
        """Check an endpoint name: a built-in one or one declared in ``[study] endpoints``."""
        if not isinstance(value, str) or value not in self.endpoints:
            allowed = "one of " + ", ".join(self.endpoints)
            hint = _did_you_mean(value, list(self.endpoints)) or (
                'Declare it in [study] endpoints = { name = "label" }, or fix the spelling.'
            )
            raise fail(path, show(value), allowed, hint)
        return value

    def arm(self, value: Any, path: str) -> str:
        """Check a reference to an arm."""
        if not isinstance(value, str) or value not in self.arms:
            allowed = "the id of an arm: " + ", ".join(self.arms)
            hint = _did_you_mean(value, list(self.arms)) or "Add an [[arm]] or fix the spelling."
            raise fail(path, show(value), allowed, hint)
        return value

    def time(self, value: Any, path: str) -> float:
        """Check a time > 0 within the longest possible follow-up."""
        x = real(value, path, gt=0.0)
        if x > self.max_followup * (1 + 1e-12):
            raise fail(
                path,
                f"{_fmt(x)} {self.time_unit}",
                f"a time > 0 and at most the longest possible follow-up, "
                f"{_fmt(self.max_followup)} {self.time_unit} ({self.followup_rule})",
                "Check the time unit, or the accrual and close years in [censoring].",
            )
        return x
