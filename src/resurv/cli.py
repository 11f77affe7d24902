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
from pathlib import Path

from resurv.progress import Progress, show_compiling

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
    "reconstruct": (
        "example:\n  resurv reconstruct tests/fixtures/curves/leukemia.toml --plausible 20\n"
        "  resurv reconstruct tests/fixtures/curves/leukemia.toml --fit --force\n"
        "  (writes ipd.csv, accuracy.csv, intervals.csv and run.json; with --fit also the\n"
        "  pooled posterior, posterior.csv, and each reconstruction's fit, fits.csv)"
    ),
}


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

    show_compiling(args.quiet)
    settings = RunSettings(
        families=tuple(args.family) if args.family else None,
        priors=tuple(args.prior) if args.prior else None,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        workers=args.workers,
        sensitivity=not args.no_sensitivity,
        plausible=args.plausible,
    )
    outcome = run_study(
        args.study,
        out=args.out,
        force=args.force,
        settings=settings,
        progress=Progress("fits", quiet=args.quiet),
        trace_plots=args.traces,
    )
    _say(args, outcome.summary_text())
    return EXIT_OK if outcome.all_passed else EXIT_DIAGNOSTICS


def _cmd_report(args) -> int:
    from resurv.report import rebuild_report

    paths = rebuild_report(args.results, trace_plots=args.traces)
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


def _cmd_reconstruct(args) -> int:
    from resurv.outputs import check_destination
    from resurv.reconstruct import reconstruct
    from resurv.reconstruct.write import write_reconstruction

    plausible = args.plausible or (20 if args.fit else 0)
    rec = reconstruct(args.study, plausible=plausible, seed=args.seed)
    out = args.out or Path("results") / f"{rec.study.id}-reconstruction"
    check_destination(out, force=args.force)
    pooled = None
    if args.fit:
        from resurv.reconstruct import pooled_fit

        show_compiling(args.quiet)
        pooled = pooled_fit(rec, family=args.family, prior=args.prior)
    write_reconstruction(rec, out, force=args.force, pooled=pooled)
    _say(args, rec.summary().to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    for note in rec.notes():
        _say(args, "note: " + note)
    if pooled is not None:
        table = pooled.summary(prob=0.95)
        _say(args, f"\npooled posterior over {len(pooled.fits)} plausible reconstructions "
                   f"({args.family}, {args.prior}; median and 95% interval):")  # fmt: skip
        _say(args, table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    _say(args, f"reconstruction written to {out}")
    if pooled is not None and not pooled.passed:
        return EXIT_DIAGNOSTICS
    return EXIT_OK


def _int_at_least(low: int):
    """An argparse type: a whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a number >= {low}, got {value}")
        return value

    return parse


_non_negative_int = _int_at_least(0)
_positive_int = _int_at_least(1)


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
    p.add_argument(
        "--traces",
        choices=("key", "all"),
        default="key",
        help="trace plots of the primary prior set's fits and failed fits (key, default) or "
        "of every fit (all)",
    )
    p.add_argument("--plausible", type=_positive_int, default=20,
                   help="plausible reconstructions per digitised curve, for a study with "
                        "[[curve]] tables (default 20)")  # fmt: skip
    p.set_defaults(func=_cmd_run)

    p = add("report", "Rebuild report.md and report.html from saved results, without refitting.")
    p.add_argument("results", type=Path, help="a results folder written by 'resurv run'")
    p.add_argument(
        "--traces",
        choices=("key", "all"),
        default="key",
        help="trace plots of the primary prior set's fits and failed fits (key, default) or "
        "of every fit (all)",
    )
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

    p = add("reconstruct", "Reconstruct pseudo-individual data from digitised Kaplan-Meier curves.")
    p.add_argument("study", type=Path, help="study file with [[curve]] tables")
    p.add_argument("--out", type=Path, help="folder (default results/<study id>-reconstruction)")
    p.add_argument("--plausible", type=_non_negative_int, default=0,
                   help="plausible reconstructions to draw per arm (default 0)")  # fmt: skip
    p.add_argument("--seed", type=_seed, help="seed of the plausible reconstructions")
    p.add_argument("--fit", action="store_true",
                   help="also fit every plausible reconstruction and pool the posteriors "
                        "(20 reconstructions unless --plausible says otherwise)")  # fmt: skip
    p.add_argument("--family", choices=("exponential", "weibull"), default="exponential",
                   help="survival family of --fit (default exponential)")  # fmt: skip
    p.add_argument("--prior", default="weakly_informative",
                   choices=("weakly_informative", "sceptical", "enthusiastic", "reference"),
                   help="prior set of --fit (default weakly_informative)")  # fmt: skip
    p.add_argument("--force", action="store_true", help="replace existing results (atomically)")
    p.set_defaults(func=_cmd_reconstruct)
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
        if _interrupted(exc):
            _error("interrupted; results that were already complete are untouched.")
            return EXIT_INTERRUPTED
        _error(
            f"unexpected internal error ({type(exc).__name__}: {exc}). Earlier results are "
            "untouched. Please report it with the study file and the command you ran."
        )
        return EXIT_INTERNAL


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is or wraps an interrupt (Ctrl-C, or SIGTERM made one).

    A compiled (Numba) function that an interrupt stops returns with the KeyboardInterrupt
    pending, which Python raises as a SystemError caused by it.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
