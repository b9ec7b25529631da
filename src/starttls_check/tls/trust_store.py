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
    """Every readable certificate in a PEM file; a file with none is an error."""
    try:
        certs, _ = load_pem(path.read_bytes())
    except OSError as exc:
        raise TrustStoreError(f"cannot read CA file {path}: {exc.strerror}") from exc
    if not certs:
        raise TrustStoreError(f"no PEM certificates in CA file {path}")
    return certs


def load_trust_store(ca_files: Sequence[Path] = (), *, use_system: bool = True) -> TrustStore:
    """The system anchors (unless told not to) plus every certificate in `ca_files`.

    With no anchor at all every public MX would look untrusted, which is worse than an
    error: asking for the system's and finding none, with no --ca-file, is one.
    """
    anchors: list[x509.Certificate] = []
    if use_system and (bundle := system_bundle_path()) is not None:
        with contextlib.suppress(TrustStoreError):
            anchors += load_pem_file(bundle)
    if use_system and not anchors and not ca_files:
        raise TrustStoreError(
            "no system CA bundle could be read (install ca-certificates), and no --ca-file"
        )
    for path in ca_files:
        anchors += load_pem_file(path)
    return TrustStore(anchors)
