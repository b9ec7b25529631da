"""End to end: the real checker against real DNS and SMTP servers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import trustme
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP

from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import (
    Script,
    ServerConnection,
    server_tls_context,
    standard_session,
)
from starttls_check.model.findings import Policy, Verdict
from starttls_check.model.report import DomainReport
from starttls_check.model.session import CertProblem, ErrorKind, Phase
from starttls_check.run.check import check_domains_async
from starttls_check.tls.certs import TrustStore

from .harness import good_script, mail_world, run

MX_ZONE = "example.test. IN MX 10 mx.example.test.\nmx.example.test. IN A 127.0.0.2\n"


def codes(report: DomainReport) -> list[str]:
    return [f.code for f in report.all_findings()]


# --- aiosmtpd with trustme certificates -------------------------------------------------


@contextlib.asynccontextmanager
async def aiosmtpd_server(cert: trustme.LeafCert) -> AsyncIterator[int]:
    """aiosmtpd on 127.0.0.2, port 0, through loop.create_server (its Controller can't)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Sink(), hostname="mx.example.test", tls_context=context),
        "127.0.0.2",
        0,
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def check_aiosmtpd(
    cert: trustme.LeafCert, ca: trustme.CA, domain: str = "example.test"
) -> DomainReport:
    async with mail_world(MX_ZONE, {}) as world, aiosmtpd_server(cert) as port:
        store = TrustStore([_trustme_root(ca)])
        return await world.check(domain, port=port, trust_store=store)


def _trustme_root(ca: trustme.CA) -> object:
    from cryptography import x509

    return x509.load_pem_x509_certificate(ca.cert_pem.bytes())


def test_aiosmtpd_valid_certificate_passes() -> None:
    ca = trustme.CA()
    report = run(check_aiosmtpd(ca.issue_cert("mx.example.test"), ca))
    assert report.verdict is Verdict.PASS, codes(report)
    (host,) = report.hosts
    assert host.facts.starttls_offered is True
    assert host.facts.tls is not None
    assert host.facts.tls.version == "TLSv1.3"
    assert host.trust is not None
    assert host.trust.valid
    # RFC 3207 §4.2: capabilities were asked for again inside TLS.
    assert host.facts.capabilities_after_tls is not None
    assert "STARTTLS" not in host.facts.capabilities_after_tls


@pytest.mark.parametrize(
    ("issue", "expected"),
    [
        (lambda ca: ca.issue_cert("mail.other.test"), (CertProblem.NAME_MISMATCH,)),
        (
            lambda ca: ca.issue_cert(
                "mx.example.test",
                not_before=datetime.now(UTC) - timedelta(days=100),
                not_after=datetime.now(UTC) - timedelta(days=10),
            ),
            (CertProblem.EXPIRED,),
        ),
        (
            lambda ca: ca.issue_cert(
                "mail.other.test",
                not_before=datetime.now(UTC) - timedelta(days=100),
                not_after=datetime.now(UTC) - timedelta(days=10),
            ),
            (CertProblem.EXPIRED, CertProblem.NAME_MISMATCH),
        ),
        (
            lambda ca: ca.issue_cert(
                "mx.example.test", not_before=datetime.now(UTC) + timedelta(days=3)
            ),
            (CertProblem.NOT_YET_VALID,),
        ),
        (lambda ca: trustme.CA().issue_cert("mx.example.test"), (CertProblem.UNTRUSTED,)),
        (lambda ca: ca.create_child_ca().issue_cert("mx.example.test"), ()),
    ],
    ids=["wrong-name", "expired", "expired-and-misnamed", "not-yet-valid", "foreign-ca", "child"],
)
def test_aiosmtpd_certificate_cases(issue: object, expected: tuple[CertProblem, ...]) -> None:
    ca = trustme.CA()
    cert = issue(ca)  # type: ignore[operator]
    report = run(check_aiosmtpd(cert, ca))
    (host,) = report.hosts
    assert host.trust is not None
    assert host.trust.problems == expected
    assert host.facts.tls is not None  # opportunistic TLS still worked
    assert report.verdict is (Verdict.WARN if expected else Verdict.PASS)
    for problem in expected:
        assert f"cert.{problem.value}" in codes(report)


# --- the scripted server: misbehaviour aiosmtpd cannot produce ---------------------------


async def check_script(script: object, **settings: object) -> DomainReport:
    async with mail_world(MX_ZONE, {"127.0.0.2": script}) as world:  # type: ignore[dict-item]
        return await world.check("example.test", **settings)


def _tls(ca_name: str = "test CA") -> tuple[ssl.SSLContext, object]:
    ca = make_ca(ca_name)
    leaf = make_leaf(["mx.example.test"], ca)
    return server_tls_context(chain_pem(leaf, ca), leaf.key_pem), ca


async def _ehlo_until_starttls(conn: ServerConnection, ehlo: bytes) -> None:
    await conn.send(b"220 mx.example.test ESMTP\r\n")
    assert await conn.read_line() is not None  # EHLO
    await conn.send(ehlo)
    assert (await conn.read_line() or b"").upper().startswith(b"STARTTLS")


EHLO_TLS = b"250-mx.example.test\r\n250 STARTTLS\r\n"


async def silent(conn: ServerConnection) -> None:
    await asyncio.sleep(30)


async def greeting_421(conn: ServerConnection) -> None:
    await conn.send(b"421 4.3.2 mx.example.test busy, try later\r\n")
    await conn.read_line()
    conn.close()


async def ehlo_rejected(conn: ServerConnection) -> None:
    await conn.send(b"220 mx.example.test SMTP\r\n")
    await conn.read_line()
    await conn.send(b"500 5.5.1 command unrecognized\r\n")
    line = await conn.read_line()
    assert line is not None
    assert line.startswith(b"HELO client.test")
    await conn.send(b"250 mx.example.test\r\n")
    await conn.read_line()
    await conn.send(b"221 bye\r\n")


async def starttls_454(conn: ServerConnection) -> None:
    await _ehlo_until_starttls(conn, EHLO_TLS)
    await conn.send(b"454 4.7.0 TLS not available due to temporary reason\r\n")
    await conn.read_line()
    await conn.send(b"221 bye\r\n")


async def close_after_220(conn: ServerConnection) -> None:
    await _ehlo_until_starttls(conn, EHLO_TLS)
    await conn.send(b"220 go ahead\r\n")
    conn.close()


async def garbage_instead_of_tls(conn: ServerConnection) -> None:
    await _ehlo_until_starttls(conn, EHLO_TLS)
    await conn.send(b"220 go ahead\r\n")
    await asyncio.sleep(0.05)
    await conn.send(b"this is not a TLS record at all\r\n" * 4)
    await asyncio.sleep(1)


async def endless_line(conn: ServerConnection) -> None:
    await conn.send(b"220-" + b"x" * (1024 * 1024))  # 1 MiB, no CRLF
    await asyncio.sleep(1)


async def reset_mid_handshake(conn: ServerConnection) -> None:
    await _ehlo_until_starttls(conn, EHLO_TLS)
    await conn.send(b"220 go ahead\r\n")
    await conn.read_line(limit=64 * 1024)  # part of the ClientHello, whatever it is
    conn.abort()


@pytest.mark.parametrize(
    ("script", "code", "phase", "kind"),
    [
        (silent, "smtp.no-greeting", Phase.GREETING, ErrorKind.TIMEOUT),
        (close_after_220, "tls.handshake-failed", Phase.HANDSHAKE, None),
        (garbage_instead_of_tls, "tls.handshake-failed", Phase.HANDSHAKE, ErrorKind.TLS),
        (endless_line, "smtp.protocol-error", Phase.GREETING, ErrorKind.PROTOCOL),
        (reset_mid_handshake, "tls.handshake-failed", Phase.HANDSHAKE, None),
    ],
    ids=["greeting-never-comes", "close-after-220", "garbage-tls", "1mib-line", "reset-handshake"],
)
def test_session_failures(script: object, code: str, phase: Phase, kind: ErrorKind | None) -> None:
    report = run(check_script(script, timeout=1.0))
    (host,) = report.hosts
    assert host.facts.error is not None
    assert host.facts.error.phase is phase
    if kind is not None:
        assert host.facts.error.kind is kind
    assert code in codes(report)
    assert host.verdict is Verdict.FAIL
    assert report.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (greeting_421, ["smtp.greeting-rejected"]),
        (ehlo_rejected, ["smtp.ehlo-rejected", "starttls.not-offered"]),
        (starttls_454, ["starttls.refused"]),
    ],
    ids=["greeting-421", "ehlo-rejected", "starttls-454"],
)
def test_refusals_are_reported_as_what_they_are(script: object, expected: list[str]) -> None:
    report = run(check_script(script))
    assert codes(report) == expected
    (host,) = report.hosts
    assert host.facts.error is None  # a refusal is a reply, not a broken session
    assert report.verdict is Verdict.FAIL


def test_starttls_not_advertised() -> None:
    context, _ = _tls()
    script = partial(
        standard_session, hostname="mx.example.test", tls_context=context, offer_starttls=False
    )
    report = run(check_script(script))
    assert codes(report) == ["starttls.not-offered"]
    assert report.hosts[0].facts.starttls_offered is False


def test_plaintext_injected_after_220_is_evidence_never_tls_data() -> None:
    context, ca = _tls()

    async def injector(conn: ServerConnection) -> None:
        await _ehlo_until_starttls(conn, EHLO_TLS)
        # One segment: the 220 and a forged reply that a vulnerable client would read as
        # the first reply inside TLS.
        await conn.send(b"220 go ahead\r\n250-forged.example\r\n250 AUTH PLAIN\r\n")
        await conn.start_tls(context)
        await conn.read_line()  # EHLO inside TLS
        await conn.send(b"250-mx.example.test\r\n250 SIZE 1000\r\n")
        await conn.read_line()
        await conn.send(b"221 bye\r\n")

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": injector}, ca=ca) as world:  # type: ignore[arg-type]
            return await world.check("example.test")

    report = run(go())
    (host,) = report.hosts
    assert host.facts.injected_plaintext == "250-forged.example\r\n250 AUTH PLAIN\r\n"
    assert host.facts.capabilities_after_tls == ("SIZE 1000",)  # the real reply, not forged
    assert "starttls.injection" in codes(report)
    assert report.verdict is Verdict.FAIL


def test_tls10_only_server_is_measured_not_failed() -> None:
    ca = make_ca("test CA")
    leaf = make_leaf(["mx.example.test"], ca)
    context = server_tls_context(
        chain_pem(leaf, ca),
        leaf.key_pem,
        minimum_version=ssl.TLSVersion.TLSv1,
        maximum_version=ssl.TLSVersion.TLSv1,
    )
    script = partial(standard_session, hostname="mx.example.test", tls_context=context)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": script}, ca=ca) as world:
            return await world.check("example.test")

    report = run(go())
    tls = report.hosts[0].facts.tls
    assert tls is not None
    assert tls.version == "TLSv1"
    assert codes(report) == ["tls.version-deprecated"]
    assert report.verdict is Verdict.WARN

    async def go_strict() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": script}, ca=ca) as world:
            return await world.check("example.test", policy=Policy(min_tls="1.2"))

    strict = run(go_strict())
    assert codes(strict) == ["tls.version-deprecated", "tls.below-minimum"]
    assert strict.verdict is Verdict.FAIL


def test_hostile_banner_is_kept_verbatim_in_facts() -> None:
    banner = "mx.example.test \x1b[2J\x1b]0;owned\x07 [bold red]x[/]"
    ca = make_ca("test CA")
    script = good_script("mx.example.test", ca, banner=banner)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": script}, ca=ca) as world:
            return await world.check("example.test")

    report = run(go())
    greeting = report.hosts[0].facts.greeting
    assert greeting is not None
    assert greeting.lines == (banner,)
    assert report.verdict is Verdict.PASS


# --- DNS shapes ---------------------------------------------------------------------------


def _world_check(
    zone: str, hosts: dict[str, str], domain: str, *, ca: Issued | None = None, **dns: object
) -> DomainReport:
    """Check `domain` with a well-behaved server for each {address: MX name}."""
    ca = ca or make_ca("test CA")
    servers = {address: good_script(name, ca) for address, name in hosts.items()}

    async def go() -> DomainReport:
        async with mail_world(zone, servers, ca=ca, **dns) as world:
            return await world.check(domain, timeout=1.0)

    return run(go())


def test_implicit_mx_probes_the_domain_itself() -> None:
    report = _world_check(
        "implicit.test. IN A 127.0.0.2\n",
        {"127.0.0.2": "implicit.test"},
        "implicit.test",
    )
    assert codes(report) == ["mx.implicit"]
    assert [h.mx for h in report.hosts] == ["implicit.test"]
    assert report.verdict is Verdict.PASS


def test_null_mx_is_reported_and_nothing_probed() -> None:
    report = _world_check(
        "nomail.test. IN MX 0 .\nnomail.test. IN A 127.0.0.2\n", {}, "nomail.test"
    )
    assert codes(report) == ["mx.null"]
    assert report.hosts == ()
    assert report.dns is not None
    assert report.dns.null_mx


def test_cname_mx_is_followed_and_reported() -> None:
    zone = (
        "alias.test. IN MX 10 mx.alias.test.\n"
        "mx.alias.test. IN CNAME real.alias.test.\n"
        "real.alias.test. IN A 127.0.0.2\n"
    )
    report = _world_check(zone, {"127.0.0.2": "mx.alias.test"}, "alias.test")
    assert codes(report) == ["mx.cname"]
    assert report.hosts[0].facts.tls is not None
    assert report.verdict is Verdict.WARN


def test_nxdomain_and_servfail_and_timeout_are_distinct() -> None:
    nx = _world_check("", {}, "missing.test")
    assert codes(nx) == ["dns.nxdomain"]
    assert nx.verdict is Verdict.FAIL
    fail = _world_check("", {}, "broken.test", servfail_names=["broken.test."])
    assert codes(fail) == ["dns.servfail"]
    message = fail.findings[0].message  # the server's answer, not dnspython's sentence
    assert "failed: the name server answered SERVFAIL (127.0.0.1 port " in message, message
    assert fail.verdict is Verdict.FAIL
    slow = _world_check("", {}, "slow.test", drop_names=["slow.test."])
    assert codes(slow) == ["dns.timeout"]
    assert slow.verdict is Verdict.INCONCLUSIVE


def test_multiple_mx_in_preference_order_with_unresolvable_backup() -> None:
    zone = (
        "multi.test. IN MX 20 mx2.multi.test.\n"
        "multi.test. IN MX 10 mx1.multi.test.\n"
        "multi.test. IN MX 30 ghost.multi.test.\n"
        "mx1.multi.test. IN A 127.0.0.2\n"
        "mx2.multi.test. IN A 127.0.0.3\n"
    )
    report = _world_check(
        zone,
        {"127.0.0.2": "mx1.multi.test", "127.0.0.3": "mx2.multi.test"},
        "multi.test",
    )
    assert [(h.preference, h.mx) for h in report.hosts] == [
        (10, "mx1.multi.test"),
        (20, "mx2.multi.test"),
    ]
    assert codes(report) == ["mx.unresolvable"]
    assert report.verdict is Verdict.WARN


def test_connection_refused() -> None:
    report = _world_check(MX_ZONE, {}, "example.test")
    assert codes(report) == ["connect.refused"]
    assert report.verdict is Verdict.FAIL


def test_many_slow_mx_are_probed_at_the_same_time() -> None:
    """Ten MX that each greet after 0.5 s: all ten sessions are open at once.

    (How long that takes is measured in benchmarks/, not asserted here.)
    """
    ca = make_ca("test CA")
    open_now, peak = 0, 0

    def counting(name: str) -> Script:
        inner = good_script(name, ca, greeting_delay=0.5)

        async def script(conn: ServerConnection) -> None:
            nonlocal open_now, peak
            open_now += 1
            peak = max(peak, open_now)
            try:
                await inner(conn)
            finally:
                open_now -= 1

        return script

    zone, servers = "", {}
    for i in range(10):
        name, address = f"mx{i}.ten.test", f"127.0.0.{20 + i}"
        zone += f"ten.test. IN MX {10 + i} {name}.\n{name}. IN A {address}\n"
        servers[address] = counting(name)

    async def go() -> DomainReport:
        async with mail_world(zone, servers, ca=ca) as world:
            return await world.check("ten.test")

    report = run(go())
    assert [h.preference for h in report.hosts] == list(range(10, 20))
    assert report.verdict is Verdict.PASS
    assert peak == 10


def test_the_trust_store_is_really_consulted() -> None:
    """The same server judged with and without its CA in the store."""
    ca = make_ca("test CA")

    async def go(store: TrustStore) -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": good_script("mx.example.test", ca)}) as world:
            return await world.check("example.test", trust_store=store)

    assert run(go(TrustStore([ca.cert]))).verdict is Verdict.PASS
    untrusted = run(go(TrustStore([])))
    assert untrusted.hosts[0].trust is not None
    assert untrusted.hosts[0].trust.problems == (CertProblem.UNTRUSTED,)
    assert untrusted.verdict is Verdict.WARN


def _ipv6_loopback_available() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback_available(), reason="no ::1 on this host")
def test_every_address_of_an_mx_is_probed_ipv4_and_ipv6() -> None:
    zone = (
        "dual.test. IN MX 10 mx.dual.test.\n"
        "mx.dual.test. IN A 127.0.0.2\n"
        "mx.dual.test. IN AAAA ::1\n"
    )
    ca = make_ca("test CA")
    no_tls = partial(
        standard_session, hostname="mx.dual.test", tls_context=None, offer_starttls=False
    )
    servers = {"127.0.0.2": good_script("mx.dual.test", ca), "::1": no_tls}

    async def go() -> DomainReport:
        async with mail_world(zone, servers, ca=ca) as world:
            return await world.check("dual.test")

    report = run(go())
    assert [(h.address, h.verdict) for h in report.hosts] == [
        ("127.0.0.2", Verdict.PASS),
        ("::1", Verdict.FAIL),
    ]
    assert [str(f.subject) for f in report.all_findings()] == [
        "mx.dual.test [::1]:" + str(report.hosts[1].port)
    ]


def test_transient_421_is_retried_politely_and_the_retry_reported() -> None:
    """421 on the first connection, a normal session on the second."""
    ca = make_ca("test CA")
    good = good_script("mx.example.test", ca)
    connections = 0

    async def busy_once(conn: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await greeting_421(conn)
        else:
            await good(conn)

    async def go(retries: int) -> DomainReport:
        async with mail_world(MX_ZONE, {"127.0.0.2": busy_once}, ca=ca) as world:
            return await world.check("example.test", retries=retries)

    report = run(go(retries=1))
    (host,) = report.hosts
    assert connections == 2
    assert len(host.earlier_attempts) == 1
    assert host.earlier_attempts[0].greeting is not None
    assert host.earlier_attempts[0].greeting.code == 421
    assert codes(report) == ["smtp.transient"]
    assert "retry got through" in report.all_findings()[0].message
    assert report.verdict is Verdict.PASS

    connections = 0
    no_retry = run(go(retries=0))
    assert connections == 1
    assert codes(no_retry) == ["smtp.greeting-rejected"]


def test_a_server_that_stays_busy_is_asked_retries_plus_one_times() -> None:
    attempts = 0

    async def always_busy(conn: ServerConnection) -> None:
        nonlocal attempts
        attempts += 1
        await greeting_421(conn)

    report = run(check_script(always_busy, retries=2))
    assert attempts == 3
    assert len(report.hosts[0].earlier_attempts) == 2
    assert codes(report) == ["smtp.transient", "smtp.greeting-rejected"]
    assert "still 421" in report.all_findings()[0].message
    assert report.verdict is Verdict.FAIL


async def masked_by_a_firewall(conn: ServerConnection) -> None:
    """What Cisco's ESMTP inspection makes of a server's EHLO reply: STARTTLS masked."""
    await conn.send(b"220 ****************************\r\n")
    await conn.read_line()
    await conn.send(b"250-mx.example.test\r\n250-PIPELINING\r\n250-XXXXXXXA\r\n250 8BITMIME\r\n")
    await conn.read_line()
    await conn.send(b"221 bye\r\n")


def test_stripped_starttls_points_at_the_path_not_the_server() -> None:
    report = run(check_script(masked_by_a_firewall))
    assert codes(report) == ["starttls.stripped"]  # not "not offered": that would mislead
    (finding,) = report.all_findings()
    assert finding.evidence is not None
    assert "XXXXXXXA" in finding.evidence
    assert report.verdict is Verdict.FAIL


def test_a_busy_address_does_not_hold_slots_others_could_use() -> None:
    """Three domains share one slow MX address; a fourth has its own. With two global slots,
    the fourth is probed while the first session to the shared address is still open."""
    ca = make_ca("test CA")
    order: list[str] = []

    def recording(name: str, delay: float) -> Script:
        inner = good_script(name, ca, greeting_delay=delay)

        async def script(conn: ServerConnection) -> None:
            order.append(name)
            await inner(conn)

        return script

    zone = "".join(f"d{i}.test. IN MX 10 shared.test.\n" for i in range(3))
    zone += (
        "shared.test. IN A 127.0.0.2\nother.test. IN MX 10 own.test.\nown.test. IN A 127.0.0.3\n"
    )
    servers = {"127.0.0.2": recording("shared.test", 0.3), "127.0.0.3": recording("own.test", 0)}

    async def go() -> tuple[DomainReport, ...]:
        async with mail_world(zone, servers, ca=ca) as world:
            settings = world.settings(concurrency=2)
            return await check_domains_async(
                ["d0.test", "d1.test", "d2.test", "other.test"], settings
            )

    reports = run(go())
    assert [r.verdict for r in reports] == [Verdict.PASS] * 4
    assert order.index("own.test") == 1  # not after the shared address's queue
