"""Findings from the downgrade defences (DANE, MTA-STS) and the mail authentication
records (TLS-RPT, SPF, DMARC). Pure.

DANE takes precedence over MTA-STS where both apply (RFC 8461 §2): a DANE-validating
sender uses secure TLSA records and ignores MTA-STS for that MX.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ..model.catalogue import finding, hint
from ..model.dns import DnssecStatus, DnsStatus, TlsaLookup
from ..model.findings import Finding, Policy
from ..model.report import HostReport, PolicyFacts, StsMode
from ..model.session import Phase, SessionFacts
from ..policy.mta_sts import FetchResult, authenticates
from ..policy.mta_sts_txt import parse_sts_txt
from .context import DomainContext, HostContext
from .dane import findings as dane_findings
from .mail_auth import evaluate_dmarc, evaluate_spf, evaluate_tls_rpt
from .mta_sts import evaluate_mta_sts

_ANSWERED = (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN)


def check_dane(host: HostContext) -> list[Finding]:
    """Host check: what a DANE-validating sender makes of this address (RFC 7672)."""
    subject, tlsa = host.subject, host.tlsa
    if tlsa is None or tlsa.status is not DnsStatus.OK or not tlsa.records:
        if tlsa is not None and tlsa.status not in _ANSWERED:
            message = f"TLSA lookup for {tlsa.owner} failed ({tlsa.status}): {tlsa.dnssec_reason}"
            return [finding("dane.lookup-failed", subject, message)]
        return []
    status, why = dane_dnssec(tlsa)
    if status is DnssecStatus.INSECURE:
        message = f"TLSA at {tlsa.owner} is not DNSSEC-secure ({why}): DANE senders ignore it"
        return [finding("dane.tlsa-insecure", subject, message)]
    if status is DnssecStatus.BOGUS:
        message = f"TLSA at {tlsa.owner} fails DNSSEC validation: {why}"
        return [finding("dane.tlsa-bogus", subject, message)]
    if status is not DnssecStatus.SECURE:
        message = f"DNSSEC status of {tlsa.owner} unknown: {why}"
        return [finding("dane.tlsa-indeterminate", subject, message)]
    if host.dane is not None:
        return list(dane_findings(host.dane, subject, served_spki=served_spki(host)))
    if never_reached(host.facts):
        return []  # whether it does TLS is unknown, not "no"
    message = (
        "TLSA records are published but TLS could not be established: DANE senders will "
        "not deliver in clear text"
    )
    return [finding("dane.no-starttls", subject, message)]


def dane_dnssec(tlsa: TlsaLookup) -> tuple[DnssecStatus | None, str]:
    """The DNSSEC status DANE senders act on, and why.

    RFC 7672 §2.2: signed TLSA records count only when the domain's MX records and the MX
    host's address records are secure too; otherwise an attacker could have chosen the host
    (and its TLSA records). Such TLSA records are treated as insecure.
    """
    if tlsa.dnssec is not DnssecStatus.SECURE:
        return tlsa.dnssec, tlsa.dnssec_reason
    for status, what, why in (
        (tlsa.mx_dnssec, f"the MX records of {tlsa.domain}", tlsa.mx_dnssec_reason),
        (tlsa.address_dnssec, f"the address records of {tlsa.mx}", tlsa.address_dnssec_reason),
    ):
        if status is not None and status is not DnssecStatus.SECURE:
            reason = f"TLSA is signed, but {what} are not secure ({why})"
            return DnssecStatus.INSECURE, reason + ": DANE does not apply (RFC 7672 §2.2)"
    return DnssecStatus.SECURE, tlsa.dnssec_reason


def served_spki(host: HostContext) -> str | None:
    """SHA-256 of the served leaf's SubjectPublicKeyInfo, as a `3 1 1` record holds it,
    computed by the code that matches TLSA records; None without a certificate."""
    from ..policy.dane import spki_sha256

    chain = host.outcome.chain_der
    return spki_sha256(chain[0]) if chain else None


def secure_tlsa(tlsa: TlsaLookup | None) -> bool:
    """DNSSEC-secure TLSA records exist: DANE senders use them (RFC 7672 §2.2)."""
    return (
        tlsa is not None
        and tlsa.status is DnsStatus.OK
        and bool(tlsa.records)
        and dane_dnssec(tlsa)[0] is DnssecStatus.SECURE
    )


def never_reached(facts: SessionFacts) -> bool:
    """Refused, timed out, no route: nothing is known about the address's TLS."""
    return facts.error is not None and facts.error.phase is Phase.CONNECT


def check_policies(domain: DomainContext) -> list[Finding]:
    """Domain check: MTA-STS, TLS-RPT, SPF, DMARC, and the policy's requirements."""
    if domain.policies is None:
        return []
    return domain_policy_findings(
        domain.name, domain.policies, domain.fetch, domain.hosts, domain.policy
    )


def domain_policy_findings(
    domain: str,
    facts: PolicyFacts,
    fetch: FetchResult | None,
    hosts: Sequence[HostReport],
    policy: Policy,
) -> list[Finding]:
    """MTA-STS (with its MX cross-check), TLS-RPT, SPF, DMARC, and the requirements."""
    mta = facts.mta_sts
    mx_names = list(dict.fromkeys(h.mx for h in hosts))
    tested = [h for h in hosts if not _untested(h)]
    cert_ok = {
        mx: all(h.trust is not None and authenticates(h.trust) for h in tested if h.mx == mx)
        for mx in mx_names
        if any(h.mx == mx for h in tested)
    }
    tls_ok = {
        mx: all(h.facts.tls is not None for h in tested if h.mx == mx)
        for mx in mx_names
        if any(h.mx == mx for h in tested)
    }
    mta_sts_findings = evaluate_mta_sts(
        domain,
        mta.txt.status,
        parse_sts_txt(mta.txt.records),
        fetch,
        mx_hosts=mx_names,
        cert_valid_for=cert_ok,
        starttls_ok=tls_ok,
    )
    # Hints name the domain and the MX: the one concerned, else the most preferred.
    first_mx = mx_names[0] if mx_names else ""
    findings = [
        _hinted(f, domain=domain, mx=f.subject.host if f.subject.host in mx_names else first_mx)
        for f in mta_sts_findings
    ]
    dane_in_use = any(secure_tlsa(t) for t in facts.tlsa)
    in_use = dane_in_use or mta.mode in (StsMode.ENFORCE, StsMode.TESTING)
    findings += evaluate_tls_rpt(
        domain, _records(facts.tls_rpt.status, facts.tls_rpt.records), policy_in_use=in_use
    )
    findings += evaluate_spf(domain, _records(facts.spf.status, facts.spf.records), facts.spf_walk)
    findings += evaluate_dmarc(
        domain, _records(facts.dmarc.status, facts.dmarc.records), facts.dmarc_fallback
    )
    every_mx_secure = bool(facts.tlsa) and all(secure_tlsa(t) for t in facts.tlsa)
    if policy.require_dane and not every_mx_secure:
        secure = {t.mx for t in facts.tlsa if secure_tlsa(t)}
        lacking = next((h for h in hosts if h.mx not in secure), None)
        findings.append(
            finding(
                "dane.required",
                domain,
                "the policy requires DANE: not every MX has DNSSEC-secure TLSA records",
                values=_tlsa_values(lacking) if lacking is not None else None,
            )
        )
    if policy.require_mta_sts and mta.mode is not StsMode.ENFORCE:
        state = f"mode {mta.mode}" if mta.mode else "no usable policy"
        findings.append(
            finding(
                "mta-sts.required", domain, f"the policy requires MTA-STS in enforce mode: {state}"
            )
        )
    return findings


def _hinted(f: Finding, **values: str) -> Finding:
    return dataclasses.replace(f, hint=hint(f.code, values))


def _tlsa_values(host: HostReport) -> dict[str, str]:
    """The MX, port and served key for a ready-to-paste TLSA record."""
    values = {"mx": host.mx, "port": str(host.port)}
    tls = host.facts.tls
    if tls is not None and tls.chain and tls.chain[0].spki_sha256:
        values["spki"] = tls.chain[0].spki_sha256
    return values


def _untested(host: HostReport) -> bool:
    return never_reached(host.facts)


def _records(status: DnsStatus, records: tuple[str, ...]) -> tuple[str, ...] | None:
    """Records to lint, `()` for none published, None when the lookup itself failed."""
    if status is DnsStatus.OK:
        return records
    return () if status in (DnsStatus.NO_DATA, DnsStatus.NXDOMAIN) else None
