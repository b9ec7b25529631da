"""Certificates OpenSSL serves but cryptography cannot read become findings, never crashes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from starttls_check.demo.loopback.pki import make_ca
from starttls_check.demo.loopback.smtp_server import server_tls_context, standard_session
from starttls_check.model.report import DomainReport
from starttls_check.model.session import CertProblem
from starttls_check.tls.certs import TrustStore, describe_certificate
from starttls_check.tls.chain_judgement import judge_chain
from starttls_check.tls.trust_store import load_trust_store

from .harness import mail_world, run

NOW = datetime.now(UTC)
PRIVATE_OID = "1.3.6.1.4.1.99999."
ENCODED_OID = bytes.fromhex("06092b06010401868d1f")  # DER of 1.3.6.1.4.1.99999. up to the last arc


def duplicate_extension_leaf() -> tuple[bytes, bytes]:
    """A leaf whose DER carries the same extension twice (DER and key PEM).

    cryptography refuses to build one, so two private extensions with OIDs of equal length
    are built and the second OID is then overwritten with the first.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.example.test")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
    )
    for oid in (PRIVATE_OID + "1", PRIVATE_OID + "2"):
        extension = x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), b"\x05\x00")
        builder = builder.add_extension(extension, critical=False)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    assert ENCODED_OID + b"\x02" in der
    broken = der.replace(ENCODED_OID + b"\x02", ENCODED_OID + b"\x01")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return broken, key_pem


def test_unreadable_certificate_is_a_finding_not_an_exception() -> None:
    der, _ = duplicate_extension_leaf()
    info = describe_certificate(der, NOW)
    assert info.subject.startswith("(unparseable certificate: DuplicateExtension")
    verdict = judge_chain((der,), "mx.example.test", TrustStore([]), NOW)
    assert verdict.problems == (CertProblem.UNPARSEABLE,)
    assert "DuplicateExtension" in verdict.detail


def test_server_presenting_it_gets_cert_unparseable_end_to_end() -> None:
    der, key_pem = duplicate_extension_leaf()
    body = base64.encodebytes(der)
    pem = b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
    script = partial(
        standard_session, hostname="mx.example.test", tls_context=server_tls_context(pem, key_pem)
    )
    zone = "example.test. IN MX 10 mx.example.test.\nmx.example.test. IN A 127.0.0.2\n"

    async def go() -> DomainReport:
        async with mail_world(zone, {"127.0.0.2": script}, ca=make_ca("test CA")) as world:
            return await world.check("example.test")

    report = run(go())
    codes = [f.code for f in report.all_findings()]
    assert codes == ["cert.unparseable"]  # and no expiry warning from a made-up date
    assert report.hosts[0].facts.tls is not None


def test_one_bad_block_in_a_ca_file_costs_only_itself(tmp_path: Path) -> None:
    first, second = make_ca("First CA"), make_ca("Second CA")
    broken = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(first.cert_pem + broken + second.cert_pem)
    store = load_trust_store([bundle], use_system=False)
    assert len(store) == 2
    assert store.contains(first.cert)
    assert store.contains(second.cert)
