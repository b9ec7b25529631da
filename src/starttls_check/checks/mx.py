"""Findings about the domain's DNS: does it exist, where does its mail go."""

from __future__ import annotations

from ..model.catalogue import finding
from ..model.dns import DnsFacts, DnsStatus, MxHost
from ..model.findings import Finding, Severity
from .context import DomainContext

_NO_ANSWER = (DnsStatus.TIMEOUT, DnsStatus.UNREACHABLE)
_DNS_CODES = {
    DnsStatus.NXDOMAIN: "dns.nxdomain",
    DnsStatus.SERVFAIL: "dns.servfail",
    DnsStatus.TIMEOUT: "dns.timeout",
    DnsStatus.UNREACHABLE: "dns.unreachable",
    DnsStatus.MALFORMED: "dns.malformed",
    DnsStatus.BOGUS: "dns.dnssec-bogus",
}


def check_dns(domain: DomainContext) -> tuple[Finding, ...]:
    """Domain check: the MX lookup and each MX host's addresses."""
    return evaluate_dns(domain.dns)


def evaluate_dns(facts: DnsFacts) -> tuple[Finding, ...]:
    """Findings about the MX lookup and each MX host's addresses."""
    domain = facts.domain
    if code := _DNS_CODES.get(facts.mx_status):
        return (finding(code, domain, f"MX lookup for {domain} failed: {facts.mx_detail}"),)
    if facts.null_mx:
        message = f"{domain} publishes a null MX (RFC 7505): it accepts no mail, nothing to check"
        return (finding("mx.null", domain, message),)
    findings: list[Finding] = []
    if facts.ignored_records:
        findings.append(_ignored(domain, facts.ignored_records))
    usable = [h for h in facts.hosts if h.addresses]
    for host in facts.hosts:
        findings += _host_findings(domain, host, any_usable=bool(usable))
    return tuple(findings)


def _ignored(domain: str, records: tuple[str, ...]) -> Finding:
    listed = ", ".join(records[:5])
    if any(r.endswith(" .") for r in records):
        return finding("mx.null-mixed", domain, f"null MX mixed with other MX records: {listed}")
    return finding("mx.bad-record", domain, f"MX records not used: {listed}")


def _host_findings(domain: str, host: MxHost, *, any_usable: bool) -> list[Finding]:
    findings: list[Finding] = []
    if host.cname_chain:
        message = f"MX {host.name} is an alias (CNAME) for {host.cname_chain[-1]}"
        findings.append(finding("mx.cname", host.name, message))
    if host.addresses:
        if host.implicit:
            message = f"{domain} has no MX record; mail goes to its own address (implicit MX)"
            findings.append(finding("mx.implicit", domain, message))
    elif _unanswered(host):
        # Not the MX's fault as far as we know: the domain's verdict becomes inconclusive
        # unless another MX settles it.
        message = f"no answer to the address lookup for {host.name} ({_statuses(host)})"
        findings.append(finding("dns.timeout", host.name, message, severity=Severity.WARN))
    elif host.implicit:
        message = f"{domain} has no MX record and no A/AAAA record: no mail can be delivered"
        findings.append(finding("mx.none", domain, message))
    else:
        # A backup MX that does not resolve is skipped by senders; with no usable MX at all
        # nothing can be delivered.
        severity = Severity.WARN if any_usable else Severity.FAIL
        message = f"MX {host.name} has no address ({_statuses(host)})"
        findings.append(finding("mx.unresolvable", host.name, message, severity=severity))
    if host.truncated:
        message = f"MX {host.name} has more addresses than are probed; the first were checked"
        findings.append(finding("mx.too-many-addresses", host.name, message))
    return findings


def _unanswered(host: MxHost) -> bool:
    """At least one lookup went unanswered and none said the name has no address."""
    lookups = (host.ipv4_status, host.ipv6_status)
    return any(s in _NO_ANSWER for s in lookups) and all(
        s in (*_NO_ANSWER, DnsStatus.NO_DATA) for s in lookups
    )


def _statuses(host: MxHost) -> str:
    return f"A: {host.ipv4_status}, AAAA: {host.ipv6_status}"
