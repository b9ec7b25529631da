"""What three kinds of sender do with each address: derived from the facts and the judged
chain, for the table and the JSON. Pure.

A sender that does both MTA-STS and DANE uses DANE where TLSA records are secure (RFC 8461
§2); the outcomes show each kind on its own.
"""

from __future__ import annotations

import dataclasses

from ..checks.context import HostContext
from ..checks.policies import dane_dnssec, never_reached
from ..model.dns import DnssecStatus, DnsStatus
from ..model.report import (
    Delivery,
    MtaStsFacts,
    PolicyUse,
    SenderOutcome,
    SenderOutcomes,
    StsMode,
)
from ..model.session import tls_name
from ..policy.mta_sts import authenticates, mx_matches

_ANSWERED = (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN)


def sender_outcomes(host: HostContext, mta: MtaStsFacts) -> SenderOutcomes:
    """Per address: what an opportunistic sender, one that applies MTA-STS, and one
    that validates DANE do."""
    opportunistic = _opportunistic(host)
    return SenderOutcomes(
        opportunistic=opportunistic,
        mta_sts=_mta_sts_sender(host, mta, opportunistic),
        dane=_dane_sender(host, opportunistic),
    )


def _outcome(delivery: Delivery, reason: str, policy: PolicyUse) -> SenderOutcome:
    return SenderOutcome(delivery=delivery, policy=policy, reason=reason)


def _opportunistic(host: HostContext) -> SenderOutcome:
    facts, use = host.facts, PolicyUse.NOT_APPLICABLE
    if facts.tls is not None:
        reason = f"delivers encrypted ({tls_name(facts.tls.version)}), certificate not checked"
        return _outcome(Delivery.ENCRYPTED, reason, use)
    if never_reached(facts):
        reason = "untested: this address could not be reached from here"
        return _outcome(Delivery.UNTESTED, reason, use)
    if facts.greeting is not None and facts.greeting.code == 220 and facts.ehlo_reply is not None:
        return _outcome(Delivery.CLEAR_TEXT, "delivers in clear text", use)
    why = facts.error.detail if facts.error else "the session was refused"
    return _outcome(Delivery.CANNOT_DELIVER, f"cannot deliver here: {why}", use)


def _as_without(fallback: SenderOutcome, prefix: str, policy: PolicyUse) -> SenderOutcome:
    """No policy governs this address: the sender acts as an opportunistic one."""
    return dataclasses.replace(fallback, policy=policy, reason=prefix + fallback.reason)


def _mta_sts_sender(host: HostContext, mta: MtaStsFacts, fallback: SenderOutcome) -> SenderOutcome:
    if mta.mode is None or mta.mode is StsMode.NONE:
        return _as_without(fallback, "no MTA-STS policy applies: ", PolicyUse.ABSENT)
    if never_reached(host.facts):
        return dataclasses.replace(fallback, policy=PolicyUse.APPLIED)
    if not any(mx_matches(p, host.target.mx) for p in mta.mx_patterns):
        return _sts_refusal(mta.mode, f"{host.target.mx} is not in the policy's mx list", fallback)
    if host.facts.tls is None:
        return _sts_refusal(mta.mode, "no STARTTLS", fallback)
    if host.trust is None or not authenticates(host.trust):
        problems = (
            ", ".join(p.value for p in host.trust.problems) if host.trust else "no certificate"
        )
        why = f"certificate not valid for {host.target.mx} ({problems})"
        return _sts_refusal(mta.mode, why, fallback)
    reason = "delivers encrypted and authenticated"
    return _outcome(Delivery.AUTHENTICATED, reason, PolicyUse.APPLIED)


def _sts_refusal(mode: StsMode, why: str, fallback: SenderOutcome) -> SenderOutcome:
    if mode is StsMode.ENFORCE:
        return _outcome(Delivery.REFUSED, f"refuses delivery: {why}", PolicyUse.APPLIED)
    reason = f"delivers as without a policy, and reports: {why} (testing mode)"
    return _outcome(fallback.delivery, reason, PolicyUse.TESTING)


def _dane_sender(host: HostContext, fallback: SenderOutcome) -> SenderOutcome:
    tlsa, applied = host.tlsa, PolicyUse.APPLIED
    if tlsa is not None and tlsa.status not in _ANSWERED:
        # RFC 7672 §2.2: deferred only if the host's address is secure; we cannot tell here.
        reason = (
            f"defers delivery if {host.target.mx}'s zone is DNSSEC-signed (the TLSA lookup "
            f"failed: {tlsa.status}); otherwise: {fallback.reason}"
        )
        return _outcome(Delivery.DEFERRED_IF_SIGNED, reason, applied)
    if tlsa is None or tlsa.status is not DnsStatus.OK or not tlsa.records:
        return _as_without(fallback, "no TLSA records: ", PolicyUse.ABSENT)
    status, _ = dane_dnssec(tlsa)
    if status is DnssecStatus.BOGUS:
        reason = "defers delivery: DNSSEC validation of the TLSA records fails"
        return _outcome(Delivery.DEFERRED, reason, applied)
    if status is not DnssecStatus.SECURE:
        prefix = "TLSA records are not DNSSEC-secure and are ignored: "
        return _as_without(fallback, prefix, PolicyUse.IGNORED)
    if never_reached(host.facts):
        return dataclasses.replace(fallback, policy=applied)
    if host.facts.tls is None:
        reason = "refuses delivery: TLSA published, but no TLS (it will not send in clear)"
        return _outcome(Delivery.REFUSED, reason, applied)
    if host.dane is not None and host.dane.authenticated:
        reason = "delivers encrypted and authenticated (TLSA matched)"
        return _outcome(Delivery.AUTHENTICATED, reason, applied)
    if host.dane is not None and not host.dane.usable:
        reason = "delivers encrypted, unauthenticated: no TLSA record is usable (RFC 7672 §2.2)"
        return _outcome(Delivery.ENCRYPTED, reason, applied)
    why = host.dane.reason if host.dane is not None else "no TLSA record matches"
    return _outcome(Delivery.REFUSED, f"refuses delivery: {why}", applied)
