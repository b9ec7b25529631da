"""Fetch the records that make a domain's TLS enforceable, and the mail-authentication ones:
TLSA per MX (with its DNSSEC status), MTA-STS (TXT record and policy over HTTPS), TLS-RPT,
SPF and DMARC. The I/O edge of the policy checks; judging is in checks/policies.py.

DNS goes through the same injected name servers as the core. The MTA-STS policy host is
resolved by us and fetched from that address, never by name.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..dns.client import DnsAnswer, DnsClient
from ..dns.names import tlsa_owner
from ..model.dns import DnssecStatus, DnsStatus, TlsaLookup, TxtLookup
from ..model.report import DmarcFallback, SpfQuery, SpfWalk
from ..model.settings import DnssecMode, Nameserver, Timeouts
from ..tls.certs import TrustStore
from .dmarc import dmarc_record, dmarc_records
from .mail_auth import spf_record
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


# The SPF walk's bounds: the RFC's 10 lookups are counted by policy/spf_walk.py, and a walk
# stops there; these bound the work whatever the records say (a, mx and exists terms ask
# without counting against the limit's end, macros are never followed).
SPF_MAX_QUERIES = 40
SPF_MAX_ROUNDS = 12  # include depth: the limit of 10 ends a deeper chain before this
SPF_MAX_RECORD = 4096  # characters of one TXT record; a longer one is not followed
_ANSWERED = (DnsStatus.OK, DnsStatus.NO_DATA, DnsStatus.NXDOMAIN)


async def gather_spf_walk(env: PolicyEnvironment, domain: str, spf: TxtLookup) -> SpfWalk | None:
    """The domain's SPF record followed through include: and redirect= (RFC 7208
    §4.6.4), each name and type asked once; None without a single SPF record."""
    from .spf_walk import walk  # only for a domain with an SPF record

    record = spf_record(spf.records) if spf.status is DnsStatus.OK else None
    if record is None:
        return None
    answers: dict[tuple[str, str], SpfQuery] = {}
    stopped = ""
    try:
        async with asyncio.timeout(env.timeouts.dns_walk):
            for _ in range(SPF_MAX_ROUNDS):
                needed = list(dict.fromkeys(walk(domain, record, answers).needed))
                if not needed:
                    break
                if len(answers) + len(needed) > SPF_MAX_QUERIES:
                    stopped = f"stopped at the bound of {SPF_MAX_QUERIES} queries"
                    needed = needed[: SPF_MAX_QUERIES - len(answers)]
                got = await asyncio.gather(*(_spf_query(env, n, t) for n, t in needed))
                answers.update({(q.name, q.rdtype): q for q in got})
                if stopped:
                    break
            else:
                stopped = f"stopped after {SPF_MAX_ROUNDS} rounds of includes"
    except TimeoutError:
        stopped = f"stopped after {env.timeouts.dns_walk:g} s"
    lookups = walk(domain, record, answers).lookups
    return SpfWalk(lookups=lookups, queries=tuple(answers.values()), stopped=stopped)


async def _spf_query(env: PolicyEnvironment, name: str, rdtype: str) -> SpfQuery:
    answer = await env.dns.query(name, rdtype)
    records = answer.records
    if rdtype == "TXT":
        records = tuple(decode_txt_rdata(r) for r in records)
    if any(len(r) > SPF_MAX_RECORD for r in records):
        why = f"a record longer than {SPF_MAX_RECORD} characters, not followed"
        return SpfQuery(
            name=name, rdtype=rdtype, status=DnsStatus.MALFORMED, records=(), detail=why
        )
    return SpfQuery(
        name=name, rdtype=rdtype, status=answer.status, records=records, detail=answer.detail
    )


async def gather_dmarc_fallback(
    env: PolicyEnvironment, domain: str, dmarc: TxtLookup
) -> tuple[DmarcFallback | None, str | None]:
    """Where DMARC policy discovery ends (RFC 7489 §6.6.3), and the `_dmarc` name whose
    record applies: the domain's own; or, when it has none, its organisational domain's."""
    if dmarc.status not in _ANSWERED:
        return None, None  # a failed lookup is a DNS problem; receivers get a temperror
    own = dmarc_records(dmarc.records)
    if own:  # one applies; several: discovery ends there, none applies (§6.6.3 step 4)
        return None, dmarc.name if len(own) == 1 else None
    from ..dns.public_suffix import PublicSuffixListMissing, registrable_domain

    try:
        organisational = registrable_domain(domain)
    except PublicSuffixListMissing as exc:
        fallback = DmarcFallback(
            organisational_domain=None, lookup=None, reason=str(exc), unknown=True
        )
        return fallback, None
    if organisational is None or organisational == domain.rstrip(".").lower():
        kind = "a public suffix" if organisational is None else "its own organisational domain"
        why = f"{domain} is {kind}"
        return DmarcFallback(organisational_domain=organisational, lookup=None, reason=why), None
    name = f"_dmarc.{organisational}"
    lookup = _txt(name, await env.dns.query(name, "TXT"))
    applied = name if lookup.status is DnsStatus.OK and dmarc_record(lookup.records) else None
    return DmarcFallback(organisational_domain=organisational, lookup=lookup), applied


def _txt(name: str, answer: DnsAnswer) -> TxtLookup:
    records = tuple(decode_txt_rdata(r) for r in answer.records)
    return TxtLookup(name=name, status=answer.status, records=records, detail=answer.detail)


async def gather_tlsa(
    env: PolicyEnvironment,
    domain: str,
    mx_names: Sequence[str],
    port: int,
    aliases: Mapping[str, str] | None = None,
) -> tuple[TlsaLookup, ...]:
    """TLSA for every MX; DNSSEC is checked only where records exist (no TLSA: no DANE).

    RFC 7672 §2.2: secure TLSA records count only when the MX records and the MX host's
    address records are secure too; otherwise an attacker could have chosen the host.
    `aliases` maps an MX name that is a CNAME to the name its address lookup ended at.
    """
    try:
        # A validation walk is bounded query by query; the whole phase is bounded too.
        async with asyncio.timeout(env.timeouts.dns_walk):
            return await _checked_tlsa(env, domain, mx_names, port, aliases or {})
    except TimeoutError:
        reason = f"DNSSEC validation took longer than {env.timeouts.dns_walk:g} s"
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
    env: PolicyEnvironment,
    domain: str,
    mx_names: Sequence[str],
    port: int,
    aliases: Mapping[str, str],
) -> tuple[TlsaLookup, ...]:
    lookups = await asyncio.gather(*(_tlsa_of(env, mx, port, aliases.get(mx)) for mx in mx_names))
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


async def _tlsa_of(env: PolicyEnvironment, mx: str, port: int, target: str | None) -> TlsaLookup:
    """RFC 7672 §2.2.2: for an MX whose name is a CNAME, the TLSA records at the name the
    expansion ends at come first, then those at the MX name itself. (Whether the expansion
    was secure is the address records' DNSSEC status, checked with the rest.)"""
    if target is None or target.rstrip(".").lower() == mx.rstrip(".").lower():
        return await _tlsa(env, mx, tlsa_owner(mx, port))
    expanded = await _tlsa(env, mx, tlsa_owner(target, port))
    if expanded.status in (DnsStatus.NO_DATA, DnsStatus.NXDOMAIN):
        return await _tlsa(env, mx, tlsa_owner(mx, port))
    return expanded


async def _tlsa(env: PolicyEnvironment, mx: str, owner: str) -> TlsaLookup:
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
