"""Judge a served chain offline: trust, name, validity window, key and signature strength.

Pure: the chain, the MX name, the trust store and the time are all passed in. See certs.py
for why the path is built here rather than by a web-PKI verifier.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from ..model.session import CertProblem, TrustVerdict
from .certs import (
    CERT_PARSE_ERRORS,
    MAX_CHAIN,
    MIN_EC_BITS,
    MIN_RSA_BITS,
    TrustStore,
    common_name,
    has_aia_issuer_url,
    is_ca,
    issued_by,
    name_matches,
    parse_certificate,
    signature_hash_name,
    subject_alt_names,
)
from .chain_constraints import constraint_violation, wrong_purpose

_WEAK_HASHES = {"sha1", "md5"}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Path:
    certs: tuple[x509.Certificate, ...]  # leaf first; the anchor last when trusted
    problem: CertProblem | None  # why no trust anchor was reached
    detail: str


def judge_chain(
    chain_der: tuple[bytes, ...], name: str, store: TrustStore, now: datetime
) -> TrustVerdict:
    """Every reason a sender that authenticates would reject this chain for `name`."""
    if not chain_der:
        return _no_verdict(CertProblem.NO_CERTIFICATE, name, "the server presented no certificate")
    certs = _parse(chain_der[:MAX_CHAIN])
    if isinstance(certs, str):
        detail = f"the certificate cannot be read: {certs}"
        return _no_verdict(CertProblem.UNPARSEABLE, name, detail)
    leaf = certs[0]
    path = build_path(leaf, certs[1:], store)
    problems: list[CertProblem] = [path.problem] if path.problem else []
    detail = path.detail
    if violation := constraint_violation(path.certs):
        problems.append(CertProblem.CONSTRAINT_VIOLATION)
        detail = f"{detail}; {violation}"
    if wrong_purpose(leaf):
        problems.append(CertProblem.WRONG_PURPOSE)
    # Every certificate the server is responsible for must be in its window (OpenSSL 10/9
    # at any depth); trust anchors are the relying party's business.
    served_path = [c for c in path.certs if not store.contains(c)] or [leaf]
    if any(now > c.not_valid_after_utc for c in served_path):
        problems.append(CertProblem.EXPIRED)
    if any(now < c.not_valid_before_utc for c in served_path):
        problems.append(CertProblem.NOT_YET_VALID)
    if not _names_match(leaf, name):
        problems.append(CertProblem.NAME_MISMATCH)
    if any(_weak_key(c) for c in served_path):
        problems.append(CertProblem.WEAK_KEY)
    if any(signature_hash_name(c) in _WEAK_HASHES for c in served_path if c.subject != c.issuer):
        problems.append(CertProblem.SHA1_SIGNATURE)
    trusted_path = path.certs if path.problem is None else ()
    return TrustVerdict(
        problems=tuple(problems),
        trusted_path=tuple(c.subject.rfc4514_string() for c in trusted_path),
        checked_name=name,
        detail=detail,
    )


def _names_match(leaf: x509.Certificate, name: str) -> bool:
    """A host name against DNS names (or the CN); an address only against IP SANs."""
    dns_names, ip_names = subject_alt_names(leaf)
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return name_matches(name, dns_names, common_name(leaf))
    return any(ipaddress.ip_address(ip) == address for ip in ip_names)


def _no_verdict(problem: CertProblem, name: str, detail: str) -> TrustVerdict:
    return TrustVerdict(problems=(problem,), trusted_path=(), checked_name=name, detail=detail)


def _parse(chain_der: tuple[bytes, ...]) -> list[x509.Certificate] | str:
    """The served certificates up to the first unreadable one; if the leaf itself cannot be
    read, why not."""
    certs: list[x509.Certificate] = []
    for der in chain_der:
        cert = parse_certificate(der)
        if isinstance(cert, str):
            if not certs:
                return cert
            break  # judge what came before; an unreadable link breaks the chain anyway
        certs.append(cert)
    return certs


def build_path(leaf: x509.Certificate, served: list[x509.Certificate], store: TrustStore) -> _Path:
    """Walk from the leaf to a trust anchor through the served certificates."""
    path = [leaf]
    current = leaf
    for _ in range(MAX_CHAIN):
        if store.contains(current):  # e.g. a pinned self-signed leaf in --ca-file
            return _Path(certs=tuple(path), problem=None, detail="ends at a trusted certificate")
        anchor = next((a for a in store.issuers_of(current) if issued_by(current, a)), None)
        if anchor is not None:
            path.append(anchor)
            return _Path(certs=tuple(path), problem=None, detail="chains to a trusted root")
        issuer = next((c for c in served if c not in path and issued_by(current, c)), None)
        if issuer is None:
            return _dead_end(path, current, served, store)
        if not is_ca(issuer):
            detail = f"{issuer.subject.rfc4514_string()} is not a CA certificate"
            return _Path(certs=tuple(path), problem=CertProblem.UNTRUSTED, detail=detail)
        path.append(issuer)
        current = issuer
    return _Path(certs=tuple(path), problem=CertProblem.UNTRUSTED, detail="chain too long")


def _dead_end(
    path: list[x509.Certificate],
    top: x509.Certificate,
    served: list[x509.Certificate],
    store: TrustStore,
) -> _Path:
    """No issuer for `top`: say which of OpenSSL's cases this is."""
    subject = top.subject.rfc4514_string()
    if top.subject == top.issuer and issued_by(top, top):
        if len(path) == 1:  # OpenSSL 18
            detail = "the certificate is self-signed and not in the trust store"
            return _Path(certs=tuple(path), problem=CertProblem.SELF_SIGNED, detail=detail)
        detail = f"the chain ends at {subject}, a root that is not trusted"  # OpenSSL 19
        return _Path(certs=tuple(path), problem=CertProblem.UNTRUSTED, detail=detail)
    issuer = top.issuer.rfc4514_string()
    named_issuer_known = any(c.subject == top.issuer for c in served) or store.issuers_of(top)
    if named_issuer_known or top.subject == top.issuer:
        detail = f"the signature on {subject} does not verify"
        return _Path(certs=tuple(path), problem=CertProblem.BAD_SIGNATURE, detail=detail)
    # OpenSSL's words, which admins search for: 21 when the leaf alone was sent, 20 when the
    # chain stops at an intermediate whose issuer is neither sent nor trusted.
    openssl = (
        'OpenSSL: "unable to verify the first certificate" (verify error 21)'
        if len(path) == 1
        else 'OpenSSL: "unable to get local issuer certificate" (verify error 20)'
    )
    if has_aia_issuer_url(top):  # a public-style CA: the server left out an intermediate
        detail = (
            f"the server does not send the intermediate certificate that issued {subject} "
            f"({issuer}); {openssl}"
        )
        return _Path(certs=tuple(path), problem=CertProblem.INCOMPLETE_CHAIN, detail=detail)
    detail = f"issued by {issuer}, which is not a trusted CA (and was not sent); {openssl}"
    return _Path(certs=tuple(path), problem=CertProblem.UNTRUSTED, detail=detail)


def _weak_key(cert: x509.Certificate) -> bool:
    try:
        key = cert.public_key()
    except CERT_PARSE_ERRORS:
        return True  # a key this library cannot even read is no key to rely on
    if isinstance(key, rsa.RSAPublicKey | dsa.DSAPublicKey):
        return key.key_size < MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.key_size < MIN_EC_BITS
    return False
