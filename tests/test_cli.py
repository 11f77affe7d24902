"""The command line: help with examples, exit statuses, and bad input without tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from resurv.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_OUTPUT, main

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "bad_inputs"
FLAGSHIP = ROOT / "models" / "grazi2000.toml"
BAD_FILES = sorted(p for p in BAD.iterdir() if p.suffix == ".toml" and p.name != "EXPECTED.toml")


def _flat(text: str) -> str:
    """Undo the line wrapping of an error message (it depends on the path's length)."""
    return " ".join(text.split())


@pytest.mark.parametrize("command", ["audit", "run", "report", "simulate"])
def test_every_subcommand_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert f"resurv {command} " in out


def test_top_level_help_names_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("audit", "run", "report", "simulate"):
        assert command in out


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.name)
def test_bad_study_file_exits_2_with_one_paragraph(path, capsys):
    assert main(["audit", str(path)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert _flat(err).startswith("resurv: error: in ")
    assert "Traceback" not in err
    assert "\n\n" not in err.strip()  # one paragraph


def test_missing_file_is_bad_input(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "nope.toml")]) == EXIT_BAD_INPUT
    assert "nope.toml" in _flat(capsys.readouterr().err)


def test_flagship_audit_prints_findings_and_json(tmp_path, capsys):
    out_json = tmp_path / "audit.json"
    assert main(["audit", str(FLAGSHIP), "--json", str(out_json)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "impossible for Kaplan-Meier" in out
    assert "exactly 1 death before year 4" in out
    assert out_json.stat().st_size > 0


def test_report_on_a_folder_without_results_is_an_output_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == EXIT_OUTPUT
    assert "run.json" in _flat(capsys.readouterr().err)


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(FLAGSHIP), "--draws", "-5"])
    assert exit_.value.code == 2
    assert "expected a number >= 1" in _flat(capsys.readouterr().err)


def test_real_process_prints_no_traceback_on_garbage():
    garbage = BAD / "binary_garbage.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "resurv", "audit", str(garbage)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert "Traceback" not in proc.stderr
    assert "not UTF-8 text" in _flat(proc.stderr)


def test_a_long_path_is_never_split_across_lines(tmp_path, capsys):
    deep = tmp_path / ("a-very-long-folder-name-" * 6) / "study-file-with-a-long-name.toml"
    deep.parent.mkdir(parents=True)
    deep.write_bytes((BAD / "binary_garbage.toml").read_bytes())
    assert main(["audit", str(deep)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert str(deep) in err
    assert "not UTF-8 text" in _flat(err)


def test_compile_progress_lines_reach_the_terminal_unless_quiet():
    import io
    import logging

    from resurv.progress import show_compiling as _show_compiling

    stream = io.StringIO()
    try:
        _show_compiling(False, stream=stream)
        logging.getLogger("resurv.fit").info("compiling Weibull model, 1 of 2")
        _show_compiling(True, stream=stream)  # --quiet removes the line printer
        logging.getLogger("resurv.fit").info("compiling Exponential model, 2 of 2")
    finally:
        _show_compiling(True)
    assert stream.getvalue() == "compiling Weibull model, 1 of 2\n"


def test_an_interrupt_inside_compiled_code_exits_as_interrupted(monkeypatch, capsys):
    """Ctrl-C inside a Numba function surfaces as a SystemError caused by the interrupt."""
    import resurv.cli as cli

    def compiled(_args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("CPUDispatcher(...) returned a result with an exception set") from exc

    monkeypatch.setattr(cli, "_cmd_audit", compiled)
    assert main(["audit", "models/grazi2000.toml"]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted; results that were already complete are untouched" in err
    assert "internal error" not in err
    assert not cli._interrupted(SystemError("no interrupt behind it"))
