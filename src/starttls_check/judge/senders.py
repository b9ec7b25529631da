"""What three kinds of sender do with each address, in words: derived from the facts and
the judged chain, for the table and the JSON. Pure.

A sender that does both MTA-STS and DANE uses DANE where TLSA records are secure (RFC 8461
§2); the columns show each kind on its own.
"""

from __future__ import annotations

from ..checks.context import HostContext
from ..checks.policies import never_reached
from ..model.dns import DnsStatus, TlsaLookup
from ..model.report import MtaStsFacts, SenderOutcomes
from ..policy.mta_sts import authenticates, mx_matches

_ANSWERED = (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN)


def _untested(host: HostContext) -> bool:
    return never_reached(host.facts)


def sender_outcomes(host: HostContext, mta: MtaStsFacts) -> SenderOutcomes:
    """Per address: what an opportunistic sender, one that applies MTA-STS, and one
    that validates DANE do."""
    return SenderOutcomes(
        opportunistic=_opportunistic(host),
        mta_sts=_mta_sts_sender(host, mta),
        dane=_dane_sender(host, host.tlsa),
    )


def _opportunistic(host: HostContext) -> str:
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


def _mta_sts_sender(host: HostContext, mta: MtaStsFacts) -> str:
    if mta.mode is None or mta.mode == "none":
        return "no MTA-STS policy applies: " + _opportunistic(host)
    if _untested(host):
        return _opportunistic(host)
    if not any(mx_matches(p, host.target.mx) for p in mta.mx_patterns):
        return _sts_refusal(mta.mode, f"{host.target.mx} is not in the policy's mx list")
    if host.facts.tls is None:
        return _sts_refusal(mta.mode, "no STARTTLS")
    if host.trust is None or not authenticates(host.trust):
        problems = (
            ", ".join(p.value for p in host.trust.problems) if host.trust else "no certificate"
        )
        return _sts_refusal(mta.mode, f"certificate not valid for {host.target.mx} ({problems})")
    return "delivers encrypted and authenticated"


def _sts_refusal(mode: str, why: str) -> str:
    if mode == "enforce":
        return f"refuses delivery: {why}"
    return f"delivers as without a policy, and reports: {why} (testing mode)"


def _dane_sender(host: HostContext, tlsa: TlsaLookup | None) -> str:
    if tlsa is not None and tlsa.status not in _ANSWERED:
        # RFC 7672 §2.2: deferred only if the host's address is secure; we cannot tell here.
        return (
            f"defers delivery if {host.target.mx}'s zone is DNSSEC-signed (the TLSA lookup "
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
