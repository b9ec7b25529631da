"""Asking the name servers: one question at a time, each answer a fact.

The resolver never reads /etc/resolv.conf: the caller names the servers. dnspython's
exceptions are translated here, once, into `DnsStatus` values, because "no such domain",
"no record of that type", "server failure" and "timeout" mean different things to a user.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.name
import dns.nameserver
import dns.resolver

from ..model.dns import DnsStatus
from ..model.settings import Nameserver

MAX_RECORDS = 256  # more records than any sane answer has; the rest is ignored
MAX_QUERIES_IN_FLIGHT = 32  # a thousand domains must not mean three thousand queries at once


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsAnswer:
    """One question's outcome: records as text, and the aliases followed to reach them."""

    status: DnsStatus
    records: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    detail: str = ""
    authenticated: bool = False  # the AD flag: the name server says it validated DNSSEC


class DnsClient:
    """Asks the injected name servers, with EDNS and a bounded time per question."""

    def __init__(self, nameservers: tuple[Nameserver, ...], *, timeout: float) -> None:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(n.host, n.port) for n in nameservers]
        resolver.lifetime = timeout
        resolver.timeout = max(1.0, timeout / 3)  # leave time to retry a lost datagram
        resolver.use_edns(0, 0, 1232)
        # AD in the query asks for AD in the answer without DO (RFC 6840 §5.7), which is all
        # `--dnssec resolver` reads.
        resolver.flags = dns.flags.RD | dns.flags.AD
        self._resolver = resolver
        self._in_flight = asyncio.Semaphore(MAX_QUERIES_IN_FLIGHT)

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask for `rdtype` records of `name`; never raises for what the servers do."""
        try:
            async with self._in_flight:
                answer = await self._resolver.resolve(dns.name.from_text(name), rdtype)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(status=DnsStatus.NXDOMAIN, detail=f"{name} does not exist")
        except dns.resolver.NoAnswer:
            return DnsAnswer(status=DnsStatus.NO_DATA, detail=f"{name} has no {rdtype} record")
        except dns.resolver.NoNameservers as exc:
            return _no_nameservers(exc)
        except dns.exception.Timeout:
            return DnsAnswer(status=DnsStatus.TIMEOUT, detail="no name server answered in time")
        except dns.exception.DNSException as exc:
            return DnsAnswer(status=DnsStatus.MALFORMED, detail=str(exc)[:300])
        records = tuple(rdata.to_text() for rdata in list(answer)[:MAX_RECORDS])
        chain = tuple(
            rdata.target.to_text(omit_final_dot=True)
            for rrset in answer.chaining_result.cnames
            for rdata in rrset
        )
        authenticated = bool(answer.response.flags & dns.flags.AD)
        return DnsAnswer(
            status=DnsStatus.OK, records=records, cname_chain=chain, authenticated=authenticated
        )


def _no_nameservers(exc: dns.resolver.NoNameservers) -> DnsAnswer:
    """All servers failed: unreachable if none of them ever answered, else a server failure."""
    errors = exc.kwargs.get("errors") or []
    answered = [e for e in errors if len(e) > 4 and e[4] is not None]
    if errors and not answered:
        reasons = "; ".join(f"{e[0]} port {e[2]}: {e[3]}" for e in errors[:3])
        return DnsAnswer(status=DnsStatus.UNREACHABLE, detail=f"name server unreachable: {reasons}")
    return DnsAnswer(status=DnsStatus.SERVFAIL, detail=str(exc)[:300])
