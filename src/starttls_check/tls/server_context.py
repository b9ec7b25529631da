"""The receive mode's server-side TLS context: the certificate to show, every version
from TLS 1.0 up so that an old sender is still measured rather than turned away."""

from __future__ import annotations

import ssl
import tempfile
import warnings
from collections.abc import Sequence
from enum import Enum
from pathlib import Path


class PairProblem(Enum):
    """Why an operator's chain and key cannot be shown, in terms of which file is wrong."""

    NO_CERTIFICATE = "no-certificate"
    NO_KEY = "no-key"
    ENCRYPTED_KEY = "encrypted-key"
    MISMATCH = "mismatch"


def pair_problem(chain_pem: bytes, key_pem: bytes) -> PairProblem | None:
    """What is wrong with a chain and its key (PEM), if anything: OpenSSL's own error for
    each of these is `PEM lib`, which names neither file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    except ValueError:
        return PairProblem.NO_CERTIFICATE
    try:
        private = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:  # cryptography's word for "this key needs a password"
        return PairProblem.ENCRYPTED_KEY
    except ValueError:
        return PairProblem.NO_KEY
    spki = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    if private.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        return PairProblem.MISMATCH
    return None


def server_context(certificates: Sequence[tuple[bytes, bytes]]) -> ssl.SSLContext:
    """A server context for each (chain PEM, key PEM) pair, one per key type (OpenSSL
    picks the one the client's suites and signature algorithms allow); `ssl.SSLError` if
    one does not load.

    `load_cert_chain` reads only files, so they pass through a private temporary
    directory that is removed at once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python; we mean it
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    # SECLEVEL=0 lets OpenSSL 3 complete TLS 1.0/1.1 handshakes (SHA-1 signatures).
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with tempfile.TemporaryDirectory(prefix="starttls-check-") as directory:
        for number, (chain_pem, key_pem) in enumerate(certificates):
            chain, key = (
                Path(directory) / f"chain{number}.pem",
                Path(directory) / f"key{number}.pem",
            )
            chain.write_bytes(chain_pem)
            key.write_bytes(key_pem)
            context.load_cert_chain(chain, key)
    return context
