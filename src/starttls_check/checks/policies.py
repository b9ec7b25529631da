"""Findings from the downgrade defences (DANE, MTA-STS) and mail authentication records
(TLS-RPT, SPF, DMARC), and what each kind of sender does with each address. Pure.

DANE takes precedence over MTA-STS where both apply (RFC 8461 §2): a DANE-validating
sender uses secure TLSA records and ignores MTA-STS for that MX.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..judge.hints import finding
from ..model.dns import DnsStatus, TlsaLookup
from ..model.findings import Finding, Policy
from ..model.report import DaneVerdict, HostReport, MtaStsFacts, PolicyFacts, SenderOutcomes
from ..model.session import Phase, SessionOutcome
from ..policy.dane import findings as dane_findings
from ..policy.dane import match_chain
from ..policy.mta_sts import FetchResult, authenticates, evaluate_mta_sts, mx_matches, parse_sts_txt
from .mail_auth import evaluate_dmarc, evaluate_spf, evaluate_tls_rpt

# Shown with their severity but not part of the transport verdict: they are the domain's
# anti-spoofing measures, beside (not part of) whether mail travels encrypted.
ADVISORY_PREFIXES = ("spf.", "dmarc.", "tls-rpt.")
_ANSWERED = (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN)


def dane_for_host(
    subject: str, mx: str, tlsa: TlsaLookup | None, outcome: SessionOutcome, now: datetime
) -> tuple[DaneVerdict | None, list[Finding]]:
    """What a DANE-validating sender makes of this address (RFC 7672)."""
    if tlsa is None or tlsa.status is not DnsStatus.OK or not tlsa.records:
        if tlsa is not None and tlsa.status not in (
            DnsStatus.OK,
            DnsStatus.NO_DATA,
            DnsStatus.NXDOMAIN,
        ):
            message = f"TLSA lookup for {tlsa.owner} failed ({tlsa.status}): {tlsa.dnssec_reason}"
            return None, [finding("dane.lookup-failed", subject, message)]
        return None, []
    if tlsa.dnssec == "insecure":
        why = tlsa.dnssec_reason
        message = f"TLSA at {tlsa.owner} is not DNSSEC-secure ({why}): DANE senders ignore it"
        return None, [finding("dane.tlsa-insecure", subject, message)]
    if tlsa.dnssec == "bogus":
        message = f"TLSA at {tlsa.owner} fails DNSSEC validation: {tlsa.dnssec_reason}"
        return None, [finding("dane.tlsa-bogus", subject, message)]
    if tlsa.dnssec != "secure":
        message = f"DNSSEC status of {tlsa.owner} unknown: {tlsa.dnssec_reason}"
        return None, [finding("dane.tlsa-indeterminate", subject, message)]
    error = outcome.facts.error
    if outcome.facts.tls is None and error is not None and error.phase is Phase.CONNECT:
        return None, []  # never reached: whether it does TLS is unknown, not "no"
    if outcome.facts.tls is None:
        message = (
            "TLSA records are published but TLS could not be established: DANE senders will "
            "not deliver in clear text"
        )
        verdict = DaneVerdict(
            authenticated=False, reason="no TLS session", usable=(), matches=(), unusable=()
        )
        return verdict, [finding("dane.no-starttls", subject, message)]
    result = match_chain(tlsa.records, outcome.chain_der, mx, now=now)
    verdict = DaneVerdict(
        authenticated=result.authenticated,
        reason=result.reason,
        usable=tuple(result.usable),
        matches=tuple(
            f"{m.record} matched certificate {m.certificate_index} ({m.certificate_subject})"
            for m in result.matches
        ),
        unusable=tuple(f"{record}: {why}" for record, why in result.unusable),
    )
    return verdict, list(dane_findings(result, subject))


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
    findings = list(
        evaluate_mta_sts(
            domain,
            mta.txt.status,
            parse_sts_txt(mta.txt.records),
            fetch,
            mx_hosts=mx_names,
            cert_valid_for=cert_ok,
            starttls_ok=tls_ok,
        )
    )
    dane_in_use = any(t.dnssec == "secure" and t.records for t in facts.tlsa)
    in_use = dane_in_use or mta.mode in ("enforce", "testing")
    findings += evaluate_tls_rpt(
        domain, _records(facts.tls_rpt.status, facts.tls_rpt.records), policy_in_use=in_use
    )
    findings += evaluate_spf(domain, _records(facts.spf.status, facts.spf.records))
    findings += evaluate_dmarc(domain, _records(facts.dmarc.status, facts.dmarc.records))
    every_mx_secure = bool(facts.tlsa) and all(
        t.dnssec == "secure" and t.records for t in facts.tlsa
    )
    if policy.require_dane and not every_mx_secure:
        findings.append(
            finding(
                "dane.required",
                domain,
                "the policy requires DANE: not every MX has DNSSEC-secure TLSA records",
            )
        )
    if policy.require_mta_sts and mta.mode != "enforce":
        state = f"mode {mta.mode}" if mta.mode else "no usable policy"
        findings.append(
            finding(
                "mta-sts.required", domain, f"the policy requires MTA-STS in enforce mode: {state}"
            )
        )
    return findings


def _untested(host: HostReport) -> bool:
    """Never reached (refused, timed out, no route): nothing is known about its TLS."""
    error = host.facts.error
    return error is not None and error.phase is Phase.CONNECT


def _records(status: DnsStatus, records: tuple[str, ...]) -> tuple[str, ...] | None:
    """Records to lint, `()` for none published, None when the lookup itself failed."""
    if status is DnsStatus.OK:
        return records
    return () if status in (DnsStatus.NO_DATA, DnsStatus.NXDOMAIN) else None


def sender_outcomes(host: HostReport, mta: MtaStsFacts, tlsa: TlsaLookup | None) -> SenderOutcomes:
    """Per address, in words: what an opportunistic sender, one that applies MTA-STS, and
    one that validates DANE do. (A sender that does both uses DANE where TLSA records are
    secure, RFC 8461 §2; the two columns show each on its own.)"""
    return SenderOutcomes(
        opportunistic=_opportunistic(host),
        mta_sts=_mta_sts_sender(host, mta),
        dane=_dane_sender(host, tlsa),
    )


def _opportunistic(host: HostReport) -> str:
    facts = host.facts
    if facts.tls is not None:
        return f"delivers encrypted ({facts.tls.version}), certificate not checked"
    if _untested(host):
        return "untested: this address could not be reached from here"
    if facts.greeting is not None and facts.greeting.code == 220 and facts.ehlo_reply is not None:
        return "delivers in clear text"
    return "cannot deliver here: " + (
        facts.error.detail if facts.error else "the session was refused"
    )


def _mta_sts_sender(host: HostReport, mta: MtaStsFacts) -> str:
    if mta.mode is None or mta.mode == "none":
        return "no MTA-STS policy applies: " + _opportunistic(host)
    if _untested(host):
        return _opportunistic(host)
    if not any(mx_matches(p, host.mx) for p in mta.mx_patterns):
        return _sts_refusal(mta.mode, f"{host.mx} is not in the policy's mx list")
    if host.facts.tls is None:
        return _sts_refusal(mta.mode, "no STARTTLS")
    if host.trust is None or not authenticates(host.trust):
        problems = (
            ", ".join(p.value for p in host.trust.problems) if host.trust else "no certificate"
        )
        return _sts_refusal(mta.mode, f"certificate not valid for {host.mx} ({problems})")
    return "delivers encrypted and authenticated"


def _sts_refusal(mode: str, why: str) -> str:
    if mode == "enforce":
        return f"refuses delivery: {why}"
    return f"delivers as without a policy, and reports: {why} (testing mode)"


def _dane_sender(host: HostReport, tlsa: TlsaLookup | None) -> str:
    if tlsa is not None and tlsa.status not in _ANSWERED:
        # RFC 7672 §2.2: deferred only if the host's address is secure; we cannot tell here.
        return (
            f"defers delivery if {host.mx}'s zone is DNSSEC-signed (the TLSA lookup "
            f"failed: {tlsa.status}); otherwise: {_opportunistic(host)}"
        )
    if tlsa is None or tlsa.status is not DnsStatus.OK or not tlsa.records:
        return "no TLSA records: " + _opportunistic(host)
    if tlsa.dnssec == "bogus":
        return "defers delivery: DNSSEC validation of the TLSA records fails"
    if tlsa.dnssec != "secure":
        return "TLSA records are not DNSSEC-secure and are ignored: " + _opportunistic(host)
    if _untested(host):
        return _opportunistic(host)
    if host.facts.tls is None:
        return "refuses delivery: TLSA published, but no TLS (it will not send in clear)"
    if host.dane is not None and host.dane.authenticated:
        return "delivers encrypted and authenticated (TLSA matched)"
    if host.dane is not None and not host.dane.usable:
        return "delivers encrypted, unauthenticated: no TLSA record is usable (RFC 7672 §2.2)"
    reason = host.dane.reason if host.dane is not None else "no TLSA record matches"
    return f"refuses delivery: {reason}"
