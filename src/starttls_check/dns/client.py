"""Asking the name servers: one question at a time, each answer a fact.

The resolver never reads /etc/resolv.conf: the caller names the servers. dnspython's
exceptions are translated here, once, into `DnsStatus` values, because "no such domain",
"no record of that type", "server failure" and "timeout" mean different things to a user.

Two ways to ask, one set of servers and one bound on queries in flight: `query` for the
records of a name (aliases followed, the AD flag read), and `fetch_message` for the whole
response, RRSIGs and denial proofs included, which DNSSEC validation (dns/dnssec.py) judges
itself.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from ..model.dns import DnsStatus
from ..model.settings import Nameserver

MAX_RECORDS = 256  # more records than any sane answer has; the rest is ignored
MAX_QUERIES_IN_FLIGHT = 32  # a thousand domains must not mean three thousand queries at once
_PAYLOAD = 1232  # the 2020 DNS flag day's safe UDP size; TCP when the answer is larger


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsAnswer:
    """One question's outcome: records as text, and the aliases followed to reach them."""

    status: DnsStatus
    records: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    detail: str = ""
    authenticated: bool = False  # the AD flag: the name server says it validated DNSSEC


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsMessage:
    """One question's whole response (NOERROR or NXDOMAIN), or why none came."""

    status: DnsStatus
    """OK when ``message`` is set, whatever its rcode; else the failure."""
    message: dns.message.Message | None = None
    detail: str = ""
    """Why there is no message, in a few words: ``timeout``, ``REFUSED``, ..."""


class DnsClient:
    """Asks the injected name servers, with EDNS and a bounded time per question."""

    def __init__(self, nameservers: tuple[Nameserver, ...], *, timeout: float) -> None:
        self._nameservers = nameservers
        self._timeout = timeout
        self._silent: set[Nameserver] = set()  # failed once: asked last from then on
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
        answer, _ = await self._ask(name, rdtype)
        return answer

    async def _ask(self, name: str, rdtype: str) -> tuple[DnsAnswer, float]:
        """The answer, and for how many seconds it may be kept (0: not at all)."""
        try:
            async with self._in_flight:
                answer = await self._resolver.resolve(dns.name.from_text(name), rdtype)
        except dns.resolver.NXDOMAIN as exc:
            missing = DnsAnswer(status=DnsStatus.NXDOMAIN, detail=f"{name} does not exist")
            responses = (exc.kwargs.get("responses") or {}).values()
            return missing, min((_negative_ttl(r) for r in responses), default=0.0)
        except dns.resolver.NoAnswer as exc:
            empty = DnsAnswer(status=DnsStatus.NO_DATA, detail=f"{name} has no {rdtype} record")
            return empty, _negative_ttl(exc.kwargs.get("response"))
        except dns.resolver.NoNameservers as exc:
            return _no_nameservers(exc), 0
        except dns.exception.Timeout:
            return DnsAnswer(status=DnsStatus.TIMEOUT, detail="no name server answered in time"), 0
        except dns.exception.DNSException as exc:
            return DnsAnswer(status=DnsStatus.MALFORMED, detail=str(exc)[:300]), 0
        records = tuple(rdata.to_text() for rdata in list(answer)[:MAX_RECORDS])
        chain = tuple(
            rdata.target.to_text(omit_final_dot=True)
            for rrset in answer.chaining_result.cnames
            for rdata in rrset
        )
        authenticated = bool(answer.response.flags & dns.flags.AD)
        found = DnsAnswer(
            status=DnsStatus.OK, records=records, cname_chain=chain, authenticated=authenticated
        )
        return found, max(0.0, answer.expiration - time.time())

    async def fetch_message(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, dnssec: bool = False
    ) -> DnsMessage:
        """The whole response to one question, every section as the server sent it.

        ``dnssec`` sets DO (RFC 3225), so RRSIGs and denial proofs come along, and CD
        (RFC 4035 §3.2.2), so a validating resolver hands over what it finds bogus instead
        of SERVFAIL: the caller judges, and can say why. UDP first, TCP when the answer is
        truncated (RFC 7766 §5). Servers are asked in order until one answers NOERROR or
        NXDOMAIN; never raises for what the servers do.
        """
        query = dns.message.make_query(name, rdtype, want_dnssec=dnssec, payload=_PAYLOAD)
        if dnssec:
            query.flags |= dns.flags.CD
        failure = DnsMessage(status=DnsStatus.UNREACHABLE, detail="no name server to ask")
        for server in sorted(self._nameservers, key=lambda ns: ns in self._silent):
            async with self._in_flight:
                outcome = await self._exchange(query, server)
            if outcome.message is not None:
                return outcome
            # Asked last from now on: a silent server would cost a timeout per query.
            # (dnspython's asyncio UDP ignores ICMP port unreachable, so even a closed
            # port on loopback is a timeout.)
            self._silent.add(server)
            failure = outcome
        return failure

    async def _exchange(self, query: dns.message.Message, server: Nameserver) -> DnsMessage:
        try:
            response, _ = await dns.asyncquery.udp_with_fallback(
                query, server.host, timeout=self._timeout, port=server.port
            )
        except dns.exception.Timeout:
            return DnsMessage(status=DnsStatus.TIMEOUT, detail="timeout")
        except (OSError, EOFError) as exc:
            return DnsMessage(status=DnsStatus.UNREACHABLE, detail=f"unreachable ({_line(exc)})")
        except dns.exception.DNSException as exc:
            return DnsMessage(status=DnsStatus.MALFORMED, detail=f"malformed answer ({_line(exc)})")
        if response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return DnsMessage(status=DnsStatus.OK, message=response)
        return DnsMessage(status=DnsStatus.SERVFAIL, detail=dns.rcode.to_text(response.rcode()))


def _no_nameservers(exc: dns.resolver.NoNameservers) -> DnsAnswer:
    """All servers failed: unreachable if none of them ever answered, else a server failure."""
    errors = exc.kwargs.get("errors") or []
    answered = [e for e in errors if len(e) > 4 and e[4] is not None]
    if errors and not answered:
        reasons = "; ".join(f"{e[0]} port {e[2]}: {e[3]}" for e in errors[:3])
        return DnsAnswer(status=DnsStatus.UNREACHABLE, detail=f"name server unreachable: {reasons}")
    said = "; ".join(f"{_said(e[3])} ({_server(e[0])})" for e in answered[:3])
    return DnsAnswer(status=DnsStatus.SERVFAIL, detail=f"the name server answered {said}"[:300])


def _said(error: object) -> str:
    """What one server answered, in DNS's own words (SERVFAIL, REFUSED, ...)."""
    text = _line(error) if isinstance(error, BaseException) else " ".join(str(error).split())
    return text or "no usable answer"


def _server(name: object) -> str:
    """dnspython's `Do53:192.0.2.53@53` as `192.0.2.53 port 53`."""
    host, _, port = str(name).removeprefix("Do53:").rpartition("@")
    return f"{host} port {port}" if host else str(name)


def _line(exc: BaseException) -> str:
    """An exception as one bounded line: it ends up in a report."""
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]


def _negative_ttl(response: dns.message.Message | None) -> float:
    """How long a denial may be kept (RFC 2308 §5): the SOA's TTL, capped by its minimum."""
    for rrset in response.authority if response is not None else ():
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return float(min(rrset.ttl, rrset[0].minimum))
    return 0.0
