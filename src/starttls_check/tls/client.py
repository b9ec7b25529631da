"""The client TLS context and what we read off a finished handshake.

The context gathers facts and verifies nothing: an opportunistic sender encrypts whatever
certificate it is shown, and we judge the chain offline afterwards (certs.py), so one
connection serves whatever state the certificate is in. It offers what a typical sender
does, down to TLS 1.0 with legacy ciphers, so a legacy-only server is measured, not failed.
"""

from __future__ import annotations

import ssl
import warnings
from functools import cache

_ENCODING_DER = 2  # _ssl.ENCODING_DER, for _ssl.Certificate.public_bytes


@cache
def fact_gathering_context() -> ssl.SSLContext:
    """A client context that accepts any chain and any protocol version from TLS 1.0."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # Setting TLSv1 is deprecated in Python and raises a DeprecationWarning; we mean it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    # SECLEVEL=0 lets OpenSSL 3 offer the SHA-1 signatures TLS 1.0/1.1 need.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    return context


def peer_chain_der(ssl_object: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first, as DER.

    Python 3.13 made `get_unverified_chain()` public; 3.11 and 3.12 have it on the
    internal `_sslobj`. Without either, the leaf alone is still worth judging.
    """
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    if getter is not None:
        chain = getter() or []
        return tuple(_as_der(cert) for cert in chain)
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _as_der(cert: object) -> bytes:
    if isinstance(cert, bytes):  # 3.13's public API returns DER bytes
        return cert
    # 3.11/3.12 return _ssl.Certificate objects, which typeshed does not describe.
    public_bytes = getattr(cert, "public_bytes")  # noqa: B009
    der: bytes = public_bytes(_ENCODING_DER)
    return der


# Weak cipher classes a deep probe offers alone (TLS <= 1.2), in OpenSSL's cipher-string
# language. What this OpenSSL cannot offer any more (RC4, export, 3DES in OpenSSL 3) is
# reported as not testable rather than as refused.
WEAK_CIPHER_CLASSES = {
    "static-rsa": "kRSA",  # RSA key exchange: no forward secrecy
    "3des": "3DES",
    "anonymous": "aNULL",  # no server authentication at all
    "null": "eNULL",  # no encryption
    "rc4": "RC4",
    "export": "EXP",
}
PROBE_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def _probe_context(
    minimum: ssl.TLSVersion, maximum: ssl.TLSVersion, ciphers: str
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python; we mean it
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = minimum
        context.maximum_version = maximum
    context.set_ciphers(ciphers)
    context.options |= getattr(ssl, "OP_LEGACY_SERVER_CONNECT", 0)
    return context


def version_context(version: str) -> ssl.SSLContext | None:
    """A context offering exactly one protocol version, or None if OpenSSL cannot."""
    wanted = PROBE_VERSIONS[version]
    try:
        return _probe_context(wanted, wanted, "DEFAULT:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):
        return None


def cipher_context(ciphers: str) -> ssl.SSLContext | None:
    """A TLS <= 1.2 context offering only `ciphers`, or None if OpenSSL has none of them."""
    try:
        context = _probe_context(
            ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2, f"{ciphers}:@SECLEVEL=0"
        )
    except ssl.SSLError:
        return None
    return context if any(c["protocol"] != "TLSv1.3" for c in context.get_ciphers()) else None
