"""The bulk run's DNS cache against a real loopback name server: TTLs, denials, the bound."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import dns.message
import dns.rdatatype

from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.dns.cache import CachingDnsClient
from starttls_check.model.dns import DnsStatus
from starttls_check.model.settings import Nameserver

# The SOA's minimum (60) caps how long a denial is kept (RFC 2308 §5).
ZONE = """\
test. 300 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
test. 300 IN NS ns.test.
long.test. 300 IN A 127.0.0.9
short.test. 1 IN A 127.0.0.8
a.test. 300 IN A 127.0.0.1
b.test. 300 IN A 127.0.0.2
c.test. 300 IN A 127.0.0.3
"""

Asked = Counter[tuple[str, str]]
Scenario = Callable[[CachingDnsClient], Awaitable[None]]


def asked_with(scenario: Scenario, *, size: int = 64, servfail: tuple[str, ...] = ()) -> Asked:
    """The questions the server saw while `scenario` ran against a caching client."""
    asked: Asked = Counter()

    async def go() -> None:
        async with LoopbackDnsServer({"test.": ZONE}, servfail_names=servfail) as server:
            answer = server.handle_wire

            def counted(data: bytes, *, max_size: int | None = None) -> bytes | None:
                question = dns.message.from_wire(data).question[0]
                asked[(question.name.to_text(), dns.rdatatype.to_text(question.rdtype))] += 1
                return answer(data, max_size=max_size)

            server.handle_wire = counted  # type: ignore[method-assign]
            nameserver = Nameserver(host="127.0.0.1", port=server.port)
            await scenario(CachingDnsClient((nameserver,), timeout=2.0, size=size))

    asyncio.run(go())
    return asked


def test_an_answer_is_kept_for_its_ttl_and_asked_again_after() -> None:
    async def scenario(client: CachingDnsClient) -> None:
        first = await client.query("short.test", "A")
        again = await client.query("SHORT.test", "A")
        assert first == again
        assert first.records == ("127.0.0.8",)
        await client.query("long.test", "A")
        await asyncio.sleep(1.3)  # short.test's TTL of 1 s runs out; long.test's does not
        await client.query("short.test", "A")
        await client.query("long.test", "A")

    asked = asked_with(scenario)
    assert asked[("short.test.", "A")] == 2
    assert asked[("long.test.", "A")] == 1


def test_denials_are_kept_and_failures_are_not() -> None:
    async def scenario(client: CachingDnsClient) -> None:
        for _ in range(3):
            assert (await client.query("long.test", "AAAA")).status is DnsStatus.NO_DATA
            assert (await client.query("nothing.test", "MX")).status is DnsStatus.NXDOMAIN
            assert (await client.query("broken.test", "A")).status is DnsStatus.SERVFAIL

    asked = asked_with(scenario, servfail=("broken.test",))
    assert asked[("long.test.", "AAAA")] == 1
    assert asked[("nothing.test.", "MX")] == 1
    assert asked[("broken.test.", "A")] >= 3  # a failure is asked again each time


def test_the_cache_holds_at_most_its_size_forgetting_the_least_recent() -> None:
    async def scenario(client: CachingDnsClient) -> None:
        for name in ("a.test", "b.test", "a.test", "c.test", "a.test", "b.test"):
            await client.query(name, "A")

    asked = asked_with(scenario, size=2)
    assert asked[("a.test.", "A")] == 1  # used again each time before it was the oldest
    assert asked[("b.test.", "A")] == 2  # the oldest when c.test came in
    assert asked[("c.test.", "A")] == 1
