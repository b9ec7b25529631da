"""A small certificate factory for the offline demo and the tests.

It makes every certificate situation a mail server can present: roots, intermediates,
leaves signed by either or by themselves, windows in the past or the future, weak RSA
keys, a critical SAN, an AIA caIssuers pointer, no serverAuth EKU. SHA-1 signatures
(tests only) live in tests/support/pki_openssl.py, because cryptography refuses to sign
with SHA-1.

Pure: no files, no sockets. Only `cryptography`, so the demo needs no test extras.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypeAlias, assert_never

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

__all__ = [
    "Issued",
    "KeySpec",
    "PrivateKey",
    "chain_pem",
    "make_ca",
    "make_leaf",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""The key types the factory makes (and the only ones a mail server plausibly uses)."""

KeySpec = Literal["ec", "ec384", "rsa1024", "rsa2048", "rsa4096"]
"""Which key to generate: EC P-256 (fast, the default), EC P-384, or RSA of a size."""

_DAY = timedelta(days=1)
_LEAF_LIFETIME = timedelta(days=90)
_CA_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True, slots=True, kw_only=True)
class Issued:
    """A certificate together with its private key."""

    cert: x509.Certificate
    """The certificate."""
    key: PrivateKey
    """The private key matching `cert`'s public key."""

    @property
    def cert_pem(self) -> bytes:
        """The certificate, PEM encoded."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The private key, PEM encoded PKCS#8, unencrypted (what `ssl` loads)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def chain_pem(*certs: Issued) -> bytes:
    """Concatenate the certificates' PEM in the order given (leaf first, as TLS sends)."""
    return b"".join(issued.cert_pem for issued in certs)


def make_ca(
    common_name: str,
    *,
    issuer: Issued | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: KeySpec = "ec",
) -> Issued:
    """Make a self-signed root when `issuer` is None, else an intermediate under `issuer`.

    Defaults to valid from a day ago for ten years.
    """
    # A CA key signs, so it is always fresh: a shared key would let a "foreign" CA
    # verify another CA's leaves and silently defeat wrong-CA tests.
    private_key = _generate(key, shared=False)
    start, end = _window(not_before, not_after, lifetime=_CA_LIFETIME)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _base(subject, issuer, private_key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=False, key_cert_sign=True), critical=True)
    )
    return _sign(builder, private_key, issuer)


def make_leaf(
    names: Sequence[str],
    issuer: Issued | None,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: KeySpec = "ec",
    critical_san: bool = False,
    aia_ca_issuers_url: str | None = None,
    common_name: str | None = None,
    include_server_auth_eku: bool = True,
) -> Issued:
    """Make a server certificate for `names`, signed by `issuer` or by itself if None.

    `names` become the SAN: DNS names, or IPAddress entries for IP literals; an empty
    `names` omits the SAN (a CN-only certificate). The subject CN is `common_name`,
    else the first name. Defaults to valid from a day ago for 90 days.
    """
    cn = common_name if common_name is not None else (names[0] if names else None)
    if cn is None:
        raise ValueError("a leaf needs names or a common_name")
    # Self-signed leaves sign (themselves), so they get a fresh key like a CA does.
    private_key = _generate(key, shared=issuer is not None)
    start, end = _window(not_before, not_after, lifetime=_LEAF_LIFETIME)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        _base(subject, issuer, private_key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # keyEncipherment only for RSA: TLS 1.2 RSA key exchange encrypts with it.
            _key_usage(
                digital_signature=True, key_encipherment=isinstance(private_key, rsa.RSAPrivateKey)
            ),
            critical=True,
        )
    )
    if names:
        san = x509.SubjectAlternativeName([_general_name(name) for name in names])
        builder = builder.add_extension(san, critical=critical_san)
    if include_server_auth_eku:
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
        builder = builder.add_extension(eku, critical=False)
    if aia_ca_issuers_url is not None:
        builder = builder.add_extension(_aia(aia_ca_issuers_url), critical=False)
    return _sign(builder, private_key, issuer)


def _base(
    subject: x509.Name,
    issuer: Issued | None,
    private_key: PrivateKey,
    start: datetime,
    end: datetime,
) -> x509.CertificateBuilder:
    """Fields and key identifiers every certificate here shares."""
    signer_public = (issuer.key if issuer else private_key).public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False
        )
    )


def _sign(builder: x509.CertificateBuilder, own: PrivateKey, issuer: Issued | None) -> Issued:
    signer = issuer.key if issuer else own
    return Issued(cert=builder.sign(signer, hashes.SHA256()), key=own)


def _key_usage(
    *, digital_signature: bool, key_encipherment: bool = False, key_cert_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _aia(ca_issuers_url: str) -> x509.AuthorityInformationAccess:
    """A caIssuers pointer (RFC 5280 §4.2.2.1), where a client may fetch a missing issuer."""
    location = x509.UniformResourceIdentifier(ca_issuers_url)
    return x509.AuthorityInformationAccess(
        [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, location)]
    )


def _general_name(name: str) -> x509.GeneralName:
    """An IP literal becomes an IPAddress entry (RFC 5280 §4.2.1.6), anything else a DNS name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _window(
    not_before: datetime | None, not_after: datetime | None, *, lifetime: timedelta
) -> tuple[datetime, datetime]:
    """Fill in a missing bound so that the window stays ordered.

    An explicit past `not_after` (expired) moves the default start back before it, and an
    explicit future `not_before` (not yet valid) moves the default end after it.
    """
    now = datetime.now(UTC)
    start = _utc(not_before) if not_before is not None else None
    end = _utc(not_after) if not_after is not None else None
    if start is None:
        start = now - _DAY if end is None or end > now else end - lifetime
    if end is None:
        end = max(now, start) + lifetime
    if end < start:
        raise ValueError(f"not_after {end} is before not_before {start}")
    return start, end


def _utc(moment: datetime) -> datetime:
    # A naive datetime is ambiguous: refuse it rather than guess the local zone.
    if moment.tzinfo is None:
        raise ValueError(f"datetime must be timezone-aware: {moment!r}")
    return moment.astimezone(UTC)


def _generate(spec: KeySpec, *, shared: bool) -> PrivateKey:
    match spec:
        case "ec":
            return ec.generate_private_key(ec.SECP256R1())
        case "ec384":
            return ec.generate_private_key(ec.SECP384R1())
        case "rsa1024" | "rsa2048" | "rsa4096":
            bits = int(spec.removeprefix("rsa"))
            return _shared_rsa(bits) if shared else _fresh_rsa(bits)
        case _:
            assert_never(spec)


def _fresh_rsa(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


# RSA generation is slow (2048 bits: ~40 ms, 4096: up to seconds, and it varies a lot),
# and a test suite asks for many RSA leaves. A leaf that a CA signs never signs anything
# itself, so leaves of one size may share a key without one certificate vouching for
# another; hence a per-process cache for those keys only.
@functools.cache
def _shared_rsa(bits: int) -> rsa.RSAPrivateKey:
    return _fresh_rsa(bits)
