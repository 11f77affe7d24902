"""``resurv.reconstruct`` and ``resurv reconstruct FILE``: results, files, exit statuses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests_paths import CURVES, ROOT

import resurv
from resurv.cli import main
from resurv.errors import StudyError

LEUKEMIA = CURVES / "leukemia.toml"


def test_resurv_reconstruct_is_callable_whatever_was_imported_first():
    code = (
        "import resurv.reconstruct.guyot, resurv\n"
        f"r = resurv.reconstruct({str(LEUKEMIA)!r})\n"
        "import resurv.reconstruct as m\n"
        "assert callable(m) and m.reconstruct is not None\n"
        "print(r.summary()['deaths'].tolist())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for first in ("", "import resurv\nresurv.reconstruct\n"):
        out = subprocess.run([sys.executable, "-c", first + code], capture_output=True,
                             text=True, env=env, timeout=120)  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "[21, 9]"


def test_plausible_reconstructions_are_seeded_and_differ():
    a = resurv.reconstruct(LEUKEMIA, plausible=3, seed=5)
    b = resurv.reconstruct(LEUKEMIA, plausible=3, seed=5)
    c = resurv.reconstruct(LEUKEMIA, plausible=3, seed=6)
    assert a.plausible_ipd().equals(b.plausible_ipd())
    assert not a.plausible_ipd().equals(c.plausible_ipd())
    draws = a.plausible_ipd().groupby(["draw", "arm"]).size()
    assert set(draws.values) == {21}


def test_a_study_without_curves_is_refused():
    with pytest.raises(StudyError, match=r"^curve: received no \[\[curve\]\] table"):
        resurv.reconstruct(ROOT / "models" / "grazi2000.toml")


def test_cli_writes_the_tables(tmp_path, capsys):
    out = tmp_path / "rec"
    assert main(["reconstruct", str(LEUKEMIA), "--out", str(out), "--plausible", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "accuracy.csv", "intervals.csv", "ipd.csv", "plausible_ipd.csv", "run.json"]  # fmt: skip
    ipd = pd.read_csv(out / "ipd.csv")
    assert ipd.groupby("arm")["event"].sum().to_dict() == {"control": 21, "treated": 9}
    acc = pd.read_csv(out / "accuracy.csv")
    assert list(acc.columns) == ["arm", "n", "rmse", "max_error", "deaths", "censored",
                                 "total_events"]  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert run["seed"] == 20000 and run["plausible_draws"] == 2
    sha = hashlib.sha256((CURVES / "leukemia_treated.csv").read_bytes()).hexdigest()
    assert run["curves"]["treated"] == {"source": "leukemia_treated.csv", "sha256": sha}
    assert "reconstruction written to" in capsys.readouterr().out
    # an existing folder is kept unless --force
    assert main(["reconstruct", str(LEUKEMIA), "--out", str(out), "-q"]) == 3
    assert main(["reconstruct", str(LEUKEMIA), "--out", str(out), "-q", "--force"]) == 0
    assert not (out / "plausible_ipd.csv").exists()


def test_cli_bad_curve_exits_2_naming_the_row(tmp_path, capsys):
    text = LEUKEMIA.read_text().replace('points = "leukemia_treated.csv"',
                                        "points = [[0, 1.0], [5, 0.8], [6, 0.9]]")  # fmt: skip
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    (tmp_path / "leukemia_control.csv").write_bytes((CURVES / "leukemia_control.csv").read_bytes())
    assert main(["reconstruct", str(bad), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "curve[1].points[2].survival: received 0.9 after 0.8" in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_cli_missing_file_exits_2(tmp_path, capsys):
    assert main(["reconstruct", str(tmp_path / "none.toml")]) == 2
    assert "file: received" in capsys.readouterr().err


def test_cli_negative_plausible_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["reconstruct", str(LEUKEMIA), "--plausible", "-1"])
    assert e.value.code == 2
    assert "expected a number >= 0" in capsys.readouterr().err


def test_results_default_to_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reconstruct", str(LEUKEMIA), "-q"]) == 0
    assert (Path("results") / "leukemia-reconstruction" / "ipd.csv").exists()


def test_cli_fit_writes_the_pooled_posterior(tmp_path, capsys):
    out = tmp_path / "fit"
    code = main(["reconstruct", str(LEUKEMIA), "--out", str(out), "--fit", "--plausible", "3"])
    assert code == 0
    post = pd.read_csv(out / "posterior.csv")
    hr = post.set_index("quantity").loc["hazard_ratio[treated]"]
    assert hr["lower"] < 0.2076 < hr["upper"]  # R coxph on the full data
    fits = pd.read_csv(out / "fits.csv")
    assert fits["status"].tolist() == ["ok"] * 3
    assert "pooled posterior over 3 plausible reconstructions" in capsys.readouterr().out


def test_notes_say_where_the_reconstruction_misses_the_print():
    from resurv.study import parse_study, study_to_mapping

    study = resurv.load_study(LEUKEMIA)
    assert resurv.reconstruct(study).notes() == []
    m = study_to_mapping(study)
    m["curve"][1]["total_events"] = 12  # the curve's drops give 9 deaths
    del m["curve"][0]["at_risk"], m["curve"][0]["total_events"]
    notes = resurv.reconstruct(parse_study(m)).notes()
    assert any("neither an at-risk table nor total events" in n and "'control'" in n
               for n in notes)  # fmt: skip
    assert any(n.startswith("arm 'treated': ") and "12 printed" in n for n in notes)
