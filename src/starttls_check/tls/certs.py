"""Certificates as facts, and the offline judgement of a served chain.

The chain is captured in the one handshake and judged here, so an MX is contacted once
whatever state its certificate is in. Each property is computed on its own, so an expired
*and* misnamed certificate yields both problems. The semantics follow OpenSSL's verify
codes, which Postfix and Exim apply: 18 self-signed leaf, 19 untrusted root served,
20/21 issuer neither served nor trusted, 10/9 expired or not yet valid, 62 name mismatch.

The path is built by name and signature (and the basic-constraints CA flag) rather than by
a web-PKI verifier: browsers' rules (mandatory EKU, non-critical SAN, validity at one
instant) reject chains that mail servers legitimately serve and that MTAs accept, and they
report one reason where a mail administrator needs every one.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID

from ..model.session import CertificateInfo
from .der import spki_der

MIN_RSA_BITS = 2048
MIN_EC_BITS = 224
MAX_CHAIN = 10  # longer served chains are judged on their first ten certificates
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TrustStore:
    """Trust anchors indexed by subject, so issuers are found without a scan.

    Keyed by `x509.Name`, whose equality ignores the string encoding of each attribute
    (PrintableString or UTF8String), as OpenSSL's issuer lookup does; raw DER would miss
    an issuer whose name was merely encoded differently.
    """

    def __init__(self, anchors: Iterable[x509.Certificate]) -> None:
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        self._anchors: set[x509.Certificate] = set()
        for cert in anchors:
            self._by_subject.setdefault(cert.subject, []).append(cert)
            self._anchors.add(cert)

    def __len__(self) -> int:
        return len(self._anchors)

    def contains(self, cert: x509.Certificate) -> bool:
        return cert in self._anchors

    def issuers_of(self, cert: x509.Certificate) -> list[x509.Certificate]:
        return self._by_subject.get(cert.issuer, [])


# What cryptography raises for certificates it cannot read; several are not ValueErrors,
# and parts of a certificate are only parsed when first used.
CERT_PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.InvalidVersion,
)


# Certificates repeat: a provider's MX hosts serve one chain to every domain of a bulk run.
@lru_cache(maxsize=512)
def parse_certificate(der: bytes) -> x509.Certificate | str:
    """A certificate whose every part we read has been parsed once, or why it cannot be.

    OpenSSL completes the handshake with certificates cryptography cannot read (duplicate
    extensions, odd string types): those must become a finding, never an exception.
    """
    try:
        cert = load_der(der)
        _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc)
        _ = list(cert.extensions)  # the key and signature algorithm may be exotic: judged later
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
    except CERT_PARSE_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return cert


def describe_certificate(der: bytes, now: datetime) -> CertificateInfo:
    """Everything a person wants to read about one certificate; never raises on bad input."""
    cert = parse_certificate(der)
    if isinstance(cert, str):
        return _unparseable(der, cert)
    return _describe(cert, der, now)


def load_der(der: bytes) -> x509.Certificate:
    """Parse a served certificate; cryptography's warnings about sloppy encodings are noise
    here, because judging such certificates is the point."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(der)


_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"


def pem_blocks(data: bytes) -> list[bytes]:
    """Each BEGIN ... END CERTIFICATE block, in order (found with `bytes.find`: a lazy
    regular expression over a 200 kB system bundle costs some 3 ms)."""
    blocks = []
    start = data.find(_PEM_BEGIN)
    while start >= 0:
        end = data.find(_PEM_END, start + len(_PEM_BEGIN) + 1)
        if end < 0:
            break
        blocks.append(data[start : end + len(_PEM_END)])
        start = data.find(_PEM_BEGIN, end + len(_PEM_END))
    return blocks


def load_pem(data: bytes) -> tuple[list[x509.Certificate], int]:
    """PEM certificates one block at a time, as quietly as `load_der`: the certificates
    that parse, and how many blocks did not (one bad block must not cost all the rest)."""
    certs: list[x509.Certificate] = []
    bad = 0
    with warnings.catch_warnings():  # once, not per block: entering it costs ~15 us
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in pem_blocks(data):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except CERT_PARSE_ERRORS:
                bad += 1
    return certs, bad


def _describe(cert: x509.Certificate, der: bytes, now: datetime) -> CertificateInfo:
    key_type, key_bits = key_description(cert)
    dns_names, ip_names = subject_alt_names(cert)
    hash_algorithm = signature_hash_name(cert)
    spki = spki_der(der)
    if spki is None:  # not for DER that cryptography parsed; kept exact should it happen
        spki = _encoded_spki(cert)
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        san_dns=dns_names,
        san_ip=ip_names,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        # Whole days, towards zero: 30.5 days past the end is "expired 30 days ago".
        days_left=math.trunc((cert.not_valid_after_utc - now).total_seconds() / 86400),
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=getattr(cert.signature_algorithm_oid, "_name", "unknown"),
        signature_hash=hash_algorithm,
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        spki_sha256=hashlib.sha256(spki).hexdigest(),
        is_ca=is_ca(cert),
        self_issued=cert.subject == cert.issuer,
    )


def _encoded_spki(cert: x509.Certificate) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _unparseable(der: bytes, reason: str) -> CertificateInfo:
    return CertificateInfo(
        subject=f"(unparseable certificate: {reason[:120]})",
        issuer="",
        san_dns=(),
        san_ip=(),
        not_before=_EPOCH,
        not_after=_EPOCH,
        days_left=0,
        key_type="unknown",
        key_bits=0,
        signature_algorithm="unknown",
        signature_hash=None,
        sha256_fingerprint=hashlib.sha256(der).hexdigest(),
        spki_sha256="",
        is_ca=False,
        self_issued=False,
    )


def key_description(cert: x509.Certificate) -> tuple[str, int]:
    try:
        key = cert.public_key()
    except CERT_PARSE_ERRORS:
        return "unknown", 0
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def subject_alt_names(cert: x509.Certificate) -> tuple[tuple[str, ...], tuple[str, ...]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, *CERT_PARSE_ERRORS):
        return (), ()
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return tuple(san.get_values_for_type(x509.DNSName)), ips


def signature_hash_name(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except CERT_PARSE_ERRORS:
        return "unknown"
    return algorithm.name if algorithm is not None else None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, *CERT_PARSE_ERRORS):
        return False


def name_matches(name: str, dns_names: Sequence[str], cn: str | None) -> bool:
    """RFC 6125 matching: SAN dNSName only when present, else the CN; `*` is one whole label."""
    candidates = dns_names if dns_names else ([cn] if cn else [])
    wanted = name.rstrip(".").lower()
    return any(_matches_one(wanted, c.rstrip(".").lower()) for c in candidates)


def _matches_one(wanted: str, pattern: str) -> bool:
    if not pattern.startswith("*."):
        return wanted == pattern
    head, _, rest = wanted.partition(".")
    # As OpenSSL: the wildcard needs two labels after it, so `*.com` certifies nothing.
    return bool(head) and rest == pattern[2:] and "*" not in rest and "." in rest


def common_name(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else None
    return value if isinstance(value, str) else None


@lru_cache(maxsize=512)
def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except ValueError:
        # cryptography refuses SHA-1 signatures here; they still exist on mail servers and
        # deserve their own finding (weak signature), not a broken chain.
        return _verify_legacy_signature(cert, issuer)
    except (TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _verify_legacy_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        algorithm = cert.signature_hash_algorithm
        key = issuer.public_key()
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algorithm))
        else:
            return False
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def has_aia_issuer_url(cert: x509.Certificate) -> bool:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, *CERT_PARSE_ERRORS):
        return False
    assert isinstance(aia.value, x509.AuthorityInformationAccess)
    return any(d.access_method == AuthorityInformationAccessOID.CA_ISSUERS for d in aia.value)
