"""Fetch the records that make a domain's TLS enforceable, and the mail-authentication ones:
TLSA per MX (with its DNSSEC status), MTA-STS (TXT record and policy over HTTPS), TLS-RPT,
SPF and DMARC. The I/O edge of the policy checks; judging is in checks/policies.py.

DNS goes through the same injected name servers as the core. The MTA-STS policy host is
resolved by us and fetched from that address, never by name.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..dns.client import DnsAnswer, DnsClient
from ..model.dns import DnssecStatus, DnsStatus, TlsaLookup, TxtLookup
from ..model.settings import DnssecMode, Nameserver, Timeouts
from ..tls.certs import TrustStore
from .dane import tlsa_owner
from .mta_sts import FetchFailure, FetchResult
from .mta_sts_txt import parse_sts_txt
from .txt import decode_txt_rdata

if TYPE_CHECKING:
    from ..dns.anchors import TrustAnchors
from ..dns.verdict import ValidatedAnswer


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyEnvironment:
    """What the policy checks need from the run's settings."""

    dns: DnsClient
    nameservers: tuple[Nameserver, ...]
    timeouts: Timeouts
    dnssec_mode: DnssecMode
    anchors: TrustAnchors | None  # None: the IANA root anchors
    store: TrustStore
    https_port: int
    now: datetime


async def gather_txt(env: PolicyEnvironment, domain: str) -> dict[str, TxtLookup]:
    """MTA-STS, TLS-RPT, SPF and DMARC records, asked at the same time."""
    names = {
        "mta_sts": f"_mta-sts.{domain}",
        "tls_rpt": f"_smtp._tls.{domain}",
        "spf": domain,
        "dmarc": f"_dmarc.{domain}",
    }
    answers = await asyncio.gather(*(env.dns.query(n, "TXT") for n in names.values()))
    return {key: _txt(name, a) for (key, name), a in zip(names.items(), answers, strict=True)}


def _txt(name: str, answer: DnsAnswer) -> TxtLookup:
    records = tuple(decode_txt_rdata(r) for r in answer.records)
    return TxtLookup(name=name, status=answer.status, records=records, detail=answer.detail)


async def gather_tlsa(
    env: PolicyEnvironment, domain: str, mx_names: Sequence[str], port: int
) -> tuple[TlsaLookup, ...]:
    """TLSA for every MX; DNSSEC is checked only where records exist (no TLSA: no DANE).

    RFC 7672 §2.2: secure TLSA records count only when the MX records and the MX host's
    address records are secure too; otherwise an attacker could have chosen the host.
    """
    try:
        # A validation walk is bounded query by query; the whole phase is bounded too.
        async with asyncio.timeout(env.timeouts.dnssec):
            return await _checked_tlsa(env, domain, mx_names, port)
    except TimeoutError:
        reason = f"DNSSEC validation took longer than {env.timeouts.dnssec:g} s"
        return tuple(
            TlsaLookup(
                mx=mx,
                owner=tlsa_owner(mx, port),
                status=DnsStatus.TIMEOUT,
                dnssec=DnssecStatus.INDETERMINATE,
                dnssec_reason=reason,
                records=(),
            )
            for mx in mx_names
        )


async def _checked_tlsa(
    env: PolicyEnvironment, domain: str, mx_names: Sequence[str], port: int
) -> tuple[TlsaLookup, ...]:
    lookups = await asyncio.gather(*(_tlsa(env, mx, port) for mx in mx_names))
    if not any(t.dnssec is DnssecStatus.SECURE for t in lookups):
        return tuple(lookups)
    # Facts only: whether DANE then applies is judged in checks/policies.py.
    mx_status, mx_why = await _dnssec_of(env, domain, "MX")
    checked = []
    for lookup in lookups:
        if lookup.dnssec is DnssecStatus.SECURE:
            address_status, why = await _dnssec_of(env, lookup.mx, "A")
            if address_status is not DnssecStatus.SECURE:
                # An IPv6-only MX: its AAAA records must be secure instead.
                aaaa_status, aaaa_why = await _dnssec_of(env, lookup.mx, "AAAA")
                if aaaa_status is DnssecStatus.SECURE:
                    address_status, why = aaaa_status, aaaa_why
            lookup = dataclasses.replace(
                lookup,
                domain=domain,
                mx_dnssec=mx_status,
                mx_dnssec_reason=mx_why,
                address_dnssec=address_status,
                address_dnssec_reason=why,
            )
        checked.append(lookup)
    return tuple(checked)


async def _dnssec_of(env: PolicyEnvironment, name: str, rdtype: str) -> tuple[DnssecStatus, str]:
    """The DNSSEC status of `name`'s `rdtype` answer (or its proven absence), and why."""
    if env.dnssec_mode == DnssecMode.RESOLVER:
        answer = await env.dns.query(name, rdtype)
        if answer.authenticated:
            return DnssecStatus.SECURE, "the name server set the AD flag"
        return DnssecStatus.INSECURE, "no AD flag"
    validated = await _validated(env, name, rdtype)
    return validated.status, validated.reason


async def _validated(env: PolicyEnvironment, name: str, rdtype: str) -> ValidatedAnswer:
    # dnssec.py (and dnspython's DNSSEC code) load only when there is something to validate.
    from ..dns.anchors import ROOT_ANCHORS
    from ..dns.dnssec import validated_query

    anchors = env.anchors or ROOT_ANCHORS
    return await validated_query(env.dns, name, rdtype, anchors, now=env.now)


async def _tlsa(env: PolicyEnvironment, mx: str, port: int) -> TlsaLookup:
    owner = tlsa_owner(mx, port)
    answer = await env.dns.query(owner, "TLSA")
    if answer.status is DnsStatus.SERVFAIL and env.dnssec_mode == DnssecMode.VALIDATE:
        # A validating resolver answers SERVFAIL for bogus data; asking again with CD set
        # (validated_query does) says why: the commonest DANE outage is an expired RRSIG.
        validated = await _validated(env, owner, "TLSA")
        if validated.status is not DnssecStatus.INDETERMINATE:
            return TlsaLookup(
                mx=mx,
                owner=owner,
                status=validated.dns_status or answer.status,
                dnssec=validated.status,
                dnssec_reason=validated.reason,
                records=validated.records,
            )
    if answer.status is not DnsStatus.OK:
        return TlsaLookup(
            mx=mx,
            owner=owner,
            status=answer.status,
            dnssec=None,
            dnssec_reason=answer.detail,
            records=(),
        )
    if env.dnssec_mode == DnssecMode.RESOLVER:
        status = DnssecStatus.SECURE if answer.authenticated else DnssecStatus.INSECURE
        reason = "the name server set the AD flag" if answer.authenticated else "no AD flag"
        return TlsaLookup(
            mx=mx,
            owner=owner,
            status=answer.status,
            dnssec=status,
            dnssec_reason=reason,
            records=answer.records,
        )
    validated = await _validated(env, owner, "TLSA")
    records = validated.records or answer.records
    return TlsaLookup(
        mx=mx,
        owner=owner,
        status=answer.status,
        dnssec=validated.status,
        dnssec_reason=validated.reason,
        records=records,
    )


async def gather_mta_sts(env: PolicyEnvironment, domain: str, txt: TxtLookup) -> FetchResult | None:
    """The policy fetch, made only when the TXT record says there is one (RFC 8461 §3.3).

    Facts only: whether senders accept the served certificate is judged with the rest.
    """
    if txt.status is not DnsStatus.OK or not parse_sts_txt(txt.records).valid:
        return None
    host = f"mta-sts.{domain}"
    addresses = await asyncio.gather(env.dns.query(host, "A"), env.dns.query(host, "AAAA"))
    found = [r for a in addresses for r in a.records]
    if not found:
        reason = f"{host} has no address ({addresses[0].status}, {addresses[1].status})"
        return FetchResult(
            host=host, address="", port=env.https_port, failure=FetchFailure.CONNECT, reason=reason
        )
    from .https_fetch import fetch_policy  # only when a domain publishes MTA-STS

    try:
        return await fetch_policy(found[0], env.https_port, host, timeout=env.timeouts.https)
    except ValueError as exc:  # a policy host name that is no host name (library callers)
        return FetchResult(
            host=host,
            address=found[0],
            port=env.https_port,
            failure=FetchFailure.MALFORMED,
            reason=str(exc),
        )
