"""The ``[[curve]]`` tables: good curves load, and every bad one names its row and field."""

from __future__ import annotations

import pytest

from resurv.errors import StudyError
from resurv.study import load_study, loads_study, parse_study, study_to_mapping

BASE = """
[study]
id = "curves"
title = "A digitised figure"
citation = "Example A. J Example 2001;1:1"
time_unit = "months"
reference_arm = "control"

[censoring]
accrual = [1990, 1995]
close = 1998

[[arm]]
id = "control"
n = 10

[[arm]]
id = "treated"
n = [10, 12]
"""

GOOD = """
[[curve]]
arm = "control"
points = [[0, 1.0], [3.2, 0.9], [7.5, 0.7], [12.0, 0.5], [20.0, 0.5]]
at_risk = [[0, 10], [6, 8], [12, 5], [18, 3]]
total_events = 5
"""


def study(curves: str):
    return loads_study(BASE + curves)


def test_a_good_curve_loads_with_defaults():
    s = study(GOOD)
    (c,) = s.curves
    assert c.arm == "control" and c.n == 10 and c.total_events == 5
    assert c.time == (0.0, 3.2, 7.5, 12.0, 20.0) and c.risk_n == (10, 8, 5, 3)
    assert c.reading_error.survival == 0.005
    assert c.reading_error.time == pytest.approx(0.005 * 20.0)
    assert parse_study(study_to_mapping(s), source_sha256=s.source_sha256) == s


def test_a_study_without_curves_has_none():
    assert study("").curves == ()


def test_points_from_a_csv_file_beside_the_study(tmp_path):
    (tmp_path / "control.csv").write_text("time,survival\n0,1\n2.5,0.8\n6,0.6\n")
    path = tmp_path / "s.toml"
    path.write_text(BASE + '[[curve]]\narm = "control"\npoints = "control.csv"\n')
    (c,) = load_study(path).curves
    assert c.time == (0.0, 2.5, 6.0) and c.survival == (1.0, 0.8, 0.6) and c.n == 10
    assert c.source == "control.csv"


BAD = [
    ("survival rises", "points = [[0, 1.0], [2, 0.8], [3, 0.85]]",
     r"curve\[0\]\.points\[2\]\.survival: received 0.85 after 0.8 .*non-increasing"),
    ("time out of order", "points = [[0, 1.0], [5, 0.8], [4, 0.7]]",
     r"curve\[0\]\.points\[2\]\.time: received 4 after 5 .*non-decreasing"),
    ("percents", "points = [[0, 100], [5, 80]]",
     r"curve\[0\]\.points\[0\]\.survival: .*divide percents by 100"),
    ("negative time", "points = [[-1, 1.0]]", r"curve\[0\]\.points\[0\]\.time"),
    ("beyond follow-up", "points = [[0, 1.0], [200, 0.5]]",
     r"curve\[0\]\.points\[1\]\.time: received 200 months"),
    ("row of three", "points = [[0, 1.0, 3]]", r"curve\[0\]\.points\[0\]: .*two numbers"),
    ("no points", "points = []", r"curve\[0\]\.points: received an empty array"),
    ("at-risk increases", "points = [[0, 1.0], [9, 0.8]]\nat_risk = [[0, 10], [3, 8], [6, 9]]",
     r"curve\[0\]\.at_risk\[2\]\.n: received 9 after 8 .*never increase"),
    ("at-risk not from 0", "points = [[0, 1.0], [9, 0.8]]\nat_risk = [[1, 10]]",
     r"curve\[0\]\.at_risk\[0\]\.time: received 1; allowed: 0 in the first row"),
    ("at-risk not the arm size", "points = [[0, 1.0], [9, 0.8]]\nat_risk = [[0, 11]]",
     r"curve\[0\]\.at_risk\[0\]\.n: received 11; allowed: one of the arm's sizes \[10\]"),
    ("at-risk times repeat", "points = [[0, 1.0], [9, 0.8]]\nat_risk = [[0, 10], [0, 9]]",
     r"curve\[0\]\.at_risk\[1\]\.time: .*increasing times"),
    ("at-risk past the curve", "points = [[0, 1.0], [9, 0.8]]\nat_risk = [[0, 10], [12, 4]]",
     r"curve\[0\]\.at_risk\[1\]\.time: received 12 with 4 at risk, after the last digitised"),
    ("points beyond the last at risk",
     "points = [[0, 1.0], [5, 0.8], [9, 0.6]]\nat_risk = [[0, 10], [6, 0]]",
     r"curve\[0\]\.points\[2\]\.survival: received a drop to 0.6 at 9, after the at-risk "
     r"table reached 0 at 6"),
    ("too many events", "points = [[0, 1.0], [9, 0.8]]\ntotal_events = 11",
     r"curve\[0\]\.total_events: received 11 \(an integer\); allowed: an integer from 0 to 10"),
    ("unknown key", "points = [[0, 1.0]]\nat_risks = [[0, 10]]",
     r"curve\[0\]\.at_risks: .*Did you mean 'at_risk'"),
    ("reading error too large", "points = [[0, 1.0]]\nreading_error = { survival = 0.5 }",
     r"curve\[0\]\.reading_error\.survival"),
    ("unknown arm", 'points = [[0, 1.0]]\narm = "contrl"', None),
    ("csv without a file", 'points = "control.csv"',
     r"curve\[0\]\.points: .*inline points when the study is not read from a file"),
    ("csv escaping the folder", 'points = "../control.csv"',
     r"curve\[0\]\.points: .*a relative path inside the study file's folder"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_curves_name_the_row_and_the_field(case, body, match):
    if case == "unknown arm":
        text = '[[curve]]\narm = "contrl"\npoints = [[0, 1.0]]\n'
        match = r"curve\[0\]\.arm: .*Did you mean 'control'"
    else:
        text = '[[curve]]\narm = "control"\n' + body + "\n"
    with pytest.raises(StudyError, match=match):
        study(text)


def test_a_candidate_sized_arm_needs_its_at_risk_table():
    with pytest.raises(StudyError, match=r"curve\[0\]\.at_risk: received nothing, while arm"):
        study('[[curve]]\narm = "treated"\npoints = [[0, 1.0], [4, 0.9]]\n')
    (c,) = study('[[curve]]\narm = "treated"\npoints = [[0, 1.0], [4, 0.9]]\n'
                 "at_risk = [[0, 12]]\n").curves  # fmt: skip
    assert c.n == 12


def test_two_curves_for_one_arm_are_refused():
    with pytest.raises(StudyError, match=r"curve\[1\]\.arm: received 'control' a second time"):
        study(GOOD + GOOD)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("t,s\n0,1\n", r"curve\[0\]\.points: received 'c.csv' with header \['t', 's'\]"),
        ("time,survival\n0,1\n4,zero\n", r"curve\[0\]\.points\[1\]: received the cell 'zero'.*"
         r"Line 3 of c.csv"),
        ("time,survival\n0,1\n4,0.9\n3,0.8\n", r"curve\[0\]\.points\[2\]\.time: .*\(line 4 of "
         r"c.csv\)"),
        ("time,survival\n", r"curve\[0\]\.points: received 'c.csv' with no rows"),
        (b"time,survival\n0,\xff\n", r"curve\[0\]\.points: received 'c.csv' that is not "),
    ],
)  # fmt: skip
def test_bad_csv_files_name_the_line(tmp_path, content, match):
    data = content if isinstance(content, bytes) else content.encode()
    (tmp_path / "c.csv").write_bytes(data)
    path = tmp_path / "s.toml"
    path.write_text(BASE + '[[curve]]\narm = "control"\npoints = "c.csv"\n')
    with pytest.raises(StudyError, match=match):
        load_study(path)


def test_a_missing_csv_file_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(BASE + '[[curve]]\narm = "control"\npoints = "nope.csv"\n')
    with pytest.raises(StudyError, match=r"curve\[0\]\.points: received 'nope.csv' \(No such"):
        load_study(path)
