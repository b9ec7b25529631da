"""Throw-away certificates for the receive mode: each shows one flaw a verifying sender
must refuse (self-signed, an unknown CA, expired, a name that does not match).

Pure: no files, no sockets; only `cryptography`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from ..model.sending import CertificateKind

    PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

WRONG_NAME = "wrong-name.invalid"


def receiver_certificates(kind: CertificateKind, hostname: str) -> tuple[tuple[bytes, bytes], ...]:
    """An ECDSA and an RSA chain, each showing the flaw `kind` names, as real MX hosts
    serve both: a sender whose TLS 1.2 suites all need an RSA key (`ECDHE-RSA-*`,
    `AES256-GCM-SHA384`) must meet the flaw, not fail for want of a shared cipher."""
    return receiver_certificate(kind, hostname), receiver_certificate(kind, hostname, rsa=True)


def receiver_certificate(
    kind: CertificateKind, hostname: str, *, rsa: bool = False
) -> tuple[bytes, bytes]:
    """(chain PEM, key PEM) showing the flaw `kind` names: ECDSA P-256 keys, or RSA 2048."""
    from cryptography.hazmat.primitives import serialization

    from ..model.sending import CertificateKind

    now = datetime.now(UTC)
    leaf_key = _new_key(rsa=rsa)
    name, start, end = hostname, now - timedelta(days=1), now + timedelta(days=30)
    if kind is CertificateKind.EXPIRED:
        start, end = now - timedelta(days=90), now - timedelta(days=1)
    elif kind is CertificateKind.WRONG_NAME:
        name = WRONG_NAME
    if kind is CertificateKind.SELF_SIGNED:
        leaf = _certificate(name, leaf_key, leaf_key, name, start, end, ca=False)
        chain = [leaf]
    else:
        ca_key = _new_key(rsa=rsa)
        ca_name = "starttls-check receive mode CA (untrusted)"
        ca = _certificate(ca_name, ca_key, ca_key, ca_name, now - timedelta(days=100), end, ca=True)
        chain = [_certificate(name, leaf_key, ca_key, ca_name, start, end, ca=False), ca]
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain), key_pem


def _new_key(*, rsa: bool) -> PrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys

    if rsa:
        return rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    subject: str,
    key: PrivateKey,
    signer: PrivateKey,
    issuer: str,
    start: datetime,
    end: datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signer, hashes.SHA256())
