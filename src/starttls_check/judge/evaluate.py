"""Gathered facts to a report: derive what the facts imply offline (the certificate
verdict, the DANE match, what each kind of sender does), run every check in the registry
once, apply the owner's policy, take the verdicts. Pure: no I/O, the clock is the run's."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..checks.context import DomainContext, HostContext
from ..checks.policies import secure_tlsa
from ..dns.targets import ProbeTarget
from ..model.dns import DnsFacts, DnsStatus
from ..model.findings import SEVERITY_RANK, Finding, Policy, Severity, Subject, Verdict
from ..model.report import DaneVerdict, DomainReport, HostReport, MtaStsFacts, PolicyFacts
from ..model.session import ErrorKind, Phase, SessionFacts
from ..policy.mta_sts import FetchResult
from ..tls.certs import TrustStore
from ..tls.chain_judgement import judge_chain
from .counting import counts
from .gathered import GatheredDomain, GatheredHost
from .mta_sts import judge_fetch, mta_sts_facts
from .policy import apply_policy
from .registry import DOMAIN_CHECKS, HOST_CHECKS
from .senders import sender_outcomes

if TYPE_CHECKING:
    from ..policy.dane import DaneResult

_VERDICT_OF_SEVERITY = {
    Severity.INFO: Verdict.PASS,
    Severity.WARN: Verdict.WARN,
    Severity.FAIL: Verdict.FAIL,
}
_VERDICT_RANK = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


def subject_of(target: ProbeTarget) -> Subject:
    """How findings name an address: `mx.example.com [192.0.2.1]:25`."""
    return Subject(host=target.mx, address=target.address, port=target.port)


def judge_domain(
    gathered: GatheredDomain,
    store: TrustStore,
    policy: Policy,
    baseline: Mapping[str, Any] | None = None,
) -> DomainReport:
    """The report for one target, judged once from everything gathered for it."""
    policies, fetch = policy_facts(gathered, store)
    mta_sts = policies.mta_sts if policies is not None else None
    hosts = tuple(
        judge_host(h, store, gathered.checked_at, policy, mta_sts) for h in gathered.hosts
    )
    context = DomainContext(
        name=gathered.name,
        dns=gathered.dns,
        hosts=hosts,
        policies=policies,
        fetch=fetch,
        policy=policy,
        baseline=baseline,
    )
    findings = apply_policy((f for check in DOMAIN_CHECKS for f in check(context)), policy)
    return DomainReport(
        domain=gathered.text,
        ascii_domain=gathered.key,
        checked_at=gathered.checked_at,
        elapsed_ms=gathered.elapsed_ms,
        dns=gathered.dns,
        hosts=hosts,
        findings=findings,
        verdict=domain_verdict(gathered.dns, findings, hosts),
        policy=policy,
        policies=policies,
    )


def policy_facts(
    gathered: GatheredDomain, store: TrustStore
) -> tuple[PolicyFacts | None, FetchResult | None]:
    """The policy records as senders see them, and the judged MTA-STS fetch."""
    records = gathered.policies
    if records is None:
        return None, None
    fetch = (
        judge_fetch(records.fetch, store, gathered.checked_at)
        if records.fetch is not None
        else None
    )
    facts = PolicyFacts(
        tlsa=records.tlsa,
        mta_sts=mta_sts_facts(gathered.name, records.mta_sts, fetch),
        tls_rpt=records.tls_rpt,
        spf=records.spf,
        dmarc=records.dmarc,
        spf_walk=records.spf_walk,
        dmarc_fallback=records.dmarc_fallback,
        dmarc_applied=records.dmarc_applied,
    )
    return facts, fetch


def judge_host(
    gathered: GatheredHost,
    store: TrustStore,
    now: datetime,
    policy: Policy,
    mta_sts: MtaStsFacts | None = None,
) -> HostReport:
    """One address: its dialogue, its TLS, its certificate, under the policy. With the
    domain's MTA-STS facts (policy checks on), also what each kind of sender does."""
    context = host_context(gathered, store, now, policy, mta_sts)
    findings = apply_policy((f for check in HOST_CHECKS for f in check(context)), policy)
    target = gathered.target
    return HostReport(
        mx=target.mx,
        preference=target.preference,
        address=target.address,
        port=target.port,
        facts=context.facts,
        trust=context.trust,
        findings=findings,
        verdict=host_verdict(context.facts, findings),
        earlier_attempts=gathered.earlier_attempts,
        deep=gathered.deep,
        injection=gathered.injection,
        dane=dane_verdict(context),
        senders=sender_outcomes(context, mta_sts) if mta_sts is not None else None,
        reused_from=gathered.reused_from,
    )


def host_context(
    gathered: GatheredHost,
    store: TrustStore,
    now: datetime,
    policy: Policy,
    mta_sts: MtaStsFacts | None = None,
) -> HostContext:
    """The facts of one address plus what they imply offline: trust and the DANE match."""
    outcome, mx = gathered.outcome, gathered.target.mx
    tls = outcome.facts.tls
    trust = judge_chain(outcome.chain_der, mx, store, now) if tls is not None else None
    dane: DaneResult | None = None
    if tls is not None and gathered.tlsa is not None and secure_tlsa(gathered.tlsa):
        from ..policy.dane import match_chain  # only where there are secure TLSA records

        dane = match_chain(gathered.tlsa.records, outcome.chain_der, mx, now=now)
    return HostContext(
        subject=subject_of(gathered.target),
        target=gathered.target,
        outcome=outcome,
        earlier_attempts=gathered.earlier_attempts,
        deep=gathered.deep,
        injection=gathered.injection,
        tlsa=gathered.tlsa,
        trust=trust,
        dane=dane,
        mta_sts=mta_sts,
        policy=policy,
        now=now,
    )


def dane_verdict(host: HostContext) -> DaneVerdict | None:
    """The DANE match as the report shows it; only with DNSSEC-secure TLSA records."""
    if not secure_tlsa(host.tlsa):
        return None
    result = host.dane
    if result is None:
        error = host.facts.error
        if error is not None and error.phase is Phase.CONNECT:
            return None  # never reached: nothing to say
        return DaneVerdict(
            authenticated=False, reason="no TLS session", usable=(), matches=(), unusable=()
        )
    return DaneVerdict(
        authenticated=result.authenticated,
        reason=result.reason,
        usable=tuple(result.usable),
        matches=tuple(
            f"{m.record} matched certificate {m.certificate_index} ({m.certificate_subject})"
            for m in result.matches
        ),
        unusable=tuple(f"{record}: {why}" for record, why in result.unusable),
    )


def host_verdict(facts: SessionFacts, findings: tuple[Finding, ...]) -> Verdict:
    """Untested or inconclusive when the network, not the server, decided; else the worst."""
    error = facts.error
    if error is not None and error.phase is Phase.CONNECT:
        if error.kind is ErrorKind.UNREACHABLE:
            return Verdict.UNTESTED
        if error.kind is ErrorKind.TIMEOUT:
            return Verdict.INCONCLUSIVE
    return worst_severity_verdict(findings)


def worst_severity_verdict(findings: tuple[Finding, ...]) -> Verdict:
    """The verdict of the worst finding that counts (`counting.counts`)."""
    counted = [f.severity for f in findings if counts(f)]
    if not counted:
        return Verdict.PASS
    worst = max(counted, key=SEVERITY_RANK.__getitem__)
    return _VERDICT_OF_SEVERITY[worst]


def domain_verdict(
    dns_facts: DnsFacts, findings: tuple[Finding, ...], hosts: tuple[HostReport, ...]
) -> Verdict:
    """The domain takes its worst address; unreachable DNS or all timeouts: inconclusive."""
    if dns_facts.mx_status in (DnsStatus.TIMEOUT, DnsStatus.UNREACHABLE):
        return Verdict.INCONCLUSIVE
    verdicts = [worst_severity_verdict(findings)] + [h.verdict for h in hosts]
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if dns_facts.null_mx:
        return Verdict.NO_MAIL  # nothing travels, encrypted or not: neither pass nor fail
    tested = [h.verdict for h in hosts if h.verdict is not Verdict.UNTESTED]
    if hosts and (not tested or all(v is Verdict.INCONCLUSIVE for v in tested)):
        return Verdict.INCONCLUSIVE
    if not hosts and any(f.code == "dns.timeout" and not f.waived for f in findings):
        return Verdict.INCONCLUSIVE  # no MX address could be looked up
    # An address that timed out while others answered is worth a warning, not a pass.
    ranked = [Verdict.WARN if v is Verdict.INCONCLUSIVE else v for v in verdicts]
    ranked = [v for v in ranked if v in _VERDICT_RANK]
    return max(ranked, key=_VERDICT_RANK.__getitem__)
