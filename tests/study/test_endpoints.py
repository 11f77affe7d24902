"""Endpoints: figures name the survival outcome they print (``os``, ``dfs``, ...).

The fixture ``tests/fixtures/studies/two_endpoints.toml`` prints overall and disease-free
survival of the same two arms at the same landmark.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from resurv.audit.study_audit import audit
from resurv.errors import StudyError
from resurv.study.load import load_study, loads_study, parse_study, study_to_mapping
from resurv.study.schema import ENDPOINTS, SurvivalFigure

FIXTURE = Path(__file__).parents[1] / "fixtures" / "studies" / "two_endpoints.toml"
TEXT = FIXTURE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def study():
    return load_study(FIXTURE)


def test_figures_name_their_endpoint_and_os_is_the_default(study):
    assert study.endpoints == ("os", "dfs")
    assert study.figure("os_resected").endpoint == "os"  # no endpoint key: os
    assert study.figure("dfs_resected").endpoint == "dfs"
    assert study.endpoint_label("dfs") == "disease-free survival (recurrence or death)"
    assert study.endpoint_label("os") == "overall survival"


def test_a_study_without_endpoints_has_os_only():
    grazi = load_study(Path(__file__).parents[2] / "models" / "grazi2000.toml")
    assert grazi.endpoints == ("os",)
    assert grazi.for_endpoint("os") is grazi  # the flagship is analysed exactly as before


def test_for_endpoint_splits_the_figures(study):
    dfs, os_ = study.for_endpoint("dfs"), study.for_endpoint("os")
    assert [f.id for f in dfs.figures] == [
        "dfs_resected", "dfs_not_resected", "dfs_logrank", "recurrence"
    ]  # fmt: skip
    # the count takes no endpoint: it describes the cohort and goes with os
    assert [f.id for f in os_.figures] == [
        "os_resected", "os_not_resected", "os_logrank", "operative_mortality"
    ]  # fmt: skip
    assert {f.id for f in dfs.figures} | {f.id for f in os_.figures} == {
        f.id for f in study.figures
    }
    assert dfs.endpoints == ("dfs",) and os_.endpoints == ("os",)
    assert "disease-free" in dfs.title and dfs.arms == study.arms and dfs.id == study.id
    with pytest.raises(KeyError, match="no endpoint 'pfs'"):
        study.for_endpoint("pfs")


def test_figures_without_os_go_with_the_first_endpoint():
    text = TEXT.replace('id = "os_', 'endpoint = "pfs"\nid = "os_')
    s = loads_study(text)
    assert s.endpoints == ("pfs", "dfs")
    assert "operative_mortality" in [f.id for f in s.for_endpoint("pfs").figures]


def test_the_study_round_trips(study):
    assert parse_study(study_to_mapping(study), source_sha256=study.source_sha256) == study


def test_unknown_endpoint_is_refused_naming_the_field_and_the_allowed_names():
    text = TEXT.replace(
        'endpoint = "dfs"\narm = "resected"\ntime', 'endpoint = "dsf"\narm = "resected"\ntime'
    )
    with pytest.raises(StudyError, match=r"received \"dsf\".*allowed: one of os, dfs, rfs, pfs, "
                       r"efs, css, ttr. Did you mean 'dfs'") as info:  # fmt: skip
        loads_study(text)
    assert info.value.field == "figure[2].endpoint"


def test_a_declared_endpoint_is_allowed():
    text = TEXT.replace(
        'endpoint = "dfs"\narm = "resected"\ntime', 'endpoint = "lrfs"\narm = "resected"\ntime'
    )
    with pytest.raises(StudyError, match="lrfs"):
        loads_study(text)
    text = text.replace("endpoints = {", 'endpoints = { lrfs = "local recurrence-free survival",')
    s = loads_study(text)
    assert s.endpoints == ("os", "lrfs", "dfs")
    assert s.endpoint_label("lrfs") == "local recurrence-free survival"
    assert set(ENDPOINTS) < set(dict(s.endpoint_labels)) | set(ENDPOINTS) | {"lrfs"}


@pytest.mark.parametrize(
    ("table", "field", "match"),
    [
        ('endpoints = "dfs"', "study.endpoints", "a table of endpoint names and labels"),
        ('endpoints = { dfs = "" }', "study.endpoints.dfs", "non-empty"),
        ("endpoints = { dfs = 3 }", "study.endpoints.dfs", r"received 3"),
        ('endpoints = { "2dfs" = "x" }', "study.endpoints.2dfs", r"received \"2dfs\""),
    ],
)
def test_bad_endpoint_tables_are_refused(table, field, match):
    text = TEXT.replace(
        'endpoints = { dfs = "disease-free survival (recurrence or death)" }', table
    )
    with pytest.raises(StudyError, match=match) as info:
        loads_study(text)
    assert info.value.field == field


def test_endpoint_is_refused_on_figures_that_take_none():
    text = TEXT.replace('kind = "count"', 'kind = "count"\nendpoint = "os"')
    with pytest.raises(StudyError, match="endpoint") as info:
        loads_study(text)
    assert info.value.field.endswith(".endpoint")


def test_the_audit_checks_landmarks_together_only_within_an_endpoint(study):
    """Both endpoints print a 3-year landmark per arm: checked jointly, they would share a time."""
    result = audit(study)
    findings = result.findings
    assert not any("not checked together" in f for f in findings), findings
    one = tuple(replace(f, endpoint="os") if hasattr(f, "endpoint") else f for f in study.figures)
    mixed = audit(replace(study, figures=one)).findings
    assert sum("not checked together" in f for f in mixed) == 2
    rows = result.rows
    assert [r.figure_id for r in rows] == [f.id for f in study.figures]
    # each endpoint's landmark is audited against its own arm: 6/10 prints 60.0%
    dfs_row = result.row("dfs_resected")
    assert dfs_row.verdict == "feasible" and dfs_row.n_configurations
    assert all(isinstance(f, SurvivalFigure) for f in study.figures[:4])
