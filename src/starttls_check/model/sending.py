"""The sending side: what a message's `Received:` headers say, what Postfix's TLS settings
say, and what a sender did when it delivered to the receive mode.

Three reports, one per mode, each with facts, findings and a verdict, serialised by the
same generic serialiser as the domain reports (`schema/sending.schema.json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .findings import Finding, Verdict
from .session import Exchange


class HopTls(StrEnum):
    """What one `Received:` header says about TLS on its hop."""

    USED = "used"
    NOT_USED = "not-used"  # the MTA records TLS when it is used, and did not here
    NOT_RECORDED = "not-recorded"  # the header cannot tell: never read as clear text


class HeaderFormat(StrEnum):
    """Whose `Received:` header format a line is in."""

    POSTFIX = "postfix"
    EXIM = "exim"
    SENDMAIL = "sendmail"
    OPENSMTPD = "opensmtpd"
    GMAIL = "gmail"
    MICROSOFT = "microsoft"
    QMAIL = "qmail"
    COURIER = "courier"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One `Received:` header: one hop of the message's path."""

    number: int  # 1 for the oldest hop
    from_host: str | None  # the `from` clause as written (HELO name, rDNS, address)
    by_host: str | None
    protocol: str | None  # the `with` clause: ESMTPS, esmtp, Microsoft SMTP Server, ...
    received_at: datetime | None  # in UTC; None when the date does not parse
    date_text: str | None
    format: HeaderFormat
    tls: HopTls
    tls_version: str | None
    cipher: str | None
    local: bool  # within one host (no `from`, or from loopback): not a network hop
    header: str  # the header, unfolded, bounded


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderReport:
    """`--headers`: the message's path, oldest hop first, and what it means."""

    source: str  # the file name, or "-" for standard input
    subject: str | None
    bytes_read: int  # of the input, at most the header parser's limit
    header_fields: int  # header fields of any name; 0: the input is not a message header
    hops: tuple[Hop, ...]
    skipped: int  # Received headers beyond the limit, oldest ones, not analysed
    findings: tuple[Finding, ...]
    verdict: Verdict


KEY_ENCRYPTED = "the private key is encrypted"
"""`PemFileFacts.error` for a passphrase-protected key, which Postfix cannot load."""


class PemObject(StrEnum):
    """What one PEM block of a certificate or key file is."""

    KEY = "key"
    CERTIFICATE = "certificate"


@dataclass(frozen=True, slots=True, kw_only=True)
class PemFileFacts:
    """A certificate, key or CA file named by a setting, as read from disk. For the
    server's certificate settings, one private key and the certificates that go with it:
    `smtpd_tls_chain_files` gives one of these per key (per RSA, ECDSA, ... chain)."""

    setting: str
    path: str  # the file or files this key and chain are in
    readable: bool
    error: str | None  # why it could not be read or parsed
    objects: tuple[PemObject, ...]  # the PEM blocks, keys and certificates, in file order
    certificates: tuple[str, ...]  # subjects, file order
    issuers: tuple[str, ...]
    not_after: tuple[datetime, ...]
    self_signed: tuple[bool, ...]
    public_keys: tuple[str, ...]  # each certificate's key type: RSA, RSA-PSS, EC secp256r1, Ed25519
    public_key_bits: tuple[int, ...]
    has_key: bool
    key_matches: bool | None  # the key's public half is one of the certificates'; None: no pair
    key_certificate: int | None  # which certificate (0: the first) the key is for
    issuer_trusted: bool | None  # the last certificate's issuer is in the trust store


@dataclass(frozen=True, slots=True, kw_only=True)
class PostfixSettings:
    """The effective TLS settings, and where they came from."""

    source: str  # "postconf" (run against the config directory) or "file"
    path: str
    values: tuple[tuple[str, str], ...]  # name, value: only the settings judged
    files: tuple[PemFileFacts, ...]


class SettingsError(Exception):
    """`--postfix-config` names a file or directory that holds no Postfix settings: the
    user's doing, reported in one line rather than judged as an all-defaults config."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PostfixReport:
    """`--postfix-config`: the settings and what they do to mail sent and received."""

    settings: PostfixSettings
    findings: tuple[Finding, ...]
    verdict: Verdict


class CertificateKind(StrEnum):
    """`--certificate`: what the receive mode shows senders."""

    SELF_SIGNED = "self-signed"  # the default: no sender can verify it
    UNTRUSTED = "untrusted"  # issued by a CA no sender has
    EXPIRED = "expired"
    WRONG_NAME = "wrong-name"
    PROVIDED = "provided"  # --cert/--key: the operator's own


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientHelloOffer:
    """What a sender's ClientHello offered, parsed from the raw bytes before TLS saw them."""

    record_version: str
    legacy_version: str
    versions: tuple[str, ...]  # supported_versions, else the legacy version
    cipher_suites: tuple[str, ...]  # IANA names, unknown ones as 0x1234
    server_name: str | None
    groups: tuple[str, ...]
    signature_algorithms: tuple[str, ...]
    alpn: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedClient:
    """One client of the receive mode: what it did and what it offered."""

    address: str
    port: int
    connected_at: datetime
    ehlo: str | None
    starttls: bool  # issued STARTTLS
    client_hello: ClientHelloOffer | None
    client_hello_error: str | None  # the bytes after STARTTLS were not a ClientHello
    tls_version: str | None  # negotiated
    cipher: str | None
    handshake_error: str | None
    mail_from: str | None
    recipients: tuple[str, ...]
    message_sent: bool  # the message's data was sent and accepted (then discarded)
    message_size: int
    message_over_tls: bool
    mail_over_tls: bool  # began a mail transaction inside TLS, whether or not it finished
    closed_by: str  # "quit", "client" (dropped), "timeout" (idle), "limit" (run ended), "error"
    long_line: int | None  # bytes of a command line refused as too long, if one was
    silent_ms: float  # how long the client had sent nothing when the session ended
    transcript: tuple[Exchange, ...]  # the dialogue, bounded; shown with -v
    findings: tuple[Finding, ...]
    verdict: Verdict


def listen_text(address: str, port: int) -> str:
    """A listening address as reports name it: `127.0.0.1:2525`, `[::1]:2525`."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveReport:
    """`--receive`: the listener, the certificate shown and every client's report."""

    listen: str
    certificate: CertificateKind
    certificate_subject: str
    started_at: datetime
    elapsed_ms: float
    clients: tuple[ReceivedClient, ...]
    refused_sessions: int  # connections turned away with 421: too many at once
    findings: tuple[Finding, ...]  # about the run: no client came, sessions refused
    verdict: Verdict
