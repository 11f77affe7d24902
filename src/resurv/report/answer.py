"""What the tables of a results folder say, in plain words.

:func:`plain_answer` builds the report's one-paragraph answer (hazard ratio, landmark survival,
the audit's main finding, how much the prior matters, which fits failed) from the saved
tables. The helpers here also find the printed landmark figures, the reference arm and the
hazard-ratio rows that the figures of the report use.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from resurv.report import plots
from resurv.report.blocks import _g, _percent, _prob, _time
from resurv.report.results import Results


def _match_arm(text: str, labels: dict[str, str]) -> str:
    """Return the arm whose id or label occurs in ``text`` (the longest match wins)."""
    text = text.lower().replace("_", " ")
    best, length = "", 0
    for arm, label in labels.items():
        for key in {arm.lower().replace("_", " "), label.lower()}:
            if key and re.search(rf"(?<![a-z]){re.escape(key)}(?![a-z])", text):
                if len(key) > length:
                    best, length = arm, len(key)
    return best


def _landmarks(r: Results) -> list[plots.Landmark]:
    """Return the printed landmark survival figures: arm, time, percent and text."""
    comp = r.table("comparison")
    if comp is None:
        return []
    times = [float(t) for t in r.study.get("landmark_times", [])]
    audit_figures = {
        str(f.get("id", f.get("figure_id"))): f
        for f in r.audit.get("figures", [])
        if isinstance(f, dict)
    }
    out = []
    for row in comp[comp["kind"] == "survival"].to_dict("records"):
        info = audit_figures.get(row["figure_id"], {})
        text = f"{row['figure_id']} {row['quantity']}"
        arm = row.get("arm") or info.get("arm") or _match_arm(text, r.arm_labels)
        time = row.get("time") or info.get("time")
        if not time:
            found = re.search(r"(\d+(?:\.\d+)?)[- ]?(?:year|month|week|day)", row["quantity"])
            time = found.group(1) if found else (times[0] if len(times) == 1 else None)
        number = re.search(r"\d+(?:\.\d+)?", row["printed"])
        if arm and time is not None and number:
            out.append(
                plots.Landmark(arm, float(time), float(number.group()), f"{number.group()}%")
            )
    return out


def _reference_arm(r: Results, compared: list[str]) -> str:
    arms = list(r.arm_labels)
    ref = r.study.get("reference_arm")
    if ref:
        return str(ref)
    others = [a for a in arms if a not in compared]
    return others[0] if others else (arms[0] if arms else "the reference arm")


def _hazard_ratio_rows(r: Results) -> pd.DataFrame:
    sens = r.table("sensitivity")
    if sens is None:
        return pd.DataFrame()
    hr = sens[sens["quantity"].str.startswith("hazard_ratio[")]
    hr = hr[hr["lower_95"] < hr["upper_95"]].copy()  # not the reference arm's constant 1
    hr["arm"] = hr["quantity"].str.slice(len("hazard_ratio["), -1)
    return hr


def _same_quantity(name: str) -> str:
    """Return a quantity name with its time written as :func:`_time` does ("t=4.0" -> "t=4")."""
    return re.sub(r"t=([0-9.eE+-]+)", lambda m: f"t={_time(m.group(1))}", name.replace(" ", ""))


def _quantity(r: Results, fit_key: str, quantity: str) -> dict | None:
    sens = r.table("sensitivity")
    if sens is None:
        return None
    names = sens["quantity"].map(_same_quantity)
    sel = sens[(sens["fit_key"] == fit_key) & (names == _same_quantity(quantity))]
    return None if sel.empty else sel.iloc[0].to_dict()


def _prior_sentence(r: Results, hr: pd.DataFrame, arm: str) -> str:
    rows = hr[hr["arm"] == arm]
    ok = rows[rows["status"] == "ok"]
    primary = rows[rows["fit_key"] == r.primary]
    if len(ok) < 2 or primary.empty:
        return ""
    p = primary.iloc[0]
    half = (np.log(p["upper_95"]) - np.log(p["lower_95"])) / 2
    spread = float(np.max(np.abs(np.log(ok["median"]) - np.log(p["median"]))))
    if spread < 0.25 * half:
        verdict = "so the choice of prior moves the answer little"
    elif spread < half:
        verdict = "so the prior moves the answer noticeably, though within the primary 95% interval"
    else:
        verdict = (
            "so the prior matters: some fits put their median outside the primary 95% interval"
        )
    sentence = (
        f"Across the {len(ok)} fits that passed their diagnostics (families x prior sets), the "
        f"median hazard ratio ranges from {_g(ok['median'].min())} to {_g(ok['median'].max())}, "
        f"{verdict}"
    )
    sens = r.table("sensitivity")
    probs = sens[(sens["quantity"] == f"p_hr_gt_1[{arm}]") & sens["fit_key"].isin(ok["fit_key"])][
        "median"
    ]
    if len(probs):
        sentence += f"; P(HR > 1) ranges from {_prob(probs.min())} to {_prob(probs.max())}"
    return sentence + "."


def plain_answer(r: Results) -> str:
    r"""Return the one-paragraph plain-language answer, built from the tables.

    It states, for the primary fit, the hazard ratio (median, 95% interval, P(HR > 1)), the
    landmark survival per arm, the audit's main finding, how far the hazard-ratio medians of
    the fits that passed their diagnostics move from the primary one, and which fits failed.

    Notes
    -----
    How much the prior matters is judged on the log scale: with :math:`m_i` the HR medians of
    the fits that passed and :math:`(l, u)` the primary 95% interval, the spread
    :math:`s = \max_i |\log m_i - \log m_{primary}|` is compared with the half-width
    :math:`h = (\log u - \log l) / 2`: :math:`s < h/4` "moves the answer little",
    :math:`s < h` "noticeably, though within the primary 95% interval", otherwise "matters".
    """
    words = r.fit_words(r.primary)
    labels = r.arm_labels
    hr = _hazard_ratio_rows(r)
    parts = []
    primary_hr = hr[hr["fit_key"] == r.primary] if len(hr) else hr
    arm = ""
    if len(primary_hr):
        row = primary_hr.iloc[0]
        arm = row["arm"]
        ref = _reference_arm(r, list(hr["arm"].unique()))
        p = _quantity(r, r.primary, f"p_hr_gt_1[{arm}]")
        text = (
            f"Given only what the abstract prints, the hazard of death in the "
            f"'{labels.get(arm, arm)}' arm is {_g(row['median'])} times that in the "
            f"'{labels.get(ref, ref)}' arm (posterior median; 95% credible interval "
            f"{_g(row['lower_95'])} to {_g(row['upper_95'])})"
        )
        if p is not None:
            text += (
                f", and the probability that it is higher at all, P(HR > 1), is "
                f"{_prob(p['median'])}"
            )
        parts.append(text + f", under the primary fit ({words}).")
        parts += _other_arms_sentence(r, primary_hr.iloc[1:], ref)
    else:
        parts.append(f"Given only what the abstract prints, the primary fit is {words}.")
    times = r.study.get("printed_landmark_times") or r.study.get("landmark_times", [])
    for t in times:
        pieces = []
        for a, label in labels.items():
            q = _quantity(r, r.primary, f"surv[{a}, t={_time(t)}]")
            if q is not None:
                pieces.append(
                    f"{label} {_percent(q['median']):.0f}% (95% CrI "
                    f"{_percent(q['lower_95']):.0f}% to {_percent(q['upper_95']):.0f}%)"
                )
        if pieces:
            text = f"Survival at {_time(t)} {r.time_unit}: {', '.join(pieces)}"
            p = _quantity(r, r.primary, f"p_surv_diff_gt_20[t={_time(t)}]")
            if p is not None:
                text += (
                    "; the probability that the difference exceeds 20 percentage points is "
                    f"{_prob(p['median'])}"
                )
            parts.append(text + ".")
    findings = _findings(r)
    if findings:
        more = f" ({len(findings) - 1} further findings below.)" if len(findings) > 1 else ""
        parts.append(f"The audit's main finding: {findings[0].rstrip('.')}.{more}")
    if arm:
        parts.append(_prior_sentence(r, hr, arm))
    parts.append(_diagnostics_sentence(r))
    return " ".join(p for p in parts if p)


def _other_arms_sentence(r: Results, rows: pd.DataFrame, ref: str) -> list[str]:
    """With three or more arms: the hazard ratio of every further arm against the reference."""
    labels = r.arm_labels
    pieces = []
    for row in rows.to_dict("records"):
        arm = row["arm"]
        p = _quantity(r, r.primary, f"p_hr_gt_1[{arm}]")
        text = (
            f"'{labels.get(arm, arm)}' {_g(row['median'])} (95% CrI {_g(row['lower_95'])} to "
            f"{_g(row['upper_95'])}"
        )
        pieces.append(text + (f"; P(HR > 1) {_prob(p['median'])})" if p is not None else ")"))
    if not pieces:
        return []
    return [
        f"Against the same '{labels.get(ref, ref)}' arm, the hazard ratio of "
        + (", and of ".join(pieces) + ".")
    ]


def _findings(r: Results) -> list[str]:
    return [str(f) for f in (r.run.get("findings") or r.audit.get("findings") or [])]


def _diagnostics_sentence(r: Results) -> str:
    n = len(r.fits)
    failed = r.failed
    if not failed:
        return f"All {n} fits passed their convergence diagnostics."
    primary = (
        f"the primary fit {'also failed' if r.primary in failed else 'passed'}" if r.primary else ""
    )
    return (
        f"{len(failed)} of {n} fits failed their convergence diagnostics "
        f"({', '.join(failed)}; marked {plots.FAILED_MARK} throughout); {primary}."
    )
