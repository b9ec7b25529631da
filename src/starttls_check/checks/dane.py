"""DANE findings: what `policy.dane.match_chain` implies for one MX address (RFC 7672).
Pure; the matching itself is in policy/dane.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.catalogue import finding
from ..model.findings import Finding, Subject

if TYPE_CHECKING:
    from ..policy.dane import DaneResult


def findings(
    result: DaneResult, subject: Subject, *, served_spki: str | None = None
) -> tuple[Finding, ...]:
    """What `match_chain` implies for one MX address, one finding per code.

    Nothing when there are no records: whether their absence matters (`--require-dane`)
    is the caller's judgement, as is whether the records were DNSSEC-validated.
    `served_spki` (the SHA-256 of the served leaf's SubjectPublicKeyInfo, hex) names the
    `3 1 1` record that would match, as posttls-finger shows the key's fingerprint.
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
        message = result.reason
        if served_spki:  # what posttls-finger shows beside the published records
            published = ", ".join(_clipped(r) for r in result.usable[:_LISTED])
            more = len(result.usable) - _LISTED
            published += f" and {more} more" if more > 0 else ""
            message += f" (published: {published}); the served key would match 3 1 1 {served_spki}"
        values = {"spki": served_spki} if served_spki else {}
        evidence = "\n".join(result.usable)
        out.append(finding("dane.no-match", subject, message, evidence=evidence, values=values))
    return tuple(out)


_LISTED = 4  # published records named in the message; the evidence holds them all
_CLIP = 80  # a `3 0 0` record holds a whole certificate: its start is enough to tell it


def _clipped(record_text: str) -> str:
    return record_text if len(record_text) <= _CLIP else record_text[: _CLIP - 1] + "…"


def _ignored_usage(record_text: str) -> bool:
    from ..policy.dane import parse_tlsa_text

    record = parse_tlsa_text(record_text)
    return not isinstance(record, str) and record.usage in (0, 1)


def _finding(code: str, subject: Subject, message: str, evidence: str | None) -> Finding:
    return finding(code, subject, message, evidence=evidence)
