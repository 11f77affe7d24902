"""Plateaus: survival printed flat between two landmarks, found and checked by prediction.

The detection and the check are tested on hand-made replicates whose answer is counted by
hand; the report's warning on a hand-made table; and a slow run of
``tests/fixtures/studies/plateau.toml`` checks that the Exponential is flagged while the cure
family reproduces the plateau.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from resurv.compare.plateau import PLATEAU_COLUMNS, plateau_checks, plateaus
from resurv.report.plateau import plateau_section
from resurv.study.load import load_study
from resurv.study.schema import Printed

FIXTURE = Path(__file__).parents[1] / "fixtures" / "studies" / "plateau.toml"


@pytest.fixture(scope="module")
def study():
    return load_study(FIXTURE)


def test_a_survival_printed_flat_is_a_plateau_and_a_drop_is_not(study):
    found = plateaus(study)
    assert [(p.arm, p.first.id, p.second.id) for p in found] == [
        ("resected", "resected_3y", "resected_5y")
    ]
    assert found[0].printed_drop == 0.0 and found[0].unit == pytest.approx(0.1)
    # 45.0% then 44.9%: a drop, however small, is not a plateau
    figs = tuple(
        replace(f, percent=Printed(44.9, 1)) if f.id == "resected_5y" else f for f in study.figures
    )
    assert plateaus(replace(study, figures=figs)) == []
    # a later landmark printed higher is one too (it cannot happen without censoring tricks)
    figs = tuple(
        replace(f, percent=Printed(46.0, 1)) if f.id == "resected_5y" else f for f in study.figures
    )
    assert len(plateaus(replace(study, figures=figs))) == 1


def test_the_check_counts_replicates_that_print_a_drop_that_small(study):
    # five replicates: drops of 0, 0.05, 0.1, 0.2 and 5 points; the printed drop is 0 at one
    # decimal, so drops up to 0.1 point count as flat: 3 of 5
    first = [0.45, 0.45, 0.451, 0.452, 0.50]
    second = [0.45, 0.4495, 0.450, 0.450, 0.45]
    reps = pd.DataFrame(
        {
            "replicate": list(range(5)) * 2,
            "figure_id": ["resected_3y"] * 5 + ["resected_5y"] * 5,
            "value": first + second,
        }  # fmt: skip
    )
    table = plateau_checks(study, reps)
    assert tuple(table.columns) == PLATEAU_COLUMNS and len(table) == 1
    assert table["p_replicate_flat"].iloc[0] == pytest.approx(3 / 5)
    assert bool(table["reproduced"].iloc[0])
    assert not plateau_checks(study, reps, alpha=0.7)["reproduced"].iloc[0]


def _folder(tmp_path, rows):
    (tmp_path / "tables").mkdir()
    pd.DataFrame(rows).to_csv(tmp_path / "tables" / "plateaus.csv", index=False)
    return SimpleNamespace(folder=tmp_path, time_unit="years", arm_labels={"resected": "Resected"})


def test_the_report_warns_plainly_and_says_which_family_can_print_it(tmp_path):
    base = {"arm": "resected", "endpoint": "os", "first": "resected_3y",
            "second": "resected_5y", "time_first": 3.0, "time_second": 5.0,
            "printed_first": "45.0", "printed_second": "45.0",
            "prior": "weakly_informative"}  # fmt: skip
    rows = [{**base, "family": "exponential", "p_replicate_flat": 0.02},
            {**base, "family": "weibull", "p_replicate_flat": 0.3}]  # fmt: skip
    blocks = plateau_section(_folder(tmp_path, rows))
    heading, words, items = blocks
    assert heading.text == "Warning: survival printed flat between two landmarks"
    assert (
        words.text.startswith("PLATEAU:") and "Under exponential, the printed plateau" in words.text
    )
    assert 'Add "cure" to [analysis] families' in words.text
    (item,) = items.items
    assert "'Resected' prints 45.0% at 3 and 45.0% at 5 years" in item
    assert "exponential (weakly informative prior): cannot reproduce it, 0.020" in item
    assert "weibull (weakly informative prior): can reproduce it, 0.300" in item
    assert plateau_section(SimpleNamespace(folder=tmp_path / "none")) == []


@pytest.mark.slow
def test_the_plateau_study_flags_the_exponential_and_the_cure_family_prints_it(tmp_path):
    from resurv.pipeline import run_study
    from resurv.run.values import RunSettings

    settings = RunSettings(draws=1000, tune=700, chains=2, sensitivity=False, ppc_draws=600,
                           pseudo_datasets=5)  # fmt: skip
    outcome = run_study(FIXTURE, out=tmp_path / "out", settings=settings)
    assert outcome.all_passed
    table = pd.read_csv(outcome.folder / "tables" / "plateaus.csv").set_index("family")
    assert table.loc["exponential", "p_replicate_flat"] < 0.05
    assert table.loc["cure", "p_replicate_flat"] > 0.3
    report = (outcome.folder / "report.md").read_text(encoding="utf-8")
    assert "## Warning: survival printed flat between two landmarks" in report
    assert "cure (weakly informative prior): can reproduce it" in report
    mc = pd.read_csv(outcome.folder / "tables" / "model_comparison.csv")
    # the plateau favours the cure model over the exponential
    assert mc["log_bf_cure_vs_exponential"].iloc[0] > 0
