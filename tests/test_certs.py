"""Certificates as facts: `describe_certificate`, name matching, helpers, the trust store.

Pure except for the PEM files written to `tmp_path` and the system CA bundle read by the
last test; a fixed `NOW` and explicit windows keep results off the wall clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from starttls_check.demo.loopback.pki import Issued, KeySpec, chain_pem, make_ca, make_leaf
from starttls_check.tls import trust_store
from starttls_check.tls.certs import (
    TrustStore,
    common_name,
    describe_certificate,
    has_aia_issuer_url,
    is_ca,
    issued_by,
    name_matches,
    subject_alt_names,
)
from tests.support.pki_openssl import make_sha1_leaf

MX = "mx.example.test"
NOW = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
CA_START = datetime(2020, 1, 1, tzinfo=UTC)
CA_END = datetime(2099, 1, 1, tzinfo=UTC)
_DER = serialization.Encoding.DER
_HEX64 = re.compile(r"[0-9a-f]{64}")
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def ca(cn: str, issuer: Issued | None = None) -> Issued:
    return make_ca(cn, issuer=issuer, not_before=CA_START, not_after=CA_END)


@pytest.fixture(scope="module")
def root() -> Issued:
    return ca("Test Root")


def der(issued: Issued) -> bytes:
    return issued.cert.public_bytes(_DER)


# --- name_matches ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dns_names", "cn", "expected"),
    [
        pytest.param(MX, [MX], None, True, id="exact"),
        pytest.param("MX.Example.Test", [MX], None, True, id="name-case"),
        pytest.param(MX, ["MX.EXAMPLE.TEST"], None, True, id="san-case"),
        pytest.param(MX + ".", [MX], None, True, id="name-trailing-dot"),
        pytest.param(MX, [MX + "."], None, True, id="san-trailing-dot"),
        pytest.param(MX, ["other.example.test", MX], None, True, id="any-san"),
        pytest.param(MX, ["other.example.test"], None, False, id="other"),
        pytest.param(MX, ["example.test"], None, False, id="parent"),
        pytest.param("example.test", [MX], None, False, id="child"),
        pytest.param(MX, ["*.example.test"], None, True, id="wildcard"),
        pytest.param("MX.EXAMPLE.TEST.", ["*.Example.Test"], None, True, id="wildcard-case-dot"),
        pytest.param("a.b.example.test", ["*.example.test"], None, False, id="wildcard-two"),
        pytest.param("example.test", ["*.example.test"], None, False, id="wildcard-zero"),
        pytest.param(".example.test", ["*.example.test"], None, False, id="wildcard-empty-label"),
        pytest.param(MX, ["*.*.test"], None, False, id="two-wildcards"),
        pytest.param(MX, [], MX, True, id="cn-fallback"),
        pytest.param(MX, [], "MX.example.test", True, id="cn-fallback-case"),
        pytest.param(MX, [], "*.example.test", True, id="cn-fallback-wildcard"),
        pytest.param(MX, ["other.example.test"], MX, False, id="cn-ignored-with-san"),
        pytest.param(MX, [], None, False, id="nothing"),
        pytest.param(MX, [], "", False, id="empty-cn"),
    ],
)
def test_name_matches(name: str, dns_names: list[str], cn: str | None, expected: bool) -> None:
    assert name_matches(name, dns_names, cn) is expected


# --- describe_certificate --------------------------------------------------------------


def test_describe_ec_leaf(root: Issued) -> None:
    not_before = NOW - timedelta(days=10)
    not_after = NOW + timedelta(days=89, hours=12)
    leaf = make_leaf(
        [MX, "mx2.example.test", "192.0.2.25", "2001:db8::25"],
        root,
        not_before=not_before,
        not_after=not_after,
    )
    info = describe_certificate(der(leaf), NOW)
    assert info.subject == f"CN={MX}"
    assert info.issuer == "CN=Test Root"
    assert info.san_dns == (MX, "mx2.example.test")
    assert info.san_ip == ("192.0.2.25", "2001:db8::25")
    assert info.not_before == not_before
    assert info.not_after == not_after
    assert info.days_left == 89
    assert info.key_type == "EC secp256r1"
    assert info.key_bits == 256
    assert info.signature_algorithm == "ecdsa-with-SHA256"
    assert info.signature_hash == "sha256"
    assert info.sha256_fingerprint == leaf.cert.fingerprint(hashes.SHA256()).hex()
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert info.spki_sha256 == hashlib.sha256(spki).hexdigest()
    assert _HEX64.fullmatch(info.spki_sha256)
    assert info.is_ca is False
    assert info.self_issued is False


@pytest.mark.parametrize(
    ("offset", "days_left"),
    [
        pytest.param(timedelta(days=89, hours=12), 89, id="89.5-days"),
        pytest.param(timedelta(hours=1), 0, id="one-hour"),
        # Towards zero: "expired 1 day ago" after 1.5 days, as a person would count.
        pytest.param(timedelta(hours=-1), 0, id="expired-one-hour-ago"),
        pytest.param(timedelta(days=-1, hours=-12), -1, id="expired-1.5-days-ago"),
    ],
)
def test_days_left_counts_whole_days(root: Issued, offset: timedelta, days_left: int) -> None:
    not_after = NOW + offset
    leaf = make_leaf([MX], root, not_before=not_after - timedelta(days=90), not_after=not_after)
    assert describe_certificate(der(leaf), NOW).days_left == days_left


def test_describe_rsa_leaf(root: Issued) -> None:
    leaf = make_leaf([MX], root, key="rsa2048", not_before=CA_START, not_after=CA_END)
    info = describe_certificate(der(leaf), NOW)
    assert (info.key_type, info.key_bits) == ("RSA", 2048)
    assert info.signature_hash == "sha256"  # signed by the EC root


def test_describe_rsa_root() -> None:
    rsa_root = make_ca("RSA Root", key="rsa2048", not_before=CA_START, not_after=CA_END)
    info = describe_certificate(der(rsa_root), NOW)
    assert (info.key_type, info.key_bits) == ("RSA", 2048)
    assert info.signature_algorithm == "sha256WithRSAEncryption"
    assert info.signature_hash == "sha256"
    assert info.is_ca is True
    assert info.self_issued is True
    assert info.san_dns == ()
    assert info.san_ip == ()


def test_describe_ec384_intermediate(root: Issued) -> None:
    inter = make_ca("Test Intermediate", issuer=root, key="ec384")
    info = describe_certificate(der(inter), NOW)
    assert (info.key_type, info.key_bits) == ("EC secp384r1", 384)
    assert info.is_ca is True
    assert info.self_issued is False
    assert info.issuer == "CN=Test Root"


def test_describe_self_signed_leaf() -> None:
    leaf = make_leaf([MX], None, not_before=CA_START, not_after=CA_END)
    info = describe_certificate(der(leaf), NOW)
    assert info.is_ca is False
    assert info.self_issued is True


def test_describe_sha1_leaf(root: Issued, tmp_path: Path) -> None:
    leaf = make_sha1_leaf([MX], root, tmp_path)
    info = describe_certificate(der(leaf), NOW)
    assert info.signature_hash == "sha1"
    assert info.signature_algorithm == "ecdsa-with-SHA1"


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not a certificate", id="text"),
        pytest.param(b"\x30\x03\x02\x01\x00", id="der-sequence"),
    ],
)
def test_describe_garbage(garbage: bytes) -> None:
    info = describe_certificate(garbage, NOW)
    assert info.subject.startswith("(unparseable certificate: ")
    assert info.issuer == ""
    assert (info.san_dns, info.san_ip) == ((), ())
    assert info.days_left == 0
    assert (info.key_type, info.key_bits) == ("unknown", 0)
    assert info.signature_hash is None
    assert info.sha256_fingerprint == hashlib.sha256(garbage).hexdigest()
    assert info.spki_sha256 == ""
    assert (info.is_ca, info.self_issued) == (False, False)


def test_describe_truncated_certificate(root: Issued) -> None:
    leaf = make_leaf([MX], root)
    assert describe_certificate(der(leaf)[:-10], NOW).subject.startswith("(unparseable")


# --- helpers ---------------------------------------------------------------------------


def test_leaf_helpers(root: Issued) -> None:
    leaf = make_leaf([MX, "192.0.2.25"], root, aia_ca_issuers_url="http://ca.example.test/r")
    assert subject_alt_names(leaf.cert) == ((MX,), ("192.0.2.25",))
    assert common_name(leaf.cert) == MX
    assert is_ca(leaf.cert) is False
    assert has_aia_issuer_url(leaf.cert) is True
    assert issued_by(leaf.cert, root.cert) is True
    assert issued_by(leaf.cert, leaf.cert) is False


def test_cn_only_leaf_helpers(root: Issued) -> None:
    leaf = make_leaf([], root, common_name=MX)
    assert subject_alt_names(leaf.cert) == ((), ())
    assert common_name(leaf.cert) == MX
    assert has_aia_issuer_url(leaf.cert) is False


def test_issued_by_checks_the_key_not_only_the_name(root: Issued) -> None:
    twin = ca("Test Root")
    leaf = make_leaf([MX], root)
    assert twin.cert.subject == root.cert.subject
    assert issued_by(leaf.cert, twin.cert) is False
    assert issued_by(root.cert, root.cert) is True


@pytest.mark.parametrize("ca_key", ["ec", "rsa2048"])
def test_issued_by_accepts_sha1(tmp_path: Path, ca_key: KeySpec) -> None:
    """cryptography's `verify_directly_issued_by` refuses SHA-1; the fallback verifies it."""
    signer = make_ca("SHA-1 Root", key=ca_key)
    leaf = make_sha1_leaf([MX], signer, tmp_path)
    with pytest.raises(ValueError, match="Unsupported signature algorithm"):
        leaf.cert.verify_directly_issued_by(signer.cert)
    assert issued_by(leaf.cert, signer.cert) is True
    impostor = make_ca("SHA-1 Root", key=ca_key)
    assert issued_by(leaf.cert, impostor.cert) is False


# --- TrustStore ------------------------------------------------------------------------


def test_trust_store_contains_and_issuers_of(root: Issued) -> None:
    twin = ca("Test Root")
    other = ca("Other Root")
    store = TrustStore([root.cert, twin.cert, root.cert])
    assert len(store) == 2  # the duplicate counts once
    assert store.contains(root.cert)
    assert store.contains(twin.cert)
    assert not store.contains(other.cert)
    leaf = make_leaf([MX], root)
    assert store.issuers_of(leaf.cert) == [root.cert, twin.cert, root.cert]
    assert store.issuers_of(make_leaf([MX], other).cert) == []
    assert store.issuers_of(root.cert) == [root.cert, twin.cert, root.cert]  # self-issued


def test_empty_trust_store(root: Issued) -> None:
    store = TrustStore([])
    assert len(store) == 0
    assert not store.contains(root.cert)
    assert store.issuers_of(root.cert) == []


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_load_trust_store_from_pem_file(root: Issued, tmp_path: Path) -> None:
    other = ca("Other Root")
    pem = _write(tmp_path / "anchors.pem", b"# comment\n" + chain_pem(root, other))
    store = trust_store.load_trust_store([pem], use_system=False)
    assert len(store) == 2
    assert store.contains(root.cert)
    assert store.contains(other.cert)


def test_load_trust_store_several_files(root: Issued, tmp_path: Path) -> None:
    other = ca("Other Root")
    files: Sequence[Path] = [
        _write(tmp_path / "one.pem", root.cert_pem),
        _write(tmp_path / "two.pem", other.cert_pem),
    ]
    store = trust_store.load_trust_store(files, use_system=False)
    assert len(store) == 2


def test_load_trust_store_without_anything() -> None:
    assert len(trust_store.load_trust_store([], use_system=False)) == 0


def test_missing_ca_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(trust_store.TrustStoreError, match=re.escape(str(missing))):
        trust_store.load_trust_store([missing], use_system=False)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"just some text\n", id="text"),
        pytest.param(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", id="key"),
    ],
)
def test_ca_file_without_certificates(tmp_path: Path, content: bytes) -> None:
    path = _write(tmp_path / "no-certs.pem", content)
    with pytest.raises(trust_store.TrustStoreError, match=re.escape(str(path))):
        trust_store.load_trust_store([path], use_system=False)


def test_ca_file_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(trust_store.TrustStoreError, match=re.escape(str(tmp_path))):
        trust_store.load_trust_store([tmp_path], use_system=False)


@pytest.mark.skipif(not SYSTEM_BUNDLE.is_file(), reason=f"no {SYSTEM_BUNDLE}")
def test_system_bundle(root: Issued, tmp_path: Path) -> None:
    system = trust_store.load_trust_store()
    assert len(system) > 10
    assert not system.contains(root.cert)
    pem = _write(tmp_path / "extra.pem", root.cert_pem)
    combined = trust_store.load_trust_store([pem])
    assert len(combined) == len(system) + 1
    assert combined.contains(root.cert)


def test_the_spki_read_from_the_der_is_what_cryptography_encodes() -> None:
    """Every anchor of the system bundle (RSA and EC keys of many sizes), as the served
    chains' `spki_sha256` is computed."""
    from starttls_check.tls.der import spki_der
    from starttls_check.tls.trust_store import load_pem_file, system_bundle_path

    bundle = system_bundle_path()
    if bundle is None:
        pytest.skip("no system CA bundle here")
    anchors = load_pem_file(bundle)
    for cert in anchors:
        expected = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert spki_der(cert.public_bytes(serialization.Encoding.DER)) == expected
    assert len(anchors) > 50
