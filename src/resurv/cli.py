"""The ``resurv`` command line: audit, run, report and simulate a study file.

The CLI only parses arguments, calls the library and maps outcomes to exit statuses; no
statistics live here.

Exit status: 0 everything ran and every fit passed its diagnostics; 1 some fit failed its
diagnostics (results are written and marked); 2 bad input (study file, arguments);
3 results could not be written (folder exists without ``--force``, ...); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import time
from pathlib import Path

EXIT_OK = 0
EXIT_DIAGNOSTICS = 1
EXIT_BAD_INPUT = 2
EXIT_OUTPUT = 3
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130

_EPILOG = {
    "audit": "example:\n  resurv audit models/grazi2000.toml --json audit.json",
    "run": (
        "examples:\n"
        "  resurv run models/grazi2000.toml\n"
        "  resurv run models/grazi2000.toml --family exponential --prior sceptical --seed 7\n"
        "  resurv run models/grazi2000.toml --out results/quick --draws 500 --force"
    ),
    "report": "example:\n  resurv report results/grazi2000",
    "simulate": (
        "example:\n  resurv simulate models/grazi2000.toml --replicates 200 --workers 2\n"
        "  (interrupted? run the same command again: finished replicates are kept)"
    ),
}


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


def _show_compiling(quiet: bool, stream=None) -> None:
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


def _say(args, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text)


def _cmd_audit(args) -> int:
    from resurv.audit import audit
    from resurv.study import load_study

    study = load_study(args.study)
    result = audit(study)
    _say(args, result.to_text())
    if args.json:
        result.to_json(args.json)
        _say(args, f"audit written to {args.json}")
    return EXIT_OK


def _cmd_run(args) -> int:
    from resurv.pipeline import run_study
    from resurv.run import RunSettings

    _show_compiling(args.quiet)
    settings = RunSettings(
        families=tuple(args.family) if args.family else None,
        priors=tuple(args.prior) if args.prior else None,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        workers=args.workers,
        sensitivity=not args.no_sensitivity,
    )
    outcome = run_study(
        args.study,
        out=args.out,
        force=args.force,
        settings=settings,
        progress=Progress("fits", quiet=args.quiet),
    )
    _say(args, outcome.summary_text())
    return EXIT_OK if outcome.all_passed else EXIT_DIAGNOSTICS


def _cmd_report(args) -> int:
    from resurv.report import rebuild_report

    paths = rebuild_report(args.results)
    _say(args, "report written: " + ", ".join(str(p) for p in paths))
    return EXIT_OK


def _cmd_simulate(args) -> int:
    from resurv.calibration import SimulationSettings, simulate_study

    settings = SimulationSettings(
        replicates=args.replicates,
        seed=args.seed,
        workers=args.workers,
        family=args.family,
        prior=args.prior,
    )
    outcome = simulate_study(
        args.study,
        out=args.out,
        settings=settings,
        progress=Progress("replicates", quiet=args.quiet),
        force=args.force,
    )
    _say(args, outcome.summary_text())
    return EXIT_OK if outcome.passed else EXIT_DIAGNOSTICS


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole-number seed, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, 2**32), got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``resurv`` command."""
    from resurv import __version__

    parser = argparse.ArgumentParser(
        prog="resurv",
        description=(
            "Bayesian reanalysis of small-cohort survival studies from the figures their "
            "papers print. Audit the printed figures, fit Exponential and Weibull models "
            "under small-sample priors, and compare the posterior with the paper."
        ),
        epilog=(
            "start with:\n  resurv audit models/grazi2000.toml\n  resurv run models/grazi2000.toml"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"resurv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=_EPILOG[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
        return p

    p = add("audit", "Audit every printed figure: which integer data and estimator produce it.")
    p.add_argument("study", type=Path, help="study file (models/<study>.toml)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the audit as JSON")
    p.set_defaults(func=_cmd_audit)

    p = add("run", "Reanalyse a study: audit, fit every family x prior set, compare, report.")
    p.add_argument("study", type=Path, help="study file (models/<study>.toml)")
    p.add_argument("--out", type=Path, help="results folder (default results/<study id>)")
    p.add_argument("--force", action="store_true", help="replace existing results (atomically)")
    p.add_argument("--seed", type=_seed, help="master seed (default: the study file's)")
    p.add_argument(
        "--family",
        action="append",
        choices=("exponential", "weibull", "cure"),
        help="survival family; repeat for several (default: the study file's)",
    )
    p.add_argument(
        "--prior",
        action="append",
        choices=("weakly_informative", "sceptical", "enthusiastic", "reference", "literature"),
        help="prior set; repeat for several (default: the study file's)",
    )
    p.add_argument("--draws", type=_positive_int, help="posterior draws per chain")
    p.add_argument("--tune", type=_positive_int, help="tuning steps per chain")
    p.add_argument("--chains", type=_positive_int, help="chains per fit")
    p.add_argument("--workers", type=_positive_int, default=1, help="local processes (default 1)")
    p.add_argument(
        "--no-sensitivity",
        action="store_true",
        help="skip the sweep over the censoring assumptions",
    )
    p.set_defaults(func=_cmd_run)

    p = add("report", "Rebuild report.md and report.html from saved results, without refitting.")
    p.add_argument("results", type=Path, help="a results folder written by 'resurv run'")
    p.set_defaults(func=_cmd_report)

    p = add("simulate", "Simulation-based calibration and interval coverage for a study's design.")
    p.add_argument("study", type=Path, help="study file (models/<study>.toml)")
    p.add_argument("--out", type=Path, help="folder (default results/<study id>-simulation)")
    p.add_argument("--replicates", type=_positive_int, default=200, help="default 200")
    p.add_argument("--seed", type=_seed, help="master seed (default: the study file's)")
    p.add_argument("--workers", type=_positive_int, default=1, help="local processes (default 1)")
    p.add_argument("--family", choices=("exponential", "weibull"), default="exponential")
    p.add_argument("--prior", default="weakly_informative", help="a proper prior set")
    p.add_argument("--force", action="store_true", help="replace existing results (atomically)")
    p.set_defaults(func=_cmd_simulate)
    return parser


def _error(message: str) -> None:
    # Never split a word: a long path must stay one piece a user can copy.
    wrapped = textwrap.fill(
        message,
        width=100,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    print(f"resurv: error: {wrapped}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from resurv.errors import OutputError, ResurvError, StudyError
    from resurv.outputs import sigterm_as_interrupt

    args = build_parser().parse_args(argv)
    try:
        with sigterm_as_interrupt():
            return args.func(args)
    except StudyError as exc:
        _error(f"in {args.__dict__.get('study', 'the study file')}: {exc}")
        return EXIT_BAD_INPUT
    except OutputError as exc:
        _error(str(exc))
        return EXIT_OUTPUT
    except ResurvError as exc:
        _error(str(exc))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted; results that were already complete are untouched.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. head)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except FileNotFoundError as exc:
        _error(f"no such file: {exc.filename}. Give the path of an existing file.")
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - last resort: one paragraph, no traceback
        _error(
            f"unexpected internal error ({type(exc).__name__}: {exc}). Earlier results are "
            "untouched. Please report it with the study file and the command you ran."
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
