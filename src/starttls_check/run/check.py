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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks.session import transient_reply
from ..dns.client import DnsClient
from ..dns.mailhosts import direct_address, resolve_host, resolve_mail_hosts
from ..dns.names import to_ascii_domain
from ..dns.targets import ProbeTarget, Target, is_hostname, probe_targets
from ..judge.evaluate import judge_domain
from ..judge.gathered import GatheredDomain, GatheredHost, GatheredPolicies
from ..model.choices import MailProtocol
from ..model.dns import DnsFacts, DnsStatus, TlsaLookup, TxtLookup
from ..model.findings import Policy
from ..model.report import DmarcFallback, DomainReport, SpfWalk
from ..model.session import DeepProbe, SessionFacts, SessionOutcome
from ..model.settings import DnssecMode, Nameserver, Timeouts
from ..policy.gather import (
    PolicyEnvironment,
    gather_dmarc_fallback,
    gather_mta_sts,
    gather_spf_walk,
    gather_tlsa,
    gather_txt,
)
from ..smtp.protocols import PROTOCOLS
from ..smtp.session import SessionSettings, probe_smtp
from ..tls.certs import TrustStore
from ..tls.trust_store import load_trust_store
from .deep import injection_probe, run_deep_probes

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


@dataclass(frozen=True, slots=True)
class _PolicyRecords:
    env: PolicyEnvironment
    txt: dict[str, TxtLookup]
    tlsa: tuple[TlsaLookup, ...]


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
        """DNS first; then every address's session beside the policy records, and the
        MTA-STS fetch beside the sessions once its TXT record is known."""
        started = time.perf_counter()
        checked_at = self.settings.clock()
        target = wanted if isinstance(wanted, Target) else Target(text=wanted, domain=wanted)
        name = to_ascii_domain(target.name) if target.address is None else target.name
        dns_facts = await self.resolve(target, name)
        port = target.port or self.settings.port or PROTOCOLS[self.settings.protocol].default_port
        targets = probe_targets(dns_facts, port)
        records = await self.policy_records(target, dns_facts, port, checked_at)
        tlsa = {t.mx: t for t in records.tlsa} if records else {}
        mta_sts = (
            asyncio.create_task(gather_mta_sts(records.env, name, records.txt["mta_sts"]))
            if records
            else None
        )  # the HTTPS fetch runs beside the SMTP sessions
        mail_auth = asyncio.create_task(self.mail_auth(records, name)) if records else None
        try:
            hosts = tuple(
                await asyncio.gather(*(self.probe(t, checked_at, tlsa.get(t.mx)) for t in targets))
            )
        except BaseException:
            for task in (mta_sts, mail_auth):  # never leave a lookup running behind a failure
                if task is not None:
                    task.cancel()
            raise
        policies = None
        if records is not None and mta_sts is not None and mail_auth is not None:
            spf_walk, (dmarc_fallback, dmarc_applied) = await mail_auth
            policies = GatheredPolicies(
                tlsa=records.tlsa,
                mta_sts=records.txt["mta_sts"],
                tls_rpt=records.txt["tls_rpt"],
                spf=records.txt["spf"],
                dmarc=records.txt["dmarc"],
                fetch=await mta_sts,
                spf_walk=spf_walk,
                dmarc_fallback=dmarc_fallback,
                dmarc_applied=dmarc_applied,
            )
        return GatheredDomain(
            text=target.text,
            key=canonical_target(target, name),
            name=name,
            checked_at=checked_at,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
            dns=dns_facts,
            hosts=hosts,
            policies=policies,
        )

    async def policy_records(
        self, target: Target, dns_facts: DnsFacts, port: int, now: datetime
    ) -> _PolicyRecords | None:
        """TXT and TLSA records for a domain that receives mail; None when not asked for."""
        if not self.settings.policy_checks or target.domain is None or not dns_facts.hosts:
            return None
        env = PolicyEnvironment(
            dns=self.dns,
            nameservers=self.settings.nameservers,
            timeouts=self.settings.timeouts,
            dnssec_mode=self.settings.dnssec_mode,
            anchors=self.settings.trust_anchors,
            store=self.store,
            https_port=self.settings.mta_sts_port,
            now=now,
        )
        mx_names = [h.name for h in dns_facts.hosts if h.addresses]
        aliases = {h.name: h.cname_chain[-1] for h in dns_facts.hosts if h.cname_chain}
        txt, tlsa = await asyncio.gather(
            gather_txt(env, dns_facts.domain),
            gather_tlsa(env, dns_facts.domain, mx_names, port, aliases),
        )
        return _PolicyRecords(env=env, txt=txt, tlsa=tlsa)

    async def mail_auth(
        self, records: _PolicyRecords, name: str
    ) -> tuple[SpfWalk | None, tuple[DmarcFallback | None, str | None]]:
        """The SPF include walk and DMARC's organisational domain, beside the sessions."""
        return await asyncio.gather(
            gather_spf_walk(records.env, name, records.txt["spf"]),
            gather_dmarc_fallback(records.env, name, records.txt["dmarc"]),
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
        settings = SessionSettings(
            ehlo_name=self.settings.ehlo_name,
            timeout=self.settings.timeouts.smtp,
            deadline=self.settings.timeouts.session,
            checked_at=checked_at,
            protocol=self.settings.protocol,
        )
        # SNI carries the MX name; a name DNS handed us that is not a host name gets none.
        server_name = target.mx if is_hostname(target.mx) else None
        # The address's own slot first: sessions queued behind one busy address must not
        # hold global slots that sessions to other addresses could use.
        async with self.per_address[target.address], self.total:
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
        return GatheredHost(
            target=target,
            outcome=outcome,
            earlier_attempts=earlier,
            deep=deep,
            injection=injection,
            tlsa=tlsa,
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
