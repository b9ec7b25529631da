"""What issuing certificates allow, checked along a built path. Pure.

A chain can lead to a trusted root and still be one OpenSSL (and so Postfix and Exim)
rejects: an issuer whose key usage forbids signing certificates (OpenSSL error 20/32),
a path longer than an issuer's pathLenConstraint (25), a leaf name outside an issuer's
nameConstraints (47), or a leaf whose extendedKeyUsage does not allow TLS servers (26).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from .certs import CERT_PARSE_ERRORS, subject_alt_names

E = TypeVar("E", bound=x509.ExtensionType)


def constraint_violation(path: Sequence[x509.Certificate]) -> str | None:
    """Why the issuers on `path` (leaf first) do not allow it, or None."""
    leaf = path[0]
    names, _ = subject_alt_names(leaf)
    for depth, issuer in enumerate(path[1:], start=1):
        subject = issuer.subject.rfc4514_string()
        usage = _extension(issuer, x509.KeyUsage)
        if usage is not None and not usage.key_cert_sign:
            return f"{subject} may not sign certificates (keyUsage lacks keyCertSign)"
        limits = _extension(issuer, x509.BasicConstraints)
        below = depth - 1  # CA certificates between this issuer and the leaf
        if limits is not None and limits.path_length is not None and below > limits.path_length:
            return f"{subject} allows {limits.path_length} CA(s) below it; the path has {below}"
        constraints = _extension(issuer, x509.NameConstraints)
        if constraints is not None and (outside := _outside(names, constraints)):
            return f"{outside} is outside the names {subject} may certify (nameConstraints)"
    return None


def wrong_purpose(leaf: x509.Certificate) -> bool:
    """True when the leaf's extendedKeyUsage exists and allows no TLS server use."""
    usage = _extension(leaf, x509.ExtendedKeyUsage)
    if usage is None:
        return False
    allowed = {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    return not allowed & set(usage)


def _outside(names: Sequence[str], constraints: x509.NameConstraints) -> str | None:
    """The first DNS name the constraints do not permit (or explicitly exclude)."""
    permitted = [
        g.value for g in constraints.permitted_subtrees or () if isinstance(g, x509.DNSName)
    ]
    excluded = [g.value for g in constraints.excluded_subtrees or () if isinstance(g, x509.DNSName)]
    for name in names:
        if any(_within(name, base) for base in excluded):
            return name
        if permitted and not any(_within(name, base) for base in permitted):
            return name
    return None


def _within(name: str, base: str) -> bool:
    """RFC 5280 §4.2.1.10: the name itself, or any name below it (a leading dot: below only)."""
    name, base = name.lower().rstrip("."), base.lower().rstrip(".")
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _extension(cert: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, *CERT_PARSE_ERRORS):
        return None
