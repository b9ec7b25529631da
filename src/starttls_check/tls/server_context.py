"""The receive mode's server-side TLS context: the certificate to show, every version
from TLS 1.0 up so that an old sender is still measured rather than turned away."""

from __future__ import annotations

import ssl
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path


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
