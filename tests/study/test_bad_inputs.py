"""Every file in tests/bad_inputs/ is refused with a StudyError naming the right field.

Each file holds one problem. Its first line states the expectation,
``# expect: <field> | <regex of the message>``; files that cannot carry a comment (empty,
binary) have theirs in ``tests/bad_inputs/EXPECTED.toml``. The base study the text files are
built from is ``GOOD`` below, which must load: each file differs from it by its one problem.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from resurv.errors import StudyError
from resurv.study.load import load_study, loads_study

BAD = Path(__file__).parents[1] / "bad_inputs"
EXPECTED = tomllib.loads((BAD / "EXPECTED.toml").read_text(encoding="utf-8"))
HEADER = re.compile(rb"# expect: (?P<field>\S+) \| (?P<match>.+)")
FILES = sorted(p for p in BAD.iterdir() if p.name != "EXPECTED.toml")

GOOD = """\
[study]
id = "base"
title = "A two-arm study"
citation = "Example A, et al. J Example 2001;1:1-2"
time_unit = "years"
cohort_n = 30
reference_arm = "a"

[censoring]
accrual = [1990, 2000]
close = 2002.0

[[arm]]
id = "a"
n = 12

[[arm]]
id = "b"
n = [6, 9]

[[figure]]
kind = "survival"
arm = "a"
time = 4
percent = "75.0"
estimator = "actuarial"
"""


def expectation(path: Path) -> tuple[str, str]:
    if path.name in EXPECTED:
        entry = EXPECTED[path.name]
        return entry["field"], entry["match"]
    first = path.read_bytes().split(b"\n", 1)[0]
    header = HEADER.fullmatch(first.rstrip(b"\r"))
    assert header, f"{path.name}: first line must be '# expect: <field> | <regex>'"
    return header["field"].decode("ascii"), header["match"].decode("utf-8")


def test_the_corpus_is_complete():
    assert len(FILES) >= 32
    assert set(EXPECTED) <= {p.name for p in FILES}
    for path in FILES:
        expectation(path)  # every file states what it expects


def test_the_base_study_loads():
    study = loads_study(GOOD)
    assert [a.id for a in study.arms] == ["a", "b"]
    assert study.max_followup == 12.0


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_bad_input_is_refused(path: Path):
    field, match = expectation(path)
    with pytest.raises(StudyError, match=match) as info:
        load_study(path)
    error = info.value
    assert error.field == field
    message = error.message
    assert "\n" not in message and "Traceback" not in message
    assert len(message) < 600, len(message)
    assert message.startswith("received ") and "; allowed: " in message
    assert str(error) == f"{field}: {message}"
    assert error.__cause__ is None  # nothing chained that would print a second traceback
    assert error.__suppress_context__ or error.__context__ is None


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(StudyError, match=r"No such file.*existing, readable TOML") as info:
        load_study(tmp_path / "nowhere.toml")
    assert info.value.field == "file"
    with pytest.raises(StudyError, match=r"the folder") as info:
        load_study(tmp_path)
    assert info.value.field == "file"


def test_oversized_file_is_refused_before_parsing(tmp_path: Path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# padding\n" * 200_000)
    with pytest.raises(StudyError, match=r"2000000 bytes; allowed: at most 1000000 bytes"):
        load_study(big)
