"""Postfix's server certificate files judged one key and chain at a time, as Postfix loads
them: several chain files, several groups in one file, blocks in the wrong order, weak
keys. Real PEM files made with cryptography, read from disk."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from starttls_check.checks.postfix_certificates import key_slot
from starttls_check.checks.postfix_settings import judge_postfix
from starttls_check.demo.loopback.pki import Issued, KeySpec, make_ca, make_leaf
from starttls_check.model.findings import Severity
from starttls_check.model.sending import PemObject
from starttls_check.policy.postfix_files import read_files
from starttls_check.policy.postfix_settings import postconf_path, read_settings
from starttls_check.tls.certs import TrustStore
from tests.support.postfix_files import NOW, SETTINGS, postfix_findings


def _pair(name: str, key: KeySpec) -> tuple[Issued, Issued]:
    ca = make_ca(name)
    return ca, make_leaf(["mx.example.com"], ca, key=key, common_name=f"mx {key}")


RSA_CA, RSA = _pair("CA1", "rsa2048")
EC_CA, EC = _pair("CA2", "ec")


def _write(directory: Path, name: str, *blocks: bytes) -> str:
    path = directory / name
    path.write_bytes(b"".join(blocks))
    return str(path)


def _codes(directory: Path, lines: str, trust: TrustStore | None = None) -> list[str]:
    return [f.code for f in postfix_findings(directory, lines, trust)]


def test_each_chain_file_is_its_own_chain(tmp_path: Path) -> None:
    rsa = _write(tmp_path, "rsa-chain.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    ec = _write(tmp_path, "ec-chain.pem", EC.key_pem, EC.cert_pem, EC_CA.cert_pem)
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(SETTINGS + f"smtpd_tls_chain_files = {rsa}, {ec}\n")
    settings = read_files(read_settings(saved), TrustStore([]))
    assert [(f.path, f.certificates, f.key_certificate) for f in settings.files] == [
        (rsa, ("CN=mx rsa2048", "CN=CA1"), 0),
        (ec, ("CN=mx ec", "CN=CA2"), 0),
    ]
    assert judge_postfix(settings, NOW).findings == ()


def test_one_file_with_an_rsa_and_an_ecdsa_group(tmp_path: Path) -> None:
    both = _write(
        tmp_path,
        "chains.pem",
        RSA.key_pem,
        RSA.cert_pem,
        RSA_CA.cert_pem,
        EC.key_pem,
        EC.cert_pem,
        EC_CA.cert_pem,
    )
    assert _codes(tmp_path, f"smtpd_tls_chain_files = {both}\n") == []
    # The ECDSA group's own fault is its own: its CA is missing and untrusted.
    both = _write(
        tmp_path, "chains.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem, EC.key_pem, EC.cert_pem
    )
    (incomplete,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {both}\n")
    assert incomplete.code == "postfix.chain-incomplete"
    assert "CN=mx ec" in incomplete.message


def test_a_key_file_then_a_chain_file_is_one_group(tmp_path: Path) -> None:
    key = _write(tmp_path, "key.pem", RSA.key_pem)
    chain = _write(tmp_path, "fullchain.pem", RSA.cert_pem, RSA_CA.cert_pem)
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(SETTINGS + f"smtpd_tls_chain_files = {key}, {chain}\n")
    (facts,) = read_files(read_settings(saved), TrustStore([])).files
    assert facts.path == f"{key}, {chain}"
    assert facts.objects == (PemObject.KEY, PemObject.CERTIFICATE, PemObject.CERTIFICATE)


@pytest.mark.parametrize(
    ("order", "layout"),
    [
        ("ca leaf key", "CN=CA1, CN=mx rsa2048, the private key"),
        ("leaf ca key", "CN=mx rsa2048, CN=CA1, the private key"),
        ("key ca leaf", "the private key, CN=CA1, CN=mx rsa2048"),
    ],
)
def test_blocks_in_the_wrong_order(tmp_path: Path, order: str, layout: str) -> None:
    blocks = {"key": RSA.key_pem, "leaf": RSA.cert_pem, "ca": RSA_CA.cert_pem}
    path = _write(tmp_path, "chain.pem", *(blocks[word] for word in order.split()))
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {path}\n")
    assert found.code == "postfix.chain-order"
    assert found.message == (
        f"{path} holds {layout}: Postfix needs the private key, then its certificate "
        "(CN=mx rsa2048), then the intermediates"
    )


def test_chain_file_named_before_its_key_file(tmp_path: Path) -> None:
    chain = _write(tmp_path, "fullchain.pem", RSA.cert_pem, RSA_CA.cert_pem)
    key = _write(tmp_path, "key.pem", RSA.key_pem)
    assert _codes(tmp_path, f"smtpd_tls_chain_files = {chain}, {key}\n") == ["postfix.chain-order"]


def test_wrong_order_in_one_file_of_two(tmp_path: Path) -> None:
    rsa = _write(tmp_path, "rsa.pem", RSA.cert_pem, RSA_CA.cert_pem, RSA.key_pem)
    ec = _write(tmp_path, "ec.pem", EC.key_pem, EC.cert_pem, EC_CA.cert_pem)
    found = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {rsa}, {ec}\n")
    assert [(f.code, f.message.split(" holds ")[0]) for f in found] == [
        ("postfix.chain-order", rsa)
    ]


def test_a_key_of_no_certificate_is_a_mismatch(tmp_path: Path) -> None:
    path = _write(tmp_path, "chain.pem", EC.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {path}\n")
    assert found.code == "postfix.key-mismatch"
    # In the wrong place as well, a key of none of the certificates is still a mismatch.
    path = _write(tmp_path, "chain.pem", RSA.cert_pem, RSA_CA.cert_pem, EC.key_pem)
    assert _codes(tmp_path, f"smtpd_tls_chain_files = {path}\n") == ["postfix.key-mismatch"]


def test_a_key_without_a_certificate(tmp_path: Path) -> None:
    key = _write(tmp_path, "key.pem", RSA.key_pem)
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {key}\n")
    assert found.code == "postfix.file-unreadable"
    assert found.message.endswith("the private key is not followed by its certificate")


def test_cert_file_must_start_with_the_server_certificate(tmp_path: Path) -> None:
    cert = _write(tmp_path, "cert.pem", RSA_CA.cert_pem, RSA.cert_pem)
    key = _write(tmp_path, "key.pem", RSA.key_pem)
    lines = f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
    (found,) = postfix_findings(tmp_path, lines)
    assert found.code == "postfix.chain-order"
    assert "the private key is for certificate 2 (CN=mx rsa2048)" in found.message
    # One file with the key anywhere (Postfix's "mixed" mode) is fine when the leaf is first.
    both = _write(tmp_path, "both.pem", RSA.cert_pem, RSA_CA.cert_pem, RSA.key_pem)
    assert _codes(tmp_path, f"smtpd_tls_cert_file = {both}\n") == []


@pytest.mark.parametrize("setting", ["chain", "cert"])
def test_a_1024_bit_rsa_server_key_is_weak(tmp_path: Path, setting: str) -> None:
    ca, weak = _pair("CA3", "rsa1024")
    path = _write(tmp_path, "weak.pem", weak.key_pem, weak.cert_pem, ca.cert_pem)
    name = "smtpd_tls_chain_files" if setting == "chain" else "smtpd_tls_cert_file"
    (found,) = postfix_findings(tmp_path, f"{name} = {path}\n")
    assert found.code == "postfix.cert-weak-key"
    assert found.message == f"{path}: CN=mx rsa1024 has a 1024-bit RSA key"
    assert "openssl genpkey" in found.hint


def test_strong_keys_are_not_weak(tmp_path: Path) -> None:
    ca, big = _pair("CA4", "rsa4096")
    path = _write(tmp_path, "big.pem", big.key_pem, big.cert_pem, ca.cert_pem)
    assert _codes(tmp_path, f"smtpd_tls_chain_files = {path}\n") == []


@pytest.mark.skipif(postconf_path() is None, reason="postconf is not installed")
def test_two_chain_files_through_the_real_postconf(tmp_path: Path) -> None:
    rsa = _write(tmp_path, "rsa-chain.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    ec = _write(tmp_path, "ec-chain.pem", EC.key_pem, EC.cert_pem, EC_CA.cert_pem)
    (tmp_path / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"certs = {tmp_path}\n"
        "smtpd_tls_security_level = may\n"
        "smtpd_tls_chain_files = $certs/rsa-chain.pem,\n    ${certs}/ec-chain.pem\n"
    )
    settings = read_files(read_settings(tmp_path), TrustStore([]))
    assert settings.source == "postconf"
    assert [f.path for f in settings.files] == [rsa, ec]
    codes = [f.code for f in judge_postfix(settings, NOW).findings]
    assert not [c for c in codes if c.startswith(("postfix.chain", "postfix.key"))]


def test_chain_files_override_the_legacy_certificate(tmp_path: Path) -> None:
    # Debian's leftover snakeoil next to chain files: self-signed, about to expire, and
    # never loaded by Postfix, so named as ignored rather than judged.
    snakeoil = make_leaf(["debian"], None, key="rsa2048", not_after=NOW + timedelta(days=3))
    legacy = _write(tmp_path, "ssl-cert-snakeoil.pem", snakeoil.cert_pem)
    legacy_key = _write(tmp_path, "ssl-cert-snakeoil.key", snakeoil.key_pem)
    chain = _write(tmp_path, "rsa-chain.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    lines = (
        f"smtpd_tls_chain_files = {chain}\n"
        f"smtpd_tls_cert_file = {legacy}\nsmtpd_tls_key_file = {legacy_key}\n"
    )
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(SETTINGS + lines)
    settings = read_files(read_settings(saved), TrustStore([]))
    assert [f.setting for f in settings.files] == ["smtpd_tls_chain_files"]
    (found,) = judge_postfix(settings, NOW).findings
    assert found.code == "postfix.legacy-cert-ignored"
    assert found.severity is Severity.INFO
    assert found.message == (
        "smtpd_tls_chain_files is set, so Postfix ignores "
        f"smtpd_tls_cert_file = {legacy}; smtpd_tls_key_file = {legacy_key}"
    )
    # The key file left at its default ($smtpd_tls_cert_file) is not named on its own.
    (found,) = postfix_findings(
        tmp_path, f"smtpd_tls_chain_files = {chain}\nsmtpd_tls_eccert_file = {legacy}\n"
    )
    assert found.message.endswith(f"ignores smtpd_tls_eccert_file = {legacy}")
    assert found.subject.host == "smtpd_tls_eccert_file"  # the setting that is set
    # Without chain files the legacy certificate is Postfix's, and judged.
    assert "postfix.cert-expiring" in _codes(
        tmp_path, f"smtpd_tls_cert_file = {legacy}\nsmtpd_tls_key_file = {legacy_key}\n"
    )


def test_two_chains_of_one_key_type_are_refused(tmp_path: Path) -> None:
    # A renewal that names the new RSA chain beside the old one: OpenSSL has one RSA slot.
    new_ca, new_rsa = _pair("CA5", "rsa2048")
    old = _write(tmp_path, "rsa.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    new = _write(tmp_path, "rsa-new.pem", new_rsa.key_pem, new_rsa.cert_pem, new_ca.cert_pem)
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {old}, {new}\n")
    assert found.code == "postfix.chain-same-key-type"
    assert found.severity is Severity.FAIL
    assert found.message == (
        f"smtpd_tls_chain_files holds 2 RSA chains, key 1 in {old} (CN=mx rsa2048) and "
        f"key 2 in {new} (CN=mx rsa2048): Postfix loads one chain per key type and refuses "
        "the second"
    )


def test_ec_keys_of_all_curves_share_one_slot(tmp_path: Path) -> None:
    ca384, ec384 = _pair("CA6", "ec384")
    both = _write(
        tmp_path,
        "ec.pem",
        EC.key_pem,
        EC.cert_pem,
        EC_CA.cert_pem,
        ec384.key_pem,
        ec384.cert_pem,
        ca384.cert_pem,
    )
    (found,) = postfix_findings(tmp_path, f"smtpd_tls_chain_files = {both}\n")
    assert found.code == "postfix.chain-same-key-type"
    assert f"2 ECDSA chains, key 1 in {both} (CN=mx ec) and key 2 in {both}" in found.message


@pytest.mark.parametrize(
    ("kind", "slot"),
    [
        ("RSA", "RSA"),
        ("RSA-PSS", "RSA-PSS"),
        ("DSA", "DSA"),
        ("EC secp256r1", "ECDSA"),
        ("EC secp384r1", "ECDSA"),
        ("Ed25519", "Ed25519"),
        ("Ed448", "Ed448"),
        ("unknown", None),
    ],
)
def test_key_slots(kind: str, slot: str | None) -> None:
    assert key_slot(kind) == slot


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_an_rsa_pss_chain_beside_an_rsa_chain(tmp_path: Path) -> None:
    # cryptography reads an RSA-PSS key as RSA; OpenSSL gives it a slot of its own.
    key, cert = tmp_path / "pss.key", tmp_path / "pss.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa-pss", "-pkeyopt"),
            *("rsa_keygen_bits:2048", "-nodes", "-subj", "/CN=mx pss", "-days", "30"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    pss = _write(tmp_path, "pss.pem", key.read_bytes(), cert.read_bytes())
    rsa = _write(tmp_path, "rsa.pem", RSA.key_pem, RSA.cert_pem, RSA_CA.cert_pem)
    saved = tmp_path / "postconf-n.txt"
    saved.write_text(SETTINGS + f"smtpd_tls_chain_files = {rsa}, {pss}\n")
    settings = read_files(read_settings(saved), TrustStore([]))
    assert [f.public_keys[0] for f in settings.files] == ["RSA", "RSA-PSS"]
    codes = [f.code for f in judge_postfix(settings, NOW).findings]
    assert codes == ["postfix.cert-self-signed"]
