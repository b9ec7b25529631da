"""The certificate, key and CA files Postfix's settings name, read and parsed into facts:
readable or not, each key with the certificates that go with it, in file order, which
certificate the key is for, whether the chain ends at an anchor of the trust store.
Judging is `checks/`' job.

`smtpd_tls_chain_files` is read as Postfix reads it (tls_certkey.c, `load_chain_files`):
the files are one stream of PEM objects, and each private key starts a group holding the
certificate after it (the key's own) and the issuers after that, up to the next key. So
`rsa.pem, ecdsa.pem` (each key, leaf, CA) is two groups, one file holding an RSA and an
ECDSA group is two, and `key.pem, fullchain.pem` is one. A stream that starts with a
certificate is refused by Postfix ("key not first"); it is grouped the other way round,
each key ending the group of the certificates before it, so that `leaf, CA, key` is one
group in the wrong order rather than certificates without a key and a key without one.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from ..model.sending import KEY_ENCRYPTED, PemFileFacts, PemObject, PostfixSettings
from ..tls.certs import CERT_PARSE_ERRORS, TrustStore, issued_by, key_description, load_pem

MAX_PEM = 1 << 20
KEY, CERTIFICATE = PemObject.KEY, PemObject.CERTIFICATE
_PAIRS = (
    ("smtpd_tls_cert_file", "smtpd_tls_key_file"),
    ("smtpd_tls_eccert_file", "smtpd_tls_eckey_file"),
)
# The PEM types Postfix loads (tls_certkey.c `load_pem_object`): certificates, under the
# old `X509 CERTIFICATE` label too (PEM_STRING_X509_OLD), and keys in PKCS#8 or the RSA, EC
# and DSA forms. An encrypted key (PKCS#8 `ENCRYPTED PRIVATE KEY`, or a `Proc-Type:
# 4,ENCRYPTED` header) is read as a key and reported as encrypted: Postfix skips the one
# and fails to decode the other, and has no passphrase setting for either.
_OBJECT = re.compile(
    rb"-----BEGIN ((?:X509 )?CERTIFICATE|[A-Z ]*PRIVATE KEY)-----.+?-----END \1-----", re.S
)
_OLD_LABEL = re.compile(rb"-----(BEGIN|END) X509 CERTIFICATE-----")
_ENCRYPTED = re.compile(
    rb"\A-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type: *4, *ENCRYPTED", re.M
)


@dataclass(frozen=True, slots=True)
class _Object:
    """One PEM object of a file: a key or a certificate, and where it is."""

    kind: PemObject
    path: Path
    pem: bytes


def read_files(settings: PostfixSettings, trust: TrustStore | None = None) -> PostfixSettings:
    """The settings with the facts of every file they name: for the server's certificate
    settings one entry per key and its chain."""
    if trust is None:
        from ..tls.trust_store import TrustStoreError, load_trust_store

        try:
            trust = load_trust_store()
        except TrustStoreError:
            trust = TrustStore(())
    values = dict(settings.values)
    found: list[PemFileFacts] = []
    chain = _paths(values["smtpd_tls_chain_files"])
    if chain:
        found += chain_facts("smtpd_tls_chain_files", chain, trust)
    # "The chain_files parameter overrides all the legacy parameters" (tls_certkey.c):
    # files Postfix never loads are not judged.
    for cert, key in () if chain else _PAIRS:
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


def _objects(paths: Sequence[Path]) -> list[_Object] | tuple[Path, str]:
    """Every file's PEM objects in order, or the first file that cannot be read and why."""
    objects: list[_Object] = []
    for path in paths:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PEM)
        except OSError as exc:
            return path, f"{path}: {exc.strerror or exc}"
        for match in _OBJECT.finditer(data):
            kind = KEY if match[1].endswith(b"PRIVATE KEY") else CERTIFICATE
            # The same DER under the old label: relabelled, cryptography reads it.
            pem = _OLD_LABEL.sub(rb"-----\1 CERTIFICATE-----", match[0])
            objects.append(_Object(kind, path, pem))
    return objects


def chain_groups(objects: Sequence[_Object]) -> list[list[_Object]]:
    """The stream cut into key-and-chain groups (see the module's docstring)."""
    if not objects:
        return []
    groups: list[list[_Object]] = [[]]
    key_first = objects[0].kind == KEY
    for item in objects:
        if key_first and item.kind == KEY and groups[-1]:
            groups.append([])
        groups[-1].append(item)
        if not key_first and item.kind == KEY:
            groups.append([])
    groups = [g for g in groups if g]
    # `leaf, CA, key` then `key, leaf, CA`: the lone key takes the certificates after it.
    merged: list[list[_Object]] = []
    for group in groups:
        lone_key = merged and [o.kind for o in merged[-1]] == [KEY]
        if lone_key and all(o.kind == CERTIFICATE for o in group):
            merged[-1] += group
        else:
            merged.append(group)
    return merged


def chain_facts(setting: str, paths: Sequence[Path], trust: TrustStore) -> list[PemFileFacts]:
    """`smtpd_tls_chain_files`: one entry per key and its chain."""
    objects = _objects(paths)
    if isinstance(objects, tuple):
        return [_unreadable(setting, paths, objects[1])]
    groups = chain_groups(objects)
    if not groups:
        return [_facts(setting, paths, [], trust, ca=False)]
    return [
        _facts(setting, list(dict.fromkeys(o.path for o in group)), group, trust, ca=False)
        for group in groups
    ]


def pem_facts(
    setting: str, paths: Sequence[Path], trust: TrustStore, *, ca: bool = False
) -> PemFileFacts:
    """One setting's files read together in order: a certificate file (the server's
    certificate first, then its issuers) and its key file, or one file with both; or a
    CA file."""
    objects = _objects(paths)
    if isinstance(objects, tuple):
        return _unreadable(setting, paths, objects[1])
    return _facts(setting, paths, objects, trust, ca=ca)


def _facts(
    setting: str, paths: Sequence[Path], objects: Sequence[_Object], trust: TrustStore, *, ca: bool
) -> PemFileFacts:
    certs, bad = load_pem(b"\n".join(o.pem for o in objects if o.kind == CERTIFICATE))
    key_block = next((o.pem for o in objects if o.kind == KEY), None)
    error = f"{bad} certificate blocks do not parse" if bad else None
    if not certs:
        error = "no PEM certificate"
    index: int | None = None
    if key_block is not None and certs and not ca:
        index = _key_certificate(key_block, certs)
        if index == -1:
            error, index = "the private key does not parse", None
            if _ENCRYPTED.search(key_block):
                error = KEY_ENCRYPTED
    elif not ca and error is None and key_block is None:
        error = "no private key"
    keys = [_key_kind(c) for c in certs]
    return PemFileFacts(
        setting=setting,
        path=", ".join(str(p) for p in paths),
        readable=True,
        error=error,
        objects=tuple(o.kind for o in objects),
        certificates=tuple(c.subject.rfc4514_string() for c in certs),
        issuers=tuple(c.issuer.rfc4514_string() for c in certs),
        not_after=tuple(c.not_valid_after_utc.astimezone(UTC) for c in certs),
        self_signed=tuple(c.issuer == c.subject and issued_by(c, c) for c in certs),
        public_keys=tuple(kind for kind, _ in keys),
        public_key_bits=tuple(bits for _, bits in keys),
        has_key=key_block is not None,
        key_matches=None if key_block is None or ca or not certs else index is not None,
        key_certificate=index,
        issuer_trusted=_issuer_trusted(certs, trust) if certs and not ca else None,
    )


def _key_kind(cert: x509.Certificate) -> tuple[str, int]:
    """`key_description`, with RSA-PSS keys named apart: cryptography reads them as RSA,
    but OpenSSL keeps them in a certificate slot of their own."""
    kind, bits = key_description(cert)
    if kind == "RSA" and cert.public_key_algorithm_oid == x509.oid.PublicKeyAlgorithmOID.RSASSA_PSS:
        return "RSA-PSS", bits
    return kind, bits


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
        objects=(),
        certificates=(),
        issuers=(),
        not_after=(),
        self_signed=(),
        public_keys=(),
        public_key_bits=(),
        has_key=False,
        key_matches=None,
        key_certificate=None,
        issuer_trusted=None,
    )


def _key_certificate(block: bytes, certs: Sequence[x509.Certificate]) -> int | None:
    """Which certificate the private key is for (its index), None for none of them, -1 if
    the key does not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            key = serialization.load_pem_private_key(block, password=None)
    except (ValueError, TypeError):
        return -1
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    public = key.public_key().public_bytes(*spki)
    for index, cert in enumerate(certs):
        try:
            if cert.public_key().public_bytes(*spki) == public:
                return index
        except CERT_PARSE_ERRORS:  # a certificate's key this library cannot read
            continue
    return None


def _issuer_trusted(certs: Sequence[x509.Certificate], trust: TrustStore) -> bool:
    """Whether the last certificate is an anchor or is issued by one."""
    last = certs[-1]
    return trust.contains(last) or any(issued_by(last, a) for a in trust.issuers_of(last))
