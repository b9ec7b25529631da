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
