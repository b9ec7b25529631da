"""Facts to findings to verdicts, for one address and for a whole domain. Pure."""

from __future__ import annotations

from datetime import datetime

from ..checks.capabilities import evaluate_capabilities
from ..checks.certificate import evaluate_certificate
from ..checks.deep import evaluate_deep
from ..checks.policies import ADVISORY_PREFIXES, dane_for_host
from ..checks.session import evaluate_session, transient_findings
from ..dns.targets import ProbeTarget
from ..model.dns import DnsFacts, DnsStatus, TlsaLookup
from ..model.findings import SEVERITY_RANK, Finding, Policy, Severity, Verdict
from ..model.report import HostReport
from ..model.session import DeepProbe, ErrorKind, Phase, SessionFacts, SessionOutcome
from ..tls.certs import TrustStore
from ..tls.chain_judgement import judge_chain
from .policy import apply_policy, expiry_findings, tls_minimum_findings

_VERDICT_OF_SEVERITY = {
    Severity.INFO: Verdict.PASS,
    Severity.WARN: Verdict.WARN,
    Severity.FAIL: Verdict.FAIL,
}
_VERDICT_RANK = {Verdict.PASS: 0, Verdict.WARN: 1, Verdict.FAIL: 2}


def subject_of(target: ProbeTarget) -> str:
    """How findings name an address: `mx.example.com [192.0.2.1]:25`."""
    return f"{target.mx} [{target.address}]:{target.port}"


def evaluate_host(
    target: ProbeTarget,
    outcome: SessionOutcome,
    store: TrustStore,
    now: datetime,
    policy: Policy,
    earlier_attempts: tuple[SessionFacts, ...] = (),
    deep: tuple[DeepProbe, ...] = (),
    *,
    tlsa: TlsaLookup | None = None,
) -> HostReport:
    """Judge one session: its dialogue, its TLS, its certificate, under the policy."""
    subject = subject_of(target)
    facts = outcome.facts
    findings = [*transient_findings(subject, earlier_attempts, facts)]
    findings += _without_stripped_duplicates(
        evaluate_session(subject, facts), evaluate_capabilities(subject, facts)
    )
    trust = None
    if facts.tls is not None:
        findings += tls_minimum_findings(subject, facts.tls.version, policy)
        trust = judge_chain(outcome.chain_der, target.mx, store, now)
        findings += evaluate_certificate(subject, trust, facts.tls.chain)
        findings += expiry_findings(subject, facts.tls.chain, trust, policy)
    findings += evaluate_deep(subject, deep)
    dane, dane_found = dane_for_host(subject, target.mx, tlsa, outcome, now)
    findings += dane_found
    judged = apply_policy(findings, policy)
    return HostReport(
        mx=target.mx,
        preference=target.preference,
        address=target.address,
        port=target.port,
        facts=facts,
        trust=trust,
        findings=judged,
        verdict=host_verdict(facts, judged),
        earlier_attempts=earlier_attempts,
        deep=deep,
        dane=dane,
    )


def _without_stripped_duplicates(
    session: tuple[Finding, ...], capabilities: list[Finding]
) -> list[Finding]:
    """When a middlebox stripped STARTTLS, 'not offered' or 'refused' would send the reader
    to the server's TLS settings; the stripping finding says what is really going on."""
    if any(f.code == "starttls.stripped" for f in capabilities):
        superseded = {"starttls.not-offered", "starttls.refused"}
        session = tuple(f for f in session if f.code not in superseded)
    return [*session, *capabilities]


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
    """The verdict of the worst finding that counts (waived findings do not)."""
    counted = [f.severity for f in findings if not f.waived and not _advisory(f)]
    if not counted:
        return Verdict.PASS
    worst = max(counted, key=SEVERITY_RANK.__getitem__)
    return _VERDICT_OF_SEVERITY[worst]


def _advisory(finding: Finding) -> bool:
    return finding.code.startswith(ADVISORY_PREFIXES)


def domain_verdict(
    dns_facts: DnsFacts, findings: tuple[Finding, ...], hosts: tuple[HostReport, ...]
) -> Verdict:
    """The domain takes its worst address; unreachable DNS or all timeouts: inconclusive."""
    if dns_facts.mx_status in (DnsStatus.TIMEOUT, DnsStatus.UNREACHABLE):
        return Verdict.INCONCLUSIVE
    verdicts = [worst_severity_verdict(findings)] + [h.verdict for h in hosts]
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    tested = [h.verdict for h in hosts if h.verdict is not Verdict.UNTESTED]
    if hosts and (not tested or all(v is Verdict.INCONCLUSIVE for v in tested)):
        return Verdict.INCONCLUSIVE
    if not hosts and any(f.code == "dns.timeout" and not f.waived for f in findings):
        return Verdict.INCONCLUSIVE  # no MX address could be looked up
    # An address that timed out while others answered is worth a warning, not a pass.
    ranked = [Verdict.WARN if v is Verdict.INCONCLUSIVE else v for v in verdicts]
    ranked = [v for v in ranked if v in _VERDICT_RANK]
    return max(ranked, key=_VERDICT_RANK.__getitem__)
