"""The domain owner's policy applied to findings: thresholds, escalation, waivers. Pure.

The default `Policy()` is the tool's default judgement, so this runs on every check; a
CI gate tightens it (`--min-tls`, `--require-valid-cert`, `--cert-expiry-days`) or waives
what is known and accepted (`--allow CODE[@HOST]`). Waived findings stay in the report,
marked, and never count towards a verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..model.findings import Finding, Policy, Severity
from ..model.session import TLS_VERSIONS, CertificateInfo, TrustVerdict
from .hints import finding

TLS_ORDER = {version: rank for rank, version in enumerate(TLS_VERSIONS)}
_MINIMUM = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
# Certificate problems that --require-valid-cert turns into failures. Expiring soon is not
# a problem yet: it stays a warning.
_CERTIFICATE_PROBLEMS = frozenset(
    {
        "cert.none",
        "cert.unparseable",
        "cert.self-signed",
        "cert.untrusted",
        "cert.incomplete-chain",
        "cert.bad-signature",
        "cert.constraint-violation",
        "cert.wrong-purpose",
        "cert.expired",
        "cert.not-yet-valid",
        "cert.name-mismatch",
        "cert.weak-key",
        "cert.sha1-signature",
    }
)


def tls_minimum_findings(subject: str, version: str | None, policy: Policy) -> list[Finding]:
    """`tls.below-minimum` when a version was negotiated below `--min-tls`."""
    if version is None or policy.min_tls is None:
        return []
    wanted = _MINIMUM[policy.min_tls]
    if TLS_ORDER.get(version, -1) >= TLS_ORDER[wanted]:
        return []
    message = f"negotiated {version}, below the policy's minimum {wanted}"
    return [finding("tls.below-minimum", subject, message)]


def expiry_findings(
    subject: str, chain: tuple[CertificateInfo, ...], trust: TrustVerdict, policy: Policy
) -> list[Finding]:
    """`cert.expiring-soon` for a leaf still valid but within `cert_expiry_days` of its end."""
    unknowable = ("expired", "not-yet-valid", "no-certificate", "unparseable")
    if not chain or any(p.value in unknowable for p in trust.problems):
        return []
    leaf = chain[0]
    if leaf.days_left >= policy.cert_expiry_days:
        return []
    message = (
        f"certificate expires on {leaf.not_after:%Y-%m-%d %H:%M} UTC, in {leaf.days_left} days"
        f" (policy: warn within {policy.cert_expiry_days} days)"
    )
    return [finding("cert.expiring-soon", subject, message)]


def apply_policy(findings: Iterable[Finding], policy: Policy) -> tuple[Finding, ...]:
    """Escalate certificate problems if required, then mark waived findings."""
    result = []
    for f in findings:
        if policy.require_valid_cert and f.code in _CERTIFICATE_PROBLEMS:
            f = dataclasses.replace(f, severity=Severity.FAIL)
        if any(w.covers(f) for w in policy.allow):
            f = dataclasses.replace(f, waived=True)
        result.append(f)
    return tuple(result)
