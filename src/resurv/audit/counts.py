"""The audit of printed percentages and counts: ``percent_of``, ``proportion`` and ``count``.

``percent_of`` ("a/b (x%)") asks whether ``x`` follows from ``a/b`` by rounding, truncation,
both or neither; ``proportion`` which candidate denominators can print the percentage;
``count`` whether the events fit within the candidate denominators. Each gives one
:class:`~resurv.audit.AuditRow`.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from resurv.audit.printing import RULES, check_percent_of, feasible_counts, format_percent
from resurv.audit.result import AuditRow
from resurv.audit.wording import (
    RULE_NAMES,
    _counts_text,
    _exact_percent,
    _join,
    _neighbours,
    _printed_text,
)
from resurv.study.schema import CountFigure, PercentOfFigure, ProportionFigure, Study


def _audit_percent_of(f: PercentOfFigure, rules: Sequence[str]) -> AuditRow:
    text = _printed_text(f)
    if f.b < 1 or f.a < 0 or f.a > f.b:
        words = f"{f.a}/{f.b} is not a part of a whole (need 0 <= a <= b, b >= 1)."
        return AuditRow(f.id, "percent_of", text, "inconsistent", words, notable=True)
    exact = _exact_percent(Fraction(f.a, f.b), (f.percent.decimals if f.percent else 1) + 2)
    if f.percent is None:
        words = f"{f.a}/{f.b} = {exact}%; no percentage is printed to check."
        return AuditRow(f.id, "percent_of", text, "consistent", words)
    holds = check_percent_of(f.a, f.b, f.percent)
    shown = {r: f"{format_percent(Fraction(f.a, f.b), f.percent.decimals, r)}%" for r in RULES}
    good = [r for r in RULES if holds[r]]
    head = f"{f.a}/{f.b} = {exact}%, printed {f.percent}%: "
    if len(good) == 2:
        words = head + "rounding and truncation both give it."
    elif good:
        other = "truncate" if good[0] == "round" else "round"
        words = (
            head
            + f"{RULE_NAMES[good[0]]} gives it; {RULE_NAMES[other]} would print {shown[other]}."
        )
    else:
        words = (
            head
            + f"neither rounding ({shown['round']}) nor truncation ({shown['truncate']}) gives it."
        )
    ok = any(holds[r] for r in rules)
    if good and not ok:
        words += f" The convention declared for it is {' or '.join(RULE_NAMES[r] for r in rules)}."
    details = ({"a": f.a, "b": f.b, "exact": Fraction(f.a, f.b), **holds},)
    verdict = "consistent" if ok else "inconsistent"
    return AuditRow(f.id, "percent_of", text, verdict, words, details=details, notable=not ok)


def _candidates(f, study: Study) -> tuple[int, ...]:
    if f.n:
        return tuple(f.n)
    if f.arm:
        try:
            return tuple(study.arm(f.arm).n)
        except KeyError:
            return ()
    return ()


def _audit_proportion(f: ProportionFigure, study: Study, rules: Sequence[str]) -> AuditRow:
    text = _printed_text(f)
    ns = _candidates(f, study)
    if not ns:
        reason = "no candidate denominator is given (set n, or tie the figure to an arm)."
        return AuditRow(f.id, "proportion", text, "not audited", reason)
    fits = feasible_counts(f.percent, ns, "either" if len(rules) == 2 else rules[0])
    by_rule = {r: feasible_counts(f.percent, ns, r) for r in rules}
    details = tuple(
        {"n": n, "counts": fits[n], **{f"by_{r}": by_rule[r][n] for r in rules}} for n in ns
    )
    out = [n for n in ns if not fits[n]]
    fit_text = _join([_counts_text(fits[n], n) for n in ns if fits[n]])
    why = "; ".join(_neighbours(f.percent, n, rules[0]) for n in out)
    if not out:
        words = f"{f.percent}% fits {fit_text}."
    elif len(out) < len(ns):
        words = f"{f.percent}% rules out n = {_join(map(str, out))} ({why}); it fits {fit_text}."
    else:
        words = f"{f.percent}% fits none of the candidate denominators ({why})."
    verdict = "feasible" if len(out) < len(ns) else "impossible"
    n_fit = sum(len(v) for v in fits.values())
    return AuditRow(
        f.id, "proportion", text, verdict, words, n_fit, None, details, notable=bool(out)
    )


def _audit_count(f: CountFigure, study: Study) -> AuditRow:
    text = _printed_text(f)
    ns = _candidates(f, study)
    if not ns:
        reason = "no denominator is given (set n, or tie the figure to an arm)."
        return AuditRow(f.id, "count", text, "not audited", reason)
    out = [n for n in ns if f.events > n or f.events < 0]
    details = tuple({"n": n, "possible": n not in out} for n in ns)
    if not out:
        words = f"A count of {f.events} among n = {_join(map(str, ns), 'or')} is possible."
    elif len(out) < len(ns):
        words = f"{f.events} events rule out n = {_join(map(str, out))}."
    else:
        words = f"{f.events} events cannot come from n = {_join(map(str, ns), 'or')}."
    verdict = "inconsistent" if len(out) == len(ns) else "consistent"
    return AuditRow(f.id, "count", text, verdict, words, details=details, notable=bool(out))
