"""The loopback DNS server, queried over real sockets with dnspython's own client."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from tests.support.threaded import BackgroundLoop

SOA = "@ 300 IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 300\n@ NS ns1\n"
EXAMPLE = SOA + "\n".join(
    (
        "@ MX 10 mx1",
        "@ MX 20 mx2.sub",
        "ns1 A 127.0.0.1",
        "mx1 A 127.0.0.1",
        "mx1 AAAA ::1",
        "alias CNAME mx1",
        "chain CNAME alias",
        "ghost CNAME missing",
        "away CNAME mx.elsewhere.invalid.",
        "cross CNAME mx2.sub",
        "loop1 CNAME loop2",
        "loop2 CNAME loop1",
        "leaf.empty A 127.0.0.9",
        # ~600 bytes: over 512 without EDNS, under 1232 with it.
        *(f'medium TXT "{i} {"m" * 100}"' for i in range(6)),
        # ~5 KB: over any UDP payload a client offers here.
        *(f'big TXT "{i} {"b" * 250}"' for i in range(20)),
    )
)
SUB = SOA.replace("@ NS ns1", "@ NS ns1.example.test.") + "mx2 A 127.0.0.2\n"
ZONES = {"example.test.": EXAMPLE, "sub.example.test.": SUB}

A, MX, TXT, CNAME = (dns.rdatatype.A, dns.rdatatype.MX, dns.rdatatype.TXT, dns.rdatatype.CNAME)
Check = Callable[[LoopbackDnsServer], Awaitable[None]]


def serve(check: Check, zones: Any = ZONES, **knobs: Any) -> LoopbackDnsServer:
    """Run ``check`` against a fresh server, then surface any handler exception."""
    server = LoopbackDnsServer(zones, **knobs)

    async def main() -> None:
        async with server:
            await check(server)

    asyncio.run(main())
    server.raise_errors()
    return server


async def udp(
    server: LoopbackDnsServer, name: str, rdtype: Any, *, edns: int = -1, wait: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, use_edns=edns)
    return await dns.asyncquery.udp(query, server.host, timeout=wait, port=server.port)


async def tcp(
    server: LoopbackDnsServer, name: str, rdtype: Any, *, wait: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return await dns.asyncquery.tcp(query, server.host, timeout=wait, port=server.port)


def summary(response: dns.message.Message) -> tuple[str, list[str], list[str]]:
    """rcode, answer as "name TYPE", authority as "name TYPE"."""

    def names(section: list[Any]) -> list[str]:
        return [f"{r.name} {dns.rdatatype.to_text(r.rdtype)}" for r in section]

    return dns.rcode.to_text(response.rcode()), names(response.answer), names(response.authority)


@pytest.mark.parametrize(
    ("qname", "qtype", "expected"),
    [
        ("mx1.example.test.", A, ("NOERROR", ["mx1.example.test. A"], [])),
        ("MX1.Example.TEST.", A, ("NOERROR", ["MX1.Example.TEST. A"], [])),
        ("example.test.", MX, ("NOERROR", ["example.test. MX"], [])),
        ("mx1.example.test.", MX, ("NOERROR", [], ["example.test. SOA"])),  # NODATA
        ("empty.example.test.", A, ("NOERROR", [], ["example.test. SOA"])),  # empty non-terminal
        ("nope.example.test.", A, ("NXDOMAIN", [], ["example.test. SOA"])),
        ("mx2.sub.example.test.", A, ("NOERROR", ["mx2.sub.example.test. A"], [])),
        ("nope.sub.example.test.", A, ("NXDOMAIN", [], ["sub.example.test. SOA"])),
        ("alias.example.test.", CNAME, ("NOERROR", ["alias.example.test. CNAME"], [])),
        (
            "chain.example.test.",
            A,
            (
                "NOERROR",
                ["chain.example.test. CNAME", "alias.example.test. CNAME", "mx1.example.test. A"],
                [],
            ),
        ),
        (
            "cross.example.test.",
            A,
            ("NOERROR", ["cross.example.test. CNAME", "mx2.sub.example.test. A"], []),
        ),
        (
            "ghost.example.test.",
            A,
            ("NXDOMAIN", ["ghost.example.test. CNAME"], ["example.test. SOA"]),
        ),
        ("away.example.test.", A, ("NOERROR", ["away.example.test. CNAME"], [])),
        ("example.org.", A, ("REFUSED", [], [])),
    ],
)
def test_authoritative_answers(qname: str, qtype: Any, expected: tuple[Any, ...]) -> None:
    async def check(server: LoopbackDnsServer) -> None:
        for response in (await udp(server, qname, qtype), await tcp(server, qname, qtype)):
            assert summary(response) == expected
            refused = response.rcode() == dns.rcode.REFUSED
            assert bool(response.flags & dns.flags.AA) is not refused
            assert not response.flags & dns.flags.AD

    serve(check)


def test_answer_data_and_sorted_zones() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        response = await udp(server, "example.test.", MX)
        assert sorted(r.to_text() for r in response.answer[0]) == [
            "10 mx1.example.test.",
            "20 mx2.sub.example.test.",
        ]

    zones = [dns.zone.from_text(text, origin=o, relativize=False) for o, text in ZONES.items()]
    serve(check, zones=zones)


def test_cname_loop_terminates() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        response = await udp(server, "loop1.example.test.", A)
        assert summary(response) == (
            "NOERROR",
            ["loop1.example.test. CNAME", "loop2.example.test. CNAME"],
            [],
        )

    serve(check)


def test_servfail_and_drop_knobs() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        assert (await udp(server, "mx1.example.test.", A)).rcode() == dns.rcode.SERVFAIL
        assert (await tcp(server, "outside.invalid.", A)).rcode() == dns.rcode.SERVFAIL
        with pytest.raises(dns.exception.Timeout):
            await udp(server, "example.test.", MX, wait=0.3)
        with pytest.raises(dns.exception.Timeout):
            await tcp(server, "example.test.", MX, wait=0.3)
        # Knobs match names exactly, not subdomains.
        assert (await udp(server, "alias.example.test.", CNAME)).rcode() == dns.rcode.NOERROR

    servfail = ["mx1.example.test.", dns.name.from_text("outside.invalid.")]
    serve(check, servfail_names=servfail, drop_names=["EXAMPLE.test"])


def test_authenticated_data_knob() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        assert (await udp(server, "mx1.example.test.", A)).flags & dns.flags.AD
        assert not (await udp(server, "example.org.", A)).flags & dns.flags.AD

    serve(check, authenticated_data=True)


def test_edns_is_echoed_only_when_asked() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        with_edns = await udp(server, "mx1.example.test.", A, edns=0)
        assert (with_edns.edns, with_edns.payload) == (0, 1232)
        assert (await udp(server, "mx1.example.test.", A)).edns == -1

    serve(check)


def test_truncation_sends_question_only_and_tcp_has_it_all() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        plain = await udp(server, "medium.example.test.", TXT)
        assert plain.flags & dns.flags.TC
        assert plain.answer == []
        assert plain.question[0].name == dns.name.from_text("medium.example.test.")
        assert not (await udp(server, "medium.example.test.", TXT, edns=0)).flags & dns.flags.TC

        assert (await udp(server, "big.example.test.", TXT, edns=0)).flags & dns.flags.TC
        query = dns.message.make_query("big.example.test.", TXT, use_edns=0, payload=4096)
        response, used_tcp = await dns.asyncquery.udp_with_fallback(
            query, server.host, timeout=2, port=server.port
        )
        assert used_tcp
        assert len(response.answer[0]) == 20

    serve(check)


def test_garbage_is_counted_and_ignored() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"\x00\x01garbage", (server.host, server.port))
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(struct.pack("!H", 5000))  # longer than any query: connection closed
        assert await asyncio.wait_for(reader.read(), timeout=2) == b""
        writer.close()
        await writer.wait_closed()
        # The server still answers, and the datagram was received before this query.
        assert (await udp(server, "mx1.example.test.", A)).rcode() == dns.rcode.NOERROR
        assert server.malformed_count == 2

    serve(check)


def test_idle_tcp_connection_is_closed() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        assert await asyncio.wait_for(reader.read(), timeout=2) == b""
        writer.close()
        await writer.wait_closed()

    serve(check, idle_timeout=0.2)


def test_stop_closes_open_tcp_connections() -> None:
    async def check(server: LoopbackDnsServer) -> None:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        await asyncio.sleep(0.05)  # let the server accept it
        await server.stop()
        assert await asyncio.wait_for(reader.read(), timeout=1) == b""
        writer.close()
        await writer.wait_closed()

    serve(check)


def test_handler_crash_answers_servfail_and_raise_errors_surfaces_it() -> None:
    # An RRset of ~77 KB fits no DNS message: over TCP the handler cannot render it.
    # A real bug in a zone under test, exactly what must not pass as a client timeout.
    huge = "\n".join(f'huge TXT "{i} {"h" * 250}"' for i in range(300))
    zones = {"example.test.": EXAMPLE + "\n" + huge}

    async def check(server: LoopbackDnsServer) -> None:
        assert (await tcp(server, "huge.example.test.", TXT)).rcode() == dns.rcode.SERVFAIL
        assert (await tcp(server, "mx1.example.test.", A)).rcode() == dns.rcode.NOERROR

    with pytest.raises(dns.exception.TooBig):
        serve(check, zones=zones)


def test_relativized_zone_is_rejected() -> None:
    zone = dns.zone.from_text(EXAMPLE, origin="example.test.", relativize=True)
    with pytest.raises(ValueError, match="relativize=False"):
        LoopbackDnsServer([zone])


def test_background_loop_keeps_server_alive_across_asyncio_run() -> None:
    # The CLI-test pattern: servers on a thread's loop, the code under test in asyncio.run.
    with BackgroundLoop() as background:
        server = background.enter_async_context(LoopbackDnsServer(ZONES))
        for _ in range(2):
            response = asyncio.run(udp(server, "mx1.example.test.", A))
            assert response.rcode() == dns.rcode.NOERROR
        assert background.run(asyncio.sleep(0, result=42)) == 42
        with pytest.raises(TimeoutError, match="did not finish"):
            background.run(asyncio.sleep(5), timeout=0.05)
    with pytest.raises(RuntimeError, match="not started"):
        background.run(asyncio.sleep(0))
    server.raise_errors()
