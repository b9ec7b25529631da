"""Check domains: resolve, probe every address concurrently, judge. The library's entry point.

Everything external is injected through `CheckSettings` (name servers, port, trust store,
clock, timeouts, limits, EHLO name), which is what lets tests and the demo run on loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.session import transient_reply
from ..dns.client import DnsClient
from ..dns.mailhosts import direct_address, resolve_host, resolve_mail_hosts
from ..dns.names import to_ascii_domain
from ..dns.targets import ProbeTarget, Target, is_hostname
from ..judge.evaluate import judge_domain
from ..judge.gathered import GatheredDomain, GatheredHost, GatheredPolicies
from ..model.choices import MailProtocol
from ..model.dns import DnsFacts, DnsStatus, TlsaLookup
from ..model.findings import Policy
from ..model.report import DomainReport
from ..model.session import DeepProbe, SessionFacts, SessionOutcome
from ..model.settings import DnssecMode, Nameserver, Timeouts
from ..policy.gather import (
    PolicyEnvironment,
)
from ..smtp.protocols import PROTOCOLS
from ..smtp.session import SessionSettings, probe_smtp
from ..tls.certs import TrustStore
from ..tls.trust_store import load_trust_store
from .deep import injection_probe, run_deep_probes
from .steps import Job, gather_all

if TYPE_CHECKING:
    from ..dns.anchors import TrustAnchors


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckSettings:
    """Everything a check depends on outside itself."""

    nameservers: tuple[Nameserver, ...]
    port: int | None = None  # None: the protocol's usual port (25 for SMTP)
    protocol: MailProtocol = MailProtocol.SMTP
    timeouts: Timeouts = field(default_factory=Timeouts)
    ehlo_name: str = "starttls-check.localdomain"
    ca_files: tuple[Path, ...] = ()
    use_system_trust: bool = True
    trust_store: TrustStore | None = None  # overrides ca_files/use_system_trust when given
    concurrency: int = 64  # sessions open at once, across all domains
    per_address: int = 1  # sessions open at once to one address: be polite
    clock: Callable[[], datetime] = field(default=_utc_now)
    policy: Policy = field(default_factory=Policy)  # for domains not in `policies`
    policies: Mapping[str, Policy] = field(default_factory=dict)  # by A-label domain
    retries: int = 1  # after a transient 4xx reply, try an address again this many times
    retry_backoff: float = 2.0  # seconds before the first retry; doubled for each next one
    baseline: Mapping[str, Mapping[str, Any]] | None = None  # an earlier run, by A-label
    deep: bool = False  # --deep: a dozen more sessions per address (deep.py)
    injection_probe: bool = True  # one more session per address: STARTTLS command injection
    policy_checks: bool = True  # DANE, MTA-STS, TLS-RPT, SPF, DMARC (--no-policy-checks)
    dnssec_mode: DnssecMode = DnssecMode.VALIDATE
    trust_anchors: TrustAnchors | None = None  # None: the IANA root anchors
    mta_sts_port: int = 443  # where the MTA-STS policy is fetched (tests use loopback ports)

    def policy_for(self, ascii_domain: str) -> Policy:
        return self.policies.get(ascii_domain, self.policy)


async def check_domains_async(
    domains: Sequence[str | Target], settings: CheckSettings
) -> tuple[DomainReport, ...]:
    """Check several domains (or bracketed hosts, see `Target`) at once; reports come
    back in the order asked."""
    store = settings.trust_store or load_trust_store(
        settings.ca_files, use_system=settings.use_system_trust
    )
    run = _Run(settings, store)
    return tuple(await asyncio.gather(*(run.check(d) for d in domains)))


async def check_domain_async(domain: str, settings: CheckSettings) -> DomainReport:
    """Check one domain (see `check_domains_async`)."""
    (report,) = await check_domains_async([domain], settings)
    return report


def check_domain(domain: str, settings: CheckSettings) -> DomainReport:
    """Check one domain from synchronous code (runs its own event loop)."""
    return asyncio.run(check_domain_async(domain, settings))


def canonical_target(target: Target, ascii_name: str) -> str:
    """The target in A-labels as it would be written: `example.com`, `example.com:587`,
    `[mx.example.com]:25`. Reports (and baselines) are keyed by it."""
    text = ascii_name if target.domain is not None else f"[{ascii_name}]"
    return f"{text}:{target.port}" if target.port else text


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressSessions:
    """What one address's sessions found: the session, the attempts before it, probes."""

    outcome: SessionOutcome
    earlier_attempts: tuple[SessionFacts, ...] = ()
    deep: tuple[DeepProbe, ...] = ()
    injection: DeepProbe | None = None

    def gathered(
        self, target: ProbeTarget, tlsa: TlsaLookup | None, reused_from: str | None = None
    ) -> GatheredHost:
        """These sessions as the judge takes them, for `target` (one MX name's address)."""
        return GatheredHost(
            target=target,
            outcome=self.outcome,
            earlier_attempts=self.earlier_attempts,
            deep=self.deep,
            injection=self.injection,
            tlsa=tlsa,
            reused_from=reused_from,
        )


def _policies(found: Mapping[str, Any]) -> GatheredPolicies | None:
    """The policy steps' results as the judge takes them; None without policy checks."""
    txt, tlsa, mail_auth = found["txt"], found["tlsa"], found["mail_auth"]
    if txt is None or tlsa is None or mail_auth is None:
        return None
    spf_walk, (dmarc_fallback, dmarc_applied) = mail_auth
    return GatheredPolicies(
        tlsa=tlsa,
        mta_sts=txt["mta_sts"],
        tls_rpt=txt["tls_rpt"],
        spf=txt["spf"],
        dmarc=txt["dmarc"],
        fetch=found["mta_sts"],
        spf_walk=spf_walk,
        dmarc_fallback=dmarc_fallback,
        dmarc_applied=dmarc_applied,
    )


class _Run:
    """One invocation: shared resolver, limits, trust store and clock."""

    def __init__(self, settings: CheckSettings, store: TrustStore) -> None:
        self.settings = settings
        self.store = store
        self.dns = DnsClient(settings.nameservers, timeout=settings.timeouts.dns)
        self.total = asyncio.Semaphore(settings.concurrency)
        self.per_address: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_address)
        )

    async def check(self, wanted: str | Target) -> DomainReport:
        """Gather everything for one target, then judge it once."""
        gathered = await self.gather(wanted)
        baseline = self.settings.baseline.get(gathered.key) if self.settings.baseline else None
        return judge_domain(gathered, self.store, self.settings.policy_for(gathered.name), baseline)

    async def gather(self, wanted: str | Target) -> GatheredDomain:
        """Every step of GATHER_STEPS (run/steps.py), each as soon as what it needs is in;
        then the facts assembled for the judge."""
        started = time.perf_counter()
        checked_at = self.settings.clock()
        target = wanted if isinstance(wanted, Target) else Target(text=wanted, domain=wanted)
        name = to_ascii_domain(target.name) if target.address is None else target.name
        job = Job(
            target=target,
            name=name,
            port=target.port or self.settings.port or self.default_port,
            checked_at=checked_at,
            env=self.policy_environment(checked_at) if self.wants_policies(target) else None,
        )
        found = await gather_all(self, job)
        hosts: tuple[GatheredHost, ...] = found["sessions"]
        policies = _policies(found)
        if policies is not None:
            by_mx = {t.mx: t for t in policies.tlsa}
            hosts = tuple(dataclasses.replace(h, tlsa=by_mx.get(h.target.mx)) for h in hosts)
        return GatheredDomain(
            text=target.text,
            key=canonical_target(target, name),
            name=name,
            checked_at=checked_at,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            dns=found["dns"],
            hosts=hosts,
            policies=policies,
        )

    @property
    def default_port(self) -> int:
        return PROTOCOLS[self.settings.protocol].default_port

    def wants_policies(self, target: Target) -> bool:
        return self.settings.policy_checks and target.domain is not None

    def policy_environment(self, now: datetime) -> PolicyEnvironment:
        return PolicyEnvironment(
            dns=self.dns,
            nameservers=self.settings.nameservers,
            timeouts=self.settings.timeouts,
            dnssec_mode=self.settings.dnssec_mode,
            anchors=self.settings.trust_anchors,
            store=self.store,
            https_port=self.settings.mta_sts_port,
            now=now,
        )

    async def why_servfail(self, facts: DnsFacts) -> DnsFacts:
        """A validating resolver answers SERVFAIL for data that fails DNSSEC. Asked again
        with checking disabled and validated here, such an answer says what is wrong (the
        commonest cause: expired signatures), which SERVFAIL alone never does."""
        if self.settings.dnssec_mode != DnssecMode.VALIDATE:
            return facts
        from ..dns.anchors import ROOT_ANCHORS
        from ..dns.dnssec import validated_query
        from ..model.dns import DnssecStatus

        anchors = self.settings.trust_anchors or ROOT_ANCHORS
        now = self.settings.clock()
        validated = await validated_query(self.dns, facts.domain, "MX", anchors, now=now)
        if validated.status is not DnssecStatus.BOGUS:
            return facts
        detail = f"DNSSEC validation fails: {validated.reason} ({facts.mx_detail})"
        return dataclasses.replace(facts, mx_status=DnsStatus.BOGUS, mx_detail=detail)

    async def resolve(self, target: Target, name: str) -> DnsFacts:
        """MX lookup for a domain; for a bracketed host its addresses; an address as is."""
        if target.domain is not None:
            facts = await resolve_mail_hosts(self.dns, name)
            if facts.mx_status is DnsStatus.SERVFAIL:
                facts = await self.why_servfail(facts)
            return facts
        if target.host is not None:
            host = await resolve_host(self.dns, name, preference=0, implicit=False)
        else:
            host = direct_address(name)
        detail = "no MX lookup: the host was named directly"
        return DnsFacts(
            domain=name, mx_status=DnsStatus.OK, mx_detail=detail, null_mx=False, hosts=(host,)
        )

    async def probe(
        self, target: ProbeTarget, checked_at: datetime, tlsa: TlsaLookup | None = None
    ) -> GatheredHost:
        # SNI carries the MX name; a name DNS handed us that is not a host name gets none.
        server_name = target.mx if is_hostname(target.mx) else None
        found = await self.address_sessions(target, server_name, checked_at)
        return found.gathered(target, tlsa)

    def session_settings(self, checked_at: datetime) -> SessionSettings:
        return SessionSettings(
            ehlo_name=self.settings.ehlo_name,
            timeout=self.settings.timeouts.smtp,
            deadline=self.settings.timeouts.session,
            checked_at=checked_at,
            protocol=self.settings.protocol,
        )

    def address_slot(self, address: str) -> AbstractAsyncContextManager[Any]:
        """One session at a time to an address (politeness; a bulk run paces them too)."""
        return self.per_address[address]

    async def address_sessions(
        self, target: ProbeTarget, server_name: str | None, checked_at: datetime
    ) -> AddressSessions:
        """The address's session, then its probes (each its own session), one at a time."""
        settings = self.session_settings(checked_at)
        # The address's own slot first: sessions queued behind one busy address must not
        # hold global slots that sessions to other addresses could use.
        async with self.address_slot(target.address), self.total:
            outcome, earlier = await self.attempt(target, server_name, settings)
            deep: tuple[DeepProbe, ...] = ()
            injection: DeepProbe | None = None

            async def once(variant: SessionSettings) -> SessionOutcome:
                return (await self.attempt(target, server_name, variant))[0]

            if outcome.facts.tls is not None:  # else there is nothing to probe
                if self.settings.injection_probe or self.settings.deep:
                    injection = await injection_probe(once, settings)
                if self.settings.deep:
                    deep = await run_deep_probes(once, settings)
        return AddressSessions(
            outcome=outcome, earlier_attempts=earlier, deep=deep, injection=injection
        )

    async def attempt(
        self, target: ProbeTarget, server_name: str | None, settings: SessionSettings
    ) -> tuple[SessionOutcome, tuple[SessionFacts, ...]]:
        """One session, retried after a transient 4xx reply with back-off. The caller holds
        the address's slot through the back-off: nobody else knocks meanwhile."""
        earlier: list[SessionFacts] = []
        for attempt in range(self.settings.retries + 1):
            outcome = await probe_smtp(target.address, target.port, server_name, settings)
            if attempt == self.settings.retries or transient_reply(outcome.facts) is None:
                break
            earlier.append(outcome.facts)
            await asyncio.sleep(self.settings.retry_backoff * 2**attempt)
        return outcome, tuple(earlier)
