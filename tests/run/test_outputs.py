import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from resurv.errors import OutputError
from resurv.outputs import atomic_folder, confined, safe_name, versions, write_json


def test_atomic_folder_writes_and_refuses_overwrite_without_force(tmp_path):
    dest = tmp_path / "results" / "study"
    with atomic_folder(dest) as tmp:
        (tmp / "table.csv").write_text("a\n1\n")
    assert (dest / "table.csv").read_text() == "a\n1\n"
    with pytest.raises(OutputError, match="already holds results; they are kept. Pass --force"):
        with atomic_folder(dest):
            pass
    with atomic_folder(dest, force=True) as tmp:
        (tmp / "table.csv").write_text("a\n2\n")
    assert (dest / "table.csv").read_text() == "a\n2\n"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["study"]  # no temp left over


def test_failure_inside_block_keeps_previous_results(tmp_path):
    dest = tmp_path / "study"
    with atomic_folder(dest) as tmp:
        (tmp / "x").write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_folder(dest, force=True) as tmp:
            (tmp / "x").write_text("new, half written")
            raise RuntimeError("boom")
    assert (dest / "x").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


def test_sigterm_mid_write_leaves_previous_results(tmp_path):
    dest = tmp_path / "study"
    with atomic_folder(dest) as tmp:
        (tmp / "x").write_text("old")
    script = textwrap.dedent(
        f"""
        import time, pathlib
        from resurv.outputs import atomic_folder, sigterm_as_interrupt
        with sigterm_as_interrupt():
            with atomic_folder(pathlib.Path({str(dest)!r}), force=True) as tmp:
                (tmp / "x").write_text("new")
                print("writing", flush=True)
                time.sleep(30)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout.readline().strip() == "writing"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode != 0
    assert (dest / "x").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("../../etc/passwd", "etc_passwd"), ("figure 1/a", "figure_1_a"), ("..", "unnamed")],
)
def test_safe_name_strips_separators(name, expected):
    assert safe_name(name) == expected
    assert os.sep not in safe_name(name)


def test_confined_refuses_escape(tmp_path):
    assert confined(tmp_path, "a", "b.csv") == (tmp_path / "a" / "b.csv").resolve()
    with pytest.raises(OutputError, match="outside the results folder"):
        confined(tmp_path, "..", "evil.csv")


def test_versions_and_stable_json(tmp_path):
    v = versions()
    assert v["pymc"].startswith("6.") and v["arviz"].startswith("1.")
    write_json(tmp_path / "a.json", {"b": 1, "a": [1, 2]})
    write_json(tmp_path / "b.json", {"a": [1, 2], "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": [1, 2], "b": 1}
