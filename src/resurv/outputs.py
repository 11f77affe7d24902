"""Writing results: atomically, never over earlier results without ``force``, with provenance.

A run writes into a fresh temporary folder beside the destination and swaps it into place
only when everything is written. Killing a run at any moment leaves either the previous
complete results or the new complete results at the destination, never a mix.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from resurv.errors import OutputError

#: packages whose versions every output records
RECORDED_PACKAGES = (
    "resurv",
    "numpy",
    "scipy",
    "pandas",
    "xarray",
    "pymc",
    "pytensor",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "arviz-plots",
    "nutpie",
    "preliz",
    "lifelines",
    "matplotlib",
)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """Return ``name`` reduced to a file-name-safe token (no separators, no ``..``)."""
    cleaned = _SAFE_NAME.sub("_", str(name)).strip("._") or "unnamed"
    return cleaned[:120]


def confined(folder: Path, *parts: str) -> Path:
    """Join ``parts`` under ``folder`` and refuse any result that escapes ``folder``."""
    folder = Path(folder).resolve()
    target = folder.joinpath(*parts).resolve()
    if target != folder and folder not in target.parents:
        raise OutputError(
            f"refusing to write {target}: it lies outside the results folder {folder}. "
            "Output file names come from figure and arm ids; use ids without path separators."
        )
    return target


def versions() -> dict[str, str]:
    """Versions of Python and of every package that shapes the numbers."""
    out = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as pretty, key-sorted JSON (stable bytes for equal content)."""
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux ``renameat2`` exchange); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def check_destination(dest: Path, *, force: bool) -> None:
    """Fail early (before any fitting) if ``dest`` holds results and ``force`` is not set."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise OutputError(f"{dest} exists and is not a folder; choose another --out.")
    if dest.exists() and any(dest.iterdir()) and not force:
        raise OutputError(
            f"{dest} already holds results; they are kept. Pass --force to replace them "
            "(the replacement is atomic), or choose another --out."
        )


@contextlib.contextmanager
def atomic_folder(dest: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``dest`` atomically when the block succeeds.

    On any exception (including ``KeyboardInterrupt`` and a SIGTERM turned into one by
    :func:`sigterm_as_interrupt`) the temporary folder is removed and ``dest`` is untouched.
    """
    dest = Path(dest).absolute()
    check_destination(dest, force=force)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
        _check_not_interrupted()
        _swap_into_place(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, dest: Path) -> None:
    if not dest.exists():
        os.rename(tmp, dest)
        return
    if _exchange(tmp, dest):  # dest now holds the new results, tmp the old ones
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, old)  # not atomic across the two renames: only where renameat2 is missing
    os.rename(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


#: signals received inside :func:`sigterm_as_interrupt` (checked again before a swap)
_PENDING_SIGNALS: list[int] = []


def _check_not_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a signal arrived, even one whose exception was lost.

    Python swallows an exception raised inside a finaliser (``__del__``): a signal that
    lands there must still stop the swap of half-made results into place.
    """
    if _PENDING_SIGNALS:
        raise KeyboardInterrupt(f"signal {_PENDING_SIGNALS[-1]}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise ``KeyboardInterrupt`` so clean-up code runs.

    Each signal is also recorded, so :func:`atomic_folder` refuses to swap results in after
    a signal even if its exception was swallowed (raised inside a finaliser).
    """

    def handler(signum, frame):  # noqa: ARG001
        _PENDING_SIGNALS.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    _PENDING_SIGNALS.clear()
    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _PENDING_SIGNALS.clear()
