"""Wall time of the flagship's results folder and report, before and after a change, side by side.

Times ``resurv.run.write.write_results(result, folder)`` and
``resurv.report.build.write_report(folder)`` on one saved reanalysis of
``models/grazi2000.toml`` (the study file's settings: 12 fits, the SMC marginal likelihoods,
the replicate studies of the primary fit), as ``resurv.pipeline.run_study`` calls them (where
the version has them, with the trace-plot helpers started before the folder is written). The
reanalysis is run once and pickled (``--reanalysis``, about two minutes the first time);
each timing then runs in a fresh Python process that imports resurv, loads the pickle and
writes a new folder, so both versions see the same posterior draws.

"Before" is the source tree of ``--before`` (default: where this branch left ``main``,
``git merge-base main HEAD``), extracted with ``git archive``; "after" is this checkout's
``src``. The runs alternate, before then after, ``--repeat`` times, and the fastest of each is
shown (the machine's other load only ever adds time). The processes are warm in the sense of
``bench_flagship.py``: matplotlib's font cache and the operating system's file cache are
those of the machine, not emptied.

Run: ``python benchmarks/bench_report.py [--repeat 2] [--before main]
[--reanalysis FILE]`` (default: ``resurv-bench-report/grazi2000.pkl`` in the temporary
folder).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "models" / "grazi2000.toml"
DEFAULT_PICKLE = Path(tempfile.gettempdir()) / "resurv-bench-report" / "grazi2000.pkl"
TARGET = 4.0  # seconds, write_results + write_report


def child(reanalysis: str, out: str) -> None:
    import contextlib
    import inspect

    import resurv.report.build
    import resurv.run.write

    try:  # a version whose pipeline starts the trace-plot helpers before writing the folder
        from resurv.report.drawing import TraceDrawing
    except ImportError:
        TraceDrawing = None

    with open(reanalysis, "rb") as f:
        result = pickle.load(f)
    folder = Path(out)
    with contextlib.ExitStack() as stack:
        start = time.perf_counter()
        kwargs = {}
        if TraceDrawing is not None:  # as resurv.pipeline.run_study does
            kwargs["traces"] = stack.enter_context(TraceDrawing(len(result.outcomes)))
        if (
            kwargs
            and "posteriors_written" in inspect.signature(resurv.run.write.write_results).parameters
        ):  # a version that starts the trace plots once the posteriors are saved
            traces = kwargs["traces"]

            def start_traces(written):
                traces.start(resurv.report.build.trace_jobs(written))

            resurv.run.write.write_results(result, folder, posteriors_written=start_traces)
        else:
            resurv.run.write.write_results(result, folder)
        results = time.perf_counter() - start
        start = time.perf_counter()
        resurv.report.build.write_report(folder, **kwargs)
        report = time.perf_counter() - start
    files = sum(1 for p in folder.rglob("*") if p.is_file())
    print(json.dumps({"write_results": results, "write_report": report, "files": files}))


def _reanalysis(path: Path) -> None:
    if path.is_file():
        print(f"reanalysis: {path} (saved earlier)")
        return
    print(f"reanalysis: running {STUDY.name} once and saving it to {path} ...", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import pickle, sys\n"
        "from resurv.run.reanalysis import reanalyse\n"
        "from resurv.study.load import load_study\n"
        "result = reanalyse(load_study(sys.argv[1]))\n"
        "with open(sys.argv[2], 'wb') as f:\n"
        "    pickle.dump(result, f)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(STUDY), str(path)], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"the reanalysis failed:\n{proc.stderr[-3000:]}")
    print(f"reanalysis: {time.perf_counter() - start:.0f} s")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def _sources(before: str, into: Path) -> tuple[str, Path]:
    try:
        commit = _git("merge-base", before, "HEAD")
    except subprocess.CalledProcessError as exc:
        why = exc.stderr.strip()
        sys.exit(f"no commit to compare with: git merge-base {before} HEAD failed ({why})")
    archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit, into / "src"


def _time(src: Path, reanalysis: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, __file__, "--child", "--reanalysis", str(reanalysis), "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        sys.exit(f"the run with {src} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--before", default="main", help="git ref of the 'before' sources")
    parser.add_argument("--reanalysis", type=Path, default=DEFAULT_PICKLE)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(str(args.reanalysis), args.out)
        return
    print(f"command: python benchmarks/bench_report.py --repeat {args.repeat} "
          f"--before {args.before} --reanalysis {args.reanalysis}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    _reanalysis(args.reanalysis)
    with tempfile.TemporaryDirectory(prefix="resurv-bench-report-") as tmp:
        commit, before_src = _sources(args.before, Path(tmp))
        head = _git("rev-parse", "--short", "HEAD")
        dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "src") else ""
        versions = {"before": before_src, "after": ROOT / "src"}
        print(f"before: {commit[:7]} ({args.before}); after: {head}{dirty}")
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for i in range(args.repeat):
            for label, src in versions.items():
                r = _time(src, args.reanalysis, Path(tmp) / f"{label}-{i}")
                runs[label].append(r)
                total = r["write_results"] + r["write_report"]
                print(f"  run {i + 1} {label:<6}: write_results {r['write_results']:5.1f} s, "
                      f"write_report {r['write_report']:5.1f} s, together {total:5.1f} s, "
                      f"{r['files']} files", flush=True)  # fmt: skip
    best = {label: min(rs, key=lambda r: r["write_results"] + r["write_report"])
            for label, rs in runs.items()}  # fmt: skip
    for b in best.values():
        b["together"] = b["write_results"] + b["write_report"]
    print(f"the fastest of {args.repeat} runs of each:")
    print(f"  {'part':<14} {'before':>8} {'after':>8} {'before/after':>13}")
    for part in ("write_results", "write_report", "together"):
        before, after = best["before"][part], best["after"][part]
        print(f"  {part:<14} {before:>7.1f}s {after:>7.1f}s {before / after:>12.1f}x")
    after = best["after"]["together"]
    verdict = "met" if after <= TARGET else "NOT met"
    print(f"after: {after:.1f} s / target {TARGET:.0f} s = {after / TARGET:.2f}: {verdict}")


if __name__ == "__main__":
    main()
