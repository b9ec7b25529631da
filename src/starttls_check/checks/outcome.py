"""The verdict of a sending-side report: its worst finding, as for the domain reports."""

from __future__ import annotations

from collections.abc import Iterable

from ..model.findings import Finding, Severity, Verdict

_VERDICT = {Severity.INFO: Verdict.PASS, Severity.WARN: Verdict.WARN, Severity.FAIL: Verdict.FAIL}
_ORDER = (Verdict.PASS, Verdict.WARN, Verdict.INCONCLUSIVE, Verdict.FAIL)


def verdict_of(findings: Iterable[Finding], *, floor: Verdict = Verdict.PASS) -> Verdict:
    """The worst of `floor` and the findings that count (waived ones never do)."""
    worst = floor
    for finding in findings:
        if finding.waived:
            continue
        candidate = _VERDICT[finding.severity]
        if _ORDER.index(candidate) > _ORDER.index(worst):
            worst = candidate
    return worst


def worst_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The worst of several verdicts (PASS when there are none)."""
    return max(verdicts, key=_ORDER.index, default=Verdict.PASS)
