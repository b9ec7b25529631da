"""Mail authentication findings: TLS-RPT (RFC 8460), SPF (RFC 7208) and DMARC (RFC 7489).
Pure; the records are parsed in policy/mail_auth.py, and each problem becomes a finding
with its catalogue severity, except where the context below decides otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from ..model.catalogue import finding
from ..model.findings import Finding, Severity
from ..policy.mail_auth import RecordProblem, lint_dmarc, lint_spf, lint_tls_rpt

_UNREPORTED = "; MTA-STS or DANE is in use, and its failures would go unreported"


def evaluate_tls_rpt(
    domain: str, txt: Sequence[str] | None, *, policy_in_use: bool
) -> list[Finding]:
    """Findings for the TXT records at `_smtp._tls.<domain>`. `policy_in_use` (MTA-STS or
    DANE published) makes a missing record a warning: failures then block delivery, and
    TLS-RPT reports are how the owner learns of them."""
    findings = _findings(domain, lint_tls_rpt(domain, txt))
    if not policy_in_use:
        return findings
    return [
        dataclasses.replace(f, severity=Severity.WARN, message=f.message + _UNREPORTED)
        if f.code == "tls-rpt.missing"
        else f
        for f in findings
    ]


def evaluate_spf(domain: str, txt: Sequence[str] | None) -> list[Finding]:
    """Findings for the TXT records at `<domain>` (RFC 7208)."""
    return _findings(domain, lint_spf(domain, txt))


def evaluate_dmarc(domain: str, txt: Sequence[str] | None) -> list[Finding]:
    """Findings for the TXT records at `_dmarc.<domain>` (RFC 7489)."""
    return _findings(domain, lint_dmarc(domain, txt))


def _findings(domain: str, problems: Iterable[RecordProblem]) -> list[Finding]:
    return [finding(p.code, domain, p.message, evidence=p.evidence) for p in problems]
