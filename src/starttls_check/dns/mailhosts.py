"""Where does mail for a domain go? MX lookup, implicit MX, null MX, addresses of each MX.

RFC 5321 §5.1: MX records in preference order; no MX record (but the name exists) means
the domain itself is the implicit MX; RFC 7505: a lone `MX 0 .` means no mail at all.
"""

from __future__ import annotations

import asyncio

from ..model.dns import DnsFacts, DnsStatus, MxHost
from .client import DnsAnswer, DnsClient
from .targets import MAX_ADDRESSES_PER_HOST, MAX_MX_HOSTS, is_null_mx, parse_mx


async def resolve_mail_hosts(client: DnsClient, domain: str) -> DnsFacts:
    """The MX hosts of `domain` (A-labels), each with its addresses, as facts."""
    answer = await client.query(domain, "MX")
    if answer.status is DnsStatus.NO_DATA:  # the name exists without MX: implicit MX
        host = await resolve_host(client, domain, preference=0, implicit=True)
        return DnsFacts(
            domain=domain,
            mx_status=answer.status,
            mx_detail=answer.detail,
            null_mx=False,
            hosts=(host,),
        )
    if answer.status is not DnsStatus.OK:
        return DnsFacts(
            domain=domain, mx_status=answer.status, mx_detail=answer.detail, null_mx=False, hosts=()
        )
    records, ignored = parse_mx(answer.records)
    if is_null_mx(records):
        return DnsFacts(
            domain=domain, mx_status=answer.status, mx_detail="", null_mx=True, hosts=()
        )
    # A null MX beside real ones is a mistake (RFC 7505 §3); senders skip "." as unusable.
    ignored += [f"{r.preference} ." for r in records if not r.exchange]
    usable = [r for r in records if r.exchange]
    ignored += [f"{r.preference} {r.exchange} (not probed)" for r in usable[MAX_MX_HOSTS:]]
    names = list(dict.fromkeys(r.exchange for r in usable[:MAX_MX_HOSTS]))
    preference: dict[str, int] = {}
    for record in usable:
        preference.setdefault(record.exchange, record.preference)
    hosts = await asyncio.gather(
        *(resolve_host(client, name, preference=preference[name], implicit=False) for name in names)
    )
    return DnsFacts(
        domain=domain,
        mx_status=answer.status,
        mx_detail="",
        null_mx=False,
        hosts=tuple(hosts),
        ignored_records=tuple(ignored),
    )


async def resolve_host(client: DnsClient, name: str, *, preference: int, implicit: bool) -> MxHost:
    """A and AAAA of one MX name, asked at the same time."""
    ipv4, ipv6 = await asyncio.gather(client.query(name, "A"), client.query(name, "AAAA"))
    addresses = ipv4.records + ipv6.records
    return MxHost(
        name=name,
        preference=preference,
        implicit=implicit,
        cname_chain=_aliases(ipv4, ipv6),
        addresses=addresses[:MAX_ADDRESSES_PER_HOST],
        ipv4_status=ipv4.status,
        ipv6_status=ipv6.status,
        truncated=len(addresses) > MAX_ADDRESSES_PER_HOST,
    )


def _aliases(*answers: DnsAnswer) -> tuple[str, ...]:
    for answer in answers:
        if answer.cname_chain:
            return answer.cname_chain
    return ()


def direct_address(address: str) -> MxHost:
    """An address named directly (`[192.0.2.1]`): nothing to look up."""
    return MxHost(
        name=address,
        preference=0,
        implicit=False,
        cname_chain=(),
        addresses=(address,),
        ipv4_status=DnsStatus.OK,
        ipv6_status=DnsStatus.OK,
    )
