"""DANE findings: what `policy.dane.match_chain` implies for one MX address (RFC 7672).
Pure; the matching itself is in policy/dane.py."""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.findings import Finding, Subject
from ..policy.dane import DaneResult, parse_tlsa_text


def findings(result: DaneResult, subject: Subject) -> tuple[Finding, ...]:
    """What `match_chain` implies for one MX address, one finding per code.

    Nothing when there are no records: whether their absence matters (`--require-dane`)
    is the caller's judgement, as is whether the records were DNSSEC-validated.
    """
    ignored = [r for r, why in result.unusable if _ignored_usage(r)]
    broken = [(r, why) for r, why in result.unusable if not _ignored_usage(r)]
    out: list[Finding] = []
    if ignored:
        message = f"{len(ignored)} TLSA record(s) with PKIX usages 0/1, which SMTP ignores"
        out.append(_finding("dane.usage-ignored", subject, message, "\n".join(ignored)))
    if broken:
        message = f"{len(broken)} TLSA record(s) unusable: {broken[0][1]}"
        evidence = "\n".join(f"{r}: {why}" for r, why in broken)
        out.append(_finding("dane.unusable-record", subject, message, evidence))
    if result.authenticated:
        out.append(_finding("dane.matched", subject, result.reason, None))
    elif result.usable:
        out.append(_finding("dane.no-match", subject, result.reason, "\n".join(result.usable)))
    return tuple(out)


def _ignored_usage(record_text: str) -> bool:
    record = parse_tlsa_text(record_text)
    return not isinstance(record, str) and record.usage in (0, 1)


def _finding(code: str, subject: Subject, message: str, evidence: str | None) -> Finding:
    return finding(code, subject, message, evidence=evidence)
