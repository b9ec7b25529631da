"""Postfix's certificate files in the PEM forms Postfix accepts besides the usual ones:
certificates under the old `X509 CERTIFICATE` label, and what an encrypted private key
means. Real PEM files made with cryptography, read from disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from starttls_check.demo.loopback.pki import make_ca, make_leaf
from starttls_check.policy.postfix_files import read_files
from starttls_check.policy.postfix_settings import read_settings
from starttls_check.tls.certs import TrustStore
from tests.support.postfix_files import postfix_findings

CA = make_ca("CA1")
LEAF = make_leaf(["mx.example.com"], CA, key="rsa2048", common_name="mx")


def _old_label(pem: bytes) -> bytes:
    """PEM_STRING_X509_OLD: the label OpenSSL wrote before `CERTIFICATE`."""
    return pem.replace(b"BEGIN CERTIFICATE", b"BEGIN X509 CERTIFICATE").replace(
        b"END CERTIFICATE", b"END X509 CERTIFICATE"
    )


@pytest.mark.parametrize("setting", ["smtpd_tls_chain_files", "smtpd_tls_cert_file"])
def test_certificates_under_the_old_label(tmp_path: Path, setting: str) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(LEAF.key_pem + _old_label(LEAF.cert_pem) + CA.cert_pem)
    assert postfix_findings(tmp_path, f"{setting} = {path}\n") == []
    saved = tmp_path / "postconf-n.txt"
    (facts,) = read_files(read_settings(saved), TrustStore([])).files
    assert facts.certificates == ("CN=mx", "CN=CA1")


def _encrypted(form: serialization.PrivateFormat) -> bytes:
    encryption = serialization.BestAvailableEncryption(b"secret")
    return LEAF.key.private_bytes(serialization.Encoding.PEM, form, encryption)


@pytest.mark.parametrize(
    ("form", "label"),
    [
        (serialization.PrivateFormat.PKCS8, b"-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        (serialization.PrivateFormat.TraditionalOpenSSL, b"Proc-Type: 4,ENCRYPTED"),
    ],
)
@pytest.mark.parametrize("setting", ["chain", "key"])
def test_an_encrypted_key_is_named_encrypted(
    tmp_path: Path, form: serialization.PrivateFormat, label: bytes, setting: str
) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(_encrypted(form))
    assert label in key.read_bytes()
    chain = tmp_path / "fullchain.pem"
    chain.write_bytes(LEAF.cert_pem + CA.cert_pem)
    lines = (
        f"smtpd_tls_chain_files = {key}, {chain}\n"
        if setting == "chain"
        else f"smtpd_tls_cert_file = {chain}\nsmtpd_tls_key_file = {key}\n"
    )
    (found,) = postfix_findings(tmp_path, lines)
    assert found.code == "postfix.key-encrypted"
    paths = f"{key}, {chain}" if setting == "chain" else f"{chain}, {key}"
    assert (
        found.message == f"{paths}: the private key is encrypted; Postfix has no passphrase for it"
    )
    assert "openssl pkey -in key.pem -out key.pem.new" in found.hint


def test_a_broken_key_still_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" + LEAF.cert_pem
    )
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {path}\n")
    assert found.code == "postfix.file-unreadable"
    assert found.message.endswith("the private key does not parse")
