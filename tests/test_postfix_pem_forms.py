"""Postfix's certificate files in the PEM forms Postfix accepts besides the usual ones:
certificates under the old `X509 CERTIFICATE` label, and what an encrypted private key
means. Real PEM files made with cryptography, read from disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from starttls_check.checks.postfix_settings import judge_postfix
from starttls_check.demo.loopback.pki import make_ca, make_leaf
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
CA = make_ca("CA1")
LEAF = make_leaf(["mx.example.com"], CA, key="rsa2048", common_name="mx")


def _old_label(pem: bytes) -> bytes:
    """PEM_STRING_X509_OLD: the label OpenSSL wrote before `CERTIFICATE`."""
    return pem.replace(b"BEGIN CERTIFICATE", b"BEGIN X509 CERTIFICATE").replace(
        b"END CERTIFICATE", b"END X509 CERTIFICATE"
    )


def _findings(directory: Path, lines: str) -> list[Finding]:
    saved = directory / "postconf-n.txt"
    saved.write_text(SETTINGS + lines)
    settings = read_files(read_settings(saved), TrustStore([]))
    return list(judge_postfix(settings, NOW).findings)


@pytest.mark.parametrize("setting", ["smtpd_tls_chain_files", "smtpd_tls_cert_file"])
def test_certificates_under_the_old_label(tmp_path: Path, setting: str) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(LEAF.key_pem + _old_label(LEAF.cert_pem) + CA.cert_pem)
    assert _findings(tmp_path, f"{setting} = {path}\n") == []
    saved = tmp_path / "postconf-n.txt"
    (facts,) = read_files(read_settings(saved), TrustStore([])).files
    assert facts.certificates == ("CN=mx", "CN=CA1")
