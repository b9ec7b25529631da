"""End to end for --protocol and Postfix-style targets: IMAP, POP3, implicit TLS, LMTP,
`[host]:port`, `[address]:port` and `domain:port`, against real loopback servers."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import dns.message
import dns.rcode
import pytest
from aiosmtpd.handlers import Sink
from aiosmtpd.lmtp import LMTP

from starttls_check.cli.params import parse_target
from starttls_check.demo.loopback.dns_server import LoopbackDnsServer
from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.shared_port import servers_on_shared_port, unused_port
from starttls_check.demo.loopback.smtp_server import (
    Script,
    ServerConnection,
    server_tls_context,
    standard_session,
)
from starttls_check.model.choices import MailProtocol
from starttls_check.model.findings import Verdict
from starttls_check.model.report import DomainReport, HostReport
from starttls_check.model.session import CertProblem, Direction, ErrorKind, Phase
from starttls_check.run.check import check_domains_async

from .harness import World, good_script, mail_world, run

MX_ZONE = "example.test. IN MX 10 mx.example.test.\nmx.example.test. IN A 127.0.0.2\n"
TIMEOUT = 2.0


def codes(report: DomainReport) -> list[str]:
    return [f.code for f in report.all_findings()]


def sent(host: HostReport) -> list[str]:
    """What the client said, in order (from the session transcript)."""
    return [e.text for e in host.facts.transcript if e.direction is Direction.SENT]


@dataclass
class Tls:
    """A CA, a server context for `names` signed by it, and the SNI each handshake got."""

    ca: Issued
    context: ssl.SSLContext
    sni: list[str | None] = field(default_factory=list)


def make_tls(*names: str, ca: Issued | None = None) -> Tls:
    ca = ca or make_ca("protocols test CA")
    leaf = make_leaf(list(names), ca)
    tls = Tls(ca=ca, context=server_tls_context(chain_pem(leaf, ca), leaf.key_pem))

    def record_sni(_: object, server_name: str | None, __: ssl.SSLContext) -> None:
        tls.sni.append(server_name)

    tls.context.sni_callback = record_sni
    return tls


async def check_one(
    servers: dict[str, Script],
    tls: Tls,
    target: str = "example.test",
    zone: str = MX_ZONE,
    **kw: Any,
) -> DomainReport:
    """Check `target` (parsed like the command line) against `servers` on a shared port."""
    async with mail_world(zone, servers, ca=tls.ca) as world:
        wanted = parse_target(target.replace("PORT", str(world.port)))
        (report,) = await check_domains_async(
            [wanted], world.settings(**{"timeout": TIMEOUT, **kw})
        )
        return report


async def _line(conn: ServerConnection) -> str:
    line = await conn.read_line()
    assert line is not None, "the client closed the connection early"
    return line.decode("ascii").rstrip("\r\n")


# --- IMAP (RFC 9051, RFC 3501 §6.2.1) ---------------------------------------------------

IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"


async def imap_server(
    conn: ServerConnection,
    *,
    tls_context: ssl.SSLContext,
    heard: list[str],
    greeting: bytes = IMAP_GREETING,
    offer_starttls: bool = True,
    starttls_status: str = "OK",
    inject: bytes = b"",
    implicit: bool = False,
) -> None:
    """A small well-behaved IMAP server; knobs for each misbehaviour under test. Anything
    but CAPABILITY, STARTTLS and LOGOUT fails the test (the client said something wrong)."""
    if implicit:
        await conn.start_tls(tls_context)
    await conn.send(greeting)
    while (line := await conn.read_line()) is not None:
        text = line.decode("ascii").rstrip("\r\n")
        heard.append(text)
        tag, _, verb = text.partition(" ")
        if verb == "CAPABILITY":
            if conn.tls_active:
                capabilities = "IMAP4rev1 AUTH=PLAIN"
            else:
                capabilities = "IMAP4rev1 STARTTLS LOGINDISABLED" if offer_starttls else "IMAP4rev1"
            await conn.send(f"* CAPABILITY {capabilities}\r\n{tag} OK done\r\n".encode())
        elif verb == "STARTTLS" and not conn.tls_active:
            if starttls_status != "OK":
                await conn.send(f"{tag} {starttls_status} TLS is not available\r\n".encode())
                continue
            await conn.send(f"{tag} OK Begin TLS negotiation now\r\n".encode() + inject)
            await conn.start_tls(tls_context)
        elif verb == "LOGOUT":
            await conn.send(f"* BYE logging out\r\n{tag} OK LOGOUT completed\r\n".encode())
            conn.close()
            return
        else:
            raise AssertionError(f"unexpected IMAP command {text!r}")


def check_imap(
    protocol: MailProtocol = MailProtocol.IMAP, timeout: float = TIMEOUT, **knobs: Any
) -> tuple[DomainReport, list[str]]:
    tls = make_tls("mx.example.test")
    heard: list[str] = []
    script = partial(imap_server, tls_context=tls.context, heard=heard, **knobs)
    report = run(check_one({"127.0.0.2": script}, tls, protocol=protocol, timeout=timeout))
    return report, heard


def test_imap_starttls_passes_with_capabilities_asked_again_inside_tls() -> None:
    report, heard = check_imap()
    assert report.verdict is Verdict.PASS, codes(report)
    assert codes(report) == []
    (host,) = report.hosts
    facts = host.facts
    assert facts.error is None
    assert facts.greeting is not None
    assert facts.greeting.code == 220
    assert facts.greeting.lines == ("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready",)
    assert facts.ehlo_command == "CAPABILITY"
    assert facts.capabilities == ("IMAP4rev1", "STARTTLS", "LOGINDISABLED")
    assert facts.starttls_offered is True
    assert facts.starttls_reply is not None
    assert facts.starttls_reply.code == 220
    assert facts.starttls_reply.lines == ("a2 OK Begin TLS negotiation now",)
    assert facts.tls is not None
    assert facts.tls.version == "TLSv1.3"
    assert facts.capabilities_after_tls == ("IMAP4rev1", "AUTH=PLAIN")
    assert facts.injected_plaintext is None
    assert host.trust is not None
    assert host.trust.valid
    assert heard == ["a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", "a4 LOGOUT"]
    assert sent(host) == heard
    # Responses are kept verbatim, status words and untagged data included.
    received = [e.text for e in facts.transcript if e.direction is Direction.RECEIVED]
    assert received[-2:] == ["* BYE logging out", "a4 OK LOGOUT completed"]


def test_imap_without_starttls_capability_is_not_offered() -> None:
    report, heard = check_imap(
        offer_starttls=False, greeting=b"* OK [CAPABILITY IMAP4rev1] ready\r\n"
    )
    assert codes(report) == ["starttls.not-offered"]
    assert report.hosts[0].facts.starttls_offered is False
    assert report.hosts[0].facts.tls is None
    assert heard == ["a1 CAPABILITY", "a2 LOGOUT"]
    assert report.verdict is Verdict.FAIL


def test_imap_starttls_refused_with_no() -> None:
    report, heard = check_imap(starttls_status="NO")
    assert codes(report) == ["starttls.refused"]
    (host,) = report.hosts
    assert host.facts.starttls_reply is not None
    assert host.facts.starttls_reply.code == 454  # NO to STARTTLS, as line_dialects.py says
    assert host.facts.starttls_reply.lines == ("a2 NO TLS is not available",)
    assert host.facts.tls is None
    assert host.facts.error is None
    assert heard == ["a1 CAPABILITY", "a2 STARTTLS", "a3 LOGOUT"]
    assert report.verdict is Verdict.FAIL


def test_imap_starttls_answered_bad_counts_as_stripped() -> None:
    """BAD is mapped to 500, and an advertised STARTTLS answered 500 is the
    'stripped by a middlebox' pattern (checks/capabilities.py), which supersedes
    starttls.refused."""
    report, heard = check_imap(starttls_status="BAD")
    assert codes(report) == ["starttls.stripped"]
    (host,) = report.hosts
    assert host.facts.starttls_reply is not None
    assert host.facts.starttls_reply.code == 500
    assert heard == ["a1 CAPABILITY", "a2 STARTTLS", "a3 LOGOUT"]
    assert report.verdict is Verdict.FAIL


def test_imap_bye_greeting_is_a_rejected_greeting() -> None:
    report, heard = check_imap(greeting=b"* BYE too many connections\r\n")
    assert codes(report) == ["smtp.greeting-rejected"]
    (host,) = report.hosts
    assert host.facts.greeting is not None
    assert host.facts.greeting.code == 421
    assert host.facts.greeting.lines == ("* BYE too many connections",)
    assert heard == ["a1 LOGOUT"]
    assert report.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    "greeting",
    [b"220 mx.example.test ESMTP\r\n", b"+OK POP3 ready\r\n", b"* HELLO there\r\n"],
    ids=["smtp-banner", "pop3-banner", "unknown-status"],
)
def test_imap_garbage_greeting_is_a_protocol_error(greeting: bytes) -> None:
    report, heard = check_imap(greeting=greeting)
    assert codes(report) == ["smtp.protocol-error"]
    (host,) = report.hosts
    assert host.facts.error is not None
    assert host.facts.error.phase is Phase.GREETING
    assert host.facts.error.kind is ErrorKind.PROTOCOL
    assert "not an IMAP greeting" in host.facts.error.detail
    assert heard == []
    assert report.verdict is Verdict.FAIL


def test_imap_plaintext_injected_after_starttls_ok_is_evidence_never_tls_data() -> None:
    forged = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN FORGED\r\n"
    report, heard = check_imap(inject=forged)
    (host,) = report.hosts
    assert host.facts.injected_plaintext == forged.decode()
    assert host.facts.capabilities_after_tls == ("IMAP4rev1", "AUTH=PLAIN")  # not forged
    assert codes(report) == ["starttls.injection"]
    assert heard == ["a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", "a4 LOGOUT"]
    assert report.verdict is Verdict.FAIL


# --- POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS) ---------------------------------------

POP3_CAPA = (b"TOP", b"USER", b"STLS")


async def pop3_server(
    conn: ServerConnection,
    *,
    tls_context: ssl.SSLContext,
    heard: list[str],
    greeting: bytes = b"+OK ready\r\n",
    capa: tuple[bytes, ...] | None = POP3_CAPA,
    stls_answer: bytes = b"+OK Begin TLS negotiation\r\n",
    implicit: bool = False,
) -> None:
    """A small well-behaved POP3 server. `capa=None` answers -ERR to CAPA; lines are sent
    as given (so a test can dot-stuff them)."""
    if implicit:
        await conn.start_tls(tls_context)
    await conn.send(greeting)
    while (line := await conn.read_line()) is not None:
        text = line.decode("ascii").rstrip("\r\n")
        heard.append(text)
        if text == "CAPA":
            lines = (b"TOP", b"USER", b"SASL PLAIN") if conn.tls_active else capa
            if lines is None:
                await conn.send(b"-ERR unknown command\r\n")
                continue
            listed = b"".join(c + b"\r\n" for c in lines)
            await conn.send(b"+OK Capability list follows\r\n" + listed + b".\r\n")
        elif text == "STLS" and not conn.tls_active:
            await conn.send(stls_answer)
            if stls_answer.startswith(b"+OK"):
                await conn.start_tls(tls_context)
        elif text == "QUIT":
            await conn.send(b"+OK bye\r\n")
            conn.close()
            return
        else:
            raise AssertionError(f"unexpected POP3 command {text!r}")


def check_pop3(
    protocol: MailProtocol = MailProtocol.POP3, timeout: float = TIMEOUT, **knobs: Any
) -> tuple[DomainReport, list[str]]:
    tls = make_tls("mx.example.test")
    heard: list[str] = []
    script = partial(pop3_server, tls_context=tls.context, heard=heard, **knobs)
    report = run(check_one({"127.0.0.2": script}, tls, protocol=protocol, timeout=timeout))
    return report, heard


def test_pop3_stls_passes() -> None:
    report, heard = check_pop3()
    assert report.verdict is Verdict.PASS, codes(report)
    assert codes(report) == []
    (host,) = report.hosts
    facts = host.facts
    assert facts.greeting is not None
    assert facts.greeting.code == 220
    assert facts.ehlo_command == "CAPA"
    assert facts.capabilities == ("TOP", "USER", "STLS")
    assert facts.starttls_offered is True
    assert facts.starttls_reply is not None
    assert facts.starttls_reply.code == 220
    assert facts.tls is not None
    assert facts.tls.version == "TLSv1.3"
    assert facts.capabilities_after_tls == ("TOP", "USER", "SASL PLAIN")
    assert host.trust is not None
    assert host.trust.valid
    assert heard == ["CAPA", "STLS", "CAPA", "QUIT"]
    assert sent(host) == heard


def test_pop3_without_stls_is_not_offered() -> None:
    report, heard = check_pop3(capa=(b"TOP", b"USER"))
    assert codes(report) == ["starttls.not-offered"]
    assert report.hosts[0].facts.starttls_offered is False
    assert heard == ["CAPA", "QUIT"]
    assert report.verdict is Verdict.FAIL


def test_pop3_stls_refused() -> None:
    report, heard = check_pop3(stls_answer=b"-ERR TLS not available\r\n")
    assert codes(report) == ["starttls.refused"]
    reply = report.hosts[0].facts.starttls_reply
    assert reply is not None
    assert reply.code == 454  # -ERR to STLS, as documented in line_dialects.py
    assert reply.lines == ("-ERR TLS not available",)
    assert heard == ["CAPA", "STLS", "QUIT"]
    assert report.verdict is Verdict.FAIL


def test_pop3_capa_refused_is_recorded_as_starttls_not_offered() -> None:
    """A server without CAPA (RFC 2449) cannot advertise STLS: the facts say so."""
    report, heard = check_pop3(capa=None)
    (host,) = report.hosts
    assert host.facts.ehlo_reply is not None
    assert host.facts.ehlo_reply.code == 554
    assert host.facts.ehlo_reply.lines == ("-ERR unknown command",)
    assert host.facts.starttls_offered is False
    assert host.facts.error is None
    assert heard == ["CAPA", "QUIT"]  # STLS is not tried blindly
    assert report.verdict is Verdict.FAIL


def test_pop3_capa_refused_reports_starttls_not_offered() -> None:
    report, _ = check_pop3(capa=None)
    assert codes(report) == ["starttls.not-offered"]


def test_pop3_dot_stuffed_capability_line() -> None:
    # RFC 1939 §3: a line beginning with "." is sent with another "." in front; the list
    # goes on after it (STLS comes later) and the capability is unstuffed.
    report, heard = check_pop3(capa=(b"TOP", b"..X-DOTTED arg", b"STLS"))
    facts = report.hosts[0].facts
    assert facts.capabilities == ("TOP", ".X-DOTTED arg", "STLS")
    assert facts.starttls_offered is True
    assert heard == ["CAPA", "STLS", "CAPA", "QUIT"]
    assert report.verdict is Verdict.PASS, codes(report)


def test_pop3_plaintext_injected_after_stls_ok() -> None:
    forged = b"+OK forged\r\n"
    report, _ = check_pop3(stls_answer=b"+OK Begin TLS negotiation\r\n" + forged)
    (host,) = report.hosts
    assert host.facts.injected_plaintext == forged.decode()
    assert host.facts.capabilities_after_tls == ("TOP", "USER", "SASL PLAIN")
    assert codes(report) == ["starttls.injection"]


@pytest.mark.parametrize("protocol", [MailProtocol.POP3, MailProtocol.IMAP])
def test_injected_lines_that_are_not_the_protocol_are_evidence_and_tls_goes_on(
    protocol: MailProtocol,
) -> None:
    # POP3: not +OK/-ERR. IMAP: the STARTTLS tag with no valid status word.
    garbage = b"garbage, not a reply\r\n" if protocol is MailProtocol.POP3 else b"a2 WHAT\r\n"
    # A small timeout: today the session waits for the deadline (4 x timeout).
    if protocol is MailProtocol.POP3:
        report, _ = check_pop3(stls_answer=b"+OK Begin TLS\r\n" + garbage, timeout=0.3)
    else:
        report, _ = check_imap(inject=garbage, timeout=0.3)
    (host,) = report.hosts
    assert host.facts.injected_plaintext == garbage.decode()
    assert host.facts.error is None
    assert host.facts.capabilities_after_tls is not None
    assert codes(report) == ["starttls.injection"]


# --- implicit TLS (RFC 8314): smtps, imaps, pop3s ----------------------------------------


async def smtps_server(conn: ServerConnection, *, tls_context: ssl.SSLContext) -> None:
    await conn.start_tls(tls_context)  # TLS from the first byte
    await conn.send(b"220 mx.example.test ESMTP\r\n")
    assert await _line(conn) == "EHLO client.test"
    await conn.send(b"250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n")
    assert await _line(conn) == "QUIT"
    await conn.send(b"221 bye\r\n")
    conn.close()


def _assert_implicit_pass(report: DomainReport, capabilities: tuple[str, ...]) -> HostReport:
    assert report.verdict is Verdict.PASS, codes(report)
    assert codes(report) == []
    (host,) = report.hosts
    facts = host.facts
    assert facts.starttls_offered is None
    assert facts.starttls_reply is None
    assert facts.tls is not None
    assert facts.tls.version == "TLSv1.3"
    assert facts.capabilities_after_tls == capabilities
    assert facts.capabilities == capabilities
    # The handshake came before anything was read or written.
    events = [e for e in facts.transcript if e.direction is not Direction.EVENT]
    handshake = next(
        i for i, e in enumerate(facts.transcript) if e.text.startswith("TLS established")
    )
    assert facts.transcript.index(events[0]) > handshake
    assert host.trust is not None
    assert host.trust.valid
    return host


def test_smtps_handshakes_first_then_greets_inside_tls() -> None:
    tls = make_tls("mx.example.test")
    script = partial(smtps_server, tls_context=tls.context)
    report = run(check_one({"127.0.0.2": script}, tls, protocol=MailProtocol.SMTPS))
    host = _assert_implicit_pass(report, ("PIPELINING", "SIZE 10240000"))
    assert sent(host) == ["EHLO client.test", "QUIT"]  # no STARTTLS, one EHLO
    assert tls.sni == ["mx.example.test"]


def test_imaps() -> None:
    report, heard = check_imap(
        MailProtocol.IMAPS, implicit=True, greeting=b"* OK IMAP4rev1 ready\r\n"
    )
    _assert_implicit_pass(report, ("IMAP4rev1", "AUTH=PLAIN"))
    assert heard == ["a1 CAPABILITY", "a2 LOGOUT"]


def test_pop3s() -> None:
    report, heard = check_pop3(MailProtocol.POP3S, implicit=True)
    _assert_implicit_pass(report, ("TOP", "USER", "SASL PLAIN"))
    assert heard == ["CAPA", "QUIT"]


@pytest.mark.parametrize(
    ("protocol", "greeting"),
    [
        (MailProtocol.SMTPS, b"220 mx.example.test ESMTP\r\n"),
        (MailProtocol.IMAPS, IMAP_GREETING),
        (MailProtocol.POP3S, b"+OK ready\r\n"),
    ],
    ids=["smtps", "imaps", "pop3s"],
)
def test_plaintext_server_on_an_implicit_tls_port(protocol: MailProtocol, greeting: bytes) -> None:
    async def plaintext(conn: ServerConnection) -> None:
        await conn.send(greeting)
        await conn.read_line(limit=64 * 1024)  # a ClientHello, or the end of the connection

    tls = make_tls("mx.example.test")
    report = run(check_one({"127.0.0.2": plaintext}, tls, protocol=protocol))
    (host,) = report.hosts
    assert host.facts.error is not None
    assert host.facts.error.phase is Phase.HANDSHAKE
    assert host.facts.error.kind is ErrorKind.TLS
    assert host.facts.greeting is None  # the plaintext greeting was never taken as one
    assert codes(report) == ["tls.handshake-failed"]
    assert report.verdict is Verdict.FAIL


# --- LMTP (RFC 2033): LHLO, and no HELO to fall back to ----------------------------------


@contextlib.asynccontextmanager
async def aiosmtpd_lmtp(tls: Tls) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: LMTP(Sink(), hostname="mx.example.test", tls_context=tls.context),
        "127.0.0.2",
        0,
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def test_lmtp_against_aiosmtpd_sends_lhlo_and_passes() -> None:
    tls = make_tls("mx.example.test")

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {}, ca=tls.ca) as world, aiosmtpd_lmtp(tls) as port:
            (report,) = await check_domains_async(
                ["example.test"],
                world.settings(port=port, protocol=MailProtocol.LMTP, timeout=TIMEOUT),
            )
            return report

    report = run(go())
    assert report.verdict is Verdict.PASS, codes(report)
    (host,) = report.hosts
    assert host.facts.ehlo_command == "LHLO"
    assert sent(host) == ["LHLO client.test", "STARTTLS", "LHLO client.test", "QUIT"]
    assert host.facts.starttls_offered is True
    assert host.facts.tls is not None
    assert host.facts.tls.version == "TLSv1.3"
    assert host.facts.capabilities_after_tls is not None
    assert "STARTTLS" not in host.facts.capabilities_after_tls


def test_lmtp_lhlo_rejected_has_no_helo_fallback() -> None:
    heard: list[str] = []

    async def no_lhlo(conn: ServerConnection) -> None:
        await conn.send(b"220 mx.example.test LMTP\r\n")
        heard.append(await _line(conn))
        await conn.send(b'500 Error: command "LHLO" not recognized\r\n')
        heard.append(await _line(conn))
        await conn.send(b"221 bye\r\n")

    tls = make_tls("mx.example.test")
    report = run(check_one({"127.0.0.2": no_lhlo}, tls, protocol=MailProtocol.LMTP))
    assert heard == ["LHLO client.test", "QUIT"]  # no HELO: RFC 2033 has none
    (host,) = report.hosts
    assert host.facts.helo_reply is None
    assert host.facts.ehlo_reply is not None
    assert host.facts.ehlo_reply.code == 500
    assert codes(report) == ["smtp.ehlo-failed"]
    assert report.verdict is Verdict.FAIL


# --- targets: [host]:port, [address]:port, domain:port -----------------------------------


class ServfailDns(LoopbackDnsServer):
    """Answers SERVFAIL to everything, and remembers what it was asked."""

    def __init__(self) -> None:
        super().__init__({})
        self.asked: list[str] = []

    def handle_wire(self, data: bytes, *, max_size: int | None = None) -> bytes | None:
        query = dns.message.from_wire(data)
        self.asked.append(query.question[0].to_text())
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.SERVFAIL)
        return response.to_wire()


@pytest.mark.parametrize(
    ("names", "problems"),
    [(["mx.example.test"], ()), (["other.example.test"], (CertProblem.NAME_MISMATCH,))],
    ids=["right-name", "wrong-name"],
)
def test_bracketed_host_is_resolved_and_its_name_checked(
    names: list[str], problems: tuple[CertProblem, ...]
) -> None:
    tls = make_tls(*names)
    # Were MX records looked up for the bracketed name, mail would go to 127.0.0.9.
    zone = MX_ZONE + (
        "mx.example.test. IN MX 10 elsewhere.example.test.\n"
        "elsewhere.example.test. IN A 127.0.0.9\n"
    )
    server = partial(standard_session, hostname="mx.example.test", tls_context=tls.context)
    report = run(check_one({"127.0.0.2": server}, tls, "[MX.Example.TEST]:PORT", zone=zone))
    assert report.domain.startswith("[MX.Example.TEST]:")  # as written
    assert report.ascii_domain == f"[mx.example.test]:{report.hosts[0].port}"  # the key
    assert report.dns is not None
    assert report.dns.mx_detail == "no MX lookup: the host was named directly"
    (host,) = report.hosts
    assert (host.mx, host.address, host.preference) == ("mx.example.test", "127.0.0.2", 0)
    assert tls.sni == ["mx.example.test"]
    assert "TLS handshake, SNI mx.example.test" in [e.text for e in host.facts.transcript]
    assert host.trust is not None
    assert host.trust.checked_name == "mx.example.test"
    assert host.trust.problems == problems
    assert codes(report) == [f"cert.{p.value}" for p in problems]
    assert report.verdict is (Verdict.WARN if problems else Verdict.PASS)


@pytest.mark.parametrize(
    ("names", "problems"),
    [
        (["127.0.0.2"], ()),
        (["mx.example.test", "127.0.0.2"], ()),
        (["mx.example.test"], (CertProblem.NAME_MISMATCH,)),
        (["127.0.0.3"], (CertProblem.NAME_MISMATCH,)),
        (["127.0.0.2.example.test"], (CertProblem.NAME_MISMATCH,)),
    ],
    ids=["ip-san", "dns-and-ip-san", "dns-san-only", "other-ip", "ip-lookalike-dns"],
)
def test_bracketed_address_asks_no_dns_sends_no_sni_and_checks_ip_sans(
    names: list[str], problems: tuple[CertProblem, ...]
) -> None:
    tls = make_tls(*names)
    server = partial(standard_session, hostname="mx.example.test", tls_context=tls.context)

    async def go() -> tuple[DomainReport, DomainReport, list[str]]:
        async with (
            ServfailDns() as dns_server,
            servers_on_shared_port({"127.0.0.2": server}) as port,
        ):
            world = World(dns=dns_server, port=unused_port(), ca=tls.ca)
            settings = world.settings(timeout=TIMEOUT)
            direct, domain = await check_domains_async(
                [parse_target(f"[127.0.0.2]:{port}"), "example.test"], settings
            )
            return direct, domain, dns_server.asked

    report, control, asked = run(go())
    # The same name server, asked for the domain, fails it: it would have been noticed.
    assert codes(control) == ["dns.servfail"]
    # Every question is the domain's (its MX, then DNSSEC validation asking why it failed):
    # none is about the bracketed address.
    assert asked[0] == "example.test. IN MX"
    assert not [q for q in asked if "127" in q or "in-addr" in q]
    assert report.domain.startswith("[127.0.0.2]:")
    (host,) = report.hosts
    assert (host.mx, host.address) == ("127.0.0.2", "127.0.0.2")
    assert tls.sni == [None]  # on the wire; and the client did not even ask for it:
    assert "TLS handshake, SNI (none)" in [e.text for e in host.facts.transcript]
    assert host.trust is not None
    assert host.trust.checked_name == "127.0.0.2"
    assert host.trust.problems == problems
    assert codes(report) == [f"cert.{p.value}" for p in problems]
    assert report.verdict is (Verdict.WARN if problems else Verdict.PASS)


def test_domain_port_is_used_for_every_mx_instead_of_settings_port() -> None:
    zone = (
        "two.test. IN MX 10 mx1.two.test.\n"
        "two.test. IN MX 20 mx2.two.test.\n"
        "mx1.two.test. IN A 127.0.0.2\n"
        "mx2.two.test. IN A 127.0.0.3\n"
    )
    ca = make_ca("protocols test CA")
    servers = {
        "127.0.0.2": good_script("mx1.two.test", ca),
        "127.0.0.3": good_script("mx2.two.test", ca),
    }

    async def go() -> tuple[DomainReport, DomainReport, int]:
        async with mail_world(zone, servers, ca=ca) as world:
            settings = world.settings(port=unused_port(), timeout=TIMEOUT)
            with_port, without = await check_domains_async(
                [parse_target(f"two.test:{world.port}"), parse_target("two.test")], settings
            )
            return with_port, without, world.port

    report, without_port, port = run(go())
    assert report.domain == f"two.test:{port}"
    assert report.ascii_domain == f"two.test:{report.hosts[0].port}"  # the report's key
    assert [(h.mx, h.port) for h in report.hosts] == [
        ("mx1.two.test", port),
        ("mx2.two.test", port),
    ]
    assert report.verdict is Verdict.PASS, codes(report)
    # Without the port, settings.port (where nothing listens) is used: both refused.
    assert without_port.domain == "two.test"
    assert {h.port for h in without_port.hosts} != {port}
    assert codes(without_port) == ["connect.refused", "connect.refused"]


@pytest.mark.parametrize(
    ("protocol", "port"),
    [
        (MailProtocol.SMTP, 25),
        (MailProtocol.SUBMISSION, 587),
        (MailProtocol.SMTPS, 465),
        (MailProtocol.LMTP, 24),
        (MailProtocol.IMAP, 143),
        (MailProtocol.IMAPS, 993),
        (MailProtocol.POP3, 110),
        (MailProtocol.POP3S, 995),
    ],
)
def test_without_any_port_the_protocol_default_is_used(protocol: MailProtocol, port: int) -> None:
    async def go() -> DomainReport:
        async with ServfailDns() as dns_server:
            world = World(dns=dns_server, port=0, ca=make_ca("unused"))
            settings = world.settings(port=None, protocol=protocol, timeout=0.5)
            (report,) = await check_domains_async([parse_target("[127.0.0.2]")], settings)
            return report

    report = run(go())
    assert [h.port for h in report.hosts] == [port]
