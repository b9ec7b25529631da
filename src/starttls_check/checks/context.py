"""What a check is given: every fact gathered for one address or one domain, plus the
facts derived from them offline (the certificate verdict, the DANE match). Pure data.

A check never asks the network or the clock: the run gathers first, the judge derives,
then each check in `HOST_CHECKS` / `DOMAIN_CHECKS` reads one of these and returns findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..dns.targets import ProbeTarget
from ..model.dns import DnsFacts, TlsaLookup
from ..model.findings import Finding, Policy, Subject
from ..model.report import HostReport, MtaStsFacts, PolicyFacts
from ..model.session import DeepProbe, SessionFacts, SessionOutcome, TrustVerdict

if TYPE_CHECKING:
    from ..policy.dane import DaneResult
    from ..policy.mta_sts import FetchResult


@dataclass(frozen=True, slots=True, kw_only=True)
class HostContext:
    """One MX name x address x port, as the judge sees it."""

    subject: Subject  # how findings name the address: `mx.example.com [192.0.2.1]:25`
    target: ProbeTarget
    outcome: SessionOutcome  # the session's facts and the served chain
    earlier_attempts: tuple[SessionFacts, ...]  # sessions that ended on a 4xx before a retry
    deep: tuple[DeepProbe, ...]  # --deep probes, each its own session
    injection: DeepProbe | None  # the STARTTLS command injection probe, its own session
    tlsa: TlsaLookup | None  # the MX's TLSA records, when policy checks ran
    trust: TrustVerdict | None  # the chain judged offline; None without TLS
    dane: DaneResult | None  # the chain matched against DNSSEC-secure TLSA records
    mta_sts: MtaStsFacts | None  # the domain's MTA-STS facts; None without policy checks
    policy: Policy
    now: datetime

    @property
    def facts(self) -> SessionFacts:
        return self.outcome.facts


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainContext:
    """A whole domain (or a bracketed host), after every address has been judged."""

    name: str  # A-labels: the domain, host or address
    dns: DnsFacts
    hosts: tuple[HostReport, ...]
    policies: PolicyFacts | None  # None with --no-policy-checks, or for a bracketed host
    fetch: FetchResult | None  # the MTA-STS policy fetch, when one was made
    policy: Policy
    baseline: Mapping[str, Any] | None  # this domain's report in --baseline, if any


HostCheck = Callable[[HostContext], Iterable[Finding]]
DomainCheck = Callable[[DomainContext], Iterable[Finding]]
