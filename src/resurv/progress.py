"""What the command line shows while it works: a per-fit progress bar and the compile lines.

Both write to standard error and keep quiet when asked; the progress bar also when standard
error is not a terminal.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "show_compiling"]


class Progress:
    """Per-fit progress with an estimate of the time left; silent when not on a terminal."""

    def __init__(self, label: str, *, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.label = label
        self.start = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        """Report that ``done`` of ``total`` units have finished."""
        if not self.enabled or total <= 0:
            return
        elapsed = time.monotonic() - self.start
        left = elapsed / done * (total - done) if done else float("nan")
        width = 24
        bar = "#" * int(width * done / total) + "-" * (width - int(width * done / total))
        eta = f"~{left:4.0f} s left" if done and done < total else f"{elapsed:4.0f} s"
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total} {eta}   ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def show_compiling(quiet: bool, stream=None) -> None:
    """Print the compile cache's "compiling Weibull model, 1 of 4" lines (not with --quiet).

    On a terminal each line first clears the progress bar's line, which is redrawn after it.
    """
    import logging

    logger = logging.getLogger("resurv.fit")
    for handler in [h for h in logger.handlers if getattr(h, "_resurv_cli", False)]:
        logger.removeHandler(handler)
    if quiet:
        return
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    prefix = "\r\x1b[K" if stream.isatty() else ""
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    handler.setLevel(logging.INFO)
    handler._resurv_cli = True
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
