"""What a finding code means: its default severity and short hint (`Rule`), and its long
form (`Explanation`). Data classes only, so that every module defining codes can import
them without importing the catalogues that collect the codes."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.findings import Finding, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    """What a finding code means by default."""

    severity: Severity
    hint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """The long form of one finding code."""

    what: str  # what the finding means, in terms of what the server did
    why: str  # what it does to delivery: opportunistic, MTA-STS and DANE senders
    fix: str  # concrete settings (Postfix main.cf/master.cf, Exim main section) or records
    verify: str  # commands that show the fix worked


def make_finding(
    code: str,
    rule: Rule,
    subject: str,
    message: str,
    *,
    evidence: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding for `code` with `rule`'s severity (unless overridden) and hint."""
    return Finding(
        code=code,
        severity=severity or rule.severity,
        subject=subject,
        message=message,
        hint=rule.hint,
        evidence=evidence,
    )
