"""The certificate, key and CA files Postfix's settings name, read and parsed into facts:
readable or not, the certificates in file order, whether the key is the certificate's,
whether the chain ends at an anchor of the trust store. Judging is `checks/`' job."""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from ..model.sending import PemFileFacts, PostfixSettings
from ..tls.certs import TrustStore, issued_by, load_pem

MAX_PEM = 1 << 20
_PAIRS = (
    ("smtpd_tls_cert_file", "smtpd_tls_key_file"),
    ("smtpd_tls_eccert_file", "smtpd_tls_eckey_file"),
)
_KEY_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.+?-----END \1PRIVATE KEY-----", re.S
)


def read_files(settings: PostfixSettings, trust: TrustStore | None = None) -> PostfixSettings:
    """The settings with the facts of every file they name."""
    if trust is None:
        from ..tls.trust_store import TrustStoreError, load_trust_store

        try:
            trust = load_trust_store()
        except TrustStoreError:
            trust = TrustStore(())
    values = dict(settings.values)
    found: list[PemFileFacts] = []
    if chain := _paths(values["smtpd_tls_chain_files"]):
        found.append(pem_facts("smtpd_tls_chain_files", chain, trust))
    for cert, key in _PAIRS:
        if values[cert]:
            paths = [Path(values[cert])]
            if values[key] and values[key] != values[cert]:
                paths.append(Path(values[key]))
            found.append(pem_facts(cert, paths, trust))
    if values["smtp_tls_CAfile"]:
        found.append(
            pem_facts("smtp_tls_CAfile", [Path(values["smtp_tls_CAfile"])], trust, ca=True)
        )
    if values["smtp_tls_CApath"]:
        found.append(directory_facts("smtp_tls_CApath", Path(values["smtp_tls_CApath"])))
    return dataclasses.replace(settings, files=tuple(found))


def _paths(value: str) -> list[Path]:
    return [Path(p) for p in re.split(r"[\s,]+", value) if p]


def pem_facts(
    setting: str, paths: Sequence[Path], trust: TrustStore, *, ca: bool = False
) -> PemFileFacts:
    """One setting's files, read together in order (a key file then a chain file, or one
    file with both)."""
    data = b""
    for path in paths:
        try:
            with path.open("rb") as handle:
                data += handle.read(MAX_PEM) + b"\n"
        except OSError as exc:
            return _unreadable(setting, paths, f"{path}: {exc.strerror or exc}")
    certs, bad = load_pem(data)
    keys = _KEY_BLOCK.findall(data)
    key_block = _KEY_BLOCK.search(data)
    error = f"{bad} certificate blocks do not parse" if bad else None
    if not certs:
        error = "no PEM certificate"
    matches: bool | None = None
    if key_block is not None and certs and not ca:
        matches = _key_matches(key_block.group(0), certs[0])
        if matches is None:
            error, matches = "the private key does not parse", False
    elif not ca and error is None and not keys:
        error = "no private key"
    return PemFileFacts(
        setting=setting,
        path=", ".join(str(p) for p in paths),
        readable=True,
        error=error,
        certificates=tuple(c.subject.rfc4514_string() for c in certs),
        issuers=tuple(c.issuer.rfc4514_string() for c in certs),
        not_after=tuple(c.not_valid_after_utc.astimezone(UTC) for c in certs),
        self_signed=tuple(c.issuer == c.subject and issued_by(c, c) for c in certs),
        has_key=key_block is not None,
        key_matches=matches,
        issuer_trusted=_issuer_trusted(certs, trust) if certs and not ca else None,
    )


def directory_facts(setting: str, path: Path) -> PemFileFacts:
    readable = path.is_dir() and os.access(path, os.R_OK | os.X_OK)
    return dataclasses.replace(
        _unreadable(setting, [path], None if readable else f"{path}: not a readable directory"),
        readable=readable,
    )


def _unreadable(setting: str, paths: Sequence[Path], error: str | None) -> PemFileFacts:
    return PemFileFacts(
        setting=setting,
        path=", ".join(str(p) for p in paths),
        readable=False,
        error=error,
        certificates=(),
        issuers=(),
        not_after=(),
        self_signed=(),
        has_key=False,
        key_matches=None,
        issuer_trusted=None,
    )


def _key_matches(block: bytes, cert: x509.Certificate) -> bool | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            key = serialization.load_pem_private_key(block, password=None)
    except (ValueError, TypeError):
        return None
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki))


def _issuer_trusted(certs: Sequence[x509.Certificate], trust: TrustStore) -> bool:
    """Whether the last certificate is an anchor or is issued by one."""
    last = certs[-1]
    return trust.contains(last) or any(issued_by(last, a) for a in trust.issuers_of(last))
