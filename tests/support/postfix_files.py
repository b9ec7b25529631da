"""Postfix settings for tests that judge certificate files: a saved `postconf -n` whose
sending side is sound, so the findings are about the files alone."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starttls_check.checks.postfix_settings import judge_postfix
from starttls_check.model.findings import Finding
from starttls_check.policy.postfix_files import read_files
from starttls_check.policy.postfix_settings import read_settings
from starttls_check.tls.certs import TrustStore

NOW = datetime.now(UTC)
SETTINGS = (
    "smtp_tls_security_level = dane\n"
    "smtp_dns_support_level = dnssec\n"
    "smtp_tls_loglevel = 1\n"
    "smtpd_tls_security_level = may\n"
    "smtpd_tls_received_header = yes\n"
)


def postfix_findings(directory: Path, lines: str, trust: TrustStore | None = None) -> list[Finding]:
    """The findings for SETTINGS plus `lines`, saved in `directory` as postconf-n.txt."""
    saved = directory / "postconf-n.txt"
    saved.write_text(SETTINGS + lines)
    settings = read_files(read_settings(saved), trust or TrustStore([]))
    return list(judge_postfix(settings, NOW).findings)
