"""The report's data model: facts gathered by probes, findings judged from them.

Every class is a frozen dataclass of plain values so that one generic serialiser can turn
a report into JSON (render/json_report.py) and tests can compare reports by value. This
module imports nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding matters; ordered by `SEVERITY_RANK`."""

    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


# Protocol versions as Python's ssl names them, oldest first; comparisons use this order.
TLS_VERSIONS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
DEPRECATED_TLS = frozenset(TLS_VERSIONS[:3])  # RFC 8996
EVIDENCE_LIMIT = 512  # bytes of injected plaintext kept as evidence

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.FAIL: 2}


class Verdict(StrEnum):
    """The judgement on one address or one domain."""

    # every MX upgrades to TLS >= 1.2 with a certificate valid for its name
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"  # TLS works but is weak or unauthenticated
    FAIL = "fail"  # mail cannot be received over TLS
    INCONCLUSIVE = "inconclusive"  # could not be tested from here (timeouts, DNS unreachable)
    UNTESTED = "untested"  # deliberately not probed (e.g. no IPv6 route on this host)


class DnsStatus(StrEnum):
    """The outcome of one DNS question, kept distinct because each means something else."""

    OK = "ok"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_DATA = "no-data"  # the name exists but has no record of that type
    SERVFAIL = "servfail"  # the name servers failed or refused to answer
    TIMEOUT = "timeout"  # no name server answered in time
    UNREACHABLE = "unreachable"  # no name server could be reached at all
    MALFORMED = "malformed"  # an answer arrived but could not be used


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One transcript entry, `at_ms` milliseconds after the session started."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class DeepProbe:
    """One `--deep` probe: its own session offering one protocol version, one cipher
    class, a cipher order, or a command pipelined behind STARTTLS."""

    kind: str  # "version", "cipher", "order", "injection"
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A judgement with a stable code, for people (message, hint) and machines (code)."""

    code: str
    severity: Severity
    subject: str
    message: str
    hint: str
    evidence: str | None = None
    waived: bool = False  # matched an --allow waiver: still shown, never counted

    @property
    def host(self) -> str:
        """The MX host (or domain) the finding is about: the subject's first word."""
        return self.subject.split(" ", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiver:
    """`--allow CODE[@HOST]`: a finding code accepted, everywhere or on one MX host."""

    code: str
    host: str | None = None

    def covers(self, finding: Finding) -> bool:
        return finding.code == self.code and self.host in (None, finding.host)


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """What the domain owner demands; the defaults are the tool's default judgement."""

    fail_on: Severity = Severity.FAIL  # the severity that makes the run fail (exit 1)
    min_tls: str | None = None  # "1.2" or "1.3": a lower negotiated version is a failure
    require_valid_cert: bool = False  # certificate problems become failures
    cert_expiry_days: int = 14  # a valid certificate expiring sooner is a warning
    allow: tuple[Waiver, ...] = ()
    require_dane: bool = False
    require_mta_sts: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MxHost:
    """One MX target as DNS described it, with the addresses it resolved to."""

    name: str
    preference: int
    implicit: bool  # no MX record: the domain itself stands in (RFC 5321 §5.1)
    cname_chain: tuple[str, ...]  # names the address lookup followed, if the MX is an alias
    addresses: tuple[str, ...]
    ipv4_status: DnsStatus
    ipv6_status: DnsStatus
    truncated: bool = False  # more addresses than we probe


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsFacts:
    """The answer to 'where does mail for this domain go?'."""

    domain: str  # as A-labels, without the final dot
    mx_status: DnsStatus
    mx_detail: str
    null_mx: bool
    hosts: tuple[MxHost, ...]
    ignored_records: tuple[str, ...] = ()  # MX records we could not use, as text


@dataclass(frozen=True, slots=True, kw_only=True)
class TxtLookup:
    """A TXT lookup for a policy record (MTA-STS, TLS-RPT, SPF, DMARC), records joined."""

    name: str
    status: DnsStatus
    records: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaLookup:
    """The TLSA records for one MX (RFC 7672 §2.2) and their DNSSEC status."""

    mx: str
    owner: str  # _25._tcp.mx.example.com.
    status: DnsStatus
    dnssec: str  # secure, insecure, bogus, indeterminate; "" when there was nothing to check
    dnssec_reason: str
    records: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsFacts:
    """The domain's MTA-STS record and policy, as a sender would fetch them."""

    txt: TxtLookup
    policy_host: str
    policy_address: str | None
    fetch_failure: str | None  # why senders get no policy; None when fetched (or not tried)
    fetch_reason: str
    policy_text: str | None
    mode: str | None  # enforce, testing, none; None without a usable policy
    mx_patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyFacts:
    """Downgrade defences and mail authentication records, for the whole domain."""

    tlsa: tuple[TlsaLookup, ...]
    mta_sts: MtaStsFacts
    tls_rpt: TxtLookup
    spf: TxtLookup
    dmarc: TxtLookup


@dataclass(frozen=True, slots=True, kw_only=True)
class DaneVerdict:
    """How the served chain fared against the MX's DNSSEC-secure TLSA records."""

    authenticated: bool
    reason: str
    usable: tuple[str, ...]  # records a DANE sender uses for SMTP
    matches: tuple[str, ...]  # "3 1 1 ab12… matched certificate 0 (CN=mx.example.com)"
    unusable: tuple[str, ...]  # "0 0 1 …: usage PKIX-TA(0) is ignored for SMTP"


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderOutcomes:
    """What three kinds of sender do with this address: the question domain owners ask."""

    opportunistic: str  # encrypts if it can, accepts any certificate
    mta_sts: str  # applies the domain's MTA-STS policy
    dane: str  # validates DNSSEC and TLSA records


@dataclass(frozen=True, slots=True, kw_only=True)
class HostReport:
    """One MX name x address x port: the session's facts and what they mean."""

    mx: str
    preference: int
    address: str
    port: int
    facts: SessionFacts
    trust: TrustVerdict | None
    findings: tuple[Finding, ...]
    verdict: Verdict
    earlier_attempts: tuple[SessionFacts, ...] = ()  # transient 4xx replies before a retry
    deep: tuple[DeepProbe, ...] = ()  # --deep probes, each its own session
    dane: DaneVerdict | None = None  # only with DNSSEC-secure TLSA records for the MX
    senders: SenderOutcomes | None = None  # without --no-policy-checks


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainReport:
    """Everything checked for one domain, and the verdict it takes (its worst)."""

    domain: str  # as the user wrote it
    ascii_domain: str  # the target in A-labels, e.g. example.com or [mx.example.com]:587
    checked_at: datetime
    elapsed_ms: float
    dns: DnsFacts | None
    hosts: tuple[HostReport, ...]
    findings: tuple[Finding, ...]  # domain-level findings (DNS, MX, drift)
    verdict: Verdict
    policy: Policy = field(default_factory=Policy)  # the policy it was judged by
    policies: PolicyFacts | None = None  # DANE, MTA-STS, TLS-RPT, SPF, DMARC records

    def all_findings(self) -> tuple[Finding, ...]:
        """Domain findings first, then each host's, in report order."""
        return self.findings + tuple(f for h in self.hosts for f in h.findings)
