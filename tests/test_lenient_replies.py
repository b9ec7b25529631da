"""Replies that break RFC 5321's syntax but that Postfix's client accepts: the session goes
on to TLS, and each defect is a warning that names itself and whose reply it was.

Every server here is a scripted loopback server speaking real STARTTLS with a trustme
certificate (tests/harness.py), checked by the whole checker.
"""

from __future__ import annotations

import ssl

import pytest

from starttls_check.demo.loopback.pki import Issued, chain_pem, make_ca, make_leaf
from starttls_check.demo.loopback.smtp_server import Script, ServerConnection, server_tls_context
from starttls_check.model.findings import Finding, Severity, Verdict
from starttls_check.model.report import DomainReport
from starttls_check.model.session import DefectKind

from .harness import mail_world, run

MX = "mx.example.test"
ADDRESS = "127.0.0.2"
MX_ZONE = f"example.test. IN MX 10 {MX}.\n{MX}. IN A {ADDRESS}\n"
GREETING = b"220 mx.example.test ESMTP\r\n"
LONG = b"250-X-LONG " + b"a" * 600 + b"\r\n"  # 613 octets: more than 512, less than 2048


def sloppy_server(context: ssl.SSLContext, greeting: bytes, ehlo: bytes) -> Script:
    """Greets with `greeting`, answers EHLO with `ehlo`, then a correct STARTTLS session."""

    async def script(conn: ServerConnection) -> None:
        await conn.send(greeting)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(ehlo)
        assert await conn.read_line() == b"STARTTLS\r\n"
        await conn.send(b"220 2.0.0 go ahead\r\n")
        await conn.start_tls(context)
        assert await conn.read_line() == b"EHLO client.test\r\n"
        await conn.send(b"250-mx.example.test\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n")
        assert await conn.read_line() == b"QUIT\r\n"
        await conn.send(b"221 2.0.0 bye\r\n")

    return script


def context_for(ca: Issued) -> ssl.SSLContext:
    leaf = make_leaf([MX], ca)
    return server_tls_context(chain_pem(leaf, ca), leaf.key_pem)


def check(greeting: bytes, ehlo: bytes) -> DomainReport:
    ca = make_ca("lenient test CA")
    script = sloppy_server(context_for(ca), greeting, ehlo)

    async def go() -> DomainReport:
        async with mail_world(MX_ZONE, {ADDRESS: script}, ca=ca) as world:
            return await world.check("example.test", timeout=2.0)

    return run(go())


def malformed(report: DomainReport) -> list[Finding]:
    return [f for f in report.all_findings() if f.code == "smtp.malformed-reply"]


def assert_went_on_to_tls(report: DomainReport) -> None:
    """TLS negotiated, nothing failed: the only findings are the defects' warnings."""
    host = report.hosts[0]
    assert host.facts.error is None, host.facts.transcript
    assert host.facts.tls is not None
    assert host.facts.capabilities_after_tls == ("PIPELINING", "SIZE 10240000")
    assert {f.code for f in report.all_findings()} == {"smtp.malformed-reply"}
    assert report.verdict is Verdict.WARN


DEFECTS = [
    pytest.param(
        b"250-mx.example.test\r\n251-SIZE 10240000\r\n250 STARTTLS\r\n",
        DefectKind.MIXED_CODES,
        (2,),
        "line 2: code 251, the last line's 250",
        id="mixed-codes",
    ),
    pytest.param(
        b"250-mx.example.test\n250-SIZE 10240000\r\n250 STARTTLS\n",
        DefectKind.BARE_LF,
        (1, 3),
        "lines 1, 3: a bare LF ends the line",
        id="bare-lf",
    ),
    pytest.param(
        b"250-mx.example.test\r\n\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n",
        DefectKind.EMPTY_LINE,
        (2,),
        "line 2: empty, no reply code",
        id="empty-line",
    ),
    pytest.param(
        b"250-mx.example.test\r\n250-\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n",
        DefectKind.EMPTY_LINE,
        (2,),
        "line 2: a code and no extension keyword",
        id="empty-ehlo-line",
    ),
    pytest.param(
        b"250-mx.example.test\r\n" + LONG + b"250-SIZE 10240000\r\n250 STARTTLS\r\n",
        DefectKind.LONG_LINE,
        (2,),
        "line 2: longer than 512 octets with CRLF (the longest 613",
        id="long-line",
    ),
]


@pytest.mark.parametrize(("ehlo", "kind", "lines", "detail"), DEFECTS)
def test_each_ehlo_defect_is_a_warning_and_tls_is_negotiated(
    ehlo: bytes, kind: DefectKind, lines: tuple[int, ...], detail: str
) -> None:
    report = check(GREETING, ehlo)
    assert_went_on_to_tls(report)
    (defect,) = report.hosts[0].facts.reply_defects
    assert (defect.reply, defect.kind, defect.lines) == ("EHLO", kind, lines)
    (warning,) = malformed(report)
    assert warning.severity is Severity.WARN
    assert warning.message.startswith(f"{kind} in the reply to EHLO: ")
    assert detail in warning.message


def test_a_defective_greeting_is_named_as_the_greeting() -> None:
    report = check(
        b"220-mx.example.test\n220 ESMTP\r\n", b"250-mx\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n"
    )
    assert_went_on_to_tls(report)
    (warning,) = malformed(report)
    assert warning.message.startswith("bare-lf in the greeting: line 1:")


def test_every_defect_at_once_warns_once_each_instead_of_failing() -> None:
    """Mixed codes, a bare LF, an empty line and a 613-octet line in one EHLO reply:
    Postfix's client negotiates TLS with this server, so the domain does not fail."""
    ehlo = (
        b"250-mx.example.test\r\n"
        b"251-SIZE 10240000\r\n"
        b"250-PIPELINING\n"
        b"\r\n" + LONG + b"250 STARTTLS\r\n"
    )
    report = check(GREETING, ehlo)
    assert_went_on_to_tls(report)
    kinds = [d.kind for d in report.hosts[0].facts.reply_defects]
    assert sorted(kinds) == sorted(DefectKind)
    assert len(malformed(report)) == len(DefectKind)
    assert report.hosts[0].facts.capabilities == (
        "SIZE 10240000",
        "PIPELINING",
        "X-LONG " + "a" * 600,
        "STARTTLS",
    )


def test_an_empty_line_after_a_reply_starts_the_next_one() -> None:
    """As in Postfix: the blank line is read with the reply to STARTTLS, not taken as bytes
    that arrived before our command (which would end the session)."""
    report = check(GREETING, b"250-mx\r\n250-SIZE 10240000\r\n250 STARTTLS\r\n\r\n")
    assert_went_on_to_tls(report)
    (defect,) = report.hosts[0].facts.reply_defects
    assert (defect.reply, defect.kind, defect.lines) == ("STARTTLS", DefectKind.EMPTY_LINE, (1,))
