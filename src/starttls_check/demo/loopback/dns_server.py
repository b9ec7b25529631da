"""An authoritative DNS server on 127.0.0.1 that answers from dnspython zones.

It powers the offline ``--demo`` and the test suite, so it depends only on the standard
library and dnspython. It is deliberately small: no delegations (NS below an apex is
served as ordinary data; every zone is served as authoritative), no wildcards, no zone
transfers. It signs nothing itself, but serves zones signed beforehand (see
``signed_zones``): with the DO bit it adds the RRSIGs and the NSEC or NSEC3 denial proofs
(``nsec3_chain`` picks the NSEC3 records), and a DS
question at a zone apex is answered from the parent zone, where DS records live.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone

from .nsec3_chain import nsec3_denial
from .server_base import LoopbackServer

NameLike = dns.name.Name | str
"""A name given to a knob: a ``dns.name.Name`` or text, taken as absolute."""

# Two Mapping types, not Mapping[NameLike, str]: keys are invariant, so dict[str, str]
# would not match that.
ZonesLike = Mapping[str, str] | Mapping[dns.name.Name, str] | Iterable[dns.zone.Zone]
"""Either ``{origin: zone text}`` or already-built zones (``relativize=False``)."""

_PAYLOAD = 1232  # what we advertise; the 2020 DNS flag day's safe UDP size.
_MIN_UDP = 512  # RFC 1035 §4.2.1: the size every client accepts without EDNS.
_MAX_TCP = 65535
_MAX_TCP_QUERY = 4096  # a query is a few hundred bytes; refuse to buffer more.
_MAX_CHAIN = 8  # CNAMEs followed in one answer; longer chains are cut short.
_BIND_ATTEMPTS = 5


class LoopbackDnsServer(LoopbackServer):
    """Authoritative UDP+TCP DNS server on 127.0.0.1, one port number for both.

    Answers from the zone with the longest origin containing the query name; REFUSED
    outside all zones. Failure knobs act on the query name before any lookup:
    ``servfail_names`` answer SERVFAIL, ``drop_names`` never answer (the client sees a
    timeout), ``bogus_names`` answer SERVFAIL unless the query sets CD, as a validating
    resolver does for data that fails DNSSEC. ``authenticated_data`` sets AD on answers
    from our zones.

    Handler exceptions are recorded rather than lost (a client would only see a timeout
    or SERVFAIL); call :meth:`raise_errors` on teardown.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        zones: ZonesLike,
        *,
        servfail_names: Iterable[NameLike] = (),
        drop_names: Iterable[NameLike] = (),
        bogus_names: Iterable[NameLike] = (),
        authenticated_data: bool = False,
        idle_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self._zones = _build_zones(zones)
        self._servfail = frozenset(_to_name(n) for n in servfail_names)
        self._drop = frozenset(_to_name(n) for n in drop_names)
        self._bogus = frozenset(_to_name(n) for n in bogus_names)
        self._authenticated_data = authenticated_data
        self._idle_timeout = idle_timeout
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.malformed_count = 0
        """Messages ignored because they did not parse as a DNS query."""

    async def start(self) -> None:
        """Bind UDP to port 0, then TCP to the same port number (retried if taken)."""
        loop = asyncio.get_running_loop()
        for attempt in range(_BIND_ATTEMPTS):
            udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, 0)
            )
            port: int = udp.get_extra_info("sockname")[1]
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            except OSError:
                udp.close()
                if attempt == _BIND_ATTEMPTS - 1:
                    raise
                continue
            self._udp, self._port = udp, port
            return

    async def stop(self) -> None:
        """Close both listeners and every open TCP connection."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._stopping = True
            for task in self._tcp_tasks:
                task.cancel()
            await asyncio.gather(*self._tcp_tasks, return_exceptions=True)
            await self._tcp.wait_closed()
            self._tcp, self._stopping = None, False

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tcp_tasks.add(task)
        try:
            while True:
                # RFC 7766 §6.2.3: servers may close idle connections; a bounded wait
                # also stops a silent client from pinning a task forever.
                async with asyncio.timeout(self._idle_timeout):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    if length > _MAX_TCP_QUERY:
                        self.malformed_count += 1
                        return
                    data = await reader.readexactly(length)
                wire = self.handle_wire(data, max_size=_MAX_TCP)
                if wire is not None:
                    writer.write(struct.pack("!H", len(wire)) + wire)
                    await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Ours from stop(): end normally, because on 3.11 start_server's done
            # callback calls task.exception() on a cancelled task and logs an error.
            if not self._stopping:
                raise
        finally:
            self._tcp_tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def handle_wire(self, data: bytes, *, max_size: int | None = None) -> bytes | None:
        """Answer one query in wire format; ``None`` means send nothing.

        ``max_size`` is the transport limit; ``None`` means UDP, limited by the
        client's EDNS payload (512 without EDNS). Too large for UDP → TC, question only.
        """
        try:
            query = dns.message.from_wire(data)
        except Exception:  # any parse failure is the client's garbage, not our bug
            self.malformed_count += 1
            return None
        if query.flags & dns.flags.QR:
            self.malformed_count += 1
            return None
        try:
            response = self._respond(query)
            if response is None:
                return None
            if max_size is None:
                max_size = max(query.payload, _MIN_UDP) if query.edns >= 0 else _MIN_UDP
            return _render(query, response, max_size)
        except Exception as exc:
            self._errors.append(exc)
            failure = dns.message.make_response(query, our_payload=_PAYLOAD)
            failure.set_rcode(dns.rcode.SERVFAIL)
            return failure.to_wire()

    def _respond(self, query: dns.message.Message) -> dns.message.Message | None:
        response = dns.message.make_response(query, our_payload=_PAYLOAD)
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        if question.name in self._drop:
            return None
        checking_disabled = bool(query.flags & dns.flags.CD)
        if question.name in self._servfail or (
            question.name in self._bogus and not checking_disabled
        ):
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        zone = self._find_zone(question.name, question.rdtype)
        if zone is None or question.rdclass != zone.zone.rdclass:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        if self._authenticated_data:
            response.flags |= dns.flags.AD
        dnssec = query.edns >= 0 and bool(query.ednsflags & dns.flags.DO)
        if dnssec:
            response.ednsflags |= dns.flags.DO  # RFC 3225 §3: copied into the response
        self._answer(response, zone, question.name, question.rdtype, dnssec=dnssec)
        return response

    def _answer(
        self,
        response: dns.message.Message,
        zone: _Zone,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        dnssec: bool = False,
    ) -> None:
        seen = {name}
        for _ in range(_MAX_CHAIN):
            node = zone.zone.get_node(name)
            if node is None:
                exists = _exists(zone, name)  # an empty non-terminal: NODATA
                if not exists:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                _deny(response, zone, name, exists=exists, dnssec=dnssec)
                return
            cname = zone.zone.get_rrset(name, dns.rdatatype.CNAME)
            if cname is None or rdtype in (dns.rdatatype.CNAME, dns.rdatatype.ANY):
                found = [
                    dns.rrset.from_rdata_list(name, rds.ttl, list(rds))
                    for rds in node.rdatasets
                    if rdtype in (rds.rdtype, dns.rdatatype.ANY)
                ]
                for rrset in found:
                    response.answer.extend(_signed(zone, rrset, dnssec=dnssec))
                if not found:
                    _deny(response, zone, name, exists=True, dnssec=dnssec)
                return
            # RFC 1034 §4.3.2 step 3a: answer the CNAME, restart at its target.
            response.answer.extend(_signed(zone, cname, dnssec=dnssec))
            name = cname[0].target
            next_zone = self._find_zone(name, rdtype)
            if next_zone is None or name in seen:
                return  # outside our zones the client chases; a loop just ends
            seen.add(name)
            zone = next_zone

    def _find_zone(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> _Zone | None:
        matches = [z for z in self._zones if name.is_subdomain(z.origin)]
        if rdtype == dns.rdatatype.DS:
            # RFC 4035 §3.1.4.1: DS records live on the parent side of the zone cut.
            matches = [z for z in matches if z.origin != name] or matches
        return max(matches, key=lambda z: len(z.origin), default=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Zone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    soa: dns.rrset.RRset  # RFC 2308 §3: negative answers carry the zone's SOA


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: LoopbackDnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # CPython's UDP transport does not subclass DatagramTransport, though it is one
        # in behaviour: create_datagram_endpoint always hands us one.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        wire = self._server.handle_wire(data)
        if wire is not None and self._transport is not None:
            self._transport.sendto(wire, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP unreachable from a client that gave up: nothing to do


def _signed(zone: _Zone, rrset: dns.rrset.RRset, *, dnssec: bool) -> list[dns.rrset.RRset]:
    """The rrset, and with DO its RRSIGs (RFC 4035 §3.1.1), if the zone has them."""
    if not dnssec or rrset.rdtype in (dns.rdatatype.RRSIG, dns.rdatatype.ANY):
        return [rrset]
    sigs = zone.zone.get_rrset(rrset.name, dns.rdatatype.RRSIG, rrset.rdtype)
    return [rrset] if sigs is None else [rrset, sigs]


def _deny(
    response: dns.message.Message,
    zone: _Zone,
    name: dns.name.Name,
    *,
    exists: bool,
    dnssec: bool,
) -> None:
    """NODATA or NXDOMAIN: the SOA (RFC 2308 §3), and with DO the NSEC proofs.

    RFC 4035 §3.1.3: NODATA carries the NSEC of the name itself (or, for an empty
    non-terminal, the one covering it); NXDOMAIN carries the NSEC covering the name and
    the one proving that no wildcard at the closest encloser could have answered.
    """
    response.authority.extend(_signed(zone, zone.soa, dnssec=dnssec))
    if not dnssec:
        return
    if zone.zone.get_rdataset(zone.origin, dns.rdatatype.NSEC3PARAM) is not None:
        for hashed in nsec3_denial(zone.zone, name, exists=exists):
            nsec3 = zone.zone.get_rrset(hashed, dns.rdatatype.NSEC3)
            assert nsec3 is not None
            response.authority.extend(_signed(zone, nsec3, dnssec=dnssec))
        return
    targets = [name] if exists else [name, dns.name.from_text("*", _closest_encloser(zone, name))]
    owners = sorted(
        n
        for n, node in zone.zone.nodes.items()
        if node.get_rdataset(zone.zone.rdclass, dns.rdatatype.NSEC)
    )
    chosen: list[dns.name.Name] = []
    for target in targets:
        before = [owner for owner in owners if owner <= target]
        owner = before[-1] if before else owners[-1] if owners else None  # the chain wraps
        if owner is not None and owner not in chosen:
            chosen.append(owner)
    for owner in chosen:
        nsec = zone.zone.get_rrset(owner, dns.rdatatype.NSEC)
        assert nsec is not None
        response.authority.extend(_signed(zone, nsec, dnssec=dnssec))


def _exists(zone: _Zone, name: dns.name.Name) -> bool:
    return any(n.is_subdomain(name) for n in zone.zone.nodes)


def _closest_encloser(zone: _Zone, name: dns.name.Name) -> dns.name.Name:
    """RFC 4592 §3.3.1: the longest existing ancestor of a name that does not exist."""
    while name != zone.origin:
        name = name.parent()
        if _exists(zone, name):
            return name
    return zone.origin


def _render(query: dns.message.Message, response: dns.message.Message, max_size: int) -> bytes:
    try:
        return response.to_wire(max_size=max_size)
    except dns.exception.TooBig:
        if max_size >= _MAX_TCP:
            raise  # cannot fit any DNS message: a bug in the zone under test
    # RFC 2181 §9: set TC; sending only the question makes the client retry over TCP.
    truncated = dns.message.make_response(query, our_payload=_PAYLOAD)
    truncated.flags = response.flags | dns.flags.TC
    return truncated.to_wire(max_size=max_size)


def _to_name(name: NameLike) -> dns.name.Name:
    return name if isinstance(name, dns.name.Name) else dns.name.from_text(name)


def _build_zones(zones: ZonesLike) -> tuple[_Zone, ...]:
    if isinstance(zones, Mapping):
        built = [
            dns.zone.from_text(text, origin=_to_name(origin), relativize=False)
            for origin, text in zones.items()
        ]
    else:
        built = list(zones)
    return tuple(_checked(zone) for zone in built)


def _checked(zone: dns.zone.Zone) -> _Zone:
    # Relativized zones hold relative owner names, which would leak into answers.
    if zone.relativize or zone.origin is None:
        raise ValueError("zones must be built with relativize=False and an origin")
    soa = zone.get_rrset(zone.origin, dns.rdatatype.SOA)
    if soa is None:
        raise ValueError(f"zone {zone.origin} has no SOA at its origin")
    return _Zone(origin=zone.origin, zone=zone, soa=soa)
