"""Reports: one per address (`HostReport`) and one per domain (`DomainReport`), with the
downgrade-defence facts (DANE, MTA-STS) that belong to them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .dns import DnsFacts, TlsaLookup, TxtLookup
from .findings import Finding, Policy, Verdict
from .session import DeepProbe, SessionFacts, TrustVerdict


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
