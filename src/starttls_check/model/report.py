"""Reports: one per address (`HostReport`) and one per domain (`DomainReport`), with the
downgrade-defence facts (DANE, MTA-STS) that belong to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .dns import DnsFacts, DnsStatus, TlsaLookup, TxtLookup
from .findings import Finding, Policy, Verdict
from .session import DeepProbe, SessionFacts, TrustVerdict


class StsMode(StrEnum):
    """What an MTA-STS policy asks senders to do with an MX that fails it."""

    ENFORCE = "enforce"  # do not deliver
    TESTING = "testing"  # deliver, and report (TLS-RPT, RFC 8460)
    NONE = "none"  # no policy: the way to withdraw one (RFC 8461 §8.3)


class FetchFailure(StrEnum):
    """Why a policy fetch gave senders no policy; the first thing a sender would trip on."""

    CONNECT = "connect"  # refused, unreachable
    TLS = "tls"  # the handshake failed (or TLS broke mid-response)
    CERTIFICATE = "certificate"  # not valid for mta-sts.<domain> (RFC 8461 §3.3)
    REDIRECT = "redirect"  # any 3xx: senders must not follow redirects (RFC 8461 §3.3)
    HTTP_STATUS = "http-status"  # anything but 200
    CONTENT_TYPE = "content-type"  # not text/plain
    TOO_LARGE = "too-large"  # over the size limit
    TIMEOUT = "timeout"  # some phase took longer than the timeout
    MALFORMED = "malformed"  # not HTTP/1.x we can read: bad status line, framing, cut short


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyFetch:
    """How fetching `https://mta-sts.<domain>/.well-known/mta-sts.txt` went."""

    url: str
    address: str  # "" when the policy host has no address
    port: int
    failure: FetchFailure | None  # why senders get no policy; None when they get it
    reason: str  # why, for a person; "" on success
    status: int | None  # the HTTP status, when a response head was read
    content_type: str | None
    tls_version: str | None
    certificate: TrustVerdict | None  # the served chain judged for the policy host
    elapsed_ms: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsFacts:
    """The domain's MTA-STS record and policy, as a sender would fetch them."""

    txt: TxtLookup
    policy_host: str
    fetch: PolicyFetch | None  # None when the TXT record announces no policy
    policy_text: str | None
    mode: StsMode | None  # None without a usable policy
    mx_patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfQuery:
    """One DNS query an SPF evaluation makes for an include:, redirect=, a, mx or exists."""

    name: str
    rdtype: str  # TXT (include:, redirect=), A and AAAA (a, exists), MX (mx)
    status: DnsStatus
    records: tuple[str, ...]  # TXT records joined; addresses or MX records as text
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfWalk:
    """The domain's SPF record followed through its include: and redirect= targets, with
    the queries its a, mx and exists terms make (RFC 7208 §4.6.4), each name asked once."""

    lookups: int  # DNS-querying terms evaluation meets when nothing matches (limit: 10)
    queries: tuple[SpfQuery, ...]
    stopped: str = ""  # why the walk ended before every query was made; "" when complete


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcFallback:
    """DMARC policy discovery for a domain with no record of its own (RFC 7489 §6.6.3):
    the organisational domain's record, from the Public Suffix List."""

    organisational_domain: str | None  # None for a public suffix, or when `unknown`
    lookup: TxtLookup | None  # `_dmarc.<organisational domain>`, when it was asked
    reason: str = ""  # why it was not asked: the domain is its own, the list is missing
    unknown: bool = False  # the Public Suffix List is not installed: nothing was concluded


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyFacts:
    """Downgrade defences and mail authentication records, for the whole domain."""

    tlsa: tuple[TlsaLookup, ...]
    mta_sts: MtaStsFacts
    tls_rpt: TxtLookup
    spf: TxtLookup
    dmarc: TxtLookup
    spf_walk: SpfWalk | None = None  # None when the domain has no single SPF record
    dmarc_fallback: DmarcFallback | None = None  # only when the domain has no DMARC record
    dmarc_applied: str | None = None  # the `_dmarc` name whose record applies; None: none


@dataclass(frozen=True, slots=True, kw_only=True)
class DaneVerdict:
    """How the served chain fared against the MX's DNSSEC-secure TLSA records."""

    authenticated: bool
    reason: str
    usable: tuple[str, ...]  # records a DANE sender uses for SMTP
    matches: tuple[str, ...]  # "3 1 1 ab12… matched certificate 0 (CN=mx.example.com)"
    unusable: tuple[str, ...]  # "0 0 1 …: usage PKIX-TA(0) is ignored for SMTP"


class Delivery(StrEnum):
    """What a sender does with a message for one address."""

    AUTHENTICATED = "encrypted-authenticated"  # TLS, and the server proved who it is
    ENCRYPTED = "encrypted"  # TLS without authenticating the server
    CLEAR_TEXT = "clear-text"
    REFUSED = "refused"  # the sender will not deliver here
    DEFERRED = "deferred"  # queued and retried later (a DNSSEC failure)
    DEFERRED_IF_SIGNED = "deferred-if-signed"  # deferred if the MX's zone is signed
    CANNOT_DELIVER = "cannot-deliver"  # the server does not take a message at all
    UNTESTED = "untested"  # the address could not be reached from here


class PolicyUse(StrEnum):
    """Whether the sender's policy (MTA-STS or DANE) governed what it did here."""

    APPLIED = "applied"
    ABSENT = "absent"  # no MTA-STS policy, no TLSA records: it acts opportunistically
    IGNORED = "ignored"  # TLSA records that are not DNSSEC-secure
    TESTING = "testing"  # an MTA-STS policy in testing mode: delivers anyway, and reports
    NOT_APPLICABLE = "not-applicable"  # the opportunistic sender has no policy


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderOutcome:
    """One kind of sender at one address: what it does, under which policy, and why."""

    delivery: Delivery
    policy: PolicyUse
    reason: str  # the whole outcome in one sentence, for people


@dataclass(frozen=True, slots=True, kw_only=True)
class SenderOutcomes:
    """What three kinds of sender do with this address: the question domain owners ask."""

    opportunistic: SenderOutcome  # encrypts if it can, accepts any certificate
    mta_sts: SenderOutcome  # applies the domain's MTA-STS policy
    dane: SenderOutcome  # validates DNSSEC and TLSA records


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
    injection: DeepProbe | None = None  # STARTTLS command injection probe; None: not run
    dane: DaneVerdict | None = None  # only with DNSSEC-secure TLSA records for the MX
    senders: SenderOutcomes | None = None  # without --no-policy-checks
    reused_from: str | None = None  # bulk runs: the target whose session these facts are


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
