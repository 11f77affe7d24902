"""The audit of printed percentages and counts: ``percent_of``, ``proportion`` and ``count``.

``percent_of`` ("a/b (x%)") asks whether ``x`` follows from ``a/b`` by rounding, truncation,
both or neither; ``proportion`` which candidate denominators can print the percentage;
``count`` whether the events fit within the candidate denominators. Each gives one
:class:`~resurv.audit.AuditRow` of data (verdict, counts, details, and a ``reason`` code when
the figure cannot be checked); :mod:`resurv.audit.wording` words it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from resurv.audit.printing import check_percent_of, feasible_counts
from resurv.audit.result import AuditRow
from resurv.study.schema import CountFigure, PercentOfFigure, ProportionFigure, Study


def _audit_percent_of(f: PercentOfFigure, rules: Sequence[str]) -> AuditRow:
    if f.b < 1 or f.a < 0 or f.a > f.b:
        return AuditRow(
            f.id, "percent_of", "", "inconsistent", "", notable=True, reason="not_a_part"
        )
    if f.percent is None:
        return AuditRow(f.id, "percent_of", "", "consistent", "", reason="nothing_printed")
    holds = check_percent_of(f.a, f.b, f.percent)
    ok = any(holds[r] for r in rules)
    details = ({"a": f.a, "b": f.b, "exact": Fraction(f.a, f.b), **holds},)
    verdict = "consistent" if ok else "inconsistent"
    return AuditRow(f.id, "percent_of", "", verdict, "", details=details, notable=not ok)


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
    ns = _candidates(f, study)
    if not ns:
        return AuditRow(f.id, "proportion", "", "not audited", "", reason="no_candidates")
    fits = feasible_counts(f.percent, ns, "either" if len(rules) == 2 else rules[0])
    by_rule = {r: feasible_counts(f.percent, ns, r) for r in rules}
    details = tuple(
        {"n": n, "counts": fits[n], **{f"by_{r}": by_rule[r][n] for r in rules}} for n in ns
    )
    out = [n for n in ns if not fits[n]]
    verdict = "feasible" if len(out) < len(ns) else "impossible"
    n_fit = sum(len(v) for v in fits.values())
    return AuditRow(f.id, "proportion", "", verdict, "", n_fit, None, details, notable=bool(out))


def _audit_count(f: CountFigure, study: Study) -> AuditRow:
    ns = _candidates(f, study)
    if not ns:
        return AuditRow(f.id, "count", "", "not audited", "", reason="no_denominator")
    out = [n for n in ns if f.events > n or f.events < 0]
    details = tuple({"n": n, "possible": n not in out} for n in ns)
    verdict = "inconsistent" if len(out) == len(ns) else "consistent"
    return AuditRow(f.id, "count", "", verdict, "", details=details, notable=bool(out))
