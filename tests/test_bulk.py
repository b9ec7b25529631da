"""Bulk runs in process: streaming, a bounded window, shared sessions, the DNS cache."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator

import dns.message

from starttls_check.demo.loopback.pki import make_ca
from starttls_check.demo.loopback.smtp_server import Script, ServerConnection
from starttls_check.model.bulk import InputProblem
from starttls_check.model.findings import Verdict
from starttls_check.model.report import DomainReport
from starttls_check.run.bulk import BulkSettings, check_stream, stream_items

from .harness import good_script, mail_world, run

SHARED = "mx.shared.test. IN A 127.0.0.2\n"


def shared_zone(count: int) -> str:
    return SHARED + "".join(f"d{n}.test. IN MX 10 mx.shared.test.\n" for n in range(count))


def counting(script: Script, seen: Counter[str]) -> Script:
    """`script`, counting the sessions the server sees."""

    async def session(conn: ServerConnection) -> None:
        seen["sessions"] += 1
        await script(conn)

    return session


async def collect(stream: AsyncIterator[DomainReport]) -> list[DomainReport]:
    return [report async for report in stream]


def test_fifty_domains_sharing_an_mx_open_one_session() -> None:
    ca = make_ca("bulk CA")
    seen: Counter[str] = Counter()
    servers = {"127.0.0.2": counting(good_script("mx.shared.test", ca), seen)}

    async def go() -> list[DomainReport]:
        async with mail_world(shared_zone(50), servers, ca=ca) as world:
            targets = (f"d{n}.test" for n in range(50))
            return await collect(check_stream(targets, world.settings()))

    reports = run(go())
    assert seen["sessions"] == 1
    assert sorted(r.ascii_domain for r in reports) == sorted(f"d{n}.test" for n in range(50))
    assert {r.verdict for r in reports} == {Verdict.PASS}
    owners = {h.reused_from for r in reports for h in r.hosts}
    opened = [r for r in reports if r.hosts[0].reused_from is None]
    assert len(opened) == 1  # one domain's own session; the other 49 say whose it was
    assert owners == {None, opened[0].ascii_domain}


def test_without_reuse_every_domain_opens_its_own_session() -> None:
    ca = make_ca("bulk CA")
    seen: Counter[str] = Counter()
    servers = {"127.0.0.2": counting(good_script("mx.shared.test", ca), seen)}

    async def go() -> list[DomainReport]:
        async with mail_world(shared_zone(5), servers, ca=ca) as world:
            targets = [f"d{n}.test" for n in range(5)]
            bulk = BulkSettings(session_cache=0, window=1)
            return await collect(check_stream(targets, world.settings(), bulk))

    reports = run(go())
    assert seen["sessions"] == 5
    assert all(h.reused_from is None for r in reports for h in r.hosts)


def test_the_window_bounds_domains_in_flight_and_input_is_read_lazily() -> None:
    ca = make_ca("bulk CA")
    servers = {"127.0.0.2": good_script("mx.shared.test", ca, greeting_delay=0.05)}
    taken: list[int] = []
    in_flight: list[int] = []

    async def go() -> None:
        async with mail_world(shared_zone(20), servers, ca=ca) as world:
            bulk = BulkSettings(window=3, session_cache=0)

            def targets() -> object:
                for n in range(20):
                    taken.append(n)
                    yield f"d{n}.test"

            done = 0
            async for _ in check_stream(targets(), world.settings(), bulk):  # type: ignore[arg-type]
                done += 1
                in_flight.append(len(taken) - done)

    run(go())
    assert len(taken) == 20
    assert max(in_flight) <= 3  # never more than the window taken and not yet done
    assert in_flight[0] >= 2  # but more than one at a time


def test_input_problems_pass_through_and_reports_stream_as_they_finish() -> None:
    ca = make_ca("bulk CA")
    zone = shared_zone(1) + "slow.test. IN MX 10 mx.slow.test.\nmx.slow.test. IN A 127.0.0.3\n"
    servers = {
        "127.0.0.2": good_script("mx.shared.test", ca),
        "127.0.0.3": good_script("mx.slow.test", ca, greeting_delay=0.5),
    }

    async def go() -> list[DomainReport | InputProblem]:
        async with mail_world(zone, servers, ca=ca) as world:
            problem = InputProblem(line=2, text="bad one", problem="bad domain")
            items = ["slow.test", problem, "d0.test"]
            return [item async for item in stream_items(items, world.settings())]

    out = run(go())
    assert isinstance(out[0], InputProblem)
    assert [r.ascii_domain for r in out[1:] if isinstance(r, DomainReport)] == [
        "d0.test",
        "slow.test",
    ]


def test_dns_answers_are_asked_once_per_run() -> None:
    ca = make_ca("bulk CA")
    servers = {"127.0.0.2": good_script("mx.shared.test", ca)}
    asked: Counter[str] = Counter()

    async def go() -> None:
        async with mail_world(shared_zone(30), servers, ca=ca) as world:
            answer = world.dns.handle_wire

            def counted(data: bytes, *, max_size: int | None = None) -> bytes | None:
                query = dns.message.from_wire(data)
                asked[query.question[0].name.to_text()] += 1
                return answer(data, max_size=max_size)

            world.dns.handle_wire = counted  # type: ignore[method-assign]
            targets = [f"d{n}.test" for n in range(30)]
            async for _ in stream_items(targets, world.settings()):
                pass

    run(go())
    assert asked["mx.shared.test."] == 2  # A and AAAA once, for 30 domains
    assert asked["d7.test."] == 1  # each domain's own MX question, once


def _timed(script: Script, times: list[float]) -> Script:
    """`script`, noting when each connection arrives."""

    async def session(conn: ServerConnection) -> None:
        times.append(time.monotonic())
        await script(conn)

    return session


def _gaps(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in itertools.pairwise(ordered)]


def _many_names_zone(count: int, address: str = "127.0.0.2") -> str:
    return "".join(
        f"m{n}.test. IN MX 10 mx.m{n}.test.\nmx.m{n}.test. IN A {address}\n" for n in range(count)
    )


def test_max_rate_caps_new_connections_per_address() -> None:
    ca = make_ca("bulk CA")

    def probe(bulk: BulkSettings) -> list[float]:
        times: list[float] = []
        servers = {"127.0.0.2": _timed(good_script("mx.m0.test", ca), times)}

        async def go() -> None:
            async with mail_world(_many_names_zone(6), servers, ca=ca) as world:
                targets = [f"m{n}.test" for n in range(6)]
                await collect(check_stream(targets, world.settings(), bulk))

        run(go())
        assert len(times) == 6  # one session per MX name: nothing to share
        return _gaps(times)

    assert min(probe(BulkSettings(max_rate=5))) >= 0.18  # 5 per second: 0.2 s apart
    assert min(probe(BulkSettings())) < 0.15  # without the cap they come faster


def test_max_rate_overall_caps_connections_across_addresses() -> None:
    ca = make_ca("bulk CA")
    times: list[float] = []
    addresses = [f"127.0.0.{n}" for n in range(2, 7)]
    servers = {a: _timed(good_script(f"mx.m{n}.test", ca), times) for n, a in enumerate(addresses)}
    zone = "".join(
        f"m{n}.test. IN MX 10 mx.m{n}.test.\nmx.m{n}.test. IN A {a}\n"
        for n, a in enumerate(addresses)
    )

    async def go() -> None:
        async with mail_world(zone, servers, ca=ca) as world:
            targets = [f"m{n}.test" for n in range(len(addresses))]
            await collect(check_stream(targets, world.settings(), BulkSettings(max_rate_overall=8)))

    run(go())
    assert len(times) == 5
    assert min(_gaps(times)) >= 0.11  # 8 per second in all: 0.125 s apart


def test_a_421_slows_down_every_domain_using_that_address() -> None:
    ca = make_ca("bulk CA")
    times: list[float] = []
    good = good_script("mx.m0.test", ca)

    async def busy_once(conn: ServerConnection) -> None:
        times.append(time.monotonic())
        if len(times) == 1:
            await conn.send(b"421 4.7.0 too many connections, slow down\r\n")
            await conn.read_line()
            return
        await good(conn)

    servers = {"127.0.0.2": busy_once}

    async def go() -> list[DomainReport]:
        async with mail_world(_many_names_zone(3), servers, ca=ca) as world:
            targets = [f"m{n}.test" for n in range(3)]
            return await collect(check_stream(targets, world.settings(), BulkSettings()))

    reports = run(go())
    assert len(times) == 3
    gaps = _gaps(times)
    assert gaps[0] >= 0.9  # after the 421, the next domain's session waited (SLOW_GAP)
    assert gaps[1] < 0.5  # and a session that went through lifted the slow-down
    assert sum(r.hosts[0].facts.tls is not None for r in reports) == 2


def test_the_resume_done_set_holds_8_bytes_a_target() -> None:
    from starttls_check.run.resume import DoneSet

    done = DoneSet()
    for n in range(10_000):
        done.add(f"domain-{n}.example.com")
    assert "domain-0.example.com" in done
    assert "domain-9999.example.com" in done
    assert "domain-10000.example.com" not in done
    assert done.nbytes() <= 8 * 10_000 * 1.2  # an array's slack, not a string per target
