"""Facts of one session: the dialogue, the TLS handshake, the served certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Protocol versions as Python's ssl names them, oldest first; comparisons use this order.
TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


DEPRECATED_TLS = frozenset(TLS_VERSIONS[:3])  # RFC 8996
# OpenSSL's names for protocol versions are not what people read: `TLSv1` is TLS 1.0.
_VERSION_NAMES = {
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


def tls_name(version: str) -> str:
    """`TLSv1` → `TLS 1.0`, `TLSv1.3` → `TLS 1.3`, for people; JSON keeps OpenSSL's."""
    return _VERSION_NAMES.get(version, version)


EVIDENCE_LIMIT = 512  # bytes of injected plaintext kept as evidence


class Phase(StrEnum):
    """Where in the SMTP session something happened."""

    CONNECT = "connect"
    GREETING = "greeting"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    HANDSHAKE = "handshake"
    EHLO_TLS = "ehlo-tls"
    QUIT = "quit"


class ErrorKind(StrEnum):
    """What went wrong, independent of the phase."""

    TIMEOUT = "timeout"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"  # no route to the address from this host
    RESET = "reset"
    CLOSED = "closed"  # the server closed the connection
    PROTOCOL = "protocol"  # the server's bytes are not valid SMTP
    TLS = "tls"  # the TLS handshake failed
    OTHER = "other"


class Direction(StrEnum):
    """One line of the transcript: sent by us, received from the server, or an event."""

    SENT = "sent"
    RECEIVED = "received"
    EVENT = "event"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One SMTP reply: its code and the text of each line (without the code)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """All lines joined, as a person would quote the reply."""
        return " / ".join(line for line in self.lines if line)


class DefectKind(StrEnum):
    """How a reply that senders accept breaks RFC 5321's reply syntax (§4.2, §4.5.3.1.5)."""

    MIXED_CODES = "mixed-codes"  # lines carry different codes; the last line's decides
    BARE_LF = "bare-lf"  # a line ended in LF without CR (RFC 5321 §2.3.8)
    EMPTY_LINE = "empty-line"  # a line with no reply code, or an EHLO line with no keyword
    LONG_LINE = "long-line"  # longer than 512 octets with its CRLF (RFC 5321 §4.5.3.1.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyDefect:
    """A reply taken as senders take it, although it breaks the reply syntax."""

    reply: str  # whose reply: "greeting", "EHLO", "STARTTLS", "EHLO inside TLS", ...
    kind: DefectKind
    lines: tuple[int, ...]  # the offending lines, counted from 1 within the reply
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One transcript entry, `at_ms` milliseconds after the session started.

    A received line's `text` is the line exactly as it arrived, see `wire_text`.
    """

    at_ms: float
    direction: Direction
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeError:
    """An expected failure of a probe (the server's doing, or the network's)."""

    phase: Phase
    kind: ErrorKind
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateInfo:
    """What a certificate in the served chain says about itself."""

    subject: str
    issuer: str
    san_dns: tuple[str, ...]
    san_ip: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    days_left: int
    key_type: str
    key_bits: int
    signature_algorithm: str
    signature_hash: str | None
    sha256_fingerprint: str
    spki_sha256: str
    is_ca: bool
    self_issued: bool


class CertProblem(StrEnum):
    """One independent reason a certificate chain would not authenticate the MX."""

    NO_CERTIFICATE = "no-certificate"
    UNPARSEABLE = "unparseable"  # served, but not readable as an X.509 certificate
    SELF_SIGNED = "self-signed"
    UNTRUSTED = "untrusted"
    INCOMPLETE_CHAIN = "incomplete-chain"
    BAD_SIGNATURE = "bad-signature"
    CONSTRAINT_VIOLATION = "constraint-violation"  # an issuer's constraints forbid the path
    WRONG_PURPOSE = "wrong-purpose"  # the leaf's extendedKeyUsage excludes TLS servers
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    NAME_MISMATCH = "name-mismatch"
    WEAK_KEY = "weak-key"
    SHA1_SIGNATURE = "sha1-signature"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustVerdict:
    """The offline judgement of a served chain against the trust store and the MX name."""

    problems: tuple[CertProblem, ...]
    trusted_path: tuple[str, ...]  # subjects from the leaf up to the trust anchor, if found
    checked_name: str
    detail: str

    @property
    def valid(self) -> bool:
        """True when a sender that authenticates (MTA-STS, PKIX) would accept the chain."""
        return not self.problems


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsResult:
    """What the TLS handshake negotiated, and the chain exactly as served."""

    version: str
    cipher: str
    cipher_bits: int | None
    chain: tuple[CertificateInfo, ...]
    handshake_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFacts:
    """Everything one SMTP session to one address observed, judged nothing."""

    greeting: Reply | None = None
    ehlo_command: str | None = None  # "EHLO", or "HELO" after EHLO was rejected
    ehlo_reply: Reply | None = None
    helo_reply: Reply | None = None
    capabilities: tuple[str, ...] = ()
    starttls_offered: bool | None = None
    starttls_reply: Reply | None = None
    injected_plaintext: str | None = None  # first bytes after STARTTLS's 220, as latin-1
    tls: TlsResult | None = None
    capabilities_after_tls: tuple[str, ...] | None = None
    ehlo_tls_reply: Reply | None = None
    error: ProbeError | None = None
    transcript: tuple[Exchange, ...] = ()
    elapsed_ms: float = 0.0
    reply_defects: tuple[ReplyDefect, ...] = ()  # replies accepted despite their syntax


def wire_text(line: bytes) -> str:
    """A received line as transcript text, from which `wire_bytes` gives back its bytes.

    UTF-8 is decoded; a byte that is not UTF-8 is written `\\xNN` and a backslash the
    server sent is doubled, so an escape and the server's own text cannot be confused. The
    usual CRLF is dropped; any other ending (a bare LF, CR CR LF) stays in the text, where
    the terminal shows it escaped.
    """
    # A backslash (0x5C) is never part of a multi-byte UTF-8 sequence: splitting there
    # cannot cut a character in two.
    parts = line.removesuffix(b"\r\n").split(b"\\")
    return "\\\\".join(part.decode("utf-8", "backslashreplace") for part in parts)


def wire_bytes(text: str) -> bytes:
    """The bytes of a received line recorded by `wire_text`, its line ending included."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text.startswith("\\\\", i):
            out += b"\\"
            i += 2
        elif text.startswith("\\x", i):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            out += text[i].encode()
            i += 1
    return bytes(out) if out.endswith(b"\n") else bytes(out) + b"\r\n"


class ProbeOutcome(StrEnum):
    """What one deep probe found."""

    ACCEPTED = "accepted"  # the server accepted what the probe offered
    REFUSED = "refused"  # the server refused it (handshake failed)
    ANSWERED = "answered"  # injection probe: the server answered the pipelined command
    IGNORED = "ignored"  # injection probe: it did not (correct)
    SERVER_ORDER = "server-order"  # order probe: the server chose by its own preference
    CLIENT_ORDER = "client-order"  # order probe: the server followed ours
    UNTESTABLE = "untestable"  # this OpenSSL cannot offer it
    FAILED = "failed"  # the session broke before the handshake: no answer either way


class ProbeKind(StrEnum):
    """What a probe varies: one protocol version, one cipher class, the cipher order, or a
    command pipelined behind STARTTLS."""

    VERSION = "version"
    CIPHER = "cipher"
    ORDER = "order"
    INJECTION = "injection"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepProbe:
    """One `--deep` probe: its own session offering one protocol version, one cipher
    class, a cipher order, or a command pipelined behind STARTTLS."""

    kind: ProbeKind
    name: str  # e.g. "TLSv1.1", "static-rsa"
    outcome: ProbeOutcome
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOutcome:
    """What a session hands to judgement: its facts, plus the served chain as DER (judged
    offline, not serialised) and anything that arrived inside TLS unasked (deep probe)."""

    facts: SessionFacts
    chain_der: tuple[bytes, ...]
    answered_inside_tls: str | None = None
