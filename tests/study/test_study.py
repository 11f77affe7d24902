"""The study file: the flagship loads, every field lands typed, printed precision is kept.

Numbers encoded in models/grazi2000.toml are checked against the abstract's own arithmetic
(a/b printed as x% by rounding or truncation, computed here with exact decimals) and against
the text each figure quotes.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import re
import types
import typing
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resurv.errors import StudyError
from resurv.study.load import load_study, loads_study, parse_study, study_to_mapping
from resurv.study.schema import (
    TIME_UNIT_PER_YEAR,
    Analysis,
    CountFigure,
    FollowupFigure,
    HazardRatioFigure,
    LiteratureSurvival,
    LogrankFigure,
    MedianFigure,
    PercentOfFigure,
    Printed,
    ProportionFigure,
    Study,
    SurvivalFigure,
)

FLAGSHIP = Path(__file__).parents[2] / "models" / "grazi2000.toml"


@pytest.fixture(scope="module")
def grazi() -> Study:
    return load_study(FLAGSHIP)


def minimal(**figure) -> dict:
    """A valid one-arm study mapping with one figure (a survival figure unless given)."""
    fig = figure or {"kind": "survival", "arm": "a", "time": 2, "percent": "80.0"}
    return {
        "study": {"id": "s", "title": "T", "citation": "C", "time_unit": "years"},
        "censoring": {"accrual": [1990, 1995], "close": 2000.0},
        "arm": [{"id": "a", "n": 20}],
        "figure": [fig],
    }


# ----------------------------------------------------------------------------- flagship


def test_flagship_loads_with_its_hash(grazi: Study):
    assert grazi.source_sha256 == hashlib.sha256(FLAGSHIP.read_bytes()).hexdigest()
    assert (grazi.id, grazi.time_unit, grazi.rounding) == ("grazi2000", "years", "either")
    assert grazi.cohort_n == 28 and grazi.reference_arm == "resected"
    assert "PMID 10791218" in grazi.citation
    assert grazi.output_dir == "grazi2000"


def test_flagship_arms_and_censoring(grazi: Study):
    assert grazi.arm("resected").n == (19,)
    assert grazi.arm("not_resected").n == (3, 6, 9)
    # every combination of candidate sizes fits in the cohort of 28 (19 + 9 = 28)
    assert max(grazi.arm("resected").n) + max(grazi.arm("not_resected").n) <= grazi.cohort_n
    c = grazi.censoring
    assert (c.accrual_start, c.accrual_end, c.close, c.loss_rate) == (1981.0, 1998.0, 1999.0, 0.0)
    assert c.close_candidates == (1998.0, 1999.0, 2000.0)
    assert grazi.max_followup == 1999.0 - 1981.0


def test_flagship_analysis(grazi: Study):
    a = grazi.analysis
    assert a.families == ("exponential", "weibull")
    assert set(a.priors) == {"weakly_informative", "sceptical", "enthusiastic", "reference",
                             "literature"}  # fmt: skip
    assert a.landmarks == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert a.hr_important == 2.0 and a.seed > 0
    lit = a.literature
    assert isinstance(lit, LiteratureSurvival)
    assert (lit.arm, lit.time, lit.mass) == ("resected", 5.0, 0.9)
    assert 0 < lit.lower < lit.upper < 1 and "PMID" in lit.source


def test_flagship_survival_and_logrank(grazi: Study):
    resected, not_resected = grazi.figures_of(SurvivalFigure)
    assert (resected.arm, resected.time, resected.percent) == ("resected", 4.0, Printed(92.6, 1))
    assert (not_resected.arm, not_resected.percent) == ("not_resected", Printed(18.5, 1))
    assert {resected.estimator, not_resected.estimator} == {"actuarial"}
    assert resected.interval_width == 1.0
    (logrank,) = grazi.figures_of(LogrankFigure)
    assert logrank.p == Printed(0.001, 3) and logrank.relation == "<"
    assert logrank.arms == ("resected", "not_resected")


def test_flagship_counts_and_proportions(grazi: Study):
    mortality = grazi.figure("operative_mortality")
    assert isinstance(mortality, CountFigure)
    assert (mortality.events, mortality.n) == (0, (19, 22))
    recurrence = grazi.figure("recurrence")
    assert isinstance(recurrence, ProportionFigure)
    assert recurrence.percent == Printed(50.0, 1) and str(recurrence.percent) == "50.0"
    assert recurrence.n == (16, 19, 22, 28)
    pairs = {f.id: (f.a, f.b) for f in grazi.figures_of(PercentOfFigure)}
    assert pairs["surgery_indicated"] == (25, 28)
    assert pairs["curative"] == (16, 28)
    assert pairs["major_hepatectomy"] == (11, 19)
    assert pairs["liver_resection"] == (19, 22)


def _printed_by(a: int, b: int, decimals: int, mode: str) -> str:
    """a/b as a percent at ``decimals``, rounded half-up or truncated, in exact decimals."""
    exact = Decimal(100 * a) / Decimal(b)
    quantum = Decimal(1).scaleb(-decimals)
    return str(exact.quantize(quantum, rounding=ROUND_HALF_UP if mode == "round" else ROUND_DOWN))


def test_flagship_percentages_follow_from_their_counts(grazi: Study):
    """Each printed a/b (x%) is a/b under rounding or truncation, as the abstract prints it.

    The design's example: 25/28 printed 89.2% is truncation (89.2857... rounds to 89.3),
    11/19 printed 57.9% is rounding (57.894... truncates to 57.8).
    """
    conventions = {}
    for f in grazi.figures_of(PercentOfFigure):
        if f.percent is None:
            continue
        made = {
            mode
            for mode in ("round", "truncate")
            if _printed_by(f.a, f.b, f.percent.decimals, mode) == str(f.percent)
        }
        assert made, f"{f.id}: {f.a}/{f.b} cannot print {f.percent}"
        conventions[f.id] = made
    assert conventions["surgery_indicated"] == {"truncate"}
    assert conventions["major_hepatectomy"] == {"round"}
    assert conventions["curative"] == {"round", "truncate"}


def test_flagship_quotes_contain_their_numbers(grazi: Study):
    for f in grazi.figures:
        assert f.quote, f"{f.id} has no quote"
        percent = getattr(f, "percent", None)
        if percent is not None:
            assert f"{percent}%" in f.quote, f.id
        if isinstance(f, PercentOfFigure):
            assert f"{f.a}" in f.quote, f.id
            assert f"{f.b}" in f.quote or f.b == grazi.cohort_n, f.id  # or implicitly "of all"
    assert "P < 0.001" in grazi.figure("logrank").quote


# ----------------------------------------------------------------------------- typed


def _check_type(value, hint, where: str) -> None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                _check_type(value, option, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{where}: {value!r} matches none of {args}: {errors}")
    if origin is typing.Literal:
        assert value in args, f"{where}: {value!r} not in {args}"
    elif origin is tuple:
        assert type(value) is tuple, f"{where}: {type(value).__name__}, not tuple"
        if len(args) == 2 and args[1] is Ellipsis:
            for i, v in enumerate(value):
                _check_type(v, args[0], f"{where}[{i}]")
        else:
            assert len(value) == len(args), where
            for i, (v, a) in enumerate(zip(value, args, strict=True)):
                _check_type(v, a, f"{where}[{i}]")
    elif hint is type(None):
        assert value is None, f"{where}: {value!r} is not None"
    elif dataclasses.is_dataclass(hint):
        assert isinstance(value, hint), f"{where}: {type(value).__name__}, not {hint.__name__}"
        _check_dataclass(value, where)
    else:  # str, int, float: exact types, so 4 (int) never stands where 4.0 (float) belongs
        assert type(value) is hint, f"{where}: {value!r} is {type(value).__name__}, not {hint}"


def _check_dataclass(obj, where: str) -> None:
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        _check_type(getattr(obj, f.name), hints[f.name], f"{where}.{f.name}")


def kitchen_sink() -> dict:
    """A valid study using every figure kind and optional field."""
    return {
        "study": {"id": "sink", "title": "T", "citation": "C", "time_unit": "months",
                  "rounding": "round", "cohort_n": 60, "reference_arm": "control"},
        "censoring": {"accrual": [2001, 2004.5], "close": 2008, "loss_rate": 0.01,
                      "close_candidates": [2007, 2009], "note": "assumed"},
        "analysis": {"families": ["weibull"], "priors": ["reference", "literature"],
                     "landmarks": [24, 12], "draws": 500, "tune": 700, "chains": 2,
                     "seed": 7, "hr_important": 0.5, "recurrence_followup": 30,
                     "literature": {"arm": "control", "time": 60, "lower": 0.2, "upper": 0.5,
                                    "source": "A review"}},
        "output": {"dir": "runs/sink-v1.2"},
        "arm": [{"id": "control", "n": 30, "label": "Control"},
                {"id": "treated", "n": [25, 30], "note": "unclear"}],
        "figure": [
            {"kind": "survival", "arm": "treated", "time": 24, "percent": 61.5,
             "estimator": "kaplan-meier", "rounding": "truncate", "quote": "61.5% at 2 years"},
            {"kind": "survival", "arm": "control", "time": 12, "percent": 50, "decimals": 1},
            {"kind": "median", "arm": "treated", "value": "not reached"},
            {"kind": "median", "arm": "control", "value": "14.2", "ci": ["9.8", "20.1"],
             "ci_level": 0.9},
            {"kind": "hazard_ratio", "arms": ["treated", "control"], "hr": "0.52",
             "ci": ["0.31", "0.88"]},
            {"kind": "logrank_p", "arms": ["treated", "control"], "p": 0.012},
            {"kind": "logrank_p", "id": "bound", "arms": ["control", "treated"], "p": "0.05",
             "relation": "<"},
            {"kind": "proportion", "name": "response", "percent": "40", "arm": "treated"},
            {"kind": "count", "events": 2, "n": [30, 55], "note": "two candidates"},
            {"kind": "percent_of", "a": 12, "b": 30, "percent": "40.0"},
            {"kind": "followup", "median": 36, "range": [2, 84], "arm": "control"},
        ],
    }  # fmt: skip


def test_every_field_lands_typed(grazi: Study):
    for study in (grazi, parse_study(kitchen_sink())):
        _check_dataclass(study, study.id)


def test_kitchen_sink_values():
    s = parse_study(kitchen_sink())
    assert s.max_followup == (2008 - 2001) * 12
    assert s.analysis.landmarks == (12.0, 24.0)  # sorted
    assert s.output_dir == "runs/sink-v1.2"
    km, control = s.figures_of(SurvivalFigure)
    assert km.estimator == "kaplan-meier" and s.rounding_of(km) == "truncate"
    assert s.rounding_of(control) == "round" and str(control.percent) == "50.0"
    not_reached, median = s.figures_of(MedianFigure)
    assert not_reached.value is None
    assert median.ci == (Printed(9.8, 1), Printed(20.1, 1)) and median.ci_level == 0.9
    (hr,) = s.figures_of(HazardRatioFigure)
    assert hr.hr == Printed(0.52, 2) and hr.arms == ("treated", "control")
    exact, bound = s.figures_of(LogrankFigure)
    assert (exact.relation, exact.p, bound.relation) == ("=", Printed(0.012, 3), "<")
    proportion = s.figure("proportion-7")  # default id: kind-index
    assert isinstance(proportion, ProportionFigure)
    assert proportion.n == (25, 30)  # denominators taken from the arm
    count = s.figure("count-8")
    assert isinstance(count, CountFigure) and count.name == "count-8"
    (followup,) = s.figures_of(FollowupFigure)
    assert followup.range == (2.0, 84.0)


# ----------------------------------------------------------------------------- printed


@pytest.mark.parametrize(
    ("raw", "decimals", "expected"),
    [
        ("92.6", None, Printed(92.6, 1)),
        ("50.0", None, Printed(50.0, 1)),
        ("50", None, Printed(50.0, 0)),
        ("7.10", None, Printed(7.1, 2)),
        (" 18.5 ", None, Printed(18.5, 1)),
        (50.0, None, Printed(50.0, 1)),  # a float takes its decimals from repr
        (92.6, None, Printed(92.6, 1)),
        (50, None, Printed(50.0, 0)),
        (50, 1, Printed(50.0, 1)),
        (50.0, 0, Printed(50.0, 0)),
        (92.6, 2, Printed(92.6, 2)),
    ],
)
def test_printed_precision(raw, decimals, expected):
    fig = {"kind": "survival", "arm": "a", "time": 2, "percent": raw}
    if decimals is not None:
        fig["decimals"] = decimals
    (f,) = parse_study(minimal(**fig)).figures
    assert f.percent == expected
    assert type(f.percent.value) is float and type(f.percent.decimals) is int


@pytest.mark.parametrize(
    ("raw", "relation", "expected"),
    [
        ("<0.001", "<", Printed(0.001, 3)),
        ("< 0.001", "<", Printed(0.001, 3)),
        ("<=0.05", "<=", Printed(0.05, 2)),
        ("≤0.05", "<=", Printed(0.05, 2)),
        (">0.2", ">", Printed(0.2, 1)),
        ("=0.04", "=", Printed(0.04, 2)),
        ("0.040", "=", Printed(0.04, 3)),
        (".001", "=", Printed(0.001, 3)),
        (0.001, "=", Printed(0.001, 3)),
        (1e-05, "=", Printed(0.00001, 5)),
        (1, "=", Printed(1.0, 0)),
    ],
)
def test_p_values_and_their_relations(raw, relation, expected):
    m = minimal(kind="logrank_p", arms=["a", "b"], p=raw)
    m["arm"].append({"id": "b", "n": 5})
    m["study"]["reference_arm"] = "a"
    (f,) = parse_study(m).figures
    assert (f.relation, f.p) == (relation, expected)


@settings(max_examples=200, deadline=None)
@given(mantissa=st.integers(0, 10**6), decimals=st.integers(0, 4))
def test_printed_string_round_trips(mantissa, decimals):
    """A percent string parses to a Printed that prints the same string back."""
    text = f"{mantissa / 10**decimals:.{decimals}f}"
    percent_ok = float(text) <= 100
    fig = {"kind": "survival", "arm": "a", "time": 2, "percent": text}
    if not percent_ok:
        with pytest.raises(StudyError, match=r"a percent from 0 to 100"):
            parse_study(minimal(**fig))
        return
    (f,) = parse_study(minimal(**fig)).figures
    assert str(f.percent) == text and f.percent.decimals == decimals


# ----------------------------------------------------------------------------- defaults


def test_defaults():
    s = parse_study(minimal())
    assert s.rounding == "either" and s.cohort_n is None and s.output_dir is None
    assert s.reference_arm == "a"  # the only arm
    assert s.analysis == Analysis()
    assert s.analysis.hr_important == 2.0 and s.analysis.literature is None
    (f,) = s.figures
    assert f.id == "survival-0" and f.estimator == "unknown" and f.rounding is None
    assert s.rounding_of(f) == "either"
    assert s.source_sha256 == ""


@pytest.mark.parametrize("unit", ["days", "weeks", "months", "years"])
def test_max_followup_in_each_time_unit(unit):
    m = minimal()
    m["study"]["time_unit"] = unit
    s = parse_study(m)
    years = 2000.0 - 1990.0
    assert s.max_followup == pytest.approx(years * {"days": 365.25, "weeks": 365.25 / 7,
                                                    "months": 12, "years": 1}[unit])  # fmt: skip
    assert TIME_UNIT_PER_YEAR[unit] * years == pytest.approx(s.max_followup)


def test_lookups_and_immutability(grazi: Study):
    with pytest.raises(KeyError, match="no arm 'surgery'; arms are"):
        grazi.arm("surgery")
    with pytest.raises(KeyError, match="no figure 'x'"):
        grazi.figure("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        grazi.id = "other"  # type: ignore[misc]


def test_readme_example_loads():
    readme = (FLAGSHIP.parent / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(.*?)```", readme, flags=re.S)
    s = loads_study(example)
    assert s.id == "example2001" and s.arm("treated").n == (18, 20)
    assert [f.id for f in s.figures] == ["survival-0", "median-1", "hazard_ratio-2", "logrank_p-3"]


def test_bom_and_text_input_are_accepted():
    body = FLAGSHIP.read_text(encoding="utf-8")
    assert loads_study("\ufeff" + body).figures == loads_study(body).figures


# ----------------------------------------------------------------------------- round trip


def test_round_trip(grazi: Study):
    for study in (grazi, parse_study(kitchen_sink(), source_sha256="abc")):
        mapping = study_to_mapping(study)
        again = parse_study(mapping, source_sha256=study.source_sha256)
        assert again == study
        assert study_to_mapping(again) == mapping
    survival = study_to_mapping(grazi)["figure"][-3]
    assert survival["percent"] == "92.6" and survival["kind"] == "survival"
    assert study_to_mapping(grazi)["figure"][-1]["p"] == "<0.001"


def test_parse_study_does_not_touch_its_input(grazi: Study):
    mapping = study_to_mapping(grazi)
    frozen = copy.deepcopy(mapping)
    parse_study(mapping)
    assert mapping == frozen


# ----------------------------------------------------------------------------- robustness


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    yield path


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.dates(),
    st.times(),
    st.lists(st.one_of(st.integers(-5, 50), st.text(max_size=5)), max_size=4),
    st.dictionaries(st.text(max_size=60), st.integers(), max_size=3),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_corruption_gives_study_or_study_error(data, grazi: Study):
    """Replace or delete any part of a valid study: the result is a Study or a StudyError."""
    mapping = study_to_mapping(grazi)
    paths = [p for p in _leaves(mapping) if p]
    path = data.draw(st.sampled_from(paths))
    parent = mapping
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(JUNK)
    try:
        study = parse_study(mapping)
    except StudyError as e:
        assert "\n" not in e.message and len(e.message) < 600
        assert e.message.startswith("received ") and "; allowed: " in e.message
    else:
        assert isinstance(study, Study)


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=400))
def test_any_bytes_give_study_error(blob):
    """No byte string is a study; every one is refused with a one-paragraph StudyError."""
    with pytest.raises(StudyError) as info:
        loads_study(blob)
    message = info.value.message
    assert "\n" not in message and len(message) < 600 and "; allowed: " in message


def test_date_values_are_described():
    m = minimal()
    m["censoring"]["close"] = dt.date(2000, 1, 1)
    with pytest.raises(StudyError, match=r"2000-01-01 \(a date or time\)"):
        parse_study(m)
