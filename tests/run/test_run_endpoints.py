"""Several endpoints: one reanalysis each, a side-by-side table, and the report's section.

The table and the section are checked on hand-made quantities (no fitting); the slow test
runs ``tests/fixtures/studies/two_endpoints.toml`` end to end and checks each endpoint's
numbers against a reanalysis of that endpoint alone.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from resurv.errors import StudyError
from resurv.report.endpoints import endpoints_section, recurrence_table, side_by_side
from resurv.run.endpoints import ENDPOINT_COLUMNS, endpoint_table
from resurv.run.reanalysis import quick_settings, reanalyse
from resurv.study.load import load_study

FIXTURE = Path(__file__).parents[1] / "fixtures" / "studies" / "two_endpoints.toml"


@pytest.fixture(scope="module")
def study():
    return load_study(FIXTURE)


def _q(quantity, label, median, lo=None, hi=None):
    return {"quantity": quantity, "label": label, "median": median, "lower_95": lo,
            "upper_95": hi}  # fmt: skip


def _result(scale: float):
    """A stand-in for a Reanalysis: only ``primary.quantities`` is read."""
    quantities = [
        _q("hazard[resected]", "hazard, resected", 0.1 * scale, 0.05, 0.2),
        _q("hazard[not_resected]", "hazard, not_resected", 0.3 * scale, 0.1, 0.6),
        _q("hazard_ratio[not_resected]", "hazard ratio, not_resected vs resected", 3.0, 1.0, 9.0),
        _q("p_hr_gt_1[not_resected]", "P(HR > 1), not_resected vs resected", 0.97),
        _q("surv[resected, t=3]", "S(3 years), resected", 0.7, 0.5, 0.9),
        _q("surv_diff[t=3]", "survival difference", 0.3, 0.0, 0.6),
        _q("median[resected]", "median survival, resected (years)", 7.0, 3.0, 20.0),
        _q("p_recurrence", "proportion: recurrence", 0.32, 0.11, 0.6),
        _q("recurrence_rate", "recurrence rate per patient-year", 0.04, 0.01, 0.1),
        _q("p_operative_mortality", "proportion: operative_mortality", 0.06, 0.0, 0.28),
        _q("operative_mortality_upper95", "rule of three", 0.2),
    ]
    return SimpleNamespace(primary=SimpleNamespace(quantities=quantities))


def test_the_table_sorts_each_quantity_into_what_it_is(study):
    table = endpoint_table({"os": _result(1.0), "dfs": _result(2.0)}, study)
    assert tuple(table.columns) == ENDPOINT_COLUMNS
    os_ = table[table["endpoint"] == "os"].set_index("quantity")
    assert os_.loc["hazard[resected]", "what"] == "hazard"
    assert os_.loc["hazard[resected]", "arm"] == "resected"
    assert os_.loc["surv[resected, t=3]", "arm"] == "resected"
    assert os_.loc["hazard_ratio[not_resected]", "what"] == "hazard ratio"
    assert os_.loc["p_recurrence", "what"] == "proportion"
    assert os_.loc["recurrence_rate", "what"] == "rate"
    # the survival difference, the median and the upper bound are not part of the table
    assert not {"surv_diff[t=3]", "median[resected]", "operative_mortality_upper95"} & set(
        os_.index
    )
    dfs = table[table["endpoint"] == "dfs"].set_index("quantity")
    assert dfs.loc["hazard[resected]", "median"] == pytest.approx(0.2)
    # recurrence: the dfs hazards and every recurrence proportion or rate, not os hazards
    rec = table[table["recurrence"]]
    assert set(zip(rec["endpoint"], rec["quantity"], strict=True)) == {
        ("dfs", "hazard[resected]"), ("dfs", "hazard[not_resected]"),
        ("os", "p_recurrence"), ("os", "recurrence_rate"),
        ("dfs", "p_recurrence"), ("dfs", "recurrence_rate"),
    }  # fmt: skip
    assert set(table["endpoint_label"]) == {
        "overall survival", "disease-free survival (recurrence or death)"
    }  # fmt: skip


def test_the_report_sets_the_endpoints_side_by_side(study, tmp_path):
    table = endpoint_table({"os": _result(1.0), "dfs": _result(2.0)}, study)
    (tmp_path / "tables").mkdir()
    table.to_csv(tmp_path / "tables" / "endpoints.csv", index=False)
    read = pd.read_csv(tmp_path / "tables" / "endpoints.csv")
    grid = side_by_side(read)
    assert grid.columns[1:] == (
        "overall survival (os)", "disease-free survival (recurrence or death) (dfs)"
    )  # fmt: skip
    first = dict(zip(grid.columns, grid.rows[0], strict=True))
    assert first["quantity (median [95% CrI])"] == "hazard, resected"
    assert first["overall survival (os)"] == "0.1 [0.05, 0.2]"
    assert first["disease-free survival (recurrence or death) (dfs)"] == "0.2 [0.05, 0.2]"
    assert [r[0] for r in grid.rows][-1].startswith("P(HR > 1)")
    assert len(grid.rows) == 5  # 2 hazards, 1 landmark, 1 HR, 1 P(HR > 1)
    rec = recurrence_table(read)
    assert rec is not None and len(rec.rows) == 6
    blocks = endpoints_section(SimpleNamespace(folder=tmp_path))
    headings = [b.text for b in blocks if type(b).__name__ == "Heading"]
    assert headings == [
        "Endpoints side by side", "Recurrence", "overall survival (os)",
        "disease-free survival (recurrence or death) (dfs)",
    ]  # fmt: skip
    assert endpoints_section(SimpleNamespace(folder=tmp_path / "nowhere")) == []


def test_reanalyse_refuses_a_study_of_several_endpoints(study):
    with pytest.raises(StudyError, match=r"2 endpoints \(os, dfs\).*reanalyse_endpoints"):
        reanalyse(study)


@pytest.mark.slow
def test_two_endpoints_run_end_to_end(study, tmp_path):
    from resurv.pipeline import run_study

    settings = quick_settings(marginal_likelihood=False, draws=1000, tune=500, chains=2)
    outcome = run_study(FIXTURE, out=tmp_path / "out", settings=settings)
    folder = outcome.folder
    assert outcome.all_passed and list(outcome.endpoints) == ["os", "dfs"]
    assert (folder / "endpoints" / "dfs" / "report.html").is_file()
    table = pd.read_csv(folder / "tables" / "endpoints.csv")
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Endpoints side by side" in report and "### Recurrence" in report
    # the folder's audit covers every printed figure of the file, whatever its endpoint
    audited = pd.read_csv(folder / "tables" / "audit.csv")["figure_id"].tolist()
    assert audited == [f.id for f in study.figures]
    # each endpoint's numbers are those of a reanalysis of that endpoint alone
    alone = reanalyse(study.for_endpoint("dfs"), settings)
    expect = {q["quantity"]: q["median"] for q in alone.primary.quantities}
    dfs = table[table["endpoint"] == "dfs"]
    for quantity, median in zip(dfs["quantity"], dfs["median"], strict=True):
        assert median == pytest.approx(expect[quantity], rel=1e-5), quantity
    # and the dfs landmark is fitted from the dfs figures: S(3) near the printed 60.0%, not 70.0%
    s3 = dfs.set_index("quantity").loc["surv[resected, t=3]", "median"]
    os_s3 = table[table["endpoint"] == "os"].set_index("quantity").loc["surv[resected, t=3]"]
    assert abs(s3 - 0.6) < 0.1 and abs(os_s3["median"] - 0.7) < 0.1
    assert np.isfinite(table["median"]).all()
    sub = pd.read_csv(folder / "endpoints" / "dfs" / "tables" / "comparison.csv")
    assert set(sub["figure_id"]) >= {"dfs_resected", "dfs_not_resected", "recurrence"}
    assert not set(sub["figure_id"]) & {"os_resected", "operative_mortality"}
