"""The server's certificate files judged, one private key and its chain at a time: the
key is a certificate's, the blocks are in the order Postfix needs, the certificates are
unexpired, the chain is ordered and complete, the server's key is strong enough. Pure:
file facts in, findings out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from ..model.catalogue import finding
from ..model.findings import Finding
from ..model.sending import KEY_ENCRYPTED, PemFileFacts, PemObject
from ..tls.certs import MIN_EC_BITS, MIN_RSA_BITS

EXPIRY_WARNING = timedelta(days=14)
CHAIN_FILES = "smtpd_tls_chain_files"


def unreadable(setting: str, facts: PemFileFacts) -> Finding:
    return finding(
        "postfix.file-unreadable",
        setting,
        f"{setting} = {facts.path}: {facts.error or 'unreadable'}",
    )


def certificate_findings(facts: PemFileFacts, now: datetime) -> list[Finding]:
    """One key and its chain: readable, a key that is one of the certificates', in order,
    unexpired, complete, strong enough."""
    setting = facts.setting
    if facts.readable and not facts.certificates and facts.objects == (PemObject.KEY,):
        # Postfix: "No certs for key" / "key ... not followed by a certificate".
        missing = "the private key is not followed by its certificate"
        return [unreadable(setting, _with_error(facts, missing))]
    if facts.error == KEY_ENCRYPTED:
        message = f"{facts.path}: the private key is encrypted; Postfix has no passphrase for it"
        return [finding("postfix.key-encrypted", setting, message)]
    if not facts.readable or not facts.certificates or facts.error is not None:
        return [unreadable(setting, facts)]
    if facts.key_certificate is None:
        return [
            finding(
                "postfix.key-mismatch",
                setting,
                f"{facts.path}: the private key is none of the certificates' "
                f"({', '.join(facts.certificates)})",
            )
        ]
    order = _order(facts)
    found = order + _expiry(facts, now)
    if not order:  # the issuers' order and the chain's end mean something in Postfix's order
        found += _chain(facts)
    return found + _weak_key(facts)


def key_slot(kind: str) -> str | None:
    """The certificate slot OpenSSL keeps for a key type (`ssl_cert_lookup_by_pkey`): one
    each for RSA, RSA-PSS, DSA, Ed25519 and Ed448, and one for EC keys of every curve."""
    if kind.startswith("EC "):
        return "ECDSA"
    return kind if kind in ("RSA", "RSA-PSS", "DSA", "Ed25519", "Ed448") else None


def same_slot_findings(certs: Sequence[PemFileFacts]) -> list[Finding]:
    """Two chain-file groups whose keys are of one type. Postfix loads each group with
    `SSL_CTX_use_cert_and_key(..., replace = 0)` (tls_certkey.c `use_chain`), which refuses
    a key type whose slot is taken: the second chain fails, Postfix logs "key at index ...
    does not match the certificate" and disables TLS."""
    by_slot: dict[str, list[str]] = {}
    groups = [f for f in certs if f.setting == CHAIN_FILES]
    for number, facts in enumerate(groups, 1):
        index = facts.key_certificate
        slot = key_slot(facts.public_keys[index]) if index is not None else None
        if slot is not None and facts.error is None:
            named = f"key {number} in {facts.path} ({facts.certificates[index or 0]})"
            by_slot.setdefault(slot, []).append(named)
    return [
        finding(
            "postfix.chain-same-key-type",
            CHAIN_FILES,
            f"{CHAIN_FILES} holds {len(named)} {slot} chains, {' and '.join(named)}: Postfix "
            f"loads one chain per key type and refuses the second",
        )
        for slot, named in by_slot.items()
        if len(named) > 1
    ]


def _with_error(facts: PemFileFacts, error: str) -> PemFileFacts:
    return replace(facts, error=error)


def _order(facts: PemFileFacts) -> list[Finding]:
    """Postfix takes, for chain files, each key followed directly by its certificate
    (tls_certkey.c: "key not first" and a mismatch otherwise), and for a certificate file
    its first certificate as the server's, wherever the key is."""
    index = facts.key_certificate
    chain_files = facts.setting == CHAIN_FILES
    in_order = index == 0 and (not chain_files or facts.objects[0] is PemObject.KEY)
    if in_order:
        return []
    leaf = facts.certificates[index] if index is not None else "?"
    if chain_files:
        layout = ", ".join(_layout(facts))
        message = (
            f"{facts.path} holds {layout}: Postfix needs the private key, then its "
            f"certificate ({leaf}), then the intermediates"
        )
    else:
        message = (
            f"{facts.path}: the private key is for certificate {(index or 0) + 1} ({leaf}); "
            f"{facts.setting} must start with the server's certificate, then the intermediates"
        )
    return [finding("postfix.chain-order", facts.setting, message)]


def _layout(facts: PemFileFacts) -> list[str]:
    subjects = iter(facts.certificates)
    return [
        "the private key" if kind is PemObject.KEY else next(subjects, "?")
        for kind in facts.objects
    ]


def _expiry(facts: PemFileFacts, now: datetime) -> list[Finding]:
    found: list[Finding] = []
    for subject, not_after in zip(facts.certificates, facts.not_after, strict=True):
        if not_after <= now:
            message = f"{subject} expired {not_after:%Y-%m-%d}"
            found.append(finding("postfix.cert-expired", facts.setting, message))
        elif not_after - now < EXPIRY_WARNING:
            message = f"{subject} expires {not_after:%Y-%m-%d}"
            found.append(finding("postfix.cert-expiring", facts.setting, message))
    return found


def _weak_key(facts: PemFileFacts) -> list[Finding]:
    """The server's own key (the one the private key is for): RSA or DSA below 2048 bits,
    EC below 224, as the served-chain check judges them."""
    index = facts.key_certificate or 0
    kind, bits = facts.public_keys[index], facts.public_key_bits[index]
    weak = (kind in ("RSA", "RSA-PSS", "DSA") and bits < MIN_RSA_BITS) or (
        kind.startswith("EC ") and bits < MIN_EC_BITS
    )
    if not weak:
        return []
    message = f"{facts.path}: {facts.certificates[index]} has a {bits}-bit {kind} key"
    return [finding("postfix.cert-weak-key", facts.setting, message)]


def _chain(facts: PemFileFacts) -> list[Finding]:
    setting = facts.setting
    found: list[Finding] = []
    for index in range(len(facts.certificates) - 1):
        if facts.issuers[index] != facts.certificates[index + 1]:
            message = (
                f"certificate {index + 1} ({facts.certificates[index]}) is not issued by the next"
            )
            found.append(finding("postfix.chain-misordered", setting, message))
            break
    if facts.self_signed[-1] and len(facts.certificates) == 1:
        found.append(
            finding("postfix.cert-self-signed", setting, f"{facts.certificates[0]} is self-signed")
        )
    elif not facts.self_signed[-1] and not facts.issuer_trusted:
        message = (
            f"the chain ends at {facts.certificates[-1]}, issued by {facts.issuers[-1]}, "
            "which is neither in the file nor in the trust store"
        )
        found.append(finding("postfix.chain-incomplete", setting, message))
    return found
