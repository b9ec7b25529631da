"""Load trust anchors from PEM files: the system bundle and the user's `--ca-file`.

The system bundle is read with cryptography (about 1.4 ms here) rather than through
`ssl.create_default_context()` (about 18 ms), because the handshake verifies nothing and
the chain is judged offline against these anchors.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from .certs import TrustStore, load_pem

_SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/cert.pem",  # macOS, OpenBSD
    "/etc/ssl/ca-bundle.pem",  # openSUSE
)


class TrustStoreError(Exception):
    """A CA file the user named could not be used."""


def system_bundle_path() -> Path | None:
    """Where this system keeps its CA bundle, as OpenSSL would find it."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *_SYSTEM_BUNDLES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_pem_file(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file; an unreadable or empty file is an error."""
    try:
        data = path.read_bytes()
        certs = load_pem(data)
    except OSError as exc:
        raise TrustStoreError(f"cannot read CA file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise TrustStoreError(f"no PEM certificates in CA file {path}") from exc
    return certs


def load_trust_store(ca_files: Sequence[Path] = (), *, use_system: bool = True) -> TrustStore:
    """The system anchors (unless told not to) plus every certificate in `ca_files`."""
    anchors: list[x509.Certificate] = []
    if use_system and (bundle := system_bundle_path()) is not None:
        # A broken system bundle leaves us with the user's anchors only.
        with contextlib.suppress(TrustStoreError):
            anchors += load_pem_file(bundle)
    for path in ca_files:
        anchors += load_pem_file(path)
    return TrustStore(anchors)
